//! SLIC against a literal transcription of scikit-image's loop, the AVX2
//! path against the portable one, and the grid against numpy's.

use super::assign::*;
use super::cluster::compact;
use super::geometry::{Centre, Window, BLOCK};
use super::grid::regular_grid;
use super::lab::{slic_features, LabPlanes};
use super::*;
use proptest::prelude::*;

#[test]
fn vector_and_portable_assignment_agree_bit_for_bit() {
    // On a CPU with AVX2, `band` takes the AVX2 path: it must give the
    // portable path's labels and distances exactly.
    // Wider than two blocks, so rows hold several pruning blocks.
    let (h, w) = (40, 2 * BLOCK + 40);
    let cols = w / 8;
    let data = ndarray::Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        ((y / 3 * 37 + x / 4 * 101 + c * 53) % 97) as f32 / 96.0
    });
    let image = Image::new(data).unwrap();
    let features = slic_features(&image, 0.0, 5.0);
    let ctx = Clustering {
        planes: &features.planes,
        boxes: colour_boxes(&features.planes, h, w),
        h,
        w,
        spatial_weight: 1.0 / 64.0,
        reach: (16.0, 16.0),
    };
    let centres: Vec<Centre> = (0..5)
        .flat_map(|i| (0..cols).map(move |j| (4 + 8 * i, 4 + 8 * j)))
        .map(|(y, x)| Centre {
            y: y as f64 + 0.3,
            x: x as f64 - 0.2,
            colour: [0, 1, 2].map(|c| features.planes[c][y * w + x]),
            alive: true,
            moved: 0.0,
        })
        .collect();
    let windows: Vec<Window> = centres.iter().map(|c| ctx.window(c)).collect();
    let start: Vec<f64> = (0..h * w)
        .map(|p| ((p / w / 8).min(4) * cols + (p % w / 8).min(cols - 1)) as f64)
        .collect();
    let run = |portable: bool| {
        let (mut lab, mut dist) = (start.clone(), vec![0.0; h * w]);
        // Tight, loose and no limits, so some blocks are skipped.
        let mut limit: Vec<f64> = (0..h * w.div_ceil(BLOCK))
            .map(|i| [0.5, 2.0, 8.0, f64::INFINITY][i % 4])
            .collect();
        let band = Band {
            y0: 0,
            lab: &mut lab,
            dist: &mut dist,
            limit: &mut limit,
        };
        if portable {
            ctx.band_portable(&centres, &windows, band);
        } else {
            ctx.band(&centres, &windows, band);
        }
        let bits = |v: &[f64]| v.iter().map(|d| d.to_bits()).collect::<Vec<_>>();
        (lab, bits(&dist), bits(&limit))
    };
    let (vector, portable) = (run(false), run(true));
    assert_eq!(vector, portable);
    // The scan moved pixels away from their start, so it was exercised.
    assert!(vector.0.iter().zip(&start).any(|(a, b)| a != b));
}

/// scikit-image's `_slic_cython` loop written out literally, with none
/// of the crate's shortcuts (no seeds, no pruning, no vectors, no runs):
/// every live centre in index order scans its whole window, the first
/// strictly smaller distance wins, and centres move to the raster-order
/// mean of their pixels. Returns the compacted labels (connectivity off).
fn literal_slic(
    features: &LabPlanes,
    h: usize,
    w: usize,
    desired: usize,
    iters: usize,
) -> Vec<u32> {
    let grid = regular_grid([1, h, w], desired);
    let (ys, xs) = (grid[1], grid[2]);
    // y, x, then the three colour channels (zero at the start, as in scikit-image).
    let mut centres: Vec<[f64; 5]> = (ys.0..h)
        .step_by(ys.1)
        .flat_map(|y| {
            (xs.0..w)
                .step_by(xs.1)
                .map(move |x| [y as f64, x as f64, 0.0, 0.0, 0.0])
        })
        .collect();
    let n = centres.len();
    let step = grid.iter().map(|g| g.1).max().unwrap() as f64;
    let sw = 1.0 / (step * step);
    let window = regular_grid([1, h, w], n);
    let (ry, rx) = ((2 * window[1].1) as f64, (2 * window[2].1) as f64);
    let ny = (ys.0..h).step_by(ys.1).count();
    let nx = n / ny;
    let nearest = |p: usize, (start, step): (usize, usize), count: usize| {
        ((p as f64 - start as f64) / step as f64)
            .round()
            .clamp(0.0, (count - 1) as f64) as usize
    };
    // The crate's documented start for pixels no window reaches.
    let mut labels: Vec<usize> = (0..h * w)
        .map(|p| nearest(p / w, ys, ny) * nx + nearest(p % w, xs, nx))
        .collect();
    let mut alive = vec![true; n];
    let f = &features.planes;
    for _ in 0..iters {
        let mut distance = vec![f64::INFINITY; h * w];
        for (k, c) in centres.iter().enumerate().filter(|(k, _)| alive[*k]) {
            let y0 = (c[0] - ry).max(0.0) as usize;
            let y1 = (c[0] + ry + 1.0).min(h as f64) as usize;
            let x0 = (c[1] - rx).max(0.0) as usize;
            let x1 = (c[1] + rx + 1.0).min(w as f64) as usize;
            for y in y0..y1 {
                for x in x0..x1 {
                    let p = y * w + x;
                    let (dy, dx) = (c[0] - y as f64, c[1] - x as f64);
                    let mut d = (dy * dy + dx * dx) * sw;
                    let mut colour = 0.0;
                    for ch in 0..3 {
                        let t = f[ch][p] - c[2 + ch];
                        colour += t * t;
                    }
                    d += colour;
                    if d < distance[p] {
                        distance[p] = d;
                        labels[p] = k;
                    }
                }
            }
        }
        let mut sums = vec![[0.0f64; 6]; n];
        for (p, &k) in labels.iter().enumerate() {
            let s = &mut sums[k];
            s[0] += 1.0;
            s[1] += (p / w) as f64;
            s[2] += (p % w) as f64;
            for ch in 0..3 {
                s[3 + ch] += f[ch][p];
            }
        }
        for (k, s) in sums.iter().enumerate() {
            if s[0] == 0.0 {
                alive[k] = false;
            } else {
                centres[k] = [1, 2, 3, 4, 5].map(|i| s[i] / s[0]);
            }
        }
    }
    compact(labels.into_iter().map(|l| l as u32).collect(), n).0
}

fn test_image(h: usize, w: usize, seed: u64, kind: u8) -> Image {
    let data = ndarray::Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        let v = seed
            .wrapping_add((((y * 977 + x) * 3 + c) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_mul(0xD6E8_FEB8_6659_FD93);
        match kind {
            0 => ((v >> 40) % 256) as f32 / 255.0,
            1 => 0.5,
            2 => [0.2, 0.8][(x / 5 + y / 3) % 2] + c as f32 * 0.05,
            _ => ((x * 7 + y * 3 + c * 11) % 64) as f32 / 63.0 * ((v >> 60) as f32 / 15.0),
        }
    });
    Image::new(data).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Seeding, block pruning, the AVX2 scan and the run-wise centre
    /// update give exactly the labels of the literal algorithm: noise,
    /// flat images (every distance tie is spatial), blocks and ramps;
    /// rows up to 300 pixels span several pruning blocks.
    #[test]
    fn same_labels_as_the_literal_algorithm(
        h in 1usize..40,
        w in prop_oneof![1usize..40, 100usize..300],
        seed in any::<u64>(),
        kind in 0u8..4,
        desired in 1usize..90,
        compactness in prop_oneof![0.2f64..2.0, 2.0f64..40.0],
        iters in 1usize..11,
        parallel in any::<bool>(),
    ) {
        prop_assume!(desired <= h * w);
        let image = test_image(h, w, seed, kind);
        let slic = Slic::builder()
            .compactness(compactness)
            .max_iter(iters)
            .enforce_connectivity(false)
            .parallel(parallel)
            .build()
            .unwrap();
        let ours = slic.segment(&image, desired).unwrap();
        let features = slic_features(&image, 0.0, compactness);
        let literal = literal_slic(&features, h, w, desired, iters);
        prop_assert_eq!(ours.as_slice(), &literal[..]);
    }
}

#[test]
fn regular_grid_matches_skimage() {
    // skimage.util.regular_grid((1, 96, 96), 100) -> steps (1, 10, 10), starts (0, 4, 4)
    assert_eq!(regular_grid([1, 96, 96], 100), [(0, 1), (4, 10), (4, 10)]);
    // regular_grid((1, 96, 96), 25) -> slice(9, None, 19)
    assert_eq!(regular_grid([1, 96, 96], 25)[1], (9, 19));
    // regular_grid((3, 20, 40), 8) -> (slice(1,None,3), slice(5,None,10), slice(5,None,10))
    assert_eq!(regular_grid([3, 20, 40], 8), [(1, 3), (5, 10), (5, 10)]);
    // A space no larger than the request: every voxel is a centre.
    assert_eq!(regular_grid([1, 2, 2], 4), [(0, 1); 3]);
    // Thin images take the sorted-dimension branch.
    assert_eq!(regular_grid([1, 5, 300], 7), [(0, 1), (2, 5), (21, 43)]);
    assert_eq!(regular_grid([1, 3, 50], 20), [(0, 1), (1, 3), (1, 3)]);
    assert_eq!(regular_grid([1, 512, 512], 400)[2], (12, 26));
}

#[test]
fn builder_rejects_bad_values() {
    assert!(Slic::builder().compactness(0.0).build().is_err());
    assert!(Slic::builder().compactness(f64::NAN).build().is_err());
    assert!(Slic::builder().sigma(-1.0).build().is_err());
    // A huge σ would be a huge kernel allocation.
    assert!(Slic::builder().sigma(1e18).build().is_err());
    assert!(Slic::builder().sigma(1000.0).build().is_ok());
    assert!(Slic::builder().max_iter(0).build().is_err());
    assert!(Slic::builder().min_size_factor(-0.1).build().is_err());
    assert!(Slic::builder().min_size_factor(4.0).build().is_err());
    assert!(Slic::builder()
        .max_size_factor(f64::INFINITY)
        .build()
        .is_err());
    assert!(Slic::builder().build().is_ok());
}

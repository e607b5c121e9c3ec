//! The assignment step: every pixel within two grid steps of a centre goes
//! to the centre minimising `D`, first strictly smaller distance winning.
//! Rows are cut into blocks of `BLOCK` pixels; a centre skips a block whose
//! colour box proves it cannot beat the block's pruning limit. The image is
//! assigned in bands of `BAND_ROWS` rows, in parallel or in sequence.

use rayon::prelude::*;

use super::geometry::{window_range, Centre, Window, BLOCK};

/// Rows per work unit of the assignment step; fixed, so the parallel and the
/// sequential paths visit pixels and centres in the same order.
const BAND_ROWS: usize = 8;

/// One band of rows from `y0`: its slices of the labels, distances and
/// block limits. The bands of an image are disjoint, so they can be
/// assigned in parallel.
pub(super) struct Band<'a> {
    /// The band's first row in the image.
    pub(super) y0: usize,
    /// Labels of the band's pixels, row-major (exact small integers).
    pub(super) lab: &'a mut [f64],
    /// Scratch: each pixel's best distance so far.
    pub(super) dist: &'a mut [f64],
    /// In: each block's pruning limit. Out: its largest winning distance.
    pub(super) limit: &'a mut [f64],
}

/// What the assignment step reads: features, their per-block colour boxes
/// and the geometry of the centre windows.
pub(super) struct Clustering<'a> {
    /// The scaled CIELAB features, one row-major plane per channel.
    pub(super) planes: &'a [Vec<f64>; 3],
    /// Per row and block of `BLOCK` pixels: min and max of each channel.
    pub(super) boxes: Vec<[f64; 6]>,
    /// Image height.
    pub(super) h: usize,
    /// Image width.
    pub(super) w: usize,
    /// `1 / step²`: the weight of squared pixel distances in `D`.
    pub(super) spatial_weight: f64,
    /// Window half-widths `2·step` along y and x.
    pub(super) reach: (f64, f64),
}

/// Per row and block, the bounding box of the pixels' colours.
pub(super) fn colour_boxes(planes: &[Vec<f64>; 3], h: usize, w: usize) -> Vec<[f64; 6]> {
    let mut boxes = Vec::with_capacity(h * w.div_ceil(BLOCK));
    for y in 0..h {
        for x0 in (0..w).step_by(BLOCK) {
            let mut b = [
                f64::INFINITY,
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            for x in x0..(x0 + BLOCK).min(w) {
                for c in 0..3 {
                    let v = planes[c][y * w + x];
                    b[c] = b[c].min(v);
                    b[c + 3] = b[c + 3].max(v);
                }
            }
            boxes.push(b);
        }
    }
    boxes
}

impl Clustering<'_> {
    /// The window of pixels `c` may win: `reach` either side, clipped to the image.
    pub(super) fn window(&self, c: &Centre) -> Window {
        let (y0, y1) = window_range(c.y, self.reach.0, self.h);
        let (x0, x1) = window_range(c.x, self.reach.1, self.w);
        Window { y0, y1, x0, x1 }
    }

    /// One assignment step over the whole image: `labels`, `distance` and
    /// `limit` (per row and block) are cut into bands of `BAND_ROWS` rows,
    /// assigned on rayon's pool when `parallel`. Bands are disjoint and each
    /// is assigned the same way on either path, so the labels are identical.
    pub(super) fn assign(
        &self,
        centres: &[Centre],
        windows: &[Window],
        labels: &mut [f64],
        distance: &mut [f64],
        limit: &mut [f64],
        parallel: bool,
    ) {
        let band_limits = BAND_ROWS * self.w.div_ceil(BLOCK);
        let bands: Vec<Band<'_>> = labels
            .chunks_mut(BAND_ROWS * self.w)
            .zip(distance.chunks_mut(BAND_ROWS * self.w))
            .zip(limit.chunks_mut(band_limits))
            .enumerate()
            .map(|(b, ((lab, dist), limit))| Band {
                y0: b * BAND_ROWS,
                lab,
                dist,
                limit,
            })
            .collect();
        let work = |band: Band<'_>| self.band(centres, windows, band);
        if parallel {
            bands.into_par_iter().for_each(work);
        } else {
            bands.into_iter().for_each(work);
        }
    }

    /// Assigns one band, with AVX2 when the CPU has it.
    pub(super) fn band(&self, centres: &[Centre], windows: &[Window], band: Band<'_>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above). The feature
            // only widens the vectors; Rust never fuses a·b + c into an FMA,
            // so every distance is bit-identical to the portable path.
            return unsafe { self.band_avx2(centres, windows, band) };
        }
        self.band_portable(centres, windows, band);
    }

    /// [`band_portable`](Self::band_portable) compiled for AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn band_avx2(&self, centres: &[Centre], windows: &[Window], band: Band<'_>) {
        self.band_portable(centres, windows, band);
    }

    /// Assigns one band and leaves each block's largest winning distance in
    /// its limit; inlined into both [`band`](Self::band) paths.
    #[inline(always)]
    pub(super) fn band_portable(&self, centres: &[Centre], windows: &[Window], band: Band<'_>) {
        let Band {
            y0,
            lab,
            dist,
            limit,
        } = band;
        dist.fill(f64::INFINITY);
        self.assign_band(centres, windows, y0, lab, dist, limit);
        for (row, maxes) in dist
            .chunks(self.w)
            .zip(limit.chunks_mut(self.w.div_ceil(BLOCK)))
        {
            for (block, m) in row.chunks(BLOCK).zip(maxes.iter_mut()) {
                *m = block.iter().fold(0.0, |m, &d| if d > m { d } else { m });
            }
        }
    }

    /// Gives each pixel the centre with the smallest (distance, index) among
    /// those whose window holds it: the same winner as scikit-image's
    /// "first strictly smaller" scan in index order. A centre skips a block
    /// when a lower bound on its distance to the block's pixels (spatial
    /// distance to the block plus colour distance to its colour box,
    /// computed with monotone roundings) exceeds the block's limit, an upper
    /// bound on each pixel's winning distance: such a centre can neither win
    /// nor tie, so skipping is exact.
    #[inline(always)]
    pub(super) fn assign_band(
        &self,
        centres: &[Centre],
        windows: &[Window],
        y0: usize,
        lab: &mut [f64],
        dist: &mut [f64],
        limit: &[f64],
    ) {
        let w = self.w;
        let rows = lab.len() / w;
        let blocks_per_row = w.div_ceil(BLOCK);
        let mut dxx: Vec<f64> = Vec::new();
        for ((k, c), win) in centres
            .iter()
            .enumerate()
            .zip(windows)
            .filter(|((_, c), _)| c.alive)
        {
            let k = k as f64;
            let (ymin, ymax) = (win.y0.max(y0), win.y1.min(y0 + rows));
            if ymin >= ymax {
                continue;
            }
            let (xmin, xmax) = (win.x0, win.x1);
            dxx.clear();
            dxx.extend((xmin..xmax).map(|x| {
                let dx = c.x - x as f64;
                dx * dx
            }));
            for y in ymin..ymax {
                let dy = c.y - y as f64;
                let dyy = dy * dy;
                let local = (y - y0) * w;
                for bx in xmin / BLOCK..xmax.div_ceil(BLOCK) {
                    let (xs, xe) = ((bx * BLOCK).max(xmin), ((bx + 1) * BLOCK).min(xmax));
                    let b = &self.boxes[y * blocks_per_row + bx];
                    let near_x = c.x.clamp(xs as f64, (xe - 1) as f64);
                    let dx = c.x - near_x;
                    let mut bound = (dyy + dx * dx) * self.spatial_weight;
                    let mut colour = 0.0;
                    for ch in 0..3 {
                        // Plain comparisons: nothing here is NaN, and
                        // f64::max's NaN handling costs instructions.
                        let (below, above) = (b[ch] - c.colour[ch], c.colour[ch] - b[ch + 3]);
                        let e = if below > above { below } else { above };
                        let e = if e > 0.0 { e } else { 0.0 };
                        colour += e * e;
                    }
                    bound += colour;
                    if bound > limit[(y - y0) * blocks_per_row + bx] {
                        continue;
                    }
                    let row = y * w;
                    scan(
                        [
                            &self.planes[0][row + xs..row + xe],
                            &self.planes[1][row + xs..row + xe],
                            &self.planes[2][row + xs..row + xe],
                        ],
                        &dxx[xs - xmin..xe - xmin],
                        &mut dist[local + xs..local + xe],
                        &mut lab[local + xs..local + xe],
                        Scan {
                            dyy,
                            spatial_weight: self.spatial_weight,
                            colour: c.colour,
                            label: k,
                        },
                    );
                }
            }
        }
    }
}

/// What one centre brings to a row of [`scan`]: all but the per-pixel terms.
#[derive(Clone, Copy)]
pub(super) struct Scan {
    /// Squared row distance from the centre.
    pub(super) dyy: f64,
    /// As [`Clustering::spatial_weight`].
    pub(super) spatial_weight: f64,
    /// The centre's colour.
    pub(super) colour: [f64; 3],
    /// The centre's index, as a label.
    pub(super) label: f64,
}

/// The hot loop: branch-free (distance, index) minimum over one run of pixels.
#[inline(always)]
pub(super) fn scan(planes: [&[f64]; 3], dxx: &[f64], dist: &mut [f64], lab: &mut [f64], s: Scan) {
    let n = dist.len();
    let (l, a, b, dxx, lab) = (
        &planes[0][..n],
        &planes[1][..n],
        &planes[2][..n],
        &dxx[..n],
        &mut lab[..n],
    );
    if n < 4 {
        (0..n).for_each(|i| scan_pixel(l[i], a[i], b[i], dxx[i], &mut dist[i], &mut lab[i], &s));
        return;
    }
    // Four pixels at a time; the last four overlap the ones before when `n`
    // is not a multiple of 4. Scanning a pixel twice with one centre
    // changes nothing (the second distance equals the first, and only a
    // strictly smaller one wins), so no scalar tail is needed.
    let mut i = 0;
    while i < n {
        let at = i.min(n - 4);
        let quad = at..at + 4;
        let (l, a, b, dxx) = (
            &l[quad.clone()],
            &a[quad.clone()],
            &b[quad.clone()],
            &dxx[quad.clone()],
        );
        let (dist, lab) = (&mut dist[quad.clone()], &mut lab[quad]);
        for j in 0..4 {
            scan_pixel(l[j], a[j], b[j], dxx[j], &mut dist[j], &mut lab[j], &s);
        }
        i += 4;
    }
}

/// One pixel of [`scan`]: takes the centre when its distance is strictly smaller.
#[inline(always)]
pub(super) fn scan_pixel(
    l: f64,
    a: f64,
    b: f64,
    dxx: f64,
    dist: &mut f64,
    lab: &mut f64,
    s: &Scan,
) {
    let mut d = (s.dyy + dxx) * s.spatial_weight;
    let t0 = l - s.colour[0];
    let t1 = a - s.colour[1];
    let t2 = b - s.colour[2];
    d += t0 * t0 + t1 * t1 + t2 * t2;
    // Centres come in index order, so a strict `<` keeps the lowest
    // index among ties, as scikit-image's scan does.
    // Arithmetic, not a select: a select compiles to a masked store,
    // which is slow on AMD. The step `label − lab` is kept or zeroed by
    // the comparison mask; exact, since labels are small integers.
    let mask = u64::from(d < *dist).wrapping_neg();
    *lab += f64::from_bits((s.label - *lab).to_bits() & mask);
    *dist = if d < *dist { d } else { *dist };
}

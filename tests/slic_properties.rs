//! SLIC on arbitrary images: a valid segmentation or a typed error, never a
//! panic; every segment 4-connected when connectivity is enforced.

use multiscale_lime::{Error, Image, Segmentation, Segmenter, Slic};
use ndarray::Array3;
use proptest::prelude::*;

fn components_per_label(seg: &Segmentation) -> Vec<usize> {
    let (h, w) = seg.dim();
    let labels = seg.as_slice();
    let mut seen = vec![false; h * w];
    let mut components = vec![0usize; seg.count()];
    let mut stack = Vec::new();
    for start in 0..h * w {
        if seen[start] {
            continue;
        }
        let label = labels[start];
        components[label as usize] += 1;
        seen[start] = true;
        stack.push(start);
        while let Some(p) = stack.pop() {
            let (y, x) = (p / w, p % w);
            let mut visit = |q: usize| {
                if !seen[q] && labels[q] == label {
                    seen[q] = true;
                    stack.push(q);
                }
            };
            if x + 1 < w {
                visit(p + 1);
            }
            if x > 0 {
                visit(p - 1);
            }
            if y + 1 < h {
                visit(p + w);
            }
            if y > 0 {
                visit(p - w);
            }
        }
    }
    components
}

fn image_strategy() -> impl Strategy<Value = Image> {
    (1usize..28, 1usize..28, any::<u64>(), 0u8..3).prop_map(|(h, w, seed, kind)| {
        let data = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
            let v = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add((((y * 131 + x) * 3 + c) as u64).wrapping_mul(1442695040888963407));
            match kind {
                0 => ((v >> 33) % 256) as f32 / 255.0, // noise
                1 => 0.5,                              // flat
                _ => {
                    if (x / 3 + y / 4) % 2 == 0 {
                        0.2
                    } else {
                        0.8
                    }
                } // blocks
            }
        });
        Image::new(data).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn valid_or_typed_error(
        image in image_strategy(),
        n in 0usize..900,
        compactness in 0.1f64..40.0,
        sigma in prop::sample::select(vec![0.0, 0.5, 2.0]),
        connectivity in any::<bool>(),
    ) {
        let slic = Slic::builder()
            .compactness(compactness)
            .sigma(sigma)
            .enforce_connectivity(connectivity)
            .build()
            .unwrap();
        match slic.segment(&image, n) {
            Ok(seg) => {
                prop_assert!(n >= 1 && n <= image.pixels());
                prop_assert_eq!(seg.dim(), (image.height(), image.width()));
                // Labels are exactly 0..count, each present.
                prop_assert!(Segmentation::new(seg.labels().clone()).is_ok());
                prop_assert!(seg.count() >= 1 && seg.count() <= image.pixels());
                if connectivity {
                    let comps = components_per_label(&seg);
                    prop_assert!(comps.iter().all(|&c| c == 1), "components per label {:?}", comps);
                }
            }
            Err(Error::SegmentCount { .. }) => prop_assert!(n == 0 || n > image.pixels()),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    #[test]
    fn all_levels_at_once_equal_one_at_a_time(
        image in image_strategy(),
        desired in prop::collection::vec(0usize..900, 0..5),
        sigma in prop::sample::select(vec![0.0, 1.0]),
        parallel in any::<bool>(),
    ) {
        let slic = Slic::builder().sigma(sigma).parallel(parallel).build().unwrap();
        let alone: Vec<_> = desired.iter().map(|&d| slic.segment(&image, d)).collect();
        // Through a trait object too: the wrappers forward the method.
        let boxed: Box<dyn Segmenter> = Box::new(slic);
        for together in [slic.segment_levels(&image, &desired), boxed.segment_levels(&image, &desired)] {
            prop_assert_eq!(together.len(), desired.len());
            for (a, b) in alone.iter().zip(&together) {
                match (a, b) {
                    (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                    (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                    _ => prop_assert!(false, "one call failed, the other did not"),
                }
            }
        }
    }

    #[test]
    fn parallel_equals_sequential(image in image_strategy(), n in 1usize..200) {
        let n = n.min(image.pixels());
        let seq = Slic::builder().parallel(false).build().unwrap().segment(&image, n).unwrap();
        let par = Slic::builder().parallel(true).build().unwrap().segment(&image, n).unwrap();
        prop_assert_eq!(seq, par);
    }
}

#[test]
fn one_pixel_image() {
    let image = Image::new(Array3::from_elem((1, 1, 3), 0.3)).unwrap();
    let seg = Slic::default().segment(&image, 1).unwrap();
    assert_eq!(seg.count(), 1);
}

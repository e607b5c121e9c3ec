//! Shared inputs for the benches.
#![allow(dead_code)]

use multiscale_lime::{ClassifierError, Image};
use ndarray::{Array2, ArrayView4, Axis};

pub fn load(name: &str) -> Image {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(name);
    Image::try_from(&image::open(path).expect("bundled image").to_rgb8()).expect("valid image")
}

/// A near-free classifier: mean red and its complement.
pub fn mean_red(batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
    let mut out = Array2::zeros((batch.dim().0, 2));
    for (i, img) in batch.axis_iter(Axis(0)).enumerate() {
        let red = match img.as_slice() {
            // Eight pixels at a time in eight lanes, so the sum vectorises.
            Some(px) => {
                let mut lanes = [0.0f32; 8];
                let mut chunks = px.chunks_exact(24);
                for c in &mut chunks {
                    for (lane, v) in lanes.iter_mut().zip(c.iter().step_by(3)) {
                        *lane += v;
                    }
                }
                let rest: f32 = chunks.remainder().iter().step_by(3).sum();
                (lanes.iter().sum::<f32>() + rest) / (px.len() / 3).max(1) as f32
            }
            None => img.index_axis(Axis(2), 0).mean().unwrap_or(0.0),
        };
        out[[i, 0]] = red;
        out[[i, 1]] = 1.0 - red;
    }
    Ok(out)
}

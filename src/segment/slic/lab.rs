//! The colour features SLIC clusters on, computed as scikit-image computes them:
//! global min–max rescale, sRGB → CIELAB (D65, 2°), optional Gaussian
//! smoothing (scipy's `gaussian_filter`, reflect mode, truncate 4σ), then
//! multiplication by `1 / compactness`.
//!
//! The order of floating-point operations follows numpy/scipy so that ties in
//! the clustering break the same way.

use crate::blur::{correlate_line, gaussian_weights, smooth_axis};
use crate::input::Image;

/// LAB planes (L, a, b), each `H·W` values, already scaled by `1/compactness`.
pub(crate) struct LabPlanes {
    pub(crate) planes: [Vec<f64>; 3],
}

const XYZ_FROM_RGB: [[f64; 3]; 3] = [
    [0.412453, 0.357580, 0.180423],
    [0.212671, 0.715160, 0.072169],
    [0.019334, 0.119193, 0.950227],
];
const D65_2: [f64; 3] = [0.95047, 1.0, 1.08883];

/// The exact 8-bit code of every value when the image came from 8-bit data
/// (`v == code / 255` in f32), so the f64 value can be rebuilt as scikit-image
/// does (`code * (1/255)`); `None` for genuinely floating-point images.
fn u8_codes(values: &[f32]) -> Option<Vec<u8>> {
    values
        .iter()
        .map(|&v| {
            // v ∈ [0, 1]: adding ½ and truncating rounds without a libm
            // call; a wrong code in a corner case only fails the check.
            let code = (v * 255.0 + 0.5) as u8;
            (f32::from(code) / 255.0 == v).then_some(code)
        })
        .collect()
}

fn linearize(v: f64) -> f64 {
    if v > 0.04045 {
        ((v + 0.055) / 1.055).powf(2.4)
    } else {
        v / 12.92
    }
}

fn lab_from_linear(rgb: [f64; 3]) -> [f64; 3] {
    let mut f = [0.0; 3];
    for (i, row) in XYZ_FROM_RGB.iter().enumerate() {
        let v = (rgb[0] * row[0] + rgb[1] * row[1] + rgb[2] * row[2]) / D65_2[i];
        f[i] = if v > 0.008856 {
            v.cbrt()
        } else {
            7.787 * v + 16.0 / 116.0
        };
    }
    [
        116.0 * f[1] - 16.0,
        500.0 * (f[0] - f[1]),
        200.0 * (f[1] - f[2]),
    ]
}

/// Computes the SLIC feature planes of `image`.
pub(crate) fn slic_features(image: &Image, sigma: f64, compactness: f64) -> LabPlanes {
    let values = image.as_slice();
    let n = image.pixels();
    let mut planes = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];

    match u8_codes(values) {
        Some(codes) => {
            // 8-bit input: the linearised value depends on the code alone.
            let (lo, hi) = codes
                .iter()
                .fold((u8::MAX, u8::MIN), |(lo, hi), &c| (lo.min(c), hi.max(c)));
            let (lo, hi) = (f64::from(lo) * (1.0 / 255.0), f64::from(hi) * (1.0 / 255.0));
            let mut lut = [0.0f64; 256];
            for (code, slot) in lut.iter_mut().enumerate() {
                *slot = linearize(rescale(code as f64 * (1.0 / 255.0), lo, hi));
            }
            // Images repeat colours (the 512² IHC sample: 45,100 distinct
            // among 262,144 pixels): a direct-mapped cache about the size of
            // the image avoids most cube roots.
            let bits = n.next_power_of_two().trailing_zeros().clamp(10, 18);
            let mut cache: Vec<(u32, [f64; 3])> = vec![(u32::MAX, [0.0; 3]); 1 << bits];
            for (p, rgb) in codes.chunks_exact(3).enumerate() {
                let key = (u32::from(rgb[0]) << 16) | (u32::from(rgb[1]) << 8) | u32::from(rgb[2]);
                let slot = &mut cache[(key.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize];
                if slot.0 != key {
                    *slot = (
                        key,
                        lab_from_linear([
                            lut[rgb[0] as usize],
                            lut[rgb[1] as usize],
                            lut[rgb[2] as usize],
                        ]),
                    );
                }
                for (plane, &v) in planes.iter_mut().zip(&slot.1) {
                    plane[p] = v;
                }
            }
        }
        None => {
            let (lo, hi) = values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(f64::from(v)), hi.max(f64::from(v)))
                });
            for (p, rgb) in values.chunks_exact(3).enumerate() {
                let lin = [0, 1, 2].map(|c| linearize(rescale(f64::from(rgb[c]), lo, hi)));
                let lab = lab_from_linear(lin);
                for (plane, &v) in planes.iter_mut().zip(&lab) {
                    plane[p] = v;
                }
            }
        }
    }

    if sigma > 0.0 {
        let (h, w) = (image.height(), image.width());
        let weights = gaussian_weights(sigma);
        for plane in &mut planes {
            // scipy also filters the length-1 depth axis of scikit-image's
            // (1, H, W, 3) volume; that pass is not exactly the identity.
            let mut line = Vec::new();
            for v in plane.iter_mut() {
                line.clear();
                line.push(*v);
                *v = correlate_line(&line, &weights)[0];
            }
            smooth_axis(plane, h, w, &weights, true);
            smooth_axis(plane, h, w, &weights, false);
        }
    }

    let ratio = 1.0 / compactness;
    for plane in &mut planes {
        for v in plane.iter_mut() {
            *v *= ratio;
        }
    }
    LabPlanes { planes }
}

fn rescale(v: f64, lo: f64, hi: f64) -> f64 {
    let v = v - lo;
    if hi != lo {
        v / (hi - lo)
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn lab_matches_skimage_values() {
        // skimage.color.rgb2lab of these colours (computed with scikit-image 0.26).
        let red = lab_from_linear([1.0, 0.0, 0.0]);
        assert_relative_eq!(red[0], 53.24058794, epsilon = 1e-6);
        assert_relative_eq!(red[1], 80.09230823, epsilon = 1e-6);
        assert_relative_eq!(red[2], 67.20275104, epsilon = 1e-6);
        let white = lab_from_linear([1.0, 1.0, 1.0]);
        assert_relative_eq!(white[0], 100.0, epsilon = 1e-6);
        assert_relative_eq!(white[1], -2.45493786e-03, epsilon = 1e-9);
        assert_relative_eq!(white[2], 4.65342115e-03, epsilon = 1e-9);
        let blue = lab_from_linear([0.2, 0.5, 0.8].map(linearize));
        assert_relative_eq!(blue[0], 5.22520606e+01, epsilon = 1e-6);
        assert_relative_eq!(blue[1], 2.77602273e+00, epsilon = 1e-6);
        assert_relative_eq!(blue[2], -4.62857139e+01, epsilon = 1e-6);
    }
}

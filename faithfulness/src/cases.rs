//! The benchmark's cases: an image, the model that is explained, the
//! class, the truth and the hide colour, built the same way on every run.

use std::path::Path;
use std::sync::Arc;

use multiscale_lime::ndarray::{s, Array2};
use multiscale_lime::{Classifier, HideColor, Image};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::planted::{shapes, Evidence, PlantedClassifier};

/// A model the explanations are of, shared by the seeds and methods.
pub type Model = Arc<dyn Classifier + Send + Sync>;

/// Side of every patch, the bundled CNN's input size.
pub const PATCH: usize = 96;

/// Which half of the benchmark a case belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// A planted-truth classifier on an IHC or H&E patch.
    Planted,
    /// The bundled CNN on a held-out IHC patch, truth the DAB stain.
    Cnn,
}

impl Group {
    /// The group's name in the table and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Group::Planted => "planted",
            Group::Cnn => "cnn",
        }
    }
}

/// The kinds of planted evidence, one per case in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A rotated ellipse of darkness.
    Ellipse,
    /// An irregular blob (a union of overlapping discs) of darkness.
    Blob,
    /// Three to five small, disjoint spots of darkness.
    Spots,
    /// Stain inside a disk (DAB on IHC, hematoxylin on H&E) centred where
    /// the patch stains most: the truth follows the tissue.
    StainDisk,
    /// A positive ellipse of darkness and a disjoint negative one.
    Negative,
    /// An ellipse of texture, hidden by the segment mean (which keeps its
    /// mean colour).
    Texture,
}

/// Every kind, in the order cases cycle through them.
pub const KINDS: [Kind; 6] = [
    Kind::Ellipse,
    Kind::Blob,
    Kind::Spots,
    Kind::StainDisk,
    Kind::Negative,
    Kind::Texture,
];

impl Kind {
    /// The kind's name in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ellipse => "ellipse",
            Kind::Blob => "blob",
            Kind::Spots => "spots",
            Kind::StainDisk => "stain-disk",
            Kind::Negative => "negative",
            Kind::Texture => "texture",
        }
    }
}

/// One image to explain, with everything needed to score the explanation.
#[derive(Clone)]
pub struct Case {
    /// `planted/ihc-03-spots`, `cnn/ihc-y120-x224`, …
    pub name: String,
    /// The half of the benchmark.
    pub group: Group,
    /// The patch.
    pub image: Image,
    /// The classifier explained.
    pub model: Model,
    /// The class explained.
    pub class: usize,
    /// The pixels that really carry the evidence for `class`.
    pub truth: Array2<bool>,
    /// What a hidden segment (and a deleted pixel) shows.
    pub hide: HideColor,
}

/// `PATCH × PATCH` crops of `source` at `(y, x)` corners.
fn crops(source: &Image, corners: &[(usize, usize)]) -> Vec<Image> {
    corners
        .iter()
        .filter_map(|&(y, x)| {
            if y + PATCH > source.height() || x + PATCH > source.width() {
                return None;
            }
            let view = source
                .view()
                .slice(s![y..y + PATCH, x..x + PATCH, ..])
                .to_owned();
            Image::new(view).ok()
        })
        .collect()
}

/// A random point of the patch's central area.
fn centre(rng: &mut ChaCha8Rng, margin: f64) -> (f64, f64) {
    let side = PATCH as f64;
    (
        rng.random_range(margin..side - margin),
        rng.random_range(margin..side - margin),
    )
}

/// A random rotated ellipse, semi-axes 8–20 and 4–12 pixels.
fn random_ellipse(rng: &mut ChaCha8Rng) -> Array2<bool> {
    let at = centre(rng, 24.0);
    let axes = (rng.random_range(8.0..20.0), rng.random_range(4.0..12.0));
    let angle = rng.random_range(0.0..std::f64::consts::PI);
    shapes::ellipse((PATCH, PATCH), at, axes, angle)
}

/// The centre of the `2r × 2r` window with the most `evidence`.
fn richest(image: &Image, evidence: Evidence, r: usize) -> (f64, f64) {
    let map = evidence.map(image.view());
    let mut best = (f64::NEG_INFINITY, (PATCH as f64 / 2.0, PATCH as f64 / 2.0));
    for y in (r..PATCH - r).step_by(4) {
        for x in (r..PATCH - r).step_by(4) {
            let total: f64 = map
                .slice(s![y - r..y + r, x - r..x + r])
                .iter()
                .map(|&v| f64::from(v))
                .sum();
            if total > best.0 {
                best = (total, (y as f64, x as f64));
            }
        }
    }
    best.1
}

/// The planted case `index` of `kind` on `image`.
fn planted(
    index: usize,
    source: &str,
    image: Image,
    kind: Kind,
    stain: Evidence,
) -> Result<Case, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(2026 + index as u64);
    let dim = (PATCH, PATCH);
    let (evidence, positive, negative, hide) = match kind {
        Kind::Ellipse => (
            Evidence::Darkness,
            random_ellipse(&mut rng),
            None,
            HideColor::Constant([1.0; 3]),
        ),
        Kind::Blob => {
            let (cy, cx) = centre(&mut rng, 28.0);
            let parts: Vec<(f64, f64, f64)> = (0..rng.random_range(3..6))
                .map(|_| {
                    (
                        cy + rng.random_range(-12.0..12.0),
                        cx + rng.random_range(-12.0..12.0),
                        rng.random_range(4.0..9.0),
                    )
                })
                .collect();
            (
                Evidence::Darkness,
                shapes::discs(dim, &parts),
                None,
                HideColor::Constant([1.0; 3]),
            )
        }
        Kind::Spots => {
            let mut spots: Vec<(f64, f64, f64)> = Vec::new();
            let wanted = rng.random_range(3..6);
            while spots.len() < wanted {
                let (y, x) = centre(&mut rng, 8.0);
                if spots
                    .iter()
                    .all(|&(sy, sx, _)| (sy - y).hypot(sx - x) >= 15.0)
                {
                    spots.push((y, x, rng.random_range(2.0..4.0)));
                }
            }
            (
                Evidence::Darkness,
                shapes::discs(dim, &spots),
                None,
                HideColor::Constant([1.0; 3]),
            )
        }
        Kind::StainDisk => {
            let r = rng.random_range(14.0..22.0);
            let (cy, cx) = richest(&image, stain, 16);
            (
                stain,
                shapes::discs(dim, &[(cy, cx, r)]),
                None,
                HideColor::Constant([1.0; 3]),
            )
        }
        Kind::Negative => {
            let positive = random_ellipse(&mut rng);
            let negative = loop {
                let candidate = random_ellipse(&mut rng);
                if !candidate.iter().zip(&positive).any(|(&a, &b)| a && b) {
                    break candidate;
                }
            };
            (
                Evidence::Darkness,
                positive,
                Some(negative),
                HideColor::Constant([1.0; 3]),
            )
        }
        Kind::Texture => (
            Evidence::Texture,
            random_ellipse(&mut rng),
            None,
            HideColor::SegmentMean,
        ),
    };
    let model = PlantedClassifier::new(&image, evidence, &positive, negative.as_ref())?;
    Ok(Case {
        name: format!("planted/{source}-{index:02}-{}", kind.name()),
        group: Group::Planted,
        truth: model.truth().clone(),
        image,
        model: Arc::new(model),
        class: 1,
        hide,
    })
}

/// The planted cases: 18 IHC patches of `ihc` and 18 H&E patches of `he`
/// (a 576 × 288 crop), the kinds taken in turn.
///
/// # Errors
/// When an image is smaller than the patches cut from it, or a region
/// carries no evidence.
pub fn planted_cases(ihc: &Image, he: &Image) -> Result<Vec<Case>, String> {
    let ihc_corners: Vec<(usize, usize)> = (0..18)
        .map(|i| (8 + (i / 5) * 100, 8 + (i % 5) * 100))
        .collect();
    let he_corners: Vec<(usize, usize)> = (0..18)
        .map(|i| ((i / 6) * PATCH, (i % 6) * PATCH))
        .collect();
    let ihc_patches = crops(ihc, &ihc_corners);
    let he_patches = crops(he, &he_corners);
    if ihc_patches.len() != 18 || he_patches.len() != 18 {
        return Err(format!(
            "cut {} IHC and {} H&E patches, want 18 each: the images are too small",
            ihc_patches.len(),
            he_patches.len()
        ));
    }
    let mut cases = Vec::new();
    for (i, image) in ihc_patches.into_iter().enumerate() {
        cases.push(planted(i, "ihc", image, KINDS[i % 6], Evidence::Dab)?);
    }
    for (i, image) in he_patches.into_iter().enumerate() {
        let index = 18 + i;
        cases.push(planted(
            index,
            "he",
            image,
            KINDS[index % 6],
            Evidence::Hematoxylin,
        )?);
    }
    Ok(cases)
}

/// DAB density above which a pixel counts as stained (as the `explain`
/// example's check of the CNN).
pub const DAB_THRESHOLD: f32 = 0.04;

/// The CNN cases: the 21 patches of `ihc` inside the columns the model was
/// not trained on (`[192, 320)`), corners `(20 j, 192 + 32 (j mod 2))`,
/// with truth the pixels whose DAB density exceeds [`DAB_THRESHOLD`];
/// patches without stain (or all stain) are left out. Class 1 (DAB-rich)
/// is explained, hidden segments are white.
pub fn cnn_cases(ihc: &Image, model: Model) -> Vec<Case> {
    (0..21)
        .filter_map(|j| {
            let (y, x) = (20 * j, 192 + 32 * (j % 2));
            let image = crops(ihc, &[(y, x)]).pop()?;
            let truth = Evidence::Dab.map(image.view()).mapv(|d| d > DAB_THRESHOLD);
            let stained = truth.iter().filter(|&&t| t).count();
            if stained == 0 || stained == truth.len() {
                return None;
            }
            Some(Case {
                name: format!("cnn/ihc-y{y:03}-x{x}"),
                group: Group::Cnn,
                image,
                model: Arc::clone(&model),
                class: 1,
                truth,
                hide: HideColor::Constant([1.0; 3]),
            })
        })
        .collect()
}

/// Reads a PNG as an [`Image`].
///
/// # Errors
/// When the file cannot be read or decoded.
pub fn read_png(path: &Path) -> Result<Image, String> {
    let rgb = multiscale_lime::image::open(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .to_rgb8();
    Image::try_from(&rgb).map_err(|e| e.to_string())
}

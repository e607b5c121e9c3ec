//! The checks: every method under the cascade of randomised models and
//! under a constant model, and multi-scale LIME's own constant-model
//! check.

use std::sync::Arc;

use multiscale_lime::ndarray::{Array2, ArrayView4, Axis};
use multiscale_lime::{Classifier, ClassifierError, Heatmap, Image, MultiScaleLime, Target};

use super::similarity::{spearman, spearman_abs, ssim};
use super::{Result, SanityError, CONSTANT_CONFIDENCE, CONSTANT_TOLERANCE};
use crate::cases::{Case, Model};
use crate::methods::Output;

/// A classifier that returns the same scores for every image: nothing in
/// an image is evidence for anything, so a faithful explanation of it is
/// zero everywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstantModel {
    scores: Vec<f32>,
}

impl ConstantModel {
    /// The model returning `scores` (one per class) for every image.
    ///
    /// # Errors
    /// [`SanityError::Input`] when `scores` is empty or holds a non-finite
    /// value.
    pub fn new(scores: Vec<f32>) -> Result<Self> {
        if scores.is_empty() || scores.iter().any(|s| !s.is_finite()) {
            return Err(SanityError::Input(format!(
                "constant scores {scores:?}: want at least one, all finite"
            )));
        }
        Ok(ConstantModel { scores })
    }

    /// The model returning `model`'s scores on `image` for every image:
    /// it agrees with `model` on the image explained (same classes, same
    /// output scale, probabilities if those were) and nowhere reacts.
    ///
    /// # Errors
    /// [`SanityError::Library`] when `model` fails; as [`new`](Self::new)
    /// when it returns no row or a non-finite score.
    pub fn matching(model: &dyn Classifier, image: &Image) -> Result<Self> {
        let scores = model
            .predict(image.view().insert_axis(Axis(0)))
            .map_err(multiscale_lime::Error::Classifier)?;
        let row = scores
            .outer_iter()
            .next()
            .ok_or_else(|| SanityError::Input("the model returned no row".into()))?;
        ConstantModel::new(row.to_vec())
    }

    /// The scores returned for every image.
    pub fn scores(&self) -> &[f32] {
        &self.scores
    }

    /// The model's output scale: its largest `|score|`.
    pub fn scale(&self) -> f64 {
        self.scores
            .iter()
            .fold(0.0f64, |m, &s| m.max(f64::from(s).abs()))
    }
}

impl Classifier for ConstantModel {
    fn num_classes(&self) -> usize {
        self.scores.len()
    }

    fn predict(&self, batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
        let rows = batch.dim().0;
        Ok(Array2::from_shape_fn(
            (rows, self.scores.len()),
            |(_, c)| self.scores[c],
        ))
    }
}

/// `case` with `model` in place of its own.
fn with_model(case: &Case, model: Model) -> Case {
    Case {
        model,
        ..case.clone()
    }
}

/// The largest `|value|` of a map.
fn max_abs(map: &Heatmap) -> f64 {
    map.values()
        .iter()
        .fold(0.0f64, |m, &v| m.max(f64::from(v).abs()))
}

/// One method on one case at one depth of the cascade, against the map
/// of the trained model.
#[derive(Debug, Clone, PartialEq)]
pub struct CascadeRow {
    /// The case's name.
    pub case: String,
    /// The method's name.
    pub method: String,
    /// Layers randomised, 1 (the head) to all.
    pub depth: usize,
    /// The randomised model's name: `head`, `head+conv4`, ….
    pub randomised: String,
    /// Spearman correlation of the maps ([`spearman`]); 0 when a map is
    /// constant (it ranks nothing).
    pub spearman: f64,
    /// Spearman correlation of the maps' absolute values
    /// ([`spearman_abs`]); 0 when one is constant.
    pub spearman_abs: f64,
    /// SSIM of the min-max scaled maps ([`ssim`]).
    pub ssim: f64,
}

/// The cascade check of `case`: `methods` explain the case with each of
/// `models` (from [`cascading_models`](super::cascading_models): the
/// first is the trained model, the reference, whatever the case's own
/// model is), and each randomised model's map is compared to the trained
/// model's map of the same method and seed. Rows by depth, then in the
/// order of `methods`' outputs.
///
/// # Errors
/// [`SanityError::Input`] when `models` is empty or the methods' outputs
/// differ in number or names between models; [`SanityError::Library`]
/// when a method fails.
pub fn cascade(
    case: &Case,
    models: &[(String, Model)],
    seed: u64,
    methods: &dyn Fn(&Case, u64) -> multiscale_lime::Result<Vec<Output>>,
) -> Result<Vec<CascadeRow>> {
    let Some(((_, trained), randomised)) = models.split_first() else {
        return Err(SanityError::Input("no models to cascade".into()));
    };
    let reference = methods(&with_model(case, Arc::clone(trained)), seed)?;
    let defined = |r: f64| if r.is_nan() { 0.0 } else { r };
    let mut rows = Vec::new();
    for (depth, (name, model)) in randomised.iter().enumerate() {
        let outputs = methods(&with_model(case, Arc::clone(model)), seed)?;
        if outputs.len() != reference.len() {
            return Err(SanityError::Input(format!(
                "{} methods with the trained model, {} with `{name}`",
                reference.len(),
                outputs.len()
            )));
        }
        for (r, o) in reference.iter().zip(&outputs) {
            if r.method != o.method {
                return Err(SanityError::Input(format!(
                    "method `{}` with the trained model, `{}` with `{name}`",
                    r.method, o.method
                )));
            }
            rows.push(CascadeRow {
                case: case.name.clone(),
                method: o.method.clone(),
                depth: depth + 1,
                randomised: name.clone(),
                spearman: defined(spearman(&r.heatmap, &o.heatmap)?),
                spearman_abs: defined(spearman_abs(&r.heatmap, &o.heatmap)?),
                ssim: ssim(&r.heatmap, &o.heatmap)?,
            });
        }
    }
    Ok(rows)
}

/// One method's map of a case under the constant model.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstantRow {
    /// The case's name.
    pub case: String,
    /// The method's name.
    pub method: String,
    /// The largest `|relevance|` of its map.
    pub max_abs: f64,
    /// The constant model's output scale ([`ConstantModel::scale`]).
    pub scale: f64,
}

impl ConstantRow {
    /// The pass rule: `max_abs ≤` [`CONSTANT_TOLERANCE`] `× scale` (a map
    /// of nothing is zero, up to rounding far below the model's scores).
    pub fn passed(&self) -> bool {
        self.max_abs <= CONSTANT_TOLERANCE * self.scale
    }
}

/// The constant-model check of `case`: `methods` explain the case with
/// [`ConstantModel::matching`] its model on its image in place of the
/// model, and each map's largest `|relevance|` is kept, in the order of
/// `methods`' outputs.
///
/// # Errors
/// [`SanityError::Library`] when the case's model or a method fails.
pub fn constant(
    case: &Case,
    seed: u64,
    methods: &dyn Fn(&Case, u64) -> multiscale_lime::Result<Vec<Output>>,
) -> Result<Vec<ConstantRow>> {
    let model = ConstantModel::matching(&*case.model, &case.image)?;
    let scale = model.scale();
    let outputs = methods(&with_model(case, Arc::new(model)), seed)?;
    Ok(outputs
        .into_iter()
        .map(|o| ConstantRow {
            case: case.name.clone(),
            method: o.method,
            max_abs: max_abs(&o.heatmap),
            scale,
        })
        .collect())
}

/// One level of multi-scale LIME's explanation of the constant model.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelCheck {
    /// Segments asked for.
    pub desired: usize,
    /// Segments obtained.
    pub actual: usize,
    /// The largest `|coefficient|`.
    pub max_abs_coefficient: f64,
    /// The largest standard error; `None` without standard errors.
    pub max_std_error: Option<f64>,
    /// Whether every [`CONSTANT_CONFIDENCE`] interval contains zero;
    /// `None` without standard errors.
    pub intervals_contain_zero: Option<bool>,
    /// The largest value of the level's (normalised) heatmap.
    pub max_abs_heatmap: f64,
}

/// Multi-scale LIME's explanation of the constant model on one case.
#[derive(Debug, Clone, PartialEq)]
pub struct LimeConstantCheck {
    /// The case's name.
    pub case: String,
    /// The constant model's output scale ([`ConstantModel::scale`]).
    pub scale: f64,
    /// Each level, in request order.
    pub levels: Vec<LevelCheck>,
    /// The largest `|value|` of the fused map.
    pub fused_max_abs: f64,
}

impl LimeConstantCheck {
    /// The pass rule: every level's intervals contain zero (a level
    /// without standard errors fails) and the fused map is exactly zero.
    pub fn passed(&self) -> bool {
        self.fused_max_abs == 0.0
            && self
                .levels
                .iter()
                .all(|l| l.intervals_contain_zero == Some(true))
    }
}

/// The library's default explainer
/// (`MultiScaleLime::builder().hide_color(case.hide).seed(seed)`) on
/// `case` with [`ConstantModel::matching`] its model: per level the
/// coefficients, their [`CONSTANT_CONFIDENCE`] intervals and heatmap,
/// and the fused map.
///
/// # Errors
/// [`SanityError::Library`] when the case's model or the explanation
/// fails.
pub fn lime_constant(case: &Case, seed: u64) -> Result<LimeConstantCheck> {
    let model = ConstantModel::matching(&*case.model, &case.image)?;
    let lime = MultiScaleLime::builder()
        .hide_color(case.hide)
        .seed(seed)
        .build()?;
    let explanation = lime.explain(&case.image, &model, Target::Class(case.class))?;
    let stack = explanation
        .stacks()
        .first()
        .ok_or_else(|| SanityError::Input("the explanation has no stack".into()))?;
    let mut levels = Vec::new();
    for level in stack.levels() {
        let intervals = level.intervals(CONSTANT_CONFIDENCE)?;
        levels.push(LevelCheck {
            desired: level.desired,
            actual: level.actual,
            max_abs_coefficient: level.coefficients.iter().fold(0.0, |m, b| b.abs().max(m)),
            max_std_error: level
                .std_errors
                .as_ref()
                .map(|se| se.iter().fold(0.0, |m: f64, &s| m.max(s))),
            intervals_contain_zero: intervals
                .map(|iv| iv.iter().all(|&(lo, hi)| lo <= 0.0 && 0.0 <= hi)),
            max_abs_heatmap: max_abs(&level.heatmap),
        });
    }
    Ok(LimeConstantCheck {
        case: case.name.clone(),
        scale: model.scale(),
        levels,
        fused_max_abs: max_abs(&explanation.fused().heatmap),
    })
}

//! `explanation.json`: what one explanation found, how, and at what cost.

use std::path::Path;

use multiscale_lime::metrics::{deletion_curve, explanation_accuracy, insertion_curve};
use multiscale_lime::{Classifier, CombinedHeatmap, Explanation, Image, LevelExplanation};
use serde_json::{json, Value};

use crate::models::Models;
use crate::plan::Plan;
use crate::write::BoxError;

/// Milliseconds spent on each part of one image's work.
pub(crate) struct Timings {
    /// Preparing the model for this image's size.
    pub(crate) model_load: f64,
    /// The explanation alone.
    pub(crate) explanation: f64,
    /// The faithfulness metrics.
    pub(crate) metrics: f64,
    /// Everything: reading, loading, explaining, metrics and files.
    pub(crate) elapsed: f64,
}

/// One level's entry: its counts, fit, fusion weight and heatmap file.
pub(crate) fn level(
    number: usize,
    level: &LevelExplanation,
    weight: f64,
    heatmap_file: &str,
) -> Result<Value, BoxError> {
    Ok(json!({
        "level": number,
        "desired": level.desired,
        "actual": level.actual,
        "samples": level.samples,
        "calls": level.calls,
        "r2": level.r2,
        "intercept": level.intercept,
        "local_prediction": level.local_prediction,
        "weight": weight,
        // One entry per superpixel, in label order (the labels are the
        // level's segmentation: `mslime segment` rebuilds it).
        "coefficients": level.coefficients.to_vec(),
        "std_errors": level.std_errors.as_ref().map(|s| s.to_vec()),
        "interval90": level.intervals(0.9)?,
        "heatmap": heatmap_file,
    }))
}

/// Explanation accuracy and the deletion and insertion AUCs of the fused
/// map for `class`, or `null` with `--no-metrics`.
pub(crate) fn metrics(
    image: &Image,
    combined: &CombinedHeatmap,
    model: &(dyn Classifier + Send + Sync),
    class: usize,
    plan: &Plan,
) -> Result<Value, BoxError> {
    if plan.args.no_metrics {
        return Ok(Value::Null);
    }
    let map = &combined.heatmap;
    // "Removed" means what it meant to the explanation.
    let hide = plan.args.config().hide_color;
    let acc = explanation_accuracy(image, map, model, class, plan.args.keep_fraction, hide)?;
    let deletion = deletion_curve(image, map, model, class, 50, hide)?;
    let insertion = insertion_curve(image, map, model, class, 50, 5.0)?;
    Ok(json!({
        "explanation_accuracy": {
            "keep_fraction": acc.fraction,
            "original_score": acc.original_score,
            "masked_score": acc.masked_score,
            "masked_prediction": acc.masked_prediction,
            "label_holds": acc.label_holds,
        },
        "deletion_auc": deletion.auc,
        "insertion_auc": insertion.auc,
    }))
}

/// Everything about one image's explanation, as `explanation.json` holds
/// it.
pub(crate) struct Report<'a> {
    pub(crate) path: &'a Path,
    pub(crate) image: &'a Image,
    pub(crate) model: &'a (dyn Classifier + Send + Sync),
    pub(crate) models: &'a Models,
    pub(crate) plan: &'a Plan,
    pub(crate) explanation: &'a Explanation,
    pub(crate) class: usize,
    pub(crate) levels: Vec<Value>,
    pub(crate) metrics: Value,
    pub(crate) timings: Timings,
}

impl Report<'_> {
    /// The document.
    pub(crate) fn json(&self) -> Value {
        let (image, plan, models, explanation) =
            (self.image, self.plan, self.models, self.explanation);
        let combined = explanation.fused();
        let predicted = explanation.predicted_class();
        json!({
            "image": self.path.display().to_string(),
            "size": [image.height(), image.width()],
            "model": models.args.model.display().to_string(),
            // The model flags that shape its input, to reproduce the run.
            "model_options": models.model_flags(),
            "backend": models.backend(),
            "settings_digest": models.settings_digest(plan),
            "parameters": {
                "preset": plan.args.settings.preset.name(),
                "settings": plan.settings_json(),
                // What `response=auto` became for this image.
                "response": explanation.response().name(),
                "batch_size": plan.lime.batch_size().images_for(
                    image.height(),
                    image.width(),
                    self.model.preferred_batch_size(),
                ),
            },
            "class_names": models.args.class_names,
            "prediction": {
                "class": predicted,
                "class_name": models.class_name(predicted),
                "probabilities": explanation.prediction().to_vec(),
            },
            "explained_class": self.class,
            "levels": self.levels,
            "combined": {
                "heatmap": "combined.npy",
                "fusion": explanation.fusion().to_string(),
                "weights": combined.weights,
                "uniform_fallback": combined.uniform_fallback,
            },
            "metrics": self.metrics,
            // The explanation alone, and everything (reading, loading the
            // model for this size, metrics, files).
            "explain_ms": self.timings.explanation,
            "timings_ms": {
                "model_load": self.timings.model_load,
                "explanation": self.timings.explanation,
                "metrics": self.timings.metrics,
            },
            "elapsed_ms": self.timings.elapsed,
        })
    }
}

//! One image explained into one folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use multiscale_lime::metrics::{deletion_curve, explanation_accuracy, insertion_curve};
use multiscale_lime::onnx::{
    open_ort_library, ExecutionProvider, ModelBuilder, OnnxClassifier, OrtClassifier,
};
use multiscale_lime::render::{colorize, overlay, panel, Colormap};
use multiscale_lime::{Classifier, Config, MultiScaleLime, Target};
use serde_json::json;

use crate::write::{self, BoxError};
use crate::{Backend, LimeArgs, ModelArgs};

/// A prepared model, whichever runtime runs it.
pub(crate) type Model = Arc<dyn Classifier + Send + Sync>;

/// The model, prepared once per input size (plans have fixed shapes; a
/// model that declares its input size refuses other sizes).
pub(crate) struct Models {
    bytes: Vec<u8>,
    args: ModelArgs,
    /// `Some(library)` when ONNX Runtime runs the model.
    ort: Option<PathBuf>,
    /// Per input size: the prepared model, or why it cannot be (so a bad
    /// model is loaded and reported once per size, not once per image).
    prepared: Mutex<HashMap<(usize, usize), Result<Model, String>>>,
    /// Fingerprint of the model's bytes.
    digest: u64,
}

impl Models {
    pub(crate) fn open(args: &ModelArgs) -> Result<Models, String> {
        let bytes = std::fs::read(&args.model)
            .map_err(|e| format!("cannot read the model {}: {e}", args.model.display()))?;
        // Not ONNX at all: one error before any image, not one per image.
        use tract_onnx::prelude::Framework;
        tract_onnx::onnx()
            .proto_model_for_read(&mut bytes.as_slice())
            .map_err(|e| format!("{} is not an ONNX model: {e}", args.model.display()))?;
        let digest = write::fingerprint(&[&bytes]);
        let library = args.ort_library.as_deref();
        let ort = match args.backend {
            Backend::Tract => None,
            Backend::Ort => Some(open_ort_library(library).map_err(|e| e.to_string())?),
            Backend::Auto => match open_ort_library(library) {
                Ok(path) => Some(path),
                Err(e) => {
                    eprintln!(
                        "note: using tract ({e}); ONNX Runtime is several times faster: \
                         set ORT_DYLIB_PATH or --ort-library (docs/onnx-runtime.md)"
                    );
                    None
                }
            },
        };
        if ort.is_none() && args.execution_provider != ExecutionProvider::Cpu {
            return Err(format!(
                "--execution-provider {} needs ONNX Runtime (--backend ort)",
                args.execution_provider.name()
            ));
        }
        Ok(Models {
            bytes,
            args: args.clone(),
            ort,
            prepared: Mutex::new(HashMap::new()),
            digest,
        })
    }

    /// What runs the model, for the report.
    pub(crate) fn backend(&self) -> serde_json::Value {
        match &self.ort {
            Some(library) => json!({
                "runtime": "onnxruntime",
                "library": library.display().to_string(),
                "execution_provider": self.args.execution_provider.name(),
            }),
            None => json!({"runtime": "tract"}),
        }
    }

    pub(crate) fn for_size(&self, height: usize, width: usize) -> Result<Model, BoxError> {
        let mut prepared = self.prepared.lock().map_err(|_| "a worker panicked")?;
        if let Some(known) = prepared.get(&(height, width)) {
            return known.clone().map_err(BoxError::from);
        }
        let a = &self.args;
        // What both runtimes share, set once.
        fn shared<R>(builder: ModelBuilder<R>, a: &ModelArgs) -> ModelBuilder<R> {
            let builder = builder
                .layout(a.layout.into())
                .scale(a.scale)
                .normalization(a.mean, a.std)
                .softmax(a.softmax);
            match a.model_batch {
                Some(n) => builder.batch_size(n),
                None => builder,
            }
        }
        let loaded: multiscale_lime::Result<Model> = match &self.ort {
            Some(library) => shared(OrtClassifier::builder(height, width), a)
                .library(library)
                .execution_provider(a.execution_provider)
                .load_bytes(&self.bytes)
                .map(|m| Arc::new(m) as Model),
            None => shared(OnnxClassifier::builder(height, width), a)
                .load_bytes(&self.bytes)
                .map(|m| Arc::new(m) as Model),
        };
        let model = loaded.map_err(|e| match e {
            multiscale_lime::Error::Model { reason, .. } => format!(
                "the model {} cannot take {height}×{width} images: {reason}",
                a.model.display()
            ),
            other => other.to_string(),
        });
        prepared.insert((height, width), model.clone());
        model.map_err(BoxError::from)
    }

    /// Fingerprint of everything an explanation's outputs depend on: the
    /// model's bytes, how images reach it, the runtime and the settings.
    pub(crate) fn settings_digest(&self, plan: &Plan) -> String {
        let a = &self.args;
        let model = format!(
            "{:?} {} {:?} {:?} {} {:?} {:?} {:?}",
            a.layout,
            a.scale,
            a.mean,
            a.std,
            a.softmax,
            self.ort.is_some(),
            a.execution_provider,
            a.model_batch
        );
        let lime = plan.args.canonical();
        format!(
            "{:016x}",
            write::fingerprint(&[
                &self.digest.to_le_bytes(),
                model.as_bytes(),
                lime.as_bytes()
            ])
        )
    }

    pub(crate) fn class_name(&self, class: usize) -> String {
        self.args
            .class_names
            .as_ref()
            .and_then(|names| names.get(class).cloned())
            .unwrap_or_else(|| format!("class {class}"))
    }
}

/// The explainer the settings describe, validated once.
pub(crate) struct Plan {
    pub(crate) lime: MultiScaleLime,
    pub(crate) args: LimeArgs,
}

impl Plan {
    pub(crate) fn new(args: &LimeArgs) -> Result<Plan, String> {
        let lime = args.config().build().map_err(|e| e.to_string())?;
        if !(args.keep_fraction > 0.0 && args.keep_fraction <= 1.0) {
            return Err(format!(
                "--keep-fraction {} must lie in (0, 1]",
                args.keep_fraction
            ));
        }
        Ok(Plan {
            lime,
            args: args.clone(),
        })
    }

    /// The settings, one JSON field per setting in use, as the flags spell
    /// them.
    fn settings_json(&self) -> serde_json::Value {
        let config = self.args.config();
        let fields: serde_json::Map<String, serde_json::Value> = Config::SETTINGS
            .iter()
            .filter_map(|s| config.get(s.name).map(|v| (s.name.to_string(), json!(v))))
            .collect();
        serde_json::Value::Object(fields)
    }
}

/// What one explanation found, for the console.
pub(crate) struct Outcome {
    pub(crate) class: usize,
    pub(crate) probability: f32,
    pub(crate) millis: f64,
}

/// Creates the output folder `out`, or checks that it is one.
pub(crate) fn create_output_folder(out: &Path) -> Result<(), BoxError> {
    if out.exists() && !out.is_dir() {
        return Err(format!("the output {} exists and is not a folder", out.display()).into());
    }
    std::fs::create_dir_all(out)
        .map_err(|e| format!("cannot create the output folder {}: {e}", out.display()).into())
}

/// Explains `path` and writes every output into `out`, `explanation.json`
/// last: its presence means the folder is complete.
pub(crate) fn explain_into(
    path: &Path,
    out: &Path,
    models: &Models,
    plan: &Plan,
) -> Result<Outcome, BoxError> {
    let start = Instant::now();
    // Before any work: the output folder must be one (or be creatable).
    create_output_folder(out)?;
    let config = plan.args.config();
    let image = crate::read_image(path, config.limits.pixels(), plan.args.transparency)?;
    let loading = Instant::now();
    let model = models.for_size(image.height(), image.width())?;
    let load_ms = loading.elapsed().as_secs_f64() * 1e3;
    let target = plan.args.class.map_or(Target::Predicted, Target::Class);
    let explaining = Instant::now();
    let explanation = plan.lime.explain(&image, &*model, target)?;
    let explain_ms = explaining.elapsed().as_secs_f64() * 1e3;
    let stack = explanation
        .stacks()
        .first()
        .ok_or("the explanation holds no class")?;
    let class = stack.class();
    let combined = explanation.fused();

    write::sweep_temporaries(out);
    let range = (0.0, 1.0);
    let mut levels = Vec::new();
    let mut stems = Vec::new();
    for (l, level) in stack.levels().iter().enumerate() {
        let stem = format!("level{}_s{}", l + 1, level.desired);
        stems.push(stem.clone());
        write::atomically(&out.join(format!("{stem}.png")), |w| {
            write::png(w, &colorize(&level.heatmap, Colormap::Viridis, range)?)
        })?;
        write::atomically(&out.join(format!("{stem}.npy")), |w| {
            write::npy(w, level.heatmap.values())
        })?;
        levels.push(json!({
            "level": l + 1,
            "desired": level.desired,
            "actual": level.actual,
            "samples": level.samples,
            "calls": level.calls,
            "r2": level.r2,
            "intercept": level.intercept,
            "local_prediction": level.local_prediction,
            "weight": combined.weights[l],
            // One entry per superpixel, in label order (the labels are the
            // level's segmentation: `mslime segment` rebuilds it).
            "coefficients": level.coefficients.to_vec(),
            "std_errors": level.std_errors.as_ref().map(|s| s.to_vec()),
            "interval90": level.intervals(0.9)?,
            "heatmap": format!("{stem}.npy"),
        }));
    }
    let map = &combined.heatmap;
    write::atomically(&out.join("combined.png"), |w| {
        write::png(w, &colorize(map, Colormap::Viridis, range)?)
    })?;
    write::atomically(&out.join("combined.npy"), |w| write::npy(w, map.values()))?;
    write::atomically(&out.join("overlay.png"), |w| {
        write::png(w, &overlay(&image, map, Colormap::Inferno, range, 0.6)?)
    })?;
    let scale = if image.width().max(image.height()) < 256 {
        2
    } else {
        1
    };
    write::atomically(&out.join("panel.png"), |w| {
        write::png(
            w,
            &panel(&image, stack, combined, Colormap::Viridis, range, scale)?,
        )
    })?;

    let measuring = Instant::now();
    let metrics = if plan.args.no_metrics {
        serde_json::Value::Null
    } else {
        // "Removed" means what it meant to the explanation.
        let hide = config.hide_color;
        let acc = explanation_accuracy(&image, map, &*model, class, plan.args.keep_fraction, hide)?;
        let deletion = deletion_curve(&image, map, &*model, class, 50, hide)?;
        let insertion = insertion_curve(&image, map, &*model, class, 50, 5.0)?;
        json!({
            "explanation_accuracy": {
                "keep_fraction": acc.fraction,
                "original_score": acc.original_score,
                "masked_score": acc.masked_score,
                "masked_prediction": acc.masked_prediction,
                "label_holds": acc.label_holds,
            },
            "deletion_auc": deletion.auc,
            "insertion_auc": insertion.auc,
        })
    };
    let metrics_ms = measuring.elapsed().as_secs_f64() * 1e3;
    let prediction = explanation.prediction();
    let millis = start.elapsed().as_secs_f64() * 1e3;
    let report = json!({
        "image": path.display().to_string(),
        "size": [image.height(), image.width()],
        "model": models.args.model.display().to_string(),
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
                model.preferred_batch_size(),
            ),
        },
        "prediction": {
            "class": explanation.predicted_class(),
            "class_name": models.class_name(explanation.predicted_class()),
            "probabilities": prediction.to_vec(),
        },
        "explained_class": class,
        "levels": levels,
        "combined": {
            "heatmap": "combined.npy",
            "fusion": explanation.fusion().to_string(),
            "weights": combined.weights,
            "uniform_fallback": combined.uniform_fallback,
        },
        "metrics": metrics,
        // The explanation alone, and everything (reading, loading the
        // model for this size, metrics, files).
        "explain_ms": explain_ms,
        "timings_ms": {
            "model_load": load_ms,
            "explanation": explain_ms,
            "metrics": metrics_ms,
        },
        "elapsed_ms": millis,
    });
    // An earlier explanation with other levels leaves no files behind.
    write::remove_stale_levels(out, &stems);
    write::atomically(&out.join("explanation.json"), |w| write::json(w, &report))?;
    Ok(Outcome {
        class,
        probability: prediction[class],
        millis,
    })
}

/// An error and its causes, on one line.
pub(crate) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `mslime explain`.
pub(crate) fn explain_one(
    path: &Path,
    model: &ModelArgs,
    lime: &LimeArgs,
    out: &Path,
) -> Result<(), String> {
    let models = Models::open(model)?;
    let plan = Plan::new(lime)?;
    // On one of the pool's own threads, as `batch` runs: called from the
    // main thread, every parallel pass of the explanation would hand its
    // work to the pool and wait, and the model's runs would be scheduled
    // across threads (measured: the same explanation half again as long).
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .map_err(|e| format!("cannot start the worker threads: {e}"))?;
    let outcome = pool
        .install(|| explain_into(path, out, &models, &plan))
        .map_err(|e| format!("{}: {}", path.display(), describe(e.as_ref())))?;
    println!(
        "{}: {} (p = {:.3}) explained in {:.0} ms; outputs in {}",
        path.display(),
        models.class_name(outcome.class),
        outcome.probability,
        outcome.millis,
        out.display()
    );
    Ok(())
}

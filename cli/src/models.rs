//! The model, opened once and prepared per input size, whichever runtime
//! runs it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use multiscale_lime::onnx::{
    open_ort_library, ExecutionProvider, ModelBuilder, OnnxClassifier, OrtClassifier,
};
use multiscale_lime::Classifier;
use serde_json::json;

use crate::plan::Plan;
use crate::write::{self, BoxError};
use crate::{Backend, ModelArgs};

/// A prepared model, whichever runtime runs it.
pub(crate) type Model = Arc<dyn Classifier + Send + Sync>;

/// The model, prepared once per input size (plans have fixed shapes; a
/// model that declares its input size refuses other sizes).
pub(crate) struct Models {
    bytes: Vec<u8>,
    pub(crate) args: ModelArgs,
    /// `Some(library)` when ONNX Runtime runs the model.
    ort: Option<PathBuf>,
    /// Per input size: the prepared model, or why it cannot be (so a bad
    /// model is loaded and reported once per size, not once per image).
    prepared: Mutex<HashMap<(usize, usize), Result<Model, String>>>,
    /// Fingerprint of the model's bytes.
    digest: u64,
    /// The input's height and width, where the model fixes them.
    pub(crate) declared: Option<(usize, usize)>,
}

/// The first input's fixed height and width, read from the ONNX graph.
fn declared_size(
    proto: &tract_onnx::pb::ModelProto,
    layout: crate::Layout,
) -> Option<(usize, usize)> {
    use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
    use tract_onnx::pb::type_proto::Value as Type;
    let input = proto.graph.as_ref()?.input.first()?;
    let Type::TensorType(tensor) = input.r#type.as_ref()?.value.as_ref()?;
    let dims: Vec<Option<usize>> = tensor
        .shape
        .as_ref()?
        .dim
        .iter()
        .map(|d| match d.value {
            Some(Dim::DimValue(v)) if v > 0 => usize::try_from(v).ok(),
            _ => None,
        })
        .collect();
    if dims.len() != 4 {
        return None;
    }
    match layout {
        crate::Layout::Nchw => Some((dims[2]?, dims[3]?)),
        crate::Layout::Nhwc => Some((dims[1]?, dims[2]?)),
    }
}

impl Models {
    pub(crate) fn open(args: &ModelArgs) -> Result<Models, String> {
        let bytes = std::fs::read(&args.model)
            .map_err(|e| format!("cannot read the model {}: {e}", args.model.display()))?;
        // Not ONNX at all: one error before any image, not one per image.
        use tract_onnx::prelude::Framework;
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut bytes.as_slice())
            .map_err(|e| format!("{} is not an ONNX model: {e}", args.model.display()))?;
        let digest = write::fingerprint(&[&bytes]);
        let declared = declared_size(&proto, args.layout);
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
            declared,
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
        let model = self.input_flags();
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

    /// The digest of what a model's scores depend on: the file and the
    /// flags that shape its input and output (not the explainer's
    /// settings).
    pub(crate) fn model_digest(&self) -> String {
        let model = self.input_flags();
        format!(
            "{:016x}",
            write::fingerprint(&[&self.digest.to_le_bytes(), model.as_bytes()])
        )
    }

    fn input_flags(&self) -> String {
        let a = &self.args;
        format!(
            "{:?} {} {:?} {:?} {} {:?} {:?} {:?}",
            a.layout,
            a.scale,
            a.mean,
            a.std,
            a.softmax,
            self.ort.is_some(),
            a.execution_provider,
            a.model_batch
        )
    }

    /// The flags that choose the runtime and shape the model's input and
    /// output, as the command line spells them (for the report's command
    /// that reproduces a run).
    pub(crate) fn model_flags(&self) -> Vec<String> {
        let a = &self.args;
        let rgb = |v: [f32; 3]| format!("{},{},{}", v[0], v[1], v[2]);
        let layout = match a.layout {
            crate::Layout::Nchw => "nchw",
            crate::Layout::Nhwc => "nhwc",
        };
        let backend = if self.ort.is_some() { "ort" } else { "tract" };
        let mut flags = vec![
            format!("--backend {backend}"),
            format!("--layout {layout}"),
            format!("--scale {}", a.scale),
            format!("--mean {}", rgb(a.mean)),
            format!("--std {}", rgb(a.std)),
        ];
        if a.softmax {
            flags.push("--softmax".to_string());
        }
        if self.ort.is_some() {
            flags.push(format!(
                "--execution-provider {}",
                a.execution_provider.name()
            ));
        }
        if let Some(names) = &a.class_names {
            flags.push(format!("--class-names {}", names.join(",")));
        }
        flags
    }

    pub(crate) fn class_name(&self, class: usize) -> String {
        self.args
            .class_names
            .as_ref()
            .and_then(|names| names.get(class).cloned())
            .unwrap_or_else(|| format!("class {class}"))
    }
}

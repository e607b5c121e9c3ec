//! ONNX Runtime as a runtime for [`OrtClassifier`] (its docs tell where the
//! library comes from).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ndarray::{Array2, ArrayView4};
use ort::environment::Environment;
use ort::ep::{self, ExecutionProvider as _};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

use super::{
    check_declared_shape, predict_in_batches, probe_classes, read_model, InputSpec, ModelBuilder,
};
use crate::classify::Classifier;
use crate::error::{ClassifierError, Error, Result};

/// The library a process opens when none is named.
#[cfg(target_os = "windows")]
const DEFAULT_LIBRARY: &str = "onnxruntime.dll";
#[cfg(target_os = "macos")]
const DEFAULT_LIBRARY: &str = "libonnxruntime.dylib";
#[cfg(not(any(target_os = "windows", target_os = "macos")))]
const DEFAULT_LIBRARY: &str = "libonnxruntime.so";

/// Where a model's computation runs. The library must have been built with
/// the provider (the `onnxruntime` CPU wheel has only [`Cpu`](Self::Cpu);
/// `onnxruntime-gpu` adds CUDA and TensorRT); asking for one it lacks is an
/// [`Error::OnnxRuntime`] naming the library, never a silent fallback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecutionProvider {
    /// ONNX Runtime's own CPU kernels (every build has them).
    #[default]
    Cpu,
    /// NVIDIA GPUs through CUDA (and cuDNN).
    Cuda {
        /// The GPU's index.
        device_id: i32,
    },
    /// NVIDIA GPUs through TensorRT.
    TensorRt {
        /// The GPU's index.
        device_id: i32,
    },
    /// Apple's Core ML (macOS, iOS).
    CoreMl,
}

impl ExecutionProvider {
    /// ONNX Runtime's name for the provider, as its Python API spells it.
    pub fn name(self) -> &'static str {
        // Spelled out: ort defines the GPU providers' names only when their
        // features are on, and the name is wanted in errors either way.
        match self {
            ExecutionProvider::Cpu => "CPUExecutionProvider",
            ExecutionProvider::Cuda { .. } => "CUDAExecutionProvider",
            ExecutionProvider::TensorRt { .. } => "TensorrtExecutionProvider",
            ExecutionProvider::CoreMl => "CoreMLExecutionProvider",
        }
    }

    /// What to do when this build lacks the provider's support (a cargo
    /// feature of its own, so that CPU users compile none of it).
    fn missing_feature(self) -> Option<&'static str> {
        match self {
            ExecutionProvider::Cpu => None,
            ExecutionProvider::Cuda { .. } => (!cfg!(feature = "ort-cuda"))
                .then_some("a provider compiled in: build with the `ort-cuda` feature"),
            ExecutionProvider::TensorRt { .. } => (!cfg!(feature = "ort-tensorrt"))
                .then_some("a provider compiled in: build with the `ort-tensorrt` feature"),
            ExecutionProvider::CoreMl => (!cfg!(feature = "ort-coreml"))
                .then_some("a provider compiled in: build with the `ort-coreml` feature"),
        }
    }

    fn available(self) -> ort::Result<bool> {
        match self {
            ExecutionProvider::Cpu => ep::CPU::is_available(),
            #[cfg(feature = "ort-cuda")]
            ExecutionProvider::Cuda { .. } => ep::CUDA::is_available(),
            #[cfg(feature = "ort-tensorrt")]
            ExecutionProvider::TensorRt { .. } => ep::TensorRT::is_available(),
            #[cfg(feature = "ort-coreml")]
            ExecutionProvider::CoreMl => ep::CoreML::is_available(),
            #[allow(unreachable_patterns)]
            _ => Ok(false),
        }
    }

    fn dispatch(self) -> ep::ExecutionProviderDispatch {
        let dispatch = match self {
            #[cfg(feature = "ort-cuda")]
            ExecutionProvider::Cuda { device_id } => {
                ep::CUDA::default().with_device_id(device_id).build()
            }
            #[cfg(feature = "ort-tensorrt")]
            ExecutionProvider::TensorRt { device_id } => {
                ep::TensorRT::default().with_device_id(device_id).build()
            }
            #[cfg(feature = "ort-coreml")]
            ExecutionProvider::CoreMl => ep::CoreML::default().build(),
            // A provider compiled out never gets here: `load_bytes` refuses
            // it first (`missing_feature`).
            _ => ep::CPU::default().build(),
        };
        // Never fall back to the CPU behind the user's back.
        dispatch.error_on_failure()
    }
}

/// ONNX Runtime's own settings of a [`ModelBuilder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrtSettings {
    library: Option<PathBuf>,
    provider: ExecutionProvider,
    intra_threads: usize,
    sessions: Option<usize>,
}

/// Settings of an [`OrtClassifier`]; [`load_path`](Self::load_path) or
/// [`load_bytes`](Self::load_bytes) open ONNX Runtime, validate them and
/// prepare the model.
pub type OrtClassifierBuilder = ModelBuilder<OrtSettings>;

impl ModelBuilder<OrtSettings> {
    /// The ONNX Runtime shared library to open (default: `ORT_DYLIB_PATH`,
    /// else the system's; see [`OrtClassifier`]).
    pub fn library(mut self, path: impl Into<PathBuf>) -> Self {
        self.runtime.library = Some(path.into());
        self
    }

    /// Where the model runs (default [`ExecutionProvider::Cpu`]).
    pub fn execution_provider(mut self, provider: ExecutionProvider) -> Self {
        self.runtime.provider = provider;
        self
    }

    /// Threads ONNX Runtime uses inside one model run, 1 to 1024 (default
    /// 1: the explainer already scores batches on every core, one session
    /// each).
    pub fn intra_threads(mut self, threads: usize) -> Self {
        self.runtime.intra_threads = threads;
        self
    }

    /// Sessions that run side by side, 1 to 256, each with its own copy of
    /// the model's weights (default: one per thread of the rayon pool the
    /// model is loaded in on the CPU, one on an accelerator).
    pub fn sessions(mut self, sessions: usize) -> Self {
        self.runtime.sessions = Some(sessions);
        self
    }

    /// Opens ONNX Runtime and prepares the model in `path`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for invalid settings;
    /// [`Error::OnnxRuntime`] when the library cannot be opened, is older
    /// than 1.31, lacks the execution provider, or another library is
    /// already open; [`Error::Model`] when the file is missing or
    /// unreadable, is not a valid ONNX model, does not take one `f32`
    /// image tensor of the configured size and layout, or does not return
    /// one row of scores per image.
    pub fn load_path(self, path: impl AsRef<Path>) -> Result<OrtClassifier> {
        let (bytes, name) = read_model(path.as_ref())?;
        self.prepare(&bytes, name)
    }

    /// Opens ONNX Runtime and prepares a model from its ONNX bytes.
    ///
    /// # Errors
    /// As [`load_path`](Self::load_path).
    pub fn load_bytes(self, bytes: &[u8]) -> Result<OrtClassifier> {
        self.prepare(bytes, None)
    }

    fn prepare(self, bytes: &[u8], name: Option<String>) -> Result<OrtClassifier> {
        self.input.validate()?;
        let settings = &self.runtime;
        if !(1..=1024).contains(&settings.intra_threads) {
            return Err(Error::invalid(
                "intra_threads",
                settings.intra_threads,
                "1 to 1024",
            ));
        }
        let sessions = match (settings.sessions, settings.provider) {
            (Some(0), _) => return Err(Error::invalid("sessions", 0, "at least 1")),
            (Some(n), _) if n > 256 => {
                return Err(Error::invalid("sessions", n, "at most 256"));
            }
            (Some(n), _) => n,
            (None, ExecutionProvider::Cpu) => rayon::current_num_threads().clamp(1, 256),
            (None, _) => 1,
        };
        if let Some(expected) = settings.provider.missing_feature() {
            return Err(Error::invalid(
                "execution provider",
                settings.provider.name(),
                expected,
            ));
        }
        let (library, env) = open_runtime(settings.library.as_deref())?;
        let runtime_error = |reason: String| Error::OnnxRuntime {
            library: library.display().to_string(),
            reason,
        };
        match settings.provider.available() {
            Ok(true) => {}
            Ok(false) => {
                return Err(runtime_error(format!(
                    "this build of ONNX Runtime has no {}",
                    settings.provider.name()
                )))
            }
            Err(e) => return Err(runtime_error(e.to_string())),
        }
        let model_error = |e: ort::Error| Error::Model {
            source_name: name.clone(),
            reason: e.to_string(),
        };
        let session = || -> Result<Session> {
            let mut builder = Session::builder(&env)
                .map_err(|e| runtime_error(e.to_string()))?
                .with_optimization_level(GraphOptimizationLevel::All)
                .map_err(|e| runtime_error(e.to_string()))?
                .with_intra_threads(settings.intra_threads)
                .map_err(|e| runtime_error(e.to_string()))?
                .with_inter_threads(1)
                .map_err(|e| runtime_error(e.to_string()))?
                .with_execution_providers([settings.provider.dispatch()])
                .map_err(|e| {
                    runtime_error(format!("cannot use {}: {e}", settings.provider.name()))
                })?;
            builder.commit_from_memory(bytes).map_err(model_error)
        };
        let first = session()?;
        check_signature(&first, &self.input).map_err(|reason| Error::Model {
            source_name: name.clone(),
            reason,
        })?;
        let mut pool = vec![Mutex::new(first)];
        for _ in 1..sessions {
            pool.push(Mutex::new(session()?));
        }
        let mut classifier = OrtClassifier {
            sessions: pool,
            classes: 0,
            input: self.input,
            library: library.clone(),
            provider: self.runtime.provider,
        };
        classifier.classes = probe_classes(&classifier.input, name, |b, p| classifier.run(b, p))?;
        Ok(classifier)
    }
}

/// Opens ONNX Runtime's library (unless this process already has) and
/// returns its path: `library`, else `ORT_DYLIB_PATH`, else the system's
/// (see [`OrtClassifier`]). Loading a model does this itself; call it
/// to learn early whether ONNX Runtime is there.
///
/// # Errors
/// [`Error::OnnxRuntime`] when the library cannot be opened, is older than
/// 1.31, or another library is already open.
pub fn open_ort_library(library: Option<&Path>) -> Result<PathBuf> {
    open_runtime(library).map(|(path, _)| path)
}

/// Opens ONNX Runtime once per process; later calls must name the same
/// library (or none). A failed attempt leaves nothing open, so a later call
/// may name another path.
fn open_runtime(requested: Option<&Path>) -> Result<(PathBuf, Environment)> {
    static RUNTIME: Mutex<Option<(PathBuf, Environment)>> = Mutex::new(None);
    let wanted = requested
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_LIBRARY));
    let fail = |reason: String| Error::OnnxRuntime {
        library: wanted.display().to_string(),
        reason,
    };
    // A panic elsewhere cannot leave the slot half-written: it holds an
    // Option that is set in one assignment.
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((path, env)) = slot.as_ref() {
        if requested.is_some_and(|r| r != path) {
            return Err(fail(format!(
                "this process already uses ONNX Runtime from {}; one library per process",
                path.display()
            )));
        }
        return Ok((path.clone(), env.clone()));
    }
    let env = ort::init_from(&wanted)
        .map_err(|e| fail(e.to_string()))?
        .with_name("multiscale-lime")
        .build()
        .map_err(|e| fail(e.to_string()))?;
    *slot = Some((wanted.clone(), env.clone()));
    Ok((wanted, env))
}

/// The model must take one `f32` tensor of rank 4 whose non-batch sides
/// match the configured input (free sides are fine).
fn check_signature(session: &Session, input: &InputSpec) -> std::result::Result<(), String> {
    let [first] = session.inputs() else {
        return Err(format!(
            "the model takes {} inputs; one image tensor expected",
            session.inputs().len()
        ));
    };
    let ty = first.dtype();
    if ty.tensor_type() != Some(ort::value::TensorElementType::Float32) {
        return Err(format!(
            "the model's input `{}` is {ty}; f32 expected",
            first.name()
        ));
    }
    let declared: Vec<Option<usize>> = ty
        .tensor_shape()
        .map(|shape| shape.iter().map(|&d| usize::try_from(d).ok()).collect())
        .unwrap_or_default();
    check_declared_shape(&declared, input)?;
    Ok(())
}

/// An ONNX image classifier run by [ONNX Runtime](https://onnxruntime.ai)
/// through the [`ort`](https://docs.rs/ort) crate. Enabled by the `ort`
/// feature; the GPU and Core ML providers by features of their own
/// (`ort-cuda`, `ort-tensorrt`, `ort-coreml`), so a CPU build compiles none
/// of them.
///
/// Images must have the size given to [`OrtClassifier::builder`]; the
/// model must take one `f32` input (`N×3×H×W` or `N×H×W×3`) and return
/// `N×C` scores. Batches are scored by a pool of sessions, one call per
/// session at a time.
///
/// Nothing is linked or downloaded at build time: ONNX Runtime's shared
/// library (1.31 or newer) is opened when the first model is loaded, from
///
/// 1. the path given to [`OrtSettings`] through
///    [`ModelBuilder::library`](crate::onnx::ModelBuilder::library), else
/// 2. the `ORT_DYLIB_PATH` environment variable (ort's convention), else
/// 3. `libonnxruntime.so` (`libonnxruntime.dylib` on macOS,
///    `onnxruntime.dll` on Windows) on the system's library search path.
///
/// A process holds one ONNX Runtime library: asking for a second, different
/// path is an error; [`open_ort_library`](crate::onnx::open_ort_library)
/// opens it early. Where to get the library (a system package, the
/// `onnxruntime` Python wheel, which bundles `libonnxruntime.so`, or
/// Microsoft's release archives) is told in `docs/onnx-runtime.md`; this
/// repository's `tools/fetch_onnxruntime.py` extracts it from the wheel.
///
/// ```no_run
/// use multiscale_lime::onnx::{ExecutionProvider, OrtClassifier};
/// use multiscale_lime::Classifier;
///
/// let model = OrtClassifier::builder(96, 96)
///     .library("target/onnxruntime/libonnxruntime.so.1.32.0")
///     .execution_provider(ExecutionProvider::Cpu)
///     .load_path("assets/models/ihc_dab_cnn.onnx")?;
/// assert_eq!(model.num_classes(), 2);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
pub struct OrtClassifier {
    sessions: Vec<Mutex<Session>>,
    classes: usize,
    input: InputSpec,
    library: PathBuf,
    provider: ExecutionProvider,
}

impl std::fmt::Debug for OrtClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtClassifier")
            .field("classes", &self.classes)
            .field("input", &self.input)
            .field("library", &self.library)
            .field("provider", &self.provider)
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl OrtClassifier {
    /// Settings for a model taking `height × width` RGB images, NCHW, no
    /// scaling or normalisation, no softmax, on the CPU, 8 images per run
    /// (ONNX Runtime's fastest for the bundled CNN: see
    /// `docs/performance.md`).
    pub fn builder(height: usize, width: usize) -> OrtClassifierBuilder {
        ModelBuilder::with_runtime(
            height,
            width,
            8,
            OrtSettings {
                library: None,
                provider: ExecutionProvider::Cpu,
                intra_threads: 1,
                sessions: None,
            },
        )
    }

    /// The input size `(height, width)` the model takes.
    pub fn input_size(&self) -> (usize, usize) {
        (self.input.height, self.input.width)
    }

    /// The ONNX Runtime library this process opened.
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// Where the model runs.
    pub fn execution_provider(&self) -> ExecutionProvider {
        self.provider
    }

    fn run(
        &self,
        batch: ArrayView4<'_, f32>,
        padded: usize,
    ) -> std::result::Result<Array2<f32>, ClassifierError> {
        let data = self.input.tensor_data(batch, padded)?;
        let tensor = TensorRef::from_array_view((self.input.shape(padded), data.as_slice()))
            .map_err(|e| ClassifierError::msg(e.to_string()))?;
        // Each rayon thread has its own session; other callers share the
        // first free one.
        let slot = rayon::current_thread_index().unwrap_or(0) % self.sessions.len();
        let mut session = self.sessions[slot]
            .lock()
            .map_err(|_| ClassifierError::msg("a thread panicked while running the model"))?;
        let outputs = session
            .run(ort::inputs![tensor])
            .map_err(|e| ClassifierError::msg(format!("inference failed: {e}")))?;
        if outputs.len() == 0 {
            return Err(ClassifierError::msg("the model has no output"));
        }
        let (shape, values) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| ClassifierError::msg(format!("output is not f32: {e}")))?;
        let shape: Vec<usize> = shape
            .iter()
            .map(|&d| usize::try_from(d).unwrap_or(0))
            .collect();
        self.input
            .scores(&shape, values.iter().copied(), batch.dim().0, padded)
    }
}

impl Classifier for OrtClassifier {
    fn num_classes(&self) -> usize {
        self.classes
    }

    fn predict(
        &self,
        batch: ArrayView4<'_, f32>,
    ) -> std::result::Result<Array2<f32>, ClassifierError> {
        predict_in_batches(&self.input, self.classes, batch, |b, p| self.run(b, p))
    }

    fn preferred_batch_size(&self) -> Option<usize> {
        Some(self.input.batch_size)
    }
}

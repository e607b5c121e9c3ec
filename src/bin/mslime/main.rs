//! `mslime`: multi-scale LIME explanations of an ONNX image classifier from
//! the command line (feature `cli`).
//!
//! ```text
//! mslime explain IMAGE --model M.onnx --out DIR
//! mslime batch DIR|MANIFEST --model M.onnx --out DIR [--shard i/n] [--jobs N]
//! mslime segment IMAGE --n N [--compactness C] --out labels.npy
//! ```

mod batch;
mod claim;
mod job;
mod parse;
mod read;
mod write;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use multiscale_lime::onnx::{ExecutionProvider, InputLayout};
use multiscale_lime::{HideColor, Image, Response, Sampling, Segmenter, Slic};

use crate::parse::{parse_hide_color, parse_provider, parse_rgb, Shard};

#[derive(Debug, Parser)]
#[command(
    name = "mslime",
    version,
    about = "Multi-scale LIME explanations for image classifiers (ONNX models)",
    long_about = "Multi-scale LIME explanations for image classifiers (ONNX models).\n\n\
                  Every image is cut into SLIC superpixels at several scales; each scale gets a \
                  LIME explanation and the per-scale heatmaps are fused with scale weights \
                  (Hajian & Ebrahimi). Results are bit-identical for the same seed whatever the \
                  thread count."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explain one image: heatmaps (PNG and .npy), overlay, panel and explanation.json.
    Explain {
        /// The image (PNG, JPEG or TIFF); its size must be the model's input size.
        image: PathBuf,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        lime: LimeArgs,
        /// Folder for the outputs (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Explain every image of a folder (recursively) or of a manifest file
    /// (one path per line, relative to the manifest's folder). Resumable:
    /// images explained before with the same model and settings are
    /// skipped. Runs over the same --out at once share the work: each
    /// claims an image's folder before explaining it.
    Batch {
        /// A folder of images, or a text file listing them.
        input: PathBuf,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        lime: LimeArgs,
        /// Output folder; each image gets a subfolder named after its path.
        #[arg(long)]
        out: PathBuf,
        /// Process only shard i of n (0 ≤ i < n) of the sorted image list,
        /// e.g. `--shard $SLURM_ARRAY_TASK_ID/16`; the n shards partition it.
        #[arg(long)]
        shard: Option<Shard>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// SLIC superpixel labels of one image as an int64 .npy (same as
    /// `skimage.segmentation.slic(image, n_segments=N, compactness=C, sigma=S, start_label=0)`).
    Segment {
        /// The image (PNG, JPEG or TIFF).
        image: PathBuf,
        /// Desired number of superpixels.
        #[arg(long)]
        n: usize,
        /// SLIC compactness: higher gives more regular, square superpixels.
        #[arg(long, default_value_t = 5.0)]
        compactness: f64,
        /// Gaussian pre-smoothing width in pixels (0: none).
        #[arg(long, default_value_t = 0.0)]
        sigma: f64,
        /// Output .npy file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// The model and how images reach it.
#[derive(Debug, Clone, Args)]
pub(crate) struct ModelArgs {
    /// ONNX model with one f32 image input (N×3×H×W or N×H×W×3) and N×C scores out.
    #[arg(long)]
    pub(crate) model: PathBuf,
    /// Input tensor layout.
    #[arg(long, value_enum, default_value_t = Layout::Nchw)]
    pub(crate) layout: Layout,
    /// Multiplier for pixel values in [0, 1] (255 for models trained on 8-bit values).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) scale: f32,
    /// Per-channel mean subtracted after scaling, as R,G,B.
    #[arg(long, default_value = "0,0,0", value_name = "R,G,B", value_parser = parse_rgb)]
    pub(crate) mean: [f32; 3],
    /// Per-channel standard deviation divided by, as R,G,B.
    #[arg(long, default_value = "1,1,1", value_name = "R,G,B", value_parser = parse_rgb)]
    pub(crate) std: [f32; 3],
    /// Apply a softmax to the model's output (for models that return logits).
    #[arg(long)]
    pub(crate) softmax: bool,
    /// Model runtime: ONNX Runtime (ort), tract (pure Rust), or auto (ort
    /// when its library opens, else tract).
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub(crate) backend: Backend,
    /// ONNX Runtime's shared library (default: $ORT_DYLIB_PATH, else
    /// libonnxruntime on the library search path).
    #[arg(long, value_name = "PATH")]
    pub(crate) ort_library: Option<PathBuf>,
    /// Where ONNX Runtime runs the model: cpu, cuda or cuda:GPU, tensorrt or tensorrt:GPU,
    /// or coreml.
    #[arg(long, default_value = "cpu", value_parser = parse_provider)]
    pub(crate) execution_provider: ExecutionProvider,
    /// Images per model run (default: the runtime's fastest, 1 for tract
    /// and 8 for ONNX Runtime).
    #[arg(long, value_name = "N")]
    pub(crate) model_batch: Option<usize>,
    /// Class names for the report, comma-separated.
    #[arg(long, value_delimiter = ',', num_args = 1)]
    pub(crate) class_names: Option<Vec<String>>,
}

/// Model runtimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
    /// ONNX Runtime when its library opens, else tract (with a hint).
    Auto,
    /// ONNX Runtime (its shared library must be found).
    Ort,
    /// tract, pure Rust.
    Tract,
}

/// Tensor layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Layout {
    /// N×3×H×W (PyTorch).
    Nchw,
    /// N×H×W×3 (TensorFlow).
    Nhwc,
}

impl From<Layout> for InputLayout {
    fn from(l: Layout) -> Self {
        match l {
            Layout::Nchw => InputLayout::Nchw,
            Layout::Nhwc => InputLayout::Nhwc,
        }
    }
}

/// The explanation's settings.
#[derive(Debug, Clone, Args)]
pub(crate) struct LimeArgs {
    /// Desired superpixels per level, coarse to fine.
    #[arg(
        long,
        value_delimiter = ',',
        num_args = 1,
        default_value = "10,25,50,100,200"
    )]
    pub(crate) levels: Vec<usize>,
    /// How the level heatmaps are fused.
    #[arg(long, value_enum, default_value_t = CombinerKind::Trapezoid)]
    pub(crate) combiner: CombinerKind,
    /// Centre of the gaussian combiner on the normalised log scale (0 coarsest, 1 finest).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) gaussian_mean: f64,
    /// Width of the gaussian combiner.
    #[arg(long, default_value_t = 0.5)]
    pub(crate) gaussian_std: f64,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Perturbed samples per actual superpixel at each level (n = m·s').
    #[arg(long, default_value_t = 10)]
    pub(crate) samples_per_segment: usize,
    /// How each level's masks are drawn: independent coins (the paper's),
    /// antithetic pairs, balanced columns or folded orthogonal arrays
    /// (docs/guide.md §4 compares them).
    #[arg(long, value_enum, default_value_t = SamplingKind::Independent)]
    pub(crate) sampling: SamplingKind,
    /// What each level's surrogate regresses: the model's score as it is
    /// (the paper's) or the log-odds ln(p / (1 − p)) of a probability,
    /// which gives as stable a map from far fewer samples for a softmax or
    /// sigmoid model (docs/sampling.md); log-odds need scores in [0, 1].
    #[arg(long, value_enum, default_value_t = ResponseKind::Score)]
    pub(crate) response: ResponseKind,
    /// Fit every level on the model calls of all levels (each pass seen as
    /// the share of each superpixel it left visible), at no extra call.
    #[arg(long)]
    pub(crate) share_passes: bool,
    /// Adaptive sampling: add samples to each level in rounds until its
    /// map's expected seed-to-seed Pearson (read off the standard errors)
    /// reaches P, in (0, 1); --samples-per-segment is then the budget.
    #[arg(long, value_name = "P", conflicts_with_all = ["until_top_k", "share_passes"])]
    pub(crate) until_stability: Option<f64>,
    /// Adaptive sampling: add samples to each level in rounds until its K
    /// top superpixels' 90 % intervals lie above all others'.
    #[arg(long, value_name = "K", conflicts_with = "share_passes")]
    pub(crate) until_top_k: Option<usize>,
    /// Adaptive sampling: samples per superpixel of the first round.
    #[arg(long, value_name = "M", default_value_t = 2)]
    pub(crate) adaptive_start: usize,
    /// Adaptive sampling: samples per superpixel added each round.
    #[arg(long, value_name = "M", default_value_t = 1)]
    pub(crate) adaptive_step: usize,
    /// What hidden superpixels show: black, white, mean (each segment's mean
    /// colour), blur or blur:SIGMA (a blurred copy) or R,G,B with values in 0..=1.
    #[arg(long, default_value = "black", value_parser = parse_hide_color)]
    pub(crate) hide_color: HideColor,
    /// SLIC compactness.
    #[arg(long, default_value_t = 5.0)]
    pub(crate) compactness: f64,
    /// Class to explain (default: the predicted one).
    #[arg(long)]
    pub(crate) class: Option<usize>,
    /// Images per model call (default: about 1 MiB of images, 1 to 64).
    #[arg(long)]
    pub(crate) batch_size: Option<usize>,
    /// Fraction of most salient pixels kept for the explanation-accuracy metric.
    #[arg(long, default_value_t = 0.2)]
    pub(crate) keep_fraction: f64,
    /// Skip the evaluation metrics (saves about 100 model calls per image).
    #[arg(long)]
    pub(crate) no_metrics: bool,
    /// Largest image explained, in pixels (width × height), checked from
    /// the file's header before decoding. Raise it deliberately for larger
    /// images (SLIC needs about 50 bytes per pixel).
    #[arg(long, default_value_t = multiscale_lime::Limits::default().pixels())]
    pub(crate) max_pixels: usize,
    /// What a transparent pixel of an image with alpha shows: its colour as
    /// stored (ignore, with a note), or the colour composited over white or
    /// black.
    #[arg(long, value_enum, default_value_t = Alpha::Ignore)]
    pub(crate) alpha: Alpha,
}

/// How images with an alpha channel are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Alpha {
    /// Drop the alpha channel (a note says so when a pixel is not opaque).
    Ignore,
    /// Composite over white.
    White,
    /// Composite over black.
    Black,
}

/// Decodes `path` as RGB (see [`read::decode`]), printing its notes.
pub(crate) fn read_image(path: &Path, max_pixels: usize, alpha: Alpha) -> Result<Image, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let background = match alpha {
        Alpha::Ignore => None,
        Alpha::White => Some(1.0),
        Alpha::Black => Some(0.0),
    };
    let (image, notes) = read::decode(std::io::BufReader::new(file), max_pixels, background)?;
    for note in notes {
        eprintln!("note: {} {note}", path.display());
    }
    Ok(image)
}

/// Surrogate responses selectable from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ResponseKind {
    /// The score as the model returns it (LIME's and the paper's).
    Score,
    /// The log-odds of a probability.
    LogOdds,
}

impl From<ResponseKind> for Response {
    fn from(kind: ResponseKind) -> Self {
        match kind {
            ResponseKind::Score => Response::Score,
            ResponseKind::LogOdds => Response::LogOdds,
        }
    }
}

/// Sampling designs selectable from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SamplingKind {
    /// Every entry an independent coin (LIME's and the paper's).
    Independent,
    /// Each mask followed by its complement.
    Antithetic,
    /// Each superpixel hidden in exactly half the samples.
    Balanced,
    /// Randomised two-level orthogonal arrays, folded over.
    Orthogonal,
}

impl From<SamplingKind> for Sampling {
    fn from(kind: SamplingKind) -> Self {
        match kind {
            SamplingKind::Independent => Sampling::Independent,
            SamplingKind::Antithetic => Sampling::Antithetic,
            SamplingKind::Balanced => Sampling::Balanced,
            SamplingKind::Orthogonal => Sampling::Orthogonal,
        }
    }
}

/// Combiners selectable from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CombinerKind {
    /// Trapezoid rule over the superpixel counts: fine levels weigh more.
    Trapezoid,
    /// Its inverse: coarse levels weigh more.
    Inverse,
    /// A Gaussian over the normalised log counts (see --gaussian-mean/--gaussian-std).
    Gaussian,
    /// Every level the same.
    Uniform,
    /// Relevance per pixel (coefficient / segment area), averaged over the
    /// levels: a coarse segment that only touches the evidence spreads its
    /// relevance instead of topping the map.
    Density,
}

impl CombinerKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            CombinerKind::Trapezoid => "trapezoid",
            CombinerKind::Inverse => "inverse",
            CombinerKind::Gaussian => "gaussian",
            CombinerKind::Uniform => "uniform",
            CombinerKind::Density => "density",
        }
    }
}

fn segment(image: &Path, n: usize, compactness: f64, sigma: f64, out: &Path) -> Result<(), String> {
    let img = read_image(
        image,
        multiscale_lime::Limits::default().pixels(),
        Alpha::Ignore,
    )
    .map_err(|e| format!("{}: {e}", image.display()))?;
    let slic = Slic::builder()
        .compactness(compactness)
        .sigma(sigma)
        .build()
        .map_err(|e| e.to_string())?;
    let seg = slic.segment(&img, n).map_err(|e| e.to_string())?;
    let labels = seg.labels().mapv(i64::from);
    write::atomically(out, |w| write::npy(w, &labels))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!(
        "{}: {} superpixels (asked for {n}), labels written to {}",
        image.display(),
        seg.count(),
        out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Explain {
            image,
            model,
            lime,
            out,
        } => job::explain_one(&image, &model, &lime, &out),
        Command::Batch {
            input,
            model,
            lime,
            out,
            shard,
            jobs,
        } => batch::run(&input, &model, &lime, &out, shard, jobs),
        Command::Segment {
            image,
            n,
            compactness,
            sigma,
            out,
        } => segment(&image, n, compactness, sigma, &out),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mslime: {message}");
            ExitCode::FAILURE
        }
    }
}

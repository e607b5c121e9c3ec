//! `mslime`: multi-scale LIME explanations of an ONNX image classifier from
//! the command line (feature `cli`).
//!
//! ```text
//! mslime explain IMAGE --model M.onnx --out DIR
//! mslime batch DIR|MANIFEST --model M.onnx --out DIR [--shard i/n] [--jobs N]
//! mslime slide SLIDE --model M.onnx --out DIR [--mpp X] [--explain top:K]
//! mslime report DIR
//! mslime segment IMAGE --n N [--compactness C] --out labels.npy
//! ```

mod batch;
mod claim;
mod config;
mod job;
mod models;
mod page;
mod parse;
mod plan;
mod read;
mod report;
mod slide;
mod slide_figure;
mod slide_store;
mod slide_view;
mod write;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use multiscale_lime::onnx::{ExecutionProvider, InputLayout};
use multiscale_lime::{Config, Image, Segmenter, Slic};

use crate::parse::{parse_provider, parse_rgb, Shard};

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
    /// Explain a whole-slide image (tiled pyramidal TIFF, OME-TIFF, Aperio
    /// SVS): tissue, every tissue tile through the model, the chosen tiles
    /// explained and stitched into slide-level maps; QuPath GeoJSON,
    /// .npy maps, an overview PNG and report.html.
    Slide {
        /// The slide.
        slide: PathBuf,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        lime: LimeArgs,
        #[command(flatten)]
        args: slide::SlideArgs,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write DIR/report.html over every explanation under DIR (explain
    /// and batch write it themselves; this one is for folders merged from
    /// shards or runs on other machines).
    Report {
        /// An output folder of `mslime explain` or `mslime batch`.
        dir: PathBuf,
        /// The page's title (default: the folder's name).
        #[arg(long)]
        title: Option<String>,
    },
    /// SLIC superpixel labels of one image as an int64 .npy (same as
    /// `skimage.segmentation.slic(image, n_segments=N, compactness=C, sigma=S, start_label=0)`).
    Segment {
        /// The image (PNG, JPEG or TIFF).
        image: PathBuf,
        /// Desired number of superpixels.
        #[arg(long)]
        n: usize,
        /// SLIC compactness: higher gives more regular, square superpixels
        /// (the explainer's default).
        #[arg(long, default_value_t = Config::default().compactness)]
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

/// The explanation's settings: the library's [`Config`] (one flag per
/// setting, see `config.rs`) and what the command line adds.
#[derive(Debug, Clone, Args)]
pub(crate) struct LimeArgs {
    #[command(flatten)]
    pub(crate) settings: config::ConfigArgs,
    /// Class to explain (default: the predicted one).
    #[arg(long)]
    pub(crate) class: Option<usize>,
    /// Fraction of most salient pixels kept for the explanation-accuracy metric.
    #[arg(long, default_value_t = 0.2)]
    pub(crate) keep_fraction: f64,
    /// Skip the evaluation metrics (saves about 100 model calls per image).
    #[arg(long)]
    pub(crate) no_metrics: bool,
    /// What a transparent pixel of an image with alpha shows: its colour as
    /// stored (ignore, with a note), or the colour composited over white or
    /// black.
    #[arg(long, value_enum, default_value_t = Transparency::Ignore)]
    pub(crate) transparency: Transparency,
}

impl LimeArgs {
    /// The settings as the library reads them.
    pub(crate) fn config(&self) -> &Config {
        &self.settings.config
    }

    /// Everything here that can change an explanation's outputs, in one
    /// canonical line: the library's canonical settings and the
    /// command line's own.
    pub(crate) fn canonical(&self) -> String {
        format!(
            "{} class={} keep-fraction={} metrics={} transparency={}",
            self.config().canonical(),
            self.class
                .map_or("predicted".to_string(), |c| c.to_string()),
            self.keep_fraction,
            !self.no_metrics,
            self.transparency.name(),
        )
    }
}

/// How images with an alpha channel are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Transparency {
    /// Drop the alpha channel (a note says so when a pixel is not opaque).
    Ignore,
    /// Composite over white.
    White,
    /// Composite over black.
    Black,
}

impl Transparency {
    fn name(self) -> &'static str {
        match self {
            Transparency::Ignore => "ignore",
            Transparency::White => "white",
            Transparency::Black => "black",
        }
    }
}

/// Decodes `path` as RGB (see [`read::decode`]), printing its notes.
pub(crate) fn read_image(
    path: &Path,
    max_pixels: usize,
    transparency: Transparency,
) -> Result<Image, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let background = match transparency {
        Transparency::Ignore => None,
        Transparency::White => Some(1.0),
        Transparency::Black => Some(0.0),
    };
    let (image, notes) = read::decode(std::io::BufReader::new(file), max_pixels, background)?;
    for note in notes {
        eprintln!("note: {} {note}", path.display());
    }
    Ok(image)
}

fn segment(image: &Path, n: usize, compactness: f64, sigma: f64, out: &Path) -> Result<(), String> {
    let img = read_image(
        image,
        multiscale_lime::Limits::default().pixels(),
        Transparency::Ignore,
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

fn report_page(dir: &Path, title: Option<String>) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    let title = title.unwrap_or_else(|| format!("mslime report: {}", dir.display()));
    let index = page::index(dir, &title);
    let count = |field: &str| index[field].as_array().map_or(0, Vec::len);
    let (explained, failed) = (count("entries"), count("failures"));
    if explained + failed == 0 {
        return Err(format!(
            "{} holds no explanation (no explanation.json or failure.json in it or below)",
            dir.display()
        ));
    }
    let path = page::write_index_page(dir, &index).map_err(|e| job::describe(e.as_ref()))?;
    println!(
        "{explained} explanation(s), {failed} failure(s): {}",
        path.display()
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
        Command::Report { dir, title } => report_page(&dir, title),
        Command::Slide {
            slide,
            model,
            lime,
            args,
            out,
        } => slide::run(&slide, &model, &lime, &args, &out),
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

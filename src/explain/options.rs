//! What an explainer is asked to do: which classes, how many samples, how
//! many images per classifier call, and the plain settings they form.

use super::{Limits, Response, Schedule};
use crate::combine::Fusion;
use crate::error::{Error, Result};
use crate::heatmap::Normalization;

/// Which classes to explain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// The class with the highest score on the original image.
    #[default]
    Predicted,
    /// One given class.
    Class(usize),
    /// The `k` highest-scoring classes, explained from one set of forward
    /// passes (ties: lower class index first).
    TopLabels(usize),
}

impl Target {
    /// Checks the target against a classifier with `classes` classes.
    pub(super) fn check(self, classes: usize) -> Result<()> {
        if classes == 0 {
            return Err(Error::invalid(
                "num_classes",
                0,
                "a classifier with at least 1 class",
            ));
        }
        match self {
            Target::Class(c) if c >= classes => Err(Error::Target {
                what: "class",
                value: c,
                classes,
            }),
            Target::TopLabels(k) if k == 0 || k > classes => Err(Error::Target {
                what: "top labels",
                value: k,
                classes,
            }),
            _ => Ok(()),
        }
    }
}

/// How many perturbed samples each level draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SampleCount {
    /// `n = per_segment · s'` (the paper: 10 · s').
    PerSegment(usize),
    /// The same `n` at every level.
    Fixed(usize),
}

impl SampleCount {
    /// Samples for a level of `segments` segments.
    pub(crate) fn for_segments(self, segments: usize) -> usize {
        match self {
            SampleCount::PerSegment(m) => m.saturating_mul(segments),
            SampleCount::Fixed(n) => n,
        }
    }
}

/// How many perturbed images go to the classifier per call.
///
/// The explainer renders a batch, hands it to the classifier, and reuses the
/// buffer for the next batch. With a cheap classifier, an explanation costs
/// mostly memory traffic, which is lowest when a batch (plus the image)
/// stays in the CPU cache; [`Auto`](BatchSize::Auto) sizes batches for that.
/// A classifier that runs fastest in batches of its own size says so with
/// [`Classifier::preferred_batch_size`](crate::Classifier::preferred_batch_size),
/// and `Auto` rounds to a multiple of it (the ONNX classifiers do). A model
/// on an accelerator usually wants [`Fixed`](BatchSize::Fixed) batches as
/// large as its memory allows.
///
/// ```
/// use multiscale_lime::BatchSize;
///
/// assert_eq!(BatchSize::Auto.images(96, 96), 9); // 108 KiB per image
/// assert_eq!(BatchSize::Auto.images(512, 512), 1); // 3 MiB per image
/// assert_eq!(BatchSize::Auto.images(8, 8), 64);
/// assert_eq!(BatchSize::Fixed(10).images(512, 512), 10);
/// assert_eq!(BatchSize::from(10), BatchSize::Fixed(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BatchSize {
    /// As many `H×W×3` `f32` images as fit in [`BatchSize::AUTO_BYTES`],
    /// at least 1 and at most [`BatchSize::AUTO_MAX`] (the default).
    #[default]
    Auto,
    /// Exactly this many images per call (a level's last batch may be
    /// smaller); must be ≥ 1.
    Fixed(usize),
}

impl BatchSize {
    /// Bytes of images per automatic batch: 1 MiB, which with the image
    /// itself stays within a core's share of a typical L2/L3 cache.
    pub const AUTO_BYTES: usize = 1 << 20;
    /// Most images per automatic batch.
    pub const AUTO_MAX: usize = 64;

    /// Images per classifier call for an image of `height × width` pixels.
    pub fn images(self, height: usize, width: usize) -> usize {
        match self {
            BatchSize::Fixed(n) => n,
            BatchSize::Auto => {
                let bytes = height
                    .saturating_mul(width)
                    .saturating_mul(3 * std::mem::size_of::<f32>());
                (Self::AUTO_BYTES / bytes.max(1)).clamp(1, Self::AUTO_MAX)
            }
        }
    }
}

impl BatchSize {
    /// Images per call for a classifier that prefers `preferred` images per
    /// run ([`Classifier::preferred_batch_size`](crate::Classifier::preferred_batch_size)):
    /// `Auto` becomes the largest multiple of `preferred` within
    /// [`AUTO_BYTES`](Self::AUTO_BYTES) (at least `preferred`); `Fixed`
    /// stays as asked.
    ///
    /// ```
    /// use multiscale_lime::BatchSize;
    ///
    /// assert_eq!(BatchSize::Auto.images_for(96, 96, Some(4)), 8);
    /// assert_eq!(BatchSize::Auto.images_for(96, 96, Some(16)), 16);
    /// assert_eq!(BatchSize::Fixed(5).images_for(96, 96, Some(16)), 5);
    /// ```
    pub fn images_for(self, height: usize, width: usize, preferred: Option<usize>) -> usize {
        let auto = self.images(height, width);
        match (self, preferred) {
            (BatchSize::Auto, Some(p)) if p > 0 => p.saturating_mul((auto / p).max(1)),
            _ => auto,
        }
    }
}

impl std::fmt::Display for BatchSize {
    /// `auto` or the number of images.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchSize::Auto => f.write_str("auto"),
            BatchSize::Fixed(n) => write!(f, "{n}"),
        }
    }
}

impl std::str::FromStr for BatchSize {
    type Err = Error;

    /// `auto` or a number of images ≥ 1.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "auto" => Ok(BatchSize::Auto),
            t => t
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .map(BatchSize::Fixed)
                .ok_or_else(|| Error::invalid("batch_size", s, "auto or a number ≥ 1")),
        }
    }
}

impl From<usize> for BatchSize {
    fn from(n: usize) -> Self {
        BatchSize::Fixed(n)
    }
}

/// The explainer's plain settings (everything but its three components).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub(crate) levels: Vec<usize>,
    pub(crate) samples: SampleCount,
    pub(crate) kernel_width: f64,
    pub(crate) batch_size: BatchSize,
    pub(crate) seed: u64,
    pub(crate) normalization: Normalization,
    pub(crate) limits: Limits,
    pub(crate) schedule: Schedule,
    pub(crate) response: Response,
    pub(crate) fusion: Fusion,
}

impl Settings {
    /// The checks of [`MultiScaleLimeBuilder::build`](crate::MultiScaleLimeBuilder::build).
    pub(crate) fn validate(&self) -> Result<()> {
        if self.levels.is_empty() || self.levels.contains(&0) {
            return Err(Error::invalid(
                "levels",
                format!("{:?}", self.levels),
                "at least one level, each asking for ≥ 1 segment",
            ));
        }
        let n = match self.samples {
            SampleCount::PerSegment(m) | SampleCount::Fixed(m) => m,
        };
        if n < 2 {
            return Err(Error::invalid("samples", n, "at least 2"));
        }
        if !(self.kernel_width.is_finite() && self.kernel_width > 0.0) {
            return Err(Error::invalid(
                "kernel_width",
                self.kernel_width,
                "a finite value > 0",
            ));
        }
        if self.batch_size == BatchSize::Fixed(0) {
            return Err(Error::invalid("batch_size", 0, "at least 1"));
        }
        self.fusion.validate(self.levels.len())?;
        self.limits.validate()?;
        for &level in &self.levels {
            self.limits.check_segments(level)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::BatchSize;

    #[test]
    fn auto_batches_round_to_the_classifier_preference() {
        // 96² images: 9 fit in AUTO_BYTES.
        assert_eq!(BatchSize::Auto.images_for(96, 96, None), 9);
        assert_eq!(BatchSize::Auto.images_for(96, 96, Some(1)), 9);
        assert_eq!(BatchSize::Auto.images_for(96, 96, Some(4)), 8);
        assert_eq!(BatchSize::Auto.images_for(96, 96, Some(16)), 16);
        assert_eq!(BatchSize::Auto.images_for(512, 512, Some(4)), 4);
        // A size asked for is kept, and a nonsense preference is ignored.
        assert_eq!(BatchSize::Fixed(5).images_for(96, 96, Some(16)), 5);
        assert_eq!(BatchSize::Auto.images_for(96, 96, Some(0)), 9);
    }
}

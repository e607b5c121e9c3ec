//! [`Limits`]: the bounds that keep an explanation's memory predictable,
//! checked before anything large is allocated.

use crate::error::{Error, Result};

/// Upper bounds on what one explanation may allocate, checked before the
/// allocation: an image's pixels, a level's segments, a level's mask
/// entries (samples × segments) and one batch buffer's bytes. An input over
/// a bound is an [`Error::LimitExceeded`] naming the value and the bound,
/// never an out-of-memory abort. The defaults admit a 4096² image with the
/// paper's settings; raise a bound deliberately for larger work.
///
/// | bound | default | what it bounds |
/// |---|---|---|
/// | `max_pixels` | 4096² (16,777,216) | SLIC's working set, about 50 bytes per pixel |
/// | `max_segments` | 4096 | the surrogate's `K × K` normal equations (128 MiB at the bound) |
/// | `max_mask_entries` | 2²⁸ | samples × segments per level: masks (1 byte each) and the ridge's design matrix (4 bytes each) |
/// | `max_batch_bytes` | 1 GiB | one batch buffer of perturbed images, `images × H × W × 12` bytes (one per worker thread) |
///
/// ```
/// use multiscale_lime::{Limits, MultiScaleLime};
///
/// let lime = MultiScaleLime::builder()
///     .limits(Limits::default().max_pixels(8192 * 8192))
///     .build()?;
/// assert_eq!(lime.limits().pixels(), 8192 * 8192);
/// assert!(MultiScaleLime::builder().limits(Limits::default().max_segments(0)).build().is_err());
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pixels: usize,
    segments: usize,
    mask_entries: usize,
    batch_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            pixels: 4096 * 4096,
            segments: 4096,
            mask_entries: 1 << 28,
            batch_bytes: 1 << 30,
        }
    }
}

impl Limits {
    /// Most pixels an explained image may have.
    #[must_use]
    pub fn max_pixels(mut self, pixels: usize) -> Self {
        self.pixels = pixels;
        self
    }
    /// Most segments one level may have (desired and actual).
    #[must_use]
    pub fn max_segments(mut self, segments: usize) -> Self {
        self.segments = segments;
        self
    }
    /// Most mask entries (samples × segments) one level may draw.
    #[must_use]
    pub fn max_mask_entries(mut self, entries: usize) -> Self {
        self.mask_entries = entries;
        self
    }
    /// Most bytes one batch buffer of perturbed images may take.
    #[must_use]
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes;
        self
    }

    /// The pixel bound.
    pub fn pixels(&self) -> usize {
        self.pixels
    }
    /// The segment bound.
    pub fn segments(&self) -> usize {
        self.segments
    }
    /// The mask-entry bound.
    pub fn mask_entries(&self) -> usize {
        self.mask_entries
    }
    /// The batch-buffer bound, in bytes.
    pub fn batch_bytes(&self) -> usize {
        self.batch_bytes
    }

    /// Every bound at least 1.
    pub(crate) fn validate(&self) -> Result<()> {
        for (name, value) in [
            ("max_pixels", self.pixels),
            ("max_segments", self.segments),
            ("max_mask_entries", self.mask_entries),
            ("max_batch_bytes", self.batch_bytes),
        ] {
            if value == 0 {
                return Err(Error::invalid(name, 0, "at least 1"));
            }
        }
        Ok(())
    }

    pub(crate) fn check_pixels(&self, pixels: usize) -> Result<()> {
        exceeded("image pixels", pixels, self.pixels, "max_pixels")
    }

    pub(crate) fn check_segments(&self, segments: usize) -> Result<()> {
        exceeded(
            "segments of a level",
            segments,
            self.segments,
            "max_segments",
        )
    }

    /// `samples × segments`, computed without overflow.
    pub(crate) fn check_masks(&self, samples: usize, segments: usize) -> Result<()> {
        let entries = samples.saturating_mul(segments);
        exceeded(
            "mask entries of a level (samples × segments)",
            entries,
            self.mask_entries,
            "max_mask_entries",
        )
    }

    /// `images × H × W × 3 × 4` bytes, computed without overflow.
    pub(crate) fn check_batch(&self, images: usize, height: usize, width: usize) -> Result<()> {
        let bytes = images
            .saturating_mul(height)
            .saturating_mul(width)
            .saturating_mul(3 * std::mem::size_of::<f32>());
        exceeded(
            "bytes of a batch buffer",
            bytes,
            self.batch_bytes,
            "max_batch_bytes",
        )
    }
}

fn exceeded(what: &'static str, value: usize, limit: usize, setting: &'static str) -> Result<()> {
    if value <= limit {
        return Ok(());
    }
    Err(Error::LimitExceeded {
        what,
        value,
        limit,
        setting,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_overflow_free() {
        let limits = Limits::default()
            .max_pixels(100)
            .max_segments(10)
            .max_mask_entries(1000)
            .max_batch_bytes(1200);
        assert!(limits.check_pixels(100).is_ok());
        assert!(matches!(
            limits.check_pixels(101),
            Err(Error::LimitExceeded {
                value: 101,
                limit: 100,
                setting: "max_pixels",
                ..
            })
        ));
        assert!(limits.check_segments(10).is_ok() && limits.check_segments(11).is_err());
        assert!(limits.check_masks(100, 10).is_ok());
        assert!(limits.check_masks(101, 10).is_err());
        assert!(matches!(
            limits.check_masks(usize::MAX, 3),
            Err(Error::LimitExceeded {
                value: usize::MAX,
                ..
            })
        ));
        assert!(limits.check_batch(1, 10, 10).is_ok()); // 1200 bytes
        assert!(limits.check_batch(2, 10, 10).is_err());
        assert!(limits.check_batch(usize::MAX, usize::MAX, 2).is_err());
        let message = limits.check_pixels(101).unwrap_err().to_string();
        assert!(
            message.contains("101") && message.contains("100") && message.contains("max_pixels")
        );
        assert!(Limits::default().validate().is_ok());
        assert!(Limits::default().max_batch_bytes(0).validate().is_err());
    }
}

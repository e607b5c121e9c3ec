//! Whole-slide images (feature `slide`): a [`Slide`] is a pyramid of
//! levels, each the slide at a lower resolution, read a region at a time
//! so that a slide of any size is never held in memory.
//!
//! The way from a slide to a model's view of it: [`detect_tissue`] on a
//! [`thumbnail`], the [`tiles`] a [`TileSpec`] cuts where there is tissue
//! (at a level or a resolution), [`read_tile`], and [`predict_tiles`]: the
//! model over every tile, decoding ahead of it. Explanations of chosen
//! tiles are stitched into slide-level maps ([`SlideMap`],
//! [`pixel_uncertainty`]) and exported for QuPath ([`tile_features`],
//! [`superpixel_features`], [`feature_collection`]) and as pyramidal
//! OME-TIFF for QuPath and napari ([`write_ome_tiff`]).
//!
//! [`TiffSlide`] reads tiled pyramidal TIFF in pure Rust: generic pyramids
//! with levels as pages (Camelyon16's, `vips tiffsave --pyramid`), OME-TIFF
//! with levels as SubIFDs, Aperio SVS (JPEG tiles with shared JPEG tables),
//! BigTIFF; JPEG (RGB or YCbCr), deflate, LZW or no compression.
//! With the feature `openslide`, [`OpenSlide`] reads every format
//! OpenSlide does (NDPI, MIRAX, SCN, …) through its C library, opened at
//! run time.
//!
//! ```no_run
//! use multiscale_lime::slide::{Slide, TiffSlide};
//!
//! let slide = TiffSlide::open("CMU-1-Small-Region.svs")?;
//! let level0 = slide.levels()[0];
//! println!("{}×{} px at {:?} µm/px", level0.width, level0.height, slide.properties().mpp);
//! // 224×224 pixels of level 0 at (1000, 800), in level-0 coordinates.
//! let patch = slide.read_region(0, 1000, 800, 224, 224)?;
//! assert_eq!(patch.dimensions(), (224, 224));
//! # Ok::<(), multiscale_lime::Error>(())
//! ```

mod geojson;
mod ome_tiff;
#[cfg(feature = "openslide")]
mod openslide;
mod predict;
mod stitch;
mod tiff;
mod tiles;

pub use self::geojson::{
    feature_collection, outlines, superpixel_features, tile_features, Polygon,
};
pub use self::ome_tiff::{write_ome_tiff, OME_TIFF_TILE};
#[cfg(feature = "openslide")]
#[cfg_attr(docsrs, doc(cfg(feature = "openslide")))]
pub use self::openslide::OpenSlide;
pub use self::predict::{predict_tiles, PredictionMap};
pub use self::stitch::{pixel_uncertainty, SlideMap};
pub use self::tiff::{TiffSlide, DEFAULT_TILE_CACHE};
pub use self::tiles::{
    detect_tissue, otsu, read_tile, thumbnail, tiles, SlideTile, TileSpec, TissueMask, MAX_TILES,
};

use image::RgbImage;

use crate::error::{Error, Result};

/// The most pixels one [`Slide::read_region`] returns (64 Mpx, 192 MB):
/// a region is a tile or a thumbnail, never a whole level 0.
pub const MAX_REGION_PIXELS: u64 = 1 << 26;

/// One level of a slide's pyramid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlideLevel {
    /// Width in this level's pixels.
    pub width: u64,
    /// Height in this level's pixels.
    pub height: u64,
    /// Level-0 pixels per pixel of this level (1 for level 0), the mean of
    /// the width and height ratios, as OpenSlide reports it.
    pub downsample: f64,
}

/// What a slide says about itself.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SlideProperties {
    /// Micrometres per level-0 pixel, horizontally and vertically, when
    /// the file records it.
    pub mpp: Option<(f64, f64)>,
    /// The scanner's objective magnification (e.g. 20 or 40), when
    /// recorded.
    pub objective_power: Option<f64>,
    /// The file format, e.g. `"aperio"`, `"ome-tiff"`, `"generic-tiff"`.
    pub vendor: &'static str,
    /// The rectangle of level 0 that holds image data, where the format
    /// records one (OpenSlide's `openslide.bounds-*` properties, e.g. of
    /// MIRAX and Leica slides); `None` where the whole level is image
    /// ([`TiffSlide`] always).
    pub bounds: Option<SlideBounds>,
}

/// A rectangle of level 0 in level-0 pixels: where a slide holds image
/// data ([`SlideProperties::bounds`]); outside it there was nothing
/// scanned (OpenSlide reads it as transparent: white here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlideBounds {
    /// Left edge, level-0 pixels (as [`Slide::read_region`] takes them).
    pub x: i64,
    /// Top edge, level-0 pixels.
    pub y: i64,
    /// Width in level-0 pixels.
    pub width: u64,
    /// Height in level-0 pixels.
    pub height: u64,
}

/// A whole-slide image: a pyramid of levels read a region at a time.
///
/// Implementations are shared between threads: tiles of one slide are read
/// and decoded in parallel.
pub trait Slide: Send + Sync {
    /// The levels, level 0 (full resolution) first, each smaller; never
    /// empty.
    fn levels(&self) -> &[SlideLevel];

    /// Resolution, magnification and format.
    fn properties(&self) -> &SlideProperties;

    /// The `width`×`height` pixels of `level` whose top-left corner is
    /// `(x, y)` in **level-0** coordinates (OpenSlide's convention), as
    /// RGB. Pixels outside the level are white (a slide's background).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a level that does not exist or a
    /// region of no pixels or over [`MAX_REGION_PIXELS`]; [`Error::Slide`]
    /// when the file cannot be read or decoded (naming the file and why).
    fn read_region(
        &self,
        level: usize,
        x: i64,
        y: i64,
        width: u32,
        height: u32,
    ) -> Result<RgbImage>;

    /// The level to read for a downsample of `downsample` level-0 pixels
    /// per pixel: the finest level no finer than asked (OpenSlide's rule),
    /// level 0 for a downsample of 1 or less.
    fn best_level_for_downsample(&self, downsample: f64) -> usize {
        let levels = self.levels();
        // A little slack: a 2.0000001 level serves a request for 2.
        (0..levels.len())
            .rev()
            .find(|&l| levels[l].downsample <= downsample * (1.0 + 1e-6))
            .unwrap_or(0)
    }
}

/// Level 0 of `slide`, or an error for an implementation with no levels.
pub(crate) fn level0(slide: &dyn Slide) -> Result<SlideLevel> {
    slide
        .levels()
        .first()
        .copied()
        .ok_or_else(|| Error::inconsistent("slide", "the slide has no levels"))
}

/// Checks a region request against the slide's levels.
pub(crate) fn check_region(
    levels: &[SlideLevel],
    level: usize,
    width: u32,
    height: u32,
) -> Result<()> {
    if level >= levels.len() {
        return Err(Error::invalid(
            "level",
            level,
            "a level of the slide (see Slide::levels)",
        ));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 || pixels > MAX_REGION_PIXELS {
        return Err(Error::invalid(
            "region",
            format!("{width}×{height}"),
            "1 to 67108864 pixels (read large areas as tiles)",
        ));
    }
    Ok(())
}

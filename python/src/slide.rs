//! Whole-slide images: `Slide` (the crate's `TiffSlide` or `OpenSlide`
//! behind one class), `TissueMask`, and the functions after scoring:
//! `stitch` (per-tile maps into one slide map), `write_ome_tiff` and
//! `qupath_geojson`.
//!
//! Tiles cross the boundary as rows of integers `(x, y, width, height,
//! col, row)` in level-0 pixels, as `Slide.tiles` returns them (an
//! `int64` array, the crate's order); a tile's spec (its size and
//! resolution) is passed again with the same keywords where it is read.
//! Reads run with the GIL released; `predict_tiles` calls the model with
//! it held, as `explain` does (`model.rs`).

use std::fmt::Display;
use std::path::{Path, PathBuf};

use multiscale_lime::ndarray::Array2;
use multiscale_lime::slide::{
    detect_tissue, feature_collection, predict_tiles, read_tile, superpixel_features, thumbnail,
    tile_features, tiles, OpenSlide, Slide, SlideLevel, SlideMap, SlideTile, TiffSlide, TileSpec,
    TissueMask,
};
use multiscale_lime::Image;
use numpy::{IntoPyArray, PyArray2, PyArray3};
use pyo3::prelude::*;

use crate::array;
use crate::error::IntoPy;
use crate::explainer::PyExplanation;
use crate::model::{run_detached, PyModel};

/// `invalid parameter `name`: got value, expected …`, as the crate words it.
fn bad(name: &str, value: impl Display, expected: &str) -> PyErr {
    crate::error::invalid(format!(
        "invalid parameter `{name}`: got {value}, expected {expected}"
    ))
}

/// An integer argument as `T`, or an error naming it.
fn int<T: TryFrom<i64>>(name: &str, value: i64, expected: &str) -> PyResult<T> {
    T::try_from(value).map_err(|_| bad(name, value, expected))
}

/// A positive integer or a `(width, height)` pair of them.
fn pair(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<(u32, u32)> {
    let expected = "a positive int or a (width, height) pair of them";
    let shown = || obj.repr().map(|r| r.to_string()).unwrap_or_default();
    let (w, h) = match obj.extract::<i64>() {
        Ok(v) => (v, v),
        Err(_) => obj
            .extract::<(i64, i64)>()
            .map_err(|_| bad(name, shown(), expected))?,
    };
    let side = |v: i64| u32::try_from(v).ok().filter(|&v| v > 0);
    match (side(w), side(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(bad(name, shown(), expected)),
    }
}

/// One tile from `(x, y, width, height[, col, row])`.
fn tile_of(row: &[i64], what: &str) -> PyResult<SlideTile> {
    let expected = "(x, y, width, height[, col, row]) with width, height ≥ 1 and col, row ≥ 0";
    let fail = || bad(what, format!("{row:?}"), expected);
    let (x, y, w, h) = match row {
        [x, y, w, h, ..] if row.len() == 4 || row.len() == 6 => (*x, *y, *w, *h),
        _ => return Err(fail()),
    };
    let (col, grid_row) = match row {
        [.., c, r] if row.len() == 6 => (*c, *r),
        _ => (0, 0),
    };
    let extent = |v: i64| u64::try_from(v).ok().filter(|&v| v > 0);
    let grid = |v: i64| u32::try_from(v).ok();
    match (extent(w), extent(h), grid(col), grid(grid_row)) {
        (Some(width), Some(height), Some(c), Some(r)) => Ok(SlideTile {
            x,
            y,
            width,
            height,
            grid: (c, r),
            tissue: f64::NAN,
        }),
        _ => Err(fail()),
    }
}

/// Tiles from an `N×6` (or `N×4`) integer array, as `Slide.tiles` gives.
fn tile_rows(obj: &Bound<'_, PyAny>) -> PyResult<Vec<SlideTile>> {
    let rows = array::int_rows(obj, "tiles", &[6, 4])?;
    rows.rows()
        .into_iter()
        .enumerate()
        .map(|(i, r)| tile_of(&r.to_vec(), &format!("tiles[{i}]")))
        .collect()
}

/// One tile given as a sequence of 4 or 6 integers.
fn one_tile(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<SlideTile> {
    let row: Vec<i64> = obj.extract().map_err(|_| {
        let shown = obj.repr().map(|r| r.to_string()).unwrap_or_default();
        bad(what, shown, "(x, y, width, height[, col, row]) integers")
    })?;
    tile_of(&row, what)
}

/// Tiles as rows `(x, y, width, height, col, row)`, `int64`.
fn tiles_array(tiles: &[SlideTile]) -> Array2<i64> {
    Array2::from_shape_fn((tiles.len(), 6), |(i, c)| {
        let t = &tiles[i];
        match c {
            0 => t.x,
            1 => t.y,
            2 => t.width as i64,
            3 => t.height as i64,
            4 => i64::from(t.grid.0),
            _ => i64::from(t.grid.1),
        }
    })
}

fn open(path: &Path, reader: &str) -> multiscale_lime::Result<Box<dyn Slide>> {
    Ok(match reader {
        "openslide" => Box::new(OpenSlide::open(path)?),
        _ => Box::new(TiffSlide::open(path)?),
    })
}

/// A whole-slide image: a pyramid of levels, read a region at a time.
///
/// ``reader="tiff"`` (default) reads tiled pyramidal TIFF in pure Rust
/// (generic pyramids, OME-TIFF, Aperio SVS, BigTIFF); ``"openslide"``
/// every format OpenSlide reads, through OpenSlide's C library, opened at
/// run time (``OPENSLIDE_DYLIB_PATH`` names it, else the system's is
/// looked for). Coordinates are level-0 pixels, whatever the level
/// (OpenSlide's convention); outside the slide reads as white. A file that
/// cannot be read is a ``SlideError`` naming it and why.
#[pyclass(name = "Slide", module = "multiscale_lime", frozen)]
pub(crate) struct PySlide {
    slide: Box<dyn Slide>,
    path: PathBuf,
    reader: &'static str,
}

impl PySlide {
    fn level0(&self) -> PyResult<SlideLevel> {
        self.slide
            .levels()
            .first()
            .copied()
            .ok_or_else(|| crate::error::invalid("the slide has no levels"))
    }

    /// The tile spec of the keywords `tiles`, `read_tile` and
    /// `predict_tiles` share.
    fn spec(
        &self,
        size: &Bound<'_, PyAny>,
        mpp: Option<f64>,
        downsample: Option<f64>,
        stride: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TileSpec> {
        let mut spec = TileSpec::new(pair("size", size)?);
        match (mpp, downsample) {
            (Some(_), Some(_)) => {
                return Err(crate::error::invalid("give mpp or downsample, not both"))
            }
            (Some(mpp), None) => {
                let own = self.slide.properties().mpp.ok_or_else(|| {
                    bad(
                        "mpp",
                        mpp,
                        "no mpp for this slide: it records no resolution (µm per pixel); pass downsample instead",
                    )
                })?;
                spec = spec.at_mpp(mpp, own.0).py_err()?;
            }
            (None, Some(d)) if !(d.is_finite() && d >= 1.0) => {
                return Err(bad("downsample", d, "finite and ≥ 1"))
            }
            (None, Some(d)) => spec.downsample = d,
            (None, None) => {}
        }
        if let Some(stride) = stride {
            spec.stride = pair("stride", stride)?;
        }
        Ok(spec)
    }
}

#[pymethods]
impl PySlide {
    #[new]
    #[pyo3(signature = (path, reader = "tiff"))]
    fn new(py: Python<'_>, path: PathBuf, reader: &str) -> PyResult<Self> {
        let reader = match reader {
            "tiff" => "tiff",
            "openslide" => "openslide",
            other => return Err(bad("reader", format!("'{other}'"), "'tiff' or 'openslide'")),
        };
        let slide = py.detach(|| open(&path, reader)).py_err()?;
        Ok(PySlide {
            slide,
            path,
            reader,
        })
    }

    /// The file, as given.
    #[getter]
    fn path(&self) -> String {
        self.path.display().to_string()
    }

    /// ``"tiff"`` or ``"openslide"``.
    #[getter]
    fn reader(&self) -> &'static str {
        self.reader
    }

    /// The levels, level 0 (full resolution) first: ``(width, height,
    /// downsample)``, the downsample in level-0 pixels per pixel.
    #[getter]
    fn levels(&self) -> Vec<(u64, u64, f64)> {
        self.slide
            .levels()
            .iter()
            .map(|l| (l.width, l.height, l.downsample))
            .collect()
    }

    /// Micrometres per level-0 pixel ``(x, y)``, or ``None`` when the file
    /// records none.
    #[getter]
    fn mpp(&self) -> Option<(f64, f64)> {
        self.slide.properties().mpp
    }

    /// The objective's magnification (e.g. 20.0), or ``None``.
    #[getter]
    fn objective_power(&self) -> Option<f64> {
        self.slide.properties().objective_power
    }

    /// The format, e.g. ``"aperio"``, ``"ome-tiff"``, ``"generic-tiff"``.
    #[getter]
    fn vendor(&self) -> &'static str {
        self.slide.properties().vendor
    }

    /// The level-0 rectangle ``(x, y, width, height)`` that holds image
    /// data, where the format records one (OpenSlide's bounds of MIRAX,
    /// Leica …); ``None`` where the whole level is image.
    #[getter]
    fn bounds(&self) -> Option<(i64, i64, u64, u64)> {
        self.slide
            .properties()
            .bounds
            .map(|b| (b.x, b.y, b.width, b.height))
    }

    /// The level to read for ``downsample`` level-0 pixels per pixel: the
    /// finest no finer than asked (OpenSlide's rule).
    fn best_level_for_downsample(&self, downsample: f64) -> usize {
        self.slide.best_level_for_downsample(downsample)
    }

    /// The ``width``×``height`` pixels of ``level`` whose top-left corner
    /// is ``(x, y)`` in **level-0** pixels, as an ``H×W×3`` ``uint8``
    /// array; white outside the level. At most 64 Mpx at once.
    fn read_region<'py>(
        &self,
        py: Python<'py>,
        level: i64,
        x: i64,
        y: i64,
        width: i64,
        height: i64,
    ) -> PyResult<Bound<'py, PyArray3<u8>>> {
        let level = int::<usize>("level", level, "a level of the slide (see Slide.levels)")?;
        let width = int::<u32>("width", width, "1 to 67108864 pixels in all")?;
        let height = int::<u32>("height", height, "1 to 67108864 pixels in all")?;
        let rgb = py
            .detach(|| self.slide.read_region(level, x, y, width, height))
            .py_err()?;
        array::rgb8(py, rgb)
    }

    /// The slide shrunk so that its longer side is at most ``max_side``
    /// pixels (16 to 8192), box-averaged from the coarsest useful level:
    /// ``(H×W×3 uint8, downsample)``, the downsample in level-0 pixels per
    /// thumbnail pixel.
    #[pyo3(signature = (max_side = 2048))]
    fn thumbnail<'py>(
        &self,
        py: Python<'py>,
        max_side: i64,
    ) -> PyResult<(Bound<'py, PyArray3<u8>>, f64)> {
        let max_side = int::<u32>("max_side", max_side, "16 to 8192 pixels")?;
        let (rgb, downsample) = py.detach(|| thumbnail(&*self.slide, max_side)).py_err()?;
        Ok((array::rgb8(py, rgb)?, downsample))
    }

    /// Tissue on a thumbnail of at most ``max_side`` pixels: pixels darker
    /// than Otsu's threshold of its luminance.
    #[pyo3(signature = (max_side = 2048))]
    fn detect_tissue(&self, py: Python<'_>, max_side: i64) -> PyResult<PyTissueMask> {
        let max_side = int::<u32>("max_side", max_side, "16 to 8192 pixels")?;
        let mask = py
            .detach(|| detect_tissue(&*self.slide, max_side))
            .py_err()?;
        Ok(PyTissueMask(mask))
    }

    /// The grid of tiles of ``size`` pixels (an int or ``(width,
    /// height)``) at ``mpp`` µm per pixel or ``downsample`` level-0 pixels
    /// per pixel (default level 0), ``stride`` tile pixels apart (default
    /// ``size``: edge to edge), kept where at least ``min_tissue`` of the
    /// tile is tissue on ``mask`` (default: ``detect_tissue(max_side)``).
    /// An ``N×6`` ``int64`` array of rows ``(x, y, width, height, col,
    /// row)`` in level-0 pixels, in bands of columns each in rows (the
    /// crate's order, which reads each stored tile about once).
    #[pyo3(signature = (size, *, mpp = None, downsample = None, stride = None, min_tissue = 0.5, max_side = 2048, mask = None))]
    #[allow(clippy::too_many_arguments)]
    fn tiles<'py>(
        &self,
        py: Python<'py>,
        size: &Bound<'py, PyAny>,
        mpp: Option<f64>,
        downsample: Option<f64>,
        stride: Option<&Bound<'py, PyAny>>,
        min_tissue: f64,
        max_side: i64,
        mask: Option<&Bound<'py, PyTissueMask>>,
    ) -> PyResult<Bound<'py, PyArray2<i64>>> {
        let mut spec = self.spec(size, mpp, downsample, stride)?;
        spec.min_tissue = min_tissue;
        let max_side = int::<u32>("max_side", max_side, "16 to 8192 pixels")?;
        let given = mask.map(|m| &m.get().0);
        let grid = py
            .detach(|| match given {
                Some(mask) => tiles(&*self.slide, mask, &spec),
                None => tiles(&*self.slide, &detect_tissue(&*self.slide, max_side)?, &spec),
            })
            .py_err()?;
        Ok(tiles_array(&grid).into_pyarray(py))
    }

    /// The pixels of ``tile`` (a row of ``tiles``) as the model reads them,
    /// ``size`` pixels (``H×W×3`` ``uint8``): read from the finest level no
    /// finer than the tiles' resolution, resampled (bilinear) when no
    /// level has it. ``size``, ``mpp`` and ``downsample`` as given to
    /// ``tiles``.
    #[pyo3(signature = (tile, size, *, mpp = None, downsample = None))]
    fn read_tile<'py>(
        &self,
        py: Python<'py>,
        tile: &Bound<'py, PyAny>,
        size: &Bound<'py, PyAny>,
        mpp: Option<f64>,
        downsample: Option<f64>,
    ) -> PyResult<Bound<'py, PyArray3<u8>>> {
        let spec = self.spec(size, mpp, downsample, None)?;
        let tile = one_tile(tile, "tile")?;
        let rgb = py
            .detach(|| read_tile(&*self.slide, &tile, &spec))
            .py_err()?;
        array::rgb8(py, rgb)
    }

    /// ``model``'s scores of every tile, ``N×C`` ``float32`` in the order
    /// of ``tiles``: ``batch`` tiles (1 to 4096) per call of ``model``
    /// (``N×H×W×3`` ``float32`` in ``[0, 1]`` → ``N×C``, as ``explain``
    /// takes it), the next batch decoded while the model runs. The model
    /// is called on the first tile alone first, to learn ``C``. No tiles:
    /// a ``(0, 0)`` array, the model not called. ``size``, ``mpp`` and
    /// ``downsample`` as given to ``tiles``.
    #[pyo3(signature = (model, tiles, size, *, mpp = None, downsample = None, batch = 32))]
    #[allow(clippy::too_many_arguments)]
    fn predict_tiles<'py>(
        &self,
        py: Python<'py>,
        model: &Bound<'py, PyAny>,
        tiles: &Bound<'py, PyAny>,
        size: &Bound<'py, PyAny>,
        mpp: Option<f64>,
        downsample: Option<f64>,
        batch: i64,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let spec = self.spec(size, mpp, downsample, None)?;
        let tiles = tile_rows(tiles)?;
        let batch = int::<usize>("batch", batch, "1 to 4096 tiles")?;
        if !(1..=4096).contains(&batch) {
            return Err(bad("batch", batch, "1 to 4096 tiles"));
        }
        let Some(first) = tiles.first() else {
            return Ok(Array2::<f32>::zeros((0, 0)).into_pyarray(py));
        };
        let pixels = py
            .detach(|| read_tile(&*self.slide, first, &spec))
            .py_err()?;
        let (w, h) = pixels.dimensions();
        let image = Image::from_rgb8(h as usize, w as usize, pixels.as_raw()).py_err()?;
        let model = PyModel::new(py, model, &image)?;
        let map = run_detached(py, Some(&model), || {
            predict_tiles(&*self.slide, &tiles, &spec, &model, batch)
        })?;
        Ok(map.scores.into_pyarray(py))
    }

    /// `Slide('path', reader='tiff')`: the call that opens it again.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let path = self.path().into_pyobject(py)?.repr()?;
        Ok(format!("Slide({path}, reader='{}')", self.reader))
    }
}

/// Where the tissue is, on a thumbnail of the slide: ``mask`` (``H×W``
/// ``bool``, ``True`` for tissue), ``downsample`` (level-0 pixels per mask
/// pixel) and ``threshold`` (Otsu's luminance threshold, 0–255).
///
/// ``Slide.detect_tissue`` makes one; ``TissueMask(mask, downsample)``
/// makes your own (e.g. from an annotation) for ``Slide.tiles(mask=...)``.
#[pyclass(name = "TissueMask", module = "multiscale_lime", frozen)]
pub(crate) struct PyTissueMask(TissueMask);

#[pymethods]
impl PyTissueMask {
    #[new]
    #[pyo3(signature = (mask, downsample, threshold = 0))]
    fn new(mask: &Bound<'_, PyAny>, downsample: f64, threshold: i64) -> PyResult<Self> {
        let mask = array::mask(mask)?;
        if mask.is_empty() {
            return Err(bad(
                "mask",
                format!("{:?}", mask.dim()),
                "a non-empty 2-D mask",
            ));
        }
        if !(downsample.is_finite() && downsample > 0.0) {
            return Err(bad("downsample", downsample, "finite and positive"));
        }
        let threshold = int::<u8>("threshold", threshold, "0 to 255")?;
        Ok(PyTissueMask(TissueMask {
            mask,
            downsample,
            threshold,
        }))
    }

    /// ``True`` where a mask pixel is tissue, ``(H, W)`` ``bool``.
    #[getter]
    fn mask<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<bool>> {
        self.0.mask.clone().into_pyarray(py)
    }

    /// Level-0 pixels per mask pixel.
    #[getter]
    fn downsample(&self) -> f64 {
        self.0.downsample
    }

    /// The luminance threshold (0–255): darker is tissue.
    #[getter]
    fn threshold(&self) -> u8 {
        self.0.threshold
    }

    /// The share of tissue in the level-0 rectangle ``(x, y, width,
    /// height)``, from the mask pixels it covers (0 outside the slide):
    /// what ``Slide.tiles`` compares with ``min_tissue``.
    fn fraction(&self, x: i64, y: i64, width: i64, height: i64) -> PyResult<f64> {
        let width = int::<u64>("width", width, "≥ 0")?;
        let height = int::<u64>("height", height, "≥ 0")?;
        Ok(self.0.fraction(x, y, width, height))
    }

    fn __repr__(&self) -> String {
        let (h, w) = self.0.mask.dim();
        format!(
            "TissueMask({h}×{w}, downsample={}, threshold={})",
            self.0.downsample, self.0.threshold
        )
    }
}

/// Level 0 of a `Slide`, or of a `(width, height)` pair.
fn level0_of(obj: &Bound<'_, PyAny>) -> PyResult<SlideLevel> {
    if let Ok(slide) = obj.cast::<PySlide>() {
        return slide.get().level0();
    }
    let shown = || obj.repr().map(|r| r.to_string()).unwrap_or_default();
    let expected = "a Slide or its level-0 (width, height), each ≥ 1";
    let (w, h) = obj
        .extract::<(i64, i64)>()
        .map_err(|_| bad("slide", shown(), expected))?;
    match (u64::try_from(w), u64::try_from(h)) {
        (Ok(width @ 1..), Ok(height @ 1..)) => Ok(SlideLevel {
            width,
            height,
            downsample: 1.0,
        }),
        _ => Err(bad("slide", shown(), expected)),
    }
}

/// Per-tile maps (one per row of ``tiles``: a heatmap, an uncertainty, any
/// 2-D array over the tile's pixels) stitched into one slide map of
/// ``downsample`` level-0 pixels per cell, ``float32``: each cell the mean
/// of the tile pixels whose centres fall in it (overlaps averaged; cells
/// finer than a tile's pixels take the pixel under their centre), NaN
/// where no tile reached; NaN values are skipped. ``slide`` is a ``Slide``
/// or its level-0 ``(width, height)``.
#[pyfunction]
pub(crate) fn stitch<'py>(
    py: Python<'py>,
    slide: &Bound<'py, PyAny>,
    tiles: &Bound<'py, PyAny>,
    maps: &Bound<'py, PyAny>,
    downsample: f64,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let level0 = level0_of(slide)?;
    let tiles = tile_rows(tiles)?;
    let maps: Vec<Array2<f32>> = maps
        .try_iter()?
        .enumerate()
        .map(|(i, m)| array::array2::<f32>(&m?, &format!("maps[{i}]"), "float32"))
        .collect::<PyResult<_>>()?;
    if maps.len() != tiles.len() {
        return Err(crate::error::invalid(format!(
            "{} maps for {} tiles: give one map per tile",
            maps.len(),
            tiles.len()
        )));
    }
    let stitched = py
        .detach(|| {
            let mut map = SlideMap::new(level0, downsample)?;
            for (tile, values) in tiles.iter().zip(&maps) {
                map.add(tile, values);
            }
            Ok::<_, multiscale_lime::Error>(map.mean())
        })
        .py_err()?;
    Ok(stitched.into_pyarray(py))
}

/// A `pixel_size_um` argument: one size for both axes, or `(x, y)`.
fn pixel_size(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<(f64, f64)>> {
    let Some(obj) = obj else { return Ok(None) };
    if let Ok(v) = obj.extract::<f64>() {
        return Ok(Some((v, v)));
    }
    obj.extract::<(f64, f64)>().map(Some).map_err(|_| {
        let shown = obj.repr().map(|r| r.to_string()).unwrap_or_default();
        bad(
            "pixel_size_um",
            shown,
            "micrometres: a float or an (x, y) pair",
        )
    })
}

/// Writes a slide map (a 2-D array, NaN where nothing was measured) to
/// ``path`` as a tiled pyramidal OME-TIFF with one ``float32`` channel
/// named ``channel``: the map, then each halving as a reduced-resolution
/// SubIFD, 256×256 deflate tiles. ``pixel_size_um`` (one map pixel in
/// micrometres: the slide's ``mpp`` times the map's downsample; a float
/// or ``(x, y)``) becomes OME's ``PhysicalSizeX``/``Y``, so QuPath and
/// napari overlay the map on the slide.
#[pyfunction]
#[pyo3(signature = (path, array, pixel_size_um = None, channel = "relevance"))]
pub(crate) fn write_ome_tiff(
    py: Python<'_>,
    path: PathBuf,
    array: &Bound<'_, PyAny>,
    pixel_size_um: Option<&Bound<'_, PyAny>>,
    channel: &str,
) -> PyResult<()> {
    let values = crate::array::array2::<f32>(array, "array", "float32")?;
    let size = pixel_size(pixel_size_um)?;
    py.detach(|| multiscale_lime::slide::write_ome_tiff(&path, values.view(), size, channel))
        .py_err()
}

/// `(tile, Explanation)` pairs.
fn explained<'py>(
    obj: &Bound<'py, PyAny>,
) -> PyResult<Vec<(SlideTile, Bound<'py, PyExplanation>)>> {
    obj.try_iter()?
        .enumerate()
        .map(|(i, item)| {
            let item = item?;
            let what = format!("explanations[{i}]");
            let (tile, explanation) = item
                .extract::<(Bound<'py, PyAny>, Bound<'py, PyExplanation>)>()
                .map_err(|_| {
                    let shown = item.repr().map(|r| r.to_string()).unwrap_or_default();
                    bad(&what, shown, "a (tile, Explanation) pair")
                })?;
            Ok((one_tile(&tile, &what)?, explanation))
        })
        .collect()
}

/// QuPath's GeoJSON (*File › Import objects*) as a string: a ``tile``
/// object per row of ``tiles`` with ``P(name)`` per class of ``scores``
/// (``N×C``; ``class_names`` name them, ``"class c"`` past their end) and
/// ``tissue`` (each tile's share, e.g. ``TissueMask.fraction``; ``null``
/// when not given); then, for each ``(tile, Explanation)`` pair of
/// ``explanations``, a ``detection`` per superpixel of every level of the
/// first explained class, carrying ``relevance``, ``coefficient``, ``std
/// error``, ``level`` and ``superpixels``. Coordinates are level-0 pixels
/// less ``offset`` (a slide's ``bounds[:2]`` where it has bounds, as
/// QuPath shows such a slide from the bounds' corner).
#[pyfunction]
#[pyo3(signature = (tiles, scores, class_names, explanations = None, *, tissue = None, offset = (0.0, 0.0)))]
pub(crate) fn qupath_geojson(
    tiles: &Bound<'_, PyAny>,
    scores: &Bound<'_, PyAny>,
    class_names: Vec<String>,
    explanations: Option<&Bound<'_, PyAny>>,
    tissue: Option<Vec<f64>>,
    offset: (f64, f64),
) -> PyResult<String> {
    let mut tiles = tile_rows(tiles)?;
    let scores = array::array2::<f32>(scores, "scores", "float32")?;
    if scores.nrows() != tiles.len() {
        return Err(crate::error::invalid(format!(
            "scores has {} rows for {} tiles: give one row of class scores per tile",
            scores.nrows(),
            tiles.len()
        )));
    }
    if let Some(tissue) = tissue {
        if tissue.len() != tiles.len() {
            return Err(bad("tissue", tissue.len(), "one share per tile"));
        }
        for (tile, share) in tiles.iter_mut().zip(tissue) {
            tile.tissue = share;
        }
    }
    let mut features = tile_features(&tiles, &scores, &class_names, offset);
    for (tile, explanation) in explained_or_none(explanations)? {
        if let Some(stack) = explanation.get().explanation().stacks().first() {
            features.extend(superpixel_features(&tile, stack, offset));
        }
    }
    Ok(feature_collection(&features))
}

fn explained_or_none<'py>(
    obj: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<(SlideTile, Bound<'py, PyExplanation>)>> {
    obj.map_or_else(|| Ok(Vec::new()), explained)
}

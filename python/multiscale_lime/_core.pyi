# Type stubs of the Rust extension module (python/src). Docstrings live
# in the extension itself (help(multiscale_lime.MultiScaleLime)).
from os import PathLike
from typing import Callable, Iterable, Literal, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

def settings_table() -> list[dict[str, object]]: ...

ImageLike = npt.ArrayLike  # H×W×3 RGB: uint8, or floats in [0, 1]
Predict = Callable[[npt.NDArray[np.float32]], npt.ArrayLike]  # N×H×W×3 → N×C
# The choices of each setting, as the library names them (a test checks
# them against multiscale_lime.SETTINGS).
PresetName = Literal["recommended", "paper"]
SamplingName = Literal["independent", "antithetic", "balanced", "orthogonal"]
ResponseName = Literal["auto", "score", "log-odds"]
NormalizationName = Literal["minmax", "positive", "maxabs"]
# "per-level", "shared-passes", "until-stability:P" or "until-top-k:K"
# (optionally ",start=M,step=M").
ScheduleLike = Union[Literal["per-level", "shared-passes"], str]
FusionName = Literal["trapezoid", "inverse", "gaussian", "uniform", "density", "feathered"]
HideColorName = Literal["black", "white", "mean", "blur"]
HideColor = Union[float, Tuple[float, float, float], HideColorName, str, Tuple[str, float]]
FusionLike = Union[FusionName, str, Tuple[str, float, float], Sequence[float]]
SegmenterLike = Union[str, "Slic", "SquareGrid", "Precomputed", npt.ArrayLike]
Labels = npt.NDArray[np.uint32]
Heatmap = npt.NDArray[np.float32]
Rgb = npt.NDArray[np.uint8]

class Slic:
    def __init__(
        self,
        compactness: float = 5.0,
        sigma: float = 0.0,
        max_num_iter: int = 10,
        enforce_connectivity: bool = True,
        min_size_factor: float = 0.5,
        max_size_factor: float = 3.0,
    ) -> None: ...
    @property
    def compactness(self) -> float: ...
    @property
    def sigma(self) -> float: ...
    def segment(self, image: ImageLike, n_segments: int) -> Labels: ...

class SquareGrid:
    def __init__(self) -> None: ...
    def segment(self, image: ImageLike, n_segments: int) -> Labels: ...

class Precomputed:
    def __init__(self, labels: npt.ArrayLike) -> None: ...
    @property
    def labels(self) -> Labels: ...
    def segment(self, image: ImageLike, n_segments: int) -> Labels: ...

class Level:
    """One level of an explanation: its segmentation, surrogate fit and
    heatmap. Pickles, as ``Explanation`` does."""

    @property
    def desired(self) -> int: ...
    @property
    def actual(self) -> int: ...
    @property
    def samples(self) -> int: ...
    @property
    def calls(self) -> int: ...
    @property
    def coefficients(self) -> npt.NDArray[np.float64]: ...
    @property
    def intercept(self) -> float: ...
    @property
    def r2(self) -> float: ...
    @property
    def local_prediction(self) -> float: ...
    @property
    def std_errors(self) -> Optional[npt.NDArray[np.float64]]: ...
    def intervals(self, confidence: float = 0.9) -> Optional[npt.NDArray[np.float64]]: ...
    @property
    def heatmap(self) -> Heatmap: ...
    @property
    def labels(self) -> Labels: ...

class Explanation:
    """The result of ``MultiScaleLime.explain``: the model's prediction,
    each level's fit and heatmap, and the fused heatmap, per explained
    class.

    Explanations pickle (multiprocessing, joblib, ``concurrent.futures``):
    the copy's every attribute and method result is the original's, bit
    for bit, ``panel`` and ``qupath_geojson`` included. The state is a
    versioned dict of numbers and numpy arrays (the explained image among
    them), rebuilt by ``_explanation_from_state``; a corrupted one raises
    ``InvalidInputError``.
    """

    @property
    def prediction(self) -> npt.NDArray[np.float32]: ...
    @property
    def response(self) -> Literal["score", "log-odds"]: ...
    @property
    def predicted_class(self) -> int: ...
    @property
    def classes(self) -> list[int]: ...
    @property
    def heatmap(self) -> Heatmap: ...
    @property
    def weights(self) -> npt.NDArray[np.float64]: ...
    @property
    def segmentations(self) -> list[Labels]: ...
    @property
    def levels(self) -> list[Level]: ...
    def heatmap_for(self, class_: int) -> Heatmap: ...
    def levels_for(self, class_: int) -> list[Level]: ...
    def panel(
        self,
        path: Optional[Union[str, PathLike[str]]] = None,
        *,
        class_: Optional[int] = None,
        colormap: str = "viridis",
        scale: Optional[int] = None,
    ) -> Rgb:
        """The paper's panel figure: each level's superpixels over the
        image, its heatmap below, the fused heatmap last, with titles and a
        colour bar. Tiles are the image enlarged ``scale`` times; by
        default enough for tiles of at least 384 pixels (fit for print).
        Written as a PNG to ``path`` when given."""
        ...

class StabilityReport:
    @property
    def combined_pearson(self) -> float: ...
    @property
    def pairwise_pearson(self) -> list[float]: ...
    @property
    def level_jaccard(self) -> list[float]: ...
    @property
    def level_top_k(self) -> list[int]: ...
    @property
    def seeds(self) -> list[int]: ...
    @property
    def combined(self) -> list[Heatmap]: ...

class MultiScaleLime:
    """Multi-scale LIME: an explainer configured once, used on any number of
    images and models.

    ``None`` means the preset's value; ``multiscale_lime.SETTINGS`` lists
    every setting with its choices and each preset's value, and
    ``repr(explainer)`` shows them all.
    """

    def __init__(
        self,
        levels: Optional[Sequence[int]] = None,
        *,
        preset: PresetName = "recommended",
        segmenter: Optional[SegmenterLike] = None,
        sigma: float = 0.0,
        compactness: Optional[float] = None,
        samples_per_segment: Optional[int] = None,
        samples: Optional[int] = None,
        sampling: Optional[SamplingName] = None,
        response: Optional[ResponseName] = None,
        schedule: Optional[ScheduleLike] = None,
        hide_color: Optional[HideColor] = None,
        fusion: Optional[FusionLike] = None,
        kernel_width: Optional[float] = None,
        ridge_alpha: Optional[float] = None,
        normalization: Optional[NormalizationName] = None,
        max_pixels: Optional[int] = None,
        max_segments: Optional[int] = None,
        max_mask_entries: Optional[int] = None,
        max_batch_bytes: Optional[int] = None,
        seed: Optional[int] = None,
        batch_size: Optional[Union[int, Literal["auto"]]] = None,
    ) -> None: ...
    @property
    def settings(self) -> list[tuple[str, str]]: ...
    @property
    def preset(self) -> PresetName: ...
    @property
    def levels(self) -> list[int]: ...
    @property
    def seed(self) -> int: ...
    def explain(
        self,
        image: ImageLike,
        predict: Predict,
        *,
        target: Optional[int] = None,
        top_labels: Optional[int] = None,
    ) -> Explanation: ...
    def stability(
        self,
        image: ImageLike,
        predict: Predict,
        seeds: Sequence[int],
        *,
        top_k: int = 5,
        target: Optional[int] = None,
    ) -> StabilityReport: ...

class Surrogate:
    @property
    def coefficients(self) -> npt.NDArray[np.float64]: ...
    @property
    def intercept(self) -> float: ...
    @property
    def r2(self) -> float: ...
    @property
    def local_prediction(self) -> float: ...

class AccuracyReport:
    class_: int
    original_score: float
    masked_score: float
    masked_prediction: int
    label_holds: bool
    fraction: float

class Curve:
    fractions: list[float]
    scores: list[float]
    auc: float

def slic(
    image: ImageLike,
    n_segments: int = 100,
    compactness: float = 10.0,
    max_num_iter: int = 10,
    sigma: float = 0.0,
    *,
    enforce_connectivity: bool = True,
    min_size_factor: float = 0.5,
    max_size_factor: float = 3.0,
    start_label: int = 1,
) -> Labels: ...
def fit_ridge(
    z: npt.NDArray[np.float32],
    y: npt.NDArray[np.float64],
    sample_weight: npt.NDArray[np.float64],
    *,
    alpha: float = 1.0,
    fit_intercept: bool = True,
) -> Surrogate: ...
def pointing_game(heatmap: npt.ArrayLike, mask: npt.ArrayLike, tolerance: int = 0) -> bool: ...
def relevance_mass(heatmap: npt.ArrayLike, mask: npt.ArrayLike) -> float: ...
def pixel_auc(heatmap: npt.ArrayLike, mask: npt.ArrayLike) -> float: ...
def pearson(a: npt.ArrayLike, b: npt.ArrayLike) -> float: ...
def jaccard_at_k(a: Sequence[float], b: Sequence[float], k: int) -> float: ...
def accuracy(
    image: ImageLike,
    heatmap: npt.ArrayLike,
    predict: Predict,
    class_: int,
    *,
    fraction: float = 0.2,
    hide_color: Optional[HideColor] = None,
) -> AccuracyReport: ...
def deletion_curve(
    image: ImageLike,
    heatmap: npt.ArrayLike,
    predict: Predict,
    class_: int,
    *,
    steps: int = 50,
    hide_color: Optional[HideColor] = None,
) -> Curve: ...
def insertion_curve(
    image: ImageLike,
    heatmap: npt.ArrayLike,
    predict: Predict,
    class_: int,
    *,
    steps: int = 50,
    blur_sigma: float = 5.0,
) -> Curve: ...
def colorize(
    heatmap: npt.ArrayLike, *, colormap: str = "viridis", value_range: Tuple[float, float] = (0.0, 1.0)
) -> Rgb: ...
def overlay(
    image: ImageLike,
    heatmap: npt.ArrayLike,
    *,
    colormap: str = "viridis",
    value_range: Tuple[float, float] = (0.0, 1.0),
    alpha: float = 0.5,
) -> Rgb: ...
def boundaries(image: ImageLike, labels: npt.ArrayLike, *, color: Tuple[int, int, int] = (255, 255, 0)) -> Rgb: ...
def save_png(rgb: Rgb, path: Union[str, PathLike[str]]) -> None: ...

# Whole-slide images. A tile is a row (x, y, width, height, col, row) of
# level-0 pixels; Slide.tiles gives them as an N×6 int64 array.
ReaderName = Literal["tiff", "openslide"]
Size = Union[int, Tuple[int, int]]  # pixels: one side, or (width, height)
TileRow = Sequence[int]  # (x, y, width, height[, col, row])
Tiles = npt.NDArray[np.int64]  # N×6 rows (x, y, width, height, col, row)

class TissueMask:
    """Where the tissue is, on a thumbnail of the slide. ``Slide.detect_tissue``
    makes one; ``TissueMask(mask, downsample)`` makes your own (e.g. from
    an annotation) for ``Slide.tiles(mask=...)``."""

    def __init__(self, mask: npt.ArrayLike, downsample: float, threshold: int = 0) -> None: ...
    @property
    def mask(self) -> npt.NDArray[np.bool_]:
        """``True`` where a mask pixel is tissue, ``(H, W)``."""
        ...
    @property
    def downsample(self) -> float:
        """Level-0 pixels per mask pixel."""
        ...
    @property
    def threshold(self) -> int:
        """Otsu's luminance threshold (0–255): darker is tissue."""
        ...
    def fraction(self, x: int, y: int, width: int, height: int) -> float:
        """The share of tissue in the level-0 rectangle, from the mask
        pixels it covers (0 outside the slide): what ``Slide.tiles``
        compares with ``min_tissue``."""
        ...

class Slide:
    """A whole-slide image, read a region at a time.

    ``reader="tiff"`` reads tiled pyramidal TIFF in pure Rust (generic
    pyramids, OME-TIFF, Aperio SVS, BigTIFF); ``"openslide"`` every format
    OpenSlide reads, through its C library opened at run time
    (``OPENSLIDE_DYLIB_PATH``, else the system's). Coordinates are level-0
    pixels whatever the level; outside the slide reads as white. A file
    that cannot be read is a ``SlideError`` naming it and why.
    """

    def __init__(self, path: Union[str, PathLike[str]], reader: ReaderName = "tiff") -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def reader(self) -> ReaderName: ...
    @property
    def levels(self) -> list[Tuple[int, int, float]]:
        """``(width, height, downsample)`` per level, level 0 first."""
        ...
    @property
    def mpp(self) -> Optional[Tuple[float, float]]:
        """Micrometres per level-0 pixel ``(x, y)``; ``None`` if unrecorded."""
        ...
    @property
    def objective_power(self) -> Optional[float]: ...
    @property
    def vendor(self) -> str:
        """The format, e.g. ``"aperio"``, ``"ome-tiff"``, ``"generic-tiff"``."""
        ...
    @property
    def bounds(self) -> Optional[Tuple[int, int, int, int]]:
        """The level-0 rectangle ``(x, y, width, height)`` holding image
        data (OpenSlide's bounds of MIRAX, Leica …); ``None`` where the
        whole level is image."""
        ...
    def best_level_for_downsample(self, downsample: float) -> int: ...
    def read_region(self, level: int, x: int, y: int, width: int, height: int) -> Rgb:
        """``width``×``height`` pixels of ``level`` whose top-left corner is
        ``(x, y)`` in level-0 pixels; at most 64 Mpx."""
        ...
    def thumbnail(self, max_side: int = 2048) -> Tuple[Rgb, float]:
        """The slide shrunk to at most ``max_side`` pixels a side (16 to
        8192), and its downsample (level-0 pixels per thumbnail pixel)."""
        ...
    def detect_tissue(self, max_side: int = 2048) -> TissueMask:
        """Pixels of a thumbnail darker than Otsu's luminance threshold."""
        ...
    def tiles(
        self,
        size: Size,
        *,
        mpp: Optional[float] = None,
        downsample: Optional[float] = None,
        stride: Optional[Size] = None,
        min_tissue: float = 0.5,
        max_side: int = 2048,
        mask: Optional[TissueMask] = None,
    ) -> Tiles:
        """The grid of tiles of ``size`` pixels at ``mpp`` µm per pixel or
        ``downsample`` level-0 pixels per pixel (default level 0), ``stride``
        tile pixels apart (default ``size``), kept where at least
        ``min_tissue`` is tissue on ``mask`` (default
        ``detect_tissue(max_side)``): rows ``(x, y, width, height, col,
        row)`` in level-0 pixels, in bands of columns each in rows."""
        ...
    def read_tile(
        self,
        tile: TileRow,
        size: Size,
        *,
        mpp: Optional[float] = None,
        downsample: Optional[float] = None,
    ) -> Rgb:
        """A tile's pixels as the model reads them (``size``, resampled when
        no level has the resolution); ``size``/``mpp``/``downsample`` as
        given to ``tiles``."""
        ...
    def predict_tiles(
        self,
        model: Predict,
        tiles: Union[Tiles, Sequence[TileRow]],
        size: Size,
        *,
        mpp: Optional[float] = None,
        downsample: Optional[float] = None,
        batch: int = 32,
    ) -> npt.NDArray[np.float32]:
        """``model``'s ``N×C`` scores of every tile, ``batch`` tiles a call
        (``N×H×W×3`` ``float32`` in ``[0, 1]``, as ``explain`` takes it),
        the next batch decoded while the model runs; ``(0, 0)`` for no
        tiles."""
        ...

def stitch(
    slide: Union[Slide, Tuple[int, int]],
    tiles: Union[Tiles, Sequence[TileRow]],
    maps: Sequence[npt.ArrayLike],
    downsample: float,
) -> npt.NDArray[np.float32]:
    """Per-tile maps (one 2-D array per tile, over the tile's pixels)
    stitched into one map of ``downsample`` level-0 pixels per cell: each
    cell the mean of the tile pixels whose centres fall in it, NaN where no
    tile reached. ``slide`` is a ``Slide`` or its level-0 ``(width,
    height)``."""
    ...

def write_ome_tiff(
    path: Union[str, PathLike[str]],
    array: npt.ArrayLike,
    pixel_size_um: Optional[Union[float, Tuple[float, float]]] = None,
    channel: str = "relevance",
) -> None:
    """A slide map as a tiled pyramidal OME-TIFF (one ``float32`` channel,
    halvings as SubIFDs); ``pixel_size_um`` (the slide's mpp times the map's
    downsample) becomes ``PhysicalSizeX``/``Y``."""
    ...

def qupath_geojson(
    tiles: Union[Tiles, Sequence[TileRow]],
    scores: npt.ArrayLike,
    class_names: Sequence[str],
    explanations: Optional[Iterable[Tuple[TileRow, Explanation]]] = None,
    *,
    tissue: Optional[Sequence[float]] = None,
    offset: Tuple[float, float] = (0.0, 0.0),
) -> str:
    """QuPath's GeoJSON: a ``tile`` per row with ``P(name)`` per class and
    ``tissue``; a ``detection`` per superpixel of each explained tile (its
    first explained class; every level) with ``relevance``,
    ``coefficient``, ``std error``, ``level``. Level-0 coordinates less
    ``offset`` (a slide's ``bounds[:2]`` where it has bounds)."""
    ...

# Pickling's rebuilders (Explanation.__reduce__, Level.__reduce__): a
# versioned state dict back to the object; InvalidInputError for a bad one.
def _explanation_from_state(state: dict[str, object]) -> Explanation: ...
def _level_from_state(state: dict[str, object]) -> Level: ...

# Type stubs of the Rust extension module (python/src). Docstrings live
# in the extension itself (help(multiscale_lime.MultiScaleLime)).
from os import PathLike
from typing import Callable, Literal, Optional, Sequence, Tuple, Union

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

"""Multi-scale LIME explanations for image classifiers, with a Rust engine.

The image is cut into superpixels at several scales, coarse to fine; each
scale gets its own LIME explanation (random masking of superpixels, batched
model calls, a kernel-weighted ridge surrogate); the per-scale heatmaps are
fused into one. The same seed gives bit-identical heatmaps whatever the
thread count or batch size, and the same heatmaps as the Rust crate
``multiscale-lime``.

>>> import numpy as np
>>> import multiscale_lime as ml
>>> image = np.random.default_rng(0).random((32, 32, 3))
>>> def predict(batch):            # N×H×W×3 float32 in [0, 1] → N×C scores
...     red = batch[..., 0].mean(axis=(1, 2))
...     return np.stack([red, 1 - red], axis=1)
>>> e = ml.explain(image, predict, levels=(4, 16), seed=1)
>>> e.heatmap.shape, len(e.levels)
((32, 32), 2)

The model is any callable from batches to scores: a wrapped torch model,
an ``onnxruntime.InferenceSession``'s ``run``, a numpy function.

Whole-slide images: ``Slide`` reads a pyramid a region at a time, finds
tissue and cuts tiles, scores them with a model (``Slide.predict_tiles``);
``stitch`` puts per-tile maps on the slide, ``write_ome_tiff`` and
``qupath_geojson`` export them for QuPath and napari.
"""

from typing import TYPE_CHECKING, Optional, Sequence, Union

if TYPE_CHECKING:
    from ._core import (
        FusionLike,
        HideColor,
        ImageLike,
        NormalizationName,
        Predict,
        PresetName,
        ResponseName,
        SamplingName,
        ScheduleLike,
        SegmenterLike,
    )

from ._errors import (
    Error,
    InvalidInputError,
    LimitError,
    ModelError,
    SingularError,
    SlideError,
)
from ._core import (
    AccuracyReport,
    Curve,
    Explanation,
    Level,
    MultiScaleLime,
    Precomputed,
    Slic,
    Slide,
    SquareGrid,
    StabilityReport,
    Surrogate,
    TissueMask,
    __version__,
    accuracy,
    boundaries,
    colorize,
    deletion_curve,
    fit_ridge,
    insertion_curve,
    jaccard_at_k,
    overlay,
    pearson,
    pixel_auc,
    pointing_game,
    qupath_geojson,
    relevance_mass,
    save_png,
    settings_table,
    slic,
    stitch,
    write_ome_tiff,
)

#: Every setting of ``MultiScaleLime`` the library defines: its keyword,
#: what it does, its choices, whether it changes results, and its value
#: under each preset (``{"recommended": ..., "paper": ...}``), in the text
#: form ``mslime`` takes.
SETTINGS = settings_table()

__all__ = [
    "AccuracyReport",
    "Curve",
    "Error",
    "Explanation",
    "InvalidInputError",
    "LimitError",
    "ModelError",
    "SingularError",
    "SlideError",
    "Level",
    "MultiScaleLime",
    "Precomputed",
    "SETTINGS",
    "Slic",
    "Slide",
    "SquareGrid",
    "StabilityReport",
    "Surrogate",
    "TissueMask",
    "__version__",
    "accuracy",
    "boundaries",
    "colorize",
    "deletion_curve",
    "explain",
    "fit_ridge",
    "insertion_curve",
    "jaccard_at_k",
    "overlay",
    "pearson",
    "pixel_auc",
    "pointing_game",
    "qupath_geojson",
    "relevance_mass",
    "save_png",
    "slic",
    "stitch",
    "write_ome_tiff",
]


def explain(
    image: "ImageLike",
    predict: "Predict",
    *,
    target: Optional[int] = None,
    top_labels: Optional[int] = None,
    levels: Optional[Sequence[int]] = None,
    preset: "PresetName" = "recommended",
    segmenter: Optional["SegmenterLike"] = None,
    sigma: float = 0.0,
    compactness: Optional[float] = None,
    samples_per_segment: Optional[int] = None,
    samples: Optional[int] = None,
    sampling: Optional["SamplingName"] = None,
    response: Optional["ResponseName"] = None,
    schedule: Optional["ScheduleLike"] = None,
    hide_color: Optional["HideColor"] = None,
    fusion: Optional["FusionLike"] = None,
    kernel_width: Optional[float] = None,
    ridge_alpha: Optional[float] = None,
    normalization: Optional["NormalizationName"] = None,
    max_pixels: Optional[int] = None,
    max_segments: Optional[int] = None,
    max_mask_entries: Optional[int] = None,
    max_batch_bytes: Optional[int] = None,
    seed: Optional[int] = None,
    batch_size: Optional[Union[int, str]] = None,
) -> Explanation:
    """Explains ``predict``'s decision on ``image`` in one call.

    The same as ``MultiScaleLime(**settings).explain(image, predict,
    target=target, top_labels=top_labels)``: every setting is
    ``MultiScaleLime``'s (``None``: the preset's value; ``preset="paper"``
    for the paper's setting).
    """
    given = dict(locals())
    settings = {
        name: value
        for name, value in given.items()
        if name not in ("image", "predict", "target", "top_labels") and value is not None
    }
    return MultiScaleLime(**settings).explain(
        image, predict, target=target, top_labels=top_labels
    )

"""The quantization engine: numpy (scikit-learn only as the reference), never Qt or pyplot.

One module per stage, in the order data flows: ``colorspace`` (sRGB, CIELAB, OKLab),
``packing`` (pixels as packed words, streamed in chunks), ``histogram`` (weighted distinct
colours), ``seeding`` (k-means++), ``kmeans`` (Lloyd and Weiszfeld steps), ``cluster``
(k-means over histogram levels), ``reference`` (scikit-learn's KMeans, when asked for),
``lut`` (colour-to-entry lookup tables), ``smooth`` (nearest-colour mapping with near ties
following their neighbours), ``dither`` (ordered and Floyd–Steinberg), ``paint`` (image and
counts from labels), ``metrics`` (CIEDE2000, PSNR), ``parallel`` (row-independent work on a
small thread pool; thread limits) and ``pipeline`` (the whole of `quantize`). Soft-edged
images take ``alpha`` (the colour-and-alpha working space), ``alpha_histogram`` and
``alpha_pipeline`` (the same stages for an RGBA palette).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .options import COLOR_SPACES, DITHERS, ENGINES, K_MAX, K_MIN

if TYPE_CHECKING:
    from .histogram import count_distinct_colors
    from .metrics import ciede2000, mean_delta_e2000, psnr
    from .parallel import engine_threads
    from .pipeline import quantize
    from .result import Cancelled, Quantization

#: Where each name of the engine's API lives. They are imported on first use (PEP 562), so
#: that ``kquant_gui.engine.options`` (what ``kquant --help`` needs) comes without numpy.
_HOMES = {
    "Cancelled": "result",
    "Quantization": "result",
    "ciede2000": "metrics",
    "count_distinct_colors": "histogram",
    "engine_threads": "parallel",
    "mean_delta_e2000": "metrics",
    "psnr": "metrics",
    "quantize": "pipeline",
}

__all__ = [
    "COLOR_SPACES",
    "DITHERS",
    "ENGINES",
    "K_MAX",
    "K_MIN",
    "Cancelled",
    "Quantization",
    "ciede2000",
    "count_distinct_colors",
    "engine_threads",
    "mean_delta_e2000",
    "psnr",
    "quantize",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

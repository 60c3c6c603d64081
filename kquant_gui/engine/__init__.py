"""The quantization engine: pure numpy and scikit-learn, never Qt or pyplot.

One module per stage, in the order data flows: ``colorspace`` (sRGB, CIELAB, OKLab),
``packing`` (pixels as packed words, streamed in chunks), ``histogram`` (weighted distinct
colours), ``kmeans`` (seeding and Lloyd), ``lut`` (colour-to-entry lookup tables), ``smooth``
(nearest-colour mapping with near ties following their neighbours), ``dither`` (ordered and
Floyd–Steinberg), ``paint`` (image and counts from labels), ``metrics`` (CIEDE2000, PSNR),
``parallel`` (row-independent work on a small thread pool; thread limits) and ``pipeline``
(the whole of `quantize`). Soft-edged images take ``alpha`` (the colour-and-alpha working
space), ``alpha_histogram`` and ``alpha_pipeline`` (the same stages for an RGBA palette).
"""

from .colorspace import COLOR_SPACES
from .histogram import count_distinct_colors
from .metrics import ciede2000, mean_delta_e2000, psnr
from .parallel import engine_threads
from .pipeline import DITHERS, K_MAX, K_MIN, quantize
from .result import Cancelled, Quantization

__all__ = [
    "COLOR_SPACES",
    "DITHERS",
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

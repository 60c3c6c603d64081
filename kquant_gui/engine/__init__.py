"""The quantization engine: numpy (scikit-learn only as the reference), never Qt or pyplot.

One module per stage, in the order data flows: ``colorspace`` (sRGB, CIELAB, OKLab),
``packing`` (pixels as packed words, streamed in chunks), ``histogram`` (weighted distinct
colours), ``seeding`` (k-means++), ``kmeans`` (Lloyd and Weiszfeld steps), ``cluster``
(k-means over histogram levels), ``reference`` (scikit-learn's KMeans, when asked for),
``lut`` (colour-to-entry lookup tables), ``smooth`` (nearest-colour mapping with near ties
following their neighbours), ``dither`` (ordered and Floyd–Steinberg), ``paint`` (image and
counts from labels), ``metrics`` (CIEDE2000, PSNR), ``parallel`` (row-independent work on a
small thread pool; thread limits), ``pipeline`` (the whole of `quantize`), ``probe`` (cheap
quality and PNG-size figures), ``estimate`` (warm-started k-means for many palette sizes),
``sweep`` (the quality-and-size curve) and ``choose`` (the fewest colours for a quality
target). Soft-edged images take ``alpha`` (the colour-and-alpha working space),
``alpha_histogram`` and ``alpha_pipeline`` (the same stages for an RGBA palette).
Around it: ``fixed`` (k-means around fixed colours), ``remap`` (mapping onto a given palette)
and ``edit`` (replace, delete, merge entries of a result; ``reassign`` sends a deleted
entry's pixels each to its own nearest remaining entry).
"""

from ..options import DITHERS, ENGINES, K_MAX, K_MIN
from .choose import KChoice, choose_k
from .colorspace import COLOR_SPACES
from .edit import (
    EditPlan,
    apply_edits,
    apply_plan,
    delete_color,
    merge_colors,
    plan_delete,
    plan_merge,
    plan_replace,
    replace_color,
)
from .histogram import count_distinct_colors
from .metrics import ciede2000, mean_delta_e2000, psnr
from .parallel import engine_threads
from .pipeline import quantize
from .remap import remap
from .result import Cancelled, Quantization
from .sweep import CURVE_KS, SweepPoint, coarse_first, sweep

__all__ = [
    "COLOR_SPACES",
    "CURVE_KS",
    "DITHERS",
    "ENGINES",
    "K_MAX",
    "K_MIN",
    "Cancelled",
    "EditPlan",
    "KChoice",
    "Quantization",
    "SweepPoint",
    "apply_edits",
    "apply_plan",
    "choose_k",
    "ciede2000",
    "coarse_first",
    "count_distinct_colors",
    "delete_color",
    "engine_threads",
    "mean_delta_e2000",
    "merge_colors",
    "plan_delete",
    "plan_merge",
    "plan_replace",
    "psnr",
    "quantize",
    "remap",
    "replace_color",
    "sweep",
]

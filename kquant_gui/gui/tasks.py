"""The work the window hands to its background thread, as plain data and plain functions.

Each job is an immutable snapshot of what the user asked for, tagged with an id; each ``run_*``
function turns a job into an outcome. Nothing here touches Qt, so the whole of the heavy lifting
(decoding, reduced copies, histogram, k-means, metrics, encoding) can be tested without a
window and never runs on the main thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kquant_gui.engine import Quantization, count_distinct_colors, mean_delta_e2000, quantize
from kquant_gui.engine.alpha_histogram import has_soft_alpha
from kquant_gui.engine.metrics import composite_delta_e2000
from kquant_gui.recipe import Recipe as EngineRecipe

from ..names import printable_name
from .display_image import DisplayImage

if TYPE_CHECKING:
    from kquant_gui.image_io import LoadedImage

log = logging.getLogger(__name__)

#: Pixels sampled for the mean colour difference: a stable estimate in well under 0.1 s.
DELTA_E_SAMPLE = 200_000


@dataclass(frozen=True)
class LoadJob:
    """Decode an image file."""

    job_id: int
    path: Path


@dataclass(frozen=True)
class QuantizeJob:
    """Quantize already-decoded pixels with a snapshot of the settings."""

    job_id: int
    pixels: np.ndarray
    k: int
    color_space: str
    dither: str
    seed: int = 0
    dither_strength: float = 1.0
    #: Who clusters: "numpy" (ours) or "sklearn" (the reference, imported only then).
    engine: str = "numpy"
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)
    #: Fixed colours, a palette to map onto or edits to replay (None: plain settings above).
    recipe: EngineRecipe | None = None


@dataclass(frozen=True)
class MeasureJob:
    """Compute the status-bar figures of a result that is already on screen."""

    job_id: int
    pixels: np.ndarray
    result: Quantization
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)
    #: Also compute the per-pixel ΔE2000 picture (View > Difference is on).
    with_error_map: bool = False
    #: Also sample the image's colours in the clustering space (View > Colour Space is on).
    with_space_sample: bool = False


@dataclass(frozen=True)
class SaveJob:
    """Write the shown result as an image (``kind="image"``) or as a palette file."""

    job_id: int
    result: Quantization
    path: Path
    kind: str = "image"
    source: LoadedImage | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class Loaded:
    """A decoded image, ready to show.

    Attributes
    ----------
    image : LoadedImage
        What the I/O layer read (pixels, ICC profile and EXIF for saving, notes).
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4), read-only
    display : DisplayImage
    distinct_colors : int
        Distinct visible colours of the file.
    file_size : int or None
        Bytes on disk.
    """

    job_id: int
    path: Path
    image: LoadedImage
    pixels: np.ndarray
    display: DisplayImage
    distinct_colors: int
    file_size: int | None
    seconds: float


@dataclass(frozen=True)
class Quantized:
    """A finished quantization and its display copy; ``seconds`` is the engine's wall time."""

    job_id: int
    result: Quantization
    display: DisplayImage
    seconds: float


@dataclass(frozen=True)
class Measured:
    """Figures about a result, computed after it is already on screen.

    Attributes
    ----------
    mean_delta_e : float
        Mean CIEDE2000 difference to the original (estimated from a sample on big images).
        For an image with semi-transparent pixels, the composite score: the mean over white
        and the mean over black, averaged (see ``over_backgrounds``).
    png_size : int or None
        Estimated size in bytes of the indexed PNG, None if it could not be estimated.
    over_backgrounds : bool
        True when ``mean_delta_e`` compares the images as they show over white and black.
    error_map : DisplayImage or None
        The per-pixel ΔE2000 as a heat-map picture, when the job asked for it.
    space_sample : SpaceSample or None
        Sampled colours in the clustering space, when the job asked for them.
    """

    job_id: int
    mean_delta_e: float
    png_size: int | None
    over_backgrounds: bool = False
    error_map: DisplayImage | None = None
    space_sample: object | None = None


@dataclass(frozen=True)
class Saved:
    """Where a save job wrote its file, how big it is, and notes for the user."""

    job_id: int
    path: Path
    kind: str
    size: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failed:
    """A job that raised; ``message`` is for people and names the file when there is one.

    Never raised or emitted itself: each kind of failure has its own subclass, so that the
    window handles each one on purpose and nothing falls through to a default.
    """

    job_id: int
    message: str


@dataclass(frozen=True)
class LoadFailed(Failed):
    """The file could not be opened (missing, damaged, too large, not an image)."""


@dataclass(frozen=True)
class QuantizeFailed(Failed):
    """The engine refused or could not finish (e.g. not enough memory)."""


@dataclass(frozen=True)
class MeasureFailed(Failed):
    """The status-bar figures of a result could not be computed; the result itself is fine."""


@dataclass(frozen=True)
class SaveFailed(Failed):
    """The image or palette file could not be written."""


@dataclass(frozen=True)
class InternalError(Failed):
    """An exception nobody expected: a bug. ``doing`` says what was being done, in words
    that fit "while …" (``"opening photo.png"``); the traceback goes to the log."""

    doing: str = "working"


def describe_error(exc: BaseException, path: Path | None) -> str:
    """A one-paragraph reason for ``exc``, naming ``path`` unless the message already does."""
    reason = str(exc).strip() or type(exc).__name__
    if path is None or printable_name(path.name) in reason:
        return reason
    return f"{printable_name(path.name)}: {reason}"


def describe_job(job: object) -> str:
    """What ``job`` does, in words that follow "while" (``"saving the palette k8.gpl"``)."""
    if isinstance(job, LoadJob):
        return f"opening {printable_name(job.path.name)}"
    if isinstance(job, QuantizeJob):
        by = " with scikit-learn's KMeans" if job.engine == "sklearn" else ""
        return f"quantizing to k={job.k}{by}"
    if isinstance(job, MeasureJob):
        return "measuring the result"
    if isinstance(job, SaveJob):
        what = "the palette" if job.kind == "palette" else "the image"
        return f"saving {what} {printable_name(job.path.name)}"
    return f"running {type(job).__name__}"


def run_load(job: LoadJob) -> Loaded:
    """Decode the file, make its display copy and count its colours."""
    from kquant_gui.image_io import load_image

    start = time.perf_counter()
    loaded = load_image(job.path)
    pixels = np.ascontiguousarray(loaded.pixels)
    # Shared with the main thread from here on: make any accidental write fail loudly.
    pixels.flags.writeable = False
    display = DisplayImage.for_photo(pixels)
    distinct = count_distinct_colors(pixels)
    size = loaded.file_size or None
    return Loaded(
        job.job_id,
        job.path,
        loaded,
        pixels,
        display,
        distinct,
        size,
        time.perf_counter() - start,
    )


def run_quantize(
    job: QuantizeJob,
    progress: Callable[[float, str], None] | None = None,
    pause: Callable[[], object] | None = None,
) -> Quantized:
    """Quantize with the job's settings; raises :class:`kquant_gui.Cancelled` when cancelled.

    ``pause``, if given, is called wherever the engine polls for cancellation and may block
    for a moment (the window holds the worker back while it draws).
    """

    def cancelled() -> bool:
        if pause is not None:
            pause()
        return job.cancel.is_set()

    start = time.perf_counter()
    if job.recipe is not None and not job.recipe.plain:
        result = job.recipe.run(job.pixels, progress=progress, cancel=cancelled, threads=1)
        display = DisplayImage.for_result(result)
        return Quantized(job.job_id, result, display, time.perf_counter() - start)
    result = quantize(
        job.pixels,
        job.k,
        color_space=job.color_space,
        dither=job.dither,
        dither_strength=job.dither_strength,
        seed=job.seed,
        engine=job.engine,
        progress=progress,
        cancel=cancelled,
        # One engine thread: more would compete with the main thread for the interpreter lock
        # and make the window stutter (the engine's results are the same either way).
        threads=1,
    )
    seconds = time.perf_counter() - start
    display = DisplayImage.for_result(result)
    return Quantized(job.job_id, result, display, seconds)


def run_measure(job: MeasureJob) -> Measured:
    """Mean ΔE2000 of a result and the estimated size of the indexed PNG Save writes.

    Over the visible pixels; for an image with soft edges, as it shows over white and over
    black (the average of the two), since its alpha is quantized too.
    """
    soft = has_soft_alpha(job.pixels)
    if soft:
        white, black = composite_delta_e2000(
            job.pixels, job.result.image, max_pixels=DELTA_E_SAMPLE
        )
        delta_e = (white + black) / 2.0
    else:
        delta_e = mean_delta_e2000(job.pixels, job.result.image, max_pixels=DELTA_E_SAMPLE)
    from kquant_gui.image_io import ImageIOError, estimate_png_size

    png_size: int | None
    try:
        png_size = int(estimate_png_size(job.result))
    except (ImageIOError, OSError, ValueError, MemoryError) as exc:
        # The estimate is a nicety for the status bar: an encoder that cannot write this
        # result, or too little memory, leaves the figure out. Anything else is a bug and
        # reaches the worker, which logs it and reports an internal error.
        log.info("no PNG size estimate for the status bar: %s", exc)
        png_size = None
    error_map = None
    if job.with_error_map:
        from .delta_e_map import delta_e_per_pixel, heat_picture

        error_map = DisplayImage.for_photo(
            heat_picture(delta_e_per_pixel(job.pixels, job.result.image))
        )
    space_sample = None
    if job.with_space_sample:
        from .space_sample import sample_space

        r = job.result
        space_sample = sample_space(job.pixels, r.labels, r.palette, r.color_space)
    return Measured(
        job.job_id,
        float(delta_e),
        png_size,
        over_backgrounds=soft,
        error_map=error_map,
        space_sample=space_sample,
    )


def run_save(job: SaveJob) -> Saved:
    """Write the result with the I/O layer (atomic, never over the source unless asked)."""
    if job.kind == "palette":
        from kquant_gui.palettes import write_palette

        name = job.source.path.name if job.source is not None else None
        path = Path(write_palette(job.result, job.path, source_name=name, overwrite=job.overwrite))
        return Saved(job.job_id, path, job.kind, path.stat().st_size)
    from kquant_gui.image_io import save_quantized

    saved = save_quantized(job.result, job.path, source=job.source, overwrite=job.overwrite)
    return Saved(job.job_id, saved.path, job.kind, saved.size, tuple(saved.notes))

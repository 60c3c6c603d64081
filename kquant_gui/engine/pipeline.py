"""`quantize`: the whole pipeline from pixels to palette, labels and image.

Stages: histogram (distinct colours weighted by pixel count and alpha) -> k-means in the
working colour space (weighted k-means++ seeding, Lloyd refinement, then a few exact
iterations on the distinct colours) -> palette clipped to sRGB -> every pixel mapped to its
entry, optionally dithered. Images with semi-transparent pixels take the same stages in the
colour-and-alpha space instead (:mod:`.alpha_pipeline`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from .alpha_histogram import has_soft_alpha
from .alpha_pipeline import quantize_soft
from .cluster import HistogramLevels, cluster, histogram_coords
from .distances import LabelHints
from .fixed import cluster_around, fixed_colors, validate_colors
from .histogram import Histogram, histogram
from .mapping import (
    FINE_MAP_K,
    Entries,
    Mapped,
    entries_of,
    map_dithered,
    map_nearest,
    paint_in_share_order,
    relabel,
)
from .paint import paint_labels
from .parallel import engine_threads, single_threaded_blas
from .progress import CancelCallback, ProgressCallback, Steps
from .result import Quantization
from .spread import spread_palette
from .validate import validate_k, validate_options, validate_pixels, validate_strength

#: Up to FINE_MAP_K, images above this size take the binned histogram rather than the exact
#: one (which otherwise serves up to histogram.EXACT_MAX_PIXELS): sorting a megapixel or two
#: and mapping its half a million colours one by one took 4x as long (1.9 MP at k=16: 254 ms
#: against 59 ms) for the same mean dE2000 (5.65 against 5.62). Above FINE_MAP_K, where the
#: binned path maps by 21-bit cell, it is about 2x faster but 0.03-0.06 dE worse there, so the
#: exact histogram keeps those.
BINNED_MIN_PIXELS = 600_000
#: From this size up, RGB images count their histogram on every other pixel of every other
#: row (see histogram.binned_histogram): 24 MP at k=16 in ~25% less time, same mean dE2000.
SAMPLE_MIN_PIXELS = 4_000_000


def quantize(
    pixels: np.ndarray,
    k: int,
    *,
    color_space: str = "lab",
    dither: str = "none",
    dither_strength: float = 1.0,
    seed: int = 0,
    fixed: object = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    threads: int | None = None,
    engine: str = "numpy",
) -> Quantization:
    """Reduce an image to at most ``k`` colours with k-means clustering.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        sRGB image, optionally with straight (non-premultiplied) alpha.
    k : int
        Palette size, 1 to 256, counting every entry, the shared fully transparent one
        included. An image with at most k distinct colours (RGBA values, with alpha) keeps
        exactly those.
    color_space : {"lab", "oklab", "rgb"}
        Space in which colour distances are measured: CIELAB (default) or OKLab, both from
        linearised sRGB, or plain sRGB values.
    dither : {"none", "floyd-steinberg", "ordered"}
        Dithering of the final mapping: "floyd-steinberg" is our selective serpentine error
        diffusion (pixels the palette holds exactly stay exact, edges are spared), "ordered"
        an 8x8 Bayer matrix between each colour's two nearest entries. With either, outer
        palette entries move outward so that the image's outermost colours can be mixed.
    dither_strength : float
        0.0 to 1.0: how much of the dithering to apply. 0.0 gives exactly the undithered
        result; 1.0 (default) the full dithering.
    seed : int
        Seed of the k-means++ start; the same inputs and seed give a byte-identical result.
    fixed : array_like of uint8, shape (m, 3) or (m, 4), optional
        Colours kept exactly: they are palette entries whether or not a pixel uses them, and
        k-means places the other ``k - m`` entries around them (fixed centres never move, but
        their members count when the others move). ``m <= k``; repeats count once. On an
        image with soft alpha, or with a fixed colour whose alpha is below 255 (an image with
        alpha only), they are entries of the RGBA palette (an RGB colour at alpha 255);
        otherwise of the opaque one.
    progress : callable(fraction: float, stage: str), optional
        Called as stages advance, with fractions rising from 0.0 to 1.0.
    cancel : callable() -> bool, optional
        Polled between stages and inside long loops; when it returns true, :class:`Cancelled`
        is raised.
    threads : int, optional
        Use at most this many threads for this call; by default the limit of the enclosing
        :func:`kquant_gui.engine.parallel.engine_threads` block, else one per core (at most
        4). The result is byte-identical whatever the number.
    engine : {"numpy", "sklearn"}
        Who clusters the histogram: our numpy k-means (default; coarse-to-fine Lloyd with a
        numpy k-means++ start and a polish towards the lowest mean colour difference), or
        the reference, scikit-learn's ``KMeans`` on the same weighted histogram in the same
        colour space (imported only when chosen, about a second; slower, and ``cancel`` is
        not polled while it runs). Everything else is shared. Images with soft (partial)
        alpha take the RGBA-palette path, which is ours whatever ``engine`` says (the
        result's settings then name no engine).

    Returns
    -------
    Quantization
        Its ``palette`` has shape (n, 3) for RGB input and (n, 4), RGBA, for input with
        alpha. Semi-transparent pixels are quantized in colour and alpha together (see
        :mod:`.alpha`): ``image`` is then exactly ``palette[labels]``, alpha included, as an
        indexed PNG with a tRNS chunk holds it. Fully transparent pixels share one entry,
        ``(0, 0, 0, 0)``. An image whose alpha is only 0 or 255 keeps it exactly, and its
        colours are those an RGB image would get.

    Raises
    ------
    ValueError
        For pixels of the wrong type, dtype or shape, or options out of range.
    Cancelled
        When ``cancel`` returned true.
    """
    k = validate_k(k)
    pixels = validate_pixels(pixels)
    validate_options(color_space, dither, seed, engine)
    strength = validate_strength(dither_strength)
    fixed_rgb = None
    if fixed is not None:
        fixed_rgb = fixed_colors(validate_colors(fixed, "fixed", max_count=k), pixels)
        if fixed_rgb.shape[0] and engine != "numpy":
            raise ValueError(
                f"fixed colours need engine='numpy': {engine}'s k-means cannot hold a centre still"
            )
    with engine_threads(threads), single_threaded_blas():
        return _quantize(
            pixels,
            k,
            color_space,
            dither,
            strength,
            int(seed),
            progress,
            cancel,
            fixed=fixed_rgb,
            engine=engine,
        )


def _quantize(
    pixels: np.ndarray,
    k: int,
    color_space: str,
    dither: str,
    strength: float,
    seed: int,
    progress: ProgressCallback | None,
    cancel: CancelCallback | None,
    hist: Histogram | None = None,
    *,
    fixed: np.ndarray | None = None,
    given: np.ndarray | None = None,
    engine: str = "numpy",
    shared: HistogramLevels | None = None,
    clustered: tuple[np.ndarray, np.ndarray] | None = None,
    hints: LabelHints | None = None,
    paint: bool = True,
) -> Quantization:
    """The pipeline on validated inputs; ``hist``, if given, is the histogram
    :func:`_histogram` would build (``choose_k`` shares one between runs, and with it
    ``shared``, its coordinates and bin means in ``color_space``, and ``clustered``, what
    :func:`cluster` returned for this histogram and k when it probed k before, with the
    ``hints`` that clustering left for the mapping's guess). With
    ``given`` (uint8, shape (n, 3)), that palette replaces clustering and the result keeps
    all its entries in its order (see :func:`remap.remap`). ``paint`` False leaves the
    image of an opaque or hard-edged result without dithering out (``image`` is None):
    ``choose_k`` measures results and paints only the one it returns (:func:`painted`)."""
    steps = Steps(
        progress, cancel, {"histogram": 3.0, "clustering": 4.0, "refining": 1.0, "mapping": 3.0}
    )
    # Dithering at strength 0 is no dithering, exactly.
    dithered = dither != "none" and strength > 0.0
    # A given palette is opaque colours: the per-pixel alpha of a soft-edged image is kept as
    # it is rather than clustered with them. Fixed colours join the colour-and-alpha palette
    # (an opaque one with alpha 255), and a fixed colour with alpha makes the palette RGBA.
    rgba_fixed = fixed is not None and fixed.shape[1] == 4
    if given is None and (rgba_fixed or has_soft_alpha(pixels)):
        # Colour-and-alpha palettes (see alpha_pipeline), dithered at the same strength.
        if fixed is not None and not rgba_fixed:
            fixed = np.column_stack([fixed, np.full(fixed.shape[0], 255, np.uint8)])
        result = quantize_soft(
            pixels, k, color_space, dither if dithered else "none", seed, steps, strength, fixed
        )
        steps.done()
        return replace(result, dither=dither, dither_strength=strength, source=pixels)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    steps.tick("histogram", 0.0)
    if hist is None:
        hist = _histogram(pixels, k, dither if dithered else "none", steps)
    t1 = time.perf_counter()
    timings["histogram"] = t1 - t0

    # Fully transparent pixels get one entry of their own, which counts towards k; with k=1
    # they share the single entry (their alpha stays 0 either way).
    n_fixed = 0 if fixed is None else fixed.shape[0]
    reserve = reserves_transparent(hist, k, n_fixed) and given is None
    k_visible = k - 1 if reserve else k
    hints = LabelHints() if hints is None else hints
    if given is not None:
        palette_vis, coords = given, histogram_coords(hist, color_space)
    elif hist.colors.shape[0] == 0:
        palette_vis, coords = np.empty((0, 3), dtype=np.uint8), np.empty((0, 3))
    elif n_fixed:
        palette_vis, coords = cluster_around(hist, k_visible, color_space, seed, steps, fixed)
    else:
        if clustered is None:
            clustered = cluster(
                hist, k_visible, color_space, seed, steps, engine=engine, shared=shared,
                hints=hints,
            )  # fmt: skip
        palette_vis, coords = clustered
        if dithered:
            palette_vis = spread_palette(
                palette_vis, coords, hist.weights, color_space, amount=strength
            )
    t2 = time.perf_counter()
    timings["clustering"] = t2 - t1

    steps.tick("mapping", 0.0)
    entries = entries_of(palette_vis, hist.n_transparent, reserve)
    if entries.n_visible == 0:
        # Nothing visible: every pixel is fully transparent and takes the one entry.
        raw = np.zeros(pixels.shape[:2], dtype=np.uint8)
        mapped = paint_in_share_order(pixels, entries.palette, raw, steps)
    elif not dithered:
        own = fixed is None and given is None
        mapped = map_nearest(
            pixels, hist, coords, entries, k_visible, color_space, steps, own, hints, paint
        )
    else:
        mapped = map_dithered(pixels, entries, dither, strength, color_space, steps)
    timings["mapping"] = time.perf_counter() - t2
    steps.done()
    if given is not None:
        mapped = _in_given_order(mapped)
    # Fixed (and given) entries stay even when no pixel uses them.
    kept = np.zeros(entries.palette.shape[0], dtype=bool)
    kept[: n_fixed if given is None else given.shape[0]] = True
    settings = {
        "k": k,
        "color_space": color_space,
        "dither": dither,
        "dither_strength": strength,
        "seed": seed,
        "engine": engine,
    }
    result = _assemble(mapped, entries, hist, settings, timings, kept, pixels.shape[2])
    if n_fixed:
        result = replace(result, fixed=fixed.copy())
    # A reference to the input, not a copy: palette edits measure its pixels (engine.edit).
    return replace(result, source=pixels)


def painted(result: Quantization, pixels: np.ndarray) -> Quantization:
    """``result`` with its image, when :func:`_quantize` left it out (``paint=False``): the
    same bytes as painting on the way (the entries' colours, and the input's alpha)."""
    if result.image is not None:
        return result
    image, _ = paint_labels(pixels, result.palette[:, :3], result.labels)
    return replace(result, image=image)


def reserves_transparent(hist: Histogram, k: int, n_fixed: int = 0) -> bool:
    """Whether fully transparent pixels get an entry of their own at ``k`` (one fewer for
    the visible colours): with any of them, something visible, and room beside the
    ``n_fixed`` fixed colours."""
    return hist.n_transparent > 0 and hist.colors.shape[0] > 0 and k > max(1, n_fixed)


def _in_given_order(mapped: Mapped) -> Mapped:
    """Renumber a mapping from share order back to the palette's own order."""
    labels = relabel(mapped.labels, mapped.order.astype(np.uint8))
    counts = np.zeros_like(mapped.counts)
    counts[mapped.order] = mapped.counts
    order = np.arange(mapped.order.size)
    return Mapped(labels, counts, mapped.image, order)


def histogram_options(n_pixels: int, k: int, dither: str) -> tuple[int | None, bool]:
    """``exact_max_pixels`` and ``sample`` of the histogram quantize takes at this k."""
    exact_max_pixels = BINNED_MIN_PIXELS if k <= FINE_MAP_K else None
    # Cells for k > FINE_MAP_K are laid out for the bins the histogram saw, so it must see
    # them all; bin-by-bin mapping and dithering cope with bins a sample missed.
    sample = n_pixels >= SAMPLE_MIN_PIXELS and (k <= FINE_MAP_K or dither != "none")
    return exact_max_pixels, sample


def _histogram(pixels: np.ndarray, k: int, dither: str, steps: Steps) -> Histogram:
    """The histogram to cluster, exact or binned (and maybe sampled) as suits size and k."""
    limit, sample = histogram_options(pixels.shape[0] * pixels.shape[1], k, dither)
    return histogram(pixels, k, steps, exact_max_pixels=limit, sample=sample)


def _assemble(
    mapped: Mapped,
    entries: Entries,
    hist: Histogram,
    settings: dict[str, Any],
    timings: dict[str, float],
    kept: np.ndarray,
    channels: int,
) -> Quantization:
    """The result: palette in share order, unused entries dropped unless ``kept`` (a mask
    over the entries, shape (n,)); RGBA for input with alpha (only 0 and 255 here), the
    transparent entry at alpha 0. ``dither`` is the kind and strength asked for; ``channels``
    are the input's (3 or 4)."""
    palette, counts = entries.palette[mapped.order], mapped.counts
    keep = (counts > 0) | kept[mapped.order]
    if not keep.all():
        # Entries no pixel uses (two centres rounding to one colour, or a dither that skipped
        # one) are dropped; they sort last (in share order; given palettes keep every entry),
        # so the labels need no renumbering.
        palette, counts = palette[keep], counts[keep]
    transparent_index = None
    if entries.has_transparent_entry:
        # Used by every fully transparent pixel, so never dropped.
        transparent_index = int(np.flatnonzero(mapped.order == entries.transparent)[0])
    if channels == 4:
        alpha = np.full(palette.shape[0], 255, np.uint8)
        if transparent_index is not None:
            alpha[transparent_index] = 0
        palette = np.column_stack([palette, alpha])
    return Quantization(
        image=mapped.image,
        palette=palette,
        labels=mapped.labels,
        counts=counts,
        transparent_index=transparent_index,
        **settings,
        distinct_colors=int(hist.colors.shape[0]) if hist.exact else None,
        timings=timings,
    )

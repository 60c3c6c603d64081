"""`quantize`: the whole pipeline from pixels to palette, labels and image.

Stages: histogram (distinct colours weighted by pixel count and alpha) -> k-means in the
working colour space (weighted k-means++ seeding, Lloyd refinement, then a few exact
iterations on the distinct colours) -> palette clipped to sRGB -> every pixel mapped to its
entry, optionally dithered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from numbers import Integral

import numpy as np

from .alpha_pipeline import has_soft_alpha, quantize_soft
from .colorspace import COLOR_SPACES, from_space, to_space
from .histogram import CHUNK, Histogram, histogram, pack_rgb
from .kmeans import best_of_starts, lloyd
from .progress import CancelCallback, ProgressCallback, Steps
from .remap import (
    bin_centre_cells,
    bin_centre_coords,
    entry_pairs,
    fine_lut,
    fine_pairs,
    floyd_steinberg_labels,
    histogram_pairs,
    ordered_labels,
    paint_labels,
    pair_table,
    rank_pairs,
    stream_labels,
)
from .result import Quantization

DITHERS = ("none", "floyd-steinberg", "ordered")
K_MIN, K_MAX = 1, 256
#: Above this many histogram entries, k-means first runs on coarser bin means (see _levels) and
#: only its last few iterations see finer levels.
COARSE_MAX = 1024
#: A coarser level is only used while it keeps this many points per cluster.
COARSE_POINTS_PER_CLUSTER = 16
#: Iterations on each finer level after the coarse run, and the largest level refined.
REFINE_ITER = 3
REFINE_MAX_POINTS = 200_000
REFINE_FINEST_MIN_K = 65
#: Lloyd stops when no centre moves more than this (working-space units, about dE 0.05).
TOL = 0.05
#: The same, for a single start on a coarse level that finer levels will refine: they move the
#: centres by about 0.5-1 anyway, so converging further there was half of all clustering time
#: for nothing (china k=64: mean dE2000 3.237 -> 3.240, 31 -> 9 iterations). Several starts
#: (k <= SMALL_K) converge fully: picking the best by inertia needs it (24 MP k=16: 5.83 -> 5.96
#: with the loose tolerance).
COARSE_TOL = 0.5
#: Palettes up to this size are started N_INIT_SMALL_K times, keeping the lowest inertia.
SMALL_K = 16
N_INIT_SMALL_K = 3
#: Above this k, large images map pixels by 21-bit cell rather than by 18-bit bin.
FINE_MAP_K = 32
#: Up to FINE_MAP_K, images above this size take the binned histogram rather than the exact
#: one (which otherwise serves up to histogram.EXACT_MAX_PIXELS): sorting a megapixel or two
#: and mapping its half a million colours one by one took 4x as long (1.9 MP at k=16: 254 ms
#: against 59 ms) for the same mean dE2000 (5.65 against 5.62). Above FINE_MAP_K, where the
#: binned path maps by 21-bit cell, it is about 2x faster but 0.03-0.06 dE worse there, so the
#: exact histogram keeps those.
BINNED_MIN_PIXELS = 600_000
#: A pixel whose second-nearest palette entry is less than this much farther than its nearest
#: (working-space units: about 1 dE for lab and oklab, 8-bit levels for rgb) may follow its
#: neighbours; see :func:`remap.stream_labels`.
AMBIGUITY_MARGIN = {"lab": 1.0, "oklab": 1.0, "rgb": 1.0}
#: Small perceptual palettes have entries far apart, so a wider margin costs next to nothing
#: (+0.01-0.02 mean dE2000 on china/flower at k <= 32) and shrinks a noisy photo's PNG by ~7%.
SMALL_PALETTE_K = 32
SMALL_PALETTE_MARGIN = {"lab": 2.0, "oklab": 2.0, "rgb": 1.0}
#: From this size up, RGB images count their histogram on every other pixel of every other
#: row (see histogram.binned_histogram): 24 MP at k=16 in ~25% less time, same mean dE2000.
SAMPLE_MIN_PIXELS = 4_000_000
#: The stages of a quantization and their share of the progress bar.
STAGES = {"histogram": 3.0, "clustering": 4.0, "refining": 1.0, "mapping": 3.0}
#: Colour of the shared fully transparent entry.
TRANSPARENT_RGB = (0, 0, 0)


def validate_k(k: object) -> int:
    """Return ``k`` as an int, or raise ``ValueError`` naming the allowed range."""
    if isinstance(k, bool) or not isinstance(k, Integral):
        raise ValueError(f"k must be a whole number from {K_MIN} to {K_MAX}, got {k!r}")
    if not K_MIN <= int(k) <= K_MAX:
        raise ValueError(f"k must be from {K_MIN} to {K_MAX}, got {int(k)}")
    return int(k)


def validate_pixels(pixels: object) -> np.ndarray:
    """Return ``pixels`` as a C-contiguous uint8 (H, W, 3|4) array or raise ``ValueError``."""
    if not isinstance(pixels, np.ndarray):
        raise ValueError(
            f"pixels must be a numpy array of uint8 with shape (H, W, 3) or (H, W, 4), "
            f"got {type(pixels).__name__}"
        )
    if pixels.dtype != np.uint8:
        raise ValueError(
            f"pixels must have dtype uint8 (0-255 per channel), got {pixels.dtype}; "
            "convert with np.clip(a, 0, 255).astype(np.uint8) or load the file with "
            "kquant_gui.quantize_image"
        )
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(
            f"pixels must have shape (H, W, 3) for RGB or (H, W, 4) for RGBA, got {pixels.shape}"
        )
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ValueError(f"pixels is empty: shape {pixels.shape}; an image needs H, W >= 1")
    return np.ascontiguousarray(pixels)


def _validate_options(color_space: object, dither: object, seed: object) -> None:
    if color_space not in COLOR_SPACES:
        raise ValueError(
            f"color_space must be one of {', '.join(COLOR_SPACES)}; got {color_space!r}"
        )
    if dither not in DITHERS:
        raise ValueError(f"dither must be one of {', '.join(DITHERS)}; got {dither!r}")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be a whole number from 0 to 2**32 - 1, got {seed!r}")


def _aggregate(
    coords: np.ndarray, weights: np.ndarray, codes: np.ndarray, n_codes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of ``coords`` per occupied code (codes below ``n_codes``).

    Returns
    -------
    means : ndarray of float64, shape (p, 3)
    mass : ndarray of float64, shape (p,)
    """
    if n_codes > codes.shape[0]:
        # Few points in a large code space: number the occupied codes first, so that the four
        # sums fill short arrays instead of zeroing and scanning n_codes entries each.
        present = np.zeros(n_codes, dtype=np.intp)
        present[codes] = 1
        dense = np.cumsum(present)
        dense -= 1
        codes, n_codes = dense[codes], int(dense[-1]) + 1
    mass = np.bincount(codes, weights=weights, minlength=n_codes)
    occupied = np.flatnonzero(mass)
    sums = [
        np.bincount(codes, weights=weights * coords[:, j], minlength=n_codes) for j in range(3)
    ]
    means = np.stack([c[occupied] for c in sums], axis=1)
    return means / mass[occupied, None], mass[occupied]


def _coarse_codes(colors: np.ndarray, bits: int) -> np.ndarray:
    """Code of the top ``bits`` bits per channel of 8-bit colours, shape (m,)."""
    c = colors.astype(np.uint32) >> (8 - bits)
    return c[:, 0] | (c[:, 1] << bits) | (c[:, 2] << (2 * bits))


def _levels(hist: Histogram, coords: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The histogram at decreasing resolutions, finest first: (points, weights) pairs.

    Level 0 is the histogram itself; then 18-bit bin means when the entries are exact distinct
    colours, then 15-bit and 12-bit bin means. A level is only added while it is much smaller
    than the one before and still has COARSE_POINTS_PER_CLUSTER points per cluster.
    """
    levels = [(coords, hist.weights)]
    coarser = []
    if hist.exact:
        coarser.append((hist.codes, 1 << 18))
    coarser += [(_coarse_codes(hist.colors, bits), 1 << (3 * bits)) for bits in (5, 4)]
    for codes, n_codes in coarser:
        size = levels[-1][0].shape[0]
        if size <= COARSE_MAX:
            break
        points, weights = _aggregate(coords, hist.weights, codes, n_codes)
        if points.shape[0] > 0.7 * size or points.shape[0] < COARSE_POINTS_PER_CLUSTER * k:
            continue
        levels.append((points, weights))
    return levels


def _cluster(
    hist: Histogram, k: int, space: str, seed: int, steps: Steps
) -> tuple[np.ndarray, np.ndarray]:
    """Palette for the visible colours of ``hist``, and the entries' working-space coordinates.

    k-means runs to convergence on the coarsest level of :func:`_levels` (a few thousand
    points, so iterations are cheap, and small palettes can afford several starts), then a few
    iterations on each finer level settle the centres.

    Returns
    -------
    palette : ndarray of uint8, shape (n, 3), n <= k
    coords : ndarray of float64, shape (m, 3)
    """
    # A binned photo's entries are bin centres, whose coordinates are tabulated once.
    centres = bin_centre_coords(space)[hist.codes] if hist.centres else None
    coords = to_space(hist.colors, space) if centres is None else centres
    if hist.exact and hist.colors.shape[0] <= k:
        return hist.colors.copy(), coords
    levels = _levels(hist, coords, k)
    refine = []
    for level in reversed(range(len(levels) - 1)):
        # The finest level is worth its cost at large k, where clusters are small next to a
        # bin; at k <= 64 it changes mean dE by ~0.03 and would double the time.
        if levels[level][0].shape[0] > REFINE_MAX_POINTS or (
            level == 0 and k <= REFINE_FINEST_MIN_K
        ):
            break
        refine.append(levels[level])
    points, weights = levels[-1]
    kk = min(k, points.shape[0])
    if points.shape[0] <= kk:
        centers = points.copy()
    else:
        # Small palettes are cheap and most sensitive to a bad start: keep the best of a few.
        n_init = N_INIT_SMALL_K if kk <= SMALL_K else 1
        # Several starts are compared by inertia, which needs each run converged.
        tol = COARSE_TOL if refine and n_init == 1 else TOL
        centers = best_of_starts(points, weights, kk, seed, n_init=n_init, tol=tol, steps=steps)
    for points, weights in refine:
        centers = lloyd(
            points, weights, centers, max_iter=REFINE_ITER, tol=TOL, steps=steps, stage="refining"
        )
    return from_space(centers, space), coords


_blas_controller = None


@contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread while quantizing.

    Every matrix product here has an inner dimension of 3 and a few thousand rows, far too
    small for threads to pay off: on two cores OpenBLAS's threading made a 0.3 MP quantize
    about 40% slower, and worse under load. One thread also fixes the summation order.
    """
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    with _blas_controller.limit(limits=1, user_api="blas"):
        yield


def quantize(
    pixels: np.ndarray,
    k: int,
    *,
    color_space: str = "lab",
    dither: str = "none",
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
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
        Dithering of the final mapping; "ordered" is an 8x8 Bayer matrix.
    seed : int
        Seed of the k-means++ start; the same inputs and seed give a byte-identical result.
    progress : callable(fraction: float, stage: str), optional
        Called as stages advance, with fractions rising from 0.0 to 1.0.
    cancel : callable() -> bool, optional
        Polled between stages and inside long loops; when it returns true, :class:`Cancelled`
        is raised.

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
    _validate_options(color_space, dither, seed)
    with _single_threaded_blas():
        if has_soft_alpha(pixels):
            return _quantize_soft(pixels, k, color_space, dither, int(seed), progress, cancel)
        result = _quantize(pixels, k, color_space, dither, int(seed), progress, cancel)
    if pixels.shape[2] == 4:
        # Alpha only 0 or 255: the opaque path's result, byte for byte, with its palette
        # written as RGBA (the transparent entry at alpha 0) like every input with alpha.
        alpha = np.full(result.n_colors, 255, np.uint8)
        if result.transparent_index is not None:
            alpha[result.transparent_index] = 0
        result = replace(result, palette=np.column_stack([result.palette, alpha]))
    return result


def _quantize_soft(
    pixels: np.ndarray,
    k: int,
    color_space: str,
    dither: str,
    seed: int,
    progress: ProgressCallback | None,
    cancel: CancelCallback | None,
) -> Quantization:
    steps = Steps(progress, cancel, STAGES)
    t0 = time.perf_counter()
    image, palette, labels, counts, transparent, distinct = quantize_soft(
        pixels, k, color_space, dither, seed, steps
    )
    steps.done()
    return Quantization(
        image=image,
        palette=palette,
        labels=labels,
        counts=counts,
        transparent_index=transparent,
        k=k,
        color_space=color_space,
        dither=dither,
        seed=seed,
        distinct_colors=distinct,
        timings={"total": time.perf_counter() - t0},
    )


def _quantize(
    pixels: np.ndarray,
    k: int,
    color_space: str,
    dither: str,
    seed: int,
    progress: ProgressCallback | None,
    cancel: CancelCallback | None,
) -> Quantization:
    steps = Steps(progress, cancel, STAGES)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    steps.tick("histogram", 0.0)

    n_pixels = pixels.shape[0] * pixels.shape[1]
    hist = histogram(
        pixels,
        k,
        steps,
        exact_max_pixels=BINNED_MIN_PIXELS if k <= FINE_MAP_K else None,
        # Cells for k > FINE_MAP_K are laid out for the bins the histogram saw, so it must
        # see them all; bin-by-bin mapping and dithering cope with bins a sample missed.
        sample=n_pixels >= SAMPLE_MIN_PIXELS and (k <= FINE_MAP_K or dither != "none"),
    )
    t1 = time.perf_counter()
    timings["histogram"] = t1 - t0

    # Fully transparent pixels get one entry of their own, which counts towards k; with k=1
    # they share the single entry (their alpha stays 0 either way).
    has_transparent = hist.n_transparent > 0 and hist.colors.shape[0] > 0 and k >= 2
    k_visible = k - 1 if has_transparent else k
    if hist.colors.shape[0] == 0:
        palette_vis, coords = np.empty((0, 3), dtype=np.uint8), np.empty((0, 3))
    else:
        palette_vis, coords = _cluster(hist, k_visible, color_space, seed, steps)
    t2 = time.perf_counter()
    timings["clustering"] = t2 - t1
    steps.tick("mapping", 0.0)

    n_vis = palette_vis.shape[0]
    needs_transparent_entry = hist.n_transparent > 0 and (has_transparent or n_vis == 0)
    palette = palette_vis
    if needs_transparent_entry:
        palette = np.vstack([palette_vis, np.array([TRANSPARENT_RGB], dtype=np.uint8)])
    transparent = n_vis if needs_transparent_entry else (0 if hist.n_transparent else -1)

    if dither == "none" and n_vis > 0:
        margin = (SMALL_PALETTE_MARGIN if k_visible <= SMALL_PALETTE_K else AMBIGUITY_MARGIN)[
            color_space
        ]
        by_entry = hist.exact or k_visible <= FINE_MAP_K
        if by_entry:
            # Every histogram entry maps as a whole.
            if hist.exact and hist.colors.shape[0] <= k_visible:
                # The image's own colours: nothing to smooth, every pixel keeps its colour.
                entries = np.arange(n_vis)
                pairs = pair_table(entries, entries)
            else:
                pairs = entry_pairs(coords, to_space(palette_vis, color_space), margin)
            estimate = np.bincount(pairs & 0xFF, weights=hist.counts, minlength=palette.shape[0])
        else:
            # Large palettes on large images: 18-bit bins are coarse next to the clusters,
            # so pixels map through 21-bit cells instead.
            lut = fine_lut(hist.codes, palette_vis, color_space, margin)
            centre_labels = lut[bin_centre_cells(hist.codes)] & 0xFF
            estimate = np.bincount(centre_labels, weights=hist.counts, minlength=palette.shape[0])
        if transparent >= 0:
            estimate[transparent] += hist.n_transparent
        # Number the palette by the expected shares before labelling, so that the labels come
        # out in their final order; smoothing moves a few pixels, and in the rare case that
        # reorders two entries the labels are renumbered once more below.
        order, rank = _share_order(palette, np.rint(estimate).astype(np.int64))
        if by_entry:
            bin_pairs = None
            if hist.sampled:
                # Bins the sample missed (0.1% of the pixels of a noisy 24 MP photo) follow
                # their centre, like the bins it saw.
                every_bin = entry_pairs(
                    bin_centre_coords(color_space), to_space(palette_vis, color_space), margin
                )
                bin_pairs = rank_pairs(every_bin, rank)
            source = histogram_pairs(
                pixels, hist, rank_pairs(pairs, rank), _at(rank, transparent), bin_pairs
            )
        else:
            source = fine_pairs(pixels, rank_pairs(lut, rank), _at(rank, transparent))
        palette = palette[order]
        labels, counts, image = stream_labels(pixels, source, palette, steps)
        if transparent >= 0:
            transparent = int(rank[transparent])
        order, rank = _share_order(palette, counts)
        if not np.array_equal(order, np.arange(order.size)):
            labels = _relabel(labels, rank.astype(np.uint8))
            palette, counts = palette[order], counts[order]
            if transparent >= 0:
                transparent = int(rank[transparent])
    else:
        if n_vis == 0:
            # Nothing visible: every pixel is fully transparent and takes the one entry.
            raw = np.zeros(pixels.shape[:2], dtype=np.uint8)
        elif dither == "ordered":
            raw = ordered_labels(pixels, palette_vis, color_space, transparent, steps)
        else:
            raw = floyd_steinberg_labels(pixels, palette_vis, transparent, steps)
        # Painted from the labels as they come: the colours do not depend on the numbering.
        image, counts = paint_labels(pixels, palette, raw, steps)
        order, rank = _share_order(palette, counts)
        labels = _relabel(raw, rank.astype(np.uint8))
        palette, counts = palette[order], counts[order]
        if transparent >= 0:
            transparent = int(rank[transparent])

    keep = counts > 0
    if not keep.all():
        # Entries no pixel uses (two centres rounding to one colour, or a dither that skipped
        # one) are dropped; they sort last, so the labels need no renumbering.
        palette, counts = palette[keep], counts[keep]
    t3 = time.perf_counter()
    timings["mapping"] = t3 - t2

    transparent_index = transparent if needs_transparent_entry else None
    steps.done()
    return Quantization(
        image=image,
        palette=palette,
        labels=labels,
        counts=counts,
        transparent_index=transparent_index,
        k=k,
        color_space=color_space,
        dither=dither,
        seed=seed,
        distinct_colors=int(hist.colors.shape[0]) if hist.exact else None,
        timings=timings,
    )


def _relabel(labels: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[labels]`` in place, chunked: a 24 MP gather in one go converts every index to
    intp first, which costs more than the gather itself."""
    flat = labels.reshape(-1)
    for s in range(0, flat.shape[0], CHUNK):
        flat[s : s + CHUNK] = table[flat[s : s + CHUNK]]
    return labels


def _at(rank: np.ndarray, index: int) -> int:
    """``rank[index]``, or -1 for the "no such entry" index -1."""
    return int(rank[index]) if index >= 0 else -1


def _share_order(palette: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order by share, largest first, ties by colour; and the rank of every old index."""
    order = np.lexsort((pack_rgb(palette), -counts))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return order, rank

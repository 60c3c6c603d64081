"""Quantizing colour and alpha together: the path `quantize` takes for soft-edged images.

An image with semi-transparent pixels gets an RGBA palette: k-means runs in the working space of
:mod:`alpha` (each colour as it shows over black and over white, in the perceptual space), on a
histogram of RGBA colours, with the shared fully transparent entry as a centre that never
moves. Every pixel then takes the entry nearest to it in that space (the transparent entry
included, so a nearly invisible pixel may become invisible), and the image is painted from the
palette: colour and alpha alike come from ``palette[labels]``, so the result is exactly what an
indexed PNG with a tRNS chunk holds.

Opaque images, and images whose alpha is only 0 or 255, never come here: their results are
those of the opaque path, byte for byte.
"""

from __future__ import annotations

import time

import numpy as np

from .alpha import (
    ALPHA_DIMS,
    TRANSPARENT_RGBA,
    from_alpha_space,
    premultiplied_linear,
    to_alpha_space,
)
from .alpha_histogram import (
    N_KEYS,
    TRANSPARENT_KEY,
    RgbaHistogram,
    pixel_keys,
    rgba_histogram,
    words_of,
)
from .cluster import aggregate, kmeans_on_levels
from .diffusion import diffuse
from .distances import nearest, two_nearest
from .dither import bayer_matrix
from .fixed import own_colors
from .lut import entry_pairs, pair_table, rank_pairs
from .packing import CHUNK, Scratch
from .paint import paint_labels
from .parallel import part_progress, run_parts
from .progress import Steps
from .result import Quantization
from .smooth import stream_labels

#: Coarser levels for k-means on many points: bits kept per colour channel, and of alpha.
COARSE_BITS = ((5, 5), (4, 4))
COARSE_MAX = 1024
COARSE_POINTS_PER_CLUSTER = 16


def quantize_soft(
    pixels: np.ndarray,
    k: int,
    space: str,
    dither: str,
    seed: int,
    steps: Steps,
    strength: float = 1.0,
    fixed: np.ndarray | None = None,
) -> Quantization:
    """Quantize an image with semi-transparent pixels to an RGBA palette.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 4), C-contiguous
    k : int
        Entries in total, the shared transparent one included.
    space, dither, seed
        As for :func:`kquant_gui.quantize`.
    steps : Steps
    strength : float
        The dithering strength, in (0, 1] (at 0 the caller asks for no dithering).
    fixed : ndarray of uint8, shape (m, 4), optional
        Colours with alpha kept exactly as palette entries (see :func:`cluster_rgba`), even
        when no pixel takes them.

    Returns
    -------
    Quantization
        ``image`` is ``palette[labels]`` (RGBA palette, largest share first, ties by colour
        and alpha); a fully transparent pixel stays fully transparent.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    steps.tick("histogram", 0.0)
    hist = rgba_histogram(pixels, steps)
    t1 = time.perf_counter()
    timings["histogram"] = t1 - t0
    if hist.colors.shape[0] == 0:
        # Nothing visible: one transparent entry.
        palette = np.array([TRANSPARENT_RGBA], np.uint8)
        points, transparent = np.empty((0, ALPHA_DIMS)), 0
    else:
        palette, points, transparent = cluster_rgba(hist, k, space, seed, steps, fixed)
    t2 = time.perf_counter()
    timings["clustering"] = t2 - t1
    steps.tick("mapping", 0.0)
    if palette.shape[0] > 1 and dither == "none":
        labels, counts, image, palette, transparent = _map_nearest(
            pixels, hist, points, palette, transparent, k, space, steps, own=fixed is None
        )
    else:
        if palette.shape[0] == 1:
            labels = np.zeros(pixels.shape[:2], np.uint8)
        elif dither == "floyd-steinberg":
            settled = _settled(pixels, hist, points, palette, space)
            labels = diffuse(
                pixels,
                palette,
                space=space,
                strength=strength,
                transparent=-1 if transparent is None else transparent,
                steps=steps,
                fixed=settled,
            )
        else:
            labels = _labels_ordered(
                pixels, hist, points, palette, transparent, space, steps, strength
            )
        image, counts = paint_labels(pixels, palette, labels, steps)
    labels, palette, counts, transparent = _in_share_order(
        labels, palette, counts, transparent, fixed
    )
    if k == 1 and hist.n_transparent and hist.colors.shape[0]:
        # One entry for everything: it is the visible one, and fully transparent pixels keep
        # alpha 0 in the image (an indexed file then needs a second entry for them).
        image[pixels[..., 3] == 0, 3] = 0
    timings["mapping"] = time.perf_counter() - t2
    return Quantization(
        image=image,
        palette=palette,
        labels=labels,
        counts=counts,
        transparent_index=transparent,
        k=k,
        color_space=space,
        dither=dither,
        seed=seed,
        distinct_colors=hist.colors.shape[0] if hist.exact else None,
        timings=timings,
        fixed=None if fixed is None else fixed.copy(),
    )


def _coarse_codes(colors: np.ndarray, bits: int, alpha_bits: int) -> np.ndarray:
    """Code of the top ``bits`` of each colour channel and ``alpha_bits`` of alpha, (m,)."""
    c = colors.astype(np.int64)
    shift = 8 - bits
    return (
        (c[:, 0] >> shift)
        | ((c[:, 1] >> shift) << bits)
        | ((c[:, 2] >> shift) << (2 * bits))
        | ((c[:, 3] >> (8 - alpha_bits)) << (3 * bits))
    )


def _levels(
    colors: np.ndarray, points: np.ndarray, weights: np.ndarray, k: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The points at decreasing resolutions, finest first, as the opaque path's levels: RGBA
    bin means of 5 and then 4 bits per channel while they stay much smaller and keep
    COARSE_POINTS_PER_CLUSTER points per cluster."""
    levels = [(points, weights)]
    for bits, alpha_bits in COARSE_BITS:
        size = levels[-1][0].shape[0]
        if size <= COARSE_MAX:
            break
        codes = _coarse_codes(colors, bits, alpha_bits)
        coarse = aggregate(points, weights, codes, 1 << (3 * bits + alpha_bits))
        if coarse[0].shape[0] > 0.7 * size or coarse[0].shape[0] < COARSE_POINTS_PER_CLUSTER * k:
            continue
        levels.append(coarse)
    return levels


def cluster_rgba(
    hist: RgbaHistogram,
    k: int,
    space: str,
    seed: int,
    steps: Steps,
    fixed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int | None]:
    """RGBA palette of at most ``k`` entries for the histogram.

    The histogram's entries weigh by their pixel count, not by alpha: the working space
    already makes a faint pixel's colour matter in proportion to its alpha, while its
    coverage (alpha) matters fully. With fully transparent pixels and ``k >= 2``, the
    transparent entry is a centre of its own that never moves: nearly invisible pixels fall to
    it rather than pulling a visible entry towards nothing. ``fixed`` colours (uint8, shape
    (m, 4), distinct, m <= k) are centres that never move either, the first entries; one with
    alpha 0 is the transparent entry.

    Returns
    -------
    palette : ndarray of uint8, shape (n, 4)
        Visible entries, then the transparent one ``(0, 0, 0, 0)`` when there is one.
    points : ndarray of float64, shape (m, 6)
        Working-space coordinates of the histogram's entries.
    transparent : int or None
        Index of the transparent entry.
    """
    points = to_alpha_space(hist.colors, space)
    weights = hist.counts.astype(np.float64)
    if fixed is None:
        fixed = np.empty((0, 4), np.uint8)
    fixed_transparent = bool((fixed[:, 3] == 0).any())
    fixed = fixed[fixed[:, 3] > 0]
    m = fixed.shape[0]
    # As on the opaque path, fully transparent pixels get their own entry only if the fixed
    # colours leave room for it.
    with_transparent = fixed_transparent or (hist.n_transparent > 0 and k >= 2 and k > m)
    k_visible = k - 1 if with_transparent else k
    few = hist.exact and hist.colors.shape[0] <= k_visible + m
    own = own_colors(fixed, hist.colors) if few else None
    if own is not None and m + own.shape[0] <= k_visible:
        visible = np.vstack([fixed, own])
    else:
        point = to_alpha_space(np.array([TRANSPARENT_RGBA], np.uint8), space)[0]
        centers = kmeans_on_levels(
            _levels(hist.colors, points, weights, k_visible),
            k_visible,
            seed,
            steps,
            fixed=to_alpha_space(fixed, space) if m else None,
            fixed_point=point if with_transparent else None,
        )
        floor = _opaque_floor(hist, points, centers)[m:]
        visible = np.vstack([fixed, from_alpha_space(centers[m:], space, min_alpha=floor)])
    if with_transparent:
        palette = np.vstack([visible, np.array([TRANSPARENT_RGBA], np.uint8)])
        return palette, points, visible.shape[0]
    return visible, points, None


def _opaque_floor(hist: RgbaHistogram, points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Lowest alpha of each cluster's entry: 255 where opaque pixels make up most of it.

    A cluster of opaque pixels with a few edge pixels in it has its mean at alpha 250 or so;
    the nearest entry would make the whole opaque area faintly see-through, which no one
    wants of an opaque photo (over a busy background it shows), for a gain in the composite
    score of a few hundredths. Such entries stay opaque.
    """
    labels, _ = nearest(points, centers)
    weights = hist.counts.astype(np.float64)
    opaque = np.bincount(
        labels, weights=weights * (hist.colors[:, 3] == 255), minlength=len(centers)
    )
    total = np.bincount(labels, weights=weights, minlength=len(centers))
    return np.where(opaque * 2 > total, 255, 1)


#: A pixel whose second-nearest entry is at most this much farther than its nearest may follow
#: its neighbours (see :func:`smooth.stream_labels`); as the opaque path's margins, in the same
#: units (about 1 dE, or 2 for small palettes whose entries lie far apart).
def _margin(k: int, space: str) -> float:
    if space == "rgb":
        return 1.0
    return 2.0 if k <= 32 else 1.0


def _pixel_index_source(hist: RgbaHistogram, pixels: np.ndarray):
    """``index(start, stop, scratch)``: the histogram entry (exact) or key (binned) of the
    flattened pixels ``start:stop``, and the table size it indexes."""
    if hist.inverse is not None:
        inverse = hist.inverse

        def by_inverse(start: int, stop: int, scratch: Scratch) -> np.ndarray:
            return inverse[start:stop]

        return by_inverse
    words = words_of(pixels)

    def by_key(start: int, stop: int, scratch: Scratch) -> np.ndarray:
        return pixel_keys(words[start:stop], scratch)

    return by_key


#: A pixel whose nearest entry is this close (working-space units, about 1 dE over white and
#: black) is not dithered: it takes that entry and passes no error on, so what the palette
#: already holds (flat areas, an image of few colours) stays clean.
SETTLED_DE = 1.0


def _settled(
    pixels: np.ndarray, hist: RgbaHistogram, points: np.ndarray, palette: np.ndarray, space: str
) -> np.ndarray:
    """Per pixel, the entry it keeps without dithering, or 0xFFFF; shape (H, W) uint16."""
    first, d1 = nearest(points, to_alpha_space(palette, space))
    per_entry = np.where(np.sqrt(d1) < SETTLED_DE, first, 0xFFFF).astype(np.uint16)
    table = _entry_table(hist, per_entry, np.uint16(0xFFFF))
    index = _pixel_index_source(hist, pixels)
    h, w = pixels.shape[:2]
    out = np.empty(h * w, np.uint16)
    scratch = Scratch(min(CHUNK, h * w))
    for s in range(0, h * w, CHUNK):
        e = min(s + CHUNK, h * w)
        out[s:e] = np.take(table, index(s, e, scratch), mode="wrap")
    return out.reshape(h, w)


def _entry_table(hist: RgbaHistogram, per_entry: np.ndarray, transparent_value) -> np.ndarray:
    """A table over what :func:`_pixel_index_source` yields: ``per_entry`` for the histogram's
    entries, ``transparent_value`` for fully transparent pixels."""
    if hist.inverse is not None:
        # inverse is -1 for transparent pixels, which indexes the last element.
        return np.append(per_entry, np.asarray(transparent_value, per_entry.dtype))
    table = np.zeros(N_KEYS, dtype=per_entry.dtype)
    table[hist.keys] = per_entry
    table[TRANSPARENT_KEY] = transparent_value
    return table


def _pairs(
    hist: RgbaHistogram,
    points: np.ndarray,
    palette: np.ndarray,
    transparent: int | None,
    k: int,
    space: str,
    own: bool = True,
) -> np.ndarray:
    """Label pair (nearest, and a second choice where nearly as near) of every histogram
    entry; see :func:`lut.entry_pairs`. ``own`` says the palette may be the histogram's own
    colours in its order (not so with fixed colours).

    The margin within which a pixel may follow its neighbours shrinks with its alpha. On an
    anti-aliased edge the neighbours lie on both sides of the edge, and letting faint pixels
    follow them made edges ragged: larger files and a higher error (text at k=256: 0.060 ->
    0.054 composite dE and 7% smaller), while noisy opaque areas keep the full margin.
    """
    n = palette.shape[0]
    if own and hist.exact and hist.colors.shape[0] == n - (transparent is not None):
        # The image's own colours: every pixel keeps its colour.
        own = np.arange(hist.colors.shape[0])
        return pair_table(own, own)
    margin = _margin(k, space) * (hist.colors[:, 3] / 255.0)
    return entry_pairs(points, to_alpha_space(palette, space), margin)


def _map_without_dither(
    pixels: np.ndarray,
    hist: RgbaHistogram,
    pairs: np.ndarray,
    palette: np.ndarray,
    transparent: int | None,
    steps: Steps,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label, smooth, count and paint every pixel (see :func:`smooth.stream_labels`).

    Returns labels (H, W), counts (n,) and the image (H, W, 4) painted from ``palette``.
    """
    t = transparent if transparent is not None else 0
    table = _entry_table(hist, pairs, np.uint16(t | t << 8))
    index = _pixel_index_source(hist, pixels)

    def source(start: int, stop: int, scratch: Scratch) -> np.ndarray:
        out = scratch.pairs[: stop - start]
        return np.take(table, index(start, stop, scratch), out=out, mode="wrap")

    return stream_labels(pixels, source, palette, steps)


def _share_order(palette: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order by share, largest first, ties by colour and alpha; and the rank of every index."""
    packed = palette.astype(np.uint64) << np.array([0, 8, 16, 24], np.uint64)
    order = np.lexsort((packed.sum(axis=1), -counts))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return order, rank


def _map_nearest(
    pixels: np.ndarray,
    hist: RgbaHistogram,
    points: np.ndarray,
    palette: np.ndarray,
    transparent: int | None,
    k: int,
    space: str,
    steps: Steps,
    own: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int | None]:
    """Every pixel to its nearest entry, near ties following their neighbours.

    The palette is numbered by expected share first (from the histogram), so that the labels
    come out in their final order.

    Returns labels (H, W), counts (n,), image (H, W, 4), the renumbered palette and
    transparent index.
    """
    n = palette.shape[0]
    pairs = _pairs(hist, points, palette, transparent, k, space, own)
    estimate = np.bincount(pairs & 0xFF, weights=hist.counts, minlength=n)
    if transparent is not None:
        estimate[transparent] += hist.n_transparent
    order, rank = _share_order(palette, estimate)
    palette = palette[order]
    transparent = int(rank[transparent]) if transparent is not None else None
    labels, counts, image = _map_without_dither(
        pixels, hist, rank_pairs(pairs, rank), palette, transparent, steps
    )
    return labels, counts, image, palette, transparent


def _in_share_order(
    labels: np.ndarray,
    palette: np.ndarray,
    counts: np.ndarray,
    transparent: int | None,
    fixed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None]:
    """Renumber by share (when not already so) and drop unused entries, which sort last,
    unless they are ``fixed`` colours (uint8, shape (m, 4))."""
    order, rank = _share_order(palette, counts)
    if not np.array_equal(order, np.arange(order.size)):
        labels = rank.astype(np.uint8)[labels]
        palette, counts = palette[order], counts[order]
        transparent = int(rank[transparent]) if transparent is not None else None
    keep = counts > 0
    if fixed is not None and not keep.all():
        wanted = {bytes(c) for c in fixed}
        keep |= np.array([bytes(c) in wanted for c in palette])
    if not keep.all():
        palette, counts = palette[keep], counts[keep]
        if transparent is not None and transparent >= palette.shape[0]:
            transparent = None
    return labels, palette, counts, transparent


def _labels_ordered(
    pixels: np.ndarray,
    hist: RgbaHistogram,
    points: np.ndarray,
    palette: np.ndarray,
    transparent: int | None,
    space: str,
    steps: Steps,
    strength: float = 1.0,
) -> np.ndarray:
    """Ordered (8x8 Bayer) dithering between each colour's two nearest entries (thresholds
    ``t`` weakened to ``1 - strength (1 - t)``, as in :func:`.dither.ordered_labels`).

    The share of the second entry is the colour's position on the segment between the two
    entries in premultiplied linear light and alpha, which is what neighbouring pixels blend
    to on screen over any background: a tile reproduces colour and coverage alike.
    """
    n = palette.shape[0]
    h, w = pixels.shape[:2]
    if n > 1:
        first, second, _, _ = two_nearest(points, to_alpha_space(palette, space))
    else:
        first = second = np.zeros(points.shape[0], np.intp)
    pm = premultiplied_linear(palette)
    p1, p2 = pm[first], pm[second]
    seg = p2 - p1
    length2 = np.einsum("ij,ij->i", seg, seg)
    along = np.einsum("ij,ij->i", premultiplied_linear(hist.colors) - p1, seg)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(length2 > 0, along / length2, 0.0)
    mix = np.rint(np.clip(share, 0.0, 1.0) * 255.0).astype(np.uint8)
    t = transparent if transparent is not None else 0
    t_first = _entry_table(hist, first.astype(np.uint8), t)
    t_second = _entry_table(hist, second.astype(np.uint8), t)
    t_mix = _entry_table(hist, mix, 0)
    threshold = np.rint((1.0 - strength * (1.0 - bayer_matrix(3))) * 255.0).astype(np.uint8)
    index = _pixel_index_source(hist, pixels)
    labels = np.empty(h * w, dtype=np.uint8)
    rows = max(8, (CHUNK // max(w, 1)) // 8 * 8)
    tile = np.tile(threshold, (rows // 8, -(-w // 8)))[:, :w].reshape(-1)

    def part(i: int, first_row: int, end_row: int) -> None:
        scratch = Scratch(min(rows, end_row - first_row) * w)
        for y0 in range(first_row, end_row, rows):
            y1 = min(end_row, y0 + rows)
            idx = index(y0 * w, y1 * w, scratch)
            use_second = np.take(t_mix, idx, mode="wrap") > tile[: (y1 - y0) * w]
            labels[y0 * w : y1 * w] = np.where(
                use_second, np.take(t_second, idx, mode="wrap"), np.take(t_first, idx, mode="wrap")
            )
            done = part_progress(i, first_row, end_row, y1, h)
            steps.check() if done is None else steps.tick("mapping", done)

    run_parts(part, h, min_size=4 * rows, align=rows)
    return labels.reshape(h, w)

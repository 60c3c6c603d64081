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

from dataclasses import dataclass

import numpy as np

from .alpha import ALPHA_DIMS, TRANSPARENT_RGBA, from_alpha_space, to_alpha_space
from .histogram import CHUNK, Scratch, bin_codes, gather_fields
from .kmeans import best_of_starts, lloyd, nearest
from .parallel import part_progress, run_parts
from .progress import Steps

#: Up to this many pixels the histogram holds every distinct RGBA colour exactly.
EXACT_MAX_PIXELS = 2_000_000
#: Binned keys (larger images): opaque pixels by 18-bit bin (6 bits per channel), as the
#: opaque path bins a photo; semi-transparent ones by 5 bits per colour channel and 6 of
#: alpha; the fully transparent ones share the last key.
OPAQUE_KEYS = 1 << 18
SEMI_KEYS = 1 << 21
TRANSPARENT_KEY = OPAQUE_KEYS + SEMI_KEYS
N_KEYS = TRANSPARENT_KEY + 1
#: r5 | g5 << 5 | b5 << 10 | a6 << 15 from r | g << 8 | b << 16 | a << 24.
SEMI_FIELDS = ((3, 0x1F), (6, 0x3E0), (9, 0x7C00), (11, 0x1F8000))
#: Coarser levels for k-means on many points: bits kept per colour channel and of alpha.
COARSE_BITS = ((5, 5), (4, 4))
COARSE_MAX = 1024
COARSE_POINTS_PER_CLUSTER = 16
REFINE_ITER = 3
REFINE_MAX_POINTS = 200_000
TOL = 0.05
COARSE_TOL = 0.5
SMALL_K = 16
N_INIT_SMALL_K = 3


def has_soft_alpha(pixels: np.ndarray) -> bool:
    """True when an RGBA image has a pixel that is neither opaque nor fully transparent.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    """
    if pixels.shape[2] != 4:
        return False
    alpha = pixels[..., 3]
    # (a - 1) wraps 0 to 255, so "a - 1 < 254" is "0 < a < 255", in one pass per chunk.
    flat = alpha.reshape(-1)
    for s in range(0, flat.shape[0], CHUNK):
        part = flat[s : s + CHUNK] - np.uint8(1)
        if (part < 254).any():
            return True
    return False


@dataclass
class RgbaHistogram:
    """Weighted RGBA colours of an image.

    Attributes
    ----------
    colors : ndarray of uint8, shape (m, 4)
        Distinct visible RGBA colours (``exact``), or the centre of every occupied key.
    counts : ndarray of int64, shape (m,)
        Pixels per entry.
    exact : bool
    keys : ndarray of int64, shape (m,)
        Binned histograms: the key of every entry (see :func:`pixel_keys`).
    inverse : ndarray of intp, shape (N,) or None
        Exact histograms: the entry of every pixel, -1 for fully transparent ones.
    n_transparent : int
    """

    colors: np.ndarray
    counts: np.ndarray
    exact: bool
    keys: np.ndarray
    inverse: np.ndarray | None
    n_transparent: int


def pixel_keys(words: np.ndarray, scratch: Scratch) -> np.ndarray:
    """Binned key of packed RGBA words (see :data:`OPAQUE_KEYS`), in ``scratch.index``."""
    n = words.shape[0]
    keys = scratch.index[:n]
    keys[...] = bin_codes(words, scratch.codes, scratch.tmp)
    alpha = np.right_shift(words, 24, out=scratch.tmp[:n])
    # Most pixels of a cut-out are opaque or fully transparent: only the others get a key of
    # their own kind, computed for them alone. (alpha - 1 wraps 0 to the top, so
    # "alpha - 1 < 254" is "0 < alpha < 255".)
    alpha -= 1
    semi = np.flatnonzero(alpha < 254)
    if semi.size:
        keys[semi] = gather_fields(words[semi], SEMI_FIELDS).astype(np.intp) + OPAQUE_KEYS
    hidden = np.flatnonzero(alpha == 0xFFFFFFFF)
    if hidden.size:
        keys[hidden] = TRANSPARENT_KEY
    return keys


def _key_colors(keys: np.ndarray) -> np.ndarray:
    """The RGBA colour standing for each visible key: its bin's centre, shape (m, 4)."""
    out = np.empty((keys.shape[0], 4), dtype=np.uint8)
    opaque = keys < OPAQUE_KEYS
    k = keys[opaque]
    out[opaque, 0] = ((k & 0x3F) << 2) + 2
    out[opaque, 1] = (((k >> 6) & 0x3F) << 2) + 2
    out[opaque, 2] = (((k >> 12) & 0x3F) << 2) + 2
    out[opaque, 3] = 255
    s = keys[~opaque] - OPAQUE_KEYS
    out[~opaque, 0] = ((s & 0x1F) << 3) + 4
    out[~opaque, 1] = (((s >> 5) & 0x1F) << 3) + 4
    out[~opaque, 2] = (((s >> 10) & 0x1F) << 3) + 4
    # Alpha 1..254 in 64 steps of 4: the middle of each step, kept off 0 and 255.
    out[~opaque, 3] = np.clip((((s >> 15) & 0x3F) << 2) + 2, 1, 254)
    return out


def _words(pixels: np.ndarray) -> np.ndarray:
    """The image as packed RGBA words ``r | g << 8 | b << 16 | a << 24``, shape (N,)."""
    flat = np.ascontiguousarray(pixels).reshape(-1, 4)
    return flat.view("<u4").reshape(-1).astype(np.uint32, copy=False)


def rgba_histogram(pixels: np.ndarray, steps: Steps | None = None) -> RgbaHistogram:
    """Histogram of an RGBA image's colours: exact up to EXACT_MAX_PIXELS, else binned.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 4)
    steps : Steps, optional

    Returns
    -------
    RgbaHistogram
    """
    words = _words(pixels)
    n = words.shape[0]
    if n <= EXACT_MAX_PIXELS:
        visible = (words >> 24) != 0
        n_transparent = int(n - np.count_nonzero(visible))
        uniq, inv, counts = np.unique(words[visible], return_inverse=True, return_counts=True)
        inverse = np.full(n, -1, dtype=np.intp)
        inverse[visible] = inv
        if steps is not None:
            steps.tick("histogram", 1.0)
        colors = uniq.view(np.uint8).reshape(-1, 4) if uniq.size else np.empty((0, 4), np.uint8)
        return RgbaHistogram(
            colors=np.array(colors),
            counts=counts.astype(np.int64),
            exact=True,
            keys=np.empty(0, dtype=np.int64),
            inverse=inverse,
            n_transparent=n_transparent,
        )

    def count(index: int, start: int, stop: int) -> np.ndarray:
        total = np.zeros(N_KEYS, dtype=np.int64)
        scratch = Scratch(min(CHUNK, stop - start))
        for s in range(start, stop, CHUNK):
            e = min(s + CHUNK, stop)
            total += np.bincount(pixel_keys(words[s:e], scratch), minlength=N_KEYS)
            if steps is not None:
                done = part_progress(index, start, stop, e, n)
                steps.check() if done is None else steps.tick("histogram", done)
        return total

    totals = np.sum(run_parts(count, n, min_size=4 * CHUNK, align=CHUNK), axis=0)
    n_transparent = int(totals[TRANSPARENT_KEY])
    keys = np.flatnonzero(totals[:TRANSPARENT_KEY])
    return RgbaHistogram(
        colors=_key_colors(keys),
        counts=totals[keys],
        exact=False,
        keys=keys,
        inverse=None,
        n_transparent=n_transparent,
    )


def _coarse_codes(colors: np.ndarray, bits: int, alpha_bits: int) -> np.ndarray:
    c = colors.astype(np.int64)
    shift = 8 - bits
    return (
        (c[:, 0] >> shift)
        | ((c[:, 1] >> shift) << bits)
        | ((c[:, 2] >> shift) << (2 * bits))
        | ((c[:, 3] >> (8 - alpha_bits)) << (3 * bits))
    )


def _aggregate(
    points: np.ndarray, weights: np.ndarray, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of ``points`` per distinct code: (means (p, d), mass (p,))."""
    _, dense = np.unique(codes, return_inverse=True)
    p = int(dense.max()) + 1
    mass = np.bincount(dense, weights=weights, minlength=p)
    sums = np.stack(
        [
            np.bincount(dense, weights=weights * points[:, j], minlength=p)
            for j in range(ALPHA_DIMS)
        ],
        axis=1,
    )
    return sums / mass[:, None], mass


def _levels(
    colors: np.ndarray, points: np.ndarray, weights: np.ndarray, k: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The points at decreasing resolutions, finest first (as the opaque path's levels)."""
    levels = [(points, weights)]
    for bits, alpha_bits in COARSE_BITS:
        size = levels[-1][0].shape[0]
        if size <= COARSE_MAX:
            break
        coarse = _aggregate(points, weights, _coarse_codes(colors, bits, alpha_bits))
        if coarse[0].shape[0] > 0.7 * size or coarse[0].shape[0] < COARSE_POINTS_PER_CLUSTER * k:
            continue
        levels.append(coarse)
    return levels


def cluster_rgba(
    hist: RgbaHistogram, k: int, space: str, seed: int, steps: Steps
) -> tuple[np.ndarray, np.ndarray, int | None]:
    """RGBA palette of at most ``k`` entries for the histogram.

    Returns
    -------
    palette : ndarray of uint8, shape (n, 4)
        Visible entries, then the transparent one (alpha 0) when the image has fully
        transparent pixels and ``k >= 2``.
    points : ndarray of float64, shape (m, 6)
        Working-space coordinates of the histogram's entries.
    transparent : int or None
        Index of the transparent entry.
    """
    points = to_alpha_space(hist.colors, space)
    weights = hist.counts.astype(np.float64)
    with_transparent = hist.n_transparent > 0 and k >= 2
    k_visible = k - 1 if with_transparent else k
    m = hist.colors.shape[0]
    if hist.exact and m <= k_visible:
        visible = hist.colors.copy()
    else:
        centers = _kmeans(
            hist.colors, points, weights, k_visible, space, seed, steps, with_transparent
        )
        visible = from_alpha_space(centers, space, min_alpha=_opaque_floor(hist, points, centers))
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


def _kmeans(
    colors: np.ndarray,
    points: np.ndarray,
    weights: np.ndarray,
    k: int,
    space: str,
    seed: int,
    steps: Steps,
    with_transparent: bool,
) -> np.ndarray:
    """Centres of ``k`` visible clusters, shape (k', 6), k' <= k (see :func:`cluster_rgba`).

    With ``with_transparent``, a fixed centre at the fully transparent point runs alongside
    (and is not returned): nearly invisible pixels fall to it rather than pulling a visible
    entry towards nothing.
    """
    fixed_point = to_alpha_space(np.array([TRANSPARENT_RGBA], np.uint8), space)
    levels = _levels(colors, points, weights, k)
    refine = []
    for level in reversed(range(len(levels) - 1)):
        if levels[level][0].shape[0] > REFINE_MAX_POINTS or (level == 0 and k <= 64):
            break
        refine.append(levels[level])
    pts, wts = levels[-1]
    kk = min(k, pts.shape[0])
    fixed = kk if with_transparent else None

    def with_fixed(c: np.ndarray) -> np.ndarray:
        return np.vstack([c, fixed_point]) if with_transparent else c

    if pts.shape[0] <= kk:
        centers = with_fixed(pts.copy())
    else:
        n_init = N_INIT_SMALL_K if kk <= SMALL_K else 1
        tol = COARSE_TOL if refine and n_init == 1 else TOL
        centers = best_of_starts(
            pts,
            wts,
            kk,
            seed,
            n_init=n_init,
            tol=tol,
            steps=steps,
            fixed_point=fixed_point[0] if with_transparent else None,
        )
    for pts, wts in refine:
        centers = lloyd(
            pts,
            wts,
            centers,
            max_iter=REFINE_ITER,
            tol=TOL,
            steps=steps,
            stage="refining",
            fixed=fixed,
        )
    return centers[:kk]


#: A pixel whose second-nearest entry is at most this much farther than its nearest may follow
#: its neighbours (see :func:`remap.stream_labels`); as the opaque path's margins, in the same
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
    words = _words(pixels)

    def by_key(start: int, stop: int, scratch: Scratch) -> np.ndarray:
        return pixel_keys(words[start:stop], scratch)

    return by_key


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
) -> np.ndarray:
    """Label pair (nearest, and a second choice where nearly as near) of every histogram
    entry; see :func:`remap.entry_pairs`.

    The margin within which a pixel may follow its neighbours shrinks with its alpha. On an
    anti-aliased edge the neighbours lie on both sides of the edge, and letting faint pixels
    follow them made edges ragged: larger files and a higher error (text at k=256: 0.060 ->
    0.054 composite dE and 7% smaller), while noisy opaque areas keep the full margin.
    """
    from .remap import entry_pairs, pair_table

    n = palette.shape[0]
    if hist.exact and hist.colors.shape[0] == n - (transparent is not None):
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
    """Label, smooth, count and paint every pixel (see :func:`remap.stream_labels`).

    Returns labels (H, W), counts (n,) and the image (H, W, 4) painted from ``palette``.
    """
    from .remap import stream_labels

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


def _labels_ordered(
    pixels: np.ndarray,
    hist: RgbaHistogram,
    points: np.ndarray,
    palette: np.ndarray,
    transparent: int | None,
    space: str,
    steps: Steps,
) -> np.ndarray:
    """Ordered (8x8 Bayer) dithering between each colour's two nearest entries.

    The share of the second entry is the colour's position on the segment between the two
    entries in premultiplied linear light and alpha, which is what neighbouring pixels blend
    to on screen over any background: a tile reproduces colour and coverage alike.
    """
    from .alpha import premultiplied_linear
    from .kmeans import two_nearest
    from .remap import bayer_matrix

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
    threshold = np.rint(bayer_matrix(3) * 255.0).astype(np.uint8)
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


def quantize_soft(
    pixels: np.ndarray, k: int, space: str, dither: str, seed: int, steps: Steps
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int | None, int | None]:
    """Quantize an image with semi-transparent pixels to an RGBA palette.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 4), C-contiguous
    k : int
        Entries in total, the shared transparent one included.
    space, dither, seed
        As for :func:`kquant_gui.quantize`.
    steps : Steps

    Returns
    -------
    image : ndarray of uint8, shape (H, W, 4)
        ``palette[labels]``; a fully transparent pixel stays fully transparent.
    palette : ndarray of uint8, shape (n, 4)
        Largest share first, ties by colour; entries no pixel uses are dropped.
    labels : ndarray of uint8, shape (H, W)
    counts : ndarray of int64, shape (n,)
    transparent_index : int or None
        The entry of the fully transparent pixels.
    distinct : int or None
        Distinct visible RGBA colours, when counted exactly.
    """
    steps.tick("histogram", 0.0)
    hist = rgba_histogram(pixels, steps)
    if hist.colors.shape[0] == 0:
        # Nothing visible: one transparent entry.
        palette = np.array([TRANSPARENT_RGBA], np.uint8)
        points, transparent = np.empty((0, ALPHA_DIMS)), 0
    else:
        palette, points, transparent = cluster_rgba(hist, k, space, seed, steps)
    steps.tick("mapping", 0.0)
    n = palette.shape[0]
    t = transparent
    if n > 1 and dither == "none":
        from .remap import rank_pairs

        pairs = _pairs(hist, points, palette, transparent, k, space)
        # Number the palette by the expected shares first, so that the labels come out in
        # their final order (smoothing moves a few pixels; a reorder that causes is redone
        # below).
        estimate = np.bincount(pairs & 0xFF, weights=hist.counts, minlength=n)
        if t is not None:
            estimate[t] += hist.n_transparent
        order, rank = _share_order(palette, estimate)
        palette = palette[order]
        t = int(rank[t]) if t is not None else None
        labels, counts, image = _map_without_dither(
            pixels, hist, rank_pairs(pairs, rank), palette, t, steps
        )
    else:
        from .remap import paint_labels

        if n == 1:
            labels = np.zeros(pixels.shape[:2], np.uint8)
        else:
            labels = _labels_ordered(pixels, hist, points, palette, t, space, steps)
        image, counts = paint_labels(pixels, palette, labels, steps)
    order, rank = _share_order(palette, counts)
    if not np.array_equal(order, np.arange(n)):
        labels = rank.astype(np.uint8)[labels]
        palette, counts = palette[order], counts[order]
        t = int(rank[t]) if t is not None else None
    keep = counts > 0
    if not keep.all():
        # Unused entries sort last: dropping them renumbers nothing.
        palette, counts = palette[keep], counts[keep]
        if t is not None and t >= palette.shape[0]:
            t = None
    if k == 1 and hist.n_transparent and hist.colors.shape[0]:
        # One entry for everything: it is the visible one, and fully transparent pixels keep
        # alpha 0 in the image (an indexed file then needs a second entry for them).
        image[pixels[..., 3] == 0, 3] = 0
    distinct = hist.colors.shape[0] if hist.exact else None
    return image, palette, labels, counts, t, distinct

"""Colour histograms of an image: the pixels k-means actually needs to see.

K-means runs on colours weighted by how many pixels carry them (and by their alpha), never on
every pixel. Images up to 2 megapixels get an exact histogram of their distinct colours.
Larger ones get an 18-bit histogram (6 bits per channel), streamed in well under 0.1 s for 24
megapixels, in which each bin stands for the mean colour of its pixels: an image whose colours
fall in separate bins (pixel art, posters, logos) keeps its exact colours, one with at most k
occupied bins is checked and, if need be, histogrammed exactly, and one with too few bins for
the palette asked for (colours crowded in the dark) is histogrammed exactly up to 4 MP.

Pixels are read in chunks of packed 32-bit words (see :mod:`packing`) so that every temporary
stays in cache; that, not the arithmetic, is what makes the large-image path fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import packing
from .packing import (
    N_BINS,
    Scratch,
    bin_centers,
    bin_codes,
    iter_words,
    pack_rgb,
    sampled_words,
    unpack_rgb,
    words_range,
)
from .parallel import part_progress, run_parts
from .progress import Steps

#: Large images with at most this many occupied 18-bit bins get the mean colour of every bin
#: (a second pass over the pixels); with more, bins of images above MEANS_MAX_PIXELS stand for
#: their centres.
MEMBER_BINS_MAX = 4096
#: Up to this size a binned histogram sums its pixels' colours per bin as it counts them, so
#: each bin stands for the mean of its colours. Where colours crowd (dark, low-contrast
#: photos) a bin's centre is up to 2 levels off, several dE in the dark: on a 2 MP dark photo
#: mean dE2000 at k=16 1.32 -> 1.19, on a screenshot 1.94 -> 1.16, for ~10% more histogram time.
MEANS_MAX_PIXELS = 4_000_000
#: A binned histogram with fewer occupied bins than this many per palette entry is too coarse
#: for that palette (a dark photo: 959 bins for k=16), and images up to COARSE_EXACT_FACTOR
#: times EXACT_MAX_PIXELS (4 MP) then take the exact histogram instead: 2 MP dark photo k=64
#: mean dE2000 0.88 -> 0.70.
BINS_PER_ENTRY_MIN = 256
COARSE_EXACT_FACTOR = 2
#: Images with at most this many pixels get an exact histogram of their distinct colours.
EXACT_MAX_PIXELS = 2_000_000


@dataclass
class Histogram:
    """Weighted colours of an image.

    Attributes
    ----------
    colors : ndarray of uint8, shape (m, 3)
        Distinct visible colours (``exact``), or per occupied 18-bit bin the mean colour of
        its pixels, rounded, or on a large photo the bin's centre (see
        :func:`binned_histogram`).
    counts : ndarray of int64, shape (m,)
        Pixels per entry.
    weights : ndarray of float64, shape (m,)
        Pixels per entry weighted by alpha / 255 (equal to ``counts`` without alpha).
    exact : bool
        True when ``colors`` are exactly the distinct visible colours.
    codes : ndarray of uint32, shape (m,)
        The 18-bit bin of each entry.
    inverse : ndarray of intp, shape (N,) or None
        Exact mode: the entry of every pixel (``-1`` for fully transparent ones).
    n_transparent : int
        Fully transparent pixels (alpha 0), which take no part in clustering.
    sampled : bool
        True when the bins were counted on a quarter of the pixels (see
        :func:`binned_histogram`): some rare occupied bins may be missing, and counts are
        estimates scaled to the whole image.
    centers : bool
        True when ``colors`` are the bins' centres (a binned photo), whose working-space
        coordinates are tabulated once per colour space.
    means : ndarray of float64, shape (m, 3), or None
        A binned histogram's mean colour per bin on the 0-255 scale, unrounded (``colors``
        rounds it); None for exact histograms and bin centres.
    """

    colors: np.ndarray
    counts: np.ndarray
    weights: np.ndarray
    exact: bool
    codes: np.ndarray
    inverse: np.ndarray | None
    n_transparent: int
    sampled: bool = False
    centers: bool = False
    means: np.ndarray | None = None


def _alpha(words: np.ndarray) -> np.ndarray:
    return (words >> 24).astype(np.uint8)


def _sorted_with_order(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` sorted, and the order that sorts them stably (``argsort(kind="stable")``):
    24-bit values in, shape (n,) uint32; the sorted values (uint32) and the order (intp) out.

    Each value and its index share one 64-bit key (value above, index below), so one plain
    sort of the keys gives both, and equal values stay in index order. numpy 2's vectorised
    sort makes that 1.5x faster than two stable radix passes on 16-bit halves for a
    2-million-pixel sample (68 ms against 103 ms), 2.5x for 24 million (0.94 s against 2.3 s).
    """
    n = values.size
    shift = np.uint64(max(int(n - 1).bit_length(), 1))
    keys = values.astype(np.uint64) << shift
    keys |= np.arange(n, dtype=np.uint64)
    keys.sort()
    order = (keys & ((np.uint64(1) << shift) - np.uint64(1))).astype(np.intp)
    keys >>= shift
    return keys.astype(values.dtype), order


def _unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted distinct values, the index of each value among them, and their counts.

    ``np.unique(..., return_inverse=True)`` for 24-bit colour words, shape (n,) uint32 (see
    :func:`_sorted_with_order`).
    """
    if values.size == 0:
        empty = np.empty(0, dtype=np.intp)
        return values[:0], empty, empty
    ordered, order = _sorted_with_order(values)
    first = np.empty(ordered.size, dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(ordered.size, dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, ordered.size))
    return ordered[first], inverse, counts


def exact_histogram(pixels: np.ndarray, steps: Steps | None = None) -> Histogram:
    """Exact histogram of the distinct visible colours.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    steps : Steps, optional
        Progress and cancellation, under the stage ``"histogram"``.

    Returns
    -------
    Histogram
    """
    n = pixels.shape[0] * pixels.shape[1]
    words = np.empty(n, dtype=np.uint32)
    for s, part in iter_words(pixels):
        words[s : s + part.shape[0]] = part
        if steps is not None:
            steps.tick("histogram", 0.3 * (s + part.shape[0]) / n)
    has_alpha = pixels.shape[2] == 4
    if has_alpha:
        alpha = _alpha(words)
        visible = alpha > 0
        n_transparent = int(n - np.count_nonzero(visible))
        rgb = words & np.uint32(0xFFFFFF)
        uniq, inv, counts = _unique(rgb[visible])
        weights = np.bincount(inv, weights=alpha[visible] / 255.0, minlength=uniq.shape[0])
        inverse_all = np.full(n, -1, dtype=np.intp)
        inverse_all[visible] = inv
    else:
        n_transparent = 0
        uniq, inverse_all, counts = _unique(words)
        weights = counts.astype(np.float64)
    if steps is not None:
        steps.tick("histogram", 1.0)
    return Histogram(
        colors=unpack_rgb(uniq),
        counts=counts.astype(np.int64),
        weights=weights,
        exact=True,
        codes=bin_codes(uniq),
        inverse=inverse_all,
        n_transparent=n_transparent,
    )


def binned_histogram(
    pixels: np.ndarray, steps: Steps | None = None, *, sample: bool = False
) -> Histogram:
    """18-bit histogram streamed in chunks.

    Each bin stands for the mean colour of its pixels, summed as they are counted (up to
    MEANS_MAX_PIXELS) or in a second pass (few bins: a poster, a logo, pixel art), so colours
    that fall in bins of their own stay exact. A larger photo's tens of thousands of bins stand
    for their centres, which measured the same mean dE2000 on the 24 MP benchmark image and
    saves that pass (a quarter of the histogram's time).

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4), C-contiguous
    steps : Steps, optional
        Progress and cancellation, under the stage ``"histogram"``.
    sample : bool
        Count every other pixel of every other row only (RGB images of at least 2 pixels a
        side): a quarter of the work, and on the 24 MP benchmark the same mean dE2000 within
        0.02 at k = 4-32. Bins seen only among the other pixels (0.1% of that image's pixels)
        are missing; whoever maps pixels through the bins must handle them.

    Returns
    -------
    Histogram
        ``exact`` is False and ``inverse`` None; pixels map to entries through their bin.
    """
    n = pixels.shape[0] * pixels.shape[1]
    chunk = packing.CHUNK
    has_alpha = pixels.shape[2] == 4
    if sample and (has_alpha or min(pixels.shape[:2]) < 2 or not pixels.flags.c_contiguous):
        sample = False
    if sample:
        return _sampled_histogram(pixels, steps)

    def visible_words(s: int, e: int) -> tuple[np.ndarray, np.ndarray | None, int]:
        words = words_range(pixels, s, e)
        if not has_alpha:
            return words, None, 0
        alpha = _alpha(words)
        visible = alpha > 0
        return words[visible], alpha[visible], int(words.shape[0] - np.count_nonzero(visible))

    with_sums = n <= MEANS_MAX_PIXELS

    def count(index: int, start: int, stop: int):
        counts = np.zeros(N_BINS, dtype=np.int64)
        weights = np.zeros(N_BINS, dtype=np.float64) if has_alpha else None
        sums = np.zeros((3, N_BINS), dtype=np.float64) if with_sums else None
        n_transparent = 0
        scratch = Scratch(min(chunk, stop - start))
        for s in range(start, stop, chunk):
            e = min(s + chunk, stop)
            if has_alpha:
                words, alpha, hidden = visible_words(s, e)
                n_transparent += hidden
            else:
                words, alpha = words_range(pixels, s, e, scratch.words), None
            codes = bin_codes(words, scratch.codes, scratch.tmp)
            counts += np.bincount(codes, minlength=N_BINS)
            if weights is not None:
                weights += np.bincount(codes, weights=alpha / 255.0, minlength=N_BINS)
            if sums is not None:
                _add_offsets(sums, words, codes)
            if steps is not None:
                done = part_progress(index, start, stop, s + chunk, n)
                steps.check() if done is None else steps.tick("histogram", done)
        return counts, weights, n_transparent, sums

    parts = run_parts(count, n, min_size=4 * chunk, align=chunk)
    counts, weights, n_transparent, sums = parts[0]
    for more_counts, more_weights, more_transparent, more_sums in parts[1:]:
        counts += more_counts
        if weights is not None:
            weights += more_weights
        if sums is not None:
            sums += more_sums
        n_transparent += more_transparent
    occupied = np.flatnonzero(counts).astype(np.uint32)
    bin_counts = counts[occupied]
    bin_weights = weights[occupied] if weights is not None else bin_counts.astype(np.float64)
    means = None if sums is None else _means(occupied, sums[:, occupied], bin_counts)
    return _from_bins(pixels, occupied, bin_counts, bin_weights, n_transparent, steps, means)


def _sampled_histogram(pixels: np.ndarray, steps: Steps | None) -> Histogram:
    """:func:`binned_histogram` of every other pixel of every other row (RGB only)."""
    h, w = pixels.shape[:2]
    # Even: blocks start on sampled rows.
    rows = max(2, (2 * packing.CHUNK // max(w, 1)) // 2 * 2)

    def count(index: int, first_row: int, end_row: int) -> np.ndarray:
        counts = np.zeros(N_BINS, dtype=np.int64)
        scratch = Scratch(((min(rows, end_row - first_row) + 1) // 2) * (w // 2))
        for y0 in range(first_row, end_row, rows):
            y1 = min(end_row, y0 + rows)
            words = sampled_words(pixels, y0, y1, scratch.words)
            counts += np.bincount(bin_codes(words, scratch.codes, scratch.tmp), minlength=N_BINS)
            if steps is not None:
                done = part_progress(index, first_row, end_row, y1, h)
                steps.check() if done is None else steps.tick("histogram", done)
        return counts

    counts = np.sum(run_parts(count, h, min_size=8 * rows, align=rows), axis=0)
    occupied = np.flatnonzero(counts).astype(np.uint32)
    # Each sampled pixel stands for the four of its 2x2 block (about: odd edges are left out).
    scale = (h * w) / max(1, int(counts.sum()))
    bin_counts = np.rint(counts[occupied] * scale).astype(np.int64)
    weights = counts[occupied] * scale
    return _from_bins(pixels, occupied, bin_counts, weights, 0, steps, None, sampled=True)


def _from_bins(
    pixels: np.ndarray,
    occupied: np.ndarray,
    counts: np.ndarray,
    weights: np.ndarray,
    n_transparent: int,
    steps: Steps | None,
    means: np.ndarray | None,
    *,
    sampled: bool = False,
) -> Histogram:
    """The binned histogram of the ``occupied`` bins, shape (m,) uint32, with their pixel
    ``counts`` (int64) and alpha ``weights`` (float64). Bins stand for the ``means`` of their
    colours, shape (m, 3) float64, when given; else, when there are few, for means found in
    a second pass; else for their centres."""
    if means is None and occupied.size <= MEMBER_BINS_MAX:
        means = _bin_means(pixels, occupied, steps)
    if means is None:
        colors = bin_centers()[occupied]
    else:
        colors = np.clip(np.rint(means), 0, 255).astype(np.uint8)
    return Histogram(
        colors=colors,
        counts=counts,
        weights=weights,
        exact=False,
        codes=occupied,
        inverse=None,
        n_transparent=n_transparent,
        sampled=sampled,
        centers=means is None,
        means=means,
    )


def _add_offsets(sums: np.ndarray, words: np.ndarray, codes: np.ndarray) -> None:
    """Add each pixel's position inside its bin (the low 2 bits of r, g and b) to ``sums``.

    Parameters
    ----------
    sums : ndarray of float64, shape (3, N_BINS)
    words : ndarray of uint32, shape (n,)
        Packed colours.
    codes : ndarray of uint32, shape (n,)
        Their 18-bit bins.
    """
    low = words & np.uint32(0x030303)
    for j in range(3):
        offset = ((low >> np.uint32(8 * j)) & np.uint32(3)).astype(np.float64)
        sums[j] += np.bincount(codes, weights=offset, minlength=N_BINS)


def _means(occupied: np.ndarray, offset_sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean colours of the ``occupied`` bins from their summed in-bin offsets, shape (3, m),
    and pixel counts, shape (m,): shape (m, 3) float64 on the 0-255 scale."""
    low_corner = bin_centers()[occupied].astype(np.float64) - 2.0
    return low_corner + (offset_sums / np.maximum(counts, 1)).T


def _bin_means(pixels: np.ndarray, occupied: np.ndarray, steps: Steps | None) -> np.ndarray:
    """Mean colour of the visible pixels of each of the ``occupied`` bins, shape (m, 3).

    All pixels are read, also where the bins were counted on a sample; a bin no pixel falls in
    (none, in fact) would get its lowest corner.
    """
    counts = np.zeros(N_BINS, dtype=np.int64)
    sums = np.zeros((3, N_BINS), dtype=np.float64)
    for _, words in iter_words(pixels):
        if pixels.shape[2] == 4:
            words = words[(words >> 24) > 0] & np.uint32(0xFFFFFF)
        codes = bin_codes(words)
        counts += np.bincount(codes, minlength=N_BINS)
        _add_offsets(sums, words, codes)
        if steps is not None:
            steps.check()
    return _means(occupied, sums[:, occupied], counts[occupied])


def bins_are_single_colour(pixels: np.ndarray, hist: Histogram) -> bool:
    """True when every occupied bin of a binned histogram holds exactly one colour (and, for a
    sampled histogram, when no pixel lies in a bin the sample missed)."""
    # 0xFFFFFFFF is no 24-bit colour: a pixel of a bin the histogram lacks never matches it.
    rep = np.full(N_BINS, 0xFFFFFFFF, dtype=np.uint32)
    rep[hist.codes] = pack_rgb(hist.colors)
    for _, words in iter_words(pixels):
        if pixels.shape[2] == 4:
            words = words[(words >> 24) > 0]
        rgb = words & np.uint32(0xFFFFFF)
        if not np.array_equal(rep[bin_codes(rgb)], rgb):
            return False
    return True


def histogram(
    pixels: np.ndarray,
    k: int,
    steps: Steps | None = None,
    *,
    exact_max_pixels: int | None = None,
    sample: bool = False,
) -> Histogram:
    """The histogram ``quantize`` clusters: exact when small or when the image has few colours.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4), C-contiguous
    k : int
        Requested palette size; an image with at most ``k`` occupied bins is checked for
        having at most ``k`` colours, which are then kept exactly.
    steps : Steps, optional
    exact_max_pixels : int, optional
        A lower size limit for the exact histogram than EXACT_MAX_PIXELS.
    sample : bool
        Let a binned histogram count a quarter of the pixels (see :func:`binned_histogram`).

    Returns
    -------
    Histogram
    """
    n = pixels.shape[0] * pixels.shape[1]
    limit = (
        EXACT_MAX_PIXELS if exact_max_pixels is None else min(exact_max_pixels, EXACT_MAX_PIXELS)
    )
    if n <= limit:
        return exact_histogram(pixels, steps)
    hist = binned_histogram(pixels, steps, sample=sample)
    if hist.colors.shape[0] <= k:
        if bins_are_single_colour(pixels, hist):
            hist.exact = True
            hist.means = None
        else:
            return exact_histogram(pixels, steps)
    elif (
        hist.colors.shape[0] < BINS_PER_ENTRY_MIN * k
        and n <= COARSE_EXACT_FACTOR * EXACT_MAX_PIXELS
    ):
        return exact_histogram(pixels, steps)
    return hist


def count_distinct_colors(pixels: np.ndarray) -> int:
    """Number of distinct visible colours in an image, streamed so that it stays cheap.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)

    Returns
    -------
    int
    """
    pixels = np.ascontiguousarray(pixels)
    seen = np.zeros(1 << 24, dtype=bool)
    for _, words in iter_words(pixels):
        if pixels.shape[2] == 4:
            words = words[(words >> 24) > 0]
        seen[words & np.uint32(0xFFFFFF)] = True
    return int(np.count_nonzero(seen))

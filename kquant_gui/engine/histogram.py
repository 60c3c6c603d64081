"""Colour histograms of an image: the pixels k-means actually needs to see.

K-means runs on colours weighted by how many pixels carry them (and by their alpha), never on
every pixel. Images up to 2 megapixels get an exact histogram of their distinct colours.
Larger ones get an 18-bit histogram (6 bits per channel), streamed in well under 0.1 s for 24
megapixels, in which each bin keeps one real member colour: an image whose colours fall in
separate bins (pixel art, posters, logos) still keeps its exact colours, and one with at most
k occupied bins is checked and, if need be, histogrammed exactly.

Pixels are read in chunks of packed 32-bit words so that every temporary stays in cache; that,
not the arithmetic, is what makes the large-image path fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np

from .parallel import part_progress, run_parts
from .progress import Steps

#: Pixels per chunk in the streaming passes: 1 Mi words amortise numpy's per-call overhead and
#: let the worker threads run long stretches without the GIL (measured fastest of 64 Ki-1 Mi).
CHUNK = 1 << 20
#: Large images with at most this many occupied 18-bit bins keep a real member colour per bin.
MEMBER_BINS_MAX = 4096
#: Images with at most this many pixels get an exact histogram of their distinct colours.
EXACT_MAX_PIXELS = 2_000_000
BIN_BITS = 6
N_BINS = 1 << (3 * BIN_BITS)
_LITTLE = sys.byteorder == "little"


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """Pack 8-bit colours into integers ``r | g << 8 | b << 16``.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (..., 3)

    Returns
    -------
    ndarray of uint32, shape (...)
    """
    rgb = np.asarray(rgb)
    return (
        rgb[..., 0].astype(np.uint32)
        | (rgb[..., 1].astype(np.uint32) << 8)
        | (rgb[..., 2].astype(np.uint32) << 16)
    )


def unpack_rgb(words: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack_rgb`: shape (...) uint32 to shape (..., 3) uint8."""
    words = np.asarray(words, dtype=np.uint32)
    return np.stack([words & 0xFF, (words >> 8) & 0xFF, (words >> 16) & 0xFF], axis=-1).astype(
        np.uint8
    )


def gather_fields(
    words: np.ndarray,
    fields: tuple[tuple[int, int], ...],
    out: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
) -> np.ndarray:
    """``OR`` of ``(words >> shift) & mask`` over ``fields``: bit fields moved side by side.

    Parameters
    ----------
    words : ndarray of uint32, shape (n,)
    fields : tuple of (shift, mask)
    out, scratch : ndarray of uint32, shape (>= n,), optional
        Buffers to compute in (see :class:`Scratch`); the result is ``out[:n]``.
    """
    if out is None or scratch is None:
        result = np.zeros(words.shape, dtype=np.uint32)
        for shift, mask in fields:
            result |= (words >> shift) & mask
        return result
    n = words.shape[0]
    out, tmp = out[:n], scratch[:n]
    (shift, mask), rest = fields[0], fields[1:]
    np.right_shift(words, shift, out=out)
    out &= mask
    for shift, mask in rest:
        np.right_shift(words, shift, out=tmp)
        tmp &= mask
        out |= tmp
    return out


#: The top 6 bits of each channel of ``r | g << 8 | b << 16``, as ``r6 | g6 << 6 | b6 << 12``.
BIN_FIELDS = ((2, 0x3F), (4, 0xFC0), (6, 0x3F000))


def bin_codes(
    words: np.ndarray, out: np.ndarray | None = None, scratch: np.ndarray | None = None
) -> np.ndarray:
    """18-bit bin of packed colours: the top 6 bits of each channel, ``r | g << 6 | b << 12``.

    Parameters
    ----------
    words : ndarray of uint32, shape (n,)
    out, scratch : ndarray of uint32, shape (>= n,), optional
        Buffers to compute in (see :class:`Scratch`); the result is ``out[:n]``.
    """
    return gather_fields(words, BIN_FIELDS, out, scratch)


class Scratch:
    """Work buffers for one streaming thread, allocated once and reused for every chunk.

    A fresh temporary per operation costs more than the operation here: numpy asks the kernel
    for huge pages for arrays of 4 MB and up, and zeroing them took 3 ms of a 4 ms chunk. The
    arithmetic stays in uint32 (an int64 result from uint32 input takes numpy's slow casting
    loop); ``index`` holds indices already widened for ``take``, ``pairs`` the label pairs
    of the mapping (see :mod:`remap`).

    Parameters
    ----------
    size : int
        Elements per buffer: the longest range that will be streamed at once.
    """

    def __init__(self, size: int) -> None:
        self.words = np.empty(size, dtype=np.uint32)
        self.codes = np.empty(size, dtype=np.uint32)
        self.tmp = np.empty(size, dtype=np.uint32)
        self.index = np.empty(size, dtype=np.intp)
        self.pairs = np.empty(size, dtype=np.uint16)


@cache
def bin_centres() -> np.ndarray:
    """The sRGB colour at the centre of every 18-bit bin, shape (2**18, 3) uint8, read-only."""
    codes = np.arange(N_BINS, dtype=np.uint32)
    r = (codes & 0x3F) << 2
    g = ((codes >> 6) & 0x3F) << 2
    b = ((codes >> 12) & 0x3F) << 2
    centres = (np.stack([r, g, b], axis=-1) + 2).astype(np.uint8)
    centres.flags.writeable = False  # shared between calls
    return centres


def words_range(
    pixels: np.ndarray, start: int, stop: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Packed colour words of the flattened pixels ``start:stop``.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    start, stop : int
        Range in the flattened image, ``0 <= start < stop <= H * W``.
    out : ndarray of uint32, shape (>= stop - start,), optional
        Buffer for the words of RGB input (RGBA input is read in place).

    Returns
    -------
    ndarray of uint32, shape (stop - start,)
        ``r | g << 8 | b << 16 | a << 24`` (a = 0 for RGB input). May be a read-only view
        of ``pixels``.
    """
    h, w, c = pixels.shape
    n = h * w
    if not _LITTLE or not pixels.flags.c_contiguous:
        part = pixels.reshape(n, c)[start:stop]
        words = pack_rgb(part)
        if c == 4:
            words |= part[:, 3].astype(np.uint32) << 24
        return words
    if c == 4:
        return pixels.reshape(-1).view(np.uint32)[start:stop]
    # RGB: read 4 bytes at a stride of 3. Each word holds one pixel plus the next pixel's red
    # byte, which the mask drops; the last pixel has no next byte and is packed by hand.
    view = np.ndarray((n - 1,), dtype="<u4", buffer=pixels, strides=(3,))
    last = None
    if stop == n:
        r, g, b = (int(v) for v in pixels.reshape(n, 3)[-1])
        last = np.uint32(r | g << 8 | b << 16)
    if out is None:
        words = view[start : min(stop, n - 1)] & np.uint32(0xFFFFFF)
        return words if last is None else np.append(words, last)
    words = out[: stop - start]
    body = min(stop, n - 1) - start
    np.bitwise_and(view[start : start + body], np.uint32(0xFFFFFF), out=words[:body])
    if last is not None:
        words[body] = last
    return words


def iter_words(pixels: np.ndarray, chunk: int = CHUNK) -> Iterator[tuple[int, np.ndarray]]:
    """Stream an image as packed colour words (see :func:`words_range`), ``chunk`` at a time.

    Yields
    ------
    start : int
        Index of the first pixel of the chunk in the flattened image.
    words : ndarray of uint32, shape (n,)
    """
    n = pixels.shape[0] * pixels.shape[1]
    for s in range(0, n, chunk):
        yield s, words_range(pixels, s, min(s + chunk, n))


def sampled_words(pixels: np.ndarray, y0: int, y1: int, out: np.ndarray) -> np.ndarray:
    """Packed words of every other pixel of every other row in rows ``y0:y1`` (``y0`` even).

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3), C-contiguous, W >= 2
    y0, y1 : int
    out : ndarray of uint32, shape (>= ceil((y1 - y0) / 2) * (W // 2),)

    Returns
    -------
    ndarray of uint32, shape (ceil((y1 - y0) / 2) * (W // 2),)
    """
    w = pixels.shape[1]
    ny, nx = (y1 - y0 + 1) // 2, w // 2
    # Columns 0, 2, ..., never the last one, so each 4-byte read ends inside its row.
    view = np.ndarray((ny, nx), dtype="<u4", buffer=pixels, offset=3 * w * y0, strides=(6 * w, 6))
    words = out[: ny * nx]
    np.bitwise_and(view, np.uint32(0xFFFFFF), out=words.reshape(ny, nx))
    return words


@dataclass
class Histogram:
    """Weighted colours of an image.

    Attributes
    ----------
    colors : ndarray of uint8, shape (m, 3)
        Distinct visible colours (``exact``), or per occupied 18-bit bin a member colour (few
        bins) or the bin's centre (see :func:`binned_histogram`).
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
    centres : bool
        True when ``colors`` are the bins' centres (a binned photo), whose working-space
        coordinates are tabulated once per colour space.
    """

    colors: np.ndarray
    counts: np.ndarray
    weights: np.ndarray
    exact: bool
    codes: np.ndarray
    inverse: np.ndarray | None
    n_transparent: int
    sampled: bool = False
    centres: bool = False


def _alpha(words: np.ndarray) -> np.ndarray:
    return (words >> 24).astype(np.uint8)


def _radix_order(values: np.ndarray) -> np.ndarray:
    """Stable sorting order of 24-bit values, shape (n,) uint32 in, (n,) intp out.

    numpy sorts 16-bit keys stably with a radix sort but 32-bit keys with a comparison sort;
    two radix passes (low 12 bits, then high 12 bits) give the same order 3.5 times faster
    (5 ms instead of 17 ms for a 0.3 MP photo).
    """
    low = np.argsort((values & 0xFFF).astype(np.uint16), kind="stable")
    high = (values[low] >> 12).astype(np.uint16)
    return low[np.argsort(high, kind="stable")]


def _unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted distinct values, the index of each value among them, and their counts.

    ``np.unique(..., return_inverse=True)`` for 24-bit colour words, sorted by two radix
    passes (see :func:`_radix_order`).
    """
    if values.size == 0:
        empty = np.empty(0, dtype=np.intp)
        return values[:0], empty, empty
    order = _radix_order(values)
    ordered = values[order]
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

    An image with few occupied bins (a poster, a logo, pixel art) keeps one real member colour
    per bin, so colours that fall in bins of their own stay exact; a photo's tens of thousands
    of bins stand for their centres, which measured the same mean dE2000 on the 24 MP
    benchmark image and saves the pass that finds members (a quarter of the histogram's time).

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

    def count(index: int, start: int, stop: int):
        counts = np.zeros(N_BINS, dtype=np.int64)
        weights = np.zeros(N_BINS, dtype=np.float64) if has_alpha else None
        n_transparent = 0
        scratch = Scratch(min(CHUNK, stop - start))
        for s in range(start, stop, CHUNK):
            e = min(s + CHUNK, stop)
            if has_alpha:
                words, alpha, hidden = visible_words(s, e)
                n_transparent += hidden
            else:
                words, alpha = words_range(pixels, s, e, scratch.words), None
            codes = bin_codes(words, scratch.codes, scratch.tmp)
            counts += np.bincount(codes, minlength=N_BINS)
            if weights is not None:
                weights += np.bincount(codes, weights=alpha / 255.0, minlength=N_BINS)
            if steps is not None:
                done = part_progress(index, start, stop, s + CHUNK, n)
                steps.check() if done is None else steps.tick("histogram", done)
        return counts, weights, n_transparent

    parts = run_parts(count, n, min_size=4 * CHUNK, align=CHUNK)
    counts, weights, n_transparent = parts[0]
    for more_counts, more_weights, more_transparent in parts[1:]:
        counts += more_counts
        if weights is not None:
            weights += more_weights
        n_transparent += more_transparent
    occupied = np.flatnonzero(counts).astype(np.uint32)
    if occupied.size <= MEMBER_BINS_MAX:
        colors = unpack_rgb(_members(pixels, occupied, steps))
    else:
        colors = bin_centres()[occupied]
    bin_counts = counts[occupied]
    return Histogram(
        colors=colors,
        counts=bin_counts,
        weights=weights[occupied] if weights is not None else bin_counts.astype(np.float64),
        exact=False,
        codes=occupied,
        inverse=None,
        n_transparent=n_transparent,
        centres=occupied.size > MEMBER_BINS_MAX,
    )


def _sampled_histogram(pixels: np.ndarray, steps: Steps | None) -> Histogram:
    """:func:`binned_histogram` of every other pixel of every other row (RGB only)."""
    h, w = pixels.shape[:2]
    rows = max(2, (2 * CHUNK // max(w, 1)) // 2 * 2)  # even: blocks start on sampled rows

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
    if occupied.size <= MEMBER_BINS_MAX:
        colors = unpack_rgb(_members(pixels, occupied, steps))
    else:
        colors = bin_centres()[occupied]
    return Histogram(
        colors=colors,
        counts=bin_counts,
        weights=counts[occupied] * scale,
        exact=False,
        codes=occupied,
        inverse=None,
        n_transparent=0,
        sampled=True,
        centres=occupied.size > MEMBER_BINS_MAX,
    )


def _members(pixels: np.ndarray, occupied: np.ndarray, steps: Steps | None) -> np.ndarray:
    """One real member colour of each of the ``occupied`` bins, as packed words, shape (m,).

    All pixels are read (a bin seen only by a sample still gets a member). Last writer wins:
    any member will do, and the order is fixed.
    """
    members = np.zeros(N_BINS, dtype=np.uint32)
    for _, words in iter_words(pixels):
        if pixels.shape[2] == 4:
            words = words[(words >> 24) > 0] & np.uint32(0xFFFFFF)
        members[bin_codes(words)] = words
        if steps is not None:
            steps.check()
    return members[occupied]


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
        else:
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

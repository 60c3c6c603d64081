"""Map every pixel to a palette entry: nearest colour, ordered (Bayer) or Floyd–Steinberg.

Nearest-colour mapping never measures per pixel: every histogram entry is assigned once, and
pixels follow their entry through a lookup table, streamed in cache-sized chunks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache

import numpy as np

from .colorspace import srgb8_to_linear, to_space
from .histogram import (
    CHUNK,
    N_BINS,
    Histogram,
    Scratch,
    bin_centres,
    bin_codes,
    gather_fields,
    words_range,
)
from .kmeans import two_nearest
from .parallel import part_progress, run_parts
from .progress import Steps


def pair_table(best: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """Pack label pairs as ``best | alt << 8`` (uint16), the form the mapping passes carry."""
    return (best.astype(np.uint16) | (alt.astype(np.uint16) << 8)).astype(np.uint16)


def entry_pairs(
    coords: np.ndarray, palette_coords: np.ndarray, margin: float | np.ndarray
) -> np.ndarray:
    """Nearest palette entry of every point, and a second choice where it is nearly as close.

    Parameters
    ----------
    coords : ndarray of float64, shape (m, 3)
        Working-space coordinates of histogram entries, bins or cells.
    palette_coords : ndarray of float64, shape (n, 3)
    margin : float or ndarray of float, shape (m,)
        A point whose second-nearest entry is at most this much farther than its nearest one is
        ambiguous: :func:`stream_labels` may give it the second one to follow its neighbours.

    Returns
    -------
    ndarray of uint16, shape (m,)
        ``best | alt << 8``; ``alt == best`` where the choice is clear.
    """
    if palette_coords.shape[0] < 2:
        zeros = np.zeros(coords.shape[0], dtype=np.intp)
        return pair_table(zeros, zeros)
    first, second, d1, d2 = two_nearest(coords, palette_coords)
    return pair_table(first, np.where(d2 - d1 < margin, second, first))


#: ``source(start, stop, scratch)``: label pairs ``best | alt << 8`` (uint16) of the flattened
#: pixels ``start:stop``, computed in (and possibly returned as part of) ``scratch``'s buffers.
PairSource = Callable[[int, int, Scratch], np.ndarray]


def rank_pairs(table: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Renumber both labels of every pair in ``table`` through ``rank``."""
    rank16 = rank.astype(np.uint16)
    return rank16[table & 0xFF] | (rank16[table >> 8] << 8)


def histogram_pairs(
    pixels: np.ndarray,
    hist: Histogram,
    pairs: np.ndarray,
    transparent: int,
    bin_pairs: np.ndarray | None = None,
) -> PairSource:
    """Pair source for a mapping in which each histogram entry maps as a whole.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    hist : Histogram
    pairs : ndarray of uint16, shape (m,)
        Label pair of every histogram entry (see :func:`entry_pairs`).
    transparent : int
        Label of fully transparent pixels, or -1.
    bin_pairs : ndarray of uint16, shape (2**18,), optional
        For a sampled histogram, which may have missed some occupied bins: the label pair of
        every 18-bit bin's centre (see :func:`bin_centre_coords`), used where the histogram
        has no entry.

    Returns
    -------
    PairSource
    """
    t = max(transparent, 0)
    t_pair = np.uint16(t | t << 8)
    if hist.inverse is not None:
        # inverse is -1 for transparent pixels, which indexes the last table entry.
        table = np.append(pairs, t_pair)
        inverse = hist.inverse

        def by_inverse(start: int, stop: int, scratch: Scratch) -> np.ndarray:
            part = scratch.pairs[: stop - start]
            return np.take(table, inverse[start:stop], out=part, mode="wrap")

        return by_inverse
    # Indexed by the 22-bit "sparse" bin (r6 | g6 << 8 | b6 << 16), which takes two
    # operations per pixel to form instead of eight for the packed 18-bit code.
    lut = np.zeros(1 << 22, dtype=np.uint16)
    if bin_pairs is not None:
        lut[_sparse_of_bins(np.arange(N_BINS, dtype=np.uint32))] = bin_pairs
    lut[_sparse_of_bins(hist.codes)] = pairs
    return _lut_source(pixels, lut, _sparse_bin_codes, t_pair)


def _sparse_of_bins(bins: np.ndarray) -> np.ndarray:
    """18-bit bins ``r6 | g6 << 6 | b6 << 12`` to sparse codes ``r6 | g6 << 8 | b6 << 16``."""
    return (bins & 0x3F) | ((bins & 0xFC0) << 2) | ((bins & 0x3F000) << 4)


def _sparse_bin_codes(words: np.ndarray, scratch: Scratch) -> np.ndarray:
    """The top 6 bits of each channel of packed colours, left in place: ``r6 | g6 << 8 | b6 <<
    16`` (alpha dropped); computed in ``scratch.codes``."""
    codes = scratch.codes[: words.shape[0]]
    np.right_shift(words, 2, out=codes)
    codes &= 0x3F3F3F
    return codes


def _lut_source(
    pixels: np.ndarray,
    lut: np.ndarray,
    codes_of: Callable[[np.ndarray, Scratch], np.ndarray],
    t_pair: np.uint16,
) -> PairSource:
    has_alpha = pixels.shape[2] == 4

    def source(start: int, stop: int, scratch: Scratch) -> np.ndarray:
        m = stop - start
        words = words_range(pixels, start, stop, scratch.words)
        index = scratch.index[:m]
        index[...] = codes_of(words, scratch)  # the code functions ignore the alpha byte
        # mode="clip" skips the bounds check (the codes are always in range): 1.6x faster.
        part = np.take(lut, index, out=scratch.pairs[:m], mode="clip")
        if has_alpha:
            hidden = words.view(np.uint8)[3::4] == 0
            if hidden.any():
                # part = where(hidden, t_pair, part), without numpy's slow masked loops.
                mask = hidden.view(np.uint8).astype(np.uint16)
                np.negative(mask, out=mask)
                diff = part ^ t_pair
                diff &= mask
                part ^= diff
        return part

    return source


def stream_labels(
    pixels: np.ndarray,
    source: PairSource,
    palette: np.ndarray,
    steps: Steps,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label, smooth, count and paint every pixel in one streamed pass.

    A pixel whose colour sits almost exactly between two palette entries (its pair's two
    labels differ) takes whichever its four neighbours' nearest entries favour. In noisy smooth
    areas nearest-colour mapping flips such pixels at random; following the neighbours removes
    that speckle, which is what makes indexed PNGs compress (about 30% smaller on a noisy
    photo) while the mean colour error stays within a few hundredths of dE. Neighbours are read
    from the unsmoothed labels, so the result does not depend on the order of work.

    Rows are processed in blocks that fit in cache (plus one row of look-ahead for the lower
    neighbours), and each block is labelled, smoothed, counted and painted while it is hot:
    separate passes over a 24 MP image cost three times as much.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    source : callable(start, stop) -> ndarray of uint16
        Label pairs ``best | alt << 8`` of the flattened pixels ``start:stop``.
    palette : ndarray of uint8, shape (n, 3) or (n, 4)
    steps : Steps

    Returns
    -------
    labels : ndarray of uint8, shape (H, W)
    counts : ndarray of int64, shape (n,)
    image : ndarray of uint8, same shape as ``pixels``
    """
    h, w, c = pixels.shape
    n = palette.shape[0]
    labels = np.empty((h, w), dtype=np.uint8)
    image = np.empty((h, w, c), dtype=np.uint8)
    rows = max(1, CHUNK // max(w, 1))
    paint = _painter(pixels, palette, image)

    def part(index: int, first_row: int, end_row: int) -> np.ndarray:
        counts = np.zeros(n, dtype=np.int64)
        # Unsmoothed labels of the row above the current block.
        scratch = Scratch((min(rows, end_row - first_row) + 1) * w)
        above = (
            source((first_row - 1) * w, first_row * w, scratch).astype(np.uint8)
            if first_row
            else None
        )
        for y0 in range(first_row, end_row, rows):
            y1 = min(end_row, y0 + rows)
            ye = min(h, y1 + 1)
            pairs = source(y0 * w, ye * w, scratch).reshape(ye - y0, w)
            best_all = pairs.astype(np.uint8)  # the cast keeps the low byte: ``best``
            b = best_all[: y1 - y0]
            a = (pairs[: y1 - y0] >> 8).astype(np.uint8)
            amb = not np.array_equal(a, b)
            out = _follow_neighbours(b, a, above, best_all[1:]) if amb else b
            above = b[-1]
            labels[y0:y1] = out
            counts += paint(y0, y1, out, scratch)
            done = part_progress(index, first_row, end_row, y1, h)
            steps.check() if done is None else steps.tick("mapping", 0.2 + 0.8 * done)
        return counts

    counts = np.sum(run_parts(part, h, min_size=4 * rows, align=rows), axis=0)
    return labels, counts, image


def _follow_neighbours(
    b: np.ndarray, a: np.ndarray, above: np.ndarray | None, below: np.ndarray
) -> np.ndarray:
    """Smoothed labels of a block of rows (see :func:`stream_labels`).

    Parameters
    ----------
    b, a : ndarray of uint8, shape (r, w)
        Nearest and alternative label of every pixel (equal where the choice is clear).
    above : ndarray of uint8, shape (w,), or None
        Nearest labels of the row above the block, None at the top of the image.
    below : ndarray of uint8, shape (r', w), r' in (r - 1, r)
        Nearest labels of the rows below each row of the block, as far as the image goes.

    Returns
    -------
    ndarray of uint8, shape (r, w)
    """
    # score > 0: more of the four neighbours' nearest labels are ``a`` than ``b``.
    # Comparisons are added as int8 views of their bools, which skips a casting loop.
    i8 = np.int8
    score = np.zeros(b.shape, dtype=i8)
    score[:, 1:] += (b[:, :-1] == a[:, 1:]).view(i8)
    score[:, 1:] -= (b[:, :-1] == b[:, 1:]).view(i8)
    score[:, :-1] += (b[:, 1:] == a[:, :-1]).view(i8)
    score[:, :-1] -= (b[:, 1:] == b[:, :-1]).view(i8)
    up = b[:-1] if above is None else np.concatenate([above[None], b[:-1]])
    lo = b.shape[0] - up.shape[0]
    score[lo:] += (up == a[lo:]).view(i8)
    score[lo:] -= (up == b[lo:]).view(i8)
    r = below.shape[0]
    score[:r] += (below == a[:r]).view(i8)
    score[:r] -= (below == b[:r]).view(i8)
    # Select without a mask: where a == b either choice is right, and a masked copy
    # (np.copyto with where=, np.where) costs 30x the bitwise select on a 1 Mpx block.
    take_a = np.greater(score, 0).view(np.uint8)
    np.negative(take_a, out=take_a)  # 1 -> 0xFF
    out = np.bitwise_xor(a, b)
    out &= take_a
    out ^= b
    return out


def count_labels(labels: np.ndarray, n: int, index: np.ndarray | None = None) -> np.ndarray:
    """Pixels per label, shape (n,) int64.

    Counting the labels two at a time as 16-bit words halves the work of ``np.bincount``
    (which first widens every index to 64 bits); the 256 x 256 table then folds back.

    Parameters
    ----------
    labels : ndarray of uint8, any shape, C-contiguous
    n : int
        Number of labels, at most 256.
    index : ndarray of intp, shape (>= labels.size // 2,), optional
        Buffer for the widened words (see :class:`Scratch`).
    """
    flat = labels.reshape(-1)
    even = flat.shape[0] & ~1
    words = flat[:even].view(np.uint16)
    if index is not None:
        index = index[: words.shape[0]]
        index[...] = words
        words = index
    pairs = np.bincount(words, minlength=1 << 16).reshape(256, 256)
    counts = pairs.sum(axis=0) + pairs.sum(axis=1)
    if even < flat.shape[0]:
        counts[flat[-1]] += 1
    return counts[:n].astype(np.int64)


def _painter(
    pixels: np.ndarray, palette: np.ndarray, image: np.ndarray
) -> Callable[[int, int, np.ndarray, Scratch], np.ndarray]:
    """``paint(y0, y1, labels, scratch)`` writes ``palette[labels]`` (and, for an RGB palette,
    the input's alpha) into rows ``y0:y1`` of ``image`` and returns the count of each label,
    shape (n,) int64. An RGBA palette (n, 4) gives colour and alpha alike.

    Pillow expands a palette image in C about three times as fast as ``np.take`` over 3-byte
    rows, and counts its indices in half the time of ``np.bincount``; it releases the
    interpreter lock for both.
    """
    from PIL import Image

    w, c = pixels.shape[1:]
    n = palette.shape[0]
    pal_bytes = np.ascontiguousarray(palette, dtype=np.uint8).tobytes()
    little = sys.byteorder == "little"

    def as_image(out: np.ndarray) -> Image.Image:
        p = Image.frombuffer("P", (w, out.shape[0]), out, "raw", "P", 0, 1)
        p.putpalette(pal_bytes)
        return p

    def count(p: Image.Image) -> np.ndarray:
        return np.array(p.histogram()[:n], dtype=np.int64)

    def paint_rgb(y0: int, y1: int, out: np.ndarray, scratch: Scratch) -> np.ndarray:
        p = as_image(out)
        rgb = np.frombuffer(p.convert("RGB").tobytes(), dtype=np.uint8)
        image[y0:y1] = rgb.reshape(y1 - y0, w, 3)
        return count(p)

    def paint_rgba(y0: int, y1: int, out: np.ndarray, scratch: Scratch) -> np.ndarray:
        # Colour from the palette, alpha from the input, merged as 32-bit words.
        p = as_image(out)
        rgbx = np.frombuffer(p.convert("RGBA").tobytes(), dtype=np.uint32)
        dst = image[y0:y1].reshape(-1).view(np.uint32)
        src = pixels[y0:y1].reshape(-1).view(np.uint32)
        np.bitwise_and(rgbx, np.uint32(0x00FFFFFF), out=dst)
        alpha = np.bitwise_and(src, np.uint32(0xFF000000), out=scratch.words[: src.shape[0]])
        dst |= alpha
        return count(p)

    def paint_numpy(y0: int, y1: int, out: np.ndarray, scratch: Scratch) -> np.ndarray:
        image[y0:y1, :, : palette.shape[1]] = np.take(palette, out, axis=0)
        if c == 4 and palette.shape[1] == 3:
            image[y0:y1, :, 3] = pixels[y0:y1, :, 3]
        return count_labels(out, n, scratch.index)

    def paint_palette_rgba(y0: int, y1: int, out: np.ndarray, scratch: Scratch) -> np.ndarray:
        # An RGBA palette: colour and alpha both come from it.
        p = Image.frombuffer("P", (w, out.shape[0]), out, "raw", "P", 0, 1)
        p.putpalette(pal_bytes, rawmode="RGBA")
        image[y0:y1] = np.frombuffer(p.convert("RGBA").tobytes(), np.uint8).reshape(-1, w, 4)
        return count(p)

    if n == 0:
        return paint_numpy
    if palette.shape[1] == 4:
        return paint_palette_rgba
    if c == 3:
        return paint_rgb
    return paint_rgba if little and pixels.flags.c_contiguous else paint_numpy


def _cell_colors(cells: np.ndarray) -> np.ndarray:
    """The colour standing for each 21-bit cell: its odd corner, within one level of every
    member. Shape (m,) uint32 in, (m, 3) uint8 out."""
    rgb = np.stack([cells & 0x7F, (cells >> 7) & 0x7F, (cells >> 14) & 0x7F], axis=-1)
    return (rgb * 2 + 1).astype(np.uint8)


#: The top 7 bits of each channel of ``r | g << 8 | b << 16``, as ``r7 | g7 << 7 | b7 << 14``.
FINE_FIELDS = ((1, 0x7F), (2, 0x3F80), (3, 0x1FC000))


def fine_codes(words: np.ndarray, scratch: Scratch | None = None) -> np.ndarray:
    """21-bit cell of packed colours ``r | g << 8 | b << 16``: ``r7 | g7 << 7 | b7 << 14``
    (computed in ``scratch.codes`` when given)."""
    if scratch is None:
        return gather_fields(words, FINE_FIELDS)
    return gather_fields(words, FINE_FIELDS, scratch.codes, scratch.tmp)


def fine_lut(bins: np.ndarray, palette: np.ndarray, space: str, margin: float) -> np.ndarray:
    """Label pair (see :func:`entry_pairs`) of every 21-bit cell inside the occupied ``bins``.

    Parameters
    ----------
    bins : ndarray of uint32, shape (m,)
        Occupied 18-bit bins.
    palette : ndarray of uint8, shape (n, 3)
    space : str
    margin : float
        Ambiguity margin, as in :func:`entry_pairs`.

    Returns
    -------
    ndarray of uint16, shape (2**21,)
        Zero outside the given bins.
    """
    lut = np.zeros(1 << 21, dtype=np.uint16)
    if palette.shape[0] == 1:
        return lut
    r6, g6, b6 = bins & 0x3F, (bins >> 6) & 0x3F, (bins >> 12) & 0x3F
    base = (r6 << 1) | (g6 << 8) | (b6 << 15)
    # The eight cells of each bin.
    offsets = np.array(
        [dr | (dg << 7) | (db << 14) for dr in (0, 1) for dg in (0, 1) for db in (0, 1)],
        dtype=np.uint32,
    )
    cells = (base[:, None] | offsets[None, :]).ravel()
    # Every cell against every entry: the distance blocks' matrix products measured 2-3x
    # faster at k = 64-256 than narrowing each bin to a few candidate entries first, and
    # they are exact.
    coords = to_space(_cell_colors(cells), space)
    lut[cells] = entry_pairs(coords, to_space(palette, space), margin)
    return lut


def bin_centre_cells(bins: np.ndarray) -> np.ndarray:
    """The 21-bit cell at the centre of each 18-bit bin, shape (m,) uint32."""
    r6, g6, b6 = bins & 0x3F, (bins >> 6) & 0x3F, (bins >> 12) & 0x3F
    return (r6 << 1) | (g6 << 8) | (b6 << 15) | np.uint32(1 | 1 << 7 | 1 << 14)


def fine_pairs(pixels: np.ndarray, lut: np.ndarray, transparent: int) -> PairSource:
    """Pair source through a 21-bit cell table from :func:`fine_lut`."""
    t = max(transparent, 0)
    return _lut_source(pixels, lut, fine_codes, np.uint16(t | t << 8))


@cache
def bin_centre_coords(space: str) -> np.ndarray:
    """Working-space coordinates of every 18-bit bin's centre, shape (2**18, 3), read-only.

    The same for every image, so worked out once per colour space (6 MB each).
    """
    coords = to_space(bin_centres(), space)
    coords.flags.writeable = False
    return coords


def mixing_tables(palette: np.ndarray, space: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every 18-bit bin: the two nearest palette entries and how much of the second to mix.

    The mix is measured in linear light, where the eye averages neighbouring pixels, by
    projecting the bin's colour onto the segment between the two entries.

    Parameters
    ----------
    palette : ndarray of uint8, shape (n, 3)
    space : str
        Working colour space that decides which entries are nearest.

    Returns
    -------
    first, second : ndarray of uint8, shape (2**18,)
    mix : ndarray of uint8, shape (2**18,)
        Share of ``second`` in 0..255.
    """
    centres = bin_centres()
    if palette.shape[0] > 1:
        first, second, _, _ = two_nearest(bin_centre_coords(space), to_space(palette, space))
    else:
        first = second = np.zeros(N_BINS, np.intp)
    lin_pal = srgb8_to_linear(palette)
    p1, p2 = lin_pal[first], lin_pal[second]
    seg = p2 - p1
    length2 = np.einsum("ij,ij->i", seg, seg)
    along = np.einsum("ij,ij->i", srgb8_to_linear(centres) - p1, seg)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(length2 > 0, along / length2, 0.0)
    mix = np.rint(np.clip(t, 0.0, 1.0) * 255.0).astype(np.uint8)
    return first.astype(np.uint8), second.astype(np.uint8), mix


def bayer_matrix(order: int = 3) -> np.ndarray:
    """Bayer threshold matrix of size 2**order, values in (0, 1), mean 0.5.

    Returns
    -------
    ndarray of float64, shape (2**order, 2**order)
    """
    m = np.zeros((1, 1))
    for _ in range(order):
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return (m + 0.5) / m.size


def ordered_labels(
    pixels: np.ndarray, palette: np.ndarray, space: str, transparent: int, steps: Steps
) -> np.ndarray:
    """Ordered dithering with an 8x8 Bayer matrix between each colour's two nearest entries.

    Adding a grey threshold offset to each pixel only dithers along the grey axis and leaves
    bands in coloured gradients. Instead every colour is placed on the segment between its two
    nearest palette entries (in linear light), and the Bayer threshold picks one of the two in
    that proportion, so the average over a tile reproduces the colour.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    palette : ndarray of uint8, shape (n, 3)
        Visible palette entries (the transparent one excluded).
    space : str
    transparent : int
        Index for fully transparent pixels, or -1.
    steps : Steps

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    h, w = pixels.shape[:2]
    first, second, mix = mixing_tables(palette, space)
    pairs = pair_table(first, second)
    threshold = np.rint(bayer_matrix(3) * 255.0).astype(np.uint8)
    rows = max(8, (CHUNK // max(w, 1)) // 8 * 8)
    # Blocks start on multiples of 8 rows, so one tile of thresholds fits every block.
    tile = np.tile(threshold, (rows // 8, -(-w // 8)))[:, :w]
    labels = np.empty((h, w), dtype=np.uint8)
    t_label = np.uint8(max(transparent, 0))

    def part(index: int, first_row: int, end_row: int) -> None:
        scratch = Scratch(min(rows, end_row - first_row) * w)
        for y0 in range(first_row, end_row, rows):
            y1 = min(end_row, y0 + rows)
            m = (y1 - y0) * w
            words = words_range(pixels, y0 * w, y1 * w, scratch.words)
            idx = scratch.index[:m]
            idx[...] = bin_codes(words, scratch.codes, scratch.tmp)
            both = np.take(pairs, idx, out=scratch.pairs[:m], mode="clip").view(np.uint8)
            best, alt = both[0::2], both[1::2]  # little-endian halves of best | alt << 8
            if sys.byteorder != "little":
                best, alt = alt, best
            # The second entry where its share beats the threshold; a bitwise select, as in
            # _follow_neighbours.
            use_alt = np.greater(np.take(mix, idx, mode="clip"), tile[: y1 - y0].reshape(-1))
            mask = use_alt.view(np.uint8)
            np.negative(mask, out=mask)
            out = np.bitwise_xor(best, alt)
            out &= mask
            out ^= best
            if transparent >= 0:
                hidden = (words.view(np.uint8)[3::4] == 0).view(np.uint8)
                np.negative(hidden, out=hidden)
                diff = out ^ t_label
                diff &= hidden
                out ^= diff
            labels[y0:y1] = out.reshape(y1 - y0, w)
            done = part_progress(index, first_row, end_row, y1, h)
            steps.check() if done is None else steps.tick("mapping", done)

    run_parts(part, h, min_size=4 * rows, align=rows)
    return labels


#: Rows of context run before each Floyd–Steinberg strip, then thrown away, so that the error
#: carried into the strip is already established and no seam shows between strips.
_FS_WARMUP = 16
#: Pixels per Floyd–Steinberg strip: one strip takes ~30 ms here, well inside the 200 ms in
#: which a cancel must be honoured.
_FS_STRIP_PIXELS = 1 << 21


def floyd_steinberg_labels(
    pixels: np.ndarray, palette: np.ndarray, transparent: int, steps: Steps
) -> np.ndarray:
    """Floyd–Steinberg error diffusion (serpentine-free, as Pillow's C implementation does).

    The image is processed in strips so that cancellation is honoured within a fraction of a
    second even on very large images.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    palette : ndarray of uint8, shape (n, 3), n <= 256
    transparent : int
        Index for fully transparent pixels, or -1.
    steps : Steps

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    from PIL import Image

    h, w = pixels.shape[:2]
    n = palette.shape[0]
    # Pillow matches against all 256 slots; padding with copies of entry 0 keeps any match on a
    # padding slot equivalent to entry 0, which the fix-up below restores.
    full = np.repeat(palette[:1], 256, axis=0)
    full[:n] = palette
    pal_bytes = full.tobytes()
    t_label = np.uint8(max(transparent, 0))
    rgb = pixels[..., :3]
    labels = np.empty((h, w), dtype=np.uint8)
    rows = max(1, _FS_STRIP_PIXELS // max(w, 1))

    def part(index: int, first_row: int, end_row: int) -> None:
        # A palette image of its own per thread: Pillow objects are not shared across threads.
        pal_img = Image.new("P", (1, 1))
        pal_img.putpalette(pal_bytes)
        # Strips are cut the same way whatever the thread count, so the result is too.
        for y in range(first_row, end_row, rows):
            y0 = max(0, y - _FS_WARMUP)
            y1 = min(end_row, y + rows)
            strip = Image.fromarray(np.ascontiguousarray(rgb[y0:y1]), "RGB")
            out = strip.quantize(palette=pal_img, dither=Image.Dither.FLOYDSTEINBERG)
            lab = labels[y:y1]
            lab[...] = np.asarray(out)[y - y0 :]
            # A match on a padding slot means entry 0 (multiplying by the bool clears it);
            # fully transparent pixels take their entry (a bitwise select): no masked passes.
            np.multiply(lab, lab < n, out=lab)
            if transparent >= 0:
                hidden = (pixels[y:y1, :, 3] == 0).view(np.uint8)
                np.negative(hidden, out=hidden)
                diff = lab ^ t_label
                diff &= hidden
                lab ^= diff
            done = part_progress(index, first_row, end_row, y1, h)
            steps.check() if done is None else steps.tick("mapping", done)

    # Pillow releases the interpreter lock while it diffuses, so strips run side by side.
    run_parts(part, h, min_size=2 * rows, align=rows)
    return labels


def paint_labels(
    pixels: np.ndarray, palette: np.ndarray, labels: np.ndarray, steps: Steps | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rebuild the image from palette and labels, keeping the input's alpha exactly, and count
    the labels on the way.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        The input, for its shape and alpha.
    palette : ndarray of uint8, shape (n, 3) or (n, 4)
    labels : ndarray of uint8, shape (H, W), values below n
    steps : Steps, optional
        Polled for cancellation between blocks.

    Returns
    -------
    image : ndarray of uint8, same shape as ``pixels``
    counts : ndarray of int64, shape (n,)
    """
    h, w, c = pixels.shape
    image = np.empty((h, w, c), dtype=np.uint8)
    paint = _painter(pixels, palette, image)
    rows = max(1, CHUNK // max(w, 1))

    def part(_: int, first_row: int, end_row: int) -> np.ndarray:
        counts = np.zeros(palette.shape[0], dtype=np.int64)
        scratch = Scratch(min(rows, end_row - first_row) * w)
        for y0 in range(first_row, end_row, rows):
            y1 = min(end_row, y0 + rows)
            counts += paint(y0, y1, np.ascontiguousarray(labels[y0:y1]), scratch)
            if steps is not None:
                steps.check()
        return counts

    counts = np.sum(run_parts(part, h, min_size=4 * rows, align=rows), axis=0)
    return image, counts

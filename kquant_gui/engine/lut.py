"""Lookup tables from colours to palette entries: per histogram entry, bin or 21-bit cell.

Nearest-colour mapping never measures per pixel: every histogram entry (or bin, or cell) is
assigned once, as a label pair ``best | alt << 8`` whose second label is a near tie (see
:mod:`smooth`), and pixels follow their entry through a table, streamed in cache-sized chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

from .colorspace import to_space
from .distances import nearest_with_runner_up
from .histogram import Histogram
from .packing import N_BINS, Scratch, bin_centers, bitwise_select, gather_fields, words_range


def pair_table(best: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """Pack label pairs as ``best | alt << 8`` (uint16), the form the mapping passes carry."""
    return (best.astype(np.uint16) | (alt.astype(np.uint16) << 8)).astype(np.uint16)


#: A point is ambiguous only while its second-nearest entry is at most this many times as far
#: as its nearest: where the palette already fits a colour closely (a flat logo at k=256, the
#: paper of a scan) its nearest entry is kept, and a point that follows its neighbours never
#: more than multiplies its own error by this. Against the plain margin: flower k=256 mean
#: dE2000 1.287 -> 1.274 for PNGs 2% larger; a scanned page at k=16 2.23 -> 2.17.
AMBIGUITY_RATIO = 1.5


def entry_pairs(
    coords: np.ndarray,
    palette_coords: np.ndarray,
    margin: float | np.ndarray,
    guess: np.ndarray | None = None,
) -> np.ndarray:
    """Nearest palette entry of every point, and a second choice where it is nearly as close.

    Parameters
    ----------
    coords : ndarray of float64, shape (m, d)
        Working-space coordinates of histogram entries, bins or cells (d = 3, or 6 for the
        colour-and-alpha space of :mod:`.alpha`).
    palette_coords : ndarray of float64, shape (n, d)
    margin : float or ndarray of float, shape (m,)
        A point whose second-nearest entry is at most this much farther than its nearest one
        (and at most AMBIGUITY_RATIO times as far) is ambiguous: :func:`smooth.stream_labels`
        may give it the second one to follow its neighbours.
    guess : ndarray of int, shape (m,), optional
        A guess at every point's nearest entry, each below n (the labels of the last
        clustering pass over these points): the same result, in less time when it is
        mostly right (see :mod:`.distances`).

    Returns
    -------
    ndarray of uint16, shape (m,)
        ``best | alt << 8``; ``alt == best`` where the choice is clear.
    """
    if palette_coords.shape[0] < 2:
        zeros = np.zeros(coords.shape[0], dtype=np.intp)
        return pair_table(zeros, zeros)

    def ambiguous(d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
        return (d2 - d1 < margin) & (d2 <= AMBIGUITY_RATIO * d1)

    return pair_table(*nearest_with_runner_up(coords, palette_coords, ambiguous, guess))


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
        every 18-bit bin's centre (see :func:`bin_center_coords`), used where the histogram
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
                bitwise_select(hidden, t_pair, part, out=part)
        return part

    return source


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


def bin_center_cells(bins: np.ndarray) -> np.ndarray:
    """The 21-bit cell at the centre of each 18-bit bin, shape (m,) uint32."""
    r6, g6, b6 = bins & 0x3F, (bins >> 6) & 0x3F, (bins >> 12) & 0x3F
    return (r6 << 1) | (g6 << 8) | (b6 << 15) | np.uint32(1 | 1 << 7 | 1 << 14)


def fine_pairs(pixels: np.ndarray, lut: np.ndarray, transparent: int) -> PairSource:
    """Pair source through a 21-bit cell table from :func:`fine_lut`."""
    t = max(transparent, 0)
    return _lut_source(pixels, lut, fine_codes, np.uint16(t | t << 8))


@cache
def bin_center_coords(space: str) -> np.ndarray:
    """Working-space coordinates of every 18-bit bin's centre, shape (2**18, 3), read-only.

    The same for every image, so worked out once per colour space (6 MB each).
    """
    coords = to_space(bin_centers(), space)
    coords.flags.writeable = False
    return coords

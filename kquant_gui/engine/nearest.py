"""Exact nearest palette entry of any colour through one lookup table, built for error diffusion.

Error diffusion asks for the nearest entry of colours that are not in the image (each pixel's
colour plus the error it receives), millions of different ones on a large photo, one pixel
position of every tile at a time. Measuring them in the working colour space as they come is
far too slow in numpy, so :class:`NearestTable` works out the exact nearest entry of every
8-bit colour near the image's own colours up front, 18-bit bin by bin (a whole bin at once
where one entry is provably nearest to all its colours, colour by colour next to a boundary
between entries), and every other bin the first time a lookup meets it.
"""

from __future__ import annotations

import threading

import numpy as np

from .colorspace import SRGB_TO_LINEAR, to_space
from .nearest_bins import _bin_candidates, _block_best, _block_of, _measure_bins
from .packing import bin_centers
from .parallel import run_parts

#: Colours within this many levels (in every channel) of an entry are matched exactly, and
#: how close they are is recorded (see :class:`HeldColors`).
EXACT_REACH = 2
#: A colour within this many levels of an entry (in every channel) counts as held by the
#: palette (closeness 255); from there closeness falls linearly to 0 at FAR_LEVELS.
EXACT_LEVELS = 0
FAR_LEVELS = 2


def pack_keys(rgb: np.ndarray) -> np.ndarray:
    """``r | g << 8 | b << 16`` of 8-bit colours, shape (..., 3+) uint8 to (...) uint32."""
    return (
        rgb[..., 0].astype(np.uint32)
        | (rgb[..., 1].astype(np.uint32) << 8)
        | (rgb[..., 2].astype(np.uint32) << 16)
    )


def bin_of_keys(keys: np.ndarray) -> np.ndarray:
    """The 18-bit bin ``r6 | g6 << 6 | b6 << 12`` of packed colours ``r | g << 8 | b << 16``."""
    return ((keys >> 2) & 0x3F) | ((keys >> 4) & 0xFC0) | ((keys >> 6) & 0x3F000)


class HeldColors:
    """The colours a palette holds: every colour within ``EXACT_REACH`` levels of an entry,
    with its exact nearest entry and how closely it is held.

    Cheap to build (a few thousand colours per entry measured; the tables' zero pages cost
    nothing until written), so every dithering uses it to leave held pixels undithered.

    Parameters
    ----------
    palette : ndarray of uint8, shape (n, 3+), 1 <= n <= 256
        Only the colour channels are used.
    space : str
        Working colour space in which distances are measured (see :func:`to_space`).

    Attributes
    ----------
    closeness : ndarray of uint8, shape (2**24,)
        How closely the palette holds each colour ``r | g << 8 | b << 16``: 255 within
        ``EXACT_LEVELS`` of an entry (such a pixel is not dithered), falling to 0 at
        ``FAR_LEVELS``.
    exact : ndarray of uint8, shape (2**24,)
        Exact nearest entry of each colour whose closeness is above 0.
    """

    def __init__(self, palette: np.ndarray, space: str) -> None:
        self.palette = np.ascontiguousarray(palette[:, :3])
        self.coords = to_space(self.palette, space)
        self.closeness = np.zeros(1 << 24, dtype=np.uint8)
        self.exact = np.zeros(1 << 24, dtype=np.uint8)
        _exact_near_entries(self, self.palette, self.coords, space)

    def settle(
        self, labels: np.ndarray, pixels: np.ndarray, maybe: np.ndarray | None = None
    ) -> None:
        """Give every pixel that the palette holds (closeness 255) its exact entry, in place;
        fully transparent pixels keep theirs.

        Parameters
        ----------
        labels : ndarray of uint8, shape (H, W)
        pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        maybe : ndarray of bool, shape (H, W), optional
            Where held pixels may be (the others are not looked at).
        """
        h, w, c = pixels.shape
        rows = max(1, (1 << 18) // max(w, 1))
        for y0 in range(0, h, rows):
            p, lab = pixels[y0 : y0 + rows], labels[y0 : y0 + rows]
            where = None if maybe is None else maybe[y0 : y0 + rows]
            if where is not None and not where.any():
                continue
            some = p.reshape(-1, c) if where is None else p[where]
            keys = pack_keys(some)
            held = self.closeness.take(keys) == 255
            if c == 4:
                held &= some[:, 3] > 0
            if not held.any():
                continue
            picked = lab.reshape(-1) if where is None else lab[where]  # a view, or a copy
            picked[held] = self.exact.take(keys[held])
            if where is not None:
                lab[where] = picked


class EntryTable:
    """Exact nearest entry of every 8-bit colour among points of the working space, through
    one lookup table.

    ``labels`` holds the nearest entry of each colour in the working space (the metric of the
    mapping without dithering, no coarse cache), indexed by :func:`table_keys`: the 64
    colours of an 18-bit bin (4x4x4) are one row of 64 bytes. It is worked out bin by bin:
    a bin whose centre is nearer to its nearest entry than to any other by more than twice
    the bin's radius takes that entry whole (the triangle inequality settles every member);
    in every other bin, near a boundary between entries, each of the 64 colours is measured
    exactly against the bin's candidates (the entries within that margin).

    An entry's distance may carry an ``offset``: squared distance plus offset. The
    colour-and-alpha distance of an opaque colour to an RGBA entry is of that form (see
    :mod:`.alpha_nearest`); the bound above still holds, as the difference of two entries'
    distances stays linear in the colour.

    The bins near the image's own colours (``near``), or all of them, are worked out up
    front, in parts on the engine's threads. Error diffusion also reaches colours well beyond
    the image's (on the bench images 0.3-15% of its lookups, most on smooth gradients at
    small k), so every other bin holds ``unknown`` until a lookup meets it: :meth:`resolve`
    then works it out, exactly like the others. A bin's entries do not depend on when or by
    which thread it is worked out, so neither does the result.

    Parameters
    ----------
    coords : ndarray of float64, shape (n, 3), 1 <= n <= 256
        The entries in the working space.
    space : str
        Working colour space (see :func:`to_space`).
    near : ndarray of bool, shape (2**18,), optional
        The bins to work out up front (all by default).
    offsets : ndarray of float64, shape (n,), optional
        Added to each entry's squared distance (none by default).

    Attributes
    ----------
    labels : ndarray of uint8 (uint16 for 256 entries), shape (2**24,)
        Entry of each colour by :func:`table_keys`, or ``unknown``.
    unknown : int
        The largest value of ``labels``' dtype: not worked out yet.
    bin_entry : ndarray of intp, shape (2**18,)
        Nearest entry of each 18-bit bin's centre colour (of its 8x8x8 block's centre for
        bins not worked out up front).
    """

    def __init__(
        self,
        coords: np.ndarray,
        space: str,
        near: np.ndarray | None = None,
        offsets: np.ndarray | None = None,
    ) -> None:
        self.coords = coords
        self.space = space
        self.offsets = offsets
        n = coords.shape[0]
        dtype = np.uint8 if n < 256 else np.uint16
        self.unknown = int(np.iinfo(dtype).max)
        self.labels = np.full(1 << 24, self.unknown, dtype=dtype)
        self._lock = threading.Lock()
        region = np.arange(1 << 18) if near is None else np.flatnonzero(near)
        best = np.zeros(1 << 18, dtype=np.intp)
        if near is not None and n > 1:
            best[...] = _block_best(coords, space, offsets)
        # In parts on the engine's threads: parts write disjoint rows, and a bin's entries do
        # not depend on the part it falls in. Each part is cut along whole 8x8x8-bin blocks
        # (the unit :func:`_bin_candidates` weighs entries for), so none is weighed twice.
        region = region[np.argsort(_block_of(region), kind="stable")]
        cuts = np.flatnonzero(np.diff(_block_of(region), prepend=-1))

        def part(i: int, first: int, end: int) -> None:
            lo = cuts[first]
            hi = cuts[end] if end < cuts.size else region.size
            best[region[lo:hi]] = self._work_out(region[lo:hi])

        run_parts(part, cuts.size, min_size=2)
        self.bin_entry = best

    def resolve(self, keys: np.ndarray) -> None:
        """Work out the bins of the table keys ``keys`` (any shape) that are still unknown.

        Safe from any thread: a bin is worked out once, under a lock, and its entries are
        the same whoever works them out.
        """
        # Whole blocks of bins: the next lookups tend to meet the bins around, and one call
        # for many bins costs far less than many calls. Aligned blocks never overlap.
        blocks = _distinct((keys.reshape(-1) >> 6) & _BLOCK_BASE)
        bins = (blocks[:, None] | _BLOCK_OFFSETS[None, :]).reshape(-1)
        with self._lock:
            rows = self.labels.reshape(-1, 64)
            bins = bins[rows[bins, 0] == self.unknown]
            if bins.size:
                self._work_out(bins)

    def own_labels(self, keys: np.ndarray) -> np.ndarray:
        """Exact nearest entry of the packed colours ``keys`` (``r | g << 8 | b << 16``, any
        shape), uint8."""
        tkeys = _packed_to_table(keys)
        labels = self.labels.take(tkeys)
        if (labels == self.unknown).any():
            self.resolve(tkeys[labels == self.unknown])
            labels = self.labels.take(tkeys)
        return labels.astype(np.uint8)

    def _work_out(self, bins: np.ndarray) -> np.ndarray:
        """Fill the rows of ``bins`` (distinct) with their colours' nearest entries; the
        nearest entry of each bin's centre colour, shape (m,)."""
        rows = self.labels.reshape(-1, 64)
        best, open_at, entries, counts = _bin_candidates(
            self.coords, self.space, bins, self.offsets
        )
        # Each row is written once, with its final entries: other threads read the table
        # meanwhile, and a row must read as unknown (so that they wait for it) until then.
        settled = np.ones(bins.size, dtype=bool)
        settled[open_at] = False
        rows[bins[settled]] = best[settled].astype(self.labels.dtype)[:, None]
        if open_at.size:
            _measure_bins(
                rows, self.coords, self.space, bins[open_at], entries, counts, self.offsets
            )
        return best


class NearestTable(HeldColors, EntryTable):
    """Exact nearest palette entry of every 8-bit colour, through one lookup table: the
    :class:`EntryTable` of a colour palette, with the :class:`HeldColors` it holds.

    Parameters and the attributes ``closeness`` and ``exact`` are those of
    :class:`HeldColors`; ``near`` and the other attributes those of :class:`EntryTable`.

    Attributes
    ----------
    bin_gap : ndarray of float32, shape (2**18,)
        Distance in linear light from each 18-bit bin's centre to its nearest entry.
    bin_spacing : ndarray of float32, shape (2**18,)
        Distance in linear light from that entry to the next nearest one.
    """

    def __init__(self, palette: np.ndarray, space: str, near: np.ndarray | None = None) -> None:
        HeldColors.__init__(self, palette, space)
        EntryTable.__init__(self, self.coords, space, near)
        best = self.bin_entry
        # How far each bin's centre colour lies from its nearest entry, and how far that
        # entry lies from the next one, in linear light.
        lin = SRGB_TO_LINEAR[self.palette]
        gap = SRGB_TO_LINEAR[bin_centers()] - lin[best]
        self.bin_gap = np.sqrt((gap * gap).sum(axis=1)).astype(np.float32)
        apart = np.sqrt(((lin[:, None, :] - lin[None, :, :]) ** 2).sum(axis=2))
        np.fill_diagonal(apart, np.inf)
        spacing = apart.min(axis=1) if len(lin) > 1 else np.zeros(1)
        self.bin_spacing = spacing[best].astype(np.float32)


#: Bins met by a lookup are worked out with the LAZY_BLOCK**3 bins around them (aligned).
LAZY_BLOCK = 8
_FIELD = 0x3F & ~(LAZY_BLOCK - 1)
_BLOCK_BASE = _FIELD | _FIELD << 6 | _FIELD << 12
_BLOCK_OFFSETS = np.array(
    [
        r | g << 6 | b << 12
        for b in range(LAZY_BLOCK)
        for g in range(LAZY_BLOCK)
        for r in range(LAZY_BLOCK)
    ],
    dtype=np.intp,
)


def table_keys(rgb: np.ndarray) -> np.ndarray:
    """Keys of :attr:`NearestTable.labels` for 8-bit colours, shape (..., 3+) uint8 to (...)
    uint32: the bin ``r6 | g6 << 6 | b6 << 12`` times 64, plus ``r2 | g2 << 2 | b2 << 4``
    (the low two bits of each channel)."""
    key = key_part(rgb[..., 0], 0)
    key |= key_part(rgb[..., 1], 1)
    key |= key_part(rgb[..., 2], 2)
    return key


def key_part(codes: np.ndarray, channel: int) -> np.ndarray:
    """The share of 8-bit codes of one channel (0, 1, 2 for r, g, b) in a table key (see
    :func:`table_keys`), uint32: the keys of a colour are the OR of its three parts."""
    c = np.asarray(codes).astype(np.uint32)
    return ((c & 3) << (2 * channel)) | ((c >> 2) << (6 + 6 * channel))


def _packed_to_table(keys: np.ndarray) -> np.ndarray:
    """Packed colours ``r | g << 8 | b << 16`` to table keys."""
    keys = np.asarray(keys, dtype=np.uint32)
    low = (keys & 3) | ((keys >> 6) & 0xC) | ((keys >> 12) & 0x30)
    return low | (bin_of_keys(keys) << 6)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (np.unique costs a millisecond a call, whatever the size)."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))]


def _exact_near_entries(
    table: HeldColors, palette: np.ndarray, coords: np.ndarray, space: str
) -> None:
    """Measure exactly every colour within ``EXACT_REACH`` levels of an entry, and record how
    close it is to the closest entry (largest channel gap)."""
    reach = np.arange(-EXACT_REACH, EXACT_REACH + 1)
    box = np.stack(np.meshgrid(reach, reach, reach, indexing="ij"), axis=-1).reshape(-1, 3)
    # Farthest offsets first, so that where boxes overlap the closest entry's value is
    # written last and wins.
    box = box[np.argsort(-np.abs(box).max(axis=1), kind="stable")]
    gap = np.abs(box).max(axis=1)
    ramp = np.clip((FAR_LEVELS - gap) / (FAR_LEVELS - EXACT_LEVELS), 0.0, 1.0)
    shade = np.rint(ramp * 255.0).astype(np.uint8)
    around = palette[None, :, :].astype(np.intp) + box[:, None, :]  # (box, n, 3)
    inside = ((around >= 0) & (around <= 255)).all(axis=2)
    rgb = around[inside].astype(np.uint8)
    keys = pack_keys(rgb)
    table.closeness[keys] = np.broadcast_to(shade[:, None], inside.shape)[inside]
    # The same colour may appear several times (overlapping boxes): measured each time, same
    # answer; cheaper than finding the duplicates.
    x = to_space(rgb, space)
    neg2 = -2.0 * coords.T
    norms = (coords**2).sum(axis=1)
    rows = max(1, (1 << 20) // coords.shape[0])
    for s in range(0, keys.size, rows):
        d2 = x[s : s + rows] @ neg2
        d2 += norms
        table.exact[keys[s : s + rows]] = np.argmin(d2, axis=1)

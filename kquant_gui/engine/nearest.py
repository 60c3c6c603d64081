"""Nearest palette entry of any colour through lookup tables, built fast for error diffusion.

Error diffusion asks for the nearest entry of colours that are not in the image (each pixel's
colour plus the error it receives), millions of different ones on a large photo, one pixel
position of every tile at a time. Measuring them in the working colour space as they come is
far too slow in numpy, so :class:`NearestTable` works out the nearest entry of every 2x2x2
cell of 8-bit colours up front, from 18-bit bins, and every colour within a few levels of an
entry exactly.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .colorspace import SRGB_TO_LINEAR, to_space
from .lut import bin_center_coords
from .packing import bin_centers

#: Colours within this many levels (in every channel) of an entry are matched exactly, and
#: how close they are is recorded (see :class:`HeldColors`).
EXACT_REACH = 2
#: A colour within this many levels of an entry (in every channel) counts as held by the
#: palette (closeness 255); from there closeness falls linearly to 0 at FAR_LEVELS.
EXACT_LEVELS = 0
FAR_LEVELS = 2
#: Candidates kept per undecided bin; a bin with more (a dense cluster of entries) is
#: decided cell by cell in the working space itself.
MAX_CANDIDATES = 8

#: Offsets of a bin's 8 cell centers from its centre colour (2 levels up from its lowest),
#: in cell order r1 | g1 << 1 | b1 << 2, and each cell's offset in the (b7, g7, r7) index.
_CELL_DELTAS = np.array(
    [(r * 2 - 1.5, g * 2 - 1.5, b * 2 - 1.5) for b in (0, 1) for g in (0, 1) for r in (0, 1)]
)
_CELL_OFFSETS = np.array(
    [r | g << 7 | b << 14 for b in (0, 1) for g in (0, 1) for r in (0, 1)], dtype=np.intp
)


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


def cell_of_keys(keys: np.ndarray) -> np.ndarray:
    """The 2x2x2 cell ``r7 | g7 << 7 | b7 << 14`` of packed colours ``r | g << 8 | b << 16``."""
    k = keys >> 1
    return (k & 0x7F) | ((k >> 1) & 0x3F80) | ((k >> 2) & 0x1FC000)


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


class NearestTable(HeldColors):
    """Nearest palette entry of every 8-bit colour, through lookup tables.

    ``cells`` holds the entry nearest to the centre of every 2x2x2 cell of colours. It is built
    per 18-bit bin (4x4x4 colours): a bin whose centre is nearer to its nearest entry than to
    any other by more than twice the bin's radius maps as a whole (the triangle inequality
    settles every member); the other bins, near a boundary between entries, are decided cell
    by cell between their candidates (the entries within that margin), on the working space
    linearised at the bin's centre.

    A colour may thus take an entry nearer to its cell's centre than to itself: only next to a
    boundary between two entries, where both are about as near (within ~1 dE in the darkest
    cells, a few tenths elsewhere). Pillow's colour cache, by comparison, decides whole 4x4x4
    bins in RGB, which leaves patches on gradients. Colours within ``EXACT_REACH`` levels of an
    entry are measured exactly (``exact``), so the colours the palette holds always find their
    own entry.

    Only the bins near the image's own colours (``near``) are worked out like this: dithered
    colours stay within a bounded reach of the pixel's own colour (see
    :func:`~.diffusion.pixel_maps`). Every other bin takes the entry nearest to the centre of
    its 8x8x8 block of colours, which a dithered colour should seldom meet. At k=256 this cut
    the build from 1.6-2.7 s to 0.3-0.5 s (china, the bench gradient) with the same dithered
    result to 0.01 dE.

    Parameters and the attributes ``closeness`` and ``exact`` are those of
    :class:`HeldColors`; ``near`` (ndarray of bool, shape (2**18,), optional) marks the bins
    to work out exactly (all by default).

    Attributes
    ----------
    cells : ndarray of uint8, shape (2**21,)
        Entry of each cell ``r7 | g7 << 7 | b7 << 14`` (see :func:`cell_of_keys`).
    bin_gap : ndarray of float32, shape (2**18,)
        Distance in linear light from each 18-bit bin's centre to its nearest entry.
    bin_spacing : ndarray of float32, shape (2**18,)
        Distance in linear light from that entry to the next nearest one.
    """

    def __init__(self, palette: np.ndarray, space: str, near: np.ndarray | None = None) -> None:
        super().__init__(palette, space)
        coords = self.coords
        best, cands = _bin_candidates(coords, space, near)
        # Cells r7 | g7 << 7 | b7 << 14 as a (b7, g7, r7) array: each bin is 2x2x2 cells.
        cells = np.empty((64, 2, 64, 2, 64, 2), dtype=np.uint8)
        cells[...] = best.astype(np.uint8).reshape(64, 1, 64, 1, 64, 1)
        self.cells = cells.reshape(-1)
        if cands is not None:
            _split_bins(self.cells, coords, space, *cands)
        # How far each bin's centre colour lies from its nearest entry, and how far that
        # entry lies from the next one, in linear light.
        lin = SRGB_TO_LINEAR[self.palette]
        gap = SRGB_TO_LINEAR[bin_centers()] - lin[best]
        self.bin_gap = np.sqrt((gap * gap).sum(axis=1)).astype(np.float32)
        apart = np.sqrt(((lin[:, None, :] - lin[None, :, :]) ** 2).sum(axis=2))
        np.fill_diagonal(apart, np.inf)
        spacing = apart.min(axis=1) if len(lin) > 1 else np.zeros(1)
        self.bin_spacing = spacing[best].astype(np.float32)

    def own_labels(self, keys: np.ndarray) -> np.ndarray:
        """Nearest entry of the packed colours ``keys`` (any shape), uint8: exact where the
        palette holds the colour closely, by cell elsewhere."""
        labels = self.cells.take(cell_of_keys(keys))
        near = self.closeness.take(keys) > 0
        np.copyto(labels, self.exact.take(keys), where=near)
        return labels


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


@cache
def _bin_geometry(space: str) -> tuple[np.ndarray, np.ndarray]:
    """The working space around each 18-bit bin's centre colour (see
    :func:`bin_center_coords`): its Jacobian per 8-bit level and a bound on the distance from
    the centre to any colour of the bin.

    Returns
    -------
    jacobian : ndarray of float64, shape (2**18, 3, 3)
        ``jacobian[b, :, c]``: change of the coordinates per level of channel c (r, g, b).
    radius : ndarray of float64, shape (2**18,)
    """
    c = bin_center_coords(space).reshape(64, 64, 64, 3)  # (b6, g6, r6)
    jac = np.empty((64, 64, 64, 3, 3))
    reach2 = np.zeros((64, 64, 64))
    for channel, axis in enumerate((2, 1, 0)):
        step = np.diff(c, axis=axis) / 4.0  # per level, between neighbouring centers
        pad = [(0, 0)] * 4
        pad[axis] = (1, 0)
        before = np.pad(step, pad, mode="edge")
        pad[axis] = (0, 1)
        after = np.pad(step, pad, mode="edge")
        jac[..., channel] = (before + after) / 2.0
        # The centre is 2 levels from the far corner; the steeper side bounds the stretch.
        stretch = np.maximum(np.linalg.norm(before, axis=-1), np.linalg.norm(after, axis=-1))
        reach2 += (2.0 * stretch) ** 2
    # Half as much again for the bend of the space within a bin: the farthest colour of every
    # bin is one of its 8 corners (checked over all 2**24 colours of the three spaces), at most
    # 0.76 of this away (CIELAB; a quarter more, as before, fell short in 9,000 bins).
    radius = 1.5 * np.sqrt(reach2).reshape(-1) + 1e-6
    # Next to black the spaces bend most (OKLab's cube root is steepest at 0, where the
    # estimate fell short by 3x): there the corners are measured.
    corners = bin_centers().astype(np.intp)
    dark = np.flatnonzero((corners < 8).any(axis=1))
    lowest, centre = corners[dark] - 2, c.reshape(-1, 3)[dark]
    far = np.zeros(dark.size)
    for i in range(8):
        corner = lowest + np.array([(i >> a & 1) * 3 for a in range(3)])
        d = to_space(corner.astype(np.uint8), space) - centre
        np.maximum(far, np.sqrt((d * d).sum(axis=1)), out=far)
    radius[dark] = 1.01 * far + 1e-6
    jac.flags.writeable = False
    radius.flags.writeable = False
    return jac.reshape(-1, 3, 3), radius


def dilate_bins(occupied: np.ndarray, steps: int) -> np.ndarray:
    """Bins within ``steps`` bins (in every channel) of an occupied one.

    Parameters
    ----------
    occupied : ndarray of bool, shape (2**18,)
    steps : int

    Returns
    -------
    ndarray of bool, shape (2**18,)
    """
    grid = occupied.reshape(64, 64, 64)
    for axis in range(3):
        grown = grid.copy()
        for shift in range(1, steps + 1):
            for s in (shift, -shift):
                rolled = np.roll(grid, s, axis=axis)
                # np.roll wraps around; the wrapped slab must not count.
                edge = [slice(None)] * 3
                edge[axis] = slice(0, s) if s > 0 else slice(64 + s, 64)
                rolled[tuple(edge)] = False
                grown |= rolled
        grid = grown
    return grid.reshape(-1)


def _block_best(coords: np.ndarray, space: str) -> np.ndarray:
    """Nearest entry of the centre of each 8x8x8 block of colours, for each 18-bit bin."""
    levels = np.arange(32, dtype=np.intp) * 8 + 4
    b, g, r = np.meshgrid(levels, levels, levels, indexing="ij")
    centers = np.stack([r, g, b], axis=-1).reshape(-1, 3).astype(np.uint8)
    d2 = to_space(centers, space) @ (-2.0 * coords.T)
    d2 += (coords**2).sum(axis=1)
    block = np.argmin(d2, axis=1).reshape(32, 1, 32, 1, 32, 1)
    return np.broadcast_to(block, (32, 2, 32, 2, 32, 2)).reshape(-1)


def _bin_candidates(
    coords: np.ndarray, space: str, near: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """Nearest entry of every bin's centre, and the candidates of the undecided bins; only
    the bins marked ``near`` are measured (the others take their block's entry).

    Returns
    -------
    best : ndarray of intp, shape (2**18,)
    candidates : (bins, entries, count) or None
        Undecided bins (shape (m,)), their first MAX_CANDIDATES candidate entries (shape
        (m, MAX_CANDIDATES), padded by repeating the first), and how many there are.
    """
    all_centers = bin_center_coords(space)
    _, all_radius = _bin_geometry(space)
    n = coords.shape[0]
    best = np.zeros(all_centers.shape[0], dtype=np.intp)
    if n < 2:
        return best, None
    region = np.arange(best.size) if near is None else np.flatnonzero(near)
    if near is not None:
        best[...] = _block_best(coords, space)
    centers, radius = all_centers[region], all_radius[region]
    nb = region.size
    kk = min(n, MAX_CANDIDATES)
    neg2 = -2.0 * coords.T
    norms = (coords**2).sum(axis=1)
    rows = max(1, (1 << 22) // n)
    bins, entries, counts = [], [], []
    for s in range(0, nb, rows):
        c = centers[s : s + rows]
        d2 = c @ neg2
        d2 += norms
        d2 += (c**2).sum(axis=1)[:, None]
        nearest_entry = np.argmin(d2, axis=1)
        best[region[s : s + rows]] = nearest_entry
        d1 = np.sqrt(np.maximum(d2[np.arange(d2.shape[0]), nearest_entry], 0.0))
        # Entries that some colour of the bin may be nearest to. A matrix product's rounding
        # (~1e-12) is far inside the radius.
        reach = d1 + 2.0 * radius[s : s + rows]
        inside = d2 <= (reach * reach)[:, None]
        count = np.count_nonzero(inside, axis=1)
        open_ = np.flatnonzero(count > 1)
        if open_.size == 0:
            continue
        row, col = np.nonzero(inside[open_])
        # Position of each candidate within its row; rows come in order.
        first = np.searchsorted(row, np.arange(open_.size))
        pos = np.arange(row.size) - first[row]
        cand = np.repeat(col[first][:, None], kk, axis=1)
        keep = pos < kk
        cand[row[keep], pos[keep]] = col[keep]
        bins.append(region[open_ + s])
        entries.append(cand)
        counts.append(count[open_])
    if not bins:
        return best, None
    return best, (np.concatenate(bins), np.concatenate(entries), np.concatenate(counts))


def _split_bins(
    cells: np.ndarray,
    coords: np.ndarray,
    space: str,
    bins: np.ndarray,
    entries: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Decide each 2x2x2 cell of the undecided ``bins`` among their candidate ``entries``.

    A cell's centre is placed at ``centre + J delta`` (the space linearised at the bin's
    centre) and measured against the bin's candidates; bins are grouped by how many they
    have, so that the common case of two costs little.
    """
    centers = bin_center_coords(space)
    jac, _ = _bin_geometry(space)
    for lo, hi in ((2, 2), (3, 4), (5, MAX_CANDIDATES)):
        group = np.flatnonzero((counts >= lo) & (counts <= hi))
        for s in range(0, group.size, 1 << 15):
            sel = group[s : s + (1 << 15)]
            b = bins[sel]
            e = entries[sel, :hi]  # (m, kk)
            j = jac[b]  # (m, 3, 3)
            # Cell centers in the linearised space, (m, 8, 3).
            x = centers[b][:, None, :] + np.einsum("dc,mkc->mdk", _CELL_DELTAS, j)
            p = coords[e]  # (m, kk, 3)
            d2 = np.zeros((b.size, 8, e.shape[1]))
            for axis in range(3):
                diff = x[:, :, None, axis] - p[:, None, :, axis]
                diff *= diff
                d2 += diff
            pick = np.take_along_axis(e, np.argmin(d2, axis=2), axis=1)  # (m, 8)
            cells[_bin_cells(b)] = pick.astype(np.uint8)
    crowded = bins[counts > MAX_CANDIDATES]
    neg2 = -2.0 * coords.T
    norms = (coords**2).sum(axis=1)
    for s in range(0, crowded.size, 1024):
        # Dense clusters of entries: every cell's centre colour against every entry.
        idx = _bin_cells(crowded[s : s + 1024]).reshape(-1)
        rgb = np.stack([idx & 0x7F, (idx >> 7) & 0x7F, idx >> 14], axis=-1) * 2 + 1
        d2 = to_space(rgb.astype(np.uint8), space) @ neg2
        d2 += norms
        cells[idx] = np.argmin(d2, axis=1).astype(np.uint8)


def _bin_cells(bins: np.ndarray) -> np.ndarray:
    """Indices ``r7 | g7 << 7 | b7 << 14`` of the 8 cells of each 18-bit bin, shape (m, 8)."""
    b = bins.astype(np.intp)
    base = ((b & 0x3F) << 1) | (((b >> 6) & 0x3F) << 8) | (((b >> 12) & 0x3F) << 15)
    return base[:, None] + _CELL_OFFSETS[None, :]

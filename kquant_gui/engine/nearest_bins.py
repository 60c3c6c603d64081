"""Which palette entries may be nearest to a bin of colours; boundary bins measured exactly.

The geometry under :class:`~.nearest.NearestTable`: a bound on each 18-bit bin's reach in the
working space, the entries a bin (or an 8x8x8 block of bins) may be nearest to by the triangle
inequality, and the exact measuring of every colour of a bin that lies next to a boundary.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .colorspace import channels_to_space, cube_to_space, to_space
from .lut import bin_center_coords

#: Candidates kept per undecided bin; the colours of a bin with more (a dense cluster of
#: entries) are measured against every entry.
MAX_CANDIDATES = 8


@cache
def _bin_radius(space: str) -> np.ndarray:
    """A bound on the distance in the working space from each 18-bit bin's centre colour
    (see :func:`bin_center_coords`) to any colour of the bin, shape (2**18,), read-only.

    The farthest colour of every bin is one of its 8 corners (checked over all 2**24 colours
    of the three spaces), so the corners are measured, 128**3 colours once per space; 1% more
    covers the rest. A bound estimated from the space's slope between bin centres had to be
    half as much again to hold, and opened a third more bins near boundaries to measuring.
    """
    centers = bin_center_coords(space).reshape(64, 64, 64, 3)  # (b6, g6, r6)
    low = np.arange(64) * 4
    ends = np.stack([low, low + 3], axis=-1).reshape(-1)  # each bin's lowest and highest
    radius = np.zeros((64, 64, 64))
    g, r = ends[None, :, None], ends[None, None, :]
    for b6 in range(64):
        b = ends[2 * b6 : 2 * b6 + 2, None, None]
        corner = channels_to_space(*np.broadcast_arrays(r, g, b), space)  # (2, 128, 128)
        d2 = np.zeros((2, 64, 2, 64, 2))
        for axis in range(3):
            diff = (
                corner[axis].reshape(2, 64, 2, 64, 2) - centers[b6, None, :, None, :, None, axis]
            )
            d2 += diff * diff
        radius[b6] = np.sqrt(d2.max(axis=(0, 2, 4)))
    radius = 1.01 * radius.reshape(-1) + 1e-6
    radius.flags.writeable = False
    return radius


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


def _block_best(coords: np.ndarray, space: str, offsets: np.ndarray | None = None) -> np.ndarray:
    """Nearest entry of the centre of each 8x8x8 block of colours, for each 18-bit bin (with
    ``offsets``, shape (n,), added to the entries' squared distances)."""
    levels = np.arange(32, dtype=np.intp) * 8 + 4
    b, g, r = np.meshgrid(levels, levels, levels, indexing="ij")
    centers = np.stack([r, g, b], axis=-1).reshape(-1, 3).astype(np.uint8)
    d2 = to_space(centers, space) @ (-2.0 * coords.T)
    d2 += (coords**2).sum(axis=1)
    if offsets is not None:
        d2 += offsets
    block = np.argmin(d2, axis=1).reshape(32, 1, 32, 1, 32, 1)
    return np.broadcast_to(block, (32, 2, 32, 2, 32, 2)).reshape(-1)


def _bin_candidates(
    coords: np.ndarray, space: str, bins: np.ndarray, offsets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest entry of the centre of each of ``bins``, and the candidates of the open ones.

    Bins are taken block by block (8x8x8 bins): only the entries that some colour of the
    block may be nearest to (the same test as a bin's, on the block's ball) are weighed for
    its bins; a block with one such entry takes it whole.

    With ``offsets`` (shape (n,)), an entry's distance is its squared distance plus its
    offset (see :class:`~.nearest.EntryTable`): the difference of two entries' distances is
    still linear in the colour, so the same bound holds.

    Returns
    -------
    best : ndarray of intp, shape (m,)
    open_at : ndarray of intp, shape (o,)
        Where in ``bins`` are those some of whose colours may be nearer to another entry.
    entries : ndarray of intp, shape (o, MAX_CANDIDATES)
        Their first MAX_CANDIDATES candidate entries (all entries within the margin, in
        increasing order), padded by repeating the first.
    counts : ndarray of intp, shape (o,)
        How many candidates each has.
    """
    n = coords.shape[0]
    best = np.zeros(bins.size, dtype=np.intp)
    kk = min(n, MAX_CANDIDATES)
    none = np.zeros(0, dtype=np.intp)
    if n < 2 or bins.size == 0:
        return best, none, np.zeros((0, kk), dtype=np.intp), none
    norms = (coords**2).sum(axis=1)
    # Twice the distance between every two entries.
    apart2 = 2.0 * np.sqrt(
        np.maximum(norms[:, None] + norms[None, :] - 2.0 * coords @ coords.T, 0)
    )
    if offsets is not None:
        norms = norms + offsets
    blocks = _block_of(bins)
    order = np.argsort(blocks, kind="stable")
    starts = np.flatnonzero(np.diff(blocks[order], prepend=-1))
    ends = np.append(starts[1:], bins.size)
    ref, block_radius = _block_geometry(space)
    ids = blocks[order[starts]]
    near_block, inside_block = _within_margin(ref[ids], block_radius[ids], coords, norms, apart2)
    centers = bin_center_coords(space)
    all_radius = _bin_radius(space)
    found, entries, counts = [], [], []
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        at = order[s:e]
        sub = np.flatnonzero(inside_block[i])
        if sub.size == 1:
            best[at] = near_block[i]
            continue
        b = bins[at]
        nearest_entry, inside = _within_margin(
            centers[b], all_radius[b], coords[sub], norms[sub], apart2[np.ix_(sub, sub)]
        )
        best[at] = sub[nearest_entry]
        count = np.count_nonzero(inside, axis=1)
        open_ = np.flatnonzero(count > 1)
        if open_.size == 0:
            continue
        row, col = np.nonzero(inside[open_])
        # Position of each candidate within its row; rows come in order.
        first = np.searchsorted(row, np.arange(open_.size))
        pos = np.arange(row.size) - first[row]
        cand = np.repeat(sub[col[first]][:, None], kk, axis=1)
        keep = pos < kk
        cand[row[keep], pos[keep]] = sub[col[keep]]
        found.append(at[open_])
        entries.append(cand)
        counts.append(count[open_])
    if not found:
        return best, none, np.zeros((0, kk), dtype=np.intp), none
    return best, np.concatenate(found), np.concatenate(entries), np.concatenate(counts)


def _within_margin(
    centers: np.ndarray,
    radius: np.ndarray,
    coords: np.ndarray,
    norms: np.ndarray,
    apart2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The entry nearest to each centre, and the entries some point within ``radius`` of
    the centre may be nearest to: those whose bisector with the nearest entry p cuts that
    ball. For a point x within r of c, |x-q|^2 - |x-p|^2 >= |c-q|^2 - |c-p|^2 - 2 r |p-q|.

    Returns
    -------
    nearest : ndarray of intp, shape (m,)
    inside : ndarray of bool, shape (m, n)
    """
    m, n = centers.shape[0], coords.shape[0]
    nearest = np.empty(m, dtype=np.intp)
    inside = np.empty((m, n), dtype=bool)
    neg2 = -2.0 * coords.T
    rows = max(1, (1 << 21) // n)
    for s in range(0, m, rows):
        c = centers[s : s + rows]
        # |p|^2 - 2 c.p, element-wise: a matrix product over 3 coordinates took 4x as long.
        d2 = c[:, 0, None] * neg2[0]
        d2 += c[:, 1, None] * neg2[1]
        d2 += c[:, 2, None] * neg2[2]
        d2 += norms
        p = np.argmin(d2, axis=1)
        nearest[s : s + rows] = p
        d2 -= d2[np.arange(d2.shape[0]), p][:, None]
        margin = apart2[p]
        margin *= radius[s : s + rows, None]
        # Rounding (~1e-9 here) decides nothing but who is measured; the slack covers it.
        margin += 1e-6
        np.less_equal(d2, margin, out=inside[s : s + rows])
    return nearest, inside


def _block_of(bins: np.ndarray) -> np.ndarray:
    """The 8x8x8-bin block (0..511) of each 18-bit bin."""
    b = bins.astype(np.intp)
    return ((b & 0x3F) >> 3) | ((((b >> 6) & 0x3F) >> 3) << 3) | (((b >> 12) >> 3) << 6)


@cache
def _block_geometry(space: str) -> tuple[np.ndarray, np.ndarray]:
    """Each 8x8x8-bin block's reference point (the centre of its bin at offset 4, 4, 4) and
    a bound on the distance from it to any colour of the block: shapes (512, 3), (512,)."""
    centers = bin_center_coords(space)
    radius = _bin_radius(space)
    bins = np.arange(1 << 18)
    blocks = _block_of(bins)
    ref_bins = np.array(
        [
            (r * 8 + 4) | (g * 8 + 4) << 6 | (b * 8 + 4) << 12
            for b in range(8)
            for g in range(8)
            for r in range(8)
        ]
    )
    ref = centers[ref_bins]
    d = centers - ref[blocks]
    reach = np.sqrt((d * d).sum(axis=1)) + radius
    block_radius = np.zeros(512)
    np.maximum.at(block_radius, blocks, reach)
    block_radius = block_radius * (1 + 1e-9) + 1e-6
    ref.flags.writeable = False
    block_radius.flags.writeable = False
    return ref, block_radius


#: The low two bits of each channel of a bin's 64 colours, in table-key order.
_SUB = np.arange(64)
_SUB_RGB = (_SUB & 3, (_SUB >> 2) & 3, _SUB >> 4)
_SIDE = np.arange(4)


def _bin_colour_coords(bins: np.ndarray, space: str) -> list[np.ndarray]:
    """Working-space coordinates of the 64 colours of each bin, in table-key order: three
    arrays (one per coordinate) of shape (m, 64), element-wise (see
    :func:`~.colorspace.channels_to_space`)."""
    b = bins.astype(np.intp)[:, None]
    fields = (b & 0x3F, (b >> 6) & 0x3F, b >> 12)
    r, g, bl = (((f << 2) + _SIDE) for f in fields)
    return cube_to_space(r, g, bl, space)


def _measure_bins(
    rows: np.ndarray,
    coords: np.ndarray,
    space: str,
    bins: np.ndarray,
    entries: np.ndarray,
    counts: np.ndarray,
    offsets: np.ndarray | None = None,
) -> None:
    """Write the exact nearest entry of each colour of the open ``bins`` into ``rows``
    (the table as (2**18, 64)), measured against each bin's candidate ``entries`` (with
    ``offsets``, shape (n,), added to the entries' squared distances).

    Distances are element-wise sums of squares, so a colour's entry does not depend on the
    bins it is measured with; ties go to the lowest entry, as with an argmin over all.
    Bins are grouped by how many candidates they have, so that the common case of two
    costs little.
    """
    for lo, hi in ((2, 2), (3, 4), (5, MAX_CANDIDATES)):
        group = np.flatnonzero((counts >= lo) & (counts <= hi))
        chunk = max(1, (1 << 19) // (64 * hi))
        for s in range(0, group.size, chunk):
            sel = group[s : s + chunk]
            b = bins[sel]
            e = entries[sel, :hi]  # (m, kk)
            # Bins along the last axis, (64, m): the layout cube_to_space works in.
            x = [c.T for c in _bin_colour_coords(b, space)]
            p = coords[e]  # (m, kk, 3)
            # Candidate by candidate, keeping the nearest so far: an argmin along a short
            # last axis costs a call per colour. A later candidate (a higher entry) wins only
            # when strictly nearer, so ties go to the lowest entry, as with the argmin.
            pick = np.broadcast_to(e[:, 0], x[0].shape).astype(rows.dtype)
            nearest = _square_distance(x, p[:, 0, :], np.empty(x[0].shape))
            if offsets is not None:
                nearest += offsets[e[:, 0]]
            d2, diff = np.empty(x[0].shape), np.empty(x[0].shape)
            nearer = np.empty(x[0].shape, dtype=bool)
            for j in range(1, e.shape[1]):
                _square_distance(x, p[:, j, :], d2, diff)
                if offsets is not None:
                    d2 += offsets[e[:, j]]
                np.less(d2, nearest, out=nearer)
                np.copyto(pick, e[:, j].astype(rows.dtype), where=nearer)
                np.copyto(nearest, d2, where=nearer)
            rows[b] = pick.T
    crowded = bins[counts > MAX_CANDIDATES]
    n = coords.shape[0]
    chunk = max(1, (1 << 19) // (64 * n))
    for s in range(0, crowded.size, chunk):
        # Dense clusters of entries: every colour against every entry.
        b = crowded[s : s + chunk]
        x = _bin_colour_coords(b, space)
        d2 = np.zeros((b.size, 64, n))
        for axis in range(3):
            diff = x[axis][:, :, None] - coords[None, None, :, axis]
            diff *= diff
            d2 += diff
        if offsets is not None:
            d2 += offsets
        rows[b] = np.argmin(d2, axis=2).astype(rows.dtype)


def _square_distance(
    x: list[np.ndarray], p: np.ndarray, out: np.ndarray, diff: np.ndarray | None = None
) -> np.ndarray:
    """Squared distance from the colours ``x`` (three coordinates of shape (64, m)) of each
    of m bins to one point per bin ``p`` (shape (m, 3)), into ``out`` (64, m); summed
    coordinate by coordinate in order, as every distance of the table is (the first
    square is the sum of it and zero, exactly)."""
    np.subtract(x[0], p[:, 0], out=out)
    out *= out
    diff = np.empty_like(out) if diff is None else diff
    for axis in (1, 2):
        np.subtract(x[axis], p[:, axis], out=diff)
        diff *= diff
        out += diff
    return out

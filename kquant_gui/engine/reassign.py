"""Where a deleted palette entry's pixels go: each to its own nearest remaining entry.

Deleting an entry must not send all of its pixels to one place: a mid grey shared by the
light and the dark parts of an object should give its light pixels to the light grey and its
dark ones to the dark red. Each pixel is measured by its *original* colour (the source pixels
the result was made from), in the result's working space, against the entries that remain.

Fast on 24 MP because it works on distinct colours: one pass over the labels finds the
deleted entry's pixels and packs their source colours into keys (a 2**24 presence table
marks the distinct ones, far cheaper than sorting millions of keys; a small image sorts its
few), only the distinct
colours are converted and measured, and a lookup table sends every pixel to its entry. The
rest of the labels are renumbered in the same pass. Dithered results are no exception: the
deleted entry's pixels take their nearest remaining entry undithered (no re-clustering, no
re-dithering).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import packing
from .alpha import to_alpha_space
from .alpha_histogram import has_soft_alpha
from .colorspace import channels_to_space
from .paint import count_labels
from .parallel import run_parts
from .result import Quantization

#: Distinct colours measured per block: their coordinates and distances stay in the cache.
BLOCK = 1 << 15
#: 24-bit colour keys (r | g << 8 | b << 16): the presence and lookup tables' size.
KEYS_24 = 1 << 24
#: Images up to this many pixels sort their deleted entry's keys instead of marking them in
#: the 16 MB table (a 0.2 MP delete: 15 -> 4 ms).
SMALL_PIXELS = 1 << 18


@dataclass(frozen=True)
class Reassigned:
    """Labels and counts after a delete that sends each pixel to its own nearest entry.

    Attributes
    ----------
    labels : ndarray of uint8, shape (H, W)
        Labels of the edited palette.
    counts : ndarray of int64, shape (m,)
        Pixels per entry of the edited palette.
    """

    labels: np.ndarray
    counts: np.ndarray


def soft_result(result: Quantization, source: np.ndarray) -> bool:
    """True when ``result`` came from the colour-and-alpha path (see :mod:`.alpha_pipeline`),
    whose pixels take their nearest entry by colour *and* alpha, the transparent entry
    included; every other result maps by colour alone, as :func:`kquant_gui.quantize` (and
    :func:`kquant_gui.remap`, which keeps each pixel's own alpha) did."""
    if result.palette.shape[1] != 4 or result.remapped:
        return False
    if result.fixed is not None and result.fixed.shape[1] == 4:
        return True
    alpha = result.palette[:, 3]
    if ((alpha > 0) & (alpha < 255)).any():
        return True
    return has_soft_alpha(source)


def reassign(result: Quantization, index: int, candidates: list[int], *, soft: bool) -> Reassigned:
    """The labels of ``result`` with entry ``index`` deleted: its pixels go, each by its own
    source colour, to the nearest of ``candidates``; every other pixel keeps its entry (the
    entries after ``index`` move down by one).

    Parameters
    ----------
    result : Quantization
        With ``source`` (the pixels it was made from).
    index : int
        The deleted entry.
    candidates : list of int
        Old indices of the entries a pixel may go to, in palette order (ties go to the
        first).
    soft : bool
        Measure colour and alpha (:func:`soft_result`), else colour alone.

    Returns
    -------
    Reassigned
    """
    source = np.ascontiguousarray(result.source)
    labels = np.ascontiguousarray(result.labels)
    flat = labels.reshape(-1)
    # New label of every old one (the deleted one's is overwritten pixel by pixel).
    table8 = (np.arange(result.n_colors) - (np.arange(result.n_colors) > index)).astype(np.uint8)
    n_new = result.n_colors - 1
    out = np.empty_like(flat)
    # Marks the distinct colours (24-bit keys) first, then holds the entry of each; a small
    # image sorts its few keys instead (clearing and scanning 16 MB would cost more).
    lut = None if flat.shape[0] <= SMALL_PIXELS else np.zeros(KEYS_24, dtype=np.uint8)
    keys_of = _key_reader(source)
    rgb = source.shape[2] == 3  # its keys are 24-bit already

    def find(_: int, start: int, stop: int) -> list[tuple[int, int, np.ndarray]]:
        # Renumber every label, and read the keys of the deleted entry's pixels.
        found = []
        mask = np.empty(min(packing.CHUNK, stop - start), dtype=np.bool_)
        for s in range(start, stop, packing.CHUNK):
            e = min(stop, s + packing.CHUNK)
            part = flat[s:e]
            # j - (j > index): a uint8 subtraction, several times faster than a table lookup.
            gt = np.greater(part, index, out=mask[: e - s])
            np.subtract(part, gt.view(np.uint8), out=out[s:e])
            hit = np.equal(part, index, out=gt)
            if hit.any():
                keys = keys_of(s, e, hit)
                if lut is not None:
                    lut[keys if rgb else keys & 0xFFFFFF] = 1
                found.append((s, e, keys))
        return found

    parts = run_parts(find, flat.shape[0], min_size=2 * packing.CHUNK, align=packing.CHUNK)
    found = [f for p in parts for f in p]
    counts = np.zeros(n_new, dtype=np.int64)
    keep = np.ones(result.n_colors, dtype=bool)
    keep[index] = False
    np.add.at(counts, table8[keep], result.counts[keep])
    if not found:
        return Reassigned(out.reshape(labels.shape), counts)
    opaque = np.uint32(255 << 24)
    wide = soft and not rgb and any((k < opaque).any() for *_, k in found)
    if wide or lut is None:
        # Sorted out: colour and alpha as whole 32-bit words (soft edges are few pixels),
        # or the few colours of a small image.
        keys = np.concatenate([k for *_, k in found])
        if not (wide or rgb):
            keys &= np.uint32(0xFFFFFF)
        unique, inverse = np.unique(keys, return_inverse=True)
        new_all = _nearest(result, _colors(unique, wide), candidates, table8, soft)[inverse]
        lut = None
    else:
        distinct = np.flatnonzero(lut.view(np.bool_)).astype(np.uint32)
        lut[distinct] = _nearest(result, _colors(distinct, False), candidates, table8, soft)
        new_all = None
    # Fully transparent pixels sharing a visible entry (no entry of their own, as after a
    # remap) take entry 0, as the engine gives them.
    hidden = source.shape[2] == 4 and not soft and result.transparent_index is None
    starts = np.cumsum([0] + [k.shape[0] for *_, k in found])

    def place(_: int, first: int, last: int) -> np.ndarray:
        moved = np.zeros(n_new, dtype=np.int64)
        for i in range(first, last):
            s, e, keys = found[i]
            if new_all is not None:
                new = np.ascontiguousarray(new_all[starts[i] : starts[i + 1]], dtype=np.uint8)
            else:
                new = np.take(lut, keys if rgb else keys & 0xFFFFFF)
            if hidden:
                new[(keys >> 24) == 0] = 0
            out[s:e][flat[s:e] == index] = new
            moved += count_labels(new, n_new)
        return moved

    counts += np.sum(run_parts(place, len(found), min_size=2), axis=0)
    return Reassigned(out.reshape(labels.shape), counts)


def _key_reader(source: np.ndarray):
    """``keys(start, stop, hit)``: the packed colours of the pixels ``start:stop`` of
    ``source`` (flattened) where ``hit`` (bool, shape (stop - start,)) is set, in order:
    ``r | g << 8 | b << 16`` for RGB, the whole word (alpha in the top byte) for RGBA.

    An RGB image is read as 4-byte words 3 bytes apart (an unaligned view, no copy), whose
    top byte belongs to the next pixel and is masked off; the last pixel, whose word would
    run past the end, is read on its own.
    """
    n = source.shape[0] * source.shape[1]
    if source.shape[2] == 4:
        words = source.reshape(-1, 4).view("<u4").reshape(-1)
        return lambda start, stop, hit: words[start:stop][hit]
    data = source.reshape(-1)
    overlapping = np.ndarray((n - 1,), dtype="<u4", buffer=data, strides=(3,))
    last = data[-3:].astype(np.uint32)
    last_key = np.uint32(last[0] | last[1] << 8 | last[2] << 16)

    def keys(start: int, stop: int, hit: np.ndarray) -> np.ndarray:
        end = min(stop, n - 1)
        got = overlapping[start:end][hit[: end - start]]
        got &= np.uint32(0xFFFFFF)
        if end < stop and hit[-1]:
            got = np.append(got, last_key)
        return got

    return keys


def _colors(keys: np.ndarray, wide: bool) -> np.ndarray:
    """RGBA colours of keys, shape (m, 4) uint8: whole words with their alpha (``wide``),
    else 24-bit colours taken as opaque."""
    keys = keys.astype(np.uint32)
    out = np.empty((keys.shape[0], 4), dtype=np.uint8)
    for c in range(3):
        out[:, c] = (keys >> (8 * c)) & 0xFF
    out[:, 3] = keys >> 24 if wide else 255
    return out


def working_coords(rgba: np.ndarray, space: str, soft: bool) -> list[np.ndarray]:
    """Working-space coordinates of colours for the nearest-entry search, one array of
    shape (m,) per dimension: colour alone (3, computed element by element, so that a
    colour's coordinates do not depend on the colours measured with it), or colour and alpha
    for a soft result (6, :func:`.alpha.to_alpha_space`)."""
    if soft:
        return list(to_alpha_space(rgba, space).T)
    return channels_to_space(rgba[:, 0], rgba[:, 1], rgba[:, 2], space)


def _nearest(
    result: Quantization,
    colors: np.ndarray,
    candidates: list[int],
    table8: np.ndarray,
    soft: bool,
) -> np.ndarray:
    """New label of the nearest candidate entry for every colour (uint8, shape (m,))."""
    palette = result.palette
    if palette.shape[1] == 3:
        palette = np.column_stack([palette, np.full(palette.shape[0], 255, np.uint8)])
    centers = np.stack(working_coords(palette[candidates], result.color_space, soft), axis=1)
    targets = table8[candidates]
    out = np.empty(colors.shape[0], dtype=np.uint8)

    def part(_: int, start: int, stop: int) -> None:
        n = min(BLOCK, stop - start)
        best, d, term = np.empty(n), np.empty(n), np.empty(n)
        nearer = np.empty(n, dtype=np.bool_)
        for s in range(start, stop, BLOCK):
            e = min(stop, s + BLOCK)
            m = e - s
            coords = working_coords(colors[s:e], result.color_space, soft)
            pick = np.full(m, targets[0], dtype=np.uint8)
            # Candidate by candidate, keeping the nearest so far (an argmin along a short
            # axis costs more). Squared distances are summed dimension by dimension in
            # order, as np.sum((x - c) ** 2) sums them; a later candidate wins only when
            # strictly nearer, so ties go to the first.
            for j, center in enumerate(centers):
                total = best[:m] if j == 0 else d[:m]
                np.subtract(coords[0], center[0], out=total)
                np.square(total, out=total)
                for dim in range(1, len(coords)):
                    np.subtract(coords[dim], center[dim], out=term[:m])
                    np.square(term[:m], out=term[:m])
                    total += term[:m]
                if j:
                    np.less(total, best[:m], out=nearer[:m])
                    np.copyto(pick, targets[j], where=nearer[:m])
                    np.copyto(best[:m], total, where=nearer[:m])
            out[s:e] = pick

    run_parts(part, colors.shape[0], min_size=2 * BLOCK, align=BLOCK)
    return out

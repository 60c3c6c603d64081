"""Every pixel to a palette entry: nearest (near ties following their neighbours) or dithered,
numbered in share order.

The mapping stage of :func:`.pipeline.quantize`: the palette's entries (with the shared fully
transparent one), the lookup tables from colours to entries (:mod:`.lut`), the label
streaming and painting, and the numbering of the entries by how many pixels took them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import packing
from .colorspace import to_space
from .diffusion import diffuse
from .distances import LabelHints
from .dither import ordered_labels
from .histogram import Histogram
from .lut import (
    bin_center_cells,
    bin_center_coords,
    entry_pairs,
    fine_lut,
    fine_pairs,
    histogram_pairs,
    pair_table,
    rank_pairs,
)
from .nearest import HeldColors
from .packing import pack_rgb
from .paint import paint_labels
from .progress import Steps
from .smooth import stream_labels

#: Above this k, large images map pixels by 21-bit cell rather than by 18-bit bin.
FINE_MAP_K = 32
#: A pixel whose second-nearest palette entry is less than this much farther than its nearest
#: (working-space units: about 1 dE for lab and oklab, 8-bit levels for rgb) may follow its
#: neighbours; see :func:`smooth.stream_labels`.
AMBIGUITY_MARGIN = {"lab": 1.0, "oklab": 1.0, "rgb": 1.0}
#: Small perceptual palettes have entries far apart, so a wider margin costs next to nothing
#: (+0.01-0.02 mean dE2000 on china/flower at k <= 32) and shrinks a noisy photo's PNG by ~7%.
SMALL_PALETTE_K = 32
SMALL_PALETTE_MARGIN = {"lab": 2.0, "oklab": 2.0, "rgb": 1.0}
#: Colour of the shared fully transparent entry.
TRANSPARENT_RGB = (0, 0, 0)


class Entries(NamedTuple):
    """The palette before ordering, and where fully transparent pixels go (decided once)."""

    #: ndarray of uint8, shape (n, 3): the visible entries, then the transparent one if any.
    palette: np.ndarray
    n_visible: int
    #: Label of fully transparent pixels in this numbering; -1 when there are none.
    transparent: int
    #: Whether ``palette[transparent]`` is an entry of the transparent pixels' own.
    has_transparent_entry: bool


def entries_of(palette_vis: np.ndarray, n_transparent: int, reserved: bool) -> Entries:
    """Add the transparent entry when one was reserved or nothing is visible; otherwise fully
    transparent pixels (if any) share entry 0."""
    n_vis = palette_vis.shape[0]
    if n_transparent == 0:
        return Entries(palette_vis, n_vis, -1, False)
    if reserved or n_vis == 0:
        transparent_rgb = np.array([TRANSPARENT_RGB], dtype=np.uint8)
        return Entries(np.vstack([palette_vis, transparent_rgb]), n_vis, n_vis, True)
    return Entries(palette_vis, n_vis, 0, False)


class Mapped(NamedTuple):
    """Pixels mapped to a palette in share order."""

    #: ndarray of uint8, shape (H, W): labels in share order.
    labels: np.ndarray
    #: ndarray of int64, shape (n,): pixels per entry, in share order.
    counts: np.ndarray
    #: ndarray of uint8, shape (H, W, 3|4); None when the caller asked for no painting.
    image: np.ndarray | None
    #: ndarray of intp, shape (n,): ``order[i]`` is the index in :class:`Entries` of entry i.
    order: np.ndarray


def map_nearest(
    pixels: np.ndarray,
    hist: Histogram,
    coords: np.ndarray,
    entries: Entries,
    k_visible: int,
    space: str,
    steps: Steps,
    own: bool = True,
    hints: LabelHints | None = None,
    paint: bool = True,
) -> Mapped:
    """Every pixel to its nearest entry (near ties following their neighbours), without
    dithering.

    ``coords`` are the working-space coordinates of the histogram's entries, shape (m, 3).
    ``own`` says the palette may be the histogram's own colours in its order (not so with
    fixed or given colours). ``hints``, from the clustering of this histogram, may hold the
    entries' labels from its last pass: the guess of their nearest entry (the same pairs,
    in less time). ``paint`` False leaves the image out (see :func:`smooth.stream_labels`).
    """
    palette, transparent = entries.palette, entries.transparent
    palette_vis = palette[: entries.n_visible]
    margin = (SMALL_PALETTE_MARGIN if k_visible <= SMALL_PALETTE_K else AMBIGUITY_MARGIN)[space]
    by_entry = hist.exact or k_visible <= FINE_MAP_K
    if by_entry:
        # Every histogram entry maps as a whole.
        if own and hist.exact and hist.colors.shape[0] <= k_visible:
            # The image's own colours: nothing to smooth, every pixel keeps its colour.
            own = np.arange(entries.n_visible)
            pairs = pair_table(own, own)
        else:
            guess = None if hints is None else hints.get(coords, palette_vis.shape[0])
            pairs = entry_pairs(coords, to_space(palette_vis, space), margin, guess)
        estimate = np.bincount(pairs & 0xFF, weights=hist.counts, minlength=palette.shape[0])
    else:
        # Large palettes on large images: 18-bit bins are coarse next to the clusters,
        # so pixels map through 21-bit cells instead.
        lut = fine_lut(hist.codes, palette_vis, space, margin)
        center_labels = lut[bin_center_cells(hist.codes)] & 0xFF
        estimate = np.bincount(center_labels, weights=hist.counts, minlength=palette.shape[0])
    if transparent >= 0:
        estimate[transparent] += hist.n_transparent
    # Number the palette by the expected shares before labelling, so that the labels come
    # out in their final order; smoothing moves a few pixels, and in the rare case that
    # reorders two entries the labels are renumbered once more below.
    order, rank = share_order(palette, np.rint(estimate).astype(np.int64))
    t_label = int(rank[transparent]) if transparent >= 0 else -1
    if by_entry:
        bin_pairs = None
        if hist.sampled:
            # Bins the sample missed (0.1% of the pixels of a noisy 24 MP photo) follow
            # their centre, like the bins it saw.
            every_bin = entry_pairs(bin_center_coords(space), to_space(palette_vis, space), margin)
            bin_pairs = rank_pairs(every_bin, rank)
        source = histogram_pairs(pixels, hist, rank_pairs(pairs, rank), t_label, bin_pairs)
    else:
        source = fine_pairs(pixels, rank_pairs(lut, rank), t_label)
    labels, counts, image = stream_labels(pixels, source, palette[order], steps, paint=paint)
    again, rank = share_order(palette[order], counts)
    if not np.array_equal(again, np.arange(again.size)):
        labels = relabel(labels, rank.astype(np.uint8))
        counts, order = counts[again], order[again]
    return Mapped(labels, counts, image, order)


def map_dithered(
    pixels: np.ndarray,
    entries: Entries,
    dither: str,
    strength: float,
    space: str,
    steps: Steps,
) -> Mapped:
    """Every pixel to an entry by ordered dithering or error diffusion."""
    palette_vis = entries.palette[: entries.n_visible]
    if dither == "ordered":
        raw = ordered_labels(pixels, palette_vis, space, entries.transparent, steps, strength)
        # Bins mix their two nearest entries; a colour the palette holds keeps its own.
        HeldColors(palette_vis, space).settle(raw, pixels)
    else:
        raw = diffuse(
            pixels,
            palette_vis,
            space=space,
            strength=strength,
            transparent=entries.transparent,
            steps=steps,
        )
    return paint_in_share_order(pixels, entries.palette, raw, steps)


def paint_in_share_order(
    pixels: np.ndarray, palette: np.ndarray, raw: np.ndarray, steps: Steps
) -> Mapped:
    """Paint from labels as they come (the colours do not depend on the numbering), then
    renumber the labels in share order."""
    image, counts = paint_labels(pixels, palette, raw, steps)
    order, rank = share_order(palette, counts)
    return Mapped(relabel(raw, rank.astype(np.uint8)), counts[order], image, order)


def relabel(labels: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[labels]`` in place, chunked: a 24 MP gather in one go converts every index to
    intp first, which costs more than the gather itself."""
    flat = labels.reshape(-1)
    chunk = packing.CHUNK
    for s in range(0, flat.shape[0], chunk):
        flat[s : s + chunk] = table[flat[s : s + chunk]]
    return labels


def share_order(palette: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order by share, largest first, ties by colour; and the rank of every old index."""
    order = np.lexsort((pack_rgb(palette), -counts))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return order, rank

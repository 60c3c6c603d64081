"""Palette entries moved outward for dithering, so that the image's outer colours can be mixed.

k-means puts every entry at the mean of its cluster, so the palette's reach stops short of the
image's most extreme colours (the edges of a gradient, the brightest highlights): dithering
can mix any colour between entries, none beyond them, and there it leaves a patch that no
dithering fixes. Before dithering, each entry on the outside of the palette is moved outward
by part of how far its cluster reaches beyond it (the 90th percentile, by weight, of its
members' distance past the entry, along the outward direction).

"Outside" is local: an entry's outward direction points from the centre of its nearest
entries to it, and it moves in proportion to how far it stands off that centre (relative to
how far its neighbours are), so entries amid others barely move while those at the edge of
the image's colours, in any direction, move the most. The palette's centre would do only for
a ball of colours: on a smooth gradient, a surface in colour space, the entries along its
lightest row lie inward from the palette's centre, kept their place and left the row darker
by a tenth in linear light; after the change, on the dithering bench gradient the worst
blurred 32x32 block went from 2.00 to 1.48 dE2000 at k=64 and 0.71 to 0.58 at k=256
(with ERROR_KEPT 0.8), 4.84 to 3.26 at k=16.

An entry whose cluster is mostly one colour (a flat colour of a logo, a background) stays
exactly where it is, so the image areas it holds stay exact and undithered.
"""

from __future__ import annotations

import numpy as np

from .colorspace import from_space, to_space
from .distances import nearest

#: How far an entry at the edge moves, as a share of its cluster's reach beyond it.
SPREAD = 0.75
#: The nearest entries whose centre an entry's outward direction starts from.
NEIGHBOURS = 8
#: The share of the cluster's weight (nearest the entry) that its reach leaves out.
REACH_QUANTILE = 0.9
#: An entry whose heaviest member holds at least this share of its cluster stays.
FLAT_SHARE = 0.25


def spread_palette(
    palette: np.ndarray,
    coords: np.ndarray,
    weights: np.ndarray,
    space: str,
    amount: float = 1.0,
) -> np.ndarray:
    """Move the outer palette entries outward for dithering (see the module docstring).

    Parameters
    ----------
    palette : ndarray of uint8, shape (n, 3)
        The clustered palette (visible entries).
    coords : ndarray of float64, shape (m, 3)
        Working-space coordinates of the image's colours (histogram entries).
    weights : ndarray of float, shape (m,)
        Their weights (pixel counts).
    space : str
        The working colour space.
    amount : float
        Scales the move: 0 leaves the palette as it is (dithering strength).

    Returns
    -------
    ndarray of uint8, shape (n, 3)
        Entries that do not move keep their exact value.
    """
    n = palette.shape[0]
    if n < 2 or coords.shape[0] == 0 or amount <= 0.0:
        return palette.copy()
    centers = to_space(palette, space)
    labels, _ = nearest(coords, centers)
    w = np.asarray(weights, dtype=np.float64)
    total = np.bincount(labels, weights=w, minlength=n)
    apart = np.sqrt(((centers[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(apart, np.inf)
    near = np.argsort(apart, axis=1, kind="stable")[:, : min(NEIGHBOURS, n - 1)]
    out = centers - centers[near].mean(axis=1)
    length = np.sqrt((out * out).sum(axis=1))
    direction = out / np.maximum(length, 1e-12)[:, None]
    # How far the entry stands off its neighbours' centre, against how far they are: about 0
    # amid other entries, up to 1 at the edge of the palette.
    spacing = np.take_along_axis(apart, near, axis=1).mean(axis=1)
    edge = np.clip(length / np.maximum(spacing, 1e-12), 0.0, 1.0)
    # How far past its entry each member lies along the entry's outward direction.
    past = ((coords - centers[labels]) * direction[labels]).sum(axis=1)
    order = np.lexsort((past, labels))
    sorted_labels = labels[order]
    cum = np.cumsum(w[order])
    starts = np.searchsorted(sorted_labels, np.arange(n))
    before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    target = before + REACH_QUANTILE * total
    pick = np.minimum(np.searchsorted(cum, target), order.size - 1)
    reach = np.maximum(past[order][pick], 0.0)
    heaviest = np.zeros(n)
    np.maximum.at(heaviest, labels, w)
    move = (total > 0) & (length > 1e-9) & (heaviest < FLAT_SHARE * total) & (reach > 0)
    if not move.any():
        return palette.copy()
    moved = centers[move] + (SPREAD * amount * edge[move] * reach[move])[:, None] * direction[move]
    result = palette.copy()
    result[move] = from_space(moved, space)
    return result

"""k-means on a histogram: a run on coarse bin means first, a few iterations on finer levels.

A photo's histogram has up to hundreds of thousands of entries; k-means converges on a few
thousand coarse bin means, where iterations are cheap and small palettes can afford several
starts, and finer levels only settle the centres.
"""

from __future__ import annotations

import numpy as np

from .colorspace import from_space, to_space
from .histogram import Histogram
from .kmeans import best_of_starts, lloyd
from .lut import bin_center_coords
from .progress import Steps

#: Above this many histogram entries, k-means first runs on coarser bin means (see _levels) and
#: only its last few iterations see finer levels.
COARSE_MAX = 1024
#: A coarser level is only used while it keeps this many points per cluster.
COARSE_POINTS_PER_CLUSTER = 16
#: Iterations on each finer level after the coarse run, and the largest level refined.
REFINE_ITER = 3
REFINE_MAX_POINTS = 200_000
REFINE_FINEST_MIN_K = 65
#: Lloyd stops when no centre moves more than this (working-space units, about dE 0.05).
TOL = 0.05
#: The same, for a single start on a coarse level that finer levels will refine: they move the
#: centres by about 0.5-1 anyway, so converging further there was half of all clustering time
#: for nothing (china k=64: mean dE2000 3.237 -> 3.240, 31 -> 9 iterations). Several starts
#: (k <= SMALL_K) converge fully: picking the best by inertia needs it (24 MP k=16: 5.83 -> 5.96
#: with the loose tolerance).
COARSE_TOL = 0.5
#: Palettes up to this size are started N_INIT_SMALL_K times, keeping the lowest inertia.
SMALL_K = 16
N_INIT_SMALL_K = 3


def aggregate(
    coords: np.ndarray, weights: np.ndarray, codes: np.ndarray, n_codes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of ``coords`` per occupied code (codes below ``n_codes``).

    Parameters
    ----------
    coords : ndarray of float64, shape (m, d)
    weights : ndarray of float64, shape (m,)
    codes : ndarray of int, shape (m,)
    n_codes : int

    Returns
    -------
    means : ndarray of float64, shape (p, d)
    mass : ndarray of float64, shape (p,)
    """
    if n_codes > codes.shape[0]:
        # Few points in a large code space: number the occupied codes first, so that the four
        # sums fill short arrays instead of zeroing and scanning n_codes entries each.
        present = np.zeros(n_codes, dtype=np.intp)
        present[codes] = 1
        dense = np.cumsum(present)
        dense -= 1
        codes, n_codes = dense[codes], int(dense[-1]) + 1
    mass = np.bincount(codes, weights=weights, minlength=n_codes)
    occupied = np.flatnonzero(mass)
    sums = [
        np.bincount(codes, weights=weights * coords[:, j], minlength=n_codes)
        for j in range(coords.shape[1])
    ]
    means = np.stack([c[occupied] for c in sums], axis=1)
    return means / mass[occupied, None], mass[occupied]


def _coarse_codes(colors: np.ndarray, bits: int) -> np.ndarray:
    """Code of the top ``bits`` bits per channel of 8-bit colours, shape (m,)."""
    c = colors.astype(np.uint32) >> (8 - bits)
    return c[:, 0] | (c[:, 1] << bits) | (c[:, 2] << (2 * bits))


def _levels(hist: Histogram, coords: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The histogram at decreasing resolutions, finest first: (points, weights) pairs.

    Level 0 is the histogram itself; then 18-bit bin means when the entries are exact distinct
    colours, then 15-bit and 12-bit bin means. A level is only added while it is much smaller
    than the one before and still has COARSE_POINTS_PER_CLUSTER points per cluster.
    """
    levels = [(coords, hist.weights)]
    coarser = []
    if hist.exact:
        coarser.append((hist.codes, 1 << 18))
    coarser += [(_coarse_codes(hist.colors, bits), 1 << (3 * bits)) for bits in (5, 4)]
    for codes, n_codes in coarser:
        size = levels[-1][0].shape[0]
        if size <= COARSE_MAX:
            break
        points, weights = aggregate(coords, hist.weights, codes, n_codes)
        if points.shape[0] > 0.7 * size or points.shape[0] < COARSE_POINTS_PER_CLUSTER * k:
            continue
        levels.append((points, weights))
    return levels


def histogram_coords(hist: Histogram, space: str) -> np.ndarray:
    """Working-space coordinates of the histogram's entries, shape (m, 3)."""
    # A binned photo's entries are bin centres, whose coordinates are tabulated once.
    if hist.centers:
        return bin_center_coords(space)[hist.codes]
    return to_space(hist.colors, space)


def refine_levels(
    levels: list[tuple[np.ndarray, np.ndarray]], k: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The finer levels that a few iterations refine after the run on the coarsest, coarse
    to fine."""
    refine = []
    for level in reversed(range(len(levels) - 1)):
        # The finest level is worth its cost at large k, where clusters are small next to a
        # bin; at k <= 64 it changes mean dE by ~0.03 and would double the time.
        if levels[level][0].shape[0] > REFINE_MAX_POINTS or (
            level == 0 and k <= REFINE_FINEST_MIN_K
        ):
            break
        refine.append(levels[level])
    return refine


def cluster(
    hist: Histogram, k: int, space: str, seed: int, steps: Steps
) -> tuple[np.ndarray, np.ndarray]:
    """Palette for the visible colours of ``hist``, and the entries' working-space coordinates.

    k-means runs on the levels of :func:`_levels` (see :func:`kmeans_on_levels`).

    Returns
    -------
    palette : ndarray of uint8, shape (n, 3), n <= k
    coords : ndarray of float64, shape (m, 3)
    """
    coords = histogram_coords(hist, space)
    if hist.exact and hist.colors.shape[0] <= k:
        return hist.colors.copy(), coords
    centers = kmeans_on_levels(_levels(hist, coords, k), k, seed, steps)
    return from_space(centers, space), coords


def kmeans_on_levels(
    levels: list[tuple[np.ndarray, np.ndarray]],
    k: int,
    seed: int,
    steps: Steps,
    *,
    fixed_point: np.ndarray | None = None,
) -> np.ndarray:
    """k-means centres for points given at decreasing resolutions, finest level first.

    k-means runs to convergence on the coarsest level (a few thousand points, so iterations
    are cheap, and small palettes can afford several starts), then a few iterations on each
    finer level settle the centres.

    Parameters
    ----------
    levels : list of (points (m, d) float64, weights (m,) float64)
    k : int
    seed : int
    steps : Steps
    fixed_point : ndarray of float64, shape (d,), optional
        A centre that never moves (the shared fully transparent entry), run alongside the
        others and not returned.

    Returns
    -------
    ndarray of float64, shape (k', d), k' = min(k, points of the coarsest level)
    """
    refine = refine_levels(levels, k)
    points, weights = levels[-1]
    kk = min(k, points.shape[0])
    fixed = kk if fixed_point is not None else None
    if points.shape[0] <= kk:
        centers = points.copy()
        if fixed_point is not None:
            centers = np.vstack([centers, fixed_point])
    else:
        # Small palettes are cheap and most sensitive to a bad start: keep the best of a few.
        n_init = N_INIT_SMALL_K if kk <= SMALL_K else 1
        # Several starts are compared by inertia, which needs each run converged.
        tol = COARSE_TOL if refine and n_init == 1 else TOL
        centers = best_of_starts(
            points, weights, kk, seed, n_init=n_init, tol=tol, steps=steps, fixed_point=fixed_point
        )
    for points, weights in refine:
        centers = lloyd(
            points,
            weights,
            centers,
            max_iter=REFINE_ITER,
            tol=TOL,
            steps=steps,
            stage="refining",
            fixed=fixed,
        )
    return centers[:kk]

"""Weighted k-means (Lloyd's algorithm) over histogram entries.

Seeding is scikit-learn's weighted k-means++ (`sklearn.cluster.kmeans_plusplus`). The Lloyd loop
is our own rather than `sklearn.cluster.KMeans` because it must poll a cancel flag between
iterations, and because its sums are reduced in a fixed order: the result is byte-identical
from run to run whatever the thread count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .parallel import run_parts
from .progress import Steps

#: Distance-matrix elements computed at once (1 MB of float32): large enough that numpy's
#: per-call overhead is amortised, small enough to stay in cache.
_BLOCK_ELEMENTS = 1 << 18
#: Distance computations smaller than this run on one thread; handing out work costs ~0.1 ms.
_PARALLEL_ELEMENTS = 1 << 19


def _as_f32(a: np.ndarray) -> np.ndarray:
    # Distances run in float32: half the memory traffic of float64 and 1.5-2x faster, while a
    # squared distance in these spaces (<= ~4e4) keeps an error far below any colour step.
    # Means and sums stay float64.
    return np.ascontiguousarray(a, dtype=np.float32)


def _distance_blocks(
    points: np.ndarray,
    centers: np.ndarray,
    use: Callable[[int, int, np.ndarray, np.ndarray], None],
) -> None:
    """Call ``use(start, stop, d, xx)`` for blocks of rows of the squared-distance matrix.

    ``d`` holds ``|c|^2 - 2 x.c`` for the rows ``start:stop`` (add ``xx = |x|^2`` for the
    squared distance; ``use`` may overwrite ``d``). Blocks are spread over the engine's threads.
    """
    k = centers.shape[0]
    points, centers = _as_f32(points), _as_f32(centers)
    cc = np.einsum("ij,ij->i", centers, centers)
    # -2 folded into the centres: scaling by a power of two is exact, so this is the same
    # as scaling every product afterwards, one pass over the block cheaper.
    ct = np.ascontiguousarray(centers.T) * np.float32(-2.0)
    rows = max(1, _BLOCK_ELEMENTS // max(k, 1))

    def part(_: int, start: int, stop: int) -> None:
        for s in range(start, stop, rows):
            e = min(s + rows, stop)
            x = points[s:e]
            d = x @ ct
            d += cc
            use(s, e, d, np.einsum("ij,ij->i", x, x))

    run_parts(part, points.shape[0], min_size=_PARALLEL_ELEMENTS // max(k, 1))


def nearest(points: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of every point under squared Euclidean distance.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d)
    centers : ndarray of float64, shape (k, d)

    Returns
    -------
    labels : ndarray of intp, shape (m,)
        Ties go to the lowest index.
    dist2 : ndarray of float64, shape (m,)
        Squared distance to that centre.
    """
    m = points.shape[0]
    labels = np.empty(m, dtype=np.intp)
    dist2 = np.empty(m, dtype=np.float64)

    def use(s: int, e: int, d: np.ndarray, xx: np.ndarray) -> None:
        lab = np.argmin(d, axis=1)
        labels[s:e] = lab
        dist2[s:e] = np.maximum(np.take_along_axis(d, lab[:, None], 1)[:, 0] + xx, 0.0)

    _distance_blocks(points, centers, use)
    return labels, dist2


def two_nearest(
    points: np.ndarray, centers: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest and second-nearest centre of every point.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d)
    centers : ndarray of float64, shape (k, d), k >= 2

    Returns
    -------
    first, second : ndarray of intp, shape (m,)
    dist_first, dist_second : ndarray of float64, shape (m,)
        Euclidean distances to those centres.
    """
    m = points.shape[0]
    first = np.empty(m, dtype=np.intp)
    second = np.empty(m, dtype=np.intp)
    d1 = np.empty(m, dtype=np.float64)
    d2 = np.empty(m, dtype=np.float64)

    def use(s: int, e: int, d: np.ndarray, xx: np.ndarray) -> None:
        a = np.argmin(d, axis=1)[:, None]
        first[s:e] = a[:, 0]
        d1[s:e] = np.take_along_axis(d, a, 1)[:, 0] + xx
        np.put_along_axis(d, a, np.inf, axis=1)
        b = np.argmin(d, axis=1)[:, None]
        second[s:e] = b[:, 0]
        d2[s:e] = np.take_along_axis(d, b, 1)[:, 0] + xx

    _distance_blocks(points, centers, use)
    return first, second, np.sqrt(np.maximum(d1, 0.0)), np.sqrt(np.maximum(d2, 0.0))


def weighted_means(
    points: np.ndarray, weights: np.ndarray, labels: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of the points in each cluster.

    Returns
    -------
    means : ndarray of float64, shape (k, d)
        NaN rows for empty clusters.
    mass : ndarray of float64, shape (k,)
        Total weight per cluster.
    """
    mass = np.bincount(labels, weights=weights, minlength=k)
    sums = np.stack(
        [
            np.bincount(labels, weights=weights * points[:, j], minlength=k)
            for j in range(points.shape[1])
        ],
        axis=1,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / mass[:, None]
    return means, mass


def seed_centers(points: np.ndarray, weights: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Weighted k-means++ seeding.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d), with m >= k
    weights : ndarray of float64, shape (m,), positive
    k : int
    seed : int

    Returns
    -------
    ndarray of float64, shape (k, d)
    """
    # Imported here: scikit-learn takes about a second to import and the GUI should not pay
    # for it at start-up.
    from sklearn.cluster import kmeans_plusplus

    centers, _ = kmeans_plusplus(points, k, sample_weight=weights, random_state=seed)
    return np.asarray(centers, dtype=np.float64)


def lloyd(
    points: np.ndarray,
    weights: np.ndarray,
    centers: np.ndarray,
    *,
    max_iter: int = 60,
    tol: float = 1e-4,
    steps: Steps | None = None,
    stage: str = "clustering",
) -> np.ndarray:
    """Refine centres with weighted Lloyd iterations.

    Empty clusters are re-seeded at the points that cost the most (weight times squared
    distance), so the palette keeps its k entries while the data has that many colours.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d)
    weights : ndarray of float64, shape (m,)
    centers : ndarray of float64, shape (k, d)
        Starting centres.
    max_iter : int
    tol : float
        Stop when no centre moved by more than this (working-space units).
    steps : Steps, optional
        Progress and cancellation, polled every iteration.
    stage : str
        Stage name for progress.

    Returns
    -------
    ndarray of float64, shape (k, d)
    """
    centers = centers.copy()
    k = centers.shape[0]
    points32 = _as_f32(points)
    for it in range(max_iter):
        if steps is not None:
            steps.tick(stage, it / max_iter)
        labels, dist2 = nearest(points32, centers)
        means, mass = weighted_means(points, weights, labels, k)
        empty = np.flatnonzero(mass == 0)
        if empty.size:
            cost = weights * dist2
            # Points already sitting on a centre cost nothing and are never picked.
            order = np.argsort(-cost, kind="stable")[: empty.size]
            order = order[cost[order] > 0]
            means[empty[: order.size]] = points[order]
            # Any still-empty cluster keeps its old centre.
            still = np.isnan(means[:, 0])
            means[still] = centers[still]
        shift = float(np.max(np.abs(means - centers))) if k else 0.0
        centers = means
        if shift <= tol and not empty.size:
            break
    return centers

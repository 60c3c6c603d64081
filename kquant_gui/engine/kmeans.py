"""Weighted k-means (Lloyd's algorithm) over histogram entries.

Seeding is scikit-learn's weighted k-means++ (`sklearn.cluster.kmeans_plusplus`). The Lloyd loop
is our own rather than `sklearn.cluster.KMeans` because it must poll a cancel flag between
iterations, and because its sums are reduced in a fixed order: the result is byte-identical
from run to run whatever the thread count.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import numpy as np

from .parallel import run_parts
from .progress import Steps

#: Distance-matrix elements computed at once (1 MB of float32): large enough that numpy's
#: per-call overhead is amortised, small enough to stay in cache.
_BLOCK_ELEMENTS = 1 << 18
#: Distance computations smaller than this run on one thread; handing out work costs ~0.1 ms.
_PARALLEL_ELEMENTS = 1 << 19


def augment(points: np.ndarray) -> np.ndarray:
    """Points as float32 rows ``[x, 1]``, the form the distance blocks take.

    With centres as columns ``[-2 c, |c|^2]``, one matrix product gives ``|c|^2 - 2 x.c`` for
    every pair, the squared distance less ``|x|^2`` (which does not change any ranking).
    Distances run in float32: half the memory traffic of float64 and 1.5-2x faster, while a
    squared distance in these spaces (<= ~4e4) keeps an error far below any colour step.
    Means and sums stay float64.

    Parameters
    ----------
    points : ndarray of float, shape (m, d)

    Returns
    -------
    ndarray of float32, shape (m, d + 1)
    """
    out = np.empty((points.shape[0], points.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = points
    out[:, -1] = 1.0
    return out


def _distance_blocks(
    aug: np.ndarray,
    centers: np.ndarray,
    use: Callable[[int, int, np.ndarray], None],
) -> None:
    """Call ``use(start, stop, d)`` for blocks of rows of the squared-distance matrix.

    ``aug`` comes from :func:`augment`. ``d`` holds ``|c|^2 - 2 x.c`` for the rows
    ``start:stop`` (add ``|x|^2`` for the squared distance; ``use`` may overwrite ``d``).
    Blocks are spread over the engine's threads.
    """
    k = centers.shape[0]
    c32 = np.ascontiguousarray(centers, dtype=np.float32)
    cols = np.empty((aug.shape[1], k), dtype=np.float32)
    # -2 c is exact in float32 (a power of two), |c|^2 computed in float32 as before.
    cols[:-1] = c32.T * np.float32(-2.0)
    cols[-1] = np.einsum("ij,ij->i", c32, c32)
    rows = max(1, _BLOCK_ELEMENTS // max(k, 1))

    def part(_: int, start: int, stop: int) -> None:
        for s in range(start, stop, rows):
            e = min(s + rows, stop)
            use(s, e, aug[s:e] @ cols)

    run_parts(part, aug.shape[0], min_size=_PARALLEL_ELEMENTS // max(k, 1))


def _squared_norms(aug: np.ndarray, s: int, e: int) -> np.ndarray:
    x = aug[s:e, :-1]
    return np.einsum("ij,ij->i", x, x)


def nearest_labels(aug: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Nearest centre of every point (see :func:`nearest`), without the distances.

    Parameters
    ----------
    aug : ndarray of float32, shape (m, d + 1)
        Points from :func:`augment`.
    centers : ndarray of float64, shape (k, d)

    Returns
    -------
    ndarray of intp, shape (m,)
    """
    labels = np.empty(aug.shape[0], dtype=np.intp)

    def use(s: int, e: int, d: np.ndarray) -> None:
        labels[s:e] = np.argmin(d, axis=1)

    _distance_blocks(aug, centers, use)
    return labels


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
    aug = augment(points)
    m = aug.shape[0]
    labels = np.empty(m, dtype=np.intp)
    dist2 = np.empty(m, dtype=np.float64)

    def use(s: int, e: int, d: np.ndarray) -> None:
        lab = np.argmin(d, axis=1)
        labels[s:e] = lab
        d_min = np.take_along_axis(d, lab[:, None], 1)[:, 0] + _squared_norms(aug, s, e)
        dist2[s:e] = np.maximum(d_min, 0.0)

    _distance_blocks(aug, centers, use)
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
    aug = augment(points)
    m = aug.shape[0]
    first = np.empty(m, dtype=np.intp)
    second = np.empty(m, dtype=np.intp)
    d1 = np.empty(m, dtype=np.float64)
    d2 = np.empty(m, dtype=np.float64)

    def use(s: int, e: int, d: np.ndarray) -> None:
        xx = _squared_norms(aug, s, e)
        a = np.argmin(d, axis=1)[:, None]
        first[s:e] = a[:, 0]
        d1[s:e] = np.take_along_axis(d, a, 1)[:, 0] + xx
        np.put_along_axis(d, a, np.inf, axis=1)
        b = np.argmin(d, axis=1)[:, None]
        second[s:e] = b[:, 0]
        d2[s:e] = np.take_along_axis(d, b, 1)[:, 0] + xx

    _distance_blocks(aug, centers, use)
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


def preload() -> None:
    """Import scikit-learn's seeding now rather than in the first :func:`seed_centers`.

    The import takes about a second (it brings SciPy along). The window runs this as its
    worker thread's first task and the command line on a thread beside its first decode, so
    the first result does not wait for it.
    """
    from sklearn.cluster import kmeans_plusplus  # noqa: F401


def preload_in_background() -> threading.Thread:
    """Run :func:`preload` on a daemon thread and return the thread.

    An import error is left for the first quantization to raise where it can be reported.
    Not for a process that is about to fork: a child forked mid-import would inherit the
    import lock held.
    """

    def run() -> None:
        with contextlib.suppress(Exception):  # the first quantize reports it instead
            preload()

    thread = threading.Thread(target=run, name="kquant-preload", daemon=True)
    thread.start()
    return thread


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
    fixed: int | None = None,
    frozen: int = 0,
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
    fixed : int, optional
        A centre that stays where it is (the shared fully transparent entry): it still takes
        the points nearest to it, so the others do not have to cover them.
    frozen : int
        The first ``frozen`` centres never move either (the user's fixed colours); their
        members still count, since they are not the other centres' members.

    Returns
    -------
    ndarray of float64, shape (k, d)
    """
    centers = centers.copy()
    k = centers.shape[0]
    aug = augment(points)
    for it in range(max_iter):
        if steps is not None:
            steps.tick(stage, it / max_iter)
        labels = nearest_labels(aug, centers)
        means, mass = weighted_means(points, weights, labels, k)
        means[:frozen] = centers[:frozen]
        if fixed is not None:
            means[fixed], mass[fixed] = centers[fixed], max(mass[fixed], 1.0)
        empty = np.flatnonzero(mass[frozen:] == 0) + frozen
        if empty.size:
            _, dist2 = nearest(points, centers)
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


def best_of_starts(
    points: np.ndarray,
    weights: np.ndarray,
    k: int,
    seed: int,
    *,
    n_init: int,
    tol: float,
    steps: Steps,
    fixed_point: np.ndarray | None = None,
) -> np.ndarray:
    """k-means from ``n_init`` k-means++ starts; the run of lowest inertia wins.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d), m > k
    weights : ndarray of float64, shape (m,)
    k : int
        Centres to seed.
    seed : int
        Start ``i`` uses seed ``seed + 7919 i``.
    n_init : int
    tol : float
        Lloyd's tolerance; several starts are compared by inertia, which needs them converged.
    steps : Steps
    fixed_point : ndarray of float64, shape (d,), optional
        An extra centre that never moves (see :func:`lloyd`), appended after the ``k``.

    Returns
    -------
    ndarray of float64, shape (k, d), or (k + 1, d) with ``fixed_point`` last
    """
    best = None
    fixed = k if fixed_point is not None else None
    for i in range(n_init):
        start = seed_centers(points, weights, k, (seed + i * 7919) % 2**32)
        if fixed_point is not None:
            start = np.vstack([start, fixed_point])
        steps.tick("clustering", (i + 0.1) / n_init)
        cand = lloyd(points, weights, start, tol=tol, steps=steps, stage="clustering", fixed=fixed)
        _, d2 = nearest(points, cand)
        inertia = float(np.dot(weights, d2))
        if best is None or inertia < best[0]:
            best = (inertia, cand)
    assert best is not None
    return best[1]

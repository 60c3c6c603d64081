"""Weighted k-means (Lloyd's algorithm) over histogram entries.

Seeding is weighted greedy k-means++ (:mod:`seeding`). The Lloyd loop is our own rather than
`sklearn.cluster.KMeans` because it must poll a cancel flag between iterations, and because its
sums are reduced in a fixed order: the result is byte-identical from run to run whatever the
thread count. Neither imports scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .parallel import run_parts
from .progress import Steps
from .seeding import Seedings, kmeans_plusplus

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


def squared_norms(aug: np.ndarray) -> np.ndarray:
    """``|x|^2`` of every point, as the distance blocks add it back (float32, shape (m,)).

    Each point's norm is its own sum of three products, so computing them once for all
    points gives the same values as block by block: a caller that measures distances to
    several sets of centres (Weiszfeld's steps) works them out once.
    """
    return _squared_norms(aug, 0, aug.shape[0])


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
    return nearest_augmented(aug, squared_norms(aug), centers)


def nearest_augmented(
    aug: np.ndarray, norms: np.ndarray, centers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nearest` of points already augmented, with their :func:`squared_norms`.

    Parameters
    ----------
    aug : ndarray of float32, shape (m, d + 1)
        Points from :func:`augment`.
    norms : ndarray of float32, shape (m,)
        ``squared_norms(aug)``.
    centers : ndarray of float64, shape (k, d)

    Returns
    -------
    labels : ndarray of intp, shape (m,)
    dist2 : ndarray of float64, shape (m,)
    """
    m, k = aug.shape[0], centers.shape[0]
    labels = np.empty(m, dtype=np.intp)
    dist2 = np.empty(m, dtype=np.float64)

    def use(s: int, e: int, d: np.ndarray) -> None:
        lab = np.argmin(d, axis=1)
        labels[s:e] = lab
        # Flat indices into the block (as in two_nearest): the same elements as
        # take_along_axis, in a third less time; this pass runs on the engine's threads.
        lab += np.arange(0, (e - s) * k, k)
        d_min = d.reshape(-1).take(lab)
        d_min += norms[s:e]
        np.maximum(d_min, 0.0, out=dist2[s:e])

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

    k = centers.shape[0]

    def use(s: int, e: int, d: np.ndarray) -> None:
        xx = _squared_norms(aug, s, e)
        # Flat indices into the block rather than take/put_along_axis: the same elements,
        # a third less time for this pass (the mapping's costliest at 0.3 MP).
        flat = d.reshape(-1)
        row = np.arange(0, (e - s) * k, k)
        a = np.argmin(d, axis=1)
        first[s:e] = a
        at = row + a
        d1[s:e] = flat[at] + xx
        flat[at] = np.inf
        b = np.argmin(d, axis=1)
        second[s:e] = b
        d2[s:e] = flat[row + b] + xx

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


class Frozen:
    """Centres that k-means holds still, around the ``k`` it places: the user's fixed colours
    (first) and the shared fully transparent entry (last).

    Parameters
    ----------
    fixed : ndarray of float64, shape (m, d), optional
        Entries 0..m-1 of every result; the free centres are seeded around them.
    point : ndarray of float64, shape (d,), optional
        Appended after the free centres; seeding does not see it.
    """

    def __init__(self, fixed: np.ndarray | None = None, point: np.ndarray | None = None):
        self.fixed = fixed if fixed is not None and fixed.shape[0] else None
        self.point = point

    @property
    def m(self) -> int:
        """How many fixed colours lead the centres."""
        return 0 if self.fixed is None else self.fixed.shape[0]

    def around(self, free: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The centres ``[fixed, free, point]`` and their :meth:`mask`."""
        parts = [p for p in (self.fixed, free) if p is not None]
        if self.point is not None:
            parts.append(self.point[None, :])
        centers = np.vstack(parts) if len(parts) > 1 else free
        return centers, self.mask(centers.shape[0])

    def mask(self, n: int) -> np.ndarray | None:
        """Which of ``n`` centres laid out as :meth:`around` does are frozen; None if none."""
        if self.fixed is None and self.point is None:
            return None
        mask = np.zeros(n, dtype=bool)
        mask[: self.m] = True
        if self.point is not None:
            mask[-1] = True
        return mask

    def start(
        self,
        points: np.ndarray,
        weights: np.ndarray,
        k: int,
        seed: int,
        seedings: Seedings | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``k`` free centres by weighted k-means++, the fixed colours counting as chosen,
        placed among the frozen ones; and the mask of those (see :meth:`around`)."""
        return self.around(
            seed_centers(points, weights, k, seed, fixed=self.fixed, seedings=seedings)
        )


def seed_centers(
    points: np.ndarray,
    weights: np.ndarray,
    k: int,
    seed: int,
    *,
    fixed: np.ndarray | None = None,
    seedings: Seedings | None = None,
) -> np.ndarray:
    """Weighted k-means++ seeding.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d), with m >= k
    weights : ndarray of float64, shape (m,), positive
    k : int
    seed : int
    fixed : ndarray of float64, shape (f, d), optional
        Centres already chosen (see :func:`seeding.kmeans_plusplus`).
    seedings : Seedings, optional
        Seedings of earlier runs on the same points, resumed rather than drawn again (the
        same centres); not used with ``fixed``.

    Returns
    -------
    ndarray of float64, shape (k, d)
    """
    if seedings is not None and (fixed is None or fixed.shape[0] == 0):
        return seedings.centers(points, weights, k, seed)
    return kmeans_plusplus(points, weights, k, seed, fixed=fixed)


def lloyd(
    points: np.ndarray,
    weights: np.ndarray,
    centers: np.ndarray,
    *,
    max_iter: int = 60,
    tol: float = 1e-4,
    steps: Steps | None = None,
    stage: str = "clustering",
    frozen: np.ndarray | None = None,
    relax: float = 1.0,
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
    frozen : ndarray of bool, shape (k,), optional
        Centres that stay where they are (the user's fixed colours, the shared fully
        transparent entry): they still take the points nearest to them, so the others do not
        have to cover those, and they are never re-seeded.
    relax : float
        Each centre moves this many times the way to its cluster's mean (over-relaxation):
        above 1, a run that creeps towards convergence can get there in fewer iterations
        (china k=64: 6 steps at 1.8 got further than 10 plain ones), though it may overshoot.

    Returns
    -------
    ndarray of float64, shape (k, d)
    """
    centers = centers.copy()
    k = centers.shape[0]
    moving = np.ones(k, dtype=bool) if frozen is None else ~frozen
    aug = augment(points)
    for it in range(max_iter):
        if steps is not None:
            steps.tick(stage, it / max_iter)
        labels = nearest_labels(aug, centers)
        means, mass = weighted_means(points, weights, labels, k)
        means[~moving] = centers[~moving]
        empty = np.flatnonzero((mass == 0) & moving)
        if empty.size:
            _, dist2 = nearest_augmented(aug, squared_norms(aug), centers)
            cost = weights * dist2
            # Points already sitting on a centre cost nothing and are never picked.
            order = np.argsort(-cost, kind="stable")[: empty.size]
            order = order[cost[order] > 0]
            means[empty[: order.size]] = points[order]
            # Any still-empty cluster keeps its old centre.
            still = np.isnan(means[:, 0])
            means[still] = centers[still]
        if relax != 1.0:
            # Re-seeded centres jump where they were put; the others overshoot their mean.
            step = means - centers
            step[empty] = 0.0
            means = means + (relax - 1.0) * step
        shift = float(np.max(np.abs(means - centers))) if k else 0.0
        centers = means
        if shift <= tol and not empty.size:
            break
    return centers


def weiszfeld(
    points: np.ndarray,
    weights: np.ndarray,
    centers: np.ndarray,
    *,
    n_iter: int,
    floor: float = 0.5,
    steps: Steps | None = None,
    stage: str = "refining",
    frozen: np.ndarray | None = None,
) -> np.ndarray:
    """Move centres towards their clusters' weighted geometric medians (Weiszfeld steps).

    Lloyd minimises the sum of *squared* distances; a palette is judged by the *mean*
    distance (mean CIEDE2000, which Euclidean distance in the perceptual working spaces
    follows). Each step reassigns points to their nearest centre and replaces every centre by
    the mean of its points weighted by ``weight / distance``, which lowers the mean distance
    (Weiszfeld's iteration for the geometric median): far outliers pull less, the crowd
    inside a cluster more.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d)
    weights : ndarray of float64, shape (m,)
    centers : ndarray of float64, shape (k, d)
    n_iter : int
    floor : float
        Distance ``d`` counts as ``sqrt(d**2 + floor**2)``, so a point sitting on a centre
        does not take all of its weight (working-space units, about half a dE).
    steps : Steps, optional
    stage : str
    frozen : ndarray of bool, shape (k,), optional
        Centres that stay where they are (see :func:`lloyd`).

    Returns
    -------
    ndarray of float64, shape (k, d)
    """
    k = centers.shape[0]
    # The points stay put between steps: augmented and their norms taken once.
    aug = augment(points)
    norms = squared_norms(aug)
    for it in range(n_iter):
        if steps is not None:
            steps.tick(stage, it / max(n_iter, 1))
        labels, dist2 = nearest_augmented(aug, norms, centers)
        pull = weights / np.sqrt(dist2 + floor * floor)
        means, _ = weighted_means(points, pull, labels, k)
        empty = np.isnan(means[:, 0])
        if frozen is not None:
            empty |= frozen
        means[empty] = centers[empty]
        centers = means
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
    frozen: Frozen | None = None,
    seedings: Seedings | None = None,
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
    frozen : Frozen, optional
        Centres that never move (see :func:`lloyd`), placed around the ``k``.
    seedings : Seedings, optional
        Shared with runs at other k on the same points (see :func:`seed_centers`).

    Returns
    -------
    ndarray of float64, shape (k, d), or with the frozen centres around them
    """
    best = None
    frozen = frozen or Frozen()
    for i in range(n_init):
        start, mask = frozen.start(points, weights, k, (seed + i * 7919) % 2**32, seedings)
        steps.tick("clustering", (i + 0.1) / n_init)
        cand = lloyd(points, weights, start, tol=tol, steps=steps, stage="clustering", frozen=mask)
        _, d2 = nearest(points, cand)
        inertia = float(np.dot(weights, d2))
        if best is None or inertia < best[0]:
            best = (inertia, cand)
    assert best is not None
    return best[1]

"""Weighted k-means (Lloyd's algorithm) over histogram entries.

Seeding is weighted greedy k-means++ (:mod:`seeding`). The Lloyd loop is our own rather than
`sklearn.cluster.KMeans` because it must poll a cancel flag between iterations, and because its
sums are reduced in a fixed order: the result is byte-identical from run to run whatever the
thread count. Neither imports scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .distances import (
    LabelHints,
    augment,
    nearest,
    nearest_augmented,
    nearest_labels,
    squared_norms,
    transposed,
)
from .progress import Steps
from .seeding import Seedings, kmeans_plusplus


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
    hints: LabelHints | None = None,
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
    hints : LabelHints, optional
        Where the last iteration's labels are left for a later pass over the same points
        (each iteration after the first starts from the one before's labels).

    Returns
    -------
    ndarray of float64, shape (k, d)
    """
    centers = centers.copy()
    k = centers.shape[0]
    moving = np.ones(k, dtype=bool) if frozen is None else ~frozen
    aug = augment(points)
    aug_t = transposed(aug)
    labels = None
    for it in range(max_iter):
        if steps is not None:
            steps.tick(stage, it / max_iter)
        labels = nearest_labels(aug, centers, guess=labels, aug_t=aug_t)
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
    if hints is not None and labels is not None:
        hints.put(points, k, labels)
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
    hints: LabelHints | None = None,
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
    hints : LabelHints, optional
        Labels of an earlier pass over the same points, the first step's guess; the last
        step's labels are left there in turn.

    Returns
    -------
    ndarray of float64, shape (k, d)
    """
    k = centers.shape[0]
    # The points stay put between steps: augmented and their norms taken once.
    aug = augment(points)
    aug_t = transposed(aug)
    norms = squared_norms(aug)
    labels = None if hints is None else hints.get(points, k)
    for it in range(n_iter):
        if steps is not None:
            steps.tick(stage, it / max(n_iter, 1))
        labels, dist2 = nearest_augmented(aug, norms, centers, guess=labels, aug_t=aug_t)
        pull = weights / np.sqrt(dist2 + floor * floor)
        means, _ = weighted_means(points, pull, labels, k)
        empty = np.isnan(means[:, 0])
        if frozen is not None:
            empty |= frozen
        means[empty] = centers[empty]
        centers = means
    if hints is not None and labels is not None:
        hints.put(points, k, labels)
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

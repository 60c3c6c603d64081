"""Where k-means starts: weighted greedy k-means++ in plain numpy.

Arthur and Vassilvitskii's k-means++ picks each new centre with probability proportional to a
point's weight times its squared distance to the nearest centre so far. The greedy variant
(the one scikit-learn ships) draws ``2 + ln k`` candidates per centre and keeps the one that
lowers the total cost most, which gives noticeably better starts for a few more distance
passes. Written here rather than imported so that the default engine does not load
scikit-learn and SciPy (about a second at start-up) for forty lines of arithmetic.

Every step is a single-threaded numpy operation on float64 in a fixed order, and the random
draws come from ``numpy.random.default_rng(seed)``: the same points, weights and seed give the
same centres on every run and with any number of engine threads.
"""

from __future__ import annotations

import numpy as np


def _squared_distances(
    points: np.ndarray, sq_norms: np.ndarray, centers: np.ndarray
) -> np.ndarray:
    """Squared Euclidean distance of every point to each of a few centres.

    ``|x|^2 + |c|^2 - 2 x.c`` with one matrix product, clipped at 0. The product's inner
    dimension is the 3 colour coordinates, so its sums run in the same order whatever BLAS's
    threads do, and the rounding error (~1e-12 here) is far below any colour step.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d)
    sq_norms : ndarray of float64, shape (m,)
        ``|x|^2`` of every point.
    centers : ndarray of float64, shape (t, d)

    Returns
    -------
    ndarray of float64, shape (t, m)
    """
    out = centers @ points.T
    out *= -2.0
    out += sq_norms[None, :]
    out += np.einsum("ij,ij->i", centers, centers)[:, None]
    np.maximum(out, 0.0, out=out)
    return out


def kmeans_plusplus(
    points: np.ndarray,
    weights: np.ndarray,
    k: int,
    seed: int,
    *,
    n_trials: int | None = None,
    fixed: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy weighted k-means++ seeding.

    Parameters
    ----------
    points : ndarray of float, shape (m, d), with m >= k >= 1
    weights : ndarray of float, shape (m,), non-negative, with a positive sum
        How many pixels each point stands for.
    k : int
        Number of centres.
    seed : int
        Seed of ``numpy.random.default_rng``.
    n_trials : int, optional
        Candidates drawn per centre after the first; default :func:`default_trials`.
    fixed : ndarray of float, shape (f, d), optional
        Centres already chosen (the user's fixed colours): every centre, the first included,
        is then drawn by the distance to them, so that the new ones go where they are not.

    Returns
    -------
    ndarray of float64, shape (k, d)
        Centres, each one of the points. When fewer than k points carry weight, the centres
        past them repeat an earlier one (Lloyd re-seeds such empty clusters); with ``fixed``,
        there are none (shape (0, d)) when every weighted point already is one of those.
    """
    x = np.asarray(points, dtype=np.float64)
    given = fixed is not None and fixed.shape[0] > 0
    if not (0 if given else 1) <= k <= x.shape[0]:
        raise ValueError(f"k-means++ needs 1 <= k <= {x.shape[0]} points, got k={k}")
    trials = n_trials if n_trials is not None else default_trials(k)
    return Seeding(x, weights, seed, trials, fixed=fixed).centers(k)


def default_trials(k: int) -> int:
    """Candidates drawn per centre when seeding ``k`` centres: ``2 + int(ln k)``."""
    return 2 + int(np.log(max(k, 1)))


class Seeding:
    """One greedy k-means++ draw, carried as far as asked and resumable.

    Each centre depends only on the ones before it and on the random stream, so the first
    ``j`` centres of a seeding of ``k >= j`` are the seeding of ``j`` (with the same points,
    weights, seed and trials): runs at many k (``choose_k``) draw the centres once.

    Parameters
    ----------
    points, weights, seed, fixed
        As for :func:`kmeans_plusplus`.
    trials : int
        Candidates drawn per centre after the first.
    """

    def __init__(
        self,
        points: np.ndarray,
        weights: np.ndarray,
        seed: int,
        trials: int,
        *,
        fixed: np.ndarray | None = None,
    ) -> None:
        self.points, self.weights, self.seed, self.trials = points, weights, seed, trials
        self._x = np.asarray(points, dtype=np.float64)
        self._w = np.asarray(weights, dtype=np.float64)
        self._rng = np.random.default_rng(seed)
        self._sq_norms = np.einsum("ij,ij->i", self._x, self._x)
        self._chosen: list[int] = []
        #: True once every weighted point is a centre: later centres repeat the first.
        self._exhausted = False
        self._given = fixed is not None and fixed.shape[0] > 0
        self._closest: np.ndarray | None = None
        if self._given:
            self._closest = _squared_distances(
                self._x, self._sq_norms, np.asarray(fixed, np.float64)
            ).min(axis=0)

    def _first(self) -> None:
        """The first centre: a point drawn by weight alone. side="right" skips zero-weight
        points."""
        x, m = self._x, self._x.shape[0]
        cumulative = np.cumsum(self._w)
        first = min(
            int(np.searchsorted(cumulative, self._rng.random() * cumulative[-1], "right")), m - 1
        )
        self._chosen.append(first)
        closest = _squared_distances(x, self._sq_norms, x[[first]])[0]
        closest[first] = 0.0  # exactly: a centre is never drawn again
        self._closest = closest

    def _next(self) -> None:
        """One more centre (or none: see ``_exhausted``)."""
        x, m, closest = self._x, self._x.shape[0], self._closest
        assert closest is not None
        cumulative = np.cumsum(self._w * closest)
        total = cumulative[-1]
        if not total > 0:
            # Every weighted point already is a centre: nothing left to spread to.
            self._exhausted = True
            return
        draws = self._rng.random(self.trials) * total
        candidates = np.minimum(np.searchsorted(cumulative, draws, "right"), m - 1)
        dist = _squared_distances(x, self._sq_norms, x[candidates])
        np.minimum(dist, closest[None, :], out=dist)
        # einsum's own loop rather than BLAS: the same sums in the same order on any machine
        # setting.
        best = int(np.argmin(np.einsum("tm,m->t", dist, self._w)))
        chosen = int(candidates[best])
        self._chosen.append(chosen)
        closest = dist[best]
        closest[chosen] = 0.0
        self._closest = closest

    def centers(self, k: int) -> np.ndarray:
        """The first ``k`` centres, shape (k, d) (see :func:`kmeans_plusplus`)."""
        if not self._given and not self._chosen and k > 0:
            self._first()
        while len(self._chosen) < k and not self._exhausted:
            self._next()
        chosen = self._chosen[:k]
        if len(chosen) < k:
            if not chosen:
                return self._x[:0].copy()
            chosen = chosen + [chosen[0]] * (k - len(chosen))
        return self._x[np.asarray(chosen, dtype=np.intp)].copy()


class Seedings:
    """The seedings of runs at many k on the same levels, each drawn once (see
    :class:`Seeding`); keyed by the very point and weight arrays, seed and trials."""

    def __init__(self) -> None:
        self._seedings: list[Seeding] = []

    def centers(self, points: np.ndarray, weights: np.ndarray, k: int, seed: int) -> np.ndarray:
        """:func:`kmeans_plusplus` of these arguments (no fixed centres)."""
        if not 1 <= k <= points.shape[0]:
            raise ValueError(f"k-means++ needs 1 <= k <= {points.shape[0]} points, got k={k}")
        trials = default_trials(k)
        for s in self._seedings:
            same = s.points is points and s.weights is weights
            if same and s.seed == seed and s.trials == trials:
                return s.centers(k)
        seeding = Seeding(points, weights, seed, trials)
        self._seedings.append(seeding)
        return seeding.centers(k)

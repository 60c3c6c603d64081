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
        Candidates drawn per centre after the first; default ``2 + int(ln k)``.
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
    w = np.asarray(weights, dtype=np.float64)
    m = x.shape[0]
    given = fixed is not None and fixed.shape[0] > 0
    if not (0 if given else 1) <= k <= m:
        raise ValueError(f"k-means++ needs 1 <= k <= {m} points, got k={k}")
    rng = np.random.default_rng(seed)
    trials = n_trials if n_trials is not None else 2 + int(np.log(max(k, 1)))
    chosen = np.empty(k, dtype=np.intp)
    sq_norms = np.einsum("ij,ij->i", x, x)
    if given:
        closest = _squared_distances(x, sq_norms, np.asarray(fixed, np.float64)).min(axis=0)
        first = 0
    else:
        # The first centre: a point drawn by weight alone. side="right" skips zero-weight
        # points.
        cumulative = np.cumsum(w)
        chosen[0] = min(
            int(np.searchsorted(cumulative, rng.random() * cumulative[-1], "right")), m - 1
        )
        closest = _squared_distances(x, sq_norms, x[chosen[:1]])[0]
        closest[chosen[0]] = 0.0  # exactly: a centre is never drawn again
        first = 1
    for c in range(first, k):
        cumulative = np.cumsum(w * closest)
        total = cumulative[-1]
        if not total > 0:
            # Every weighted point already is a centre: nothing left to spread to.
            if c == 0:
                return x[:0].copy()
            chosen[c:] = chosen[0]
            break
        draws = rng.random(trials) * total
        candidates = np.minimum(np.searchsorted(cumulative, draws, "right"), m - 1)
        dist = _squared_distances(x, sq_norms, x[candidates])
        np.minimum(dist, closest[None, :], out=dist)
        # einsum's own loop rather than BLAS: the same sums in the same order on any machine
        # setting.
        best = int(np.argmin(np.einsum("tm,m->t", dist, w)))
        chosen[c] = candidates[best]
        closest = dist[best]
        closest[chosen[c]] = 0.0
    return x[chosen].copy()

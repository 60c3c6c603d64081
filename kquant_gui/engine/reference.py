"""The reference engine: scikit-learn's ``KMeans`` on the same weighted histogram.

``quantize(..., engine="sklearn")`` clusters the very points the default engine clusters (the
image's histogram, in the same colour space, weighted by pixel count and alpha) with the
textbook recipe: ``sklearn.cluster.KMeans`` with its k-means++ start, run to convergence on
every histogram entry. It is there to compare against: a student checking the engine against
what they know, or a test showing the default engine's palette is at least as good. The rest of
the pipeline (mapping, dithering, palette order) is shared.

scikit-learn (and SciPy behind it) takes about a second to import, so it is imported here, on
first use, and never by the default engine.
"""

from __future__ import annotations

import numpy as np

from .progress import Steps


def sklearn_centers(
    points: np.ndarray, weights: np.ndarray, k: int, seed: int, steps: Steps | None = None
) -> np.ndarray:
    """Centres found by scikit-learn's ``KMeans`` on weighted points.

    ``KMeans(n_clusters=k, n_init=1, random_state=seed)`` with ``sample_weight``: one
    k-means++ start (scikit-learn's default for that start), Lloyd iterations to its own
    convergence test. OpenMP is limited to one thread for the call, so the summation order and
    hence the result do not depend on the machine; the call cannot be interrupted, so
    ``steps`` is polled just before and after it.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d), with m > k
    weights : ndarray of float64, shape (m,), positive
    k : int
    seed : int
    steps : Steps, optional

    Returns
    -------
    ndarray of float64, shape (k, d)
    """
    if steps is not None:
        steps.tick("clustering", 0.0)
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        km = KMeans(n_clusters=k, n_init=1, random_state=seed)
        km.fit(points, sample_weight=weights)
    if steps is not None:
        steps.tick("clustering", 1.0)
    return np.asarray(km.cluster_centers_, dtype=np.float64)

"""The numpy k-means++ start and the Weiszfeld polish towards the lowest mean distance."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui.engine.distances import nearest
from kquant_gui.engine.kmeans import weiszfeld
from kquant_gui.engine.seeding import Seedings, kmeans_plusplus


def _blobs(n_blobs: int, per_blob: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Tight, well separated blobs of points in 3-D, and each point's blob."""
    rng = np.random.default_rng(seed)
    i = np.arange(n_blobs)
    centres = np.stack([i * 40.0, (i % 3) * 25.0, np.zeros(n_blobs)], axis=1)
    which = np.repeat(np.arange(n_blobs), per_blob)
    return centres[which] + rng.normal(0, 1.0, (which.size, 3)), which


def test_one_centre_lands_in_every_separated_blob():
    points, which = _blobs(6, 50)
    centers = kmeans_plusplus(points, np.ones(points.shape[0]), 6, seed=0)
    blob_of_centre = [which[np.flatnonzero((points == c).all(1))[0]] for c in centers]
    assert sorted(blob_of_centre) == list(range(6))


def test_centres_are_input_points_and_the_seed_decides():
    points, _ = _blobs(5, 40)
    weights = np.linspace(1, 3, points.shape[0])
    a = kmeans_plusplus(points, weights, 8, seed=11)
    assert a.shape == (8, 3) and a.dtype == np.float64
    assert all((points == c).all(1).any() for c in a)
    assert np.array_equal(a, kmeans_plusplus(points, weights, 8, seed=11))
    draws = {kmeans_plusplus(points, weights, 8, seed=s).tobytes() for s in range(6)}
    assert len(draws) > 1


def test_points_without_weight_are_never_chosen():
    points, _ = _blobs(4, 30)
    weights = np.ones(points.shape[0])
    weights[::2] = 0.0
    for seed in range(5):
        centers = kmeans_plusplus(points, weights, 10, seed=seed)
        rows = [np.flatnonzero((points == c).all(1))[0] for c in centers]
        assert all(weights[r] > 0 for r in rows)


def test_heavy_points_draw_the_first_centre():
    points = np.array([[0.0, 0, 0], [50, 0, 0], [0, 50, 0]])
    weights = np.array([1e-9, 1.0, 1e-9])
    assert np.array_equal(kmeans_plusplus(points, weights, 1, seed=4)[0], points[1])


def test_fewer_distinct_points_than_k_repeat_a_centre():
    points = np.array([[1.0, 2, 3], [1.0, 2, 3], [9.0, 9, 9]])
    centers = kmeans_plusplus(points, np.ones(3), 3, seed=0)
    assert {tuple(c) for c in centers} == {(1.0, 2.0, 3.0), (9.0, 9.0, 9.0)}


@pytest.mark.parametrize("k", [0, 4])
def test_k_outside_the_points_is_refused(k):
    with pytest.raises(ValueError, match="k-means\\+\\+"):
        kmeans_plusplus(np.zeros((3, 3)), np.ones(3), k, seed=0)


def test_weiszfeld_lowers_the_mean_distance():
    # One cluster: a dense core and a few far outliers. The mean sits between them; the
    # geometric median stays with the core, where the weighted mean distance is lower.
    rng = np.random.default_rng(0)
    core = rng.normal(0, 1.0, (200, 3))
    outliers = rng.normal(0, 1.0, (10, 3)) + 60.0
    points = np.vstack([core, outliers])
    weights = np.ones(points.shape[0])
    start = points.mean(axis=0, keepdims=True)

    def mean_distance(c: np.ndarray) -> float:
        return float(np.dot(weights, np.sqrt(nearest(points, c)[1])) / weights.sum())

    moved = weiszfeld(points, weights, start, n_iter=10)
    assert mean_distance(moved) < 0.7 * mean_distance(start)
    assert np.linalg.norm(moved[0]) < 3.0


def test_fixed_centres_count_as_chosen():
    # Two of six blobs already hold a fixed centre: the four new ones go to the other four.
    points, which = _blobs(6, 50)
    fixed = np.array([points[which == 0].mean(0), points[which == 4].mean(0)])
    centers = kmeans_plusplus(points, np.ones(points.shape[0]), 4, seed=1, fixed=fixed)
    blob_of_centre = [which[np.flatnonzero((points == c).all(1))[0]] for c in centers]
    assert sorted(blob_of_centre) == [1, 2, 3, 5]
    # Points that all sit on fixed centres leave nothing to seed.
    on = np.repeat(fixed, 3, axis=0)
    assert kmeans_plusplus(on, np.ones(6), 2, seed=0, fixed=fixed).shape == (0, 3)


def test_a_shared_seeding_resumed_in_any_order_gives_each_k_its_own_centres():
    # choose_k's runs at many k resume one draw per (points, seed, trials): whatever the
    # order of the k asked, each gets the very centres a seeding of its own would give,
    # including past the points that carry weight (centres repeat the first).
    rng = np.random.default_rng(5)
    points = np.round(rng.normal(0, 20, (300, 3)) / 4) * 4
    weights = rng.integers(0, 4, points.shape[0]).astype(np.float64)
    seedings = Seedings()
    for k in (179, 150, 55, 178, 60, 1, 300, 149, 20, 8):
        for seed in (0, 7919):
            own = kmeans_plusplus(points, weights, k, seed)
            assert seedings.centers(points, weights, k, seed).tobytes() == own.tobytes()
    with pytest.raises(ValueError):
        seedings.centers(points, weights, 301, 0)

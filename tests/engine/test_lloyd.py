"""Lloyd iterations: an empty cluster is re-seeded at the costliest point, or kept."""

from __future__ import annotations

import numpy as np

from kquant_gui.engine.distances import (
    _squared_norms,
    augment,
    nearest,
    nearest_augmented,
    squared_norms,
    two_nearest,
)
from kquant_gui.engine.kmeans import lloyd, weiszfeld
from kquant_gui.engine.parallel import engine_threads


def test_an_empty_cluster_is_reseeded_at_the_costliest_point():
    points = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [100.0, 0.0, 0.0]])
    weights = np.ones(3)
    # The third centre is far from every point: no point picks it, so its cluster is empty.
    start = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [1000.0, 0.0, 0.0]])
    centers = lloyd(points, weights, start, max_iter=1)
    # After one iteration it sits on the point that cost most (100, 95 away from its centre).
    assert np.array_equal(centers[2], points[2])
    assert np.array_equal(centers[:2], [[0.0, 0.0, 0.0], [55.0, 0.0, 0.0]])
    # Run to the end, every point has a centre of its own.
    final = lloyd(points, weights, start)
    assert np.array_equal(final[np.argsort(final[:, 0])], points)


def test_the_reseed_weighs_points_by_their_weight():
    points = np.array([[0.0, 0.0, 0.0], [30.0, 0.0, 0.0], [-20.0, 0.0, 0.0]])
    # The nearer point at -20 costs more than the one at 30 when it weighs 3 times as much.
    weights = np.array([1.0, 1.0, 3.0])
    start = np.array([[0.0, 0.0, 0.0], [500.0, 0.0, 0.0]])
    centers = lloyd(points, weights, start, max_iter=1)
    assert np.array_equal(centers[1], points[2])


def test_with_no_point_left_to_take_an_empty_cluster_keeps_its_centre():
    # Two points, three centres: after both points have a centre, nothing costs anything, so
    # the spare centre stays where it was rather than becoming NaN or a duplicate.
    points = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]])
    start = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [500.0, 0.0, 0.0]])
    centers = lloyd(points, np.ones(2), start)
    assert np.array_equal(centers, start)
    assert not np.isnan(centers).any()


def test_frozen_centres_never_move_but_keep_their_members():
    points = np.array([[0.0, 0, 0], [1, 0, 0], [10, 0, 0], [11, 0, 0]])
    start = np.array([[0.4, 0, 0], [9.0, 0, 0]])
    frozen = np.array([True, False])
    centers = lloyd(points, np.ones(4), start, frozen=frozen)
    assert centers[0, 0] == 0.4  # held still
    assert centers[1, 0] == 10.5  # the free centre takes only the points nearest to it
    # A frozen centre without members is not re-seeded.
    lone = lloyd(points, np.ones(4), np.array([[50.0, 0, 0], [5.0, 0, 0]]), frozen=frozen)
    assert lone[0, 0] == 50.0


def test_over_relaxed_steps_reach_the_same_centres():
    # Two centres creeping along a line of evenly spread points: the case over-relaxation
    # is for. Whatever the factor, the converged centres are plain Lloyd's.
    x = np.linspace(0.0, 100.0, 1001)
    points = np.stack([x, np.zeros_like(x), np.zeros_like(x)], axis=1)
    weights = np.ones(1001)
    start = np.array([[10.0, 0, 0], [20.0, 0, 0]])
    plain = lloyd(points, weights, start, max_iter=500, tol=1e-9)
    assert np.allclose(plain[:, 0], [24.95, 75.0])
    for relax in (1.5, 1.8):
        relaxed = lloyd(points, weights, start, max_iter=500, tol=1e-9, relax=relax)
        assert np.allclose(relaxed, plain, atol=1e-6)
    # The first step overshoots the cluster means by the factor.
    one = lloyd(points, weights, start, max_iter=1, tol=0.0, relax=1.5)
    step = lloyd(points, weights, start, max_iter=1, tol=0.0)
    assert np.allclose(one, start + 1.5 * (step - start))
    # relax=1 is the plain step, bit for bit.
    three = lloyd(points, weights, start, max_iter=3, tol=0.0)
    assert (
        lloyd(points, weights, start, max_iter=3, tol=0.0, relax=1.0).tobytes() == three.tobytes()
    )


def test_two_nearest_ranks_every_centre_like_a_full_sort():
    rng = np.random.default_rng(7)
    points = rng.uniform(0, 100, (3000, 3))
    centers = rng.uniform(0, 100, (37, 3))
    first, second, d1, d2 = two_nearest(points, centers)
    full = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    order = np.argsort(full, axis=1, kind="stable")
    assert (first == order[:, 0]).mean() > 0.999 and (second == order[:, 1]).mean() > 0.999
    rows = np.arange(3000)
    assert np.allclose(d1, np.sqrt(full[rows, first]), atol=1e-2)
    assert np.allclose(d2, np.sqrt(full[rows, second]), atol=1e-2)
    assert (second != first).all() and (d2 >= d1).all()


def _nearest_by_blocks(points, centers):
    """The distances and labels the distance blocks give, computed block by block with
    ``np.argmin`` and the per-block norms (what :func:`nearest` computed before its norms were
    taken once)."""
    aug = augment(points)
    c32 = centers.astype(np.float32)
    cols = np.vstack([c32.T * np.float32(-2.0), np.einsum("ij,ij->i", c32, c32)])
    labels, dist2 = [], []
    for s in range(0, aug.shape[0], 1000):
        d = aug[s : s + 1000] @ cols
        lab = np.argmin(d, axis=1)
        labels.append(lab)
        d_min = d[np.arange(lab.size), lab] + _squared_norms(aug, s, s + lab.size)
        dist2.append(np.maximum(d_min, 0.0).astype(np.float64))
    return np.concatenate(labels), np.concatenate(dist2)


def test_nearest_of_augmented_points_is_exactly_nearest():
    rng = np.random.default_rng(3)
    # Integer coordinates and a repeated centre: exact ties, which go to the lowest index.
    points = rng.integers(0, 60, (20_000, 3)).astype(np.float64)
    centers = rng.integers(0, 60, (64, 3)).astype(np.float64)
    centers[40] = centers[7]
    aug = augment(points)
    norms = squared_norms(aug)
    # Each point's norm is its own: taken at once or in blocks, the same values.
    in_blocks = [_squared_norms(aug, s, s + 5000) for s in range(0, 20_000, 5000)]
    assert np.array_equal(norms, np.concatenate(in_blocks))
    expected = _nearest_by_blocks(points, centers)
    for threads in (1, 2):
        with engine_threads(threads):
            for got in (nearest_augmented(aug, norms, centers), nearest(points, centers)):
                assert np.array_equal(got[0], expected[0])
                assert np.array_equal(got[1], expected[1])
    assert not (expected[0] == 40).any()  # the tie went to centre 7


def test_weiszfeld_with_its_points_prepared_once_moves_as_step_by_step():
    rng = np.random.default_rng(5)
    points = rng.normal(50, 15, (30_000, 3))
    weights = rng.uniform(0.5, 3.0, 30_000)
    start = rng.normal(50, 15, (64, 3))
    centers = start
    for _ in range(3):  # one step at a time, each measuring its distances afresh
        centers = weiszfeld(points, weights, centers, n_iter=1)
    assert np.array_equal(weiszfeld(points, weights, start, n_iter=3), centers)

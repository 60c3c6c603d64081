"""Nearest-centre passes: a guess at the labels changes the cost, never the answer."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui import quantize
from kquant_gui.engine import distances
from kquant_gui.engine.cluster import aggregate_with_rows
from kquant_gui.engine.distances import (
    LabelHints,
    augment,
    nearest_augmented,
    nearest_labels,
    nearest_with_runner_up,
    squared_norms,
    two_nearest,
)
from kquant_gui.engine.parallel import engine_threads


def _points_and_centres(seed: int, m: int = 20_000, k: int = 64):
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, 100, (m, 3))
    centers = rng.uniform(0, 100, (k, 3))
    # Ties: a centre twice (every point as near to both copies), and points sitting on a
    # centre or halfway between two (equal distances in float32 too).
    centers[7] = centers[3]
    points[:50] = centers[rng.integers(0, k, 50)][: points[:50].shape[0]]
    points[50:100] = (centers[10] + centers[11]) / 2
    points = np.rint(points)  # integer coordinates: many exactly equal distances
    return points, centers


def _guesses(labels: np.ndarray, k: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    some = labels.copy()
    wrong = rng.random(labels.size) < 0.2
    some[wrong] = rng.integers(0, k, int(wrong.sum()))
    tie = labels == 3
    some[tie] = 7  # the other copy of a duplicated centre: a guess that ties the minimum
    return {
        "right": labels.copy(),
        "partly": some,
        "all wrong": (labels + 1) % k,
    }


@pytest.mark.parametrize("threads", [1, 4])
def test_a_guided_pass_finds_what_a_full_pass_finds(threads):
    points, centers = _points_and_centres(0)
    aug = augment(points)
    norms = squared_norms(aug)
    with engine_threads(threads):
        labels, dist2 = nearest_augmented(aug, norms, centers)
        assert (labels == 3).any() and not (labels == 7).any()  # ties go to the lowest index
        for name, guess in _guesses(labels, centers.shape[0], 1).items():
            got, got_dist2 = nearest_augmented(aug, norms, centers, guess=guess)
            np.testing.assert_array_equal(got, labels, err_msg=name)
            np.testing.assert_array_equal(got_dist2, dist2, err_msg=name)
            np.testing.assert_array_equal(nearest_labels(aug, centers, guess=guess), labels)


@pytest.mark.parametrize("m", [0, 1, 5, 3000])
def test_a_guided_pass_on_few_points_and_one_centre(m, monkeypatch):
    # Small sets take a plain pass unless told otherwise: the guided one must still be right.
    monkeypatch.setattr(distances, "GUIDED_MIN_POINTS", 0)
    points, centers = _points_and_centres(2, m=m)
    aug = augment(points)
    labels = nearest_labels(aug, centers[:1])
    np.testing.assert_array_equal(labels, np.zeros(m, dtype=np.intp))
    np.testing.assert_array_equal(nearest_labels(aug, centers[:1], guess=labels), labels)
    full = nearest_labels(aug, centers)
    np.testing.assert_array_equal(nearest_labels(aug, centers, guess=(full + 5) % 64), full)


def test_the_runner_up_is_two_nearest_s_second_where_asked():
    points, centers = _points_and_centres(3)
    first, second, d1, d2 = two_nearest(points, centers)

    def close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return b - a < 4.0

    want = close(d1, d2)
    assert 0.05 < want.mean() < 0.95
    expected = np.where(want, second, first)
    for guess in [None, *_guesses(first, centers.shape[0], 4).values()]:
        got_first, alt = nearest_with_runner_up(points, centers, close, guess)
        np.testing.assert_array_equal(got_first, first)
        np.testing.assert_array_equal(alt, expected)


def test_hints_are_kept_per_set_of_points_and_number_of_centres():
    hints = LabelHints()
    a, b = np.zeros((4, 3)), np.zeros((4, 3))
    labels = np.arange(4)
    hints.put(a, 8, labels)
    assert hints.get(a, 8) is labels
    assert hints.get(b, 8) is None  # equal values, another set of points
    assert hints.get(a, 9) is None


def test_points_take_the_labels_of_the_coarser_points_they_were_grouped_into():
    hints = LabelHints()
    fine, coarse, other = np.zeros((5, 3)), np.zeros((2, 3)), np.zeros((3, 3))
    hints.relate(fine, other, np.array([0, 0, 1, 2, 2]))
    hints.relate(fine, coarse, np.array([1, 0, 0, 1, 1]))
    assert hints.get(fine, 4) is None
    hints.put(coarse, 4, np.array([3, 2]))
    np.testing.assert_array_equal(hints.get(fine, 4), [2, 3, 3, 2, 2])
    hints.put(other, 4, np.array([0, 1, 2]))  # related first: tried first
    np.testing.assert_array_equal(hints.get(fine, 4), [0, 0, 1, 2, 2])
    hints.put(fine, 4, np.arange(5))  # their own labels first of all
    np.testing.assert_array_equal(hints.get(fine, 4), np.arange(5))
    assert hints.get(fine, 5) is None


@pytest.mark.parametrize("n_codes", [8, 1 << 18])  # codes dense, or numbered first
def test_each_point_is_told_the_row_of_its_bin(n_codes):
    rng = np.random.default_rng(5)
    codes = rng.choice(np.array([1, 4, 6, 7]), 200)
    coords = rng.uniform(0, 10, (200, 3))
    weights = rng.uniform(1, 2, 200)
    means, mass, rows = aggregate_with_rows(coords, weights, codes, n_codes)
    assert means.shape == (4, 3)
    for row, code in enumerate([1, 4, 6, 7]):
        members = codes == code
        np.testing.assert_array_equal(rows[members], row)
        np.testing.assert_allclose(means[row], np.average(coords[members], 0, weights[members]))
        np.testing.assert_allclose(mass[row], weights[members].sum())


@pytest.mark.parametrize(("k", "space"), [(64, "lab"), (16, "oklab"), (128, "rgb")])
def test_quantize_gives_the_same_image_with_and_without_guesses(k, space, monkeypatch):
    rng = np.random.default_rng(6)
    y, x = np.mgrid[0:240, 0:320]
    base = np.stack([x * 0.8, y * 1.0, (x + y) * 0.45], axis=-1)
    photo = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    guided = []
    run = distances._guided_pass

    def spy(*args, **kwargs):
        guided.append(args[0].shape[0])
        return run(*args, **kwargs)

    monkeypatch.setattr(distances, "_guided_pass", spy)
    with_guesses = quantize(photo, k, color_space=space)
    assert guided  # the passes over the photo's ~50,000 colours did take their guesses
    monkeypatch.setattr(distances, "GUIDED_MIN_POINTS", 10**12)
    guided.clear()
    without = quantize(photo, k, color_space=space)
    assert not guided
    np.testing.assert_array_equal(with_guesses.image, without.image)
    np.testing.assert_array_equal(with_guesses.palette, without.palette)
    np.testing.assert_array_equal(with_guesses.labels, without.labels)

"""Edges of the quality measures: mismatched shapes, nothing visible, and the sampled estimate."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui.engine.metrics import mean_delta_e2000, psnr


def _pair(seed: int = 5, shape: tuple[int, ...] = (40, 50, 3)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=shape, dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-20, 21, size=shape), 0, 255).astype(np.uint8)
    return a, b


def test_mean_delta_e_refuses_images_of_different_shapes():
    a, _ = _pair()
    with pytest.raises(ValueError, match=r"shapes differ: \(40, 50, 3\) and \(40, 49, 3\)"):
        mean_delta_e2000(a, a[:, :49])


def test_nothing_visible_scores_zero_difference_and_infinite_psnr():
    a, b = _pair(shape=(6, 7, 4))
    a[..., 3] = 0
    assert mean_delta_e2000(a, b) == 0.0
    assert psnr(a, b) == float("inf")


def test_sampled_estimate_is_close_and_repeatable():
    a, b = _pair()
    exact = mean_delta_e2000(a, b)
    sampled = mean_delta_e2000(a, b, max_pixels=500, seed=7)
    assert sampled == mean_delta_e2000(a, b, max_pixels=500, seed=7)
    assert sampled != exact and abs(sampled - exact) < 0.1 * exact
    # A sample as large as the image is the image: no draw, the exact figure.
    assert mean_delta_e2000(a, b, max_pixels=a.shape[0] * a.shape[1]) == exact


def test_fully_opaque_alpha_is_measured_on_every_pixel():
    a, b = _pair(shape=(10, 12, 4))
    a[..., 3] = 255
    assert mean_delta_e2000(a, b) == pytest.approx(mean_delta_e2000(a[..., :3], b[..., :3]))


def test_psnr_of_a_known_error():
    a = np.zeros((4, 4, 3), np.uint8)
    b = np.full((4, 4, 3), 5, np.uint8)
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 25))

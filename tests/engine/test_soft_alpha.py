"""Soft-edged images: colour and alpha quantized together into an RGBA palette."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from kquant_gui import DITHERS, quantize
from kquant_gui.engine.metrics import composite_delta_e2000


def _soft_disc(size: int = 64) -> np.ndarray:
    """A colour gradient disc whose alpha falls off smoothly to nothing, on nothing."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1.0)
    r = np.hypot(x - 0.5, y - 0.5) / 0.5
    rgba = np.empty((size, size, 4), np.uint8)
    rgba[..., 0] = np.rint(40 + 200 * x)
    rgba[..., 1] = np.rint(200 - 150 * y)
    rgba[..., 2] = np.rint(90 + 100 * x * y)
    rgba[..., 3] = np.rint(255 * np.clip((1.0 - r) / 0.4, 0.0, 1.0))
    return rgba


def _score(original: np.ndarray, result: np.ndarray) -> float:
    white, black = composite_delta_e2000(original, result)
    return (white + black) / 2.0


@pytest.mark.parametrize("dither", DITHERS)
def test_few_rgba_values_come_back_exactly(dither: str) -> None:
    # Eleven RGBA values, the fully transparent one among them (with varied colour under it):
    # k = 11 holds them all, whatever the colours beneath alpha 0.
    rng = np.random.default_rng(3)
    values = rng.integers(0, 256, (10, 4)).astype(np.uint8)
    values[:, 3] = np.linspace(20, 255, 10).astype(np.uint8)
    pixels = values[rng.integers(0, 10, (40, 50))]
    hidden = rng.random((40, 50)) < 0.2
    pixels[hidden, 3] = 0
    result = quantize(pixels, 11, dither=dither)
    assert result.n_colors == 11
    expected = pixels.copy()
    expected[hidden] = 0
    np.testing.assert_array_equal(result.image, expected)
    # One entry fewer: they no longer fit, and the palette says so by its size.
    assert quantize(pixels, 10).n_colors == 10


@pytest.mark.parametrize("dither", DITHERS)
def test_fully_transparent_pixels_stay_fully_transparent(dither: str) -> None:
    pixels = _soft_disc()
    hidden = pixels[..., 3] == 0
    pixels[hidden, :3] = 255 - pixels[hidden, :3]  # colours nobody sees
    for k in (2, 5, 64):
        result = quantize(pixels, k, dither=dither)
        assert result.palette.shape == (result.n_colors, 4) and result.n_colors <= k
        assert not result.image[hidden, 3].any()
        assert (result.labels[hidden] == result.transparent_index).all()


def test_k_counts_the_transparent_entry() -> None:
    result = quantize(_soft_disc(), 4)
    assert result.n_colors == 4
    assert result.transparent_index is not None
    assert (result.palette[:, 3] > 0).sum() == 3


def test_the_composite_score_falls_as_k_rises() -> None:
    pixels = _soft_disc(96)
    scores = [_score(pixels, quantize(pixels, k).image) for k in (2, 4, 16, 64, 256)]
    assert all(b < a for a, b in pairwise(scores)), scores
    assert scores[-1] < 0.2 * scores[0]


def test_opaque_areas_stay_opaque_and_soft_ones_soft() -> None:
    pixels = _soft_disc(96)
    result = quantize(pixels, 16)
    opaque = pixels[..., 3] == 255
    assert (result.image[opaque, 3] == 255).mean() > 0.95
    semi = (pixels[..., 3] > 60) & (pixels[..., 3] < 200)
    kept = (result.image[semi, 3] > 0) & (result.image[semi, 3] < 255)
    assert kept.mean() > 0.95
    error = np.abs(result.image[semi, 3].astype(int) - pixels[semi, 3])
    assert error.mean() < 30  # 16 entries for colour and alpha: steps of a few dozen


def test_floyd_steinberg_diffuses_alpha_error_too() -> None:
    # One colour fading from nothing to opaque, three entries: without dithering the fade
    # becomes a few steps; error diffusion mixes the entries so that every column's mean
    # coverage follows the fade, and no error crosses into the fully transparent margin.
    h, w = 48, 256
    pixels = np.zeros((h, w, 4), np.uint8)
    pixels[..., :3] = (40, 110, 200)
    pixels[..., 3] = np.arange(w, dtype=np.uint8)[None, :]
    pixels[:, :16, 3] = 0
    ramp = pixels[..., 3].astype(float).mean(axis=0)

    def coverage_error(dither: str) -> float:
        result = quantize(pixels, 3, dither=dither)
        assert not result.image[:, :16, 3].any()
        # Only where the fade lies within the entries' alphas can mixing reproduce it.
        within = ramp <= result.palette[:, 3].max()
        shown = result.image[..., 3].astype(float).mean(axis=0)
        return float(np.abs(shown - ramp)[within].mean())

    assert coverage_error("floyd-steinberg") < 0.25 * coverage_error("none")
    assert coverage_error("floyd-steinberg") < 5

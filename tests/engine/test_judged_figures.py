"""The fast judge's figures are the plain ones: mean CIEDE2000 pixel by pixel, PSNR from the
exact squared error, whatever the labels (ties, dithering, transparency), blocks or threads."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui import quantize
from kquant_gui.engine import engine_threads, metrics
from kquant_gui.engine.colorspace import srgb8_to_lab
from kquant_gui.engine.probe import DeltaEMemo, judged_colours, judged_quality, result_quality


def _plain(pixels: np.ndarray, labels: np.ndarray, palette: np.ndarray) -> tuple[float, float]:
    """Mean CIEDE2000 over every visible pixel and PSNR from its exact integer error."""
    flat = pixels.reshape(-1, pixels.shape[-1])
    entry = labels.reshape(-1).astype(np.intp)
    if flat.shape[1] == 4:
        visible = flat[:, 3] > 0
        flat, entry = flat[visible], entry[visible]
    rgb, given = flat[:, :3], palette[entry, :3]
    de = metrics.ciede2000(srgb8_to_lab(rgb), srgb8_to_lab(given))
    diff = rgb.astype(np.int64) - given.astype(np.int64)
    mse = float(np.sum(diff * diff)) / (3.0 * rgb.shape[0])
    return float(np.mean(de)), float("inf") if mse == 0 else float(10 * np.log10(255**2 / mse))


def _tied(photo: np.ndarray) -> np.ndarray:
    """``photo`` with repeated colours in every corner of the image (ties across regions)."""
    tied = photo.copy()
    tied[::3, ::4] = photo[0, 0]
    tied[1::5, 2::7] = photo[50, 60]
    return tied


def _transparent(photo: np.ndarray) -> np.ndarray:
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, :9] = 0
    alpha[::6, ::5] = 0
    return np.dstack([photo, alpha])


def _labels_to_test(pixels: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    results = [quantize(pixels, k, dither=d) for d in ("none", "floyd-steinberg", "ordered")]
    out = [(r.labels, r.palette) for r in results]
    # Every pixel of a colour but some given another entry: many pairs per colour.
    scrambled = results[0].labels.copy()
    scrambled.reshape(-1)[::3] = (scrambled.reshape(-1)[::3] + 1) % results[0].palette.shape[0]
    out.append((scrambled, results[0].palette))
    return out


@pytest.mark.parametrize("make", [lambda p: p, _tied, _transparent])
def test_judged_figures_are_the_pixel_by_pixel_ones(photo, make) -> None:
    pixels = make(photo)
    judged = judged_colours(pixels)
    memo = DeltaEMemo(judged.rgb.shape[0])
    for k in (3, 17, 40):
        for labels, palette in _labels_to_test(pixels, k):
            mean, psnr = _plain(pixels, labels, palette)
            got = judged_quality(judged, labels, palette)
            # The squared error is an exact integer both ways: the same PSNR to the bit.
            assert got.psnr == psnr
            assert got.mean_delta_e == pytest.approx(mean, rel=1e-12)
            assert judged_quality(judged, labels, palette, memo) == got
            assert result_quality(pixels, labels, palette) == got


def test_a_result_with_every_colour_exact_is_perfect(photo) -> None:
    colours, labels = np.unique(photo.reshape(-1, 3), axis=0, return_inverse=True)
    palette = colours[:256]
    labels = np.minimum(labels.reshape(photo.shape[:2]), 255).astype(np.uint8)
    few = palette[labels]  # at most 256 colours, every one of them in the palette
    assert judged_quality(judged_colours(few), labels, palette) == (0.0, float("inf"))


def test_threads_and_blocks_change_no_figure(photo, monkeypatch) -> None:
    pixels = _transparent(_tied(photo))
    results = [quantize(pixels, k, dither=d) for k, d in [(30, "none"), (9, "floyd-steinberg")]]
    judged = judged_colours(pixels)
    expected = [judged_quality(judged, r.labels, r.palette) for r in results]
    # Small blocks, split over threads from a few thousand pairs on.
    monkeypatch.setattr(metrics, "CIEDE_BLOCK", 512)
    monkeypatch.setattr(metrics, "PARALLEL_PAIRS", 2000)
    for threads in (1, 2, 3):
        with engine_threads(threads):
            got = [judged_quality(judged, r.labels, r.palette) for r in results]
        assert got == expected


def _all_hues(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of every mean hue, near and far apart, chromatic and neutral, shapes (n, 3)."""
    rng = np.random.default_rng(seed)
    chroma = rng.uniform(0, 130, (2, n)) ** rng.uniform(0.2, 1.0, (2, n))
    hue = rng.uniform(0, 2 * np.pi, n)
    spread = rng.choice([0.01, 0.2, 1.5, np.pi], n) * rng.uniform(-1, 1, n)
    lab = []
    for side, sign in enumerate((1, -1)):
        h = hue + sign * spread
        lab.append(
            np.stack(
                [rng.uniform(0, 100, n), chroma[side] * np.cos(h), chroma[side] * np.sin(h)], 1
            )
        )
    lab[1][::11, 1:] = -lab[0][::11, 1:]  # hues exactly opposite
    lab[0][::13, 1:] = 0.0  # neutral
    return lab[0], lab[1]


def test_the_rotation_term_is_left_out_only_where_it_changes_no_bit(monkeypatch) -> None:
    # Below a mean hue of 110 degrees R_T y z is under 2^-55 of the sum it is added to.
    lab1, lab2 = _all_hues(60_000, 8)
    fast = metrics.ciede2000(lab1, lab2)
    monkeypatch.setattr(metrics, "_COS110", 2.0)  # every pair takes the rotation term
    assert np.array_equal(metrics.ciede2000(lab1, lab2), fast)


def test_pairs_by_index_are_ciede2000_of_the_colours() -> None:
    lab1, lab2 = _all_hues(40_000, 9)
    rng = np.random.default_rng(10)
    rows1, rows2 = rng.integers(0, 40_000, 50_000), rng.integers(0, 300, 50_000)
    terms1, terms2 = metrics.ciede2000_terms(lab1), metrics.ciede2000_terms(lab2[:300])
    got = metrics.ciede2000_pairs(terms1, terms2, rows1, rows2)
    assert np.array_equal(got, metrics.ciede2000(lab1[rows1], lab2[rows2]))
    assert np.array_equal(metrics.ciede2000_pairs(terms1, terms1), np.zeros(40_000))

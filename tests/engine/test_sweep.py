"""sweep, choose_k and the probe figures: estimates that track real results, a minimal k."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui import Cancelled, choose_k, quantize, sweep
from kquant_gui.engine import mean_delta_e2000, psnr
from kquant_gui.engine.probe import make_probe, result_quality
from kquant_gui.engine.sweep import CURVE_KS, coarse_first
from kquant_gui.image_io import estimate_png_size


@pytest.fixture(scope="module")
def big_photo() -> np.ndarray:
    """A 288x384 photo-like image (110k pixels, more than a probe holds): gradients, shapes
    and noise, with no repetition that deflate could exploit beyond a real photo's."""
    rng = np.random.default_rng(77)
    y, x = np.mgrid[0:288, 0:384].astype(np.float64)
    r = 30 + 200 * x / 383 + 20 * np.sin(y / 17.0)
    g = 40 + 150 * y / 287 + 30 * np.cos(x / 23.0)
    b = 110 + 90 * np.sin(x / 31.0) * np.cos(y / 19.0)
    img = np.stack([r, g, b], axis=-1)
    for cx, cy, rad, colour in [(90, 140, 50, (230, 50, 35)), (290, 80, 40, (30, 60, 200))]:
        img[(x - cx) ** 2 + (y - cy) ** 2 < rad**2] = colour
    img[200:260, 250:360] = (25, 120, 60)
    img += rng.normal(0, 5, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def test_curve_ks_span_2_to_256_on_a_log_scale() -> None:
    assert len(CURVE_KS) == 16 and CURVE_KS[0] == 2 and CURVE_KS[-1] == 256
    ratios = np.diff(np.log(CURVE_KS))
    assert np.all(ratios > 0) and ratios.max() < 2 * ratios.min()


def test_coarse_first_gives_the_ends_then_the_middles() -> None:
    order = coarse_first(CURVE_KS)
    assert sorted(order) == sorted(CURVE_KS)
    assert order[:3] == [2, 256, CURVE_KS[7]]
    # Every prefix of four or more spans the range without a gap of more than half of it.
    idx = sorted(CURVE_KS.index(k) for k in order[:5])
    assert max(np.diff(idx)) <= 4


def test_sweep_yields_a_point_per_k_in_order_and_improves_with_k(big_photo) -> None:
    ks = [2, 256, 16, 4, 64]
    points = list(sweep(big_photo, ks))
    assert [p.k for p in points] == ks
    by_k = {p.k: p for p in points}
    assert by_k[256].mean_delta_e < by_k[64].mean_delta_e < by_k[16].mean_delta_e
    assert by_k[16].mean_delta_e < by_k[4].mean_delta_e < by_k[2].mean_delta_e
    assert by_k[256].psnr > by_k[2].psnr
    assert by_k[256].png_size > by_k[2].png_size
    assert all(p.n_colors <= p.k for p in points)


def test_sweep_estimates_track_real_runs(big_photo) -> None:
    for point in sweep(big_photo, [4, 16, 64]):
        real = quantize(big_photo, point.k)
        real_de = mean_delta_e2000(big_photo, real.image)
        assert point.mean_delta_e == pytest.approx(real_de, rel=0.1)
        assert point.psnr == pytest.approx(psnr(big_photo, real.image), abs=1.0)
        assert point.png_size == pytest.approx(estimate_png_size(real), rel=0.15)


def test_sweep_is_deterministic_and_independent_of_threads(big_photo) -> None:
    a = list(sweep(big_photo, [2, 32, 8], threads=1))
    b = list(sweep(big_photo, [2, 32, 8], threads=3))
    assert a == b


def test_sweep_repeats_are_measured_once(photo) -> None:
    assert [p.k for p in sweep(photo, [8, 4, 8, 4])] == [8, 4]


def test_sweep_reports_progress_and_stops_when_cancelled(photo) -> None:
    seen: list[float] = []
    list(sweep(photo, [2, 4, 8, 16], progress=lambda f, stage: seen.append(f)))
    assert seen == [0.25, 0.5, 0.75, 1.0]

    calls = 0

    def cancel() -> bool:
        nonlocal calls
        calls += 1
        return calls > 3

    points = sweep(photo, [2, 4, 8, 16, 32, 64], cancel=cancel)
    with pytest.raises(Cancelled):
        list(points)


def test_sweep_validates_at_the_call(photo) -> None:
    with pytest.raises(ValueError, match="k must be"):
        sweep(photo, [2, 300])
    with pytest.raises(ValueError, match="whole numbers"):
        sweep(photo, [2.5])
    with pytest.raises(ValueError, match="dither"):
        sweep(photo, [2], dither="lots")
    with pytest.raises(ValueError, match="uint8"):
        sweep(photo.astype(np.float32), [2])


@pytest.mark.parametrize("dither", ["floyd-steinberg", "ordered"])
def test_sweep_with_dithering_estimates_the_dithered_error(big_photo, dither) -> None:
    (point,) = sweep(big_photo, [8], dither=dither)
    real = quantize(big_photo, 8, dither=dither)
    assert point.mean_delta_e == pytest.approx(mean_delta_e2000(big_photo, real.image), rel=0.15)


def test_sweep_of_an_image_with_alpha_counts_the_transparent_entry(photo) -> None:
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    rgba[:20, :, 3] = 0
    (p2, p16) = sweep(rgba, [2, 16])
    assert p2.n_colors == 2 and p16.n_colors <= 16
    real = quantize(rgba, 16)
    assert p16.mean_delta_e == pytest.approx(mean_delta_e2000(rgba, real.image), rel=0.1)


def test_sweep_of_a_few_colour_image_is_exact_from_its_colour_count() -> None:
    img = np.zeros((40, 50, 3), np.uint8)
    img[:, 10:] = (200, 30, 30)
    img[20:, :] = (10, 200, 90)
    points = {p.k: p for p in sweep(img, [2, 3, 8])}
    assert points[3].mean_delta_e == 0.0 and points[8].mean_delta_e == 0.0
    assert points[3].n_colors == 3 and points[2].mean_delta_e > 0


def test_probe_of_a_wide_image_covers_it_across_and_down() -> None:
    img = np.zeros((3000, 6000, 3), np.uint8)
    img[:, :, 0] = np.arange(6000) * 255 // 5999
    img[:, :, 1] = np.arange(3000)[:, None] * 255 // 2999
    probe = make_probe(img, max_pixels=1 << 16)
    assert probe.pixels.shape[0] * probe.pixels.shape[1] <= 1 << 16
    # Tiles come from the left and right thirds and the top and bottom thirds.
    for channel in (0, 1):
        values = probe.pixels[..., channel]
        assert values.min() < 85 and values.max() > 170
    assert probe.scale == pytest.approx(img.shape[0] * img.shape[1] / probe.pixels[..., 0].size)


def test_result_quality_matches_the_metrics(photo) -> None:
    result = quantize(photo, 12)
    quality = result_quality(photo, result.labels, result.palette)
    assert quality.mean_delta_e == pytest.approx(mean_delta_e2000(photo, result.image), rel=1e-9)
    assert quality.psnr == pytest.approx(psnr(photo, result.image), rel=1e-9)


def _mean_de(pixels: np.ndarray, k: int) -> float:
    return mean_delta_e2000(pixels, quantize(pixels, k).image)


def test_choose_k_is_minimal_and_returns_the_real_result(big_photo) -> None:
    target = 3.0
    choice = choose_k(big_photo, target)
    assert choice.met and choice.mean_delta_e <= target
    # Minimal as promised: k - 1, run for real, misses the target.
    assert _mean_de(big_photo, choice.k - 1) > target
    assert choice.mean_delta_e == pytest.approx(_mean_de(big_photo, choice.k), rel=1e-9)
    direct = quantize(big_photo, choice.k)
    assert np.array_equal(direct.palette, choice.result.palette)
    assert np.array_equal(direct.labels, choice.result.labels)
    assert choice.k in choice.tried and choice.k - 1 in choice.tried


@pytest.mark.parametrize("target", [3.5, 6.0])
def test_choose_k_minimal_for_other_targets_and_spaces(photo, target) -> None:
    choice = choose_k(photo, target, color_space="oklab")
    assert choice.met
    assert mean_delta_e2000(photo, quantize(photo, choice.k, color_space="oklab").image) <= target
    assert (
        mean_delta_e2000(photo, quantize(photo, choice.k - 1, color_space="oklab").image) > target
    )


def test_choose_k_says_when_even_k_max_misses(photo) -> None:
    choice = choose_k(photo, 0.5, k_max=8)
    assert not choice.met and choice.k == 8
    assert choice.mean_delta_e == pytest.approx(_mean_de(photo, 8), rel=1e-9)
    assert choice.mean_delta_e > 0.5


def test_choose_k_stops_at_k_min_when_it_already_meets(photo) -> None:
    choice = choose_k(photo, 50.0, k_min=3)
    assert choice.met and choice.k == 3


def test_choose_k_finds_the_colour_count_of_a_flat_image_for_target_zero() -> None:
    img = np.zeros((30, 30, 3), np.uint8)
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (250, 250, 250)]):
        img[:, i * 7 :] = colour
    choice = choose_k(img, 0.0)
    assert choice.met and choice.k == 4 and choice.mean_delta_e == 0.0


def test_choose_k_validates_its_inputs(photo) -> None:
    with pytest.raises(ValueError, match="max_delta_e"):
        choose_k(photo, -1.0)
    with pytest.raises(ValueError, match="max_delta_e"):
        choose_k(photo, float("nan"))
    with pytest.raises(ValueError, match="k_min must not exceed k_max"):
        choose_k(photo, 2.0, k_min=20, k_max=10)
    with pytest.raises(ValueError, match="k must be"):
        choose_k(photo, 2.0, k_max=400)


def test_choose_k_can_be_cancelled(photo) -> None:
    with pytest.raises(Cancelled):
        choose_k(photo, 2.0, cancel=lambda: True)


def test_choose_k_on_soft_edges_is_minimal_too(photo) -> None:
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    rgba[:, :40, 3] = np.linspace(0, 255, 40).astype(np.uint8)[None, :]
    choice = choose_k(rgba, 5.0)
    assert choice.met and choice.result.palette.shape[1] == 4
    assert np.array_equal(choice.result.labels, quantize(rgba, choice.k).labels)
    assert mean_delta_e2000(rgba, quantize(rgba, choice.k - 1).image) > 5.0


def test_public_api_exports_the_curve_and_the_search() -> None:
    import kquant_gui

    for name in ("sweep", "choose_k", "SweepPoint", "KChoice"):
        assert name in kquant_gui.__all__ and hasattr(kquant_gui, name)

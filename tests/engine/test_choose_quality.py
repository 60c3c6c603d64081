"""How choose_k judges its runs: the colours of the original sorted once, the same figures as
result_quality and the metrics, and a search that is minimal and deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui import choose_k, quantize
from kquant_gui.engine import mean_delta_e2000, probe, psnr
from kquant_gui.engine.packing import pack_rgb
from kquant_gui.engine.probe import (
    judged_colours,
    judged_quality,
    pair_quality,
    result_quality,
)


def _rgba(photo: np.ndarray) -> np.ndarray:
    """``photo`` with a fully transparent band and a few transparent pixels elsewhere."""
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, :10] = 0
    alpha[::7, ::5] = 0
    return np.dstack([photo, alpha])


@pytest.mark.parametrize(
    ("k", "dither"),
    [(2, "none"), (12, "none"), (40, "none"), (12, "floyd-steinberg"), (7, "ordered")],
)
def test_one_judged_original_measures_every_result_as_the_metrics_do(photo, k, dither) -> None:
    for pixels in (photo, _rgba(photo)):
        judged = judged_colours(pixels)
        result = quantize(pixels, k, dither=dither)
        quality = judged_quality(judged, result.labels, result.palette)
        # The same bits as result_quality, and the same number as the per-pixel metrics.
        assert quality == result_quality(pixels, result.labels, result.palette)
        assert quality.mean_delta_e == pytest.approx(
            mean_delta_e2000(pixels, result.image), rel=1e-12
        )
        assert quality.psnr == pytest.approx(psnr(pixels, result.image), rel=1e-12)


def test_the_exact_histogram_gives_the_same_judged_colours(photo) -> None:
    from kquant_gui.engine.histogram import exact_histogram

    for pixels in (photo, _rgba(photo)):
        built, given = judged_colours(pixels), judged_colours(pixels, exact_histogram(pixels))
        for a, b in zip(built, given, strict=True):
            assert (a is None and b is None) or np.array_equal(a, b)


def test_judging_reuses_nothing_of_an_earlier_result(photo) -> None:
    judged = judged_colours(photo)
    results = [quantize(photo, k) for k in (3, 30, 9)]
    first = [judged_quality(judged, r.labels, r.palette) for r in results]
    again = [judged_quality(judged, r.labels, r.palette) for r in reversed(results)]
    assert first == again[::-1]
    assert len({q.mean_delta_e for q in first}) == 3


def test_labels_that_differ_within_a_colour_are_counted_pixel_by_pixel(photo) -> None:
    # A labelling no quantizer would give: every pixel of a colour but its first gets
    # another entry, so each colour has two (colour, entry) pairs.
    result = quantize(photo, 8)
    labels = result.labels.copy()
    labels.reshape(-1)[1::2] = (labels.reshape(-1)[1::2] + 3) % result.palette.shape[0]
    words = pack_rgb(photo.reshape(-1, 3))
    expected = pair_quality(words, labels.reshape(-1), result.palette)
    got = result_quality(photo, labels, result.palette)
    assert got.mean_delta_e == pytest.approx(expected.mean_delta_e, rel=1e-12)
    assert got.psnr == pytest.approx(expected.psnr, rel=1e-12)


def test_a_sampled_original_is_judged_on_its_sample(photo, monkeypatch) -> None:
    monkeypatch.setattr(probe, "EXACT_QUALITY_PIXELS", 5000)
    pixels = _rgba(photo)
    result = quantize(pixels, 10)
    quality = result_quality(pixels, result.labels, result.palette)
    flat = pixels.reshape(-1, 4)
    pick = np.sort(np.random.default_rng(0).integers(0, flat.shape[0], 5000))
    visible = pick[flat[pick, 3] > 0]
    expected = pair_quality(
        pack_rgb(flat[visible, :3]), result.labels.reshape(-1)[visible], result.palette
    )
    assert quality.mean_delta_e == pytest.approx(expected.mean_delta_e, rel=1e-12)


def test_nothing_visible_is_judged_perfect() -> None:
    pixels = np.zeros((4, 5, 4), np.uint8)
    result = quantize(pixels, 2)
    assert result_quality(pixels, result.labels, result.palette) == (0.0, float("inf"))


@pytest.mark.parametrize("target", [2.5, 4.0, 7.0])
def test_choose_k_is_minimal_against_real_runs(photo, target) -> None:
    choice = choose_k(photo, target)
    assert choice.met
    real = result_quality(photo, quantize(photo, choice.k).labels, choice.result.palette)
    assert choice.mean_delta_e == real.mean_delta_e <= target
    below = quantize(photo, choice.k - 1)
    missed = result_quality(photo, below.labels, below.palette).mean_delta_e
    # What the search recorded for k - 1 is that real run's figure, to the last bit.
    assert choice.tried[choice.k - 1] == missed > target


def test_choose_k_is_deterministic_and_independent_of_threads(photo) -> None:
    runs = [choose_k(photo, 3.0, threads=t) for t in (1, 2, 1)]
    for other in runs[1:]:
        assert other.k == runs[0].k and other.tried == runs[0].tried
        assert np.array_equal(other.result.labels, runs[0].result.labels)
        assert np.array_equal(other.result.palette, runs[0].result.palette)


def test_choose_k_reports_progress_up_to_the_end(photo) -> None:
    seen: list[tuple[float, str]] = []
    choose_k(photo, 3.0, progress=lambda f, stage: seen.append((f, stage)))
    fractions = [f for f, _ in seen]
    assert {stage for _, stage in seen} == {"search"}
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


@pytest.mark.parametrize("target", [2.5, 4.0])
def test_sampled_probes_leave_the_answer_the_real_result(photo, target) -> None:
    # On this photo these targets steer on sampled figures (k clustered, judged on the aim's
    # pixel sample only); the answer and k - 1 still come from real runs.
    choice = choose_k(photo, target)
    assert choice.sampled and not set(choice.sampled) & set(choice.tried)
    direct = quantize(photo, choice.k)
    assert np.array_equal(direct.labels, choice.result.labels)
    assert np.array_equal(direct.palette, choice.result.palette)
    assert np.array_equal(direct.image, choice.result.image)
    below = quantize(photo, choice.k - 1)
    assert choice.tried[choice.k - 1] == result_quality(photo, below.labels, below.palette)[0]
    assert choice.tried[choice.k - 1] > target >= choice.mean_delta_e


@pytest.mark.parametrize("alpha", [False, True])
def test_the_answer_is_painted_as_quantize_paints_it(photo, alpha) -> None:
    # The search's runs leave their images out and only the answer is painted, at the end:
    # the same bytes, counts and input alpha as a lone run's streamed painting.
    pixels = _rgba(photo) if alpha else photo
    choice = choose_k(pixels, 4.0)
    direct = quantize(pixels, choice.k)
    assert choice.result.image.shape == pixels.shape
    for field in ("image", "labels", "palette", "counts"):
        assert np.array_equal(getattr(direct, field), getattr(choice.result, field)), field
    assert choice.result.transparent_index == direct.transparent_index


def test_an_unpainted_run_paints_to_the_streamed_image(photo) -> None:
    from kquant_gui.engine.histogram import exact_histogram
    from kquant_gui.engine.pipeline import _quantize, painted

    for pixels in (photo, _rgba(photo)):
        hist = exact_histogram(pixels)
        run = _quantize(pixels, 9, "lab", "none", 1.0, 0, None, None, hist, paint=False)
        assert run.image is None
        direct = quantize(pixels, 9)
        assert np.array_equal(run.counts, direct.counts)
        assert np.array_equal(painted(run, pixels).image, direct.image)


def test_a_real_run_from_a_sampled_clustering_is_quantize_at_that_k(photo) -> None:
    from kquant_gui.engine.choose import _Search

    # Every k meets so high a target, and each (smaller) one is kept as the answer so far.
    search = _Search(photo, 100.0, 1, 256, "lab", "none", 0, None)
    search.aim()
    for k in (120, 51, 50, 9):
        assert search.sampled(k) is not None and k in search.clusterings
        search.real(k)
        assert k not in search.clusterings
        result, _ = search.kept[k]
        direct = quantize(photo, k)
        assert np.array_equal(direct.labels, result.labels)
        assert np.array_equal(direct.palette, result.palette)


def test_a_clustering_judged_midway_finishes_as_cluster_does(photo) -> None:
    # choose_k judges a probe before the work on the finest level and resumes it only for a
    # real run: the stages end on cluster's very palette.
    from kquant_gui.engine.cluster import HistogramLevels, cluster, cluster_stages
    from kquant_gui.engine.histogram import exact_histogram
    from kquant_gui.engine.progress import Steps

    hist = exact_histogram(photo)
    steps = Steps(None, None, {"s": 1.0})
    seen = set()
    for k in (8, 40, 120):
        shared = HistogramLevels(hist, "lab")
        stages = list(cluster_stages(hist, k, "lab", 0, steps, shared=shared))
        seen |= {stage for stage, _ in stages}
        assert stages[0][0] == "coarse" and stages[-1][0] == "final"
        palette, _ = cluster(hist, k, "lab", 0, steps)
        assert stages[-1][1].tobytes() == palette.tobytes()
    assert seen == {"coarse", "finest", "final"}


def test_a_memo_of_differences_gives_the_same_figures(photo) -> None:
    # Results at neighbouring k share palette colours; the memo measures each (colour,
    # entry colour) once and the figures stay result_quality's to the last bit, whatever
    # came before (dithered results and repeats included).
    from kquant_gui.engine.probe import DeltaEMemo

    for pixels in (photo, _rgba(photo)):
        judged = judged_colours(pixels)
        memo = DeltaEMemo(judged.rgb.shape[0])
        for k, dither in [(40, "none"), (41, "none"), (41, "none"), (12, "ordered"), (40, "none")]:
            result = quantize(pixels, k, dither=dither)
            got = judged_quality(judged, result.labels, result.palette, memo)
            assert got == result_quality(pixels, result.labels, result.palette)
        assert (memo.words >= 0).any()


def test_float_counts_give_the_integer_sums_figures(photo) -> None:
    # weighted_quality sums squared errors in integers for whole-number counts: the same
    # figures as the float sums it takes for other weights.
    result = quantize(photo, 9)
    words = pack_rgb(photo.reshape(-1, 3))
    uniq, inverse, counts = np.unique(words, return_inverse=True, return_counts=True)
    first = np.zeros(uniq.size, dtype=np.intp)
    first[inverse[::-1]] = np.arange(inverse.size)[::-1]
    rgb = photo.reshape(-1, 3)[first]
    entry = result.labels.reshape(-1)[first].astype(np.intp)
    whole = probe.weighted_quality(rgb, counts, result.palette, entry)
    floats = probe.weighted_quality(rgb, counts.astype(np.float64), result.palette, entry)
    assert whole == floats


@pytest.mark.parametrize("factor", [0.9, 1.05])
def test_a_target_near_the_top_rung_probes_the_rung_first(photo, factor) -> None:
    # Near the rung at 64 the search measures the rung with quantize's own clustering (on
    # the pixel sample) before its first aim; the answer still stands on real runs.
    from kquant_gui.engine.choose import RUNG_NEAR, _Search

    estimate = _Search(photo, 10.0, 1, 256, "lab", "none", 0, None).estimate(64)
    assert abs(factor - 1) <= RUNG_NEAR
    target = estimate * factor
    choice = choose_k(photo, target)
    assert 64 in choice.sampled or 64 in choice.tried
    below = quantize(photo, choice.k - 1)
    assert choice.tried[choice.k - 1] == result_quality(photo, below.labels, below.palette)[0]
    assert choice.tried[choice.k - 1] > target >= choice.mean_delta_e


def test_a_target_far_from_the_top_rung_leaves_it_to_the_estimates(photo) -> None:
    from kquant_gui.engine.choose import RUNG_NEAR, _Search

    estimate = _Search(photo, 10.0, 1, 256, "lab", "none", 0, None).estimate(64)
    target = estimate * (1 + 2 * RUNG_NEAR)
    choice = choose_k(photo, target)
    assert choice.k < 48 and 64 not in choice.sampled and 64 not in choice.tried

"""choose_k's search: how many probes and real runs it takes (counted on synthetic curves, not
timed; probes judged on a pixel sample only steer it), that what it returns is a crossing (k
meets, k - 1 misses, both run for real), and the shared work it relies on (blocked CIEDE2000,
the counted quality sample) giving the same bits as before."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from kquant_gui import choose_k, quantize
from kquant_gui.engine import choose, metrics, probe
from kquant_gui.engine.probe import Quality


class _Curve:
    """A stand-in for real runs: ``error(k)`` instead of quantize, every call counted; and
    for the figures on the pixel sample, ``sample(k)`` (None: no sampled figures, every
    probe is a real run)."""

    def __init__(self, error, sample=None) -> None:
        self.error, self.sample = error, sample
        self.runs: list[int] = []
        self.probes: list[int] = []

    def install(self, monkeypatch, start: int | None) -> None:
        curve = self

        def real(search, k: int) -> float:
            curve.runs.append(k)
            e = float(curve.error(k))
            search.tried[k] = e
            # A stand-in result, already painted (the search paints only what it returns).
            search.kept[k] = (SimpleNamespace(image=np.zeros(1)), Quality(e, 0.0))
            return e

        def sampled(search, k: int) -> float | None:
            curve.probes.append(k)
            return None if curve.sample is None else float(curve.sample(k))

        monkeypatch.setattr(choose._Search, "real", real)
        monkeypatch.setattr(choose._Search, "sampled", sampled)
        if start is not None:
            monkeypatch.setattr(choose._Search, "aim", lambda search: start)


def _search(pixels: np.ndarray, target: float) -> choose.KChoice:
    return choose._Search(pixels, target, 1, 256, "lab", "none", 0, None).run(None)


def test_a_smooth_power_law_is_closed_in_three_runs(monkeypatch, photo) -> None:
    # Error 2.3 between k = 55 and 56, falling as k^-0.5 (the law assumed without estimates):
    # from 64 the law points at 56, which meets, and 55 misses.
    curve = _Curve(lambda k: 2.3 * (k / 55.5) ** -0.5)
    curve.install(monkeypatch, start=64)
    choice = _search(photo, 2.3)
    assert choice.k == 56 and choice.met
    assert curve.runs == [64, 56, 55]


def test_a_bracket_is_probed_on_its_power_law(monkeypatch, photo) -> None:
    # A miss at 50 and a meet at 64, the crossing between 51 and 52. The search used to keep
    # its probes a quarter of the bracket off its ends (53, then 52, then 51).
    curve = _Curve(lambda k: 2.3 * (k / 51.5) ** -0.45)
    curve.install(monkeypatch, start=64)
    monkeypatch.setattr(choose._Search, "_next", _bracket_from(50, choose._Search._next))
    choice = _search(photo, 2.3)
    assert choice.k == 52
    assert curve.runs == [64, 50, 52, 51]


def test_probes_far_from_the_target_steer_on_the_sample_and_the_ends_run_for_real(
    monkeypatch, photo
) -> None:
    # The sample reads 1% low. From 100 (far below the target on the sample) the law points
    # at 55, whose sampled figure is too near the target to trust: it runs for real and
    # misses; 56 (near too) meets. Only the two that end the search were mapped and judged.
    curve = _Curve(lambda k: 2.3 * (k / 55.5) ** -0.5, lambda k: 0.99 * 2.3 * (k / 55.5) ** -0.5)
    curve.install(monkeypatch, start=100)
    choice = _search(photo, 2.3)
    assert choice.k == 56 and choice.met
    assert curve.probes == [100, 55, 56] and curve.runs == [55, 56]
    assert set(choice.tried) == {55, 56} and set(choice.sampled) == {100}


def test_a_sampled_end_that_the_real_run_contradicts_moves_the_search(monkeypatch, photo) -> None:
    # The sample reads 4% low (outside the margin near the target): 55 and 56 both look
    # like meets on it and 54 like a miss, but 55 misses for real. The search goes on from
    # the real figures and ends on real runs only.
    error = lambda k: 2.3 * (k / 55.5) ** -0.5  # noqa: E731
    curve = _Curve(error, lambda k: 0.96 * error(k) if k != 54 else 2.5)
    curve.install(monkeypatch, start=54)
    choice = _search(photo, 2.3)
    assert choice.k == 56 and choice.met
    assert {55, 56} <= set(curve.runs) and set(choice.tried) == set(curve.runs)
    assert error(choice.k) <= 2.3 < error(choice.k - 1)


def test_a_sample_that_reads_low_is_corrected_by_the_real_runs(monkeypatch, photo) -> None:
    # A sample 0.3 below every real figure (as one that misses a photo's few bright stars):
    # its meets near the target would each miss for real, one k at a time (44, 45, ...,
    # 56: 13 real runs). The first real run measures the difference and later sampled
    # figures are corrected by it.
    error = lambda k: 2.3 * (k / 55.5) ** -0.5  # noqa: E731
    curve = _Curve(error, lambda k: error(k) - 0.3)
    curve.install(monkeypatch, start=100)
    choice = _search(photo, 2.3)
    assert choice.k == 56 and error(56) <= 2.3 < error(55)
    assert {55, 56} <= set(curve.runs) and len(curve.runs) <= 4 and len(curve.probes) <= 7


def test_a_k_probed_again_runs_for_real(monkeypatch, photo) -> None:
    # A correction can move a sampled figure across the target after the fact, and the
    # search may come back to that k (at the image's colour count, which it never passes):
    # the second time it runs for real, so the search always moves on.
    error = lambda k: 2.3 * (k / 55.5) ** -0.5  # noqa: E731
    curve = _Curve(error, lambda k: error(k) - 0.3)
    curve.install(monkeypatch, start=None)
    search = choose._Search(photo, 2.3, 1, 256, "lab", "none", 0, None)
    assert search.probe(80) == pytest.approx(error(80) - 0.3) and curve.runs == []
    assert search.probe(80) == error(80) and curve.runs == [80]
    assert search.probe(80) == error(80) and curve.runs == [80]


def _bracket_from(miss: int, original):
    """``_next`` whose first answer is ``miss`` (to set up a bracket), then the real one."""
    calls = []

    def _next(search, lo, hi):
        calls.append(1)
        return miss if len(calls) == 1 else original(search, lo, hi)

    return _next


def _noisy(k: int, slope: float, wobble: float) -> float:
    # A power law with a step (as when k-means changes level at some k) and a ripple, so
    # that the error is not monotone in k.
    step = 1.03 if k < 55 else 1.0
    return 9.0 * k**-slope * step * (1.0 + wobble * math.sin(1.7 * k))


@pytest.mark.parametrize("slope, wobble", [(0.45, 0.004), (0.3, 0.01), (0.9, 0.02)])
def test_noisy_curves_end_on_a_crossing_in_few_runs(monkeypatch, photo, slope, wobble) -> None:
    counts, real_counts = [], []
    for target in np.geomspace(9.0 * 250**-slope, 9.0 * 3**-slope, 17):
        crossing = (9.0 / target) ** (1.0 / slope)
        # The first probe as the estimates aim it: within a few tens of percent.
        for start in {min(256, max(1, round(crossing * f))) for f in (0.7, 0.9, 1.1, 1.4)}:
            # Without sampled figures every probe is a real run; with a sample that reads
            # the curve exactly, the same k are probed and only those near the target (and
            # the two that end the search) run for real.
            probed = None
            for sample in (None, lambda k: _noisy(k, slope, wobble)):
                curve = _Curve(lambda k: _noisy(k, slope, wobble), sample)
                curve.install(monkeypatch, start=start)
                choice = _search(photo, float(target))
                if curve.error(256) > target:  # the ripple lifts 256 above the lowest target
                    assert not choice.met and choice.k == 256 and 256 in curve.runs
                    continue
                assert choice.met
                # The promise: k meets the target and k - 1 misses it, both run for real.
                assert curve.error(choice.k) <= target < curve.error(choice.k - 1)
                assert choice.k in curve.runs and (choice.k == 1 or choice.k - 1 in curve.runs)
                assert set(curve.runs) == set(choice.tried) and len(curve.runs) == len(
                    set(curve.runs)
                )
                assert set(curve.probes) == set(choice.tried) | set(choice.sampled)
                if sample is None:
                    probed = curve.probes
                    counts.append(len(curve.probes))
                else:
                    assert curve.probes == probed
                    real_counts.append(len(curve.runs))
    # Counted, not timed: 2 probes (k and k - 1) is the floor; a bisection of 1..256 takes 8.
    # The flattest, noisiest curve (slope 0.3, ripple 1%: a dark photo's) took 4.4-4.5 on
    # average and at most 9; the others 3.3-3.5 and at most 7. The search with a quarter
    # margin in brackets took more. Probes far from the target are not run for real.
    assert max(counts) <= 9
    assert np.mean(counts) <= 4.5
    assert np.mean(real_counts) < np.mean(counts)


def test_an_image_with_few_colours_is_never_run_past_its_colour_count() -> None:
    rng = np.random.default_rng(5)
    colours = rng.integers(0, 256, (20, 3), dtype=np.uint8)
    img = colours[rng.integers(0, 20, (40, 60))]
    for target in (0.0, 1.0, 4.0):
        choice = choose_k(img, target)
        assert choice.met and max(choice.tried) <= 20
        below = quantize(img, choice.k - 1)
        assert choice.k == 1 or probe.result_quality(img, below.labels, below.palette)[0] > target
    assert choose_k(img, 0.0).k == 20


def test_blocked_ciede2000_gives_the_same_bits_as_one_pass() -> None:
    rng = np.random.default_rng(3)
    n = 3 * metrics.CIEDE_BLOCK + 17
    a = rng.uniform(-60, 90, (n, 3))
    b = rng.uniform(-60, 90, (n, 3))
    b[::5, 1:] = -a[::5, 1:]  # opposite hues take their own branch
    a[::7, 1:] = 0.0  # neutral colours too
    one_pass = metrics._ciede2000_block(metrics.ciede2000_terms(a), metrics.ciede2000_terms(b))
    assert np.array_equal(metrics.ciede2000(a, b), one_pass)
    grid = metrics.ciede2000(a.reshape(-1, 1, 3)[: 2 * metrics.CIEDE_BLOCK], b[0])
    assert grid.shape == (2 * metrics.CIEDE_BLOCK, 1)


def test_the_quality_sample_is_the_sorted_draw() -> None:
    draw = np.random.default_rng(0).integers(0, 5000, 3000)
    assert np.array_equal(probe._sorted_draw(5000, 3000), np.sort(draw))

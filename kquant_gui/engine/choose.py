"""`choose_k`: the fewest colours whose mean CIEDE2000 reaches a target.

The answer is about real results: the k returned is one where :func:`quantize` meets the
target and ``k - 1`` misses it (mean colour error is not strictly monotone in k, so that is
what "smallest" can promise without trying every k). Estimates of :mod:`sweep` at a few
small k aim the first probe (a target near the top rung has the rung probed first); every
later one is aimed by the power law through the nearest probes, and a narrow bracket is
halved (at that scale the error's noise from one k to the next is as large as its trend):
see :mod:`steering`.

A probe clusters as :func:`quantize` does and first judges the palette on the estimates'
pixel sample (within ~0.02 of the real figure): when that is clearly on one side of the
target, it only steers the search. Otherwise, and always for the k and ``k - 1`` that end
it, the probe is run for real from its clustering (mapped, and judged on the original's
colours sorted once: :func:`probe.judged_quality`, the same figures as
:func:`probe.result_quality`). The probes share one histogram, its coordinates, bin means
and k-means++ draws: nearly all the time left is their k-means, and the two real mappings.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from numbers import Real

import numpy as np

from ..options import K_MAX
from .alpha_histogram import has_soft_alpha
from .cluster import MID_K_MIN, cluster_stages
from .distances import LabelHints
from .estimate import Estimator
from .parallel import engine_threads, single_threaded_blas
from .pipeline import _quantize, painted, reserves_transparent
from .probe import DeltaEMemo, JudgedColours, Quality, judged_colours, judged_quality
from .progress import CancelCallback, ProgressCallback, Steps
from .result import Quantization
from .shared import HistogramCache
from .steering import PowerLawSteering
from .validate import validate_k, validate_options, validate_pixels, validate_strength

#: Pixels on which the estimates that aim the first real run measure the colour error: they
#: only aim it, and over ten targets on four photos 8,192 pixels led to as few real runs as
#: the sweep's 32,768 (111 each) at a quarter of the CIEDE2000 work.
AIM_SAMPLE = 1 << 13
#: A probe whose palette, judged on those sampled pixels, is farther from the target than
#: this (dE2000, or this fraction of the target when that is more) only steers the search:
#: it is not mapped nor judged exactly. On china at k = 160-199 and flower at 40-74 the
#: sample's figure was within 0.02 of the real one (mean -0.006, sd 0.01); a figure on the
#: wrong side costs runs, never the answer (whose k and k - 1 are always run for real).
SAMPLE_MARGIN = 0.05
SAMPLE_MARGIN_FRACTION = 0.02
#: When the top rung's estimate is within this fraction of the target (the answer near the
#: rung: k = 45-90 at a photo's usual slope), the rung is probed with quantize's own
#: clustering before the first aim (see :meth:`_Search.aim`). The estimates read a few
#: percent off the real runs there (flower k = 64: 2.35 against 2.15), which sent the first
#: probe off by 10-25% (flower at 2.3: 68 for an answer of 55) to be corrected by one more
#: probe; probed, the rung is that correction, made first. Over 13 images (the two photos,
#: 8 photos of the batch bench and 3 bench classes) x 39 targets (1.2-5.0), simulated on
#: every k's real and sampled figures and costs: 1258 real runs instead of 1298, 3% less
#: work in all and 6% at targets 2.0-2.6; 0.10 and 0.20 did about as well, 0.30 probed rungs
#: for nothing more often.
RUNG_NEAR = 0.15


@dataclass(frozen=True)
class KChoice:
    """What :func:`choose_k` found.

    Attributes
    ----------
    k : int
        The smallest k found to meet the target, or ``k_max`` when even that misses it.
    result : Quantization
        :func:`kquant_gui.quantize` at ``k`` (byte-identical to calling it directly).
    mean_delta_e : float
        Mean CIEDE2000 of ``result`` against the original (see :func:`result_quality`).
    psnr : float
        PSNR of ``result``, dB.
    met : bool
        Whether ``mean_delta_e <= max_delta_e``.
    tried : dict of int to float
        Mean CIEDE2000 of every k actually run during the search (``k`` and ``k - 1``
        among them when ``met`` and ``k > k_min``).
    sampled : dict of int to float
        Other k clustered during the search, whose palettes were judged on a sample of
        pixels only (mean CIEDE2000 there): far enough from the target to steer the search.
    """

    k: int
    result: Quantization
    mean_delta_e: float
    psnr: float
    met: bool
    tried: dict[int, float] = field(default_factory=dict)
    sampled: dict[int, float] = field(default_factory=dict)


def _validate_target(max_delta_e: object) -> float:
    if isinstance(max_delta_e, bool) or not isinstance(max_delta_e, Real):
        raise ValueError(f"max_delta_e must be a number of at least 0, got {max_delta_e!r}")
    value = float(max_delta_e)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"max_delta_e must be a finite number of at least 0, got {value}")
    return value


def choose_k(
    pixels: np.ndarray,
    max_delta_e: float,
    *,
    k_min: int = 1,
    k_max: int = K_MAX,
    color_space: str = "lab",
    dither: str = "none",
    dither_strength: float = 1.0,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    threads: int | None = None,
) -> KChoice:
    """The smallest palette size whose mean CIEDE2000 is at most ``max_delta_e``.

    A search, not a sweep: estimates at k = 1, 4, 16, 64 aim the first probe, and probes
    (sharing one histogram), each aimed by the power law through the nearest ones, close in
    until ``k`` meets the target and ``k - 1`` misses it, both run for real (a probe clearly
    off the target is judged on a pixel sample only). Mean colour error falls with k but not
    strictly, so a smaller k than ``k - 1`` may meet the target by chance; ``k - 1`` never
    does.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        sRGB image, optionally with straight alpha.
    max_delta_e : float
        Target mean CIEDE2000 (about 1 is invisible side by side, about 2.3 is a just
        noticeable difference).
    k_min, k_max : int
        Range searched, ``1 <= k_min <= k_max <= 256``.
    color_space, dither, dither_strength, seed
        As for :func:`kquant_gui.quantize`.
    progress : callable(fraction: float, stage: str), optional
        Called as the search advances (stage ``"search"``).
    cancel : callable() -> bool, optional
        Polled often; when it returns true, :class:`Cancelled` is raised.
    threads : int, optional
        Most threads the engine uses (see :func:`kquant_gui.quantize`).

    Returns
    -------
    KChoice
        ``met`` is False, and ``k`` is ``k_max``, when even ``k_max`` misses the target.

    Raises
    ------
    ValueError
        For bad pixels, target or options.
    Cancelled
        When ``cancel`` returned true.
    """
    pixels = validate_pixels(pixels)
    target = _validate_target(max_delta_e)
    k_min, k_max = validate_k(k_min), validate_k(k_max)
    if k_min > k_max:
        raise ValueError(f"k_min must not exceed k_max, got {k_min} and {k_max}")
    validate_options(color_space, dither, seed)
    strength = validate_strength(dither_strength)
    with engine_threads(threads), single_threaded_blas():
        search = _Search(
            pixels, target, k_min, k_max, color_space, dither, int(seed), cancel, strength
        )
        return search.run(progress)


class _Search(PowerLawSteering):
    """State of one :func:`choose_k` call: estimates, real runs, the bracket."""

    def __init__(
        self,
        pixels: np.ndarray,
        target: float,
        k_min: int,
        k_max: int,
        space: str,
        dither: str,
        seed: int,
        cancel: CancelCallback | None,
        strength: float = 1.0,
    ) -> None:
        self.pixels, self.target = pixels, target
        self.k_min, self.k_max = k_min, k_max
        self.space, self.dither, self.seed, self.cancel = space, dither, seed, cancel
        self.strength = strength
        self.steps = Steps(None, cancel, {"search": 1.0})
        self.hists = HistogramCache(pixels, dither, self.steps)
        self.soft = has_soft_alpha(pixels)
        #: Whether a probe's palette can be judged on the pixel sample at all: not for a
        #: dithered mapping, nor for the colour-and-alpha palettes of soft edges.
        self.sampleable = not self.soft and not (dither != "none" and strength > 0.0)
        self.estimates: dict[int, float] = {}
        #: Figures of real runs, and of every probe on the pixel sample, by k; in the order
        #: probed.
        self.tried: dict[int, float] = {}
        self.samples: dict[int, float] = {}
        self.probed: list[int] = []
        #: Clusterings of sampled probes, stopped where they were judged: resumed if that k
        #: runs for real.
        self.clusterings: dict[
            int, tuple[np.ndarray, Iterator[tuple[str, np.ndarray]], LabelHints]
        ] = {}
        self.kept: dict[int, tuple[Quantization, Quality]] = {}
        self._estimator: Estimator | None = None
        self._judged: JudgedColours | None = None
        self._memo: DeltaEMemo | None = None
        self._same_side = 0
        #: The largest k worth running (see :meth:`aim`).
        self.k_top = k_max

    def estimate(self, k: int) -> float:
        """Estimated mean dE2000 at ``k`` (warm-started, on a sample)."""
        if k not in self.estimates:
            if self._estimator is None:
                hist = self.hists.get(K_MAX)
                self._estimator = Estimator(
                    self.pixels, self.space, self.dither, self.seed, self.steps, hist,
                    AIM_SAMPLE, self.hists.levels(hist, self.space),
                )  # fmt: skip
            self.estimates[k] = self._estimator.point(k, size=False).mean_delta_e
        return self.estimates[k]

    def sampled(self, k: int) -> float | None:
        """Cluster at ``k`` as quantize does, up to the work on the finest level (which
        changes the figure by ~0.01-0.03 and costs most at large k), and judge that palette
        on the estimates' pixel sample; the clustering is kept for a real run. None where
        that cannot stand for the real figure (dithering, soft alpha, nothing visible, no
        estimates)."""
        if not self.sampleable or self._estimator is None:
            return None
        hist = self.hists.get(k)
        if hist.colors.shape[0] == 0:
            return None
        k_visible = k - 1 if reserves_transparent(hist, k) else k
        shared = self.hists.levels(hist, self.space)
        # The clustering's last labels are the guesses of its finishing passes and of the
        # mapping, as in a lone run (they change the cost, never the result).
        hints = LabelHints()
        stages = cluster_stages(
            hist, k_visible, self.space, self.seed, self.steps, shared=shared, hints=hints
        )
        palette = next(palette for stage, palette in stages if stage != "coarse")
        self.clusterings[k] = (palette, stages, hints)
        return self._estimator.nearest_quality(palette).mean_delta_e

    def _clustered(self, k: int) -> tuple[tuple[np.ndarray, np.ndarray], LabelHints] | None:
        """What :func:`cluster` gives at ``k``, from its probe's clustering finished, and the
        labels it left for the mapping; None when it was not probed."""
        if k not in self.clusterings:
            return None
        palette, stages, hints = self.clusterings.pop(k)
        rest = list(stages)  # empty when the probe's stage was the last
        if rest:
            palette = rest[-1][1]
        return (palette, self.hists.levels(self.hists.get(k), self.space).coords), hints

    def probe(self, k: int) -> float:
        """The figure at ``k`` that steers the search: the sampled one (see :meth:`figure`)
        when it is clearly on one side of the target, else the real run's."""
        if k in self.probed:
            # A sampled figure that a later correction moved across the target can send the
            # search back to it: the real run settles it for good.
            if k not in self.tried:
                self.real(k)
            return self.figure(k)
        self.probed.append(k)
        sample = self.sampled(k)
        if sample is not None:
            self.samples[k] = sample
        # The sample's colours are mapped to their nearest entries, as quantize maps the
        # colours of an exact histogram; a binned one (large images at small k) maps by bin,
        # 0.3-0.5 dE worse than the sample reads on a 2 MP astronomy photo or document, by
        # an amount that varies with k: there every probe is a real run.
        trusted = self.hists.get(k).exact
        margin = max(SAMPLE_MARGIN, SAMPLE_MARGIN_FRACTION * self.target)
        if sample is None or not trusted or abs(self.figure(k) - self.target) <= margin:
            self.real(k)
        return self.figure(k)

    def figure(self, k: int) -> float:
        """The real figure at ``k`` if it was run, else its sampled figure corrected by the
        difference between the two at the nearest k that has both: a sample can miss what
        matters (an astronomy photo's few bright stars, a document's thin text: 0.3-0.5
        low there), and the correction keeps such an image from being walked one k at a
        time, each sampled meet missing for real."""
        if k in self.tried:
            return self.tried[k]
        both = [j for j in self.samples if j in self.tried]
        if not both or self.samples[k] <= 0:
            # (A palette that holds every sampled colour is not corrected: from the image's
            # colour count on, the real figure is 0 too.)
            return self.samples[k]
        j = min(both, key=lambda j: (abs(math.log(j / k)), j))
        return max(0.0, self.samples[k] + self.tried[j] - self.samples[j])

    @property
    def figures(self) -> dict[int, float]:
        """:meth:`figure` of every k probed."""
        return {k: self.figure(k) for k in self.probed}

    def real(self, k: int) -> float:
        """Run quantize at ``k`` for real (from its probe's clustering, if any) and measure
        it; keeps the result while it may be the answer."""
        # Soft-edged images take the colour-and-alpha pipeline, which builds its own.
        hist = None if self.soft else self.hists.get(k)
        shared = None if hist is None else self.hists.levels(hist, self.space)
        clustered, hints = self._clustered(k) or (None, None)
        # Unpainted: only the answer's image is needed, painted once the search ends.
        result = _quantize(
            self.pixels, k, self.space, self.dither, self.strength, self.seed, None, self.cancel,
            hist, shared=shared, clustered=clustered, hints=hints, paint=False,
        )  # fmt: skip
        if self._judged is None:
            # The original's colours, sorted and converted once for every run: the figures
            # are result_quality's to the last bit. The estimates' histogram is exact up to
            # a larger size than a small palette's, and already holds them.
            self._judged = judged_colours(
                self.pixels, None if self.soft else self.hists.get(K_MAX)
            )
            self._memo = DeltaEMemo(self._judged.rgb.shape[0])
        quality = judged_quality(self._judged, result.labels, result.palette, self._memo)
        self.tried[k] = quality.mean_delta_e
        if quality.mean_delta_e <= self.target or k == self.k_max:
            self.kept[k] = (result, quality)
            # Only the smallest meeting k (and k_max, the answer when none meets) can be the
            # answer: let big images' other results go.
            meets = [j for j in self.kept if self.tried[j] <= self.target]
            for j in list(self.kept):
                if j != self.k_max and j != min(meets, default=None):
                    del self.kept[j]
        return quality.mean_delta_e

    # -- aiming ------------------------------------------------------------------------------

    def aim(self) -> int:
        """First probe, from estimates on a ladder of small k (1, 4, 16, 64), walked from
        16 (up while they miss, down while they meet): between two rungs where they bracket
        the target, else on the power law through the last two. When the top rung's
        estimate is within RUNG_NEAR of the target, the rung is probed first and stands in
        for its estimate."""
        # Estimates are cheap next to a probe (3-12 ms each on a 0.3 MP photo) and each
        # starts from the nearest one done. Past the last rung the power law through the last
        # two aims within ~10% of k, and the probes correct for the rest. Most targets lie
        # past 16, so walking from there saves the rungs below it: over 10 images x 6
        # targets (1.5-6) 2.33 real runs and 0.38 sampled probes a search against 2.45 and
        # 0.33 walking up from k_min, 3% less CPU in all. (Before sampled probes existed the
        # two walks took as many real runs, 2.75 and 2.78 over 8 images x 12 targets.)
        hist = self.hists.get(K_MAX)
        if hist.exact and hist.n_transparent == 0 and not self.soft:
            # An opaque image of n colours keeps them all from k = n on: mean error 0, which
            # meets any target, so the search never needs to go past n.
            self.k_top = max(self.k_min, min(self.k_max, hist.colors.shape[0]))
        ladder = [self.k_min] + [k for k in (4, 16, 64) if self.k_min < k < self.k_top]
        found = self._walk(ladder)
        top = ladder[-1]
        near = abs(self.estimates.get(top, 0.0) / max(self.target, 1e-12) - 1) <= RUNG_NEAR
        # Only where the probe stops before the finest level's work, and is judged on the
        # sample (not run for real because its mapping goes by bin, say): there it costs
        # about what the probe it replaces would.
        if near and top >= MID_K_MIN and self._samples_stand_in(top):
            # The answer is near the top rung, where the estimate reads a few percent off
            # the real runs (flower k = 64: 2.35 against 2.15): quantize's own clustering
            # there, judged on the sample, is the probe that would calibrate the search
            # anyway, and the walk is done again with its figure.
            self.estimates[top] = self.probe(top)
            found = self._walk(ladder)
        return found

    def _samples_stand_in(self, k: int) -> bool:
        """Whether a probe at ``k`` can be judged on the pixel sample (see :meth:`probe`)."""
        return self.sampleable and self.hists.get(k).exact

    def _walk(self, ladder: list[int]) -> int:
        """The aim from the estimates on ``ladder`` (see :meth:`aim`)."""
        i = max((j for j, k in enumerate(ladder) if k <= 16), default=0)
        if self.estimate(ladder[i]) <= self.target:
            while i > 0 and self.estimate(ladder[i - 1]) <= self.target:
                i -= 1
            if i == 0:
                return ladder[0]
            lo, hi = ladder[i - 1], ladder[i]
        else:
            while i + 1 < len(ladder) and self.estimate(ladder[i + 1]) > self.target:
                i += 1
            if len(ladder) < 2:
                return self.k_top
            lo, hi = ladder[i - 1 : i + 1] if i + 1 == len(ladder) else ladder[i : i + 2]
        return self._on_law(lo, self.estimate(lo), hi, self.estimate(hi))

    def run(self, progress: ProgressCallback | None) -> KChoice:
        guess = self.aim()
        meet = miss = side = None
        while True:
            if progress is not None:
                progress(min(0.9, 0.3 + 0.15 * len(self.figures)), "search")
            inside = meet is not None and miss is not None
            met = self.probe(guess) <= self.target
            # Probes in a row inside a bracket that fell on the same side of the target.
            self._same_side = self._same_side + 1 if inside and met == side else int(inside)
            side = met
            meet, miss = self._ends()
            final = self._final(meet, miss)
            while final is not None and any(k not in self.tried for k in final):
                # The answer stands on real runs: a sampled end is run for real, and the
                # search goes on if that moves it.
                for k in final:
                    if k not in self.tried:
                        self.real(k)
                meet, miss = self._ends()
                final = self._final(meet, miss)
            if final is not None:
                break
            guess = self._next(miss, meet)
        if progress is not None:
            progress(1.0, "search")
        k = meet if meet is not None else self.k_max
        result, quality = self.kept[k]
        result = painted(result, self.pixels)
        sampled = {j: e for j, e in self.samples.items() if j not in self.tried}
        return KChoice(
            k, result, quality.mean_delta_e, quality.psnr, meet is not None, dict(self.tried),
            sampled,
        )  # fmt: skip

"""How ``choose_k`` steers between probes: the power law through the nearest figures, and the
bracket of the smallest meeting k and the largest miss below it.

Mixed into the search (:class:`choose._Search`), whose figures it reads: ``figures`` (every
k probed), ``estimates``, ``target``, ``k_min``, ``k_max``, ``k_top`` and ``_same_side``.
"""

from __future__ import annotations

import math

from .sweep import log_interpolate

#: Assumed d log(dE) / d log(k) when the estimates give none: typical of photos.
DEFAULT_EXPONENT = -0.5
#: Most a run from one side moves k by (a factor): a power law extrapolated further than
#: that is mostly wrong (a pixel-art image's error falls to 0 at its colour count), and a
#: bracket then closes in on the answer faster.
MAX_STEP = 2.0
#: Brackets at most this wide are halved: the error's noise from one k to the next is as
#: large as its trend there (24 MP photo near k = 236: the law through a miss at 234 and a
#: meet at 238 pointed at 237, then 236, each meeting, before 235 missed). Over 8 images x 12
#: targets, as many runs on average (2.79 against 2.78) and flower's 2.3 in 4 instead of 5.
NARROW_BRACKET = 4


class PowerLawSteering:
    """Where the next probe goes, and when the search ends (see :func:`choose.choose_k`)."""

    figures: dict[int, float]
    estimates: dict[int, float]
    target: float
    k_min: int
    k_max: int
    k_top: int
    _same_side: int

    def _on_law(self, k0: int, e0: float, k1: int, e1: float) -> int:
        """The k nearest where the power law through (k0, e0) and (k1, e1) reaches the
        target, within the range searched."""
        guess = round(log_interpolate(k0, e0, k1, e1, self.target))
        return min(self.k_top, max(self.k_min, guess))

    def _exponent(self, k: int) -> float:
        """d log(dE) / d log(k) near ``k``: through the real run nearest ``k`` and the next
        one at least a few k away (closer runs differ by their noise more than by k), else
        from the estimates nearest ``k``, else a photo's typical exponent."""
        for points, gap in ((self.figures, 3), (self.estimates, 1)):
            near = sorted(points, key=lambda j: (abs(math.log(j / k)), j))
            for a in near[:1]:
                for b in near[1:]:
                    if abs(a - b) >= gap and points[a] > 0 and points[b] > 0:
                        slope = (math.log(points[b]) - math.log(points[a])) / (
                            math.log(b) - math.log(a)
                        )
                        if slope < 0:
                            return slope
                        break
        return DEFAULT_EXPONENT

    def _toward(self, k: int) -> float:
        """Where the power law through the probe at ``k`` reaches the target."""
        error = self.figures[k]
        if error <= 0:
            return k - 1
        if self.target <= 0:
            # No power law reaches an error of 0: look twice as far.
            return 2 * k
        return k * (self.target / error) ** (1.0 / self._exponent(k))

    def _next(self, miss: int | None, meet: int | None) -> int:
        """The next k to run. Between a miss and a meet, see :meth:`_inside`. From one side
        only, the first k that the power law through the nearest probe predicts to meet the
        target (below a meet, above a miss, at most MAX_STEP times as far), so that the next
        run most likely closes a bracket around it."""
        if meet is not None and miss is not None:
            return self._inside(miss, meet)
        if meet is not None:
            if self.figures[meet] <= 0:
                # An exact result says nothing of the slope: halve towards k_min.
                return max(self.k_min, (self.k_min + meet) // 2)
            crossing = math.ceil(max(self._toward(meet), meet / MAX_STEP) - 1e-9)
            return max(self.k_min, min(meet - 1, crossing))
        assert miss is not None
        crossing = math.ceil(min(self._toward(miss), miss * MAX_STEP) - 1e-9)
        return min(self.k_top, max(miss + 1, crossing))

    def _ends(self) -> tuple[int | None, int | None]:
        """The smallest meeting k probed, and the largest missing k below it."""
        meets = [k for k, e in self.figures.items() if e <= self.target]
        meet = min(meets, default=None)
        # Below the smallest meeting k; mean colour error is not strictly monotone, so a
        # miss above it says nothing about the answer.
        misses = [k for k, e in self.figures.items() if e > self.target and (meet or 257) > k]
        return meet, max(misses, default=None)

    def _final(self, meet: int | None, miss: int | None) -> list[int] | None:
        """The k whose figures end the search (None while it goes on)."""
        if meet == self.k_min:
            return [meet]
        if meet is None and miss == self.k_max:
            return [miss]
        if meet is not None and miss is not None and meet - miss == 1:
            return [miss, meet]
        return None

    def _inside(self, miss: int, meet: int) -> int:
        """Next k strictly between a miss and a meet: the first k where the power law through
        both reaches the target, kept off the ends (so a meet next to the miss, or a miss
        next to the meet, ends the search at once). Mean colour error is noisy at the scale
        of a few k, so a narrow bracket, or one whose last two runs fell on the same side,
        is halved instead: never many more runs than a bisection."""
        e_miss, e_meet = self.figures[miss], self.figures[meet]
        narrow = meet - miss <= NARROW_BRACKET
        if narrow or self._same_side >= 2 or not (0 < e_meet < e_miss and self.target > 0):
            return (miss + meet) // 2
        guess = math.ceil(log_interpolate(miss, e_miss, meet, e_meet, self.target) - 1e-9)
        return int(min(max(guess, miss + 1), meet - 1))

"""Progress reporting and cancellation, passed in as plain callables."""

from __future__ import annotations

from collections.abc import Callable

from .result import Cancelled

ProgressCallback = Callable[[float, str], None]
CancelCallback = Callable[[], bool]


class Steps:
    """Turns stage-local progress into one monotonic 0..1 fraction and polls ``cancel``.

    Each stage owns a slice of the 0..1 range. ``tick`` is cheap enough to call inside loops.
    """

    def __init__(
        self,
        progress: ProgressCallback | None,
        cancel: CancelCallback | None,
        stages: dict[str, float],
    ) -> None:
        self._progress = progress
        self._cancel = cancel
        total = sum(stages.values())
        self._bounds: dict[str, tuple[float, float]] = {}
        start = 0.0
        for name, weight in stages.items():
            end = start + weight / total
            self._bounds[name] = (start, end)
            start = end
        self._last = -1.0

    def check(self) -> None:
        """Raise :class:`Cancelled` if the caller asked to stop."""
        if self._cancel is not None and self._cancel():
            raise Cancelled("quantization cancelled")

    def tick(self, stage: str, fraction: float) -> None:
        """Report ``fraction`` (0..1) of ``stage`` done, then check for cancellation."""
        self.check()
        if self._progress is None:
            return
        lo, hi = self._bounds[stage]
        value = lo + (hi - lo) * min(max(fraction, 0.0), 1.0)
        if value > self._last:
            self._last = value
            self._progress(value, stage)

    def done(self) -> None:
        """Report completion (exactly 1.0)."""
        if self._progress is not None and self._last < 1.0:
            self._last = 1.0
            self._progress(1.0, "done")

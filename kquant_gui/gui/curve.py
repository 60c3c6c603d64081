"""The curve's background work: sweeps and "fewest colours" searches on a thread of their own.

A second worker thread, beside the one that opens and quantizes images: a sweep takes a
second or more (several on a 24 MP photo) and must never hold back the result the user is
waiting for. It yields instead: while a quantization runs, or while the window draws, the
sweep waits at its next cancellation poll (the engine polls many times a second), so the
quantization gets the interpreter and the main thread is not stalled.

:class:`CurveController` is the curve's one task object: a newer request cancels the older
one, outcomes of superseded jobs are dropped, and the points measured for the current image
and settings are kept, so a restarted sweep only measures what is missing.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from kquant_gui.engine import (
    CURVE_KS,
    Cancelled,
    KChoice,
    SweepPoint,
    choose_k,
    coarse_first,
    sweep,
)

from .worker import DrawGate

#: Longest a sweep waits at a time for a quantization to finish before it polls again.
YIELD_POLL = 0.05


@dataclass(frozen=True)
class SweepJob:
    """Measure the curve at ``ks`` (in that order) for one image and settings."""

    job_id: int
    pixels: np.ndarray
    ks: tuple[int, ...]
    color_space: str
    dither: str
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class ChooseJob:
    """Find the fewest colours (up to ``k_max``) whose mean dE2000 is at most ``target``."""

    job_id: int
    pixels: np.ndarray
    target: float
    k_max: int
    color_space: str
    dither: str
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


class CurveWorker(QObject):
    """Runs sweep and choose jobs in its thread, yielding to quantizations and drawing."""

    point = Signal(int, object)  # job id, SweepPoint
    finished = Signal(int)  # job id: the sweep measured every k it was given
    chosen = Signal(int, object)  # job id, KChoice
    failed = Signal(int, str)  # job id, message
    cancelled = Signal(int)

    def __init__(self, gate: DrawGate, free: threading.Event) -> None:
        super().__init__()
        self.gate, self.free = gate, free

    def _poll(self, cancel: threading.Event) -> bool:
        self.gate.pass_through()
        if not self.free.is_set():
            # Hold back while a quantization runs: the user waits for that one.
            with self.gate.parked():
                while not self.free.wait(YIELD_POLL):
                    if cancel.is_set():
                        break
        return cancel.is_set()

    @Slot(object)
    def run(self, job: SweepJob | ChooseJob) -> None:
        """Run one job; every exception becomes a ``failed`` signal, never a crash."""
        try:
            if job.cancel.is_set():
                raise Cancelled("superseded")
            poll = lambda: self._poll(job.cancel)  # noqa: E731
            with self.gate.working():
                self._run(job, poll)
        except Cancelled:
            self.cancelled.emit(job.job_id)
        except Exception as exc:  # a bug: said in the window, never a crash
            traceback.print_exc()
            self.failed.emit(job.job_id, f"{type(exc).__name__}: {exc}")

    def _run(self, job: SweepJob | ChooseJob, poll: Callable[[], bool]) -> None:
        if isinstance(job, SweepJob):
            points = sweep(
                job.pixels, job.ks, color_space=job.color_space, dither=job.dither,
                cancel=poll, threads=1,
            )  # fmt: skip
            for point in points:
                self.point.emit(job.job_id, point)
            self.finished.emit(job.job_id)
        else:
            choice = choose_k(
                job.pixels, job.target, k_max=job.k_max, color_space=job.color_space,
                dither=job.dither, cancel=poll, threads=1,
            )  # fmt: skip
            self.chosen.emit(job.job_id, choice)


class CurveController(QObject):
    """The curve's jobs for one window: one sweep and one search at a time.

    Parameters
    ----------
    gate : DrawGate
        The window's draw gate, which the sweep passes like the quantizing worker.
    parent : QObject, optional

    Signals
    -------
    pointsChanged()
        New points for the current image and settings (see :attr:`points`).
    started()
        A new curve was requested: the old points are gone.
    chosen(object)
        A :class:`KChoice` of the latest search.
    failed(str)
        A sweep or search failed (a bug); the message is for people.
    """

    pointsChanged = Signal()
    started = Signal()
    chosen = Signal(object)
    failed = Signal(str)
    _submit = Signal(object)

    def __init__(self, gate: DrawGate, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.free = threading.Event()
        self.free.set()
        self.points: dict[int, SweepPoint] = {}
        self._key: tuple | None = None
        self._pixels: np.ndarray | None = None
        self._next_id = 0
        self._sweep: SweepJob | None = None
        self._choose: ChooseJob | None = None
        self.thread = QThread(self)
        self.thread.setObjectName("kquant-curve")
        self.worker = CurveWorker(gate, self.free)
        self.worker.moveToThread(self.thread)
        self._submit.connect(self.worker.run)
        self.thread.finished.connect(self.worker.deleteLater)
        self.worker.point.connect(self._on_point)
        self.worker.finished.connect(self._on_finished)
        self.worker.chosen.connect(self._on_chosen)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self.thread.start()

    # -- questions -----------------------------------------------------------------------
    def is_sweeping(self) -> bool:
        """True while a sweep is queued or running."""
        return self._sweep is not None

    def is_choosing(self) -> bool:
        """True while a search is queued or running."""
        return self._choose is not None

    # -- requests ------------------------------------------------------------------------
    def request(self, pixels: np.ndarray, color_space: str, dither: str) -> None:
        """The curve of ``pixels`` with these settings: measure what is not known yet.

        A different image or setting cancels the running sweep and starts over.
        """
        key = (id(pixels), pixels.shape, color_space, dither)
        if key != self._key:
            self._cancel_sweep()
            self._key, self._pixels, self.points = key, pixels, {}
            self.started.emit()
        elif self._sweep is not None:
            return  # already on its way
        missing = tuple(k for k in coarse_first(CURVE_KS) if k not in self.points)
        if not missing:
            return
        self._sweep = SweepJob(self._new_id(), pixels, missing, color_space, dither)
        self._submit.emit(self._sweep)

    def choose(
        self, pixels: np.ndarray, color_space: str, dither: str, target: float, k_max: int = 256
    ) -> None:
        """Search the fewest colours of ``pixels`` for ``target``; a running search is
        cancelled. A sweep of the same image and settings pauses meanwhile and resumes after.
        """
        if self._choose is not None:
            self._choose.cancel.set()
        key = (id(pixels), pixels.shape, color_space, dither)
        resume = self._sweep is not None and key == self._key
        self._cancel_sweep()
        self._choose = ChooseJob(
            self._new_id(), pixels, float(target), int(k_max), color_space, dither
        )
        self._submit.emit(self._choose)
        if resume:
            # Queued behind the search: it measures the points still missing.
            self.request(pixels, color_space, dither)

    def is_stale(self, color_space: str, dither: str) -> bool:
        """True when a curve is held or measured for other settings than these."""
        return self._key is not None and self._key[2:] != (color_space, dither)

    def set_quantizing(self, busy: bool) -> None:
        """Tell the sweep that a quantization runs (it waits) or finished (it goes on)."""
        if busy:
            self.free.clear()
        else:
            self.free.set()

    def cancel_search(self) -> bool:
        """Stop a running search; False when none was running."""
        if self._choose is None:
            return False
        self._choose.cancel.set()
        self._choose = None
        return True

    def cancel(self) -> None:
        """Stop the sweep and any search; the points so far stay."""
        self._cancel_sweep()
        if self._choose is not None:
            self._choose.cancel.set()
            self._choose = None

    def forget(self) -> None:
        """Cancel everything and drop the image (nothing to draw a curve of)."""
        self.cancel()
        self._key, self._pixels, self.points = None, None, {}

    def shutdown(self) -> None:
        """Cancel, quit and wait: the thread is stopped when this returns."""
        self.cancel()
        self.free.set()
        if self.thread.isRunning():
            self.thread.quit()
            self.thread.wait()

    # -- outcomes ------------------------------------------------------------------------
    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _cancel_sweep(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel.set()
            self._sweep = None

    @Slot(int, object)
    def _on_point(self, job_id: int, point: SweepPoint) -> None:
        if self._sweep is not None and job_id == self._sweep.job_id:
            self.points[point.k] = point
            self.pointsChanged.emit()

    @Slot(int)
    def _on_finished(self, job_id: int) -> None:
        if self._sweep is not None and job_id == self._sweep.job_id:
            self._sweep = None

    @Slot(int, object)
    def _on_chosen(self, job_id: int, choice: KChoice) -> None:
        if self._choose is not None and job_id == self._choose.job_id:
            self._choose = None
            self.chosen.emit(choice)

    @Slot(int, str)
    def _on_failed(self, job_id: int, message: str) -> None:
        if self._sweep is not None and job_id == self._sweep.job_id:
            self._sweep = None
        elif self._choose is not None and job_id == self._choose.job_id:
            self._choose = None
        else:
            return
        self.failed.emit(message)

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        if self._sweep is not None and job_id == self._sweep.job_id:
            self._sweep = None
        if self._choose is not None and job_id == self._choose.job_id:
            self._choose = None

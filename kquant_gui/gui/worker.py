"""The background thread: a worker object moved to a QThread, fed with job snapshots.

The window never waits on the worker. It submits a job (a frozen snapshot with an id) through
a queued signal and later receives an outcome carrying the same id; outcomes whose id is no
longer the one the window waits for are dropped there. Cancelling sets the job's
``threading.Event``, which the engine polls through its ``cancel=`` callable: a queued signal
would only arrive after the work it meant to stop.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from kquant_gui.engine import Cancelled
from kquant_gui.image_io import ImageIOError

from . import tasks

log = logging.getLogger(__name__)

#: What each kind of job reports when it fails in an expected way, and which exceptions count
#: as expected there: a file that cannot be read or written, too little memory, settings the
#: engine refuses. Every other exception is a bug, reported as :class:`tasks.InternalError`.
_EXPECTED: dict[type, tuple[type[tasks.Failed], tuple[type[BaseException], ...]]] = {
    tasks.LoadJob: (tasks.LoadFailed, (ImageIOError, OSError, MemoryError)),
    tasks.QuantizeJob: (tasks.QuantizeFailed, (MemoryError, ValueError)),
    tasks.MeasureJob: (tasks.MeasureFailed, (MemoryError,)),
    tasks.SaveJob: (tasks.SaveFailed, (ImageIOError, OSError, MemoryError)),
}

#: Minimum time between two progress signals, so the engine's fine-grained ticks do not flood
#: the main thread's event queue.
PROGRESS_INTERVAL = 0.05
#: Longest the worker waits at a closed gate, so that a forgotten gate can only slow it down.
GATE_MAX_WAIT = 0.25
#: How long the workers are held back after an image or a result arrives (see
#: DrawGate.hold_for_arrival): its views' draws took 15-35 ms after it on a 24 MP photo.
ARRIVAL_HOLD_MS = 40


def adopt_python_trace() -> None:
    """Give the calling thread the trace function that Python's own threads get.

    ``threading.settrace`` (used by coverage and debuggers) reaches only threads started by the
    threading module; a QThread is started by Qt, so without this its work is never traced. Qt
    enters Python afresh for every queued call (a new thread state each time), so the worker
    calls this at the top of every job.
    """
    trace = threading.gettrace()
    if trace is not None and sys.gettrace() is None:
        sys.settrace(trace)


class DrawGate:
    """Holds the workers back while the main thread draws.

    Both threads share one interpreter lock: a worker busy in Python code takes it back every
    few milliseconds and would stretch a 25 ms redraw to 60 ms. A worker passes the gate
    wherever the engine polls for cancellation (many times a second, though a 24 MP image
    has stretches of 30-80 ms between polls), so while the gate is held it sleeps there,
    without the lock, and the frame is drawn at full speed.

    A canvas holds the gate as soon as it schedules a full draw and draws once every worker
    running a job has stopped at it (:meth:`quiet`), or after a short wait: the window
    keeps answering meanwhile, where drawing at once would share the lock with the worker
    for the whole draw.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holders = 0
        #: Workers inside a job, and those of them waiting at the gate (or otherwise idle).
        self._running = 0
        self._parked = 0

    def hold(self) -> None:
        """Close the gate until a matching :meth:`release` (main thread)."""
        with self._cond:
            self._holders += 1

    def release(self) -> None:
        """Undo one :meth:`hold`; the gate opens when none is left."""
        with self._cond:
            self._holders = max(0, self._holders - 1)
            if self._holders == 0:
                self._cond.notify_all()

    @contextmanager
    def closed(self) -> Iterator[None]:
        """Hold the gate for the duration of a ``with`` block (main thread)."""
        self.hold()
        try:
            yield
        finally:
            self.release()

    def quiet(self) -> bool:
        """Whether no worker is running a job outside the gate (main thread)."""
        with self._cond:
            return self._parked >= self._running

    @contextmanager
    def working(self) -> Iterator[None]:
        """Count the calling worker as running a job for the ``with`` block."""
        with self._cond:
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1

    @contextmanager
    def parked(self) -> Iterator[None]:
        """Count the calling worker as stopped for the ``with`` block (it waits on something
        else, without the interpreter lock)."""
        with self._cond:
            self._parked += 1
        try:
            yield
        finally:
            with self._cond:
                self._parked -= 1

    def hold_for_arrival(self) -> None:
        """Hold the gate while what just arrived (an opened image, a result) is drawn (main
        thread): the job that follows it (its quantization, its figures) would start at
        once and share the interpreter lock with those draws; it waits at its first poll
        instead. Released :data:`ARRIVAL_HOLD_MS` after the current event has been handled
        (the views' draws come in the turns after it; they are not told apart from other
        work, so the hold is by time)."""
        self.hold()
        # Plain callables, no Qt receiver that could be gone by then. The inner timer is a
        # real one: a zero-delay call is a posted event, handled before it counts down.
        QTimer.singleShot(0, lambda: QTimer.singleShot(ARRIVAL_HOLD_MS, self.release))

    def pass_through(self) -> None:
        """Wait while the gate is held, at most :data:`GATE_MAX_WAIT` (worker thread)."""
        if self._holders == 0:  # the common case, without taking the lock
            return
        with self._cond:
            if self._holders == 0:
                return
            self._parked += 1
            try:
                self._cond.wait_for(lambda: self._holders == 0, timeout=GATE_MAX_WAIT)
            finally:
                self._parked -= 1


class Worker(QObject):
    """Runs jobs one after another in its own thread and reports each outcome by a signal."""

    loaded = Signal(object)  # tasks.Loaded
    quantized = Signal(object)  # tasks.Quantized
    measured = Signal(object)  # tasks.Measured
    saved = Signal(object)  # tasks.Saved
    failed = Signal(object)  # tasks.Failed
    cancelled = Signal(int)  # job id
    progress = Signal(int, float, str)  # job id, fraction 0..1, stage

    def __init__(self, gate: DrawGate | None = None) -> None:
        super().__init__()
        self.gate = gate if gate is not None else DrawGate()

    @Slot(object)
    def run(self, job: object) -> None:
        """Run one job; every exception becomes a ``failed`` signal, never a crash."""
        # These two lines run before this thread is traced, so coverage cannot see them.
        adopt_python_trace()  # pragma: no cover
        self._run(job)  # pragma: no cover - a frame entered after the trace is set, so traced

    def _run(self, job: object) -> None:
        # A job that starts while the window draws waits until it has drawn (see DrawGate).
        self.gate.pass_through()
        try:
            if isinstance(job, tasks.QuantizeJob):
                self._quantize(job)
            elif isinstance(job, tasks.MeasureJob):
                if job.cancel.is_set():
                    raise Cancelled("superseded")
                self.measured.emit(tasks.run_measure(job))
            elif isinstance(job, tasks.LoadJob):
                self.loaded.emit(tasks.run_load(job))
            elif isinstance(job, tasks.SaveJob):
                self.saved.emit(tasks.run_save(job))
            else:
                raise TypeError(f"unknown job {job!r}")
        except Cancelled:
            self.cancelled.emit(job.job_id)  # type: ignore[attr-defined]
        except Exception as exc:
            self.failed.emit(failure_of(job, exc))

    def _quantize(self, job: tasks.QuantizeJob) -> None:
        if job.cancel.is_set():
            # Superseded while it waited in the queue: skip without touching the engine.
            raise Cancelled("superseded")
        last = 0.0

        def progress(fraction: float, stage: str) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_INTERVAL or fraction >= 1.0:
                last = now
                self.progress.emit(job.job_id, fraction, stage)

        with self.gate.working():
            done = tasks.run_quantize(job, progress, self.gate.pass_through)
        if job.cancel.is_set():
            raise Cancelled("superseded")
        self.quantized.emit(done)


def failure_of(job: object, exc: Exception) -> tasks.Failed:
    """The typed outcome of ``job`` having raised ``exc``; an unexpected ``exc`` is logged
    with its traceback, since a maintainer needs it and the user gets one line."""
    job_id = getattr(job, "job_id", 0)
    path = getattr(job, "path", None)
    failed, expected = _EXPECTED.get(type(job), (tasks.InternalError, ()))
    message = tasks.describe_error(exc, path)
    if isinstance(exc, expected):
        return failed(job_id, message)
    doing = tasks.describe_job(job)
    log.error("unexpected error while %s", doing, exc_info=exc)
    return tasks.InternalError(job_id, f"{type(exc).__name__}: {message}", doing)


class BackgroundWorker(QObject):
    """Owns the worker thread: start, submit, and a clean stop.

    Parameters
    ----------
    parent : QObject, optional
    """

    _submit = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._next_id = 0
        # Cancellable jobs (quantize, measure) not finished yet, by id.
        self._pending: dict[int, tasks.QuantizeJob | tasks.MeasureJob] = {}
        self.thread = QThread(self)
        self.thread.setObjectName("kquant-worker")
        self.gate = DrawGate()
        self.worker = Worker(self.gate)
        self.worker.moveToThread(self.thread)
        self._submit.connect(self.worker.run)
        self.thread.finished.connect(self.worker.deleteLater)
        # Forget finished quantize jobs so that their pixels can be freed. Bound slots of this
        # main-thread object make these queued connections, so _pending is only touched here.
        self.worker.quantized.connect(self._forget_outcome)
        self.worker.measured.connect(self._forget_outcome)
        self.worker.failed.connect(self._forget_outcome)
        self.worker.cancelled.connect(self._forget)
        self.thread.start()

    @Slot(object)
    def _forget_outcome(self, outcome: object) -> None:
        self._pending.pop(outcome.job_id, None)  # type: ignore[attr-defined]

    @Slot(int)
    def _forget(self, job_id: int) -> None:
        self._pending.pop(job_id, None)

    def new_id(self) -> int:
        """A fresh job id, larger than every earlier one."""
        self._next_id += 1
        return self._next_id

    def submit(self, job: object) -> None:
        """Queue ``job`` for the worker thread."""
        if isinstance(job, (tasks.QuantizeJob, tasks.MeasureJob)):
            self._pending[job.job_id] = job
        self._submit.emit(job)

    def cancel_all(self) -> None:
        """Ask every quantize and measure job not yet finished to stop."""
        for job in self._pending.values():
            job.cancel.set()

    def idle(self) -> bool:
        """True when no quantize or measure job is queued or running."""
        return not self._pending

    def is_running(self) -> bool:
        """True while the thread's event loop runs."""
        return self.thread.isRunning()

    def shutdown(self) -> None:
        """Cancel, quit and wait: the thread is stopped when this returns."""
        self.cancel_all()
        if self.thread.isRunning():
            self.thread.quit()
            self.thread.wait()

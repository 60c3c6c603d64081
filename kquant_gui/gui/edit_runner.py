"""Palette edits of large results, run off the main thread.

An edit of a 24 MP result repaints 24 million pixels (40-70 ms in the engine) and makes its
display copy; on the main thread the window froze for as long, once per edit and once per
step of a colour dialog's live preview. :class:`EditRunner` runs both in a thread of its own
(the quantizing worker may still be measuring the previous result, and an edit should not
wait for that) and hands the outcome back to the main thread by a signal. Only the latest
job's outcome is reported: a newer job, or :meth:`EditRunner.drop`, makes older ones stale.
Results small enough to edit in a few milliseconds are edited at once on the main thread
(see :func:`runs_in_background`): the thread hop would cost more than the edit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

from kquant_gui.engine import Quantization

from . import tasks
from .display_image import DisplayImage
from .worker import adopt_python_trace

log = logging.getLogger(__name__)

#: Results with more pixels than this are edited in the background.
BACKGROUND_PIXELS = 1_000_000


def runs_in_background(result: Quantization) -> bool:
    """True when editing ``result`` takes long enough to be done off the main thread."""
    h, w = result.labels.shape
    return h * w > BACKGROUND_PIXELS


@dataclass(frozen=True)
class EditJob:
    """Apply ``edit`` to ``base.result``; ``tag`` is the caller's, returned untouched."""

    job_id: int
    base: tasks.Quantized
    edit: Callable[[Quantization], Quantization]
    tag: object = None


@dataclass(frozen=True)
class Edited:
    """The outcome of an :class:`EditJob`: the edited result and its display copy, or the
    reason the engine refused the edit (``error``)."""

    job: EditJob
    result: Quantization | None
    display: DisplayImage | None
    seconds: float
    error: str | None = None


def run_edit(job: EditJob) -> Edited:
    """Edit and make the display copy (any thread); a refused edit comes back as ``error``."""
    start = time.perf_counter()
    try:
        result = job.edit(job.base.result)
    except ValueError as exc:
        return Edited(job, None, None, 0.0, str(exc))
    seconds = time.perf_counter() - start
    return Edited(job, result, DisplayImage.for_result(result), seconds)


class EditWorker(QObject):
    """Runs edit jobs in its thread; every exception becomes an outcome, never a crash."""

    done = Signal(object)  # Edited

    @Slot(object)
    def run(self, job: EditJob) -> None:
        adopt_python_trace()  # pragma: no cover - runs before this thread is traced
        self.done.emit(self._run(job))  # pragma: no cover - entered after the trace is set

    def _run(self, job: EditJob) -> Edited:
        try:
            return run_edit(job)
        except MemoryError:
            return Edited(job, None, None, 0.0, "Not enough memory to edit the palette.")
        except Exception as exc:  # a bug: said in the window, logged with its traceback
            log.error("unexpected error while editing the palette", exc_info=exc)
            return Edited(job, None, None, 0.0, f"{type(exc).__name__}: {exc}")


class EditRunner(QObject):
    """The edit thread of one window.

    Signals
    -------
    finished(object)
        The :class:`Edited` outcome of the latest job (on the main thread).
    settled(int)
        A job ended, whether its outcome was reported or not (its id).
    """

    finished = Signal(object)
    settled = Signal(int)
    _submit = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._next_id = 0
        self._latest: int | None = None
        self._closed = False
        self.thread = QThread(self)
        self.thread.setObjectName("kquant-edit")
        self.worker = EditWorker()
        self.worker.moveToThread(self.thread)
        self._submit.connect(self.worker.run)
        self.worker.done.connect(self._on_done)
        self.thread.finished.connect(self.worker.deleteLater)
        # Started by the first job: a window whose results are all small never needs it.

    def submit(
        self, base: tasks.Quantized, edit: Callable[[Quantization], Quantization], tag=None
    ) -> int:
        """Queue ``edit`` of ``base``; earlier jobs' outcomes will not be reported (nor this
        one's, once the window is closing)."""
        self._next_id += 1
        if self._closed:
            return self._next_id
        if not self.thread.isRunning():
            self.thread.start()
        self._latest = self._next_id
        self._submit.emit(EditJob(self._next_id, base, edit, tag))
        return self._next_id

    def busy(self) -> bool:
        """True while the latest job has not reported."""
        return self._latest is not None

    def drop(self) -> None:
        """Forget every job queued or running: none will report."""
        self._latest = None

    def shutdown(self) -> None:
        """Quit and wait: the thread is stopped when this returns (safe to call twice)."""
        self._closed = True
        self.drop()
        if self.thread.isRunning():
            self.thread.quit()
            self.thread.wait()

    @Slot(object)
    def _on_done(self, edited: Edited) -> None:
        if edited.job.job_id == self._latest:
            self._latest = None
            self.finished.emit(edited)
        self.settled.emit(edited.job.job_id)

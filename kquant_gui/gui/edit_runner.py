"""Palette edits of large results, run off the main thread, the display copy first.

An edit of a 24 MP result repaints 24 million pixels (40-70 ms in the engine) and makes its
display copy; on the main thread the window froze for as long, once per edit and once per
step of a colour dialog's live preview. :class:`EditRunner` runs both in a thread of its own
(the quantizing worker may still be measuring the previous result, and an edit should not
wait for that) and hands the outcome back to the main thread by signals, in two steps: first
the display-sized copy, painted from the old labels with the colours the edit's plan gives
them, or, for a delete (whose pixels each go to their own nearest entry), from the new labels
the plan holds (the same pixels the edited result will display, see
:meth:`.display_image.DisplayImage.for_edit`), then the full-size result (what Save As
writes and the window measures), whose display keeps that copy.

Only the latest job's outcomes are reported: a newer job, or :meth:`EditRunner.drop`, makes
older ones stale, and a stale job stops before its full-size repaint. Results small enough
to edit in a few milliseconds are edited at once on the main thread (see
:func:`runs_in_background`): the thread hop would cost more than the edit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from kquant_gui.engine import EditPlan, Quantization, apply_plan

from . import tasks, window_parts
from .display_image import DisplayImage
from .status_text import result_titles
from .worker import adopt_python_trace

if TYPE_CHECKING:
    from .main_window import MainWindow

log = logging.getLogger(__name__)

#: Results with more pixels than this are edited in the background.
BACKGROUND_PIXELS = 1_000_000
#: Longest wait (s) of the edit thread for the display copy to be drawn before it starts the
#: full-size repaint, which would otherwise take both cores from the drawing.
LOOK_WAIT_S = 0.2


def runs_in_background(result: Quantization) -> bool:
    """True when editing ``result`` takes long enough to be done off the main thread."""
    h, w = result.labels.shape
    return h * w > BACKGROUND_PIXELS


@dataclass(frozen=True)
class EditJob:
    """Apply the plan ``plan`` makes of ``base.result``; ``tag`` is the caller's, returned
    untouched."""

    job_id: int
    base: tasks.Quantized
    plan: Callable[[Quantization], EditPlan]
    tag: object = None


@dataclass(frozen=True)
class FirstLook:
    """The display copy of an :class:`EditJob`'s result, before the result itself.

    Attributes
    ----------
    palette : ndarray of uint8, shape (m, 3)
        The edited palette.
    counts : ndarray of int64, shape (m,)
        Pixels per entry after the edit.
    transparent_index : int or None
    display : DisplayImage
        From :meth:`.display_image.DisplayImage.for_edit`.
    drawn : threading.Event
        Set once the main thread has drawn it (or will not): the full-size repaint waits.
    """

    job: EditJob
    palette: object
    counts: object
    transparent_index: int | None
    display: DisplayImage
    drawn: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class Edited:
    """The outcome of an :class:`EditJob`: the edited result and its display copy, or the
    reason the engine refused the edit (``error``); neither when the job went stale before
    its full-size repaint (``result`` and ``error`` None)."""

    job: EditJob
    result: Quantization | None
    display: DisplayImage | None
    seconds: float
    error: str | None = None


def run_edit(
    job: EditJob,
    first_look: Callable[[FirstLook], None] | None = None,
    wanted: Callable[[int], bool] = lambda _job_id: True,
) -> Edited:
    """Plan the edit, hand its display copy to ``first_look`` (when one can be painted from
    the labels), then, if the job is still ``wanted``, make the full-size result (any
    thread). A refused edit comes back as ``error``."""
    start = time.perf_counter()
    base = job.base.result
    try:
        plan = job.plan(base)
    except ValueError as exc:
        return Edited(job, None, None, 0.0, str(exc))
    first = DisplayImage.for_edit(base, job.base.display, plan) if first_look else None
    if first is not None and first_look is not None:
        look = FirstLook(
            job, plan.palette, plan.counts(base.counts), plan.transparent_index, first
        )
        first_look(look)
        waited = time.perf_counter()
        look.drawn.wait(LOOK_WAIT_S)
        start += time.perf_counter() - waited  # the edit's time, not the drawing's
        if not wanted(job.job_id):
            return Edited(job, None, None, 0.0)
    result = apply_plan(base, plan)
    seconds = time.perf_counter() - start
    display = DisplayImage.for_result(result) if first is None else first.with_result(result)
    return Edited(job, result, display, seconds)


def show_first_look(window: MainWindow, look: FirstLook) -> None:
    """Put an edit's display copy and palette in ``window`` ahead of its full-size result
    (which then takes over with the same pixels); the ΔE map, when it is what the view
    shows, waits for the measurement of that result instead."""
    if not window.compare.action_error_map.isChecked():
        window.quantized_canvas.set_image(look.display)
    window.original_canvas.set_highlight(None)
    window.palette_canvas.set_palette(look.palette, look.counts, look.transparent_index)
    # The titles as the result will give them (no arrays copied: palette and counts only).
    edited = replace(look.job.base.result, palette=look.palette, counts=look.counts)
    window_parts.fit_palette_pane(window, edited.n_colors)
    window.palette_title.setText(result_titles(edited)[1])


class EditWorker(QObject):
    """Runs edit jobs in its thread; every exception becomes an outcome, never a crash.

    ``wanted(job_id)`` (set by the runner, read in this thread) says whether a job whose
    display copy is out is still worth its full-size repaint.
    """

    first = Signal(object)  # FirstLook
    done = Signal(object)  # Edited

    def __init__(self, wanted: Callable[[int], bool]) -> None:
        super().__init__()
        self.wanted = wanted

    @Slot(object)
    def run(self, job: EditJob) -> None:
        adopt_python_trace()  # pragma: no cover - runs before this thread is traced
        self.done.emit(self._run(job))  # pragma: no cover - entered after the trace is set

    def _run(self, job: EditJob) -> Edited:
        try:
            return run_edit(job, self.first.emit, self.wanted)
        except MemoryError:
            return Edited(job, None, None, 0.0, "Not enough memory to edit the palette.")
        except Exception as exc:  # a bug: said in the window, logged with its traceback
            log.error("unexpected error while editing the palette", exc_info=exc)
            return Edited(job, None, None, 0.0, f"{type(exc).__name__}: {exc}")


class EditRunner(QObject):
    """The edit thread of one window.

    Signals
    -------
    displayed(object)
        The :class:`FirstLook` of the latest job (on the main thread): show it at once.
    finished(object)
        The :class:`Edited` outcome of the latest job (on the main thread).
    settled(int)
        A job ended, whether its outcome was reported or not (its id).

    Attributes
    ----------
    more_coming : bool
        Set by a caller that will submit a newer job as soon as the latest one has shown its
        display copy (a colour dialog being dragged): that job then skips its full-size
        repaint. Cleared by :meth:`submit`.
    """

    displayed = Signal(object)
    finished = Signal(object)
    settled = Signal(int)
    _submit = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._next_id = 0
        self._latest: int | None = None
        self._looked = False
        self.more_coming = False
        self._closed = False
        self.thread = QThread(self)
        self.thread.setObjectName("kquant-edit")
        # Read in the edit thread: plain attribute reads, atomic under the interpreter lock.
        self.worker = EditWorker(lambda job_id: job_id == self._latest and not self.more_coming)
        self.worker.moveToThread(self.thread)
        self._submit.connect(self.worker.run)
        self.worker.first.connect(self._on_first)
        self.worker.done.connect(self._on_done)
        self.thread.finished.connect(self.worker.deleteLater)
        # Started by the first job: a window whose results are all small never needs it.

    def submit(
        self, base: tasks.Quantized, plan: Callable[[Quantization], EditPlan], tag=None
    ) -> int:
        """Queue the edit that ``plan`` plans of ``base``; earlier jobs' outcomes will not be
        reported (nor this one's, once the window is closing)."""
        self._next_id += 1
        if self._closed:
            return self._next_id
        if not self.thread.isRunning():
            self.thread.start()
        self._latest = self._next_id
        self._looked = False
        self.more_coming = False
        self._submit.emit(EditJob(self._next_id, base, plan, tag))
        return self._next_id

    def busy(self) -> bool:
        """True while the latest job has not reported."""
        return self._latest is not None

    def looked(self) -> bool:
        """True when there is no latest job or its display copy has been reported."""
        return self._latest is None or self._looked

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
    def _on_first(self, look: FirstLook) -> None:
        if look.job.job_id != self._latest:
            look.drawn.set()
            return
        self._looked = True
        self.displayed.emit(look)
        # After the redraws that showing it asked for (posted before this).
        QTimer.singleShot(0, look.drawn.set)

    @Slot(object)
    def _on_done(self, edited: Edited) -> None:
        if edited.job.job_id == self._latest:
            self._latest = None
            if edited.result is not None or edited.error is not None:
                self.finished.emit(edited)
        self.settled.emit(edited.job.job_id)

"""What the window shows about running work: the progress bar, Cancel, and what a cancel did.

:class:`JobFeedback` listens to the window's session. While a job runs, the status bar shows
one bar from 0 to 100 % in words (:mod:`.progress_words`) and the Cancel button; after Esc
cancels a quantization, the settings controls go back to those of the result still on
screen, so that the controls, the view and Save As agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot

from .progress_words import JobProgress, stage_words
from .window_parts import DROP_HINT

if TYPE_CHECKING:
    from .main_window import MainWindow


class JobFeedback(QObject):
    """Progress, Cancel and roll-back for window ``w`` (connected to ``w.session``)."""

    def __init__(self, w: MainWindow) -> None:
        super().__init__(w)
        self.w = w
        self.job = JobProgress()
        w.session.busyChanged.connect(self.set_busy)
        w.session.progress.connect(self.on_progress)
        w.session.cancelled.connect(self.on_cancelled)
        self.set_busy("")

    @Slot(str)
    def set_busy(self, text: str) -> None:
        """Show what runs (``text``) in the progress bar, or hide it when ``text`` is ""."""
        w = self.w
        busy = bool(text)
        w.progress_bar.setVisible(busy)
        w.cancel_button.setVisible(busy)
        w.action_cancel.setEnabled(True)
        if busy:
            # Said in the progress bar, not as a status message, so that a note shown just
            # before (several files dropped, saved as…) stays readable.
            # At 0 until the first progress report, not "busy": Qt shows no text on a busy
            # bar, and "Opening photo.jpg…" went unsaid.
            w.progress_bar.setRange(0, 1000)
            w.progress_bar.setValue(0)
            room = max(w.progress_bar.minimumWidth(), w.progress_bar.width()) - 16
            middle = Qt.TextElideMode.ElideMiddle  # "Opening holid…2024.jpg…"
            w.progress_bar.setFormat(w.progress_bar.fontMetrics().elidedText(text, middle, room))
            self.job.start()

    @Slot(float, str)
    def on_progress(self, fraction: float, stage: str) -> None:
        """One bar per job, never moving back, in words a user understands."""
        r = self.w.session.recipe
        bar = self.w.progress_bar
        # QProgressBar repaints at once when its value changes, and a repaint there paints
        # every view waiting to be drawn (matplotlib draws a pending figure when painted):
        # on a 24 MP image that stalled the main thread for ~50 ms. With updates held, the
        # bar is painted with the rest of the window, when the event loop gets to it.
        bar.setUpdatesEnabled(False)
        try:
            bar.setRange(0, 1000)
            bar.setValue(int(self.job.report(fraction) * 1000))
            bar.setFormat(f"{stage_words(stage, r.k, r.dither)}… %p%")
        finally:
            bar.setUpdatesEnabled(True)

    @Slot()
    def on_cancelled(self) -> None:
        """Say what Esc did; roll the settings back to those of the result shown."""
        w = self.w
        if w.shown is None:
            w._note("Cancelled")
            if w.source is None:
                w.original_canvas.set_message(DROP_HINT)
            return
        # The cancelled settings are not pending any more: the controls and the session go
        # back to the recipe of the result shown (its locks and edits included).
        r = w.session.shown_recipe or w._recipe()
        w.palette_editor.step_back_to(r)  # the history too: Redo runs the cancelled step
        w.controls.blockSignals(True)
        try:
            w.controls.set_values(r.k, r.color_space, r.dither, r.dither_strength, r.engine)
        finally:
            w.controls.blockSignals(False)
        w.session.set_recipe(r)
        again = " (Redo runs it again)" if w.palette_editor.stack.canRedo() else ""
        w._note(f"Cancelled; settings back to those of the k={r.k} result shown{again}")

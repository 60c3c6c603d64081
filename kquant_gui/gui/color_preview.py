"""Editing one swatch in a colour dialog, the image following the colour live.

While the pointer drags in the dialog, only the latest colour is painted (the steps are
coalesced); on a large result each step runs in the background (:mod:`.edit_runner`): its
display copy is shown first and the next step starts then, the full-size repaint being made
only for the step the pointer rests on. OK makes the colour one undoable step (at once when
the colour previewed last is the one chosen), Cancel shows the result as it was. Previews are
shown, not cached and not measured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog

from kquant_gui.engine import EditPlan, Quantization, plan_replace

from . import tasks
from .edit_runner import Edited, FirstLook, runs_in_background

if TYPE_CHECKING:
    from .palette_edit import PaletteEditor


def hex_of(rgb: np.ndarray) -> str:
    """``#rrggbb`` of a (3,) uint8 colour."""
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb[:3]))


class ColorPreview(QObject):
    """The colour dialog of one :class:`.palette_edit.PaletteEditor`.

    Attributes
    ----------
    dialog : QColorDialog or None
        The dialog while it is open.
    """

    def __init__(self, editor: PaletteEditor) -> None:
        super().__init__(editor)
        self.editor = editor
        self.session = editor.session
        self.dialog: QColorDialog | None = None
        #: The result being edited, the swatch, and the last colour previewed with its result.
        self._base: tasks.Quantized | None = None
        self._index = 0
        self._last: tuple[str, tasks.Quantized] | None = None
        self._pending: QColor | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._apply)

    def open(self, index: int) -> QColorDialog:
        """Open the dialog for swatch ``index`` of the result shown."""
        shown = self.session.shown
        assert shown is not None
        self._base, self._index, self._last = shown, index, None
        rgb = shown.result.palette[index]
        w = self.editor.w
        dialog = QColorDialog(QColor(int(rgb[0]), int(rgb[1]), int(rgb[2])), w)
        dialog.setObjectName("swatchColorDialog")
        dialog.setWindowTitle(f"Colour {index + 1} ({hex_of(rgb)})")
        dialog.setOption(QColorDialog.ColorDialogOption.DontUseNativeDialog, True)
        dialog.currentColorChanged.connect(self._moved)
        dialog.accepted.connect(self._accepted)
        dialog.rejected.connect(self._rejected)
        dialog.finished.connect(dialog.deleteLater)
        # Keys (Ctrl+Z) go to the window again, not nowhere, once the dialog is gone.
        dialog.finished.connect(w.activateWindow)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _recolor(self, color: str) -> Callable[[Quantization], EditPlan]:
        index = self._index
        return lambda r: plan_replace(r, index, color)

    @Slot(QColor)
    def _moved(self, color: QColor) -> None:
        self._pending = color
        if self.editor.runner.busy():
            # Said at once: the running step then skips its full-size repaint.
            self.editor.runner.more_coming = True
        self._timer.start()

    @Slot()
    def _apply(self) -> None:
        base, color = self._base, self._pending
        if base is None or color is None:
            return
        runner = self.editor.runner
        if runs_in_background(base.result):
            if runner.looked():
                self._pending = None
                runner.submit(base, self._recolor(color.name()), ("preview", color.name()))
            # else the running step's display copy (or end) asks again
            return
        self._pending = None
        outcome = self.editor._edit_now(self._recolor(color.name()), base)
        if outcome is not None:
            self._last = (color.name(), outcome)
            self.session.preview(outcome)

    def on_first_look(self, look: FirstLook) -> None:
        """The display copy of a step made in the background: shown at once, and the next
        step (the pointer moved on meanwhile) starts."""
        if self._base is not look.job.base:
            return  # the dialog closed meanwhile
        self.editor.show_look(look)
        if self._pending is not None:
            self._apply()

    def on_preview(self, edited: Edited, color: str) -> None:
        """A step made in the background: show it while the dialog is still open."""
        if self._base is not edited.job.base:
            return  # the dialog closed meanwhile
        if edited.result is not None:
            outcome = self.editor._outcome(edited)
            self._last = (color, outcome)
            self.session.preview(outcome)
        if self._pending is not None:
            self._apply()

    def _close(self) -> tuple[tasks.Quantized | None, QColorDialog | None, tuple | None]:
        state = self._base, self.dialog, self._last
        self._timer.stop()
        self._base, self.dialog, self._last, self._pending = None, None, None, None
        self.editor.runner.drop()
        return state

    @Slot()
    def _accepted(self) -> None:
        base, dialog, last = self._close()
        if base is None or dialog is None:
            return
        color = dialog.currentColor().name()
        editor = self.editor
        if color == hex_of(base.result.palette[self._index]):
            self.session.restore_shown()
        elif last is not None and last[0] == color:
            editor._commit(last[1])  # on screen already
        elif runs_in_background(base.result):
            tag = ("commit", self.session.recipe, self.session.source)
            editor.runner.submit(base, self._recolor(color), tag)
        else:
            outcome = editor._edit_now(self._recolor(color), base)
            if outcome is not None:
                editor._commit(outcome)

    @Slot()
    def _rejected(self) -> None:
        self._close()
        self.session.restore_shown()

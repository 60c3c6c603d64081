"""View > Split and View > Difference: see where the result differs from the original.

:class:`CompareViews` owns both commands for a window. Split lays the original over the left
of the quantized view up to a draggable divider (:mod:`.split_view`), hides the separate
original view so the comparison gets the whole width, and, while Space is held, shows the
original across the whole view. Difference shows the per-pixel CIEDE2000 as a heat map in
place of the quantized image (computed by the worker with the status-bar figures, see
:mod:`.delta_e_map`), with a colour bar in ΔE units beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QImage, QKeyEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

from . import tasks
from .delta_e_map import DELTA_E_MAX, JND, colormap_table
from .split_view import SplitOverlay

if TYPE_CHECKING:
    from .main_window import MainWindow

#: Title prefix of the quantized view while it is split: which side shows what.
SPLIT_PREFIX = "◂ Original │ "
#: Ticks of the colour bar (ΔE2000), each with what it means.
TICKS = ((0.0, "0"), (JND, f"{JND} JND"), (5.0, "5"), (DELTA_E_MAX, f"≥{DELTA_E_MAX:.0f}"))


class ColorBar(QWidget):
    """The error map's scale: ΔE2000 from 0 (bottom) to :data:`DELTA_E_MAX` (top), with the
    just-noticeable difference marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorColorBar")
        self.setFixedWidth(86)
        self.setToolTip(
            "ΔE2000 of each pixel: below ~1 invisible, ~2.3 just noticeable (JND), "
            "above 5 clearly different"
        )
        table = np.ascontiguousarray(colormap_table()[::-1].reshape(-1, 1, 3))
        self._image = QImage(table.data, 1, table.shape[0], 3, QImage.Format.Format_RGB888).copy()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        metrics = painter.fontMetrics()
        top, bottom = metrics.height() + 6, self.height() - metrics.height() // 2 - 4
        bar = QRectF(4, top, 16, max(10, bottom - top))
        painter.drawImage(bar, self._image)
        text = self.palette().color(self.foregroundRole())
        painter.setPen(QPen(text))
        title = QRectF(0, 0, self.width(), top - 2)
        painter.drawText(title, int(Qt.AlignmentFlag.AlignLeft), "ΔE2000")
        for value, label in TICKS:
            y = bar.bottom() - value / DELTA_E_MAX * bar.height()
            if value == JND:
                painter.setPen(QPen(QColor("#00e5ff"), 2))
                painter.drawLine(int(bar.left()) - 2, int(y), int(bar.right()) + 4, int(y))
                painter.setPen(QPen(text))
            else:
                painter.drawLine(int(bar.right()), int(y), int(bar.right()) + 4, int(y))
            painter.drawText(int(bar.right()) + 7, int(y + metrics.ascent() / 2 - 1), label)


class CompareViews(QObject):
    """Split and Difference for window ``w``: actions, overlay, colour bar and Space."""

    def __init__(self, w: MainWindow) -> None:
        super().__init__(w)
        self.w = w
        self.split = SplitOverlay(w.quantized_canvas)
        self.color_bar = ColorBar()
        self.color_bar.setVisible(False)
        self._put_color_bar_beside(w.quantized_canvas)
        self.action_split = QAction("S&plit Before/After", w, checkable=True)
        self.action_split.setObjectName("actionSplitView")
        self.action_split.setShortcut("Ctrl+T")
        self.action_split.setStatusTip(
            "Original left of a draggable divider, result right; hold Space to see the original"
        )
        self.action_split.toggled.connect(self.set_split)
        self.action_error_map = QAction("&Difference (ΔE Map)", w, checkable=True)
        self.action_error_map.setObjectName("actionErrorMap")
        self.action_error_map.setShortcut("Ctrl+D")
        self.action_error_map.setStatusTip("Show how far each pixel moved, in ΔE2000")
        self.action_error_map.toggled.connect(self.set_error_map)
        for action in (self.action_split, self.action_error_map):
            w.addAction(action)
        s = w.session
        s.loaded.connect(self._on_loaded)
        s.resultReady.connect(self._on_result)
        s.measured.connect(self._on_measured)

    def _put_color_bar_beside(self, canvas: QWidget) -> None:
        box = canvas.parentWidget()
        row = QWidget(box)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        box.layout().replaceWidget(canvas, row)
        layout.addWidget(canvas, 1)
        layout.addWidget(self.color_bar)

    def add_to_menu(self, menu, *more: QAction) -> None:
        """Put both commands (and ``more``) at the top of ``menu`` (View)."""
        first = menu.actions()[0] if menu.actions() else None
        for action in (self.action_split, self.action_error_map, *more):
            menu.insertAction(first, action)
        menu.insertSeparator(first)

    # -- commands ------------------------------------------------------------------------
    def set_split(self, on: bool) -> None:
        """View > Split: one view, original left of the divider."""
        w = self.w
        w.images_splitter.widget(0).setVisible(not on)
        self.split.set_enabled(on)
        # Space is caught before any widget sees it, so the filter watches every event of the
        # application: only while it is needed. Each event it sees is a call into Python,
        # which waits for the interpreter lock while a worker holds it; on all the time, that
        # stretched the window's painting by tens of milliseconds while an image loaded.
        app = QApplication.instance()
        if on:
            app.installEventFilter(self)
        else:
            app.removeEventFilter(self)
        w.view.changed.emit()  # the views visible changed, and with them the Fit scale
        self._title()

    def set_error_map(self, on: bool) -> None:
        """View > Difference: the per-pixel ΔE2000 in place of the quantized image."""
        w = self.w
        self.color_bar.setVisible(on)
        w.session.set_error_map_wanted(on)
        self._show_current()

    def _show_current(self) -> None:
        w = self.w
        if w.shown is None:
            return
        m = w.measured
        if self.action_error_map.isChecked():
            if m is not None and m.error_map is not None:
                w.quantized_canvas.set_image(m.error_map)
                w.quantized_title.setText(
                    f"Difference · ΔE2000 per pixel · k={w.shown.result.k} · "
                    f"mean {m.mean_delta_e:.2f}"
                )
            else:
                w.quantized_canvas.set_image(w.shown.display, "Measuring the difference…")
        else:
            w.quantized_canvas.set_image(w.shown.display)
            w.quantized_title.setText(_result_title(w))
        self._title()

    def _title(self) -> None:
        """Say which side is which while the view is split."""
        title = self.w.quantized_title
        text = title.text().removeprefix(SPLIT_PREFIX)
        title.setText(SPLIT_PREFIX + text if self.split.enabled else text)

    # -- outcomes ------------------------------------------------------------------------
    def _on_loaded(self, outcome: tasks.Loaded) -> None:
        self.split.set_original(outcome.display)

    def _on_result(self, _outcome: tasks.Quantized) -> None:
        if self.action_error_map.isChecked():
            self._show_current()
        self._title()

    def _on_measured(self, outcome: tasks.Measured) -> None:
        if self.action_error_map.isChecked() and outcome.error_map is not None:
            self._show_current()

    # -- Space held ----------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if (
            kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Space
            and self.split.enabled
            and self.w.isActiveWindow()
        ):
            if not event.isAutoRepeat():
                self.split.set_flipped(kind == QEvent.Type.KeyPress)
            return True
        return False


def _result_title(w: MainWindow) -> str:
    from .status_text import result_titles

    return result_titles(w.shown.result)[0] if w.shown is not None else "Quantized"

"""Pointing at the images: the pixel readout under the pointer, and a swatch's pixels highlighted.

:class:`SwatchSelection` connects a window's views: hovering either image shows the pixel
under the pointer in the status bar; a click on a palette swatch, or on a pixel of the
quantized image, highlights that colour's pixels, copies its hex code and says its share.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QGuiApplication

from .palette_canvas import hex_code
from .status_text import pixel_summary, selection_note

if TYPE_CHECKING:
    from .main_window import MainWindow


class SwatchSelection(QObject):
    """The selected swatch and the pixel readout of one window.

    Parameters
    ----------
    w : MainWindow
        Needs its image and palette canvases, ``pixel_label``, ``source``, ``shown`` and
        ``_note``.
    """

    def __init__(self, w: MainWindow) -> None:
        super().__init__(w)
        self.w = w
        w.quantized_canvas.clicked.connect(self._quantized_clicked)
        w.original_canvas.hovered.connect(self._hovered)
        w.quantized_canvas.hovered.connect(self._hovered)
        w.palette_canvas.swatchClicked.connect(self.select)

    @Slot(int)
    def select(self, index: int | None) -> None:
        """Highlight the pixels of palette entry ``index`` and copy its hex code (None, or
        the entry already selected: clear)."""
        w = self.w
        if w.shown is None or index is None or index == w.palette_canvas.selected:
            w.palette_canvas.set_selected(None)
            w.quantized_canvas.set_highlight(None)
            return
        result = w.shown.result
        if not 0 <= index < result.n_colors:
            return
        w.palette_canvas.set_selected(index)
        w.quantized_canvas.set_highlight(index)
        if index != result.transparent_index:
            QGuiApplication.clipboard().setText(hex_code(result.palette[index]))
        w._note(selection_note(result, index))

    @Slot(float, float)
    def _hovered(self, x: float, y: float) -> None:
        w = self.w
        text = None
        if w.source is not None and not (math.isnan(x) or math.isnan(y)):
            text = pixel_summary(w.source, w.shown, x, y)
        w.pixel_label.setText(text or "")
        w.pixel_label.setVisible(text is not None)

    @Slot(float, float)
    def _quantized_clicked(self, x: float, y: float) -> None:
        if self.w.shown is None:
            return
        labels = self.w.shown.result.labels
        col, row = int(x), int(y)
        if 0 <= row < labels.shape[0] and 0 <= col < labels.shape[1]:
            self.select(int(labels[row, col]))
        else:
            self.select(None)

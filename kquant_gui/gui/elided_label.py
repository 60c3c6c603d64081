"""A label whose lines end in "…" instead of being cut off when space runs out."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """Plain-text label that gives up width freely and elides its text to what is left.

    ``text()`` keeps the whole text; only the painting is shortened, each line on its own
    (the status bar's figures take two lines, so that a narrow window keeps both). Status-bar
    figures and view titles use it, so that a narrow window shows "…" rather than a word cut
    in half running into the next widget.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        #: Characters a shortened line must keep to be worth showing ("Qual…" says nothing);
        #: 0 shows any remnant. A title beside its controls sets it; figures keep 0.
        self.min_chars = 0

    def shown_text(self) -> str:
        """The text as painted: each line elided to the width, or left out when too little
        of it would remain (see :attr:`min_chars`)."""
        width = self.contentsRect().width()
        metrics = self.fontMetrics()
        lines = []
        for line in self.text().split("\n"):
            short = metrics.elidedText(line, Qt.TextElideMode.ElideRight, width)
            kept = len(short) - 1 if short != line else len(line)
            lines.append(short if short == line or kept >= self.min_chars else "")
        return "\n".join(lines)

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        shown = self.shown_text()
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), shown)

"""Status-bar notes that fit: a long file name is shortened in its middle, never the end.

A note like "Saved image very-long-name….jpg (1.2 MB) — JPEG cannot keep the palette" must
keep its tail (the size and the warning) in view, so the file name gives way first,
shortened in its middle where "…" hides the least telling part. Qt's status bar draws a
message clipped at the right edge, so the fitting is done here, at the width available.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QStatusBar, QWidget

#: Fewest pixels a shortened name keeps, so that it stays recognisable.
MIN_NAME_WIDTH = 60


def fit_note(text: str, name: str | None, metrics: QFontMetrics, width: int) -> str:
    """``text`` made to fit ``width`` pixels: first ``name`` (a part of ``text``) is elided in
    its middle, then, if that is not enough, the whole text in its middle."""
    if metrics.horizontalAdvance(text) <= width:
        return text
    middle = Qt.TextElideMode.ElideMiddle
    if name and name in text:
        rest = metrics.horizontalAdvance(text) - metrics.horizontalAdvance(name)
        room = max(MIN_NAME_WIDTH, width - rest)
        text = text.replace(name, metrics.elidedText(name, middle, room), 1)
        if metrics.horizontalAdvance(text) <= width:
            return text
    return metrics.elidedText(text, middle, width)


def show_note(
    status: QStatusBar,
    text: str,
    timeout_ms: int = 0,
    name: str | None = None,
    beside: tuple[QWidget, ...] = (),
) -> None:
    """Show ``text`` as the bar's temporary message, fitted (see :func:`fit_note`) into the
    bar's width less the visible widgets ``beside`` it; the full text becomes the bar's
    tooltip while it is shortened."""
    used = sum(w.width() + 8 for w in beside if w.isVisible())
    room = max(100, status.width() - used - 24)
    fitted = fit_note(text, name, status.fontMetrics(), room)
    status.showMessage(fitted, timeout_ms)
    status.setToolTip(text if fitted != text else "")

"""Helpers shared by the window tests (tests/gui) and the hardening tests (tests/hardening)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget


class Messages:
    """Records every message box the window would have shown, answering questions as told."""

    def __init__(self) -> None:
        self.warnings: list[tuple[str, str]] = []
        self.questions: list[str] = []
        self.abouts: list[str] = []
        self.answer = QMessageBox.StandardButton.Yes


def patch_message_boxes(monkeypatch: pytest.MonkeyPatch) -> Messages:
    """Patch QMessageBox so that no test ever blocks on a modal dialog."""
    rec = Messages()

    def warning(parent, title, text, *args, **kwargs):
        rec.warnings.append((title, text))
        return QMessageBox.StandardButton.Ok

    def question(parent, title, text, *args, **kwargs):
        rec.questions.append(text)
        return rec.answer

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(warning))
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(warning))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr(
        QMessageBox, "about", staticmethod(lambda parent, title, text: rec.abouts.append(text))
    )
    return rec


def drop_files(window: QWidget, paths: list[Path], at: tuple[int, int] = (50, 50)) -> bool:
    """Drag ``paths`` onto ``window`` and drop them, as a file manager would.

    Returns whether the window accepted the drag (nothing is dropped when it did not).
    """
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with warnings.catch_warnings():
        # PySide marks the QPoint constructor deprecated; it is the one a drag enter has.
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(*at), *args)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    QApplication.sendEvent(window, QDropEvent(QPointF(*at), *args))
    return True

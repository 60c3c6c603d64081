"""macOS hands files opened from Finder or the Dock to the app as QFileOpenEvent."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from kquant_gui.gui.app import install_file_open_handler


def test_file_open_event_opens_the_file(qapp: QApplication, tmp_path: Path) -> None:
    opened: list[Path] = []
    handler = install_file_open_handler(qapp, opened.append)
    try:
        target = tmp_path / "from finder.png"
        QApplication.sendEvent(qapp, QFileOpenEvent(str(target)))
        assert opened == [target]
    finally:
        qapp.removeEventFilter(handler)

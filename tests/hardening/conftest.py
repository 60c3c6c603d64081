"""Fixtures for the hardening tests: the corpus folders, a window, captured message boxes.

Qt is imported inside the window fixtures only, so the engine, loader and command-line tests
here run without building any widget.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _corpus import TIMEOUT_MS, Case, bad_files, good_odd_files


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    """Every bad file of the corpus, in a fresh folder of its own."""
    return bad_files(tmp_path_factory.mktemp("bad"))


@pytest.fixture(scope="module")
def good_odd(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    """Every unusual but valid file of the corpus."""
    return good_odd_files(tmp_path_factory.mktemp("odd"))


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch):
    """Patch QMessageBox so that no test blocks on a modal dialog; answers questions Yes."""
    from qt_support import patch_message_boxes

    return patch_message_boxes(monkeypatch)


@pytest.fixture
def window(qtbot, messages, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A shown MainWindow with settings in a throw-away INI file; closed afterwards, and the
    test fails if its worker thread is still running then."""
    from PySide6.QtCore import QSettings

    from kquant_gui.gui import MainWindow

    ini = tmp_path_factory.mktemp("settings") / "kquant-gui.ini"
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(ini.parent))
    win = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(900, 640)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    assert not win.worker.thread.isRunning(), "worker thread left running"


@pytest.fixture
def open_and_wait(qtbot):
    """``open_and_wait(window, path)``: open and wait until its first result is on screen."""

    def run(win, path: Path) -> None:
        with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT_MS):
            win.open_path(path)

    return run

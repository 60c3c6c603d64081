"""Helpers and fixtures shared by the window tests (tests/gui) and the hardening tests.

The fixtures are defined once here and imported by the conftest of each folder that uses
them, so that a fixture name means the same thing everywhere. Qt is imported inside the
functions, so that importing this module (as the hardening conftest does for its engine and
command-line tests too) builds no widget.

Every fixture that changes process-wide Qt state puts it back: the ``QSettings`` path, the
application's style and palette.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from kquant_gui.gui.main_window import MainWindow

#: Generous bound for one small job; tests wait on signals and return as soon as they fire.
TIMEOUT_MS = 20_000


class Messages:
    """Records every message box the window would have shown, answering questions as told."""

    def __init__(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        self.warnings: list[tuple[str, str]] = []
        self.questions: list[str] = []
        self.abouts: list[str] = []
        self.answer = QMessageBox.StandardButton.Yes


def patch_message_boxes(monkeypatch: pytest.MonkeyPatch) -> Messages:
    """Patch QMessageBox so that no test ever blocks on a modal dialog."""
    from PySide6.QtWidgets import QMessageBox

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
    """Drag ``paths`` onto ``window`` and drop them, as a file manager would: file URLs
    holding each name's bytes, percent-encoded (so a name that is not UTF-8 arrives as is).

    Returns whether the window accepted the drag (nothing is dropped when it did not).
    """
    import os
    import urllib.parse

    from PySide6.QtCore import QByteArray, QMimeData, QPoint, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    encoded = [urllib.parse.quote_from_bytes(os.fsencode(Path(p).absolute())) for p in paths]
    mime.setUrls([QUrl.fromEncoded(QByteArray(b"file://" + e.encode())) for e in encoded])
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


def user_settings_folder() -> Path:
    """Where ``QSettings`` in INI format keeps user-scope files now (Qt has no getter)."""
    from PySide6.QtCore import QSettings

    probe = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "probe", "probe")
    return Path(probe.fileName()).parent.parent


@contextmanager
def settings_in(folder: Path) -> Iterator[Path]:
    """Point user-scope INI ``QSettings`` at ``folder`` for the block, then back."""
    from PySide6.QtCore import QSettings

    before = user_settings_folder()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    try:
        yield folder
    finally:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(before))


@contextmanager
def application_look_kept() -> Iterator[None]:
    """Restore the application's style and palette after the block (themes change both)."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication), "needs the QApplication (the qapp fixture)"
    style, palette = app.style().name(), QPalette(app.palette())
    try:
        yield
    finally:
        if app.style().name() != style:
            app.setStyle(style)
        app.setPalette(palette)


# == fixtures (imported by tests/gui/conftest.py and tests/hardening/conftest.py) ============
@pytest.fixture
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point every user-scope QSettings of the test at a fresh folder, never at the user's
    config; the previous folder is restored afterwards."""
    with settings_in(tmp_path_factory.mktemp("settings")) as folder:
        yield folder


@pytest.fixture
def kept_look(qapp) -> Iterator[None]:
    """The application's style and palette as they were before the test, afterwards."""
    with application_look_kept():
        yield


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> Messages:
    """Patch QMessageBox so that no test ever blocks on a modal dialog; answers Yes."""
    return patch_message_boxes(monkeypatch)


@pytest.fixture
def settings_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the INI file the test's windows share (so settings survive a restart), in a
    folder of its own: tests that list ``tmp_path`` find only their own files there."""
    return tmp_path_factory.mktemp("window-settings") / "kquant-gui.ini"


@pytest.fixture
def make_window(
    qtbot, messages: Messages, settings_file: Path, isolated_settings: Path, kept_look: None
) -> Iterator[Callable[..., MainWindow]]:
    """Factory of shown windows sharing one settings file; all are closed afterwards and
    the test fails if any left its worker thread running."""
    from PySide6.QtCore import QSettings

    from kquant_gui.gui.main_window import MainWindow

    windows: list[MainWindow] = []

    def make(size: tuple[int, int] | None = (1000, 700)) -> MainWindow:
        window = MainWindow(QSettings(str(settings_file), QSettings.Format.IniFormat))
        qtbot.addWidget(window)
        if size is not None:
            window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert not window.worker.thread.isRunning(), "worker thread left running"


@pytest.fixture
def window(make_window) -> MainWindow:
    """One shown window with no image."""
    return make_window()


@pytest.fixture
def open_and_wait(qtbot) -> Callable[[MainWindow, Path], None]:
    """``open_and_wait(window, path)``: open and wait until its first result is on screen."""

    def run(window: MainWindow, path: Path) -> None:
        with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
            window.open_path(path)

    return run

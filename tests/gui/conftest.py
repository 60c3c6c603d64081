"""Fixtures for the window tests: isolated settings, image files, a window, patched dialogs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog
from qt_support import Messages, patch_message_boxes

from kquant_gui.gui.main_window import MainWindow

#: Generous bound for one small job; tests wait on signals and return as soon as they fire.
TIMEOUT_MS = 20_000


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point every QSettings of the test at a fresh folder, never at the user's config."""
    folder = tmp_path_factory.mktemp("settings")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    """Path of an INI file for windows that should share settings across a restart."""
    return tmp_path / "kquant-gui.ini"


@pytest.fixture
def photo_file(tmp_path: Path, photo: np.ndarray) -> Path:
    """The shared 96x128 photo saved as PNG."""
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    return path


@pytest.fixture
def other_file(tmp_path: Path) -> Path:
    """A second, different image (64x80 vertical stripes of 6 colours)."""
    colors = np.array(
        [[250, 0, 0], [0, 200, 0], [0, 0, 240], [240, 240, 0], [0, 0, 0], [255, 255, 255]],
        dtype=np.uint8,
    )
    img = colors[(np.arange(80) // 14) % 6][None, :, :].repeat(64, axis=0)
    path = tmp_path / "stripes.png"
    Image.fromarray(img).save(path)
    return path


@pytest.fixture
def noise_file(tmp_path: Path) -> Path:
    """A 600x600 noise image: slow enough to quantize that cancelling can be exercised."""
    rng = np.random.default_rng(7)
    path = tmp_path / "noise.png"
    Image.fromarray(rng.integers(0, 256, (600, 600, 3), dtype=np.uint8)).save(
        path, compress_level=0
    )
    return path


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    """A text file with an image extension."""
    path = tmp_path / "not-really.png"
    path.write_text("this is not an image\n")
    return path


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> Messages:
    """Patch QMessageBox so that no test ever blocks on a modal dialog."""
    return patch_message_boxes(monkeypatch)


@pytest.fixture
def make_window(qtbot, messages: Messages, settings_file: Path):
    """Factory of shown windows sharing one settings file; all are closed afterwards and
    the test fails if any left its worker thread running."""
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
def open_and_wait(qtbot):
    """``open_and_wait(window, path)``: open and wait until its first result is on screen."""

    def run(window: MainWindow, path: Path) -> None:
        with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
            window.open_path(path)

    return run


@pytest.fixture
def opened(window: MainWindow, photo_file: Path, open_and_wait) -> MainWindow:
    """A window showing ``photo_file`` quantized with the default k=8."""
    open_and_wait(window, photo_file)
    return window


@pytest.fixture
def save_dialog(monkeypatch: pytest.MonkeyPatch):
    """``save_dialog(target)`` makes the save dialog answer ``target``; returns the list of
    (title, proposed path, filters) of every call."""

    def patch(target: Path) -> list[tuple]:
        calls: list[tuple] = []

        def get_save(parent, title, start, filters, selected="", options=None):
            calls.append((title, start, filters))
            return str(target), selected

        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save))
        return calls

    return patch

"""Fixtures for the window tests: image files, a window, patched dialogs, kept Qt state.

The window fixtures themselves (``window``, ``make_window``, ``messages``, ``open_and_wait``…)
are defined once in ``tests/qt_support.py`` (a plugin of the root conftest) and shared with
the hardening tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QFileDialog

from kquant_gui.gui.main_window import MainWindow


@pytest.fixture(autouse=True)
def _no_leaks(isolated_settings: Path, kept_look: None) -> Iterator[None]:
    """Every window test gets its own settings folder and leaves the application's style
    and palette as it found them."""
    yield


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

"""The window's guards against stale outcomes: whatever a superseded job delivers (a decoded
image, a result, an error) never reaches the screen."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from qt_support import TIMEOUT_MS

from kquant_gui.gui import MainWindow


def test_an_old_result_arriving_late_is_not_shown(qtbot, opened: MainWindow) -> None:
    old = opened.shown
    before = opened.quantized_canvas.displayed_pixels().copy()
    shown: list[int] = []
    opened.resultShown.connect(shown.append)
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.controls.k_spin.setValue(3)
        # The worker delivers a result of an earlier job while the new one runs.
        opened.worker.worker.quantized.emit(replace(old, job_id=old.job_id))
        opened.worker.worker.quantized.emit(replace(old, job_id=0))
        assert shown == [] and opened.shown is old
        np.testing.assert_array_equal(opened.quantized_canvas.displayed_pixels(), before)
    assert len(shown) == 1 and opened.shown.result.k == 3


def test_of_two_images_opened_in_a_row_only_the_second_is_shown(
    qtbot, window: MainWindow, photo_file: Path, other_file: Path
) -> None:
    loaded: list[str] = []
    window.imageLoaded.connect(loaded.append)
    decoded: list[int] = []
    window.worker.worker.loaded.connect(lambda outcome: decoded.append(outcome.job_id))
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        window.open_path(other_file)
        window.open_path(photo_file)
    assert len(decoded) == 2  # both were decoded; the first one was dropped
    assert loaded == [str(photo_file)]
    assert window.source.path == photo_file and "photo.png" in window.windowTitle()


def test_an_error_of_a_superseded_open_is_not_shown(
    qtbot, window: MainWindow, bad_file: Path, photo_file: Path, messages
) -> None:
    failures: list[object] = []
    window.worker.worker.failed.connect(failures.append)
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        window.open_path(bad_file)
        window.open_path(photo_file)
    qtbot.waitUntil(lambda: bool(failures), timeout=TIMEOUT_MS)  # the bad file did fail
    assert messages.warnings == []
    assert window.source.path == photo_file

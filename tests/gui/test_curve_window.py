"""The curve panel in the window: it appears after opening, a click sets k, a newer image
cancels an older sweep, Ctrl+K sets k by choose_k, and the target is remembered."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDoubleSpinBox

from kquant_gui.engine import CURVE_KS, choose_k
from kquant_gui.gui.curve_canvas import CurveCanvas
from kquant_gui.gui.main_window import MainWindow

TIMEOUT_MS = 60_000


def curve_of(window: MainWindow) -> CurveCanvas:
    canvas = window.findChild(CurveCanvas, "curveCanvas")
    assert canvas is not None
    return canvas


def wait_for_curve(qtbot, window: MainWindow) -> CurveCanvas:
    canvas = curve_of(window)
    qtbot.waitUntil(lambda: len(canvas.points) == len(CURVE_KS), timeout=TIMEOUT_MS)
    return canvas


def test_the_curve_appears_after_opening(qtbot, opened: MainWindow) -> None:
    canvas = wait_for_curve(qtbot, opened)
    assert canvas.isVisible()
    assert sorted(canvas.de_line.get_xdata()) == sorted(CURVE_KS)
    assert canvas.current_k == opened.controls.k
    des = {k: p.mean_delta_e for k, p in canvas.points.items()}
    assert des[256] < des[10] < des[2]
    assert all(p.png_size > 0 for p in canvas.points.values())
    assert opened.findChild(QDoubleSpinBox, "targetDeSpinBox") is not None


def test_a_click_on_the_curve_sets_the_k_spin_box(qtbot, opened: MainWindow) -> None:
    canvas = wait_for_curve(qtbot, opened)
    at = QPoint(round(canvas.x_of(45)), canvas.height() // 2)
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=at)
    k = opened.controls.k
    assert abs(k - 45) <= 3
    assert opened.shown.result.k == k
    assert canvas.current_k == k


def test_a_newer_image_cancels_the_older_sweep(
    qtbot, window: MainWindow, noise_file: Path, photo_file: Path, open_and_wait
) -> None:
    cancelled: list[int] = []
    controller = window.curve.controller
    controller.worker.cancelled.connect(cancelled.append)
    open_and_wait(window, noise_file)
    qtbot.waitUntil(controller.is_sweeping, timeout=TIMEOUT_MS)
    old = controller._sweep.job_id
    open_and_wait(window, photo_file)
    qtbot.waitUntil(lambda: old in cancelled, timeout=TIMEOUT_MS)
    canvas = wait_for_curve(qtbot, window)
    # Every point is the new image's: the photo's k=2 error, measured again, is the same.
    from kquant_gui.engine import sweep

    (expected,) = sweep(window.source.pixels, [2], threads=1)
    assert canvas.points[2] == expected


def test_ctrl_k_sets_the_fewest_colours_for_the_target(qtbot, opened: MainWindow) -> None:
    spin = opened.findChild(QDoubleSpinBox, "targetDeSpinBox")
    spin.setValue(4.0)
    expected = choose_k(opened.source.pixels, 4.0, threads=1)
    assert opened.action_suggest_k.shortcut().toString() == "Ctrl+K"
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        QTest.keyClick(opened, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert opened.controls.k == expected.k
    assert f"k={expected.k}" in opened.statusBar().currentMessage()


def test_the_target_is_remembered(qtbot, make_window) -> None:
    first = make_window()
    first.findChild(QDoubleSpinBox, "targetDeSpinBox").setValue(3.5)
    first.close()
    second = make_window()
    assert second.findChild(QDoubleSpinBox, "targetDeSpinBox").value() == 3.5
    assert curve_of(second).target == 3.5


def test_suggest_needs_an_image(window: MainWindow) -> None:
    assert not window.action_suggest_k.isEnabled()


def test_esc_stops_a_search(qtbot, opened: MainWindow) -> None:
    controller = opened.curve.controller
    cancelled: list[int] = []
    controller.worker.cancelled.connect(cancelled.append)
    controller.set_quantizing(True)  # holds the search at its first poll
    opened.action_suggest_k.trigger()
    job = controller._choose.job_id
    opened.action_cancel.trigger()
    controller.set_quantizing(False)
    qtbot.waitUntil(lambda: job in cancelled, timeout=TIMEOUT_MS)
    assert not controller.is_choosing()
    assert "Stopped" in opened.statusBar().currentMessage()


def test_closing_stops_the_curve_thread(qtbot, opened: MainWindow) -> None:
    controller = opened.curve.controller
    # A sweep held back at its first poll, as while a quantization runs.
    controller.set_quantizing(True)
    controller.request(opened.source.pixels, "oklab", "none")
    assert controller.is_sweeping()
    opened.close()
    assert not controller.thread.isRunning()


def test_after_esc_the_curve_of_the_result_shown_is_measured_again(
    qtbot, window: MainWindow, noise_file: Path, open_and_wait
) -> None:
    open_and_wait(window, noise_file)
    controller = window.curve.controller
    qtbot.waitUntil(controller.is_sweeping, timeout=TIMEOUT_MS)  # the result was measured
    with qtbot.waitSignal(window.worker.worker.progress, timeout=TIMEOUT_MS):
        window.controls.dither.setCurrentIndex(window.controls.dither.findData("floyd-steinberg"))
    assert not controller.is_sweeping()  # the dithered curve waits for its result
    window.action_cancel.trigger()
    assert window.controls.dither_key == "none"
    # Not left at "Measuring the curve…" over empty axes: the shown settings' curve restarts.
    qtbot.waitUntil(
        lambda: controller.is_sweeping() and not controller.is_stale("lab", "none"),
        timeout=TIMEOUT_MS,
    )


def test_a_narrow_window_leaves_out_the_curve_title_rather_than_a_stub(qtbot, make_window) -> None:
    window = make_window((800, 560))
    title = window.curve_panel.title
    qtbot.waitUntil(lambda: title.shown_text() in ("", title.text()))
    assert title.shown_text() == ""  # not "Qual…": the axes name what the curve shows
    window.resize(1500, 900)
    qtbot.waitUntil(lambda: title.shown_text() == "Quality and size by k")

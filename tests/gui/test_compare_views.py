"""View > Split and View > Difference: the original beside the result in one view, Space to
flip, and the per-pixel ΔE2000 heat map computed by the worker."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import QApplication
from qt_support import TIMEOUT_MS

from kquant_gui.engine.colorspace import srgb8_to_lab
from kquant_gui.engine.metrics import ciede2000
from kquant_gui.gui import MainWindow
from kquant_gui.gui.delta_e_map import DELTA_E_MAX, delta_e_per_pixel, heat_picture


def test_split_shows_the_original_left_of_the_divider_in_one_view(opened: MainWindow) -> None:
    action = opened.findChild(QAction, "actionSplitView")
    canvas = opened.quantized_canvas
    split = opened.compare.split
    orig_width = canvas.width()
    action.trigger()
    assert not opened.original_canvas.isVisibleTo(opened)
    assert split.artist.get_visible() and split.shown_fraction() == 0.5
    QApplication.processEvents()
    assert canvas.width() > orig_width  # the comparison gets the whole width
    # The original artist holds the original's pixels for the same view as the result.
    np.testing.assert_array_equal(
        np.asarray(split.artist.get_array())[..., :3], opened.source.pixels[..., :3]
    )
    assert split.artist.get_extent() == canvas.image_artist.get_extent()
    action.trigger()
    assert opened.original_canvas.isVisibleTo(opened) and not split.artist.get_visible()


def test_the_divider_drags_and_a_drag_on_it_does_not_pan(opened: MainWindow) -> None:
    opened.compare.action_split.trigger()
    QApplication.processEvents()  # the view widens into the original's place
    canvas, split = opened.quantized_canvas, opened.compare.split
    canvas.draw()
    width, height = canvas.device_size()
    xlim = canvas.ax.get_xlim()
    MouseEvent("button_press_event", canvas, width * 0.5, height / 2, button=1)._process()
    MouseEvent("motion_notify_event", canvas, width * 0.25, height / 2, button=1)._process()
    MouseEvent("button_release_event", canvas, width * 0.25, height / 2, button=1)._process()
    assert split.position == pytest.approx(0.25, abs=0.01)
    assert split.clip.get_width() == pytest.approx(0.25, abs=0.01)
    assert canvas.ax.get_xlim() == xlim and opened.view.fit  # not panned
    assert opened.palette_canvas.selected is None  # and nothing selected


def test_holding_space_shows_the_original_across_the_view(opened: MainWindow, qtbot) -> None:
    opened.activateWindow()
    qtbot.waitUntil(opened.isActiveWindow)
    opened.compare.action_split.trigger()
    split = opened.compare.split
    target = opened.quantized_canvas

    def key(kind: QEvent.Type, repeat: bool = False) -> None:
        event = QKeyEvent(kind, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " ", repeat)
        QApplication.sendEvent(target, event)

    key(QEvent.Type.KeyPress)
    assert split.shown_fraction() == 1.0 and not split.lines[0].get_visible()
    key(QEvent.Type.KeyPress, repeat=True)  # held: auto-repeat changes nothing
    assert split.shown_fraction() == 1.0
    key(QEvent.Type.KeyRelease)
    assert split.shown_fraction() == 0.5
    # With Split off, Space is the widgets' again: the filter that caught it is gone.
    opened.compare.action_split.trigger()
    seen: list[int] = []

    class Catch(QObject):
        def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.KeyPress:
                seen.append(event.key())
            return False

    catch = Catch()
    target.installEventFilter(catch)
    try:
        key(QEvent.Type.KeyPress)
        key(QEvent.Type.KeyRelease)
    finally:
        target.removeEventFilter(catch)
    assert seen == [Qt.Key.Key_Space]
    assert not split.enabled


def test_delta_e_per_pixel_matches_the_formula() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    b = a.copy()
    b[::2] = rng.integers(0, 256, (10, 30, 3), dtype=np.uint8)
    got = delta_e_per_pixel(a, b)
    want = ciede2000(srgb8_to_lab(a.reshape(-1, 3)), srgb8_to_lab(b.reshape(-1, 3)))
    np.testing.assert_allclose(got.ravel(), want, atol=1e-4)
    assert np.all(got[1::2] == 0)
    rgba = np.dstack([a, np.zeros((20, 30), np.uint8)])
    assert np.all(delta_e_per_pixel(rgba, np.dstack([b, rgba[..., 3]])) == 0)  # invisible
    picture = heat_picture(np.array([[0.0, DELTA_E_MAX, 50.0]]))
    assert picture.shape == (1, 3, 3)
    assert np.array_equal(picture[0, 1], picture[0, 2])  # saturates at the top of the bar


def test_difference_shows_the_heat_map_from_the_worker(qtbot, opened: MainWindow) -> None:
    action = opened.findChild(QAction, "actionErrorMap")
    with qtbot.waitSignal(opened.session.measured, timeout=TIMEOUT_MS) as blocker:
        action.trigger()
    measured = blocker.args[0]
    assert measured.error_map is not None
    expected = heat_picture(delta_e_per_pixel(opened.source.pixels, opened.shown.result.image))
    np.testing.assert_array_equal(measured.error_map.full, expected)
    canvas = opened.quantized_canvas
    assert canvas.display is measured.error_map
    np.testing.assert_array_equal(canvas.displayed_pixels()[..., :3], expected)
    assert opened.compare.color_bar.isVisibleTo(opened)
    assert opened.quantized_title.text().startswith("Difference · ΔE2000")
    # A new result keeps the difference view: it is measured again, with its map.
    with qtbot.waitSignal(opened.session.measured, timeout=TIMEOUT_MS) as blocker:
        opened.controls.k_spin.setValue(3)
    assert blocker.args[0].error_map is not None
    assert canvas.display is blocker.args[0].error_map
    action.trigger()
    assert canvas.display is opened.shown.display
    assert not opened.compare.color_bar.isVisibleTo(opened)
    assert opened.quantized_title.text().startswith("Quantized · k=3")

"""The image views under the mouse, with real Qt events: drag to pan, wheel to zoom about the
pointer, click a pixel to select its palette entry, double-click to fit."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from kquant_gui.gui import MainWindow
from kquant_gui.gui.image_canvas import ZOOM_STEP, ImageCanvas


def widget_point(canvas: ImageCanvas, x: float, y: float) -> QPoint:
    """Image coordinates -> the canvas widget's logical pixel (matplotlib's y axis points up)."""
    canvas.draw()  # make the transforms current
    dx, dy = canvas.ax.transData.transform((x, y))
    ratio = canvas.devicePixelRatioF()
    return QPoint(round(dx / ratio), round((canvas.figure.bbox.height - dy) / ratio))


def image_point(canvas: ImageCanvas, point: QPoint) -> tuple[float, float]:
    """The image coordinates under a widget pixel."""
    ratio = canvas.devicePixelRatioF()
    dx, dy = point.x() * ratio, canvas.figure.bbox.height - point.y() * ratio
    x, y = canvas.ax.transData.inverted().transform((dx, dy))
    return float(x), float(y)


def span(canvas: ImageCanvas) -> tuple[float, float]:
    """Width and height of the image area the canvas shows."""
    x0, x1 = canvas.ax.get_xlim()
    y1, y0 = canvas.ax.get_ylim()
    return x1 - x0, y1 - y0


def wheel(canvas: ImageCanvas, at: QPoint, notches: int) -> None:
    """Turn the mouse wheel ``notches`` steps (positive: away from the user) over ``at``."""
    event = QWheelEvent(
        QPointF(at),
        QPointF(canvas.mapToGlobal(at)),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas, event)


@pytest.fixture
def zoomed(opened: MainWindow) -> MainWindow:
    """The opened window, zoomed in twice so that there is room to pan."""
    opened.action_zoom_in.trigger()
    opened.action_zoom_in.trigger()
    return opened


def test_dragging_pans_both_views_and_selects_nothing(qtbot, zoomed: MainWindow) -> None:
    quant, orig = zoomed.quantized_canvas, zoomed.original_canvas
    start = widget_point(quant, 64.0, 48.0)
    before = image_point(quant, start)
    x_before = quant.ax.get_xlim()
    qtbot.mousePress(quant, Qt.MouseButton.LeftButton, pos=start)
    end = start + QPoint(40, 25)
    for step in (QPoint(10, 6), QPoint(25, 15), QPoint(40, 25)):
        qtbot.mouseMove(quant, start + step)
    qtbot.mouseRelease(quant, Qt.MouseButton.LeftButton, pos=end)
    # The image point that was under the pointer moved with it.
    after = image_point(quant, end)
    assert after == pytest.approx(before, abs=0.5)
    assert quant.ax.get_xlim() != x_before
    assert orig.ax.get_xlim() == quant.ax.get_xlim()
    assert orig.ax.get_ylim() == quant.ax.get_ylim()
    # A drag is not a click: no palette entry was selected.
    assert zoomed.palette_canvas.selected is None and quant.highlight is None


def test_wheel_zooms_about_the_pointer(zoomed: MainWindow) -> None:
    quant = zoomed.quantized_canvas
    at = widget_point(quant, 50.5, 40.5)
    under = image_point(quant, at)
    width, height = span(quant)
    wheel(quant, at, 1)
    assert span(quant) == pytest.approx((width / ZOOM_STEP, height / ZOOM_STEP), rel=1e-6)
    assert image_point(quant, at) == pytest.approx(under, abs=0.5)
    wheel(quant, at, -2)
    assert span(quant) == pytest.approx((width * ZOOM_STEP, height * ZOOM_STEP), rel=1e-6)
    assert zoomed.original_canvas.ax.get_xlim() == quant.ax.get_xlim()


def test_clicking_a_pixel_selects_its_palette_entry(qtbot, opened: MainWindow) -> None:
    quant = opened.quantized_canvas
    result = opened.shown.result
    col, row = 100, 80
    entry = int(result.labels[row, col])
    with qtbot.waitSignal(quant.clicked):
        qtbot.mouseClick(
            quant, Qt.MouseButton.LeftButton, pos=widget_point(quant, col + 0.5, row + 0.5)
        )
    assert opened.palette_canvas.selected == entry and quant.highlight == entry
    drawn = quant.displayed_pixels()
    mine = result.labels == entry
    # The other pixels keep their colour; the entry's pixels are outlined (edge changed).
    np.testing.assert_array_equal(drawn[~mine], result.image[~mine])
    assert (drawn[mine] != result.image[mine]).any()
    # A click beside the image (the fitted image leaves a margin at the canvas's corner)
    # clears the selection.
    corner = QPoint(2, 2)
    x, y = image_point(quant, corner)
    assert x < 0 or y < 0
    with qtbot.waitSignal(quant.clicked):
        qtbot.mouseClick(quant, Qt.MouseButton.LeftButton, pos=corner)
    assert opened.palette_canvas.selected is None and quant.highlight is None


def test_double_click_fits_the_image_again(qtbot, zoomed: MainWindow) -> None:
    quant = zoomed.quantized_canvas
    assert not zoomed.view.fit
    qtbot.mouseDClick(quant, Qt.MouseButton.LeftButton, pos=widget_point(quant, 64.0, 48.0))
    assert zoomed.view.fit
    x0, x1 = quant.ax.get_xlim()
    y1, y0 = quant.ax.get_ylim()
    assert x0 <= 0 and x1 >= 128 and y0 <= 0 and y1 >= 96  # the whole image again


def test_a_double_click_only_fits(qtbot, zoomed: MainWindow) -> None:
    # What a real double-click sends: press, release, double-click, release. The first
    # release must not select a swatch, highlight its pixels or overwrite the clipboard.
    quant = zoomed.quantized_canvas
    QApplication.clipboard().setText("kept")
    clicks: list[tuple[float, float]] = []
    quant.clicked.connect(lambda x, y: clicks.append((x, y)))
    at = widget_point(quant, 64.0, 48.0)
    qtbot.mouseClick(quant, Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseDClick(quant, Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseRelease(quant, Qt.MouseButton.LeftButton, pos=at)
    qtbot.waitUntil(lambda: not quant._click_timer.isActive())
    assert zoomed.view.fit
    assert clicks == []
    assert zoomed.palette_canvas.selected is None and quant.highlight is None
    assert QApplication.clipboard().text() == "kept"


def test_both_views_keep_one_scale_after_the_splitter_moves(qtbot, opened: MainWindow) -> None:
    opened.resize(1000, 700)
    opened.show()
    qtbot.waitExposed(opened)
    opened.images_splitter.setSizes([700, 250])
    qtbot.waitUntil(lambda: opened.original_canvas.width() > 2 * opened.quantized_canvas.width())
    orig, quant = opened.original_canvas, opened.quantized_canvas
    assert opened.view.fit
    scales = []
    for canvas in (orig, quant):
        canvas.draw()
        x0, x1 = canvas.ax.get_xlim()
        scales.append(canvas.device_size()[0] / (x1 - x0))
    assert scales[0] == pytest.approx(scales[1])
    # The image fits the smaller view whole.
    x0, x1 = quant.ax.get_xlim()
    y1, y0 = quant.ax.get_ylim()
    assert x0 <= 0 and x1 >= 128 and y0 <= 0 and y1 >= 96

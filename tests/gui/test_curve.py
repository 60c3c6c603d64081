"""The curve panel's parts without a window: the canvas (points, mark, click, drag, hover)
and the controller (progressive points, cancel by a newer request, yielding, searching)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from kquant_gui.engine import CURVE_KS, SweepPoint
from kquant_gui.gui.curve import CurveController
from kquant_gui.gui.curve_canvas import CurveCanvas
from kquant_gui.gui.worker import DrawGate

TIMEOUT_MS = 30_000


def fake_points() -> list[SweepPoint]:
    return [SweepPoint(k, 20.0 / k**0.5, 20 + 3 * np.log2(k), 1000 * k, k) for k in CURVE_KS]


@pytest.fixture
def canvas(qtbot) -> CurveCanvas:
    c = CurveCanvas()
    qtbot.addWidget(c)
    c.resize(480, 200)
    c.show()
    qtbot.waitExposed(c)
    return c


def _at(canvas: CurveCanvas, k: float) -> QPoint:
    return QPoint(round(canvas.x_of(k)), canvas.height() // 2)


def test_canvas_draws_points_and_marks_k(canvas) -> None:
    assert canvas.objectName() == "curveCanvas"
    canvas.add_points(fake_points()[:4])
    assert len(canvas.de_line.get_xdata()) == 4
    canvas.add_points(fake_points())
    xs = list(canvas.de_line.get_xdata())
    assert xs == sorted(CURVE_KS)
    canvas.set_current_k(40)
    assert canvas.k_line.get_visible() and list(canvas.k_line.get_xdata()) == [40, 40]
    # Between measured points the mark sits on the curve, interpolated in log k.
    (y,) = canvas.k_marker.get_ydata()
    assert 20 / 51**0.5 < y < 20 / 37**0.5
    assert canvas.ax.get_xscale() == "log"


def test_a_click_on_the_curve_picks_that_k(canvas, qtbot) -> None:
    canvas.add_points(fake_points())
    with qtbot.waitSignal(canvas.kPicked, timeout=2000) as picked:
        QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=_at(canvas, 32))
    assert abs(picked.args[0] - 32) <= 2
    assert canvas.current_k == picked.args[0]


def test_dragging_picks_k_as_it_goes(canvas, qtbot) -> None:
    canvas.add_points(fake_points())
    picks: list[int] = []
    canvas.kPicked.connect(picks.append)
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=_at(canvas, 8))
    QTest.mouseMove(canvas, _at(canvas, 30))
    QTest.mouseMove(canvas, _at(canvas, 120))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=_at(canvas, 120))
    assert len(picks) == 3 and picks[0] < picks[1] < picks[2]
    assert abs(picks[-1] - 120) <= 5


def test_hovering_reads_k_de_and_size(canvas, qtbot) -> None:
    canvas.add_points(fake_points())
    with qtbot.waitSignal(canvas.hovered, timeout=2000) as hovered:
        QTest.mouseMove(canvas, _at(canvas, 64))
    text = hovered.args[0]
    assert "k=" in text and "ΔE" in text and "kB" in text


def _pixels(canvas: CurveCanvas) -> np.ndarray:
    return np.asarray(canvas.buffer_rgba()).copy()


def test_a_cleared_curve_reuses_its_drawn_empty_axes(canvas, qtbot) -> None:
    # The empty axes were drawn when the canvas was shown; a new image's clear() copies
    # them back with the message over them instead of drawing the whole figure again.
    draws: list[object] = []
    canvas.mpl_connect("draw_event", draws.append)
    qtbot.waitUntil(lambda: canvas._background is not None and not canvas._full_pending)
    empty = _pixels(canvas)
    draws.clear()
    canvas.add_points(fake_points())
    qtbot.waitUntil(lambda: len(draws) == 1)  # the scales moved: one full draw
    qtbot.waitUntil(lambda: not np.array_equal(_pixels(canvas), empty))
    canvas.clear("The quality curve appears here")  # what the canvas showed at first
    qtbot.waitUntil(lambda: np.array_equal(_pixels(canvas), empty))
    assert len(draws) == 1
    assert canvas.message.get_visible() and not canvas.points
    canvas.clear("Measuring the curve…")
    qtbot.waitUntil(lambda: not np.array_equal(_pixels(canvas), empty))  # the new message
    assert len(draws) == 1


def test_no_pick_without_points(canvas, qtbot) -> None:
    picks: list[int] = []
    canvas.kPicked.connect(picks.append)
    QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=_at(canvas, 32))
    assert picks == []


@pytest.fixture
def controller(qtbot):
    c = CurveController(DrawGate())
    yield c
    c.shutdown()
    assert not c.thread.isRunning()


def test_controller_fills_the_curve_in_coarse_first(controller, qtbot, photo) -> None:
    seen: list[int] = []
    controller.pointsChanged.connect(lambda: seen.append(len(controller.points)))
    controller.request(photo, "lab", "none")
    qtbot.waitUntil(lambda: len(controller.points) == len(CURVE_KS), timeout=TIMEOUT_MS)
    assert seen[:3] == [1, 2, 3]
    qtbot.waitUntil(lambda: not controller.is_sweeping(), timeout=TIMEOUT_MS)
    des = {k: p.mean_delta_e for k, p in controller.points.items()}
    assert des[256] < des[2]
    # The same request again measures nothing new.
    controller.request(photo, "lab", "none")
    assert not controller.is_sweeping()


def test_a_newer_request_cancels_the_older_sweep(controller, qtbot, photo) -> None:
    other = np.ascontiguousarray(photo[:, ::-1])
    cancelled: list[int] = []
    controller.worker.cancelled.connect(cancelled.append)
    controller.set_quantizing(True)  # holds the first sweep at its first poll
    controller.request(photo, "lab", "none")
    first = controller._sweep.job_id
    with qtbot.waitSignal(controller.started, timeout=2000):
        controller.request(other, "lab", "none")
    controller.set_quantizing(False)
    qtbot.waitUntil(lambda: first in cancelled, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(controller.points) == len(CURVE_KS), timeout=TIMEOUT_MS)
    # The points are the new image's: its k=2 error, not the first image's.
    from kquant_gui.engine import sweep

    (expected,) = sweep(other, [2])
    assert controller.points[2] == expected


def test_the_sweep_waits_while_a_quantization_runs(controller, qtbot, photo) -> None:
    cancelled: list[int] = []
    controller.worker.cancelled.connect(cancelled.append)
    controller.set_quantizing(True)
    controller.request(photo, "lab", "none")
    held = controller._sweep.job_id
    # Cancelled while held back: it stops at the poll where it waits, before any point.
    controller.cancel()
    qtbot.waitUntil(lambda: held in cancelled, timeout=TIMEOUT_MS)
    assert controller.points == {}
    controller.set_quantizing(False)
    controller.request(photo, "lab", "none")
    qtbot.waitUntil(lambda: len(controller.points) > 0, timeout=TIMEOUT_MS)


def test_choose_finds_k_and_the_sweep_resumes(controller, qtbot, photo) -> None:
    controller.request(photo, "lab", "none")
    qtbot.waitUntil(lambda: len(controller.points) >= 1, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(controller.chosen, timeout=TIMEOUT_MS) as chosen:
        controller.choose(photo, "lab", "none", 6.0)
    choice = chosen.args[0]
    assert choice.met and choice.mean_delta_e <= 6.0
    qtbot.waitUntil(lambda: len(controller.points) == len(CURVE_KS), timeout=TIMEOUT_MS)


def test_a_newer_search_cancels_the_older(controller, qtbot, photo) -> None:
    cancelled: list[int] = []
    controller.worker.cancelled.connect(cancelled.append)
    controller.set_quantizing(True)  # holds the first search at its first poll
    controller.choose(photo, "lab", "none", 3.0)
    first = controller._choose.job_id
    controller.choose(photo, "lab", "none", 6.0)
    controller.set_quantizing(False)
    with qtbot.waitSignal(controller.chosen, timeout=TIMEOUT_MS) as chosen:
        pass
    assert first in cancelled
    assert chosen.args[0].mean_delta_e <= 6.0 < chosen.args[0].tried[chosen.args[0].k - 1]

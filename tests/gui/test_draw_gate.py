"""The draw gate: workers stop at it while the window draws, and a long draw waits for them."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from kquant_gui.engine import SweepPoint
from kquant_gui.gui import canvas_base, tasks
from kquant_gui.gui.curve import CurveController
from kquant_gui.gui.curve_canvas import CurveCanvas
from kquant_gui.gui.worker import BackgroundWorker, DrawGate

WAIT_S = 10.0


class _Looper:
    """A worker thread inside a job that polls the gate until told to stop, counting polls."""

    def __init__(self, gate: DrawGate) -> None:
        self.gate = gate
        self.stop = threading.Event()
        self.started = threading.Event()
        self.polls = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.started.wait(WAIT_S)

    def _run(self) -> None:
        with self.gate.working():
            self.started.set()
            while not self.stop.is_set():
                self.gate.pass_through()
                self.polls += 1
                self.stop.wait(0.001)  # a stretch of work between two polls

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive()


def test_an_idle_gate_is_quiet_and_lets_workers_through() -> None:
    gate = DrawGate()
    assert gate.quiet()
    gate.pass_through()  # returns at once: nobody holds it
    with gate.working():
        assert not gate.quiet()
        with gate.parked():
            assert gate.quiet()
    assert gate.quiet()


def test_a_held_gate_stops_a_running_worker_until_released(qtbot) -> None:
    gate = DrawGate()
    worker = _Looper(gate)
    try:
        assert not gate.quiet()
        gate.hold()
        qtbot.waitUntil(gate.quiet, timeout=int(WAIT_S * 1000))
        stopped_at = worker.polls
        gate.hold()  # a second holder (two canvases): one release does not open it
        gate.release()
        assert gate.quiet()
        assert worker.polls == stopped_at
        gate.release()
        qtbot.waitUntil(lambda: worker.polls > stopped_at, timeout=int(WAIT_S * 1000))
        assert not gate.quiet()
    finally:
        gate.release()
        worker.finish()


@pytest.fixture
def gated_canvas(qtbot):
    canvas = CurveCanvas()
    canvas.resize(420, 160)
    qtbot.addWidget(canvas)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.draw_gate = DrawGate()
    # Its own first draw done, so that only the test's draws are counted.
    qtbot.waitUntil(
        lambda: (
            not canvas._full_pending
            and not canvas._full_timer.isActive()
            and (canvas._quiet_timer is None or not canvas._quiet_timer.isActive())
        ),
        timeout=int(WAIT_S * 1000),
    )
    draws: list[bool] = []
    canvas.mpl_connect("draw_event", lambda _e: draws.append(canvas.draw_gate.quiet()))
    return canvas, draws


def test_a_long_draw_waits_for_the_worker_to_stop(gated_canvas, qtbot) -> None:
    canvas, draws = gated_canvas
    gate = canvas.draw_gate
    worker = _Looper(gate)
    try:
        canvas.draw_when_quiet()
        canvas.draw_when_quiet()  # asked again while waiting: still one draw
        qtbot.waitUntil(lambda: len(draws) == 1, timeout=int(WAIT_S * 1000))
        assert draws == [True]  # drawn with the worker stopped at the gate
        # The hold ends with the draw: the worker goes on.
        assert gate._holders == 0
        polls = worker.polls
        qtbot.waitUntil(lambda: worker.polls > polls, timeout=int(WAIT_S * 1000))
    finally:
        worker.finish()


def test_a_worker_that_never_stops_delays_the_draw_only_so_long(
    gated_canvas, qtbot, monkeypatch
) -> None:
    canvas, draws = gated_canvas
    gate = canvas.draw_gate
    monkeypatch.setattr(canvas_base, "QUIET_MAX_WAIT_S", 0.05)
    busy = threading.Event()
    release = threading.Event()

    def never_polls() -> None:
        with gate.working():
            busy.set()
            release.wait(WAIT_S)

    thread = threading.Thread(target=never_polls, daemon=True)
    thread.start()
    assert busy.wait(WAIT_S)
    try:
        canvas.draw_when_quiet()
        qtbot.waitUntil(lambda: len(draws) == 1, timeout=int(WAIT_S * 1000))
        assert draws == [False]  # drawn anyway, the worker still running
        assert gate._holders == 0
    finally:
        release.set()
        thread.join(WAIT_S)


def test_the_sweep_stops_at_a_held_gate(qtbot, photo) -> None:
    gate = DrawGate()
    controller = CurveController(gate)
    try:
        gate.hold()
        controller.request(photo, "lab", "none")
        # The sweep's worker runs its job and stops at its first poll.
        qtbot.waitUntil(lambda: gate._running == 1 and gate.quiet(), timeout=int(WAIT_S * 1000))
        assert controller.points == {}
        gate.release()
        qtbot.waitUntil(lambda: not controller.is_sweeping(), timeout=60_000)
        des = [p.mean_delta_e for p in controller.points.values()]
        assert des and np.all(np.isfinite(des))
        assert gate._running == 0 and gate.quiet()
    finally:
        gate.release()
        controller.shutdown()


def _curve_points() -> list[SweepPoint]:
    return [
        SweepPoint(k, 20.0 / k**0.5, 30.0 + k * 0.1, 1000 * k, k)
        for k in (2, 4, 8, 16, 32, 64, 128, 256)
    ]


def test_a_whole_curve_draw_comes_in_passes_and_shows_only_when_complete(
    gated_canvas, qtbot
) -> None:
    canvas, draws = gated_canvas
    canvas.add_points(_curve_points())
    qtbot.waitUntil(lambda: len(draws) == 1, timeout=int(WAIT_S * 1000))
    shown = canvas.get_renderer()
    canvas.draw_when_quiet()
    # The axes are left to passes of their own, drawn into a renderer of their own: the
    # canvas keeps showing its last picture meanwhile.
    qtbot.waitUntil(lambda: canvas._passes is not None, timeout=int(WAIT_S * 1000))
    assert canvas.get_renderer() is shown
    assert canvas.draw_gate._holders == 1  # the workers are held until the end
    qtbot.waitUntil(lambda: len(draws) == 2, timeout=int(WAIT_S * 1000))
    assert draws == [True, True]
    assert canvas._passes is None and canvas.draw_gate._holders == 0
    assert canvas.get_renderer() is not shown
    in_passes = np.asarray(canvas.get_renderer().buffer_rgba()).copy()
    # The same picture as one whole draw, but for the joints of the tick marks with the
    # frame (drawn in another order): a few dozen pixels.
    FigureCanvasAgg.draw(canvas)
    at_once = np.asarray(canvas.get_renderer().buffer_rgba())
    differing = np.count_nonzero(np.any(in_passes != at_once, axis=2))
    assert differing <= 0.005 * at_once.shape[0] * at_once.shape[1]


def test_passes_start_over_when_the_canvas_changes_under_them(gated_canvas, qtbot) -> None:
    canvas, draws = gated_canvas
    canvas.draw_when_quiet()
    qtbot.waitUntil(lambda: canvas._passes is not None, timeout=int(WAIT_S * 1000))
    started = canvas._passes
    canvas.resize(canvas.width() + 60, canvas.height() + 20)
    qtbot.waitUntil(lambda: len(draws) >= 1, timeout=int(WAIT_S * 1000))
    qtbot.waitUntil(lambda: canvas._passes is None, timeout=int(WAIT_S * 1000))
    # What is shown was drawn at the new size, and nothing holds the workers any more.
    width, height = canvas.get_width_height(physical=True)
    assert canvas.get_renderer().width == width and canvas.get_renderer().height == height
    assert canvas._passes is not started and canvas.draw_gate._holders == 0


def test_an_arrival_holds_the_workers_for_a_moment(qtbot) -> None:
    gate = DrawGate()
    worker = _Looper(gate)
    try:
        gate.hold_for_arrival()
        qtbot.waitUntil(gate.quiet, timeout=int(WAIT_S * 1000))
        stopped_at = worker.polls
        # Released by itself once the views have had their turns to draw.
        qtbot.waitUntil(lambda: gate._holders == 0, timeout=int(WAIT_S * 1000))
        qtbot.waitUntil(lambda: worker.polls > stopped_at, timeout=int(WAIT_S * 1000))
    finally:
        worker.finish()


def test_a_job_that_starts_while_the_window_draws_waits(qtbot, photo_file) -> None:
    background = BackgroundWorker()
    gate = background.gate
    try:
        gate.hold()
        background.submit(tasks.LoadJob(background.new_id(), photo_file))
        # It stops at the gate before doing anything, without the interpreter lock.
        qtbot.waitUntil(lambda: gate._parked == 1, timeout=int(WAIT_S * 1000))
        with qtbot.waitSignal(background.worker.loaded, timeout=int(WAIT_S * 1000)):
            gate.release()
    finally:
        gate.release()
        background.shutdown()


def test_a_new_draw_during_the_passes_replaces_them_and_holds_once(gated_canvas, qtbot) -> None:
    canvas, draws = gated_canvas
    canvas.draw_when_quiet()
    qtbot.waitUntil(lambda: canvas._passes is not None, timeout=int(WAIT_S * 1000))
    canvas.draw_when_quiet()  # the curve moved on meanwhile ...
    canvas.draw_when_quiet()
    canvas._draw_if_quiet()  # ... and the workers had stopped: it draws before the passes end
    qtbot.waitUntil(lambda: len(draws) == 1, timeout=int(WAIT_S * 1000))
    qtbot.waitUntil(lambda: canvas._passes is None, timeout=int(WAIT_S * 1000))
    # Every hold was given back: a forgotten one would slow each later job at every poll.
    assert canvas.draw_gate._holders == 0

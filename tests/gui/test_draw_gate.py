"""The draw gate: workers stop at it while the window draws, and a long draw waits for them."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from kquant_gui.gui import canvas_base
from kquant_gui.gui.curve import CurveController
from kquant_gui.gui.curve_canvas import CurveCanvas
from kquant_gui.gui.worker import DrawGate

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

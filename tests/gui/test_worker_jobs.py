"""The worker thread on its own: a job it does not know fails cleanly, a superseded one is
skipped, and shutting down twice is harmless."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from kquant_gui import quantize
from kquant_gui.gui import tasks
from kquant_gui.gui.worker import BackgroundWorker

TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class StrayJob:
    job_id: int


@pytest.fixture
def background(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(tasks, "run_warm_up", lambda: None)  # scikit-learn is beside the point
    worker = BackgroundWorker()
    yield worker
    worker.shutdown()


def test_an_unknown_job_becomes_a_failure_not_a_crash(qtbot, background) -> None:
    job = StrayJob(background.new_id())
    with qtbot.waitSignal(background.worker.failed, timeout=TIMEOUT_MS) as blocker:
        background.submit(job)
    assert blocker.args[0].job_id == job.job_id
    assert "StrayJob" in blocker.args[0].message
    assert background.is_running()


def test_a_superseded_measure_is_skipped(qtbot, background) -> None:
    pixels = np.zeros((4, 4, 3), np.uint8)
    job = tasks.MeasureJob(background.new_id(), pixels, quantize(pixels, 1))
    job.cancel.set()
    with qtbot.waitSignal(background.worker.cancelled, timeout=TIMEOUT_MS) as blocker:
        background.submit(job)
    assert blocker.args == [job.job_id]
    qtbot.waitUntil(background.idle, timeout=TIMEOUT_MS)


def test_shutdown_stops_the_thread_and_may_be_called_again(background) -> None:
    assert background.is_running()
    background.shutdown()
    assert not background.is_running()
    background.shutdown()
    assert not background.is_running()

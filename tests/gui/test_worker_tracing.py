"""The worker's QThread takes the trace function of `threading.settrace`, as coverage needs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from kquant_gui.gui import tasks
from kquant_gui.gui.worker import BackgroundWorker

TIMEOUT_MS = 20_000


@pytest.fixture
def recorded_calls() -> Iterator[list[tuple[int, str]]]:
    """Install a recording trace for new threads and restore the one there was (coverage's)."""
    calls: list[tuple[int, str]] = []

    def trace(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            calls.append((threading.get_ident(), frame.f_code.co_name))

    before = threading.gettrace()
    threading.settrace(trace)
    try:
        yield calls
    finally:
        threading.settrace(before)  # type: ignore[arg-type]


def test_jobs_on_the_worker_thread_are_traced(
    qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
    photo_file: Path,
    recorded_calls: list[tuple[int, str]],
) -> None:
    # The warm-up imports scikit-learn: slow under a Python trace function, and beside the point.
    monkeypatch.setattr(tasks, "run_warm_up", lambda: None)
    background = BackgroundWorker()
    try:
        with qtbot.waitSignal(background.worker.loaded, timeout=TIMEOUT_MS) as blocker:
            background.submit(tasks.LoadJob(background.new_id(), photo_file))
        assert blocker.args[0].job_id > 0
    finally:
        background.shutdown()
    main = threading.get_ident()
    names = {name for ident, name in recorded_calls if ident != main}
    assert "run_load" in names, sorted(names)[:20]

"""The window's Session controller without a window: which job outcomes it takes, which it
drops, what it reports. A fake runner records the jobs; outcomes are handed in by hand, in
any order, as the worker thread could deliver them."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from kquant_gui import quantize
from kquant_gui.gui import tasks
from kquant_gui.gui.session import Recipe, Session
from kquant_gui.gui.worker import failure_of


class FakeSignals(QObject):
    """The outcome signals of the real worker."""

    loaded = Signal(object)
    quantized = Signal(object)
    measured = Signal(object)
    saved = Signal(object)
    failed = Signal(object)
    cancelled = Signal(int)
    progress = Signal(int, float, str)


class FakeRunner:
    """Records submitted jobs; runs nothing. ``cancel_all`` sets the jobs' cancel flags."""

    def __init__(self) -> None:
        self.worker = FakeSignals()
        self.jobs: list[object] = []
        self._next = 0

    def new_id(self) -> int:
        self._next += 1
        return self._next

    def submit(self, job: object) -> None:
        self.jobs.append(job)

    def cancel_all(self) -> None:
        for job in self.jobs:
            cancel = getattr(job, "cancel", None)
            if cancel is not None:
                cancel.set()

    def last(self, kind: type):
        return [j for j in self.jobs if isinstance(j, kind)][-1]


class Recorder:
    """Everything the session reported, by signal name."""

    def __init__(self, session: Session) -> None:
        self.events: list[tuple[str, object]] = []
        for name in ("busyChanged", "loaded", "resultReady", "measured", "saved", "failed"):
            getattr(session, name).connect(lambda value, n=name: self.events.append((n, value)))
        session.cancelled.connect(lambda: self.events.append(("cancelled", None)))
        session.progress.connect(lambda f, s: self.events.append(("progress", (f, s))))

    def of(self, name: str) -> list[object]:
        return [value for n, value in self.events if n == name]


PIXELS = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)


def loaded(job: tasks.LoadJob) -> tasks.Loaded:
    return tasks.Loaded(job.job_id, job.path, None, PIXELS, None, 72, 100, 0.01)


def quantized(job: tasks.QuantizeJob) -> tasks.Quantized:
    return tasks.Quantized(job.job_id, quantize(job.pixels, job.k), None, 0.01)


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def session(qapp, runner: FakeRunner) -> Session:
    return Session(runner)


@pytest.fixture
def rec(session: Session) -> Recorder:
    return Recorder(session)


@pytest.fixture
def with_source(session: Session, runner: FakeRunner, rec: Recorder) -> Session:
    """A session whose photo is open and whose first quantization is running."""
    session.open(Path("photo.png"))
    runner.worker.loaded.emit(loaded(runner.last(tasks.LoadJob)))
    rec.events.clear()
    return session


def test_opening_loads_then_quantizes_with_the_recipe(session, runner, rec) -> None:
    session.set_recipe(Recipe(5, "oklab", "ordered"))
    session.open(Path("photo.png"))
    job = runner.last(tasks.LoadJob)
    assert job.path == Path("photo.png") and session.is_busy() and session.is_loading()
    assert rec.of("busyChanged") == ["Opening photo.png…"]
    runner.worker.loaded.emit(loaded(job))
    assert session.source.job_id == job.job_id and session.shown is None
    q = runner.last(tasks.QuantizeJob)
    assert (q.k, q.color_space, q.dither) == (5, "oklab", "ordered")
    assert q.pixels is PIXELS and rec.of("busyChanged")[-1] == "Quantizing to k=5…"
    runner.worker.quantized.emit(quantized(q))
    assert session.shown.job_id == q.job_id and not session.is_busy()
    assert [o.job_id for o in rec.of("resultReady")] == [q.job_id]


def test_an_image_opened_later_wins_over_one_opened_earlier(session, runner, rec) -> None:
    session.open(Path("first.png"))
    first = runner.last(tasks.LoadJob)
    session.open(Path("second.png"))
    second = runner.last(tasks.LoadJob)
    runner.worker.loaded.emit(loaded(first))  # arrives, but nobody waits for it any more
    assert session.source is None and rec.of("loaded") == []
    runner.worker.loaded.emit(loaded(second))
    assert session.source.path == Path("second.png")
    assert [o.path for o in rec.of("loaded")] == [Path("second.png")]


def test_a_result_of_a_superseded_quantization_is_never_shown(with_source, runner, rec) -> None:
    first = runner.last(tasks.QuantizeJob)
    with_source.change_recipe(Recipe(3))
    newer = runner.last(tasks.QuantizeJob)
    assert newer is not first and first.cancel.is_set() and not newer.cancel.is_set()
    runner.worker.progress.emit(first.job_id, 0.5, "clustering")
    runner.worker.quantized.emit(quantized(first))
    assert with_source.shown is None and rec.of("resultReady") == [] and rec.of("progress") == []
    runner.worker.progress.emit(newer.job_id, 0.5, "clustering")
    runner.worker.quantized.emit(quantized(newer))
    assert with_source.shown.result.k == 3
    assert rec.of("progress") == [(0.5, "clustering")]


def test_settings_changes_in_a_burst_start_one_job_then_the_last(
    qtbot, with_source, runner
) -> None:
    before = len(runner.jobs)
    for k in (9, 10, 11, 12):
        with_source.change_recipe(Recipe(k))
    started = [j.k for j in runner.jobs[before:] if isinstance(j, tasks.QuantizeJob)]
    assert started == [9]  # the first change at once, the rest held back
    qtbot.waitUntil(lambda: runner.last(tasks.QuantizeJob).k == 12)
    started = [j.k for j in runner.jobs[before:] if isinstance(j, tasks.QuantizeJob)]
    assert started == [9, 12]  # then the last, once the changes stopped


def test_cancel_stops_the_work_and_drops_its_late_result(with_source, runner, rec) -> None:
    job = runner.last(tasks.QuantizeJob)
    assert with_source.cancel()
    assert job.cancel.is_set() and not with_source.is_busy()
    assert rec.of("busyChanged") == [""] and rec.of("cancelled") == [None]
    runner.worker.quantized.emit(quantized(job))
    assert with_source.shown is None and rec.of("resultReady") == []
    assert not with_source.cancel()  # nothing left to stop


def test_the_engine_reporting_a_cancel_ends_the_busy_state(with_source, runner, rec) -> None:
    job = runner.last(tasks.QuantizeJob)
    runner.worker.cancelled.emit(job.job_id + 100)  # someone else's
    assert with_source.is_busy() and rec.of("cancelled") == []
    runner.worker.cancelled.emit(job.job_id)
    assert not with_source.is_busy() and rec.of("cancelled") == [None]


def test_the_result_shown_is_measured_once_the_event_loop_runs(qtbot, with_source, runner, rec):
    job = runner.last(tasks.QuantizeJob)
    runner.worker.quantized.emit(quantized(job))
    qtbot.waitUntil(lambda: any(isinstance(j, tasks.MeasureJob) for j in runner.jobs))
    measure = runner.last(tasks.MeasureJob)
    assert measure.result is with_source.shown.result
    stale = tasks.Measured(measure.job_id - 1, 9.9, 1)
    runner.worker.measured.emit(stale)
    assert with_source.measurement is None and rec.of("measured") == []
    runner.worker.measured.emit(tasks.Measured(measure.job_id, 1.5, 1234))
    assert with_source.measurement.mean_delta_e == 1.5


def test_failures_of_wanted_jobs_are_reported_and_stale_ones_dropped(
    with_source, runner, rec
) -> None:
    old = runner.last(tasks.QuantizeJob)
    with_source.change_recipe(Recipe(4))
    current = runner.last(tasks.QuantizeJob)
    runner.worker.failed.emit(tasks.QuantizeFailed(old.job_id, "out of memory"))
    runner.worker.failed.emit(tasks.InternalError(old.job_id, "IndexError: 3", "quantizing"))
    assert rec.of("failed") == [] and with_source.is_busy()
    failure = tasks.QuantizeFailed(current.job_id, "out of memory")
    runner.worker.failed.emit(failure)
    assert rec.of("failed") == [failure] and not with_source.is_busy()
    # A save is never superseded; measuring reports for the result it measured.
    with_source.quantize()
    runner.worker.quantized.emit(quantized(runner.last(tasks.QuantizeJob)))
    assert with_source.save(Path("out.png"), "image", overwrite=False)
    save = runner.last(tasks.SaveJob)
    runner.worker.failed.emit(tasks.SaveFailed(save.job_id, "disk full"))
    runner.worker.failed.emit(tasks.MeasureFailed(save.job_id + 50, "no memory"))
    kinds = [type(f).__name__ for f in rec.of("failed")]
    assert kinds == ["QuantizeFailed", "SaveFailed", "MeasureFailed"]


def test_an_internal_error_of_the_running_job_is_reported(with_source, runner, rec) -> None:
    job = runner.last(tasks.QuantizeJob)
    bug = tasks.InternalError(job.job_id, "TypeError: oops", "quantizing to k=8")
    runner.worker.failed.emit(bug)
    assert rec.of("failed") == [bug] and not with_source.is_busy()


def test_opening_a_folder_is_a_load_failure_without_a_job(tmp_path, session, runner, rec):
    session.open(tmp_path)
    assert runner.jobs == [] and not session.is_busy()
    (failure,) = rec.of("failed")
    assert isinstance(failure, tasks.LoadFailed) and "is a folder" in failure.message


def test_save_needs_a_result(session, runner) -> None:
    assert not session.save(Path("out.png"), "image", overwrite=False)
    assert runner.jobs == []


# == the worker's typed failures ==============================================================
@pytest.mark.parametrize(
    ("job", "exc", "kind"),
    [
        (tasks.LoadJob(1, Path("a.png")), OSError("gone"), tasks.LoadFailed),
        (tasks.QuantizeJob(2, PIXELS, 4, "lab", "none"), MemoryError("oom"), tasks.QuantizeFailed),
        (tasks.QuantizeJob(3, PIXELS, 4, "lab", "none"), ValueError("k"), tasks.QuantizeFailed),
        (tasks.SaveJob(4, None, Path("b.png")), OSError("disk full"), tasks.SaveFailed),
        (tasks.MeasureJob(5, PIXELS, None), MemoryError("full"), tasks.MeasureFailed),
    ],
)
def test_expected_exceptions_become_their_job_kind_failure(job, exc, kind, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="kquant_gui.gui.worker"):
        failure = failure_of(job, exc)
    assert type(failure) is kind and failure.job_id == job.job_id
    assert str(exc) in failure.message
    assert caplog.records == []  # the user's business, not a maintainer's


def test_an_unexpected_exception_is_an_internal_error_and_logged(caplog) -> None:
    job = tasks.LoadJob(7, Path("photo.png"))
    try:
        raise IndexError("list index out of range")
    except IndexError as exc:
        with caplog.at_level(logging.ERROR, logger="kquant_gui.gui.worker"):
            failure = failure_of(job, exc)
    assert type(failure) is tasks.InternalError
    assert failure.doing == "opening photo.png" and "IndexError" in failure.message
    (record,) = caplog.records
    assert record.name == "kquant_gui.gui.worker" and record.exc_info is not None
    assert "opening photo.png" in record.getMessage()


def test_measuring_tolerates_an_encoder_error_but_not_a_bug(monkeypatch, caplog) -> None:
    import kquant_gui.image_io as image_io

    result = quantize(PIXELS, 4)
    job = tasks.MeasureJob(1, PIXELS, result)

    def fails(exc):
        def estimate(*args, **kwargs):
            raise exc

        return estimate

    monkeypatch.setattr(image_io, "estimate_png_size", fails(OSError("encoder broke")))
    with caplog.at_level(logging.INFO, logger="kquant_gui.gui.tasks"):
        measured = tasks.run_measure(job)
    assert measured.png_size is None and measured.mean_delta_e >= 0
    assert "encoder broke" in caplog.text
    monkeypatch.setattr(image_io, "estimate_png_size", fails(TypeError("a bug")))
    with pytest.raises(TypeError, match="a bug"):
        tasks.run_measure(job)

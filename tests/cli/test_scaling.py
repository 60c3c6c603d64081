"""``kquant --jobs N``: with N > 1 each worker process runs the engine on one thread."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from _cli import digest, run

from kquant_gui.engine import parallel

pytestmark = pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork",
    reason="the spy reaches the pool's workers only when they are forked",
)


@pytest.fixture
def thread_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file where every engine stage that splits work writes (pid, threads allowed)."""
    log = tmp_path / "threads.log"
    real = parallel.max_threads

    def spy() -> int:
        n = real()
        with log.open("a") as f:
            f.write(f"{os.getpid()} {n}\n")
        return n

    # run_parts looks max_threads up in its module at each call; forked workers inherit this.
    monkeypatch.setattr(parallel, "max_threads", spy)
    return log


def _records(log: Path) -> list[tuple[int, int]]:
    return [tuple(map(int, line.split())) for line in log.read_text().splitlines()]


def test_workers_of_a_pool_run_the_engine_on_one_thread(capsys, tmp_path, inputs, thread_log):
    code, _, err = run(capsys, *inputs, "-k", 6, "--out-dir", tmp_path / "out", "--jobs", 2)
    assert code == 0, err
    records = _records(thread_log)
    assert records, "the engine never asked how many threads it may use"
    assert {pid for pid, _ in records}.isdisjoint({os.getpid()})  # all in worker processes
    assert {n for _, n in records} == {1}


def test_one_job_keeps_the_engine_threads_in_process(capsys, tmp_path, inputs, thread_log):
    code, _, err = run(capsys, *inputs, "-k", 6, "--out-dir", tmp_path / "out", "--jobs", 1)
    assert code == 0, err
    records = _records(thread_log)
    assert records and {pid for pid, _ in records} == {os.getpid()}
    assert {n for _, n in records} == {parallel.DEFAULT_THREADS}


def test_the_bytes_do_not_depend_on_the_engine_threads(capsys, tmp_path, inputs):
    one, two = tmp_path / "one", tmp_path / "two"
    assert (
        run(capsys, *inputs, "-k", 9, "--dither", "floyd-steinberg", "--out-dir", one, "-j", 1)[0]
        == 0
    )
    assert (
        run(capsys, *inputs, "-k", 9, "--dither", "floyd-steinberg", "--out-dir", two, "-j", 3)[0]
        == 0
    )
    assert digest(sorted(one.iterdir())) == digest(sorted(two.iterdir()))

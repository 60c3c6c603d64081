"""``kquant --jobs N``: with N > 1 each worker process runs the engine on one thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _cli import digest, run

from kquant_gui.cli import Options, plan_jobs, run_jobs
from kquant_gui.cli.args import build_parser
from kquant_gui.cli.jobs import Progress
from kquant_gui.engine import parallel
from kquant_gui.process_pool import WorkerLost, WorkerPool


def _results(folder: Path, out: Path, workers: int):
    args = build_parser().parse_args([str(folder), "-k", "6", "--out-dir", str(out)])
    out.mkdir()
    jobs, failed = plan_jobs(args)
    assert not failed
    opts = Options(6, "lab", "none", 0, False, False, 10**8)
    with open(os.devnull, "w") as sink:
        return run_jobs(jobs, opts, workers, Progress(len(jobs), sink, enabled=False))


def test_workers_of_a_pool_run_the_engine_on_one_thread(tmp_path, inputs):
    results = _results(inputs[0].parent, tmp_path / "out", 2)
    assert [r.error for r in results] == [None] * 3
    # The limit the engine ran under, as its own engine_threads reported it in the worker.
    assert [r.threads for r in results] == [1, 1, 1]


@pytest.mark.skipif(parallel.DEFAULT_THREADS == 1, reason="one core: the default is 1 thread")
def test_one_job_keeps_the_engine_threads_in_process(tmp_path, inputs):
    results = _results(inputs[0].parent, tmp_path / "out", 1)
    assert [r.threads for r in results] == [parallel.DEFAULT_THREADS] * 3


def test_the_bytes_do_not_depend_on_the_engine_threads(capsys, tmp_path, inputs):
    one, two = tmp_path / "one", tmp_path / "two"
    common = [*inputs, "-k", 9, "--dither", "floyd-steinberg"]
    assert run(capsys, *common, "--out-dir", one, "-j", 1)[0] == 0
    assert run(capsys, *common, "--out-dir", two, "-j", 3)[0] == 0
    assert digest(sorted(one.iterdir())) == digest(sorted(two.iterdir()))


def _echo_or_die(item: str) -> str:
    if item == "die":
        os._exit(9)  # killed while running it, as the out-of-memory killer would
    return item


def test_a_worker_that_dies_loses_the_job_it_ran_not_the_one_queued_behind_it():
    items = ["die", *(f"x{i}" for i in range(5))]
    # One worker: it is sent the first job and, with more waiting, the next one behind it.
    with WorkerPool(_echo_or_die, 1) as pool:
        answers = dict(pool.run(items))
    assert sorted(answers) == list(range(len(items)))
    assert isinstance(answers[0], WorkerLost)
    assert [answers[i] for i in range(1, len(items))] == items[1:]


def test_a_pool_is_given_the_largest_files_first(monkeypatch, tmp_path, inputs):
    given = []
    real_run = WorkerPool.run

    def recording_run(self, items):
        given.extend(job.input for job in items)
        yield from real_run(self, items)

    monkeypatch.setattr(WorkerPool, "run", recording_run)
    results = _results(inputs[0].parent, tmp_path / "out", 2)
    # The pool starts items in the order given: the last to start is the smallest.
    assert given == sorted(inputs, key=lambda p: -p.stat().st_size)
    # Results come back in the plan's order.
    assert [r.job.input for r in results] == sorted(inputs)
    assert all(r.error is None for r in results)


_FIRST_USE_PROBE = """
import dataclasses, functools, os, sys
from kquant_gui.cli import jobs, plan_jobs
from kquant_gui.cli.args import build_parser
from kquant_gui.engine import parallel
from threadpoolctl import threadpool_info

def blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

real = jobs.run_job

def probed(job, opts):
    # What this worker found loaded before its job ran.
    seen = ("numpy.random" in sys.modules, parallel._blas_controller is not None)
    return dataclasses.replace(real(job, opts), notes=(repr(seen),))

jobs.run_job = probed
folder, out = sys.argv[1:]
args = build_parser().parse_args([folder, "-k", "6", "--out-dir", out])
todo, _ = plan_jobs(args)
opts = jobs.Options(6, "lab", "none", 0, False, False, 10**8)
print("parent before", "numpy.random" in sys.modules, blas_threads())
with open(os.devnull, "w") as sink:
    done = jobs.run_jobs(todo, opts, 2, jobs.Progress(len(todo), sink, enabled=False))
print("parent after", blas_threads())
print("workers", sorted({r.notes[0] for r in done}), [r.error for r in done])
"""


def test_workers_start_with_what_a_job_loads_on_first_use(tmp_path, inputs):
    # A fresh interpreter: the generator k-means++ draws from and threadpoolctl's controller
    # (the engine's single-threaded BLAS) are loaded by the first job that needs them; the
    # parent loads them once before it forks its workers, so no worker loads them again.
    proc = subprocess.run(
        [sys.executable, "-c", _FIRST_USE_PROBE, str(inputs[0].parent), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=True,
    )
    before, after, workers = proc.stdout.splitlines()
    assert before.startswith("parent before False ")  # not loaded by planning
    assert after == "parent after " + before.split(" ", 3)[3]  # BLAS threads as they were
    assert workers == "workers ['(True, True)'] [None, None, None]"

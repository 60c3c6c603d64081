"""``kquant --jobs N``: with N > 1 each worker process runs the engine on one thread."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _cli import digest, run

from kquant_gui.cli import Options, plan_jobs, run_jobs
from kquant_gui.cli.args import build_parser
from kquant_gui.cli.jobs import Progress
from kquant_gui.engine import parallel


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

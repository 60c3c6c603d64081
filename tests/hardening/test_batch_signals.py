"""Signals, dead workers and the parent's death during a ``kquant --jobs 2`` batch.

Real processes and real signals: ``kquant`` runs in a session of its own, the test waits on its
progress bar until some files are finished, then interrupts it (Ctrl-C to the group, SIGINT or
SIGTERM to the parent alone), kills one worker as the out-of-memory killer would, or kills the
parent outright. Each time: the batch stops (not every file is written), the files on disk are
complete and exactly those the summary counts, no temporary file is left, no worker outlives
the parent, and the exit status says what happened (130 Ctrl-C, 143 SIGTERM).
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import pytest
from _procs import Batch, batch_inputs, busy_workers, open_pidfds, temp_files, wait_all_ended
from PIL import Image

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and pidfds"),
]

N_FILES = 12


def written(folder: Path) -> list[Path]:
    """Finished outputs in ``folder``, each checked to decode completely."""
    files = sorted(p for p in folder.iterdir() if not p.name.endswith(".part"))
    for p in files:
        with Image.open(p) as im:
            im.load()  # a cut PNG fails here (missing data or a bad checksum)
    return files


@pytest.fixture
def batch_args(tmp_path: Path) -> tuple[list[object], Path]:
    inputs = batch_inputs(tmp_path / "in", N_FILES)
    out = tmp_path / "out"
    return [*inputs, "-k", 64, "--out-dir", out, "--jobs", 2], out


class TestSignalsStopTheBatch:
    """SIGINT/SIGTERM, to the parent or to the whole group: stop now, keep finished files."""

    @pytest.mark.parametrize(
        "signum, to_group, status",
        [
            (signal.SIGINT, True, 130),  # Ctrl-C in a terminal
            (signal.SIGINT, False, 130),
            (signal.SIGTERM, False, 143),  # kill PID
            (signal.SIGTERM, True, 143),  # a service manager stopping the group
        ],
        ids=["ctrl-c-group", "sigint-parent", "sigterm-parent", "sigterm-group"],
    )
    def test_stops_with_complete_files_counted_and_no_temporary_file(
        self, batch_args, signum: int, to_group: bool, status: int
    ):
        args, out = batch_args
        batch = Batch(args)
        try:
            batch.wait_for_files_done(1, N_FILES)
            workers = open_pidfds(busy_workers(batch, 2))
            (os.killpg if to_group else os.kill)(batch.pid, signum)
            code = batch.finish()
        except BaseException:
            batch.kill()
            raise
        assert wait_all_ended(workers) == [], "a worker outlived the batch"
        err = batch.err.decode()
        assert code == status, err
        assert "Traceback" not in err
        assert temp_files(out) == []
        files = written(out)
        assert 1 <= len(files) < N_FILES, "the batch carried on after the signal"
        counted = re.search(rf"interrupted.*?(\d+) of {N_FILES} files written", err)
        assert counted, err
        assert int(counted.group(1)) == len(files)

    @pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
    def test_one_file_at_a_time_stops_too(self, batch_args, signum: int, status: int):
        args, out = batch_args
        batch = Batch([*args, "--jobs", 1])  # the last --jobs wins: no worker processes
        try:
            batch.wait_for_files_done(1, N_FILES)
            os.kill(batch.pid, signum)
            code = batch.finish()
        except BaseException:
            batch.kill()
            raise
        err = batch.err.decode()
        assert code == status, err
        assert temp_files(out) == []
        files = written(out)
        assert 1 <= len(files) < N_FILES
        assert f"interrupted by {signal.Signals(signum).name}: {len(files)} of" in err

    def test_parent_killed_outright_takes_its_workers_with_it(self, batch_args):
        args, _ = batch_args
        batch = Batch(args)
        try:
            batch.wait_for_files_done(1, N_FILES)
            workers = open_pidfds(busy_workers(batch, 2))
            os.kill(batch.pid, signal.SIGKILL)
            batch.finish()
        except BaseException:
            batch.kill()
            raise
        assert wait_all_ended(workers) == [], "a worker outlived its parent"


class TestDeadWorker:
    """A worker killed mid-file (the OOM killer's way) costs that one file, nothing else."""

    def test_one_killed_worker_costs_only_its_own_file(self, batch_args):
        args, out = batch_args
        batch = Batch(args)
        try:
            batch.wait_for_files_done(1, N_FILES)
            victim = busy_workers(batch, 2)[0]
            os.kill(victim, signal.SIGKILL)
            code = batch.finish()
        except BaseException:
            batch.kill()
            raise
        err, summary = batch.err.decode(), batch.out.decode()
        assert "Traceback" not in err
        lines = [line for line in err.splitlines() if "worker process" in line]
        # The killed worker was on a file (it is always given the next one at once); only in
        # the rare case that it had renamed that file into place just before, nothing is lost:
        # the file counts as written, with a note that the worker died after writing it.
        died = [line for line in lines if "after writing it" not in line]
        noted = [line for line in lines if "after writing it" in line]
        files = written(out)
        assert temp_files(out) == []
        assert len(lines) <= 1 and len(files) + len(died) == N_FILES, err
        assert f"{len(files)} files written" in summary
        if noted:
            assert code == 0 and re.search(r"in\d\d\.png: the worker process .*SIGKILL", noted[0])
            kept = re.search(r"(in\d\d)\.png", noted[0]).group(1)
            assert (out / f"{kept}-k64.png").exists()
        elif died:
            assert code == 1 and "; 1 failed" in summary
            assert re.search(r"in\d\d\.png: the worker process .*died.*SIGKILL", died[0])
            failed = re.search(r"(in\d\d)\.png", died[0]).group(1)
            assert not (out / f"{failed}-k64.png").exists()
        else:
            assert code == 0

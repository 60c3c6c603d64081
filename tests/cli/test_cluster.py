"""``kquant --cluster``: the same bytes and report as a local run, on a real Dask cluster.

A module-wide ``LocalCluster`` of two single-threaded worker processes stands for a cluster
reached at ``tcp://HOST:PORT``; a worker is killed mid-run and its file is retried elsewhere.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from _cli import digest, make_photo, run
from PIL import Image

from kquant_gui.cli import Job, Options, run_job
from kquant_gui.cli import cluster as cluster_module
from kquant_gui.cli.cluster import run_on_cluster
from kquant_gui.cli.jobs import BatchInterrupted

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Twelve photo-like images big enough to keep a worker busy for a moment each."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for i in range(12):
        where = folder / "sub" if i % 3 == 0 else folder
        Image.fromarray(make_photo(i, (320, 240))).save(where / f"p{i:02d}.png")
    return folder


def _outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _records(path: Path) -> list[dict]:
    """The report's records without what differs between two runs by nature."""
    records = json.loads(path.read_text())["files"]
    for r in records:
        r.pop("seconds")
        r["output"] = r["output"] and Path(r["output"]).name
        r["palette"] = r["palette"] and Path(r["palette"]).name
    return records


@pytest.mark.slow
def test_a_cluster_run_equals_a_local_run_byte_for_byte(capsys, tmp_path, photos, cluster):
    bad = photos / "sub" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    common = [photos, "-r", "-k", 12, "--dither", "ordered", "--palette", "gpl"]
    local, remote = tmp_path / "local", tmp_path / "remote"
    code, _, err_local = run(capsys, *common, "--out-dir", local, "--report", tmp_path / "l.json")
    assert code == 1
    code, out, err = run(
        capsys, *common, "--out-dir", remote, "--report", tmp_path / "r.json",
        "--cluster", cluster.scheduler_address,
    )  # fmt: skip
    assert code == 1  # the broken file failed there too, alone
    assert err == err_local  # the same message, naming the file as given
    assert f"{bad}: " in err
    assert "12 files written" in out and "1 failed" in out
    assert [p.relative_to(remote) for p in _outputs(remote)] == [
        p.relative_to(local) for p in _outputs(local)
    ]
    assert digest(_outputs(remote)) == digest(_outputs(local))
    assert _records(tmp_path / "r.json") == _records(tmp_path / "l.json")


class _KillOnFirstResult:
    """Progress that kills a worker process while it runs a task, once."""

    def __init__(self, client) -> None:
        self.client, self.killed, self.steps = client, None, 0

    def step(self) -> None:
        self.steps += 1
        if self.killed is not None:
            return
        busy = self.client.run_on_scheduler(
            lambda dask_scheduler: {
                ws.address: sorted(str(ts.key) for ts in ws.processing)
                for ws in dask_scheduler.workers.values()
            }
        )
        address = next((a for a, keys in busy.items() if keys), None)
        if address is None:  # both between two tasks: try again at the next result
            return
        pids = self.client.run(os.getpid)
        os.kill(pids[address], signal.SIGKILL)
        self.killed = (address, busy[address])


@pytest.mark.slow
def test_a_worker_killed_mid_run_costs_nothing(tmp_path, photos, cluster):
    files = sorted(photos.rglob("*.png"))
    opts = Options(
        k=10, color_space="lab", dither="none", seed=0, force=False, strip_metadata=False,
        max_pixels=10**8,
    )  # fmt: skip
    jobs = [Job(f, tmp_path / "out" / f"{f.stem}.png") for f in files]
    (tmp_path / "out").mkdir()
    with distributed.Client(cluster) as client:
        progress = _KillOnFirstResult(client)
        results = run_on_cluster(jobs, opts, cluster.scheduler_address, progress)
        assert progress.killed is not None and progress.killed[1]  # a task was running there
        client.wait_for_workers(2, timeout=60)  # the nanny restarts it for the next test
    assert progress.steps == len(jobs)
    assert [r.error for r in results] == [None] * len(jobs)
    assert [r.job for r in results] == jobs
    (tmp_path / "ref").mkdir()
    for job in jobs:
        ref = tmp_path / "ref" / job.output.name
        assert run_job(Job(job.input, ref), opts).error is None
        assert job.output.read_bytes() == ref.read_bytes()


@pytest.mark.slow
def test_ctrl_c_cancels_the_tasks_not_yet_done(tmp_path, photos, cluster, monkeypatch):
    cancelled: list = []
    real_cancel = distributed.Client.cancel

    def cancel(self, futures, *args, **kwargs):
        cancelled.extend(futures)
        return real_cancel(self, futures, *args, **kwargs)

    monkeypatch.setattr(distributed.Client, "cancel", cancel)

    class Interrupt:
        def step(self) -> None:
            raise KeyboardInterrupt

    files = sorted(photos.rglob("*.png"))
    jobs = [Job(f, tmp_path / f"{f.stem}-k4.png") for f in files]
    opts = Options(4, "lab", "none", 0, False, False, 10**8)
    with pytest.raises(BatchInterrupted) as stopped:
        run_on_cluster(jobs, opts, cluster.scheduler_address, Interrupt())
    assert 0 < len(cancelled) < len(jobs)  # the finished one is not, every other one is
    assert all(f.cancelled() for f in cancelled)
    assert stopped.value.exit_status == 130
    done = [r for r in stopped.value.results if r is not None]
    assert len(done) == 1 and done[0].error is None  # the file that finished is told


@pytest.mark.slow
def test_cluster_local_starts_and_stops_its_own(capsys, tmp_path, photos):
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert run(capsys, photos, "-k", 6, "--out-dir", ref, "-j", 1)[0] == 0
    code, stdout, err = run(
        capsys, photos, "-k", 6, "--out-dir", out, "--cluster", "local", "-j", 2
    )
    assert code == 0, err
    assert err == ""  # Dask's own log stays quiet
    assert "8 files written" in stdout
    assert digest(_outputs(out)) == digest(_outputs(ref))


@pytest.mark.slow
def test_existing_outputs_are_refused_as_in_a_local_run(capsys, tmp_path, photos, cluster):
    local, remote = tmp_path / "local", tmp_path / "remote"
    for folder in (local, remote):
        folder.mkdir()
        (folder / "p01-k5.png").write_bytes(b"mine")
    code, _, err_local = run(capsys, photos, "-k", 5, "--out-dir", local, "-j", 1)
    assert code == 1
    code, _, err = run(
        capsys, photos, "-k", 5, "--out-dir", remote, "--cluster", cluster.scheduler_address
    )
    assert code == 1
    assert err == err_local.replace(str(local), str(remote))
    assert "p01-k5.png: already exists; use --force to overwrite" in err
    assert (remote / "p01-k5.png").read_bytes() == b"mine"
    assert digest(_outputs(remote)) == digest(_outputs(local))


@pytest.mark.slow
def test_local_workers_keep_glibcs_own_memory_thresholds(monkeypatch):
    # An earlier cluster of this test process may have set it here (Dask sets its pre-spawn
    # variables in the parent too); a kquant command starts without it.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with cluster_module.connect("local", 1) as client:
        seen = client.run(
            lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS"))
        )
    assert list(seen.values()) == [(None, "1")]  # Dask's other settings stay


def test_cluster_errors_are_one_line(capsys, tmp_path, photos, monkeypatch):
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", "1s")
    code, _, err = run(capsys, photos, "-k", 4, "--cluster", "nowhere")
    assert code == 2 and "--cluster nowhere: give the scheduler's address" in err
    code, _, err = run(
        capsys, photos, "-k", 4, "--out-dir", tmp_path, "--cluster", "tcp://127.0.0.1:9"
    )
    assert code == 1
    assert err.startswith("kquant: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert len(err.splitlines()) == 1
    monkeypatch.setitem(sys.modules, "distributed", None)
    code, _, err = run(capsys, photos, "-k", 4, "--cluster", "local")
    assert code == 2 and "pip install 'kquant-gui[cluster]'" in err

"""``--cluster``: one task per file on a Dask cluster, an engine we use rather than write.

``--cluster tcp://HOST:8786`` sends the jobs to a running Dask scheduler (started by hand, by
``dask-ssh``, on Kubernetes or by an HPC queue through dask-jobqueue); ``--cluster local``
starts a ``LocalCluster`` of process workers on this machine for the command's duration. Each
task is :func:`kquant_gui.cli.jobs.run_job` on one file, with the engine on one thread (the
cluster runs one task per worker thread), so the bytes are those of a local run. Files are
passed as absolute paths: every worker must see them at the same paths (shared storage).

A worker that dies takes only its running task with it: the scheduler runs that task again on
another worker, and gives up on it (that file failed, the rest go on) after
``distributed.scheduler.allowed-failures`` deaths. Ctrl-C cancels every task not yet done.
Needs the optional extra ``kquant-gui[cluster]`` (Dask's ``distributed``), imported only here
and only when ``--cluster`` is given.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from ..process_pool import Interrupted
from .args import UsageError
from .jobs import BatchInterrupted, Job, JobResult, Options, internal_error, run_job

log = logging.getLogger(__name__)

#: ``--cluster`` value that starts a cluster on this machine.
LOCAL = "local"
#: How long to try reaching a scheduler before giving up.
CONNECT_TIMEOUT = "20s"
INSTALL_HINT = "--cluster needs Dask's distributed: pip install 'kquant-gui[cluster]'"


class ClusterError(Exception):
    """The cluster cannot be used at all (unreachable scheduler); no file was processed."""


def check_address(address: str) -> None:
    """Raise :class:`UsageError` unless ``address`` can be tried: ``local`` or a scheduler's
    ``[tcp://]HOST:PORT``, with Dask's ``distributed`` installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    if address != LOCAL and ":" not in address:
        raise UsageError(
            f"--cluster {address}: give the scheduler's address, tcp://HOST:PORT, or local"
        )


class Steps(Protocol):
    """What the runner reports progress to (the command's progress bar)."""

    def step(self) -> None: ...


def _absolute(path: Path | None) -> Path | None:
    # abspath, not resolve: a symbolic link stays the path the user gave, as in a local run.
    return None if path is None else Path(os.path.abspath(path))


def _remote(job: Job) -> Job:
    return Job(_absolute(job.input), _absolute(job.output), _absolute(job.palette))  # type: ignore[arg-type]


def _refused(job: Job) -> JobResult | None:
    """The failure of a job whose output or palette already exists (without --force).

    Checked here, before any task runs, rather than by the task: a task whose worker died
    after writing its output runs again, and must then replace what its first attempt wrote
    (the same bytes) instead of failing on it. The message is a local run's.
    """
    for target in (job.output, job.palette):
        if target is not None and target.exists():
            return JobResult(job, error=f"{target}: already exists; use --force to overwrite")
    return None


def _as_given(result: JobResult, job: Job, remote: Job) -> JobResult:
    """``result`` of ``remote`` told with the paths as the user gave them, as locally."""

    def text(s: str) -> str:
        for a, b in ((remote.input, job.input), (remote.output, job.output)):
            s = s.replace(str(a), str(b))
        if remote.palette is not None and job.palette is not None:
            s = s.replace(str(remote.palette), str(job.palette))
        return s

    return dataclasses.replace(
        result,
        job=job,
        error=None if result.error is None else text(result.error),
        notes=tuple(text(n) for n in result.notes),
    )


@contextmanager
def _quiet_dask(level: int) -> Iterator[None]:
    """Dask's own log records below ``level`` are dropped within the block (then restored):
    a worker restarting is told in our words, per file, not in the scheduler's."""
    logger = logging.getLogger("distributed")
    saved = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(saved)


def _worker_environ() -> dict[str, Any]:
    """Dask's environment for new worker processes, without ``MALLOC_TRIM_THRESHOLD_``.

    Dask sets it to 64 kB to hand memory back to the system sooner. Any value set explicitly
    also stops glibc from raising its mmap threshold, so every large numpy temporary is then
    mapped and unmapped afresh: a file took twice as long in such a worker (median 2.0 s
    against 1.1 s for 0.5 MP at k=64, --jobs 2 with and without the variable).
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environ


@contextmanager
def connect(address: str, workers: int, log_level: int = logging.ERROR) -> Iterator[Any]:
    """A Dask client on the scheduler at ``address``, or on a new local cluster of ``workers``
    single-threaded process workers for ``local``.

    Raises
    ------
    ClusterError
        The scheduler cannot be reached, or the local cluster cannot start.
    """
    check_address(address)
    import dask
    from distributed import Client, LocalCluster

    if address == LOCAL:
        with (
            dask.config.set({"distributed.nanny.pre-spawn-environ": _worker_environ()}),
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                # Any free port: the default 8787 may be taken by a cluster already running.
                dashboard_address=":0",
                silence_logs=log_level,  # scoped: the levels are put back on close
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError) as exc:  # TimeoutError is an OSError
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        yield client


def _failure(job: Job, exc: BaseException) -> JobResult:
    """The result of a task that the cluster could not run (rather than a failed file)."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return JobResult(
            job, error=f"{job.input}: the workers running it kept dying (out of memory?)"
        )
    if isinstance(exc, ImportError):
        return JobResult(
            job,
            error=f"{job.input}: a cluster worker cannot run kquant ({exc}); install "
            "kquant-gui on every worker",
        )
    return internal_error(job, exc)


def run_on_cluster(
    jobs: list[Job],
    opts: Options,
    address: str,
    progress: Steps,
    *,
    workers: int = 2,
    log_level: int = logging.ERROR,
) -> list[JobResult]:
    """Run every job as a task of the Dask cluster at ``address``; results in job order.

    Parameters
    ----------
    jobs : list of Job
    opts : Options
        The engine runs on one thread per task whatever ``opts.threads`` says.
    address : str
        ``tcp://HOST:PORT`` of a running scheduler, or ``local``.
    progress : object with a ``step()`` method
        Called once per finished file, on this thread.
    workers : int
        Worker processes of a ``local`` cluster.
    log_level : int
        Level below which Dask's log records are dropped while the batch runs.

    Raises
    ------
    UsageError
        Dask's ``distributed`` is not installed, or ``address`` is not an address.
    ClusterError
        The scheduler cannot be reached.
    BatchInterrupted
        A signal (Ctrl-C) stopped the batch, after cancelling every task not yet finished;
        it holds the results of the files done.
    """
    slots: list[JobResult | None] = [None] * len(jobs)
    todo = list(range(len(jobs)))
    if not opts.force:
        for i, job in enumerate(jobs):
            slots[i] = _refused(job)
            if slots[i] is not None:
                progress.step()
        todo = [i for i in todo if slots[i] is None]
    if not todo:
        return [r for r in slots if r is not None]
    # One engine thread per task; force, since the targets were checked above (see _refused).
    opts = dataclasses.replace(opts, threads=1, force=True)
    remote = {i: _remote(jobs[i]) for i in todo}
    with _quiet_dask(log_level), connect(address, workers, log_level) as client:
        from distributed import as_completed

        futures = client.map(run_job, [remote[i] for i in todo], opts=opts, pure=False)
        index = {f.key: i for i, f in zip(todo, futures, strict=True)}
        try:
            for fut in as_completed(futures):
                i = index[fut.key]
                if fut.status == "finished":
                    slots[i] = _as_given(fut.result(), jobs[i], remote[i])
                elif fut.status == "cancelled":  # by the scheduler, or another client
                    slots[i] = JobResult(
                        jobs[i], error=f"{jobs[i].input}: the cluster cancelled its task"
                    )
                else:
                    slots[i] = _failure(jobs[i], fut.exception())
                fut.release()
                progress.step()
        except BaseException as exc:  # a signal (or a bug): no task should run on for nobody
            client.cancel([f for f in futures if not f.done()])
            if isinstance(exc, (Interrupted, KeyboardInterrupt)):
                signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
                raise BatchInterrupted(signum, slots) from None
            raise
    return [r for r in slots if r is not None]

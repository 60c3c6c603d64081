"""The window's batch: files planned and run as ``kquant`` does, on a QThread of their own.

Planning goes through the command line's own parser and planner (the same output names,
subfolders with "include subfolders", collisions and missing folders reported per file), and
each file through its job (:func:`kquant_gui.cli.jobs.run_job`), so the window writes the
bytes ``kquant`` would. The files run one after another on the batch's thread, the engine on
one thread as in the window's worker (the bytes do not depend on it); a file that fails is
reported and the rest go on. Cancel is a thread-safe flag checked between files. The
single-image worker is not used: a long batch must not hold up opening or quantizing an image
meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from kquant_gui.cli.args import UsageError, build_parser
from kquant_gui.cli.jobs import Job, JobResult, Options, run_job
from kquant_gui.cli.plan import plan_jobs
from kquant_gui.recipe import Recipe as EngineRecipe

from .worker import adopt_python_trace


@dataclass(frozen=True)
class BatchRequest:
    """What the batch dialog asks for: inputs, where to, and the recipe every file runs.

    ``recipe`` is what ``kquant`` would resolve from the same settings (``-k``, ``--space``,
    ``--dither``, ``--dither-strength``, ``--seed``, ``--fixed``, ``--engine``, or
    ``--recipe FILE.json``), so the files are the bytes the command line writes.
    """

    inputs: tuple[Path, ...]
    out_dir: Path
    format: str  # a key of kquant_gui.cli.args.FORMAT_EXT: "png", "gif", ...
    recipe: EngineRecipe
    recursive: bool = False
    overwrite: bool = False


def plan(request: BatchRequest) -> tuple[list[Job], list[JobResult]]:
    """The jobs of ``request`` and the inputs that failed already, as ``kquant`` plans them.

    Raises
    ------
    UsageError
        The output folder is a file or cannot be created.
    """
    k = str(request.recipe.k)  # the output names' -k<K>, as --recipe and --remap give it
    argv = ["-k", k, "--out-dir", str(request.out_dir), "--format", request.format]
    if request.recursive:
        argv.append("-r")
    args = build_parser().parse_args([*argv, "--", *map(str, request.inputs)])
    if request.out_dir.exists() and not request.out_dir.is_dir():
        raise UsageError(f"{request.out_dir} is a file, not a folder")
    try:
        request.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {request.out_dir}: {exc.strerror or exc}") from None
    return plan_jobs(args)


def options(request: BatchRequest) -> Options:
    """The job options of ``request``: the command line's (:meth:`Options.of`), with the
    engine on one thread as in the window's own worker (more engine threads next to the main
    thread make the window stall; the bytes do not depend on it) and each file's mean ΔE2000
    measured for the table."""
    return Options.of(
        request.recipe,
        force=request.overwrite,
        strip_metadata=False,
        max_pixels=build_parser().get_default("max_pixels"),
        threads=1,
        measure=True,
    )


class _Runner(QObject):
    """Lives on the batch thread and runs the files of one batch after another."""

    fileDone = Signal(int, object)  # index, JobResult
    done = Signal(bool)  # cancelled

    @Slot(object)
    def run(self, batch: tuple[Sequence[Job], Options, threading.Event]) -> None:
        # These two lines run before this thread is traced, so coverage cannot see them.
        adopt_python_trace()  # pragma: no cover
        self._run(*batch)  # pragma: no cover - a frame entered after the trace is set

    def _run(self, jobs: Sequence[Job], opts: Options, cancel: threading.Event) -> None:
        for i, job in enumerate(jobs):
            if cancel.is_set():
                break
            self.fileDone.emit(i, run_job(job, opts))  # never raises: failures are results
        self.done.emit(cancel.is_set())


class BatchTask(QObject):
    """One batch at a time, on a thread started with the first batch.

    Signals
    -------
    fileDone(int, object)
        The job at this index finished: its :class:`kquant_gui.cli.jobs.JobResult`.
    finished(bool)
        The batch ended, cancelled or not.
    """

    fileDone = Signal(int, object)
    finished = Signal(bool)
    _submit = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread: QThread | None = None
        self._runner: _Runner | None = None
        self._cancel = threading.Event()
        self._running = False

    def is_running(self) -> bool:
        """True from :meth:`start` until ``finished``."""
        return self._running

    def start(self, jobs: Sequence[Job], opts: Options) -> None:
        """Run ``jobs`` in the background; ``fileDone`` for each, then ``finished``."""
        if self._running:
            raise RuntimeError("a batch is already running")
        if self.thread is None:
            self.thread = QThread()
            self.thread.setObjectName("kquant-batch")
            self._runner = _Runner()
            self._runner.moveToThread(self.thread)
            self._submit.connect(self._runner.run)
            self._runner.fileDone.connect(self.fileDone)
            self._runner.done.connect(self._on_done)
            self.thread.start()
        self._cancel = threading.Event()
        self._running = True
        self._submit.emit((list(jobs), opts, self._cancel))

    @Slot()
    def cancel(self) -> None:
        """Stop after the file running now (its result still arrives)."""
        self._cancel.set()

    @Slot(bool)
    def _on_done(self, cancelled: bool) -> None:
        if not self._running:  # already ended by shutdown(); this is the runner's late word
            return
        self._running = False
        self.finished.emit(cancelled)

    def shutdown(self) -> None:
        """Cancel, then stop the thread and wait for it (safe to call twice); a batch still
        running ends cancelled, with ``finished``."""
        self._cancel.set()
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait()
            self.thread = None
        # What the runner said before it stopped is still queued for this object: deliver it
        # in order (the last file's result, then ``done``). A batch submitted just before the
        # quit may never have reached the runner (the thread's loop exits without delivering
        # it): it is over too, cancelled, and whoever waits for ``finished`` hears it once.
        QCoreApplication.sendPostedEvents(self, 0)
        self._on_done(True)

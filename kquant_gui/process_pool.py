"""Worker processes for the batch: a dead worker costs only its own job, signals stop all.

Unlike :class:`concurrent.futures.ProcessPoolExecutor`, where one worker's death breaks every
pending job, each worker here gets its jobs over a pipe of its own, so the parent always knows
what each worker holds: a worker that dies (the out-of-memory killer, a crash in a C library)
fails the one job it was running, its temporary files are removed, the job queued behind it
goes back to the others, and a fresh worker takes the next job. A worker holds at most two
jobs, the one it runs and the next, so that it never waits for the parent between jobs (on a
busy machine the parent may not run for several milliseconds); near the end each holds one,
so that the last jobs go to whichever worker is free first. Workers ignore Ctrl-C (the parent
decides), end with their parent even when it is killed outright (``PR_SET_PDEATHSIG`` on
Linux, a watch on the parent elsewhere), and are killed at once when the parent stops:
:func:`stop_on_signals` turns SIGINT, SIGTERM and SIGHUP into :class:`Interrupted`, and
leaving :class:`WorkerPool` kills whatever still runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

__all__ = ["Interrupted", "TaskError", "WorkerLost", "WorkerPool", "stop_on_signals"]

T = TypeVar("T")
R = TypeVar("R")

#: Signals that stop a batch. SIGHUP: the terminal was closed.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
_PR_SET_PDEATHSIG = 1
#: Jobs a worker holds at most: the one it runs and the next, already in its pipe.
_DEPTH = 2


class Interrupted(BaseException):
    """The batch was stopped by a signal; ``signum`` is which.

    A ``BaseException``, like ``KeyboardInterrupt``, so that no ``except Exception`` swallows it.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_status(self) -> int:
        """The shell's convention: 128 + the signal's number (130 Ctrl-C, 143 SIGTERM)."""
        return 128 + self.signum


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Raise :class:`Interrupted` in the main thread on SIGINT, SIGTERM or SIGHUP.

    Only the first signal raises; later ones (a second Ctrl-C while workers are being stopped)
    are ignored, so the clean-up runs to its end. Outside the main thread (where Python cannot
    handle signals) this does nothing. The previous handlers are restored on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@dataclass(frozen=True)
class WorkerLost:
    """A job's worker died before answering; ``reason`` says how, in plain words."""

    reason: str


@dataclass(frozen=True)
class TaskError:
    """The job's function raised (a bug, not a lost worker): what and where.

    Attributes
    ----------
    message : str
        ``"TypeError: ..."``: the exception's type and text.
    traceback : str
        The formatted traceback, from the worker.
    """

    message: str
    traceback: str


@dataclass
class _Worker:
    process: Any  # multiprocessing.Process (or the context's variant)
    conn: Connection
    #: Indices of the jobs sent and not answered, in order: the first is the one running.
    jobs: deque[int] = field(default_factory=deque)


def _worker_main(
    conn: Connection,
    func: Callable[[Any], Any],
    initializer: Callable[[], object] | None,
    parent: int | None,
) -> None:
    """A worker's life: run jobs from the pipe one at a time until told to stop."""
    # The parent alone decides what a Ctrl-C stops; SIGTERM ends a worker at once (the parent
    # removes what it leaves behind).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for s in STOP_SIGNALS:
        if s != signal.SIGINT:
            signal.signal(s, signal.SIG_DFL)
    _die_with_parent(parent)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if initializer is not None:
        initializer()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if message is None:
            return
        index, item = message
        try:
            answer = (index, func(item))
        except Exception as exc:  # a bug in func: report it, keep serving
            answer = (index, _task_error(exc))
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return
        except Exception as exc:  # the answer could not be pickled: a bug, still reported
            conn.send((index, _task_error(exc)))


def _task_error(exc: Exception) -> TaskError:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return TaskError(f"{type(exc).__name__}: {exc}", text)


def _start_method() -> str | None:
    """How to start workers: a plain fork from a single-threaded process (the command line),
    which costs nothing; otherwise a fork server where there is one, because forking a process
    whose other threads hold locks (an import in progress, a logging handler) can leave the
    child waiting on them forever. None: the platform's default (spawn on macOS, Windows)."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else None


def _die_with_parent(parent: int | None) -> None:
    """End this process when its parent ends, even if the parent is killed with SIGKILL.

    ``parent``: the pid the parent must have, if known; else the parent at this moment.
    """
    if parent is None:
        parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                # The parent may have died before the call: then no signal will ever come.
                if os.getppid() != parent:
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    # Elsewhere (or if prctl failed): a thread watches the parent, twice a second.
    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="kquant-parent-watch", daemon=True).start()


class WorkerPool(Generic[T, R]):
    """Run ``func`` over items in ``n_workers`` processes, each running one item at a time.

    Parameters
    ----------
    func : callable(item) -> result
        Module-level (picklable) function; an exception it raises comes back as a
        :class:`TaskError`.
    n_workers : int
        Processes running at once.
    initializer : callable, optional
        Run once in each worker before its first job.
    on_lost : callable(item, pid), optional
        Called in the parent when a worker dies or is killed holding ``item``: removes what
        the job may have left behind (its temporary files).

    Use as a context manager; leaving it, normally or by an exception (:class:`Interrupted`),
    stops every worker: idle ones are told to exit, busy ones are killed.
    """

    def __init__(
        self,
        func: Callable[[T], R],
        n_workers: int,
        *,
        initializer: Callable[[], object] | None = None,
        on_lost: Callable[[T, int], None] | None = None,
    ) -> None:
        if n_workers < 1:
            raise ValueError(f"n_workers must be at least 1, got {n_workers}")
        self._func, self._n, self._initializer = func, n_workers, initializer
        self._on_lost = on_lost
        self._ctx = multiprocessing.get_context(_start_method())
        self._workers: list[_Worker] = []
        self._items: Sequence[T] = ()
        self._todo: deque[int] = deque()

    def __enter__(self) -> WorkerPool[T, R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop(kill=exc_info[0] is not None)

    def run(self, items: Sequence[T]) -> Iterator[tuple[int, R | WorkerLost | TaskError]]:
        """Yield ``(index, result)`` for every item, as each finishes (not in order).

        Items are started in their order. The result is a :class:`WorkerLost` when the item's
        worker died while running it (the other items go on in a fresh worker), a
        :class:`TaskError` when ``func`` raised.
        """
        self._items = items
        self._todo = todo = deque(range(len(items)))
        idle_deaths = 0
        while todo or any(w.jobs for w in self._workers):
            if idle_deaths > 2 * self._n or not self._grow(len(todo)):
                # Workers cannot even be started (no memory, no processes left): say so for
                # every job still waiting rather than trying forever.
                while todo:
                    yield todo.popleft(), WorkerLost("no worker process could be started")
                if not any(w.jobs for w in self._workers):
                    return
            for w in list(self._workers):
                while todo and self._wants(w):
                    index = todo.popleft()
                    try:
                        w.conn.send((index, items[index]))
                    except OSError:  # it died: the job goes to another worker
                        todo.appendleft(index)
                        if not w.jobs:  # died idle; a busy one is buried once its end is seen
                            self._bury(w)
                            idle_deaths += 1
                        break
                    w.jobs.append(index)
            busy = [w for w in self._workers if w.jobs]
            if not busy:
                continue
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for w in busy:
                if w.conn in ready:
                    try:
                        index, result = w.conn.recv()
                    except (EOFError, OSError):  # died before answering
                        yield self._lost(w)
                        continue
                    w.jobs.remove(index)
                    yield index, result
                elif w.process.sentinel in ready:
                    yield self._lost(w)

    def _wants(self, w: _Worker) -> bool:
        """Whether to send ``w`` another job now: when idle; and a second one to run next
        while more jobs wait than there are workers (the last ones go to who is free)."""
        if not w.jobs:
            return True
        return len(w.jobs) < _DEPTH and len(self._todo) > len(self._workers)

    def _grow(self, waiting: int) -> bool:
        """Start workers up to the pool's size (no more than jobs waiting); False if none run."""
        while len(self._workers) < self._n and waiting > sum(not w.jobs for w in self._workers):
            try:
                self._start()
            except OSError:  # fork refused: carry on with the workers there are
                self._n = max(len(self._workers), 1)
                break
        return bool(self._workers)

    def _start(self) -> None:
        parent_end, child_end = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main,
            args=(child_end, self._func, self._initializer, self._parent()),
            name="kquant-worker",
            daemon=True,
        )
        # A signal arriving while the worker starts must reach the parent's handler, not a
        # copy of it in the child (which unblocks after installing its own), and the worker
        # must be on the list before the handler can stop the pool.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process.start()
            self._workers.append(_Worker(process, parent_end))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            child_end.close()

    def _parent(self) -> int | None:
        """The pid a worker must see as its parent: this process when forked directly (the
        forkserver's workers are its children and end with it, which ends with this one)."""
        return os.getpid() if self._ctx.get_start_method() == "fork" else None

    def _bury(self, w: _Worker) -> None:
        w.process.join()
        w.conn.close()
        self._workers.remove(w)

    def _lost(self, w: _Worker) -> tuple[int, WorkerLost]:
        """Bury a dead worker and clean up after it; the job it was running fails, the one
        queued behind it goes back to the front of the queue, the others go on."""
        index, *queued = w.jobs
        self._bury(w)
        self._todo.extendleft(reversed(queued))
        if self._on_lost is not None:
            self._on_lost(self._items[index], w.process.pid)
        return index, WorkerLost(_death(w.process.exitcode))

    def _stop(self, *, kill: bool) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            if kill or w.jobs:
                with contextlib.suppress(OSError):
                    w.process.kill()
            else:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
        for w in workers:
            w.process.join()
            if self._on_lost is not None:
                for index in w.jobs:  # the one it ran left temporary files; the next none
                    self._on_lost(self._items[index], w.process.pid)
            w.conn.close()


def _death(exitcode: int | None) -> str:
    """How a worker ended, in words, from its exit code."""
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        if -exitcode == signal.SIGKILL:
            return f"the worker process died (killed by {name}, as when memory runs out)"
        return f"the worker process died (killed by {name})"
    return f"the worker process died (exit status {exitcode})"

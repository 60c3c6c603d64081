"""Threads the engine uses: row-independent work split over a small pool, and scoped limits.

numpy releases the GIL in the operations the engine streams (bit arithmetic, ``bincount``,
``take``, small matrix products, ``argmin``), so plain threads over contiguous parts of the
data use every core. The split depends only on the data's size and the fixed part count, and
parts never share output, so results are identical whatever the number of threads.

How many threads a call may use is scoped, never process-wide: :func:`engine_threads` sets it
for the calling thread (a context variable), so two threads calling the engine with different
limits do not see each other's. :func:`single_threaded_blas` limits BLAS in the same spirit.
"""

from __future__ import annotations

import contextvars
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from numbers import Integral
from typing import Any, TypeVar

T = TypeVar("T")

#: Parts per job: fixed, not the core count, so that any per-part reduction is the same
#: everywhere; four keeps two to four cores busy.
PARTS = 4
#: Threads per call unless :func:`engine_threads` says otherwise: one per part, at most one
#: per core.
DEFAULT_THREADS = max(1, min(PARTS, os.cpu_count() or 1))
#: Pool size: enough for two calls at full width at once; a call never waits for a pool
#: thread (it does the remaining parts itself), so a busy pool only costs parallelism.
_POOL_THREADS = 2 * (PARTS - 1)

_threads: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "kquant_engine_threads", default=None
)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def validate_threads(threads: object) -> int | None:
    """Return ``threads`` as an int (or None), or raise ``ValueError`` naming what is allowed."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, Integral) or int(threads) < 1:
        raise ValueError(f"threads must be a whole number of at least 1 or None, got {threads!r}")
    return int(threads)


@contextmanager
def engine_threads(threads: int | None) -> Iterator[int]:
    """Let the engine use at most ``threads`` threads inside the block (None: leave as is).

    The limit belongs to the calling thread's context: other threads, and code after the
    block, keep theirs. One thread runs the parts one after another on the calling thread.
    The results do not change with the limit.

    Yields
    ------
    int
        The limit in force inside the block.
    """
    threads = validate_threads(threads)
    if threads is None:
        yield max_threads()
        return
    token = _threads.set(threads)
    try:
        yield threads
    finally:
        _threads.reset(token)


def max_threads() -> int:
    """The most threads the engine may use here and now (see :func:`engine_threads`)."""
    threads = _threads.get()
    return DEFAULT_THREADS if threads is None else threads


def _forget_pool_after_fork() -> None:
    # A forked child (the command line's worker processes) inherits the pool object but none
    # of its threads: work handed to it would wait forever. Start a fresh one there; a lock
    # some other thread held at the fork would never be released, so take new locks too.
    global _pool, _pool_lock, _blas_lock
    _pool = None
    _pool_lock = threading.Lock()
    _blas_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=_POOL_THREADS, thread_name_prefix="kquant-engine"
            )
        return _pool


def split(n: int, parts: int = PARTS, align: int = 1) -> list[tuple[int, int]]:
    """Cut ``range(n)`` into at most ``parts`` contiguous ranges whose starts are multiples of
    ``align``."""
    if n <= 0:
        return []
    step = -(-n // parts)
    step = -(-step // align) * align
    return [(s, min(s + step, n)) for s in range(0, n, step)]


def part_progress(index: int, start: int, stop: int, position: int, n: int) -> float | None:
    """Fraction of a whole job done, as one part of :func:`run_parts` sees it.

    Parts running side by side finish together, so the first part's own fraction stands for
    the job and the others stay quiet; parts run one after another report their position in
    the whole.

    Returns
    -------
    float or None
        None for a part that should not report.
    """
    if max_threads() == 1:
        return min(position, n) / n
    if index == 0:
        return (min(position, stop) - start) / (stop - start)
    return None


def run_parts(
    fn: Callable[[int, int, int], T], n: int, *, min_size: int, align: int = 1
) -> list[T]:
    """Run ``fn(part, start, stop)`` over the parts of ``range(n)``, in parallel when ``n`` is
    at least ``min_size`` and :func:`max_threads` allows; returns the results in part order.

    The first part runs on the calling thread, so its progress reports and cancel checks reach
    the caller from the thread it called from; then the caller and up to ``max_threads() - 1``
    pool threads take the remaining parts as they come free. After a part fails no new part
    starts, and the exception is raised here.
    """
    ranges = split(n, PARTS if n >= min_size else 1, align)
    helpers = min(max_threads(), len(ranges)) - 1
    if helpers <= 0:
        return [fn(i, *r) for i, r in enumerate(ranges)]
    results: list[Any] = [None] * len(ranges)
    lock = threading.Lock()
    state = {"next": 1, "failed": False}

    def drain() -> None:
        while True:
            with lock:
                i = state["next"]
                if i >= len(ranges) or state["failed"]:
                    return
                state["next"] = i + 1
            try:
                results[i] = fn(i, *ranges[i])
            except BaseException:
                state["failed"] = True
                raise

    pool = _executor()
    # Each pool thread sees the caller's context: its thread limit, for part_progress.
    futures: list[Future[None]] = [
        pool.submit(contextvars.copy_context().run, drain) for _ in range(helpers)
    ]
    try:
        try:
            results[0] = fn(0, *ranges[0])
        except BaseException:
            state["failed"] = True
            raise
        drain()
    finally:
        for f in futures:
            f.cancel()  # not started yet (the pool is busy elsewhere): nothing left for it
        wait(futures)
    for f in futures:
        if not f.cancelled():
            f.result()  # raises a pool thread's exception
    return results


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter: Any = None
_blas_controller: tuple[int, Any] | None = None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread inside the block; safe when several threads use it at once.

    Every matrix product of the engine has an inner dimension of 3 and a few thousand rows,
    far too small for threads to pay off: on two cores OpenBLAS's threading made a 0.3 MP
    quantize about 40% slower, and worse under load. One thread also fixes the summation
    order.

    BLAS's thread count is process-wide, and threadpoolctl's limit restores on exit the count
    it found on entry: two overlapping limits would restore too early, or keep one thread for
    good. So the first thread to enter sets the limit and the last to leave restores it.
    Other code changing BLAS's limit meanwhile is not guarded against.
    """
    global _blas_users, _blas_limiter, _blas_controller
    with _blas_lock:
        if _blas_users == 0:
            # The controller knows the libraries loaded when it was made (4 ms to make): make
            # a new one after imports, which may have brought another BLAS (scikit-learn's
            # comes with scipy, imported only when first needed).
            if _blas_controller is None or _blas_controller[0] != len(sys.modules):
                from threadpoolctl import ThreadpoolController

                _blas_controller = (len(sys.modules), ThreadpoolController())
            _blas_limiter = _blas_controller[1].limit(limits=1, user_api="blas")
            _release_blas_control(_blas_controller[1])
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None
                _release_blas_control(_blas_controller[1])


def _release_blas_control(controller: Any) -> None:
    # threadpoolctl 3.8 lets only the first thread that set OpenBLAS's (process-wide) limit
    # change it again, and ignores the others silently; here the thread that sets the limit
    # and the one that restores it may differ, and the lock above already keeps them apart.
    for lib in controller.lib_controllers:
        release = getattr(type(lib), "clear_controlling_thread", None)
        if release is not None:
            release(force=True)

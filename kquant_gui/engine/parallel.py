"""Split row-independent work over the machine's cores.

numpy releases the GIL in the operations the engine streams (bit arithmetic, ``bincount``,
``take``, small matrix products, ``argmin``), so plain threads over contiguous parts of the
data use every core. The split depends only on the data's size and the fixed part count, and
parts never share output, so results are identical whatever the machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: Parts per job: fixed, not the core count, so that any per-part reduction is the same
#: everywhere; four keeps two to four cores busy.
PARTS = 4

_pool: ThreadPoolExecutor | None = None
_max_threads = max(1, min(PARTS, os.cpu_count() or 1))


def set_max_threads(n: int) -> None:
    """Use at most ``n`` threads (1: run the parts one after another on the calling thread).

    The results do not change. The window sets 1: there, another core's worth of engine
    threads competes with the main thread for the interpreter lock and makes the UI stutter,
    while a single background thread already keeps it fast enough.
    """
    global _max_threads, _pool
    n = max(1, int(n))
    if n != _max_threads and _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None
    _max_threads = n


def _forget_pool_after_fork() -> None:
    # A forked child (the command line's worker processes) inherits the pool object but none
    # of its threads: work handed to it would wait forever. Start a fresh one there.
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def max_threads() -> int:
    """The current limit set by :func:`set_max_threads`."""
    return _max_threads


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_max_threads, thread_name_prefix="kquant-engine")
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
    if _max_threads == 1:
        return min(position, n) / n
    if index == 0:
        return (min(position, stop) - start) / (stop - start)
    return None


def run_parts(
    fn: Callable[[int, int, int], T], n: int, *, min_size: int, align: int = 1
) -> list[T]:
    """Run ``fn(part, start, stop)`` over the parts of ``range(n)``, in parallel when ``n`` is
    at least ``min_size``; returns the results in part order.

    The first part runs on the calling thread, so its progress reports and cancel checks reach
    the caller from the thread it called from. An exception in any part is raised here.
    """
    ranges = split(n, PARTS if n >= min_size else 1, align)
    if len(ranges) <= 1 or _max_threads == 1:
        return [fn(i, *r) for i, r in enumerate(ranges)]
    pool = _executor()
    futures = [pool.submit(fn, i, s, e) for i, (s, e) in enumerate(ranges) if i > 0]
    try:
        first = fn(0, *ranges[0])
    finally:
        rest = [f.result() for f in futures]
    return [first, *rest]

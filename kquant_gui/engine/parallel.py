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


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=max(1, min(PARTS, os.cpu_count() or 1)),
            thread_name_prefix="kquant-engine",
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


def run_parts(
    fn: Callable[[int, int, int], T], n: int, *, min_size: int, align: int = 1
) -> list[T]:
    """Run ``fn(part, start, stop)`` over the parts of ``range(n)``, in parallel when ``n`` is
    at least ``min_size``; returns the results in part order.

    The first part runs on the calling thread, so its progress reports and cancel checks reach
    the caller from the thread it called from. An exception in any part is raised here.
    """
    ranges = split(n, PARTS if n >= min_size else 1, align)
    if len(ranges) <= 1:
        return [fn(0, *r) for r in ranges]
    pool = _executor()
    futures = [pool.submit(fn, i, s, e) for i, (s, e) in enumerate(ranges) if i > 0]
    try:
        first = fn(0, *ranges[0])
    finally:
        rest = [f.result() for f in futures]
    return [first, *rest]

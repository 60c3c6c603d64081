"""Engine threads are set per call or per block, on the calling thread only; BLAS likewise."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from kquant_gui import quantize
from kquant_gui.engine import engine_threads, histogram, packing, parallel


@pytest.fixture
def split_work(monkeypatch):
    """Force the large-image path in small chunks, so that every pass runs in parts."""
    monkeypatch.setattr(histogram, "EXACT_MAX_PIXELS", 100)
    monkeypatch.setattr(packing, "CHUNK", 1024)


def _threads_used(together: int = 1) -> set[str]:
    """Names of the threads that ran the parts of one :func:`parallel.run_parts` job.

    With ``together`` > 1 every part waits until that many parts run at once, so the job
    fails (a broken barrier) unless it really runs on that many threads.
    """
    names: list[str] = []
    barrier = threading.Barrier(together) if together > 1 else None

    def part(index: int, start: int, stop: int) -> int:
        names.append(threading.current_thread().name)
        if barrier is not None:
            barrier.wait(timeout=10)
        return index

    assert parallel.run_parts(part, parallel.PARTS, min_size=1) == list(range(parallel.PARTS))
    return set(names)


def test_the_limit_is_scoped_and_restored():
    outside = parallel.max_threads()
    assert outside == parallel.DEFAULT_THREADS
    with engine_threads(1) as inner:
        assert inner == 1 and parallel.max_threads() == 1
        with engine_threads(3):
            assert parallel.max_threads() == 3
        assert parallel.max_threads() == 1
        with engine_threads(None):
            assert parallel.max_threads() == 1
    assert parallel.max_threads() == outside
    with pytest.raises(RuntimeError), engine_threads(2):
        raise RuntimeError("boom")
    assert parallel.max_threads() == outside


def test_one_thread_runs_every_part_on_the_caller():
    with engine_threads(1):
        assert _threads_used() == {threading.current_thread().name}


def test_the_limit_caps_the_threads_a_job_uses():
    with engine_threads(2):
        used = _threads_used(together=2)
    assert threading.current_thread().name in used
    assert len(used) == 2


def test_two_threads_keep_their_own_limits():
    # Both threads hold their limits at the same time; neither sees the other's.
    barrier = threading.Barrier(2)
    seen: dict[int, tuple[int, int]] = {}
    errors: list[BaseException] = []

    def run(limit: int) -> None:
        try:
            with engine_threads(limit):
                barrier.wait(timeout=10)
                during = parallel.max_threads()
                barrier.wait(timeout=10)
            seen[limit] = (during, parallel.max_threads())
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(n,)) for n in (1, 3)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=20)
    assert not errors
    assert seen == {1: (1, parallel.DEFAULT_THREADS), 3: (3, parallel.DEFAULT_THREADS)}
    assert parallel.max_threads() == parallel.DEFAULT_THREADS


def test_two_threads_quantizing_at_once_get_the_same_result(photo, split_work):
    big = np.tile(photo, (3, 3, 1))
    reference = quantize(big, 24, threads=1)
    results: dict[int, object] = {}
    barrier = threading.Barrier(2)

    def run(limit: int) -> None:
        barrier.wait(timeout=10)
        with engine_threads(limit):
            results[limit] = quantize(big, 24)

    workers = [threading.Thread(target=run, args=(n,)) for n in (1, 4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert set(results) == {1, 4}
    for result in results.values():
        assert result.image.tobytes() == reference.image.tobytes()
        assert result.labels.tobytes() == reference.labels.tobytes()
        assert np.array_equal(result.counts, reference.counts)


def test_a_failing_part_is_raised_and_stops_the_job():
    ran: list[int] = []

    def part(index: int, start: int, stop: int) -> None:
        ran.append(index)
        if index == 0:
            raise ValueError("part 0 failed")

    with engine_threads(1), pytest.raises(ValueError, match="part 0 failed"):
        parallel.run_parts(part, 8, min_size=1)
    assert ran == [0]  # run one after another: nothing after the failure
    with engine_threads(4), pytest.raises(ValueError, match="part 0 failed"):
        parallel.run_parts(part, 8, min_size=1)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts_are_refused(photo, bad):
    with pytest.raises(ValueError, match="threads must be"):
        quantize(photo, 4, threads=bad)
    with pytest.raises(ValueError, match="threads must be"), engine_threads(bad):
        pass


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_blas_limit_overlapping_in_two_threads_is_restored_once_both_leave():
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl can see")
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    inside: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with parallel.single_threaded_blas():
                first_in.set()
                second_in.wait(10)
            first_out.set()
        except BaseException as exc:
            errors.append(exc)

    def second() -> None:
        try:
            first_in.wait(10)
            with parallel.single_threaded_blas():
                second_in.set()
                first_out.wait(10)
                # The first thread has left; this one is still inside and must stay limited.
                inside["after first left"] = _blas_threads()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=20)
    assert not errors
    assert inside["after first left"] == [1] * len(before)
    assert _blas_threads() == before

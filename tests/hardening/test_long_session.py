"""A long session in the window: 200 quantizations of different images and k, with cancels in
between. Memory stays bounded, no thread is left behind, and Qt never warns."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from _corpus import small_photo
from PIL import Image
from qt_support import TIMEOUT_MS

#: Completed quantizations in the session.
RUNS = 200
#: Allowed growth of the resident set over the session, after a warm-up. Each result of a
#: 64x48 image is a few tens of kB; a leak of every result, figure or display copy would
#: pass this in the first hundred runs.
RSS_GROWTH_MB = 40


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc; psutil elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import psutil

    return psutil.Process().memory_info().rss / 2**20


@pytest.mark.slow
def test_two_hundred_quantizations_with_cancels(
    qtbot, qtlog, window, open_and_wait, tmp_path: Path
):
    from PySide6.QtCore import QThread

    images = []
    for i in range(5):
        path = tmp_path / f"image-{i}.png"
        size = (64 + 8 * i, 48 - 4 * i)
        Image.fromarray(small_photo(i, size)).save(path)
        images.append(path)
    shown: list[int] = []
    window.resultShown.connect(shown.append)
    ks = np.random.default_rng(11).integers(1, 65, RUNS)

    def step(i: int) -> None:
        """One completed quantization: a new image every 10th run, else a new k."""
        if i % 10 == 0:
            open_and_wait(window, images[(i // 10) % len(images)])
            return
        if i % 10 == 5:
            # A cancel between runs: start one and press Esc at once.
            window.controls.k_spin.setValue(int(ks[i - 1]) % 200 + 57)
            window.action_cancel.trigger()
            assert not window.is_busy()
        count = len(shown)
        k = int(ks[i]) if int(ks[i]) != window.controls.k else int(ks[i]) + 1
        window.controls.k_spin.setValue(k)
        qtbot.waitUntil(lambda: len(shown) > count, timeout=TIMEOUT_MS)
        assert window.shown.result.k == k

    for i in range(20):  # warm-up: caches, fonts, first figures
        step(i)
    qtbot.waitUntil(window.worker.idle, timeout=TIMEOUT_MS)
    threads_before = threading.active_count()
    rss_before = rss_mb()
    for i in range(20, RUNS):
        step(i)
    qtbot.waitUntil(window.worker.idle, timeout=TIMEOUT_MS)
    rss_after = rss_mb()
    print(
        f"long session: {RUNS} quantizations; RSS {rss_before:.1f} MB after warm-up, "
        f"{rss_after:.1f} MB after ({rss_after - rss_before:+.1f} MB); "
        f"threads {threads_before} -> {threading.active_count()}"
    )
    assert len(shown) >= RUNS - 20
    assert rss_after - rss_before < RSS_GROWTH_MB
    assert threading.active_count() == threads_before
    # The worker's thread and the quality curve's, and no other.
    running = {t for t in window.findChildren(QThread) if t.isRunning()}
    assert running == {window.worker.thread, window.curve.controller.thread}
    problems = [r.message for r in qtlog.records if r.type_name != "QtDebugMsg"]
    assert problems == []

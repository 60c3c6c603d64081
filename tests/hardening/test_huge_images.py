"""Huge images: the engine quantizes 100 megapixels within 3 GB, the loader refuses larger
ones from the header, and the window stays responsive while a 20-megapixel image is worked on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _corpus import TIMEOUT_MS, png_claiming
from measure_huge import build

from kquant_gui.image_io import ImageLoadError, load_image

#: Peak resident memory allowed for quantizing 100 megapixels.
PEAK_LIMIT_MB = 3000
#: Longest the main thread may go without running a timer tick while the worker is busy.
MAX_STALL_S = 0.5


@pytest.mark.slow
def test_engine_quantizes_100_megapixels_within_3_gb():
    script = Path(__file__).with_name("measure_huge.py")
    proc = subprocess.run(
        [sys.executable, str(script), "100", "256"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    figures = json.loads(proc.stdout)
    print(f"100 MP engine run: {figures}")
    assert figures["megapixels"] >= 100
    assert figures["n_colors"] == 256
    assert figures["peak_rss_mb"] < PEAK_LIMIT_MB


def test_an_image_past_the_limit_is_refused_before_decoding(tmp_path: Path):
    path = tmp_path / "claims-huge.png"
    path.write_bytes(png_claiming(20_000, 15_000))  # 300 MP claimed, 1 kB on disk
    with pytest.raises(ImageLoadError, match="too large: 300 megapixels, more than the limit"):
        load_image(path)
    # In a fresh process, so the peak is this refusal's alone: the 900 MB of pixels were
    # never allocated.
    code = (
        "import sys\n"
        "from measure_huge import peak_rss_mb\n"
        "from kquant_gui.image_io import ImageLoadError, load_image\n"
        "try:\n    load_image(sys.argv[1])\nexcept ImageLoadError:\n    pass\n"
        "print(round(peak_rss_mb()))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
    )
    assert int(proc.stdout) < 300, f"peak {proc.stdout.strip()} MB"


def test_window_shows_progress_and_stays_responsive_on_20_megapixels(
    qtbot, window, tmp_path: Path
):
    from PIL import Image
    from PySide6.QtCore import QTimer

    path = tmp_path / "big.bmp"
    Image.fromarray(build(20)).save(path)  # BMP: written and read in well under a second
    ticks: list[float] = []
    timer = QTimer(window)
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    progress: list[float] = []
    bar_seen = []

    def on_progress(job_id: int, fraction: float, stage: str) -> None:
        progress.append(fraction)
        bar_seen.append(window.progress_bar.isVisible())

    window.worker.worker.progress.connect(on_progress)
    timer.start()
    start = time.monotonic()
    with qtbot.waitSignal(window.resultShown, timeout=4 * TIMEOUT_MS):
        window.open_path(path)
    elapsed = time.monotonic() - start
    timer.stop()
    gaps = np.diff([start, *ticks])
    print(
        f"20 MP in the window: {elapsed:.1f} s, {len(progress)} progress reports, "
        f"{len(ticks)} timer ticks, longest main-thread stall {gaps.max() * 1000:.0f} ms"
    )
    assert window.shown.result.image.shape == (4000, 5000, 3)
    assert len(set(progress)) >= 3 and all(bar_seen)
    assert gaps.max() < MAX_STALL_S

"""Huge images: the engine quantizes 100 megapixels within 3 GB, the loader refuses larger
ones from the header, and the window stays responsive while a 20-megapixel image is worked on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from _corpus import png_claiming
from measure_huge import build
from qt_support import TIMEOUT_MS

from kquant_gui.image_io import ImageLoadError, load_image

#: Peak resident memory allowed for quantizing 100 megapixels.
PEAK_LIMIT_MB = 3000


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
    """While the worker quantizes 20 MP, the main thread keeps running its event loop: timer
    ticks arrive between the progress reports, again and again, rather than all reports in
    one burst after the work (a blocked loop delivers at most one pending tick). How long
    the main thread may pause is a speed figure, measured by ``benchmarks/bench_gui.py``
    (longest main-thread gap on 24 MP), not bounded here."""
    from PIL import Image
    from PySide6.QtCore import QTimer

    path = tmp_path / "big.bmp"
    Image.fromarray(build(20)).save(path)  # BMP: written and read in well under a second
    events: list[str] = []
    timer = QTimer(window)
    timer.setInterval(20)
    timer.timeout.connect(lambda: events.append("tick"))
    progress: list[float] = []
    bar_seen = []

    def on_progress(job_id: int, fraction: float, stage: str) -> None:
        events.append("progress")
        progress.append(fraction)
        bar_seen.append(window.progress_bar.isVisible())

    window.worker.worker.progress.connect(on_progress)
    timer.start()
    with qtbot.waitSignal(window.resultShown, timeout=4 * TIMEOUT_MS):
        window.open_path(path)
    timer.stop()
    first, last = events.index("progress"), len(events) - events[::-1].index("progress")
    during = events[first:last]
    interleaved = sum(a == "tick" and b == "progress" for a, b in pairwise(during))
    print(
        f"20 MP in the window: {len(progress)} progress reports, {during.count('tick')} "
        f"timer ticks between the first and the last, {interleaved} times in between"
    )
    assert window.shown.result.image.shape == (4000, 5000, 3)
    assert len(set(progress)) >= 3 and all(bar_seen)
    assert interleaved >= 2

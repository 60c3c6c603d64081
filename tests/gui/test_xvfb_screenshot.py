"""The real window on a real X server (Xvfb): it shows the sample, quantized, and a screenshot
is saved for people to look at (``build/screenshots/xvfb-main-window.png``)."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SHOT = REPO / "build" / "screenshots" / "xvfb-main-window.png"

# Run in a child process: the test session's Qt is bound to the offscreen platform.
CHILD = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from kquant_gui.gui.main_window import MainWindow
from kquant_gui.gui.resources import sample_image_path

app = QApplication(["kquant-gui"])
window = MainWindow()
window.resize(1200, 760)
window.move(20, 20)
window.show()

def grab():
    shot = QGuiApplication.primaryScreen().grabWindow(0)
    shot.save(sys.argv[1])
    print("exposed", window.windowHandle().isExposed())
    for rgb in window.shown.result.palette:
        print("swatch", *map(int, rgb))
    window.close()
    app.quit()

window.resultShown.connect(lambda _id: QTimer.singleShot(500, grab))
window.open_path(sample_image_path())
QTimer.singleShot(60_000, app.quit)
sys.exit(app.exec())
"""


@pytest.fixture
def xvfb_display():
    """Start Xvfb on a free display number (it picks one itself) and stop it afterwards."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian package: xvfb); the real-window check needs it")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 30)
        number = os.read(read_end, 16).decode().strip() if ready else ""
        if not number:
            pytest.fail("Xvfb did not report a display within 30 s")
        yield f":{number}"
    finally:
        os.close(read_end)
        server.terminate()
        server.wait(timeout=10)


def test_real_window_under_xvfb(xvfb_display: str, tmp_path: Path) -> None:
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb")
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # fresh settings: default k=8, default geometry
    env.pop("WAYLAND_DISPLAY", None)
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(SHOT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert "QThread: Destroyed" not in run.stderr
    assert "exposed True" in run.stdout
    swatches = [
        tuple(int(v) for v in line.split()[1:])
        for line in run.stdout.splitlines()
        if line.startswith("swatch")
    ]
    assert 1 <= len(swatches) <= 8
    with Image.open(SHOT) as im:
        assert im.size == (1280, 800)
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
    # Every palette colour is on the real screen (the swatches at least).
    on_screen = {tuple(p) for p in np.unique(pixels, axis=0)}
    assert set(swatches) <= on_screen
    print(f"screenshot: {SHOT}")

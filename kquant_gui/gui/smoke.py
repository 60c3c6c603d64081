"""``kquant-gui --smoke-test``: prove that an installed or packaged app works, without a screen.

It runs the path a user's first minute takes, through the real window and the shipped files:
Qt starts, the bundled icon and sample photo are found, the main window opens the sample and
quantizes it at k=8 on its worker thread, draws the result, and saves it through its own Save As
path as an indexed PNG into a temporary folder; the file is read back and checked. A wheel, a
PyInstaller folder or an ``.app`` that is missing a Qt plugin, a compiled extension, the
matplotlib backend or a resource fails here, with one line saying which step broke, instead of
failing on the user's desktop.

CI runs it on the built app (``packaging/build.sh --smoke``) and on a wheel installed into a
fresh virtual environment (``tests/packaging``).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QApplication

    from kquant_gui.engine import Quantization
    from kquant_gui.gui.main_window import MainWindow

#: The k of the smoke test; what the window opens with by default.
SMOKE_K = 8
#: Generous: a cold start of a packaged app on a loaded CI machine, not a speed target.
STEP_TIMEOUT_S = 120


class SmokeTestError(Exception):
    """One step of the smoke test failed; the message says which and why."""


def run_smoke_test(*, k: int = SMOKE_K) -> int:
    """Run the end-to-end check, print one line and return the process exit status.

    Parameters
    ----------
    k : int, default 8
        Number of colours to quantize the sample to.

    Returns
    -------
    int
        0 when every step passed (one line ``kquant-gui smoke test ok: ...`` on stdout), 1
        otherwise (one line ``kquant-gui smoke test FAILED: ...`` on stderr).
    """
    started = time.perf_counter()
    try:
        # The window's worker prints tracebacks and Qt prints warnings (the offscreen platform
        # about window hints): kept off the terminal so the outcome is the one line below.
        with contextlib.redirect_stderr(io.StringIO()), _quiet_qt():
            details = _run_checks(k)
    except Exception as exc:  # every failure must become one line and exit 1
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        print(f"kquant-gui smoke test FAILED: {reason}", file=sys.stderr, flush=True)
        return 1
    elapsed = time.perf_counter() - started
    print(f"kquant-gui smoke test ok: {details}, {elapsed:.1f} s", flush=True)
    return 0


def _run_checks(k: int) -> str:
    """Each step raises :class:`SmokeTestError` (or whatever broke) on failure."""
    app = _application()
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QIcon

    from kquant_gui import __version__
    from kquant_gui.gui.main_window import MainWindow
    from kquant_gui.gui.resources import icon_pngs, sample_image_path

    pngs = icon_pngs()
    _require(bool(pngs), "bundled icon PNGs missing (kquant_gui/resources/icons)")
    # A null pixmap means Qt's PNG support or the file itself is missing from the build.
    _require(not QIcon(str(pngs[-1])).pixmap(64, 64).isNull(), f"Qt cannot load {pngs[-1]}")
    sample = sample_image_path()
    _require(sample is not None, "bundled sample image missing (kquant_gui/resources)")

    with tempfile.TemporaryDirectory(prefix="kquant-smoke-") as tmp:
        # Settings of its own: the check must not put the sample in the user's recent files
        # nor change their k.
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings)
        try:
            controls = window.controls
            controls.set_values(k, controls.color_space_key, controls.dither_key)
            window.show()
            _wait(window, window.resultShown, lambda: window.open_path(sample), "quantizing")
            _require(window.shown is not None, "the window shows no result")
            result = window.shown.result
            height, width = window.source.pixels.shape[:2]
            _require(result.k == k, f"the window quantized at k={result.k}, not {k}")
            _require(1 <= result.n_colors <= k, f"expected 1..{k} colours, not {result.n_colors}")

            out = Path(tmp) / f"{sample.stem}-k{k}.png"
            _wait(window, window.saved, lambda: window.save_to(out), f"saving {out.name}")
            size = out.stat().st_size
            _check_indexed_png(out, result)
        finally:
            window.close()  # cancels, quits and waits for the worker thread
            window.deleteLater()
            settings.sync()

    return (
        f"{sample.name} {width}x{height} -> {result.n_colors} colours, "
        f"indexed PNG {size / 1024:.0f} KiB read back equal "
        f"(kquant-gui {__version__}, PySide6 {pyside_version}, Qt platform {app.platformName()})"
    )


def _wait(
    window: MainWindow, signal: SignalInstance, start: Callable[[], object], step: str
) -> None:
    """Call ``start`` and run Qt's event loop until ``signal`` or an error message arrives.

    The window reports errors in a modal message box, which nobody would close in a headless
    run: a watchdog closes it and its text becomes the failure.
    """
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    loop = QEventLoop()
    outcome: dict[str, str] = {}

    def finished(*_args: object) -> None:
        outcome.setdefault("ok", "")
        loop.quit()

    def failed(message: str) -> None:
        outcome.setdefault("error", message)
        loop.quit()

    def close_message_box() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            outcome.setdefault("error", box.text())
            box.done(QMessageBox.StandardButton.Cancel)

    watchdog = QTimer()
    watchdog.timeout.connect(close_message_box)
    watchdog.start(100)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(STEP_TIMEOUT_S * 1000)
    signal.connect(finished)
    window.errorShown.connect(failed)
    try:
        if start() is False:
            outcome.setdefault("error", "the window refused to start it")
        if not outcome:
            loop.exec()
    finally:
        watchdog.stop()
        deadline.stop()
        signal.disconnect(finished)
        window.errorShown.disconnect(failed)
    if "error" in outcome:
        raise SmokeTestError(f"{step}: {outcome['error']}")
    _require("ok" in outcome, f"{step}: nothing happened within {STEP_TIMEOUT_S} s")


def _check_indexed_png(path: Path, result: Quantization) -> None:
    """Mode "P", the result's palette in its order, pixels equal to the quantized image."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as saved:
        saved.load()
        _require(saved.mode == "P", f"saved PNG has mode {saved.mode!r}, expected 'P'")
        n = result.n_colors
        palette = np.asarray(saved.getpalette()[: 3 * n], dtype=np.uint8).reshape(-1, 3)
        _require(
            np.array_equal(palette, result.palette[:, :3]),
            "saved palette differs from the result's palette",
        )
        if result.palette.shape[1] == 4:
            trns = saved.info.get("transparency", b"")
            alpha = np.full(n, 255, np.uint8)
            if isinstance(trns, bytes):
                alpha[: min(n, len(trns))] = np.frombuffer(trns, np.uint8)[:n]
            elif isinstance(trns, int) and trns < n:
                alpha[trns] = 0
            _require(
                np.array_equal(alpha, result.palette[:, 3]),
                "saved tRNS alpha differs from the result's palette alpha",
            )
        back = np.asarray(saved.convert("RGBA" if result.has_alpha else "RGB"))
    _require(
        np.array_equal(back, result.image),
        "pixels read back from the PNG differ from the quantized image",
    )


def _application() -> QApplication:
    """Return the running ``QApplication`` or create one that works without a display.

    With no X11 or Wayland display (CI, SSH) Qt's default xcb platform would abort the
    process, so the offscreen platform is chosen unless the caller already picked one. With a
    display the real platform plugin is used, which is what a packaged app must also carry.
    """
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "kquant-gui"])


@contextlib.contextmanager
def _quiet_qt() -> Iterator[None]:
    """Drop Qt's debug and warning messages for the duration (fatal ones still abort)."""
    from PySide6.QtCore import qInstallMessageHandler

    previous = qInstallMessageHandler(lambda *_message: None)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeTestError(message)

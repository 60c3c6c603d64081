"""``kquant-gui --smoke-test``: prove that an installed or packaged app works, without a screen.

It runs the path a user's first minute takes through the shipped files: Qt starts, the bundled
icon and sample photo are found, the engine quantizes the sample at k=8, the result is saved
as an indexed PNG into a temporary folder and read back. A wheel, a PyInstaller folder or an
``.app`` that is missing a Qt plugin, a compiled extension or a resource fails here, with one
line saying which step broke, instead of failing on the user's desktop.

CI runs it on the built app (``packaging/build.sh --smoke``) and on a wheel installed into a
fresh virtual environment (``tests/packaging``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

#: The k of the smoke test; what the window opens with by default.
SMOKE_K = 8


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
    import numpy as np
    from PIL import Image

    from kquant_gui import __version__, quantize
    from kquant_gui.gui.resources import icon_pngs, sample_image_path
    from kquant_gui.image_io import load_image, save_quantized

    app = _application()
    from PySide6 import __version__ as pyside_version
    from PySide6.QtGui import QIcon

    pngs = icon_pngs()
    _require(bool(pngs), "bundled icon PNGs missing (kquant_gui/resources/icons)")
    # A null pixmap means Qt's PNG support or the file itself is missing from the build.
    _require(not QIcon(str(pngs[-1])).pixmap(64, 64).isNull(), f"Qt cannot load {pngs[-1]}")

    sample = sample_image_path()
    _require(sample is not None, "bundled sample image missing (kquant_gui/resources)")
    loaded = load_image(sample)
    height, width = loaded.pixels.shape[:2]
    result = quantize(loaded.pixels, k)
    _require(1 <= result.n_colors <= k, f"expected 1..{k} colours, got {result.n_colors}")

    with tempfile.TemporaryDirectory(prefix="kquant-smoke-") as tmp:
        out = Path(tmp) / f"{sample.stem}-k{k}.png"
        # The window's Save As goes through the same function.
        size = save_quantized(result, out, source=loaded).size
        with Image.open(out) as saved:
            saved.load()
            _require(saved.mode == "P", f"saved PNG has mode {saved.mode!r}, expected 'P'")
            palette = np.asarray(saved.getpalette()[: 3 * result.n_colors], dtype=np.uint8)
            _require(
                np.array_equal(palette.reshape(-1, 3), result.palette),
                "saved palette differs from the result's palette",
            )
            back = np.asarray(saved.convert("RGBA" if result.has_alpha else "RGB"))
        _require(
            np.array_equal(back, result.image),
            "pixels read back from the PNG differ from the quantized image",
        )

    return (
        f"{sample.name} {width}x{height} -> {result.n_colors} colours, "
        f"indexed PNG {size / 1024:.0f} KiB read back equal "
        f"(kquant-gui {__version__}, PySide6 {pyside_version}, Qt platform {app.platformName()})"
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


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeTestError(message)

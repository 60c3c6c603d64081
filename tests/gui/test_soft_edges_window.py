"""The window with a soft-edged image: swatches show alpha, the estimate is the indexed PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from kquant_gui.gui import MainWindow
from kquant_gui.gui.palette_canvas import hex_code
from kquant_gui.image_io import save_quantized

TIMEOUT_MS = 20_000


def _soft_file(tmp_path: Path) -> Path:
    """A colour gradient with a wide feathered border, on nothing."""
    h, w = 60, 90
    y, x = np.mgrid[0:h, 0:w] / np.array([h - 1.0, w - 1.0])[:, None, None]
    r = np.hypot(2 * x - 1, 2 * y - 1)
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., 0] = np.rint(230 * x)
    rgba[..., 1] = np.rint(60 + 150 * y)
    rgba[..., 2] = 160
    rgba[..., 3] = np.rint(255 * np.clip((1.0 - r) / 0.6, 0.0, 1.0))
    path = tmp_path / "soft.png"
    Image.fromarray(rgba).save(path)
    return path


def test_swatches_show_alpha_over_a_checkerboard_and_read_rrggbbaa(
    window: MainWindow, tmp_path: Path, open_and_wait
) -> None:
    window.controls.k_spin.setValue(6)
    open_and_wait(window, _soft_file(tmp_path))
    result = window.shown.result
    canvas = window.palette_canvas
    assert result.palette.shape == (result.n_colors, 4) and result.n_colors <= 6
    np.testing.assert_array_equal(canvas.palette_alpha, result.palette[:, 3])
    semi = [i for i in range(result.n_colors) if 0 < result.palette[i, 3] < 255]
    assert semi, result.palette
    i = semi[0]
    code = hex_code(result.palette[i])
    assert len(code) == 9 and code.endswith(f"{int(result.palette[i, 3]):02x}")
    assert canvas.describe(i).startswith(code)
    assert canvas.describe(result.transparent_index).startswith("transparent")
    # The checkerboard shows through the semi-transparent swatch: two of its squares side by
    # side differ in colour inside that one swatch.
    assert canvas.checker.get_visible()
    canvas.draw()
    buffer = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    x, y, cw, ch = canvas._cells[i]
    size = 8 * canvas.device_pixel_ratio
    row = buffer[int(y + ch / 2), int(x) + 2 : int(x + cw) - 2]
    assert cw > 2 * size + 4
    assert np.abs(np.diff(row, axis=0)).max() > 3
    # An opaque swatch is flat.
    opaque = [j for j in range(result.n_colors) if result.palette[j, 3] == 255]
    if opaque:
        x, y, cw, ch = canvas._cells[opaque[0]]
        row = buffer[int(y + ch / 2), int(x) + 2 : int(x + cw) - 2]
        assert np.abs(np.diff(row, axis=0)).max() <= 1


def test_status_estimate_is_the_indexed_png_save_writes(
    qtbot, window: MainWindow, tmp_path: Path, open_and_wait
) -> None:
    open_and_wait(window, _soft_file(tmp_path))
    qtbot.waitUntil(lambda: window.measured is not None, timeout=TIMEOUT_MS)
    result = window.shown.result
    saved = save_quantized(result, tmp_path / "out.png")
    with Image.open(saved.path) as im:
        assert im.mode == "P" and "transparency" in im.info
    assert window.measured.png_size == saved.size
    # The colour difference shown is the composite one, over white and black.
    assert window.measured.over_backgrounds
    assert "over white and black" in window.stats_label.text()

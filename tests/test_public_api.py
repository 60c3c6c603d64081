"""The original script's API: quantize_image and display_color_palette, and the Qt-free rule."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import kquant_gui
from kquant_gui import display_color_palette, quantize, quantize_image


def test_engine_cli_and_io_never_import_qt():
    # A fresh interpreter, so nothing the test session imported can hide an import.
    code = (
        "import sys\n"
        "import kquant_gui, kquant_gui.engine, kquant_gui.image_io, kquant_gui.cli\n"
        "import kquant_gui.palettes, kquant_gui.palette_view\n"
        "import numpy as np\n"
        "r = kquant_gui.quantize(np.zeros((4, 4, 3), np.uint8), 2)\n"
        "kquant_gui.display_color_palette(r.palette, 1)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "bad += [m for m in ('matplotlib.pyplot', 'matplotlib.backends.backend_qtagg')\n"
        "        if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "", f"Qt or pyplot imported: {out.stdout.strip()}"


def test_version_is_exposed():
    assert kquant_gui.__version__.count(".") == 2


def test_quantize_image_loads_a_file(tmp_path, photo):
    path = tmp_path / "photo with spaces.png"
    Image.fromarray(photo).save(path)
    result = quantize_image(str(path), 6)
    assert result.n_colors == 6
    assert np.array_equal(result.image, quantize(photo, 6).image)
    # Options pass through to quantize.
    assert quantize_image(path, 6, color_space="oklab").color_space == "oklab"


def _swatch_colours(fig, n: int) -> np.ndarray:
    fig.canvas.draw()
    buf = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    h, w = buf.shape[:2]
    xs = ((np.arange(n) + 0.5) * w / n).astype(int)
    return buf[h // 2, xs]


@pytest.mark.parametrize("scale", [255, 1])
def test_display_color_palette_draws_the_swatches(scale):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    colours = np.array([[255, 0, 0], [0, 200, 0], [10, 20, 250], [250, 250, 0], [40, 40, 40]])
    centroids = colours / 255.0 if scale == 1 else colours
    fig = display_color_palette(centroids, 4)
    FigureCanvasAgg(fig)
    drawn = _swatch_colours(fig, 4)
    assert np.abs(drawn.astype(int) - colours[:4]).max() <= 2


def test_display_color_palette_into_given_axes():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    assert display_color_palette(np.array([[0, 0, 0], [255, 255, 255]]), 2, ax=ax) is fig


@pytest.mark.parametrize(
    ("centroids", "n"),
    [
        (np.zeros((3, 3)), 0),
        (np.zeros((3, 3)), 4),
        (np.zeros((3,)), 1),
        ([[np.nan, 0, 0]], 1),
        ([["red", "green", "blue"]], 1),
        (np.zeros((3, 3)), 2.0),
        (np.zeros((3, 3)), True),
    ],
)
def test_display_color_palette_rejects_bad_input(centroids, n):
    with pytest.raises(ValueError):
        display_color_palette(centroids, n)


def test_palette_colours_out_of_range_are_clipped_and_unit_floats_kept():
    from kquant_gui.palette_view import normalize_colors

    clipped = normalize_colors(np.array([[0, 0, 0], [300, -5, 51]]))
    assert np.allclose(clipped, [[0, 0, 0], [1, 0, 0.2]])
    unit = np.array([[0.0, 0.5, 1.0]])
    assert np.array_equal(normalize_colors(unit), unit)
    # RGBA centroids: the alpha column is not drawn.
    assert np.allclose(normalize_colors(np.array([[255, 0, 0, 7]])), [[1, 0, 0]])


@pytest.mark.parametrize(
    ("colors", "expected"),
    [
        (1, "the image has only 1 colour; it is kept exactly (k=8)"),
        (2, "the image has only 2 colours; both are kept exactly (k=8)"),
        (3, "the image has only 3 colours; all 3 are kept exactly (k=8)"),
    ],
)
def test_summary_of_an_image_with_fewer_colours_than_k(colors: int, expected: str) -> None:
    palette = np.array([[200, 10, 10], [10, 200, 10], [10, 10, 200]], dtype=np.uint8)[:colors]
    pixels = palette[np.arange(12) % colors].reshape(3, 4, 3)
    assert quantize(pixels, 8).summary() == expected


def test_summary_names_colours_space_and_dither() -> None:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    assert quantize(pixels, 1).summary() == "1 colour (k=1, lab, dither none)"
    assert (
        quantize(pixels, 4, dither="ordered").summary() == "4 colours (k=4, lab, dither ordered)"
    )

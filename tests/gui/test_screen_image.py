"""The image artist that skips matplotlib's resampling draws what matplotlib would draw."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kquant_gui.gui.screen_image import add_screen_image


def _render(pixels: np.ndarray, extent, xlim, ylim, *, direct: bool) -> np.ndarray:
    figure = Figure(figsize=(4.0, 3.0), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    image = add_screen_image(ax, zorder=1)
    if not direct:
        image._screen_sized = lambda: None  # matplotlib's own path, for reference
    image.set_data(pixels)
    image.set_extent(extent)
    image.set_visible(True)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    figure.canvas.draw()
    # The shortcut is taken (or, for the reference, not).
    assert (image._screen_sized() is not None) == direct
    return np.asarray(figure.canvas.buffer_rgba()).copy()


@pytest.mark.parametrize("inverted_y", [True, False])
def test_screen_sized_pixels_are_drawn_as_matplotlib_draws_them(inverted_y: bool) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (230, 350, 4), dtype=np.uint8)
    pixels[..., 3] = rng.integers(0, 256, (230, 350), dtype=np.uint8)
    pixels[:4] = (255, 0, 0, 255)  # the first rows: they must stay on top
    extent, xlim = (0, 350, 230, 0), (-25, 375)
    ylim = (265, -35) if inverted_y else (-35, 265)
    if not inverted_y:
        extent = (0, 350, 0, 230)
    ours = _render(pixels, extent, xlim, ylim, direct=True)
    reference = _render(pixels, extent, xlim, ylim, direct=False)
    # matplotlib premultiplies alpha in float and rounds back: one level at most.
    assert np.abs(ours.astype(int) - reference.astype(int)).max() <= 1


def test_magnified_pixels_land_where_matplotlib_puts_them() -> None:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (30, 45, 4), dtype=np.uint8)
    pixels[..., 3] = 255
    args = ((0, 45, 30, 0), (-2.5, 47.5), (32.5, -4.5))
    ours = _render(pixels, *args, direct=True)
    reference = _render(pixels, *args, direct=False)
    differs = np.any(ours != reference, axis=2)
    # Nearest neighbour both ways; only pixels on a boundary between two may round apart.
    assert differs.mean() < 0.1

"""View > Colour Space: the image's colours in the clustering space, sampled by the worker."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QAction
from qt_support import TIMEOUT_MS

from kquant_gui.engine.colorspace import srgb8_to_lab
from kquant_gui.gui import MainWindow
from kquant_gui.gui.space_canvas import SpaceCanvas
from kquant_gui.gui.space_sample import sample_space


def test_the_sample_is_in_the_clustering_space_with_each_pixels_entry() -> None:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (60, 50, 4), dtype=np.uint8)
    pixels[:10, :, 3] = 0  # invisible rows are never sampled
    labels = rng.integers(0, 5, (60, 50))
    palette = rng.integers(0, 256, (5, 3), dtype=np.uint8)
    sample = sample_space(pixels, labels, palette, "lab", n=500)
    assert sample.coords.shape == (500, 3) and sample.colors.shape == (500, 3)
    np.testing.assert_allclose(sample.coords, srgb8_to_lab(sample.colors))
    np.testing.assert_allclose(sample.palette_coords, srgb8_to_lab(palette))
    visible = pixels[10:, :, :3].reshape(-1, 3)
    found = {tuple(c) for c in visible}
    assert all(tuple(c) in found for c in sample.colors)
    assert sample.axis_names == ("L*", "a*", "b*")
    again = sample_space(pixels, labels, palette, "lab", n=500)
    np.testing.assert_array_equal(again.colors, sample.colors)  # same image, same cloud
    rgb = sample_space(pixels, labels, palette, "rgb", n=100)
    np.testing.assert_array_equal(rgb.coords, rgb.colors.astype(float))


def test_colour_space_view_shows_the_result_palette(qtbot, opened: MainWindow) -> None:
    action = opened.findChild(QAction, "actionColorSpaceView")
    with qtbot.waitSignal(opened.session.measured, timeout=TIMEOUT_MS) as blocker:
        action.trigger()
    sample = blocker.args[0].space_sample
    assert sample is not None and sample.space == opened.shown.result.color_space
    canvas = opened.findChild(SpaceCanvas, "spaceCanvas")
    assert canvas.isVisibleTo(opened) and canvas.sample is sample
    assert len(sample.palette_colors) == opened.shown.result.n_colors
    # Dots in their own colour and the palette as large markers.
    collections = canvas.ax.collections
    dots = [c for c in collections if len(c.get_offsets()) == len(sample.colors)]
    assert dots
    drawn = {tuple(c) for c in np.round(dots[0].get_facecolors()[:, :3] * 255).astype(int)}
    own = {tuple(int(v) for v in c) for c in sample.colors}
    assert drawn <= own and len(drawn) >= 0.99 * len(own)
    # A new result is sampled again while the view is open.
    with qtbot.waitSignal(opened.session.measured, timeout=TIMEOUT_MS) as blocker:
        opened.controls.k_spin.setValue(3)
    assert canvas.sample is blocker.args[0].space_sample
    assert len(canvas.sample.palette_colors) == 3
    action.trigger()
    assert not canvas.isVisibleTo(opened)

"""Edge damping of error diffusion: by local contrast of colours, or of what RGBA shows."""

from __future__ import annotations

import numpy as np

from kquant_gui.engine.damping import EDGE_FLOOR, composite_damping, edge_damping


def test_an_alpha_edge_is_an_edge_though_the_colour_is_flat():
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., :3] = (200, 120, 40)
    rgba[:, :8, 3] = 255  # opaque left, fully transparent right: one colour throughout
    assert edge_damping(rgba).min() == 255  # the colours alone see no edge
    damped = composite_damping(rgba)
    assert damped[:, 7:9].max() == round(EDGE_FLOOR * 255)
    assert damped[:, :6].min() == 255 and damped[:, 10:].min() == 255


def test_a_smooth_alpha_ramp_is_not_damped_and_an_opaque_image_as_its_colours():
    rgba = np.zeros((8, 256, 4), np.uint8)
    rgba[..., :3] = 90
    rgba[..., 3] = np.arange(256)  # one level a pixel
    assert composite_damping(rgba).min() == 255
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (32, 40, 3)).astype(np.uint8)
    rgb[:, :20] = rgb[:, :20] // 16 + 100  # a quiet half
    opaque = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    np.testing.assert_array_equal(composite_damping(opaque), edge_damping(rgb))
    np.testing.assert_array_equal(composite_damping(opaque, 5, 17), edge_damping(rgb, 5, 17))

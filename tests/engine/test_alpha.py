"""The colour-and-alpha working space and the composite score."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui.engine.alpha import (
    composite,
    from_alpha_space,
    to_alpha_space,
)
from kquant_gui.engine.colorspace import COLOR_SPACES, to_space
from kquant_gui.engine.metrics import composite_delta_e2000


def _random_rgba(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 4)).astype(np.uint8)


def test_composite_matches_the_blend_formula() -> None:
    rgba = _random_rgba(500)
    a = rgba[:, 3:4] / 255.0
    for bg in (0, 255, 128):
        expected = np.rint(rgba[:, :3] * a + bg * (1.0 - a))
        assert np.abs(composite(rgba, bg).astype(int) - expected).max() == 0


@pytest.mark.parametrize("space", COLOR_SPACES)
def test_opaque_colours_keep_the_opaque_distances(space: str) -> None:
    rgba = _random_rgba(200)
    rgba[:, 3] = 255
    coords = to_alpha_space(rgba, space)
    x = to_space(rgba[:, :3], space)
    assert np.allclose(coords[:, :3], coords[:, 3:])
    d_alpha = np.linalg.norm(coords[1:] - coords[:-1], axis=1)
    d_opaque = np.linalg.norm(x[1:] - x[:-1], axis=1)
    assert np.allclose(d_alpha, d_opaque)


def test_every_fully_transparent_colour_is_one_point() -> None:
    rgba = _random_rgba(50)
    rgba[:, 3] = 0
    coords = to_alpha_space(rgba, "lab")
    assert np.ptp(coords, axis=0).max() == 0


def test_a_faint_pixel_colour_matters_less_than_an_opaque_one() -> None:
    red, blue = (200, 30, 30), (30, 30, 200)
    for alpha, farther in ((255, True), (20, False)):
        pair = np.array([(*red, alpha), (*blue, alpha)], np.uint8)
        d = np.linalg.norm(np.diff(to_alpha_space(pair, "lab"), axis=0))
        assert bool(d > 30) == farther


@pytest.mark.parametrize("space", COLOR_SPACES)
def test_from_alpha_space_gives_back_what_shows_on_screen(space: str) -> None:
    rgba = _random_rgba(400, seed=1)
    rgba[:, 3] = np.maximum(rgba[:, 3], 1)
    back = from_alpha_space(to_alpha_space(rgba, space), space)
    assert back.shape == (400, 4) and back.dtype == np.uint8
    for bg in (0, 255):
        diff = np.abs(composite(back, bg).astype(int) - composite(rgba, bg).astype(int))
        assert diff.max() <= 1
    opaque = rgba[:, 3] == 255
    assert np.array_equal(back[opaque], rgba[opaque])


def test_from_alpha_space_keeps_entries_visible_unless_asked() -> None:
    transparent = to_alpha_space(np.zeros((1, 4), np.uint8), "lab")
    assert from_alpha_space(transparent, "lab")[0, 3] == 1
    assert tuple(from_alpha_space(transparent, "lab", min_alpha=0)[0]) == (0, 0, 0, 0)


def test_composite_score_sees_alpha_changes_on_both_backgrounds() -> None:
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (20, 30, 4)).astype(np.uint8)
    assert composite_delta_e2000(image, image) == (0.0, 0.0)
    fainter = image.copy()
    fainter[..., 3] //= 2
    white, black = composite_delta_e2000(image, fainter)
    assert white > 1 and black > 1
    # An RGB result counts as opaque.
    opaque = image.copy()
    opaque[..., 3] = 255
    assert composite_delta_e2000(opaque, opaque[..., :3]) == (0.0, 0.0)

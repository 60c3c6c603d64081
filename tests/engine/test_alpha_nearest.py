"""Error diffusion against an RGBA palette takes the exact nearest entry (alpha_nearest)."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui.engine.alpha import to_alpha_space
from kquant_gui.engine.alpha_diffusion import AlphaSource, premultiplied
from kquant_gui.engine.alpha_nearest import AlphaNearest, alpha_coords, opaque_view
from kquant_gui.engine.colorspace import to_space
from kquant_gui.engine.diffusion import diffuse


def _palette(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random RGBA entries: the transparent one, opaque ones, soft ones (some nearly
    opaque, whose boundaries with opaque entries run through opaque colours)."""
    pal = rng.integers(0, 256, size=(n, 4)).astype(np.uint8)
    pal[0] = (0, 0, 0, 0)
    pal[1 : n // 2, 3] = 255
    pal[n // 2 :, 3] = rng.integers(1, 255, size=n - n // 2)
    pal[n // 2 :: 3, 3] = rng.integers(240, 255, size=pal[n // 2 :: 3].shape[0])
    return pal


def _distances(want: np.ndarray, pal: np.ndarray, space: str) -> np.ndarray:
    """Squared colour-and-alpha distance of every colour to every entry, directly."""
    x, p = to_alpha_space(want, space), to_alpha_space(pal, space)
    return ((x[:, None, :] - p[None, :, :]) ** 2).sum(axis=2)


def _near_boundaries(
    rng: np.random.Generator, pal: np.ndarray, space: str, m: int, opaque: bool
) -> np.ndarray:
    """``m`` RGBA colours next to a boundary between two entries: of many colours on the way
    between two entries (opaque ones, or of any alpha), those whose nearest two entries are
    the closest to a tie."""
    many = 12 * m
    i, j = rng.integers(0, pal.shape[0], size=(2, many))
    t = rng.uniform(0.0, 1.0, size=(many, 1))
    between = pal[i] * (1.0 - t) + pal[j] * t + rng.normal(0.0, 2.0, size=(many, 4))
    want = np.clip(np.rint(between), 0, 255).astype(np.uint8)
    if opaque:
        want[:, 3] = 255
    else:
        want[:, 3] = np.clip(want[:, 3], 1, 254)
    d2 = np.sort(_distances(want, pal, space), axis=1)
    return want[np.argsort(d2[:, 1] - d2[:, 0], kind="stable")[:m]]


def _lookup(want: np.ndarray, pal: np.ndarray, space: str) -> np.ndarray:
    source = AlphaSource(want.reshape(1, -1, 4), pal, space, 1.0)
    got = np.empty(want.shape[0], np.uint8)
    source.lookup(want.shape[0])(np.ascontiguousarray(premultiplied(want).T), got)
    return got


def _assert_nearest(got: np.ndarray, want: np.ndarray, pal: np.ndarray, space: str) -> None:
    d2 = _distances(want, pal, space)
    best = d2.argmin(axis=1)
    wrong = np.flatnonzero(got != best)
    # A different entry only at an exact tie (to rounding).
    gap = d2[wrong, got[wrong]] - d2[wrong, best[wrong]]
    assert np.all(gap <= 1e-9), (want[wrong[:5]], got[wrong[:5]], best[wrong[:5]])


@pytest.mark.parametrize("space", ["lab", "oklab", "rgb"])
@pytest.mark.parametrize("opaque", [True, False], ids=["opaque", "soft"])
def test_lookup_takes_the_exact_nearest_entry_next_to_boundaries(space, opaque):
    rng = np.random.default_rng(5 if opaque else 6)
    for n in (3, 16, 64, 256):
        pal = _palette(rng, n)
        want = _near_boundaries(rng, pal, space, 1500, opaque)
        _assert_nearest(_lookup(want, pal, space), want, pal, space)


@pytest.mark.parametrize("space", ["lab", "oklab"])
def test_lookup_of_any_colour_near_entries_and_the_alpha_ends(space):
    rng = np.random.default_rng(8)
    pal = _palette(rng, 24)
    m = 3000
    i = rng.integers(0, pal.shape[0], size=m)
    want = np.clip(pal[i].astype(np.intp) + rng.integers(-3, 4, size=(m, 4)), 0, 255)
    want[: m // 3, 3] = rng.integers(0, 4, size=m // 3)  # nearly and fully transparent
    want[m // 3 : 2 * m // 3, 3] = rng.integers(251, 256, size=m // 3)  # nearly opaque
    want = want.astype(np.uint8)
    got = _lookup(want, pal, space)
    _assert_nearest(got, want, pal, space)
    # Every fully transparent colour is one point: the entry nearest to nothing.
    assert np.all(got[want[:, 3] == 0] == 0)


@pytest.mark.parametrize("space", ["lab", "oklab", "rgb"])
def test_an_opaque_colours_distance_is_its_distance_to_the_midpoint_plus_the_offset(space):
    rng = np.random.default_rng(9)
    pal = _palette(rng, 20)
    rgb = rng.integers(0, 256, size=(500, 3)).astype(np.uint8)
    want = np.column_stack([rgb, np.full(500, 255, np.uint8)])
    midpoints, offsets = opaque_view(pal, space)
    x = to_space(rgb, space)
    via = ((x[:, None, :] - midpoints[None]) ** 2).sum(axis=2) + offsets
    np.testing.assert_allclose(via, _distances(want, pal, space), rtol=1e-9, atol=1e-7)


def test_element_wise_coordinates_are_those_of_the_working_space():
    rng = np.random.default_rng(2)
    rgba = rng.integers(0, 256, size=(400, 4)).astype(np.uint8)
    for space in ("lab", "oklab", "rgb"):
        coords = alpha_coords(*rgba.T.astype(np.intp), space)
        np.testing.assert_allclose(coords, to_alpha_space(rgba, space), atol=1e-9)


def test_opaque_colours_are_worked_out_as_met_when_not_up_front():
    rng = np.random.default_rng(11)
    pal = _palette(rng, 16)
    nowhere = np.zeros(1 << 18, dtype=bool)
    table = AlphaNearest(pal, "lab", near=nowhere)
    assert (table.opaque.labels == table.opaque.unknown).all()
    want = _near_boundaries(rng, pal, "lab", 800, opaque=True)
    got = np.empty(want.shape[0], np.uint8)
    table.finder(want.shape[0])(np.ascontiguousarray(premultiplied(want).T), got)
    _assert_nearest(got, want, pal, "lab")


def test_rgba_dithering_with_soft_entries_is_the_same_whatever_the_threads():
    rng = np.random.default_rng(3)
    h, w = 96, 160
    y, x = np.mgrid[0:h, 0:w]
    pixels = np.empty((h, w, 4), np.uint8)
    pixels[..., 0] = 255 * x // w
    pixels[..., 1] = 255 * y // h
    pixels[..., 2] = rng.integers(0, 256, size=(h, w)) // 8 + 100
    pixels[..., 3] = np.clip(255 * (1.2 - np.hypot(x - w / 2, y - h / 2) / (h / 2)), 0, 255)
    pal = _palette(rng, 24)
    one = diffuse(pixels, pal, threads=1)
    for threads in (2, 4):
        np.testing.assert_array_equal(one, diffuse(pixels, pal, threads=threads))

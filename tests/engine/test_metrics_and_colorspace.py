"""CIEDE2000 against published reference pairs; colour-space round trips."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui.engine.colorspace import (
    COLOR_SPACES,
    compress_chroma,
    expand_chroma,
    from_space,
    lab_to_linear,
    oklab_to_linear,
    srgb8_to_lab,
    to_space,
)
from kquant_gui.engine.metrics import ciede2000, mean_delta_e2000, psnr

# Sharma, Wu and Dalal (2005), Table 1: pairs chosen to exercise every branch, including the
# hue-angle wrap-around (the last four).
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
]


def test_ciede2000_matches_sharma_reference_pairs():
    a = np.array([p[0] for p in SHARMA])
    b = np.array([p[1] for p in SHARMA])
    expected = np.array([p[2] for p in SHARMA])
    assert np.allclose(ciede2000(a, b), expected, atol=5e-5)
    assert np.allclose(ciede2000(b, a), expected, atol=5e-5)


def test_lab_of_known_colours():
    lab = srgb8_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8))
    assert np.allclose(lab[0], [100, 0, 0], atol=0.01)
    assert np.allclose(lab[1], [0, 0, 0], atol=0.01)
    assert np.allclose(lab[2], [53.24, 80.09, 67.20], atol=0.05)


@pytest.mark.parametrize("space", COLOR_SPACES)
def test_every_8bit_colour_round_trips(space):
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, size=(20000, 3), dtype=np.uint8)
    rgb[:8] = [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0],
               [0, 255, 255], [255, 0, 255]]  # fmt: skip
    assert np.array_equal(from_space(to_space(rgb, space), space), rgb)


#: Far outside the sRGB gamut in each working space: brighter than white with strong chroma,
#: darker than black, and very saturated at mid lightness.
WILD = {
    "lab": [[150.0, 300.0, -300.0], [-20.0, 0.0, 0.0], [50.0, -200.0, 200.0]],
    "oklab": [[150.0, 60.0, -60.0], [-20.0, 0.0, 0.0], [50.0, -50.0, 50.0]],
    "rgb": [[300.0, -40.0, 128.0], [-20.0, 0.0, 0.0], [255.6, 512.0, -0.6]],
}


def _linear_unclipped(coords: np.ndarray, space: str) -> np.ndarray:
    """Linear-light sRGB before any clipping (encoded values / 255 for "rgb")."""
    if space == "lab":
        return lab_to_linear(expand_chroma(coords))
    if space == "oklab":
        return oklab_to_linear(coords)
    return coords / 255.0


@pytest.mark.parametrize("space", COLOR_SPACES)
def test_out_of_gamut_coordinates_are_clipped(space):
    wild = np.array(WILD[space])
    linear = _linear_unclipped(wild, space)
    # Every row really is out of gamut in at least one channel.
    assert np.all(((linear < 0) | (linear > 1)).any(axis=1))
    rng = np.random.default_rng(7)
    inside = np.vstack(
        [rng.integers(0, 256, (300, 3)), [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]]]
    ).astype(np.uint8)
    # Converted together, as a palette is: clipping some entries leaves the others alone.
    out = from_space(np.vstack([wild, to_space(inside, space)]), space)
    clipped, round_trip = out[: len(wild)], out[len(wild) :]
    # A channel below the gamut becomes 0 and one above it 255 (never wrapped around).
    assert np.all(clipped[linear <= 0] == 0)
    assert np.all(clipped[linear >= 1] == 255)
    # In-gamut colours come back exactly.
    assert np.array_equal(round_trip, inside)


def test_chroma_compression_inverts_and_keeps_lightness_and_hue():
    lab = np.array([[50.0, 60.0, -20.0], [70.0, 0.0, 0.0], [20.0, -5.0, 90.0]])
    c = compress_chroma(lab)
    assert np.allclose(expand_chroma(c), lab)
    assert np.allclose(c[:, 0], lab[:, 0])
    assert np.allclose(np.arctan2(c[1:, 2], c[1:, 1]) - np.arctan2(lab[1:, 2], lab[1:, 1]), 0)
    assert np.all(np.hypot(c[:, 1], c[:, 2]) <= np.hypot(lab[:, 1], lab[:, 2]) + 1e-12)


def test_mean_delta_e_and_psnr():
    a = np.zeros((4, 4, 3), np.uint8)
    assert mean_delta_e2000(a, a) == 0.0
    assert psnr(a, a) == float("inf")
    b = a.copy()
    b[0, 0] = (255, 255, 255)
    # One pixel in sixteen is white on black: dE2000(black, white) = 100.
    assert mean_delta_e2000(a, b) == pytest.approx(100 / 16, rel=1e-6)
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / (255**2 / 16)))
    sampled = mean_delta_e2000(a, b, max_pixels=8)
    assert 0.0 <= sampled <= 100 / 8


def test_mean_delta_e_leaves_out_fully_transparent_pixels():
    original = np.zeros((4, 5, 4), dtype=np.uint8)
    original[..., :3] = (200, 40, 40)
    original[:, :2, 3] = 255  # two visible columns; the rest is invisible
    quantized = original.copy()
    quantized[:, 2:, :3] = (0, 0, 255)  # wrong colour, but nobody sees it
    assert mean_delta_e2000(original, quantized) == 0.0
    quantized[0, 0, :3] = (0, 0, 255)  # one visible pixel of eight is wrong
    one = float(
        ciede2000(srgb8_to_lab(np.array([200, 40, 40])), srgb8_to_lab(np.array([0, 0, 255])))
    )
    assert mean_delta_e2000(original, quantized) == pytest.approx(one / 8)
    original[..., 3] = 0
    assert mean_delta_e2000(original, quantized) == 0.0  # nothing visible at all


def test_psnr_leaves_out_fully_transparent_pixels():
    original = np.full((2, 2, 4), 100, dtype=np.uint8)
    original[0, :, 3] = 0
    quantized = original.copy()
    quantized[0, :, :3] = 0  # invisible row
    assert psnr(original, quantized) == float("inf")
    quantized[1, 0, :3] = 110
    assert psnr(original, quantized) == pytest.approx(10 * np.log10(255**2 / 50))

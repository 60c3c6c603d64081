"""ciede2000 with hue vectors gives the formula's figures, term by term, on every kind of pair."""

from __future__ import annotations

import numpy as np

from kquant_gui.engine.colorspace import srgb8_to_lab
from kquant_gui.engine.metrics import ciede2000


def _textbook(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 exactly as Sharma, Wu and Dalal (2005) write it: angles in degrees."""
    (L1, a1, b1), (L2, a2, b2) = np.moveaxis(lab1, -1, 0), np.moveaxis(lab2, -1, 0)
    c = 0.5 * (np.hypot(a1, b1) + np.hypot(a2, b2))
    g = 0.5 * (1 - np.sqrt(c**7 / (c**7 + 25.0**7)))
    p1, p2 = (1 + g) * a1, (1 + g) * a2
    C1, C2 = np.hypot(p1, b1), np.hypot(p2, b2)
    h1, h2 = np.degrees(np.arctan2(b1, p1)) % 360, np.degrees(np.arctan2(b2, p2)) % 360
    chroma = C1 * C2 != 0
    d = h2 - h1
    d = np.where(chroma, np.where(d > 180, d - 360, np.where(d < -180, d + 360, d)), 0)
    dH = 2 * np.sqrt(C1 * C2) * np.sin(np.radians(d) / 2)
    s = h1 + h2
    mean = np.where(np.abs(h1 - h2) <= 180, s / 2, np.where(s < 360, (s + 360) / 2, (s - 360) / 2))
    H = np.where(chroma, mean, s)
    T = (
        1
        - 0.17 * np.cos(np.radians(H - 30))
        + 0.24 * np.cos(np.radians(2 * H))
        + 0.32 * np.cos(np.radians(3 * H + 6))
        - 0.20 * np.cos(np.radians(4 * H - 63))
    )
    Cm = (C1 + C2) / 2
    Lm = (L1 + L2) / 2
    RT = (
        -2
        * np.sqrt(Cm**7 / (Cm**7 + 25.0**7))
        * np.sin(np.radians(60 * np.exp(-(((H - 275) / 25) ** 2))))
    )
    SL = 1 + 0.015 * (Lm - 50) ** 2 / np.sqrt(20 + (Lm - 50) ** 2)
    x, y, z = (L2 - L1) / SL, (C2 - C1) / (1 + 0.045 * Cm), dH / (1 + 0.015 * Cm * T)
    return np.sqrt(x**2 + y**2 + z**2 + RT * y * z)


def test_ciede2000_follows_the_formula_term_by_term() -> None:
    rng = np.random.default_rng(5)
    colours = srgb8_to_lab(rng.integers(0, 256, (40_000, 3)).astype(np.uint8))
    near = srgb8_to_lab(
        np.clip(rng.integers(0, 256, (40_000, 3)) + rng.integers(-2, 3, (40_000, 3)), 0, 255)
    )
    greys = srgb8_to_lab(np.repeat(np.arange(256), 3).reshape(-1, 3).astype(np.uint8))
    pairs = [
        (colours, colours[::-1]),  # far apart
        (colours, near),  # a few levels apart, as a palette entry is from its pixels
        (colours, colours * [1, -1, -1]),  # hues exactly opposite: the mean hue's convention
        (greys, greys[::-1]),  # neutral against neutral
        (greys[:, None], colours[None, :50]),  # neutral against chromatic, broadcast
        (colours, colours),  # identical
    ]
    for lab1, lab2 in pairs:
        expected = _textbook(*np.broadcast_arrays(lab1, lab2))
        got = ciede2000(lab1, lab2)
        assert got.shape == expected.shape
        assert np.allclose(got, expected, rtol=1e-13, atol=1e-12)
    assert np.all(ciede2000(colours, colours) == 0)

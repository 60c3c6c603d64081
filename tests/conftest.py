"""Shared fixtures: small deterministic images built in code."""

from __future__ import annotations

import os

import numpy as np
import pytest

# Every Qt test runs headless; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The window fixtures, defined once for tests/gui and tests/hardening (Qt imported lazily).
pytest_plugins = ["qt_support"]


@pytest.fixture
def photo() -> np.ndarray:
    """A 96x128 photo-like RGB image: smooth gradients, a few objects, mild noise.

    Returns
    -------
    ndarray of uint8, shape (96, 128, 3)
    """
    rng = np.random.default_rng(1234)
    y, x = np.mgrid[0:96, 0:128].astype(np.float64)
    r = 40 + 180 * x / 127
    g = 30 + 160 * y / 95
    b = 120 + 80 * np.sin(x / 9.0) * np.cos(y / 13.0)
    img = np.stack([r, g, b], axis=-1)
    disc = (x - 40) ** 2 + (y - 50) ** 2 < 18**2
    img[disc] = (230, 40, 30)
    img[70:90, 90:120] = (20, 110, 60)
    img += rng.normal(0, 4, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)

"""Small test images for the I/O tests, built in memory (no files from outside the test)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """scikit-learn's china.jpg shrunk to 64x48: a real photo's colours, tiny and fast."""
    from sklearn.datasets import load_sample_image

    img = Image.fromarray(load_sample_image("china.jpg")).resize((64, 48), Image.BICUBIC)
    return np.asarray(img)


@pytest.fixture(scope="session")
def rgba_binary(photo: np.ndarray) -> np.ndarray:
    """The photo with a fully transparent left third (alpha only 0 or 255)."""
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, : photo.shape[1] // 3] = 0
    return np.dstack([photo, alpha])


@pytest.fixture(scope="session")
def rgba_soft(photo: np.ndarray) -> np.ndarray:
    """The photo with a transparent band, then a soft edge of 3 alpha levels, then opaque."""
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, :16] = 0
    alpha[:, 16:18] = 64
    alpha[:, 18:20] = 128
    alpha[:, 20:22] = 192
    return np.dstack([photo, alpha])

"""Image files in and out (Pillow). Placeholder loader; the I/O issue hardens it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class LoadedImage:
    """A decoded image: ``pixels`` uint8 (H, W, 3|4) and where it came from."""

    pixels: np.ndarray
    path: Path


def load_image(path: object) -> LoadedImage:
    """Load ``path`` as RGB or RGBA uint8."""
    p = Path(path)  # type: ignore[arg-type]
    with Image.open(p) as im:
        im = im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB")
        return LoadedImage(np.asarray(im).copy(), p)

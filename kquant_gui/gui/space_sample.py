"""A sample of an image's colours in the clustering space, for the Colour Space view.

Computed in the worker thread (numpy only): a fixed-seed sample of the visible pixels, their
coordinates in the space k-means ran in (CIELAB, OKLab or sRGB), the palette entry each one
went to, and the palette's own coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kquant_gui.engine.colorspace import srgb8_to_lab, srgb8_to_oklab

#: Points drawn: enough to show the shape of the colour cloud, few enough to rotate smoothly.
SAMPLE_SIZE = 4000
#: Axis names per space, as a user reads them.
AXES = {
    "lab": ("L*", "a*", "b*"),
    "oklab": ("L", "a", "b"),
    "rgb": ("red", "green", "blue"),
}


@dataclass(frozen=True)
class SpaceSample:
    """Sampled colours and the palette, in one colour space.

    Attributes
    ----------
    space : str
        "lab", "oklab" or "rgb".
    coords : ndarray of float, shape (n, 3)
    colors : ndarray of uint8, shape (n, 3)
        Each point's own colour.
    labels : ndarray of int, shape (n,)
        The palette entry each point was mapped to.
    palette_coords : ndarray of float, shape (k, 3)
    palette_colors : ndarray of uint8, shape (k, 3)
    """

    space: str
    coords: np.ndarray
    colors: np.ndarray
    labels: np.ndarray
    palette_coords: np.ndarray
    palette_colors: np.ndarray

    @property
    def axis_names(self) -> tuple[str, str, str]:
        """Names of the three axes."""
        return AXES.get(self.space, ("x", "y", "z"))


def to_coords(rgb: np.ndarray, space: str) -> np.ndarray:
    """``rgb`` (n, 3) uint8 in ``space``: CIELAB, OKLab, or sRGB 0-255."""
    if space == "lab":
        return srgb8_to_lab(rgb)
    if space == "oklab":
        return srgb8_to_oklab(rgb)
    return rgb.astype(np.float64)


def sample_space(
    pixels: np.ndarray,
    labels: np.ndarray,
    palette: np.ndarray,
    space: str,
    n: int = SAMPLE_SIZE,
    seed: int = 0,
) -> SpaceSample:
    """Sample up to ``n`` visible pixels of ``pixels`` (H, W, C) with their ``labels`` (H, W).

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    labels : ndarray of int, shape (H, W)
    palette : ndarray of uint8, shape (k, 3) or (k, 4)
    space : str
    n : int
    seed : int
        Fixed, so the same image shows the same cloud.
    """
    flat = pixels.reshape(-1, pixels.shape[-1])
    flat_labels = labels.reshape(-1)
    index = np.arange(flat.shape[0])
    if flat.shape[1] == 4:
        index = index[flat[:, 3] > 0]
    if index.size > n:
        index = np.sort(np.random.default_rng(seed).choice(index, n, replace=False))
    colors = np.ascontiguousarray(flat[index, :3])
    palette_rgb = np.ascontiguousarray(np.asarray(palette)[:, :3]).astype(np.uint8)
    return SpaceSample(
        space,
        to_coords(colors, space),
        colors,
        flat_labels[index].astype(np.intp),
        to_coords(palette_rgb, space),
        palette_rgb,
    )

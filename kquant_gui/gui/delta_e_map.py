"""The per-pixel CIEDE2000 difference of a result, as numbers and as a heat-map picture.

Computed in the worker thread (Qt-free: numpy, and matplotlib's colour maps, which are plain
arrays): only distinct (original, quantized) colour pairs go through the expensive formula,
and every pixel then takes its pair's value, so a photo costs about as much as its number of
distinct colours. The picture maps ΔE 0..:data:`DELTA_E_MAX` onto a perceptually ordered
colour map; larger differences saturate at the top colour.
"""

from __future__ import annotations

import numpy as np

from kquant_gui.engine.colorspace import srgb8_to_lab
from kquant_gui.engine.metrics import ciede2000

#: Top of the colour bar, in ΔE2000 units: beyond ~10 colours are plainly different anyway.
DELTA_E_MAX = 10.0
#: The just-noticeable difference (about 2.3, Mahy et al. 1994), marked on the bar.
JND = 2.3
#: The colour map (matplotlib's "magma": dark for no difference, bright for large).
COLORMAP = "magma"
#: Pairs per batch of the formula, to bound temporary memory on huge photos.
_BATCH = 1 << 20


def delta_e_per_pixel(original: np.ndarray, quantized: np.ndarray) -> np.ndarray:
    """CIEDE2000 between each pixel of ``original`` and ``quantized``.

    Parameters
    ----------
    original, quantized : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        Fully transparent pixels of ``original`` (alpha 0) get 0: they show no colour.

    Returns
    -------
    ndarray of float32, shape (H, W)
    """
    if original.shape != quantized.shape:
        raise ValueError(f"shapes differ: {original.shape} and {quantized.shape}")
    h, w = original.shape[:2]
    a = original.reshape(-1, original.shape[2])[:, :3]
    b = quantized.reshape(-1, quantized.shape[2])[:, :3]
    pairs = np.concatenate([a, b], axis=1)
    keys = np.ascontiguousarray(pairs).view(np.dtype((np.void, 6))).ravel()
    uniq, inverse = np.unique(keys, return_inverse=True)
    uniq_pairs = uniq.view(np.uint8).reshape(-1, 6)
    values = np.empty(uniq_pairs.shape[0], dtype=np.float32)
    for start in range(0, uniq_pairs.shape[0], _BATCH):
        chunk = uniq_pairs[start : start + _BATCH]
        values[start : start + _BATCH] = ciede2000(
            srgb8_to_lab(chunk[:, :3]), srgb8_to_lab(chunk[:, 3:])
        )
    out = values[inverse.ravel()].reshape(h, w)
    if original.shape[2] == 4:
        out[original[..., 3] == 0] = 0.0
    return out


def colormap_table(steps: int = 256) -> np.ndarray:
    """The heat map's colours from ΔE 0 to :data:`DELTA_E_MAX`: shape (steps, 3) uint8."""
    from matplotlib import colormaps

    rgba = colormaps[COLORMAP](np.linspace(0.0, 1.0, steps))
    return np.round(rgba[:, :3] * 255.0).astype(np.uint8)


def heat_picture(delta_e: np.ndarray) -> np.ndarray:
    """``delta_e`` (H, W) as colours (H, W, 3) uint8 on the bar's scale."""
    table = colormap_table()
    index = np.clip(delta_e / DELTA_E_MAX * (len(table) - 1), 0, len(table) - 1)
    return table[np.round(index).astype(np.intp)]

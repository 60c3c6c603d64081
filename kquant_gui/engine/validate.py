"""Checks of `quantize`'s arguments, shared by every entry point that takes them.

Each check returns the value in the form the engine uses, or raises ``ValueError`` with a
message that names the argument, what it got and what is allowed: the CLI and the window show
that message as it is.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from ..options import COLOR_SPACES, DITHERS, ENGINES, K_MAX, K_MIN


def validate_k(k: object) -> int:
    """Return ``k`` as an int, or raise ``ValueError`` naming the allowed range."""
    if isinstance(k, bool) or not isinstance(k, Integral):
        raise ValueError(f"k must be a whole number from {K_MIN} to {K_MAX}, got {k!r}")
    if not K_MIN <= int(k) <= K_MAX:
        raise ValueError(f"k must be from {K_MIN} to {K_MAX}, got {int(k)}")
    return int(k)


def validate_pixels(pixels: object) -> np.ndarray:
    """Return ``pixels`` as a C-contiguous uint8 (H, W, 3|4) array or raise ``ValueError``."""
    if not isinstance(pixels, np.ndarray):
        raise ValueError(
            f"pixels must be a numpy array of uint8 with shape (H, W, 3) or (H, W, 4), "
            f"got {type(pixels).__name__}"
        )
    if pixels.dtype != np.uint8:
        raise ValueError(
            f"pixels must have dtype uint8 (0-255 per channel), got {pixels.dtype}; "
            "convert with np.clip(a, 0, 255).astype(np.uint8) or load the file with "
            "kquant_gui.quantize_image"
        )
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(
            f"pixels must have shape (H, W, 3) for RGB or (H, W, 4) for RGBA, got {pixels.shape}"
        )
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ValueError(f"pixels is empty: shape {pixels.shape}; an image needs H, W >= 1")
    return np.ascontiguousarray(pixels)


def validate_strength(strength: object) -> float:
    """Return ``strength`` as a float in [0, 1], or raise ``ValueError`` saying what is allowed."""
    if isinstance(strength, bool) or not isinstance(strength, Real):
        raise ValueError(f"dither_strength must be a number from 0.0 to 1.0, got {strength!r}")
    if not 0.0 <= float(strength) <= 1.0:  # also rejects NaN
        raise ValueError(f"dither_strength must be from 0.0 to 1.0, got {float(strength)}")
    return float(strength)


def validate_options(
    color_space: object, dither: object, seed: object, engine: object = "numpy"
) -> None:
    """Raise ``ValueError`` unless the colour space, dithering, seed and engine are known."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if color_space not in COLOR_SPACES:
        raise ValueError(
            f"color_space must be one of {', '.join(COLOR_SPACES)}; got {color_space!r}"
        )
    if dither not in DITHERS:
        raise ValueError(f"dither must be one of {', '.join(DITHERS)}; got {dither!r}")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be a whole number from 0 to 2**32 - 1, got {seed!r}")

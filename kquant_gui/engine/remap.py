"""`remap`: map an image onto a palette the user already has (GIMP's "use custom palette",
ImageMagick's ``-remap``); no clustering, every entry kept in the given order."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..options import K_MAX
from .fixed import validate_colors
from .parallel import engine_threads, single_threaded_blas
from .pipeline import _quantize
from .progress import CancelCallback, ProgressCallback
from .result import Quantization
from .validate import validate_options, validate_pixels, validate_strength

__all__ = ["remap"]


def remap(
    pixels: np.ndarray,
    palette: object,
    *,
    color_space: str = "lab",
    dither: str = "none",
    dither_strength: float = 1.0,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    threads: int | None = None,
) -> Quantization:
    """Map every pixel onto the entries of ``palette``.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        sRGB image, optionally with straight alpha (kept as it is).
    palette : array_like of uint8, shape (n, 3) or (n, 4), or hex strings
        The colours to use, 1 to 256 of them; an alpha column is ignored.
    color_space : {"lab", "oklab", "rgb"}
        Space in which "nearest" is measured.
    dither : {"none", "floyd-steinberg", "ordered"}
        As for :func:`kquant_gui.quantize`: our selective error diffusion or an 8x8 Bayer
        matrix, both onto exactly these entries (the palette is never spread outward).
    dither_strength : float
        0.0 to 1.0: how much of the dithering to apply; 0.0 equals ``dither="none"``.
    progress, cancel, threads
        As for :func:`kquant_gui.quantize`.

    Returns
    -------
    Quantization
        ``palette`` equals the given colours in the given order, all of them, even those no
        pixel uses (their count is 0); ``k`` is their number. Fully transparent pixels take
        entry 0 (their alpha stays 0).

    Raises
    ------
    ValueError
        For pixels or options out of range, or a palette that is empty, has more than 256
        entries or is not 8-bit colours.
    """
    pixels = validate_pixels(pixels)
    validate_options(color_space, dither, 0)
    strength = validate_strength(dither_strength)
    colors = validate_colors(palette, "palette", max_count=K_MAX)[:, :3]
    if colors.shape[0] == 0:
        raise ValueError("palette is empty; remap needs at least one colour")
    with engine_threads(threads), single_threaded_blas():
        result = _quantize(
            pixels,
            colors.shape[0],
            color_space,
            dither,
            strength,
            0,
            progress,
            cancel,
            given=colors,
        )
    return replace(result, fixed=colors.copy(), remapped=True)

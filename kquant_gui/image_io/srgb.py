"""Decoded Pillow images as sRGB ``uint8`` arrays: ICC conversion and mode/bit-depth scaling."""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageCms

__all__ = ["ALPHA_MODES", "SRGB_PROFILE", "to_srgb", "to_uint8"]

#: The sRGB profile pixels are converted to, and the one saved files carry.
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


#: Modes whose last band is alpha. Not "A" in the band names: LAB's "A" is the a* axis.
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La", "I;16A"})

# Colours an RGB profile must leave unchanged to count as sRGB: the cube's corners (primaries,
# secondaries, black, white), greys along the tone curve and a few mixed colours.
_PROBE = np.array(
    [[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)]
    + [[v, v, v] for v in (16, 64, 128, 192, 240)]
    + [[200, 60, 40], [40, 160, 90], [50, 70, 200], [240, 200, 30], [120, 40, 160]],
    dtype=np.uint8,
).reshape(1, -1, 3)


@functools.lru_cache(maxsize=32)
def _is_srgb(icc: bytes) -> bool:
    """Whether the RGB profile ``icc`` behaves as sRGB: converting colours with it to sRGB
    changes none by more than 1 in 255.

    Decided from what the profile does (its primaries, white point and tone curves), never from
    its description: a wide-gamut profile may call itself "sRGB", and an sRGB one may not.
    """
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        probe = Image.fromarray(_PROBE, "RGB")
        out = ImageCms.profileToProfile(
            probe, profile, SRGB_PROFILE, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            outputMode="RGB",
        )  # fmt: skip
    except (ImageCms.PyCMSError, OSError, ValueError):
        return False
    assert out is not None
    diff = np.abs(np.asarray(out, dtype=np.int16) - _PROBE.astype(np.int16))
    return int(diff.max()) <= 1


def to_srgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, str | None]:
    """Convert ``im`` from its embedded profile to sRGB; return it and a note if that failed."""
    if not icc:
        return im, None
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im, "the embedded colour profile is damaged; colours were read as sRGB"
    if im.mode != "CMYK" and _is_srgb(bytes(icc)):
        return im, None
    alpha = None
    if im.mode in ("LA", "PA", "P"):
        im = im.convert("RGBA")
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        im = Image.fromarray(_scale_to_uint8(np.asarray(im)))
    if im.mode in ALPHA_MODES:
        alpha = im.getchannel("A")
        im = im.convert("RGB")
    try:
        out = ImageCms.profileToProfile(im, src, SRGB_PROFILE, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im if alpha is None else _with_alpha(im, alpha), (
            "the embedded colour profile could not be applied; colours were read as sRGB"
        )
    assert out is not None  # profileToProfile returns a new image unless inPlace
    return (out if alpha is None else _with_alpha(out, alpha)), None


def _with_alpha(im: Image.Image, alpha: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    rgba.putalpha(alpha)
    return rgba


def _scale_to_uint8(a: np.ndarray) -> np.ndarray:
    """Scale 16-bit (or 32-bit int, or float) samples to 0-255 with rounding, not clipping."""
    if a.dtype.kind == "f":
        a = np.nan_to_num(a.astype(np.float64))
        scale = 255.0 if a.size and a.max() <= 1.0 else 1.0
        return np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)
    # Integer "I" images from 16-bit files hold 0-65535; a wider range would be unusual.
    a = np.clip(a.astype(np.int64), 0, 65535)
    return ((a * 255 + 32767) // 65535).astype(np.uint8)


def to_uint8(im: Image.Image) -> np.ndarray:
    """Pixels of ``im`` as (H, W, 3) or (H, W, 4) uint8, whatever its mode."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        grey = _scale_to_uint8(np.asarray(im))
        if "transparency" in im.info and isinstance(im.info["transparency"], int):
            alpha = np.where(np.asarray(im) == im.info["transparency"], 0, 255).astype(np.uint8)
            return np.dstack([grey, grey, grey, alpha])
        return np.repeat(grey[..., None], 3, axis=2)
    has_alpha = mode in ALPHA_MODES or "transparency" in im.info
    target = "RGBA" if has_alpha else "RGB"
    if mode != target:
        # Pillow converts CMYK, YCbCr, LAB (to sRGB, D65), HSV, 1, L, P and their alpha
        # variants correctly.
        im = im.convert(target)
    return np.array(im, dtype=np.uint8, copy=True)

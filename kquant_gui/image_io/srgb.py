"""Decoded Pillow images as sRGB ``uint8`` arrays: ICC conversion and mode/bit-depth scaling."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageCms

__all__ = ["SRGB_PROFILE", "to_srgb", "to_uint8"]

#: The sRGB profile pixels are converted to, and the one saved files carry.
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    try:
        return "srgb" in ImageCms.getProfileDescription(profile).lower()
    except ImageCms.PyCMSError:
        return False


def to_srgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, str | None]:
    """Convert ``im`` from its embedded profile to sRGB; return it and a note if that failed."""
    if not icc:
        return im, None
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im, "the embedded colour profile is damaged; colours were read as sRGB"
    if _is_srgb(src) and im.mode != "CMYK":
        return im, None
    alpha = None
    if im.mode in ("LA", "PA", "P"):
        im = im.convert("RGBA")
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        im = Image.fromarray(_scale_to_uint8(np.asarray(im)))
    if im.mode in ("RGBA", "LA") or (im.mode != "CMYK" and "A" in im.getbands()):
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
    has_alpha = "A" in im.getbands() or "transparency" in im.info
    if mode in ("RGBa", "La"):
        has_alpha = True
    target = "RGBA" if has_alpha else "RGB"
    if mode != target:
        # Pillow converts CMYK, YCbCr, LAB, HSV, 1, L, P and their alpha variants correctly.
        im = im.convert(target)
    return np.array(im, dtype=np.uint8, copy=True)

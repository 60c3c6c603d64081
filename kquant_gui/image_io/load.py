"""Reading an image file: pixel limit from the header, decode, EXIF orientation, sRGB pixels.

Loading turns any file Pillow reads into sRGB ``uint8`` pixels, shape (H, W, 3) or (H, W, 4):
EXIF orientation applied, an embedded ICC profile converted to sRGB (:mod:`.srgb`), 16-bit data
scaled, and a pixel limit checked from the header before anything is decoded. Safe to call from
a worker thread.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageLoadError, os_reason
from .srgb import SRGB_PROFILE, to_srgb, to_uint8

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["DEFAULT_MAX_PIXELS", "LoadedImage", "load_image"]

# Pillow's own bomb guard is a process-wide setting; it is swapped for ours under this lock.
_PILLOW_LIMIT_LOCK = threading.Lock()

#: Default pixel limit of :func:`load_image` (200 megapixels).
DEFAULT_MAX_PIXELS = 200_000_000

_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image and what is known about its file.

    Attributes
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        sRGB pixels, upright (EXIF orientation applied). Alpha is present only when the file
        has some pixel that is not fully opaque.
    path : pathlib.Path
        The file read.
    format : str
        Pillow's name of the file format, e.g. "JPEG", "PNG".
    mode : str
        Pillow's mode of the file before conversion, e.g. "RGB", "I;16", "CMYK", "P".
    file_size : int
        Size of the file in bytes.
    notes : tuple of str
        Things the user should know about how the file was read, e.g.
        "first frame of an animated GIF (12 frames)".
    icc_profile : bytes or None
        An sRGB ICC profile when the file had an embedded profile (its pixels are now in sRGB),
        for :func:`save_quantized` to carry over; None when the file had none.
    exif : bytes or None
        The file's EXIF block with the orientation reset to 1 (the pixels are already upright).
    """

    pixels: np.ndarray
    path: Path
    format: str = ""
    mode: str = ""
    file_size: int = 0
    notes: tuple[str, ...] = ()
    icc_profile: bytes | None = None
    exif: bytes | None = None

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])

    @property
    def has_alpha(self) -> bool:
        """True when ``pixels`` has an alpha channel."""
        return self.pixels.shape[2] == 4


@contextmanager
def _pillow_limit_off() -> Iterator[None]:
    """Switch off Pillow's bomb guard, which our own ``max_pixels`` check replaces.

    Pillow warns above ~89 MP and refuses above ~179 MP whatever the caller allows, and its
    warning would be printed; ours is configurable and refuses before decoding.
    """
    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def load_image(
    path: os.PathLike[str] | str, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> LoadedImage:
    """Read an image file as sRGB RGB or RGBA ``uint8`` pixels.

    Parameters
    ----------
    path : str or os.PathLike
        Any file Pillow reads (JPEG, PNG, TIFF, WebP, BMP, GIF, ...). Of an animated or
        multi-page file the first frame is read, and ``notes`` says so.
    max_pixels : int, optional
        Refuse images with more pixels than this, judged from the header before decoding.

    Returns
    -------
    LoadedImage
        ``pixels`` of shape (H, W, 3), or (H, W, 4) when some pixel is not fully opaque.

    Raises
    ------
    ImageLoadError
        Missing, empty, unreadable, truncated or non-image file, or too many pixels; the
        message names the file and the reason.
    """
    p = Path(path)
    if not p.exists():
        raise ImageLoadError(p, "no such file")
    if p.is_dir():
        raise ImageLoadError(p, "is a folder, not an image file")
    try:
        file_size = p.stat().st_size
    except OSError as exc:
        raise ImageLoadError(p, os_reason(exc)) from None
    if file_size == 0:
        raise ImageLoadError(p, "the file is empty")

    notes: list[str] = []
    try:
        with _pillow_limit_off():
            # Image.open reads only the header, so the size is known before decoding.
            im = Image.open(p)
            try:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageLoadError(
                        p,
                        f"the image is too large: {w} x {h} = {w * h / 1e6:.0f} megapixels, "
                        f"more than the limit of {max_pixels / 1e6:g} megapixels",
                    )
                frames = int(getattr(im, "n_frames", 1) or 1)
                im.load()
            except BaseException:
                im.close()
                raise
        with im:
            if frames > 1:
                kind = "an animated" if im.format in ("GIF", "PNG", "WEBP") else "a multi-page"
                notes.append(f"first frame of {kind} {im.format} ({frames} frames)")
            fmt, mode = im.format or "", im.mode
            icc = im.info.get("icc_profile")
            upright = ImageOps.exif_transpose(im)
            # Only after transposing: this edits the orientation tag of im's cached EXIF.
            exif = _upright_exif(im)
            srgb, icc_note = to_srgb(upright, icc)
            if icc_note:
                notes.append(icc_note)
            pixels = to_uint8(srgb)
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise ImageLoadError(p, "not an image file, or a format that cannot be read") from None
    except Image.DecompressionBombError:
        raise ImageLoadError(p, "the image is too large to decode safely") from None
    except MemoryError:
        raise ImageLoadError(p, "not enough memory to decode this image") from None
    except PermissionError:
        raise ImageLoadError(p, "permission denied: the file cannot be read") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        # Pillow reports damage with many exception types and terse, internal messages.
        text = str(exc).lower()
        if "truncated" in text or isinstance(exc, EOFError):
            reason = "the file is truncated (incomplete download or copy?)"
        elif isinstance(exc, OSError) and exc.errno is not None:
            reason = os_reason(exc)
        else:
            reason = "the image data is damaged and cannot be decoded"
        raise ImageLoadError(p, reason) from None

    if pixels.shape[2] == 4 and bool((pixels[..., 3] == 255).all()):
        # A fully opaque alpha channel carries nothing; dropping it keeps saved files smaller.
        pixels = np.ascontiguousarray(pixels[..., :3])
    return LoadedImage(
        pixels=pixels,
        path=p,
        format=fmt,
        mode=mode,
        file_size=file_size,
        notes=tuple(notes),
        icc_profile=SRGB_PROFILE.tobytes() if icc else None,
        exif=exif,
    )


def _upright_exif(im: Image.Image) -> bytes | None:
    """The EXIF block with orientation reset to 1, or None when the file has none."""
    try:
        exif = im.getexif()
    except Exception:  # broken EXIF must not stop the image from loading
        return None
    if not exif:
        return None
    if _ORIENTATION_TAG in exif:
        exif[_ORIENTATION_TAG] = 1
    try:
        return exif.tobytes()
    except Exception:  # metadata is optional
        return None

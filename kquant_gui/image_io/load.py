"""Reading an image file: pixel limit from the header, decode, EXIF orientation, sRGB pixels.

Loading turns any file Pillow reads into sRGB ``uint8`` pixels, shape (H, W, 3) or (H, W, 4):
EXIF orientation applied, an embedded ICC profile converted to sRGB (:mod:`.srgb`), 16-bit data
scaled, and a pixel limit checked from the header before anything is decoded. Safe to call from
a worker thread.
"""

from __future__ import annotations

import logging
import os
import re
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

__all__ = ["DEFAULT_MAX_PIXELS", "LoadedImage", "load_image", "pillow_pixel_limit"]

_log = logging.getLogger(__name__)

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


class _PillowLimit:
    """Pillow's bomb guard set to the limit of the loads under way, and restored after them.

    ``Image.MAX_IMAGE_PIXELS`` is one process-wide setting that Pillow also checks inside
    ``Image.open`` for the images embedded in containers (ICO, ICNS), for GIF frames and TIFF
    tiles, so it has to hold our limit while a file is opened and decoded. It refuses above twice
    its value: half our limit makes it refuse exactly what we refuse, and nothing over the limit
    is decoded, wherever it sits in the file. Loads with the same limit run side by side (the
    guard holds the same value for all of them); a load with another limit waits until they are
    done. When the last one finishes the value found before is put back, so other Pillow users
    in the process see their own setting again.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._users = 0
        self._value: int | None = None
        self._saved: int | None = None

    @contextmanager
    def __call__(self, max_pixels: int) -> Iterator[None]:
        value = max(1, -(-max_pixels // 2))  # ceil: Pillow refuses above 2 * value
        with self._cond:
            self._cond.wait_for(lambda: self._users == 0 or self._value == value)
            if self._users == 0:
                self._saved, self._value = Image.MAX_IMAGE_PIXELS, value
                Image.MAX_IMAGE_PIXELS = value
            self._users += 1
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0:
                    Image.MAX_IMAGE_PIXELS = self._saved
                    self._value = None
                    self._cond.notify_all()


#: ``with pillow_pixel_limit(max_pixels):`` scopes Pillow's bomb guard to one load.
pillow_pixel_limit = _PillowLimit()


def _raised_by_pillow(exc: BaseException) -> bool:
    """True when ``exc`` was raised inside Pillow (or a decoder it called), not by our code."""
    tb = exc.__traceback__
    name = ""
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "")
        tb = tb.tb_next
    return name == "PIL" or name.startswith("PIL.")


def _refusal(p: Path, exc: Exception, max_pixels: int | None) -> ImageLoadError:
    """The user's words for a failure Pillow reported while reading ``p``."""
    if isinstance(exc, UnidentifiedImageError):
        return ImageLoadError(p, "not an image file, or a format that cannot be read")
    if isinstance(exc, Image.DecompressionBombError):
        # Pillow says "Image size (N pixels) exceeds limit ..."; N is the whole image, or an
        # image embedded in it (an icon in an ICO).
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)) / 1e6:.0f} megapixels, " if found else ""
        limit = f"{max_pixels / 1e6:g} megapixels" if max_pixels else "what can be decoded safely"
        return ImageLoadError(p, f"the image is too large: {size}more than the limit of {limit}")
    if isinstance(exc, PermissionError):
        return ImageLoadError(p, "permission denied: the file cannot be read")
    text = str(exc).lower()
    if "truncated" in text or isinstance(exc, EOFError):
        return ImageLoadError(p, "the file is truncated (incomplete download or copy?)")
    if isinstance(exc, OSError) and exc.errno is not None:
        return ImageLoadError(p, os_reason(exc))
    return ImageLoadError(p, "the image data is damaged and cannot be decoded")


@contextmanager
def _read_by_pillow(p: Path, max_pixels: int | None = None) -> Iterator[None]:
    """Turn what Pillow raises for a bad file into :class:`ImageLoadError`.

    Pillow reports a damaged file with many exception types (OSError, SyntaxError, ValueError,
    EOFError, struct.error, even IndexError or TypeError) and terse internal messages. Only
    exceptions raised inside Pillow count: the same types raised by our own code are bugs and
    propagate, rather than being shown as a damaged file.
    """
    try:
        yield
    except ImageLoadError:
        raise
    except MemoryError:
        raise ImageLoadError(p, "not enough memory to decode this image") from None
    except Exception as exc:
        if not (_raised_by_pillow(exc) or isinstance(exc, OSError)):
            raise
        # The exception's name and Pillow's words, without a traceback: a bad file is not a bug.
        _log.debug("Pillow could not read %s: %s: %s", p, type(exc).__name__, exc)
        raise _refusal(p, exc, max_pixels) from None


def _open_and_decode(p: Path, max_pixels: int) -> tuple[Image.Image, int]:
    """Open ``p``, check its size from the header, decode it; return it and its frame count."""
    with pillow_pixel_limit(max_pixels), _read_by_pillow(p, max_pixels):
        # Image.open reads only the header (and any image a container holds), so the size is
        # known before the pixels are decoded.
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
    return im, frames


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
        Pillow's own guard holds the same limit while the file is read (see
        :data:`pillow_pixel_limit`), and is restored afterwards.

    Returns
    -------
    LoadedImage
        ``pixels`` of shape (H, W, 3), or (H, W, 4) when some pixel is not fully opaque.

    Raises
    ------
    ImageLoadError
        Missing, empty, unreadable, truncated or non-image file, or too many pixels; the
        message names the file and the reason. Any other exception is a bug, not a bad file.
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
    im, frames = _open_and_decode(p, max_pixels)
    with im:
        if frames > 1:
            kind = "an animated" if im.format in ("GIF", "PNG", "WEBP") else "a multi-page"
            notes.append(f"first frame of {kind} {im.format} ({frames} frames)")
        fmt, mode = im.format or "", im.mode
        icc = im.info.get("icc_profile")
        with _read_by_pillow(p, max_pixels):
            # Pillow parses the EXIF block here; a damaged one is the file's fault.
            upright = ImageOps.exif_transpose(im)
        # Only after transposing: this edits the orientation tag of im's cached EXIF.
        exif = _upright_exif(im)
        srgb, icc_note = to_srgb(upright, icc)
        if icc_note:
            notes.append(icc_note)
        pixels = to_uint8(srgb)

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
    except Exception as exc:  # broken EXIF must not stop the image from loading
        _log.debug(
            "EXIF of %s unreadable, not carried over: %r", getattr(im, "filename", "?"), exc
        )
        return None
    if not exif:
        return None
    if _ORIENTATION_TAG in exif:
        exif[_ORIENTATION_TAG] = 1
    try:
        return exif.tobytes()
    except Exception as exc:  # metadata is optional
        _log.debug(
            "EXIF of %s not re-encodable, not carried over: %r", getattr(im, "filename", "?"), exc
        )
        return None

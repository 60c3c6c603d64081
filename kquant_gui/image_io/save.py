"""Saving a quantized result to a file: format from the extension, encoded, written atomically."""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .atomic import write_atomically
from .encode import encode_quantized, save_format_for, size_limit_reason
from .errors import ImageSaveError
from .png import optimize_png

if TYPE_CHECKING:
    from ..engine import Quantization
    from .load import LoadedImage

__all__ = ["SavedImage", "encode_to_bytes", "save_quantized"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SavedImage:
    """What :func:`save_quantized` wrote. Usable as a path (``os.fspath``, ``Path(saved)``).

    Attributes
    ----------
    path : pathlib.Path
        The file written.
    size : int
        Its size in bytes.
    format : str
        Pillow's name of the format written, e.g. "PNG".
    notes : tuple of str
        What the user should know, e.g. that a PNG had to be saved as RGBA instead of indexed,
        or that JPEG adds colours back.
    """

    path: Path
    size: int
    format: str
    notes: tuple[str, ...] = ()

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        return str(self.path)


def save_quantized(
    result: Quantization,
    path: os.PathLike[str] | str,
    *,
    source: LoadedImage | None = None,
    overwrite: bool = False,
    strip_metadata: bool = False,
    optimize: bool = False,
) -> SavedImage:
    """Save a quantized image; the format follows the extension of ``path``.

    PNG is a true indexed PNG whose palette is ``result.palette`` in the same order (plus, for
    semi-transparent images, extra entries for further alpha levels of an entry), at the
    smallest bit depth that fits; reading it back gives exactly ``result.image``. GIF and BMP
    are indexed too; WebP is lossless; TIFF is deflate-compressed RGB(A); JPEG is lossy.

    Parameters
    ----------
    result : Quantization
        What to save.
    path : str or os.PathLike
        Target file; extension one of :data:`SUPPORTED_SAVE_FORMATS`.
    source : LoadedImage, optional
        The loaded input: its ICC profile (as sRGB) and EXIF (orientation reset) are kept
        where the format allows, and its file is never overwritten unless ``overwrite``.
    overwrite : bool
        Replace an existing file, even the input itself.
    strip_metadata : bool
        Write no ICC profile or EXIF.
    optimize : bool
        For PNG, recompress the written file losslessly with oxipng before it is renamed into
        place: 4-16% smaller on the bench photos, for several times the plain save's time (see the
        README). The palette, its order, the bit depth and the metadata stay as they are. Other
        formats are written as usual, with a note saying so.

    Returns
    -------
    SavedImage
        Path, size in bytes, format and notes for the user.

    Raises
    ------
    ImageSaveError
        Unknown extension (the message lists the supported ones), an image too large for the
        format ("WebP is limited to 16383 px per side ..."), existing file, or a write failure
        (read-only folder, full disk, bad path); nothing partial is left behind.
    """
    p = Path(path)
    fmt = save_format_for(p)
    # Checked before anything is written: the encoders would fail only after a while, in
    # their own words (libjpeg prints a line of its own).
    too_big = size_limit_reason(fmt, result.image.shape[1], result.image.shape[0])
    if too_big:
        raise ImageSaveError(p, too_big)
    notes: tuple[str, ...] = ()

    def write(f: IO[bytes]) -> None:
        nonlocal notes
        if not (optimize and fmt == "PNG"):
            notes = encode_quantized(result, f, fmt, source=source, strip_metadata=strip_metadata)
            return
        data, notes = encode_to_bytes(
            result, fmt, source=source, strip_metadata=strip_metadata, optimize=True
        )
        f.write(data)

    size = write_atomically(
        p, write, overwrite=overwrite, protect=source.path if source is not None else None
    )
    if optimize and fmt != "PNG":
        notes += (_optimize_note(fmt),)
    return SavedImage(path=p, size=size, format=fmt, notes=notes)


def _optimize_note(fmt: str) -> str:
    return f"optimizing applies to PNG only; the {fmt} file was written as usual"


def encode_to_bytes(
    result: Quantization,
    fmt: str,
    *,
    source: LoadedImage | None = None,
    strip_metadata: bool = False,
    optimize: bool = False,
) -> tuple[bytes, tuple[str, ...]]:
    """The bytes :func:`save_quantized` would write in format ``fmt``, and its notes.

    For a caller that must see the file before deciding to write it (``kquant
    --skip-if-larger``); write the bytes with :func:`write_atomically`.

    Parameters
    ----------
    result : Quantization
    fmt : str
        Pillow format name (see :func:`save_format_for`).
    source, strip_metadata, optimize
        As for :func:`save_quantized`.

    Returns
    -------
    data : bytes
    notes : tuple of str
    """
    buf = io.BytesIO()
    notes = encode_quantized(result, buf, fmt, source=source, strip_metadata=strip_metadata)
    data = buf.getvalue()
    del buf
    if optimize and fmt == "PNG":
        plain = len(data)
        data = optimize_png(data)
        _log.debug("oxipng: from %d to %d bytes", plain, len(data))
    elif optimize:
        notes += (_optimize_note(fmt),)
    return data, notes

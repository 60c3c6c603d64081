"""Image files in and out with Pillow; Qt-free.

Loading turns any file Pillow reads into sRGB ``uint8`` pixels, shape (H, W, 3) or (H, W, 4):
EXIF orientation applied, an embedded ICC profile converted to sRGB, 16-bit data scaled, and
a pixel limit checked from the header before anything is decoded. Saving writes exactly the
quantized image: a true indexed PNG (or GIF, BMP) whose palette is the result's palette in the
same order, through a temporary file renamed into place, so a failure never leaves a partial
file behind.

Both directions raise one error type each, :class:`ImageLoadError` and :class:`ImageSaveError`,
whose message names the file and gives a human reason; callers show ``str(error)`` as is.
They are safe to call from a worker thread.
"""

from __future__ import annotations

import ctypes
import errno
import io
import os
import struct
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .names import printable_name

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .engine import Quantization

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "JPEG_NOTE",
    "SUPPORTED_SAVE_FORMATS",
    "ImageIOError",
    "ImageLoadError",
    "ImageSaveError",
    "LoadedImage",
    "SavedImage",
    "discard_temp_files",
    "encode_quantized",
    "estimate_png_size",
    "load_image",
    "save_format_for",
    "save_quantized",
    "write_atomically",
]

#: Default pixel limit of :func:`load_image` (200 megapixels).
DEFAULT_MAX_PIXELS = 200_000_000

#: File extensions :func:`save_quantized` writes, and the Pillow format of each.
SUPPORTED_SAVE_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".gif": "GIF",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
}

#: The note every JPEG save returns: the format cannot hold an exact palette.
JPEG_NOTE = "JPEG compression adds colours back; save as PNG to keep exactly the palette"

_ORIENTATION_TAG = 0x0112
_SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# Pillow's own bomb guard is a process-wide setting; it is swapped for ours under this lock.
_PILLOW_LIMIT_LOCK = threading.Lock()
# Read once at import, while the process is single-threaded: os.umask can only be read by
# setting it, which would race with other threads creating files.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class ImageIOError(Exception):
    """A file could not be read or written; ``str()`` is a complete message for the user.

    Attributes
    ----------
    path : pathlib.Path
        The file concerned.
    reason : str
        Why, in plain words (no Pillow internals).
    """

    def __init__(self, path: os.PathLike[str] | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        # Escaped: a name that is not UTF-8, or holds control characters, prints as it is.
        super().__init__(f"{printable_name(self.path)}: {reason}")


class ImageLoadError(ImageIOError):
    """An image file could not be opened: missing, not an image, damaged or too large."""


class ImageSaveError(ImageIOError):
    """An image or palette file could not be written; nothing was left behind."""


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


# --------------------------------------------------------------------------------------------
# Loading


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
    try:
        # exists() and is_dir() raise, rather than answer False, for a name over 255 bytes.
        if not p.exists():
            raise ImageLoadError(p, "no such file")
        if p.is_dir():
            raise ImageLoadError(p, "is a folder, not an image file")
        file_size = p.stat().st_size
    except OSError as exc:
        raise ImageLoadError(p, _os_reason(exc)) from None
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
            srgb, icc_note = _to_srgb(upright, icc)
            if icc_note:
                notes.append(icc_note)
            pixels = _to_uint8(srgb)
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
            reason = _os_reason(exc)
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
        icc_profile=_SRGB_PROFILE.tobytes() if icc else None,
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


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    try:
        return "srgb" in ImageCms.getProfileDescription(profile).lower()
    except ImageCms.PyCMSError:
        return False


def _to_srgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, str | None]:
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
        out = ImageCms.profileToProfile(im, src, _SRGB_PROFILE, outputMode="RGB")
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


def _to_uint8(im: Image.Image) -> np.ndarray:
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


def _os_reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno == errno.ENOENT:
        return "no such file or folder"
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    if exc.errno == errno.EISDIR:
        return "is a folder"
    return (exc.strerror or str(exc)).rstrip(".").lower()


# --------------------------------------------------------------------------------------------
# Encoding


def save_format_for(path: os.PathLike[str] | str) -> str:
    """Pillow format name for the extension of ``path``.

    Raises
    ------
    ImageSaveError
        For an extension not in :data:`SUPPORTED_SAVE_FORMATS`; the message lists them.
    """
    p = Path(path)
    fmt = SUPPORTED_SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        shown = p.suffix or "no extension"
        raise ImageSaveError(
            p,
            f"cannot save as {shown!r}; supported formats: "
            + ", ".join(sorted({e for e in SUPPORTED_SAVE_FORMATS if e not in (".tif", ".jpeg")})),
        )
    return fmt


@dataclass(frozen=True)
class _PngPlan:
    """How a result becomes a PNG: indexed planes, or ``index`` None for RGBA and a note."""

    index: np.ndarray | None  # uint8 (H, W)
    palette: np.ndarray  # uint8 (m, 3), m <= 256
    trns: bytes | None
    note: str | None = None


def _png_plan(result: Quantization) -> _PngPlan:
    """The result as PNG palette indices, palette and tRNS alpha table.

    The PNG palette is the result's palette in the same order. With alpha, each entry gets the
    alpha most of its pixels have; other (entry, alpha) pairs become extra entries after the
    palette while they fit in 256, else the image has to stay RGBA.
    """
    labels = result.labels
    palette = result.palette
    n = palette.shape[0]
    if not result.has_alpha:
        return _PngPlan(labels, palette, None)

    alpha = result.image[..., 3]
    # One bincount over (entry, alpha) codes: linear time, unlike np.unique's sort.
    code = labels.astype(np.int32) << 8
    code |= alpha
    pairs = np.bincount(code.ravel(), minlength=n << 8).reshape(n, 256)
    main_alpha = pairs.argmax(axis=1)
    extra_entry, extra_alpha = np.nonzero(pairs)
    is_extra = extra_alpha != main_alpha[extra_entry]
    extra_entry, extra_alpha = extra_entry[is_extra], extra_alpha[is_extra]
    total = n + extra_entry.size
    if total > 256:
        note = (
            f"saved as an RGBA PNG, not indexed: the semi-transparent edges need {total} "
            "palette entries (colour, alpha), more than 256"
        )
        return _PngPlan(None, palette, None, note)
    table = np.concatenate([main_alpha, extra_alpha]).astype(np.uint8)
    full_palette = np.concatenate([palette, palette[extra_entry]])
    index = labels
    if extra_entry.size:
        lut = np.repeat(np.arange(n, dtype=np.uint8), 256).reshape(n, 256)
        lut[extra_entry, extra_alpha] = np.arange(n, total).astype(np.uint8)
        index = lut.ravel()[code]
    # Trailing opaque entries need no tRNS byte.
    opaque_tail = np.flatnonzero(table != 255)
    trns = table[: opaque_tail[-1] + 1].tobytes() if opaque_tail.size else None
    return _PngPlan(index, full_palette, trns)


#: Raw PNG data from this size up is deflated in parts on the engine's threads.
PARALLEL_DEFLATE_BYTES = 4 << 20
#: Deflate's window: each part is primed with this much of the data before it.
_DEFLATE_WINDOW = 32 << 10


def _deflate_rows(raw: np.ndarray, level: int) -> bytes:
    """One zlib stream of ``raw`` (PNG scanlines, shape (h, 1 + row bytes)).

    Large images are split into parts by rows (as pigz does): each part is raw deflate primed
    with the 32 KiB before it, ended on a byte boundary (Z_SYNC_FLUSH), the last one finished;
    a zlib header and the Adler-32 of the whole wrap them. zlib drops the interpreter lock
    while it works, so on two cores a 24 MP save spends about half as long compressing, and
    the file differs from a single-stream one by a few bytes. The parts depend only on the
    image size, so the bytes are the same on every machine and thread count.

    The parts run on threads of their own, not the engine's pool: the window limits that to
    one thread so as not to fight its main thread for the interpreter lock, which compressing
    does not hold.
    """
    data = raw.reshape(-1)
    if data.nbytes < PARALLEL_DEFLATE_BYTES:
        packer = zlib.compressobj(level, zlib.DEFLATED, 15, 9)
        return packer.compress(raw.data) + packer.flush()
    from concurrent.futures import ThreadPoolExecutor

    from kquant_gui.engine.parallel import split

    row_bytes = raw.shape[1]

    def part(rows: tuple[int, int]) -> bytes:
        begin, end = rows[0] * row_bytes, rows[1] * row_bytes
        primed = data[max(0, begin - _DEFLATE_WINDOW) : begin].tobytes()
        extra = {"zdict": primed} if primed else {}
        packer = zlib.compressobj(level, zlib.DEFLATED, -15, 9, **extra)
        last = end == data.nbytes
        body = packer.compress(data[begin:end].data)
        return body + packer.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)

    ranges = split(raw.shape[0])
    with ThreadPoolExecutor(max_workers=min(len(ranges), os.cpu_count() or 1)) as pool:
        parts = list(pool.map(part, ranges))
    # CMF 0x78: deflate with a 32 KiB window; FLG: the level class, made a multiple of 31.
    level_class = 3 if level >= 7 else 2 if level == 6 else 1 if level >= 2 else 0
    header = 0x7800 | level_class << 6
    header += (31 - header % 31) % 31
    adler = zlib.adler32(data.data)
    return b"".join([struct.pack(">H", header), *parts, struct.pack(">I", adler)])


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(tag))
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def _write_indexed_png(fp: IO[bytes], plan: _PngPlan, meta: dict[str, Any]) -> None:
    """Write an indexed PNG: smallest bit depth, no row filter, zlib level 9 (6 at 8 bits).

    Written here rather than by Pillow, whose encoder filters palette rows adaptively: on
    quantized photos that makes files about a quarter larger, and takes twice as long.
    """
    assert plan.index is not None
    index, palette = plan.index, plan.palette
    h, w = index.shape
    m = palette.shape[0]
    bits = 1 if m <= 2 else 2 if m <= 4 else 4 if m <= 16 else 8
    if bits < 8:
        per_byte = 8 // bits
        pad = (-w) % per_byte
        idx = np.pad(index, ((0, 0), (0, pad))) if pad else index
        idx = idx.reshape(h, -1, per_byte)
        rows = np.zeros(idx.shape[:2], np.uint8)
        for j in range(per_byte):
            rows |= idx[..., j] << np.uint8(8 - bits * (j + 1))
    else:
        rows = np.ascontiguousarray(index, dtype=np.uint8)
    # Filter type 0 (none) in front of every row.
    raw = np.empty((h, rows.shape[1] + 1), np.uint8)
    raw[:, 0] = 0
    raw[:, 1:] = rows
    # At 8 bits per pixel level 9 takes 2.5x as long as level 6 (2.6 s against 1.1 s for
    # 24 MP) for files under 1% smaller; packed 1-4 bit rows gain ~7% from it.
    idat = _deflate_rows(raw, 9 if bits < 8 else 6)
    del raw, rows

    out = [
        b"\x89PNG\r\n\x1a\n",
        _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, 3, 0, 0, 0)),
    ]
    icc = meta.get("icc_profile")
    if icc:
        out.append(_png_chunk(b"iCCP", b"sRGB\0\0" + zlib.compress(icc, 9)))
    out.append(_png_chunk(b"PLTE", np.ascontiguousarray(palette, dtype=np.uint8).tobytes()))
    if plan.trns:
        out.append(_png_chunk(b"tRNS", plan.trns))
    exif = meta.get("exif")
    if exif:
        # PNG's eXIf holds the TIFF-structured block without the JPEG "Exif" header.
        out.append(_png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif))
    for part in out:
        fp.write(part)
    # IDAT in 1 MiB chunks, as encoders usually do; readers accept any split.
    step = 1 << 20
    for start in range(0, len(idat), step):
        fp.write(_png_chunk(b"IDAT", idat[start : start + step]))
    fp.write(_png_chunk(b"IEND", b""))


def _p_image(index: np.ndarray, palette: np.ndarray) -> Image.Image:
    h, w = index.shape
    im = Image.frombytes("P", (w, h), np.ascontiguousarray(index, dtype=np.uint8).tobytes())
    # Pillow sizes PLTE (and picks the 1/2/4/8-bit depth) from the palette's length.
    im.putpalette(np.ascontiguousarray(palette, dtype=np.uint8).tobytes(), rawmode="RGB")
    return im


def _gif_image(result: Quantization) -> tuple[Image.Image, int | None, str | None]:
    """The result as a "P" image for GIF, its transparent index and a note.

    GIF has one fully transparent index and no partial alpha: alpha below 128 becomes
    transparent, the rest opaque.
    """
    labels, palette = result.labels, result.palette
    if not result.has_alpha:
        return _p_image(labels, palette), None, None
    alpha = result.image[..., 3]
    clear = alpha < 128
    partial = int(np.count_nonzero((alpha > 0) & (alpha < 255)))
    note = (
        f"GIF has no partial transparency: {partial} semi-transparent pixels were made fully "
        "transparent or opaque"
        if partial
        else None
    )
    if not clear.any():
        return _p_image(labels, palette), None, note
    ti = result.transparent_index
    if (
        ti is not None
        and bool((labels[clear] == ti).all())
        and not bool((labels[~clear] == ti).any())
    ):
        return _p_image(labels, palette), ti, note
    n = palette.shape[0]
    if n >= 256:
        msg = "GIF transparency lost: all 256 entries hold colours; save as PNG to keep it"
        return _p_image(labels, palette), None, msg
    index = labels.copy()
    index[clear] = n
    return _p_image(index, np.vstack([palette, np.zeros((1, 3), np.uint8)])), n, note


def _metadata(source: LoadedImage | None, strip: bool, fmt: str) -> dict[str, Any]:
    if source is None or strip or fmt in ("GIF", "BMP"):
        return {}
    meta: dict[str, Any] = {}
    if source.icc_profile:
        meta["icc_profile"] = source.icc_profile
    if source.exif:
        meta["exif"] = source.exif
    return meta


def _on_white(image: np.ndarray) -> np.ndarray:
    """RGB of ``image`` composited onto white, the background most viewers assume."""
    if image.shape[2] == 3:
        return np.ascontiguousarray(image)
    a = image[..., 3:4].astype(np.uint16)
    rgb = (image[..., :3] * a + 255 * (255 - a) + 127) // 255
    return rgb.astype(np.uint8)


def encode_quantized(
    result: Quantization,
    fp: IO[bytes],
    fmt: str,
    *,
    source: LoadedImage | None = None,
    strip_metadata: bool = False,
) -> tuple[str, ...]:
    """Write ``result.image`` to an open binary file in format ``fmt``.

    Parameters
    ----------
    result : Quantization
        The result to write.
    fp : binary file
        Where to write.
    fmt : {"PNG", "GIF", "WEBP", "TIFF", "BMP", "JPEG"}
        Pillow format name (see :func:`save_format_for`).
    source : LoadedImage, optional
        The image the result came from; its ICC profile and EXIF are carried over where the
        format allows.
    strip_metadata : bool
        Write no ICC profile or EXIF.

    Returns
    -------
    tuple of str
        Notes for the user (e.g. RGBA fallback, JPEG adding colours back).
    """
    meta = _metadata(source, strip_metadata, fmt)
    notes: list[str] = []
    image = result.image
    if fmt == "PNG":
        plan = _png_plan(result)
        if plan.index is not None:
            _write_indexed_png(fp, plan, meta)
        else:
            Image.fromarray(np.ascontiguousarray(image)).save(fp, "PNG", compress_level=9, **meta)
            notes.append(str(plan.note))
    elif fmt == "GIF":
        im, ti, note = _gif_image(result)
        # optimize=False: Pillow's GIF optimizer may drop or reorder palette entries.
        kwargs: dict[str, Any] = {"optimize": False}
        if ti is not None:
            kwargs["transparency"] = ti
        im.save(fp, "GIF", **kwargs)
        notes += [note] if note else []
    elif fmt == "BMP":
        if result.has_alpha:
            # Pillow, and most readers, ignore a BMP's alpha channel.
            notes.append("BMP keeps no transparency; transparent areas were put on white")
            Image.fromarray(_on_white(image)).save(fp, "BMP")
        else:
            _p_image(result.labels, result.palette).save(fp, "BMP")
    elif fmt == "WEBP":
        # exact=True keeps the colour under fully transparent pixels, so it reads back exactly.
        Image.fromarray(np.ascontiguousarray(image)).save(
            fp, "WEBP", lossless=True, quality=100, method=4, exact=True, **meta
        )
    elif fmt == "TIFF":
        Image.fromarray(np.ascontiguousarray(image)).save(
            fp, "TIFF", compression="tiff_adobe_deflate", **meta
        )
    elif fmt == "JPEG":
        if result.has_alpha:
            notes.append("JPEG has no transparency; transparent areas were put on white")
        Image.fromarray(_on_white(image)).save(
            fp, "JPEG", quality=95, subsampling=0, optimize=True, **meta
        )
        notes.append(JPEG_NOTE)
    else:
        raise ValueError(
            f"unknown format {fmt!r}; use one of {sorted(set(SUPPORTED_SAVE_FORMATS.values()))}"
        )
    return tuple(notes)


def estimate_png_size(result: Quantization, *, max_pixels: int = 4_000_000) -> int:
    """Size in bytes of the indexed PNG :func:`save_quantized` would write (no metadata).

    Exact up to ``max_pixels``; above, bands of rows spread over the image are encoded and the
    size scaled up, which keeps the estimate within a few percent at a fraction of the time.

    Parameters
    ----------
    result : Quantization
        The result to measure.
    max_pixels : int
        Largest image encoded whole.

    Returns
    -------
    int
        Bytes.
    """
    h, w = result.labels.shape
    if h * w <= max_pixels:
        buf = io.BytesIO()
        encode_quantized(result, buf, "PNG", strip_metadata=True)
        return buf.tell()
    # Bands of rows, not single rows: zlib's window spans a few rows, so each band compresses
    # as it would inside the whole image.
    band = 16
    n_bands = min(max(8, max_pixels // (w * band)), h // band)
    starts = np.linspace(0, h - band, n_bands).astype(int)
    rows = np.concatenate([np.arange(s, s + band) for s in starts])
    sample = replace(result, image=result.image[rows], labels=result.labels[rows])
    buf = io.BytesIO()
    encode_quantized(sample, buf, "PNG", strip_metadata=True)
    return round(buf.tell() * h / rows.size)


# --------------------------------------------------------------------------------------------
# Saving


def write_atomically(
    path: os.PathLike[str] | str,
    write: Callable[[IO[bytes]], Any],
    *,
    overwrite: bool = False,
    protect: os.PathLike[str] | str | None = None,
) -> int:
    """Write a file through a temporary file in the same folder, then rename it into place.

    Parameters
    ----------
    path : str or os.PathLike
        Target file.
    write : callable(file)
        Writes the content to the open binary file it is given.
    overwrite : bool
        Replace an existing file (including ``protect``).
    protect : str or os.PathLike, optional
        A file that must not be replaced unless ``overwrite`` (the input image).

    Returns
    -------
    int
        Bytes written.

    Raises
    ------
    ImageSaveError
        The target exists (without ``overwrite``), is the protected input, or cannot be
        written; no temporary file is left behind and an existing target is unchanged.
    """
    p = Path(path)
    try:
        # These checks raise, rather than answer False, for a name longer than 255 bytes.
        if p.is_dir():
            raise ImageSaveError(p, "is a folder; give a file name")
        if not overwrite:
            if protect is not None and _same_file(p, Path(protect)):
                raise ImageSaveError(
                    p, "this is the input file; refusing to overwrite it unless forced"
                )
            if p.exists():
                raise ImageSaveError(p, "the file already exists; choose overwrite to replace it")
        folder = p.parent
        if not folder.is_dir():
            raise ImageSaveError(p, f"the folder {folder} does not exist")
    except OSError as exc:
        raise ImageSaveError(p, _os_reason(exc)) from None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=_temp_prefix(p), suffix=".part")
    except OSError as exc:
        raise ImageSaveError(
            p, f"cannot write to the folder {folder}: {_os_reason(exc)}"
        ) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            size = f.tell()
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the permissions any new file would get.
        mode = (p.stat().st_mode & 0o777) if p.exists() else (0o666 & ~_UMASK)
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, p)
        else:
            _publish_new(tmp, p)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise ImageSaveError(
                p, "the file already exists (written meanwhile by another program); not replaced"
            ) from None
        if isinstance(exc, OSError):
            raise ImageSaveError(p, f"cannot write the file: {_os_reason(exc)}") from None
        if isinstance(exc, MemoryError):
            raise ImageSaveError(p, "not enough memory to encode the image") from None
        raise
    return size


def _temp_prefix(target: Path, pid: int | None = None) -> str:
    """Start of the temporary names for ``target`` written by process ``pid`` (default: this one).

    The writer's process id is in the name, so that a batch whose worker died can remove exactly
    what that worker left. The name adds about 25 bytes to the target's: a long but valid target
    name must not fail for want of room, so then only its start is kept (30 characters are at
    most 120 bytes in UTF-8).
    """
    hint = target.name if len(os.fsencode(target.name)) <= 120 else target.name[:30]
    return f".{hint}.{os.getpid() if pid is None else pid}."


def discard_temp_files(target: os.PathLike[str] | str, pid: int) -> None:
    """Remove the temporary files that process ``pid`` left while writing ``target``.

    For a process that was killed (SIGKILL leaves it no chance to clean up): the writer's
    temporary name is ``.<name>.<pid>.<random>.part`` beside the target.
    """
    p = Path(target)
    prefix = _temp_prefix(p, pid)
    try:
        with os.scandir(p.parent) as entries:
            for entry in entries:
                if entry.name.startswith(prefix) and entry.name.endswith(".part"):
                    Path(entry.path).unlink(missing_ok=True)
    except OSError:  # the folder is gone or unreadable: nothing of ours can be in it
        pass


def _rename_noreplace_linux() -> Callable[[Path, Path], None] | None:
    """``renameat2(RENAME_NOREPLACE)`` from the C library, or None where it is missing."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):  # glibc < 2.28, or another C library
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_noreplace = -100, 1

    def rename(src: Path, dst: Path) -> None:
        if func(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), rename_noreplace) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(src), None, str(dst))

    return rename


_renameat2 = _rename_noreplace_linux()
# Errors saying a file system cannot do a rename without replacing, or hard links.
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV}
_UNSUPPORTED |= {getattr(errno, "ENOTSUP", errno.EOPNOTSUPP), errno.EMLINK}


def _publish_new(tmp: Path, target: Path) -> None:
    """Give the finished ``tmp`` the name ``target``, failing if ``target`` now exists.

    The existence check made before writing is long past: another program (or a second
    kquant) may have created ``target`` meanwhile, and a plain rename would silently replace
    its file. Best first: an atomic rename that refuses to replace (Linux ``renameat2``;
    Windows' rename always refuses), then a hard link, which fails if the name is taken,
    followed by removing the temporary name; on file systems with neither (FAT, some network
    shares), a last check just before the rename.

    Raises
    ------
    FileExistsError
        ``target`` exists; ``tmp`` is left for the caller to remove.
    """
    if sys.platform == "win32":
        os.rename(tmp, target)  # raises FileExistsError if target exists
        return
    if _renameat2 is not None:
        try:
            _renameat2(tmp, target)
            return
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
            if exc.errno not in _UNSUPPORTED:
                raise
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
        if target.exists() or target.is_symlink():
            raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def save_quantized(
    result: Quantization,
    path: os.PathLike[str] | str,
    *,
    source: LoadedImage | None = None,
    overwrite: bool = False,
    strip_metadata: bool = False,
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

    Returns
    -------
    SavedImage
        Path, size in bytes, format and notes for the user.

    Raises
    ------
    ImageSaveError
        Unknown extension (the message lists the supported ones), existing file, or a write
        failure (read-only folder, full disk, bad path); nothing partial is left behind.
    """
    p = Path(path)
    fmt = save_format_for(p)
    notes: tuple[str, ...] = ()

    def write(f: IO[bytes]) -> None:
        nonlocal notes
        notes = encode_quantized(result, f, fmt, source=source, strip_metadata=strip_metadata)

    size = write_atomically(
        p, write, overwrite=overwrite, protect=source.path if source is not None else None
    )
    return SavedImage(path=p, size=size, format=fmt, notes=notes)

"""Reading an image file: pixel limit from the header, decode, EXIF orientation, sRGB pixels.

Loading turns any file Pillow reads into sRGB ``uint8`` pixels, shape (H, W, 3) or (H, W, 4):
EXIF orientation applied, an embedded ICC profile converted to sRGB (:mod:`.srgb`), 16-bit data
scaled, and a pixel limit checked from the header before anything is decoded. Safe to call from
a worker thread.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps

from .containers import largest_frame
from .errors import ImageLoadError, os_reason
from .exif import portable_exif
from .reasons import c_messages, refusal
from .srgb import SRGB_PROFILE, to_srgb, to_uint8

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "ALPHA_WEIGHT",
    "DEFAULT_MAX_PIXELS",
    "LoadedImage",
    "load_image",
    "pillow_pixel_limit",
    "readable_extensions",
    "register_heif",
]

_log = logging.getLogger(__name__)

#: Default pixel limit of :func:`load_image` (200 megapixels).
DEFAULT_MAX_PIXELS = 200_000_000
#: An image that keeps transparency counts this many times its pixels against the limit: the
#: engine's memory for it is larger (measured at k=16, quantized and saved as PNG: 199 MP with
#: soft alpha peaked at 4.8 GB, 120 MP at 2.9 GB; 199 MP opaque quantized in 1.6 GB).
ALPHA_WEIGHT = 5 / 3


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
        "first frame of an animated GIF used".
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


@contextmanager
def _read_by_pillow(
    p: Path, max_pixels: int | None = None, *, file_access: bool = True
) -> Iterator[None]:
    """Turn what Pillow raises for a bad file into :class:`ImageLoadError`.

    Pillow reports a damaged file with many exception types (OSError, SyntaxError, ValueError,
    EOFError, NotImplementedError, struct.error, even IndexError or TypeError) and terse
    internal messages; libtiff prints its own lines on stderr, which are caught meanwhile and
    kept in the log (see :func:`.reasons.c_messages`). Only exceptions raised inside Pillow
    count (and, with ``file_access``, OSError from reading the file): the same types raised
    by our own code are bugs and propagate, rather than being shown as a damaged file.
    """
    failure: BaseException | None = None
    with c_messages() as said:
        try:
            yield
        except ImageLoadError:
            raise
        except MemoryError as exc:
            failure = exc
        except Exception as exc:
            if not (_raised_by_pillow(exc) or (file_access and isinstance(exc, OSError))):
                raise
            failure = exc
    if failure is not None:
        # The exception's name and Pillow's words, without a traceback: a bad file is not a bug.
        _log.debug("Pillow could not read %s: %s: %s", p, type(failure).__name__, failure)
        raise refusal(p, failure, max_pixels, said) from None


_heif_lock = threading.Lock()
_heif_registered: bool | None = None

#: Formats whose Pillow plugin is always registered but needs a codec library that a given
#: Pillow build may lack (the feature name :func:`PIL.features.check` knows it by).
_NEEDS_CODEC = {"AVIF": "avif", "JPEG2000": "jpg_2000", "WEBP": "webp"}


def register_heif() -> bool:
    """Let Pillow read HEIC / HEIF (the iPhone's default) through ``pi-heif``.

    ``pi-heif`` is the decode-only build of ``pillow-heif`` (same plugin, no HEIC encoder):
    reading is all we need, and the encoder would add 23 MB to the packaged app.

    Registering a plugin is how Pillow is extended (once per process, like its own plugins);
    it happens at the first load rather than at import, so importing the package stays cheap.

    Returns
    -------
    bool
        False when ``pi-heif`` is not installed (HEIC then is not offered).
    """
    global _heif_registered
    with _heif_lock:
        if _heif_registered is None:
            try:
                from pi_heif import register_heif_opener
            except ImportError:
                _heif_registered = False
            else:
                register_heif_opener()
                _heif_registered = True
    return _heif_registered


def readable_extensions() -> frozenset[str]:
    """Extensions (``".heic"``) of the formats this installation can really decode.

    Pillow registers some plugins (AVIF, JPEG 2000, WebP) whether or not it was built with
    their codec; those count only when the codec is there.
    """
    from PIL import features

    register_heif()
    Image.init()
    readable = set()
    for ext, fmt in Image.registered_extensions().items():
        if fmt not in Image.OPEN:
            continue
        feature = _NEEDS_CODEC.get(fmt)
        if feature is None or features.check(feature):
            readable.add(ext.lower())
    return frozenset(readable)


def _too_large(p: Path, w: int, h: int, max_pixels: int, what: str = "image") -> ImageLoadError:
    return ImageLoadError(
        p,
        f"the {what} is too large: {w} x {h} = {w * h / 1e6:.0f} megapixels, "
        f"more than the limit of {max_pixels / 1e6:g} megapixels",
    )


def _in_iso_media_box(p: Path) -> bool:
    """Whether ``p`` starts like an ISO media file (HEIC, HEIF, AVIF): an ``ftyp`` box first.

    An unreadable file answers False: opening it then fails with the usual reason.
    """
    try:
        with open(p, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head[4:8] == b"ftyp"


def _open_and_decode(p: Path, max_pixels: int) -> tuple[Image.Image, str | None]:
    """Open ``p``, check its size from the header, decode it; return it and a note when the
    file holds more frames or pages than the first (never counted: a header may claim two
    billion frames, and counting a TIFF's pages walks them all)."""
    if _in_iso_media_box(p):
        register_heif()  # only for HEIC/AVIF: importing the plugin costs every other file time
    with pillow_pixel_limit(max_pixels), _read_by_pillow(p, max_pixels):
        # Image.open reads only the header (and any image a container holds), so the size is
        # known before the pixels are decoded.
        im = Image.open(p)
        try:
            w, h = im.size
            if w * h > max_pixels:
                raise _too_large(p, w, h, max_pixels)
            note = _more_frames_note(im)
            im.load()
        except BaseException:
            im.close()
            raise
    return im, note


def _more_frames_note(im: Image.Image) -> str | None:
    """ "first frame of an animated GIF used" when there is a second frame (or page)."""
    if im.format == "TIFF":
        # The offset of the next page, from the first page's header: nothing else is read.
        more = bool(getattr(getattr(im, "tag_v2", None), "next", 0))
    else:
        more = bool(getattr(im, "is_animated", False))
    if not more:
        return None
    if im.format in ("GIF", "PNG", "WEBP"):
        return f"first frame of an animated {im.format} used"
    what = "page" if im.format in ("TIFF", "PDF", "DCX", "PSD") else "frame"
    return f"first {what} of a multi-{what} {im.format} used"


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
        :data:`pillow_pixel_limit`), and is restored afterwards. An image that keeps
        transparency counts :data:`ALPHA_WEIGHT` (5/3) times its pixels, checked once decoded
        (a fully opaque alpha channel is dropped and does not count): 120 of the default 200
        megapixels.

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
    file_size = _regular_file_size(p)
    if file_size == 0:
        raise ImageLoadError(p, "the file is empty")
    _refuse_large_frames(p, max_pixels)

    notes: list[str] = []
    im, frames_note = _open_and_decode(p, max_pixels)
    with im:
        if frames_note:
            notes.append(frames_note)
        fmt, mode = im.format or "", im.mode
        icc = im.info.get("icc_profile")
        try:
            upright = ImageOps.exif_transpose(im)
        except Exception as exc:  # damaged EXIF: the pixels are still good
            if not _raised_by_pillow(exc):
                raise
            _log.debug("EXIF of %s unreadable: %r", p, exc)
            notes.append("the EXIF metadata is damaged and was ignored (orientation not applied)")
            upright = im
        # Only after transposing: this edits the orientation tag of im's cached EXIF.
        exif = portable_exif(im)
        with _read_by_pillow(p, max_pixels, file_access=False):
            srgb, icc_note = to_srgb(upright, icc)
            if icc_note:
                notes.append(icc_note)
            pixels = to_uint8(srgb)

    if pixels.shape[2] == 4 and bool((pixels[..., 3] == 255).all()):
        # A fully opaque alpha channel carries nothing; dropping it keeps saved files smaller.
        pixels = np.ascontiguousarray(pixels[..., :3])
    h, w = pixels.shape[:2]
    if pixels.shape[2] == 4 and h * w * ALPHA_WEIGHT > max_pixels:
        raise ImageLoadError(
            p,
            f"the image is too large for one with transparency: {w} x {h} = "
            f"{w * h / 1e6:.0f} megapixels; with transparency the limit is "
            f"{max_pixels / ALPHA_WEIGHT / 1e6:.0f} megapixels (it takes more memory)",
        )
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


def _regular_file_size(p: Path) -> int:
    """The size of ``p``, refused unless it is a regular file (with the reason why not)."""
    try:
        st = os.stat(p)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageLoadError(p, "a loop of symbolic links, which leads to no file") from None
        if exc.errno == errno.ENOENT:
            raise ImageLoadError(p, "no such file") from None
        raise ImageLoadError(p, os_reason(exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageLoadError(p, "is a folder, not an image file")
    if not stat.S_ISREG(st.st_mode):
        # Reading a pipe waits for a writer, a device may never end: neither is opened.
        kinds = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket"}
        kind = kinds.get(stat.S_IFMT(st.st_mode), "a device or other special file")
        raise ImageLoadError(p, f"is {kind}, not an image file")
    return st.st_size


def _refuse_large_frames(p: Path, max_pixels: int) -> None:
    """Refuse an icon container (ICO, CUR, ICNS) whose largest frame, by its own header, is
    over the limit: Pillow would decode it while opening the file, whatever the directory says."""
    try:
        with open(p, "rb") as f:
            head = f.read(16)
        size = largest_frame(p, head)
    except OSError:  # unreadable: Image.open will say why
        return
    if size is not None and size[0] * size[1] > max_pixels:
        raise _too_large(p, size[0], size[1], max_pixels, "icon's largest frame")

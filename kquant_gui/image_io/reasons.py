"""Why a file could not be read, in plain words: Pillow's exceptions, libtiff's own messages.

Pillow reports a bad file with many exception types (OSError, SyntaxError, ValueError,
EOFError, NotImplementedError, struct.error, ...) and terse internal messages; a C library it
calls (libtiff) may also print its own lines on the process's stderr. :func:`c_messages` catches
those lines around a decode, so that they neither break the one-line promise of the command line
nor get lost: they are the reason, kept in the log. :func:`refusal` turns all of it into an
:class:`~.errors.ImageLoadError` that names the file and says why.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import struct
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from PIL import Image, TiffImagePlugin, UnidentifiedImageError

from .errors import ImageLoadError, os_reason

__all__ = ["c_messages", "refusal", "tiff_compression"]

_log = logging.getLogger(__name__)

#: TIFF compression schemes by their tag value, for "compressed with X".
TIFF_COMPRESSIONS = {
    2: "CCITT RLE", 3: "CCITT Group 3", 4: "CCITT Group 4", 5: "LZW", 6: "old-style JPEG",
    7: "JPEG", 8: "Deflate", 32773: "PackBits", 32809: "ThunderScan", 32946: "Deflate",
    33003: "Aperio JPEG 2000", 33005: "Aperio JPEG 2000", 34661: "JBIG", 34676: "SGILog",
    34677: "SGILog24", 34712: "JPEG 2000", 34887: "LERC", 34892: "lossy JPEG", 34925: "LZMA",
    50000: "Zstandard", 50001: "WebP", 50002: "JPEG XL", 65000: "Kodak DCR",
}  # fmt: skip


class _Fd2Capture:
    """File descriptor 2 sent to a temporary file while any decode is under way.

    fd 2 belongs to the whole process: loads on several threads share one capture (the first
    to start installs it, the last to finish puts stderr back), and each is given what was
    written during its own span, which may hold another thread's lines too: they are only
    logged, and a reason is taken from them only when it names this file's own codec.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._sink: IO[bytes] | None = None
        self._saved = -1

    @contextlib.contextmanager
    def __call__(self) -> Iterator[list[str]]:
        lines: list[str] = []
        try:
            os.fstat(2)
        except OSError:  # no stderr at all (a windowed app on Windows): nothing to catch
            yield lines
            return
        with self._lock:
            if self._users == 0:
                for stream in (sys.stderr, sys.__stderr__):  # Python's buffered text first
                    with contextlib.suppress(AttributeError, OSError, ValueError):
                        stream.flush()
                self._sink = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the last user
                self._saved = os.dup(2)
                os.dup2(self._sink.fileno(), 2)
            self._users += 1
            sink = self._sink
            assert sink is not None
            start = os.fstat(sink.fileno()).st_size
        try:
            yield lines
        finally:
            with self._lock:
                end = os.fstat(sink.fileno()).st_size
                # pread: the shared file offset (fd 2 writes there) stays where it is.
                data = os.pread(sink.fileno(), min(end - start, 1 << 16), start)
                self._users -= 1
                if self._users == 0:
                    os.dup2(self._saved, 2)
                    os.close(self._saved)
                    sink.close()
                    self._sink = None
            text = data.decode("utf-8", "replace")
            lines.extend(line for line in text.splitlines() if line.strip())
            for line in lines:
                _log.debug("C library said: %s", line)


#: ``with c_messages() as said:`` catches what C libraries write on stderr meanwhile.
c_messages = _Fd2Capture()


def tiff_compression(path: Path) -> int | None:
    """The Compression tag of a TIFF's first image, read from the file; None if not a TIFF."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
            order = {b"II": "<", b"MM": ">"}.get(head[:2])
            if order is None:
                return None
            (version,) = struct.unpack(order + "H", head[2:4])
            if version == 42:
                (ifd,) = struct.unpack(order + "I", head[4:8])
                entry, count_fmt, value_at = 12, "H", 8
            elif version == 43:  # BigTIFF
                (ifd,) = struct.unpack(order + "Q", head[8:16])
                entry, count_fmt, value_at = 20, "Q", 12
            else:
                return None
            f.seek(ifd)
            count_size = struct.calcsize(count_fmt)
            (n,) = struct.unpack(order + count_fmt, f.read(count_size))
            table = f.read(entry * min(n, 4096))
    except (OSError, struct.error):
        return None
    for i in range(len(table) // entry):
        tag, kind = struct.unpack_from(order + "HH", table, i * entry)
        if tag == 259 and kind in (3, 4):
            value = struct.unpack_from(
                order + ("H" if kind == 3 else "I"), table, i * entry + value_at
            )
            return int(value[0])
    return 1


def _missing_tiff_codec(path: Path, said: list[str]) -> str | None:
    """The name of a TIFF compression this build cannot decode, if that is why it failed."""
    code = tiff_compression(path)
    if code is None or code == 1:
        return None
    name = TIFF_COMPRESSIONS.get(code, f"compression scheme {code}")
    unknown_to_pillow = code not in TiffImagePlugin.COMPRESSION_INFO
    # libtiff: "WEBP compression support is not configured" (about this file's own codec).
    first_word = name.split()[0].lower()
    not_configured = any(
        "support is not configured" in line and first_word in line.lower() for line in said
    )
    return name if unknown_to_pillow or not_configured else None


def _plugin_format(exc: BaseException) -> str:
    """The format whose Pillow plugin raised ``exc`` ("DDS" for PIL.DdsImagePlugin), or ""."""
    tb, found = exc.__traceback__, ""
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "")
        match = re.fullmatch(r"PIL\.(\w+)ImagePlugin", name)
        if match:
            found = match.group(1).upper()
        tb = tb.tb_next
    return found


def _unsupported(exc: NotImplementedError, fmt: str) -> str:
    """Pillow knows this kind of file but cannot decode it: which part, in words."""
    text = str(exc).lower()
    what = "pixel format" if ("pixel format" in text or "dxgi" in text) else "variant"
    if "compression" in text:
        what = "compression"
    elif "mode" in text:
        what = "colour mode"
    return f"{fmt + ' ' if fmt else ''}{what} not supported ({exc})".replace(" ()", "")


def refusal(
    p: Path, exc: BaseException, max_pixels: int | None, said: list[str] | None = None
) -> ImageLoadError:
    """The user's words for a failure while reading ``p``.

    Parameters
    ----------
    p : pathlib.Path
        The file.
    exc : BaseException
        What Pillow (or a decoder it called) raised.
    max_pixels : int or None
        The limit in force, for "too large".
    said : list of str, optional
        What C libraries wrote on stderr meanwhile (see :func:`c_messages`).
    """
    said = said or []
    codec = _missing_tiff_codec(p, said) if not isinstance(exc, MemoryError) else None
    if codec is not None:
        return ImageLoadError(
            p, f"the TIFF is compressed with {codec}, which this build cannot read"
        )
    if isinstance(exc, UnidentifiedImageError):
        return ImageLoadError(p, "not an image file, or a format that cannot be read")
    if isinstance(exc, Image.DecompressionBombError):
        # Pillow says "Image size (N pixels) exceeds limit ..."; N is the whole image, or an
        # image embedded in it (an icon in an ICO).
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)) / 1e6:.0f} megapixels, " if found else ""
        limit = f"{max_pixels / 1e6:g} megapixels" if max_pixels else "what can be decoded safely"
        return ImageLoadError(p, f"the image is too large: {size}more than the limit of {limit}")
    if isinstance(exc, MemoryError):
        return ImageLoadError(p, "not enough memory to decode this image")
    if isinstance(exc, PermissionError):
        return ImageLoadError(p, "permission denied: the file cannot be read")
    if isinstance(exc, NotImplementedError):
        return ImageLoadError(p, _unsupported(exc, _plugin_format(exc)))
    text = str(exc).lower()
    if "ghostscript" in text:
        return ImageLoadError(
            p, "EPS and PostScript files need Ghostscript to be drawn, and it is not installed"
        )
    if "truncated" in text or isinstance(exc, EOFError):
        return ImageLoadError(p, "the file is truncated (incomplete download or copy?)")
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno == errno.ELOOP:
            return ImageLoadError(p, "a loop of symbolic links, which leads to no file")
        return ImageLoadError(p, os_reason(exc))
    return ImageLoadError(p, "the image data is damaged and cannot be decoded")

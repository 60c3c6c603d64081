"""The real size of every frame in an icon container (ICO, CUR, ICNS), from the frame's header.

An icon file's directory lists small sizes (at most 256 x 256 in ICO, 1024 x 1024 in ICNS), but
each entry points at a PNG, BMP or JPEG 2000 frame that states its own size, and Pillow decodes
the chosen frame while it opens the file. :func:`largest_frame` reads every frame's own header,
without decoding anything, so that a frame over the pixel limit is refused before Pillow gets to
it, whatever the directory claims.
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["largest_frame"]

_PNG = b"\x89PNG\r\n\x1a\n"
_J2K_CODESTREAM = b"\xff\x4f\xff\x51"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
# More entries than any real icon holds: beyond, the file is not walked further.
_MAX_ENTRIES = 1024


def largest_frame(path: Path, head: bytes) -> tuple[int, int] | None:
    """(width, height) of the largest frame of an ICO, CUR or ICNS file; None for others.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    head : bytes
        Its first bytes (at least 8), to tell the kind of file.
    """
    if head[:4] in (b"\0\0\1\0", b"\0\0\2\0"):
        sizes = _ico_frames(path)
    elif head[:4] == b"icns":
        sizes = _icns_frames(path)
    else:
        return None
    return max(sizes, key=lambda s: s[0] * s[1], default=None)


def _frame_size(data: bytes) -> tuple[int, int] | None:
    """Size stated by a PNG, JPEG 2000 or BMP (DIB) frame's header, from its first bytes."""
    if data.startswith(_PNG) and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data.startswith(_J2K_CODESTREAM) and len(data) >= 24:
        # SIZ: length, capabilities, then the reference grid and the image offset on it.
        xsiz, ysiz, xo, yo = struct.unpack(">IIII", data[8:24])
        return max(xsiz - xo, 0), max(ysiz - yo, 0)
    if data.startswith(_JP2_SIGNATURE):
        return _jp2_size(data)
    if len(data) >= 12 and struct.unpack("<I", data[:4])[0] in (12, 40, 52, 56, 108, 124):
        if struct.unpack("<I", data[:4])[0] == 12:  # OS/2 core header: 16-bit sizes
            w, h = struct.unpack("<HH", data[4:8])
        else:
            w, h = struct.unpack("<ii", data[4:12])
        # An icon's BMP holds the image and its mask one above the other: half the height.
        return abs(w), abs(h) // 2
    return None


def _jp2_size(data: bytes) -> tuple[int, int] | None:
    """Size from a JP2 file's image header box (jp2h > ihdr)."""
    at = 0
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"jp2h":
            inner = at + 8
            while inner + 16 <= len(data):
                sub_len, sub_kind = struct.unpack(">I4s", data[inner : inner + 8])
                if sub_kind == b"ihdr":
                    h, w = struct.unpack(">II", data[inner + 8 : inner + 16])
                    return w, h
                if sub_len < 8:
                    return None
                inner += sub_len
            return None
        if length < 8:
            return None
        at += length
    return None


def _ico_frames(path: Path) -> list[tuple[int, int]]:
    sizes = []
    with open(path, "rb") as f:
        header = f.read(6)
        if len(header) < 6:
            return []
        (count,) = struct.unpack("<H", header[4:6])
        entries = [f.read(16) for _ in range(min(count, _MAX_ENTRIES))]
        for entry in entries:
            if len(entry) < 16:
                break
            listed = (entry[0] or 256, entry[1] or 256)
            (offset,) = struct.unpack("<I", entry[12:16])
            f.seek(offset)
            sizes.append(_frame_size(f.read(64)) or listed)
    return sizes


def _icns_frames(path: Path) -> list[tuple[int, int]]:
    sizes = []
    with open(path, "rb") as f:
        header = f.read(8)
        if len(header) < 8:
            return []
        (total,) = struct.unpack(">I", header[4:8])
        at = 8
        for _ in range(_MAX_ENTRIES):
            if at + 8 > total:
                break
            f.seek(at)
            entry = f.read(8)
            if len(entry) < 8:
                break
            (length,) = struct.unpack(">I", entry[4:8])
            if length <= 8:
                break
            # JP2 files put their image header a little way in: read enough to reach it.
            size = _frame_size(f.read(min(length - 8, 4096)))
            if size is not None:
                sizes.append(size)
            at += length
    return sizes

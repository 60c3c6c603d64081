"""Helpers that write test image files by hand, where Pillow cannot or should not."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageCms


def swapped_profile() -> bytes:
    """An RGB ICC profile that is sRGB with red and blue primaries swapped.

    Pixels tagged with it must load with red and blue exchanged, which proves the profile was
    applied; its description does not say "sRGB", so it is not mistaken for sRGB.
    """
    b = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    n = struct.unpack(">I", b[128:132])[0]
    tags = {}
    for i in range(n):
        sig, off, size = struct.unpack(">4sII", b[132 + 12 * i : 144 + 12 * i])
        tags[sig] = (i, off, size)
    ir, off_r, size_r = tags[b"rXYZ"]
    ib, off_b, size_b = tags[b"bXYZ"]
    struct.pack_into(">4sII", b, 132 + 12 * ir, b"rXYZ", off_b, size_b)
    struct.pack_into(">4sII", b, 132 + 12 * ib, b"bXYZ", off_r, size_r)
    return bytes(b).replace("sRGB".encode("utf-16-be"), "swap".encode("utf-16-be"))


def png16(pixels: np.ndarray) -> bytes:
    """A 16-bit RGB or RGBA PNG written by hand (Pillow cannot write one)."""
    h, w, c = pixels.shape
    raw = b"".join(b"\0" + pixels[y].astype(">u2").tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(tag + data))
        return struct.pack(">I", len(data)) + tag + data + crc

    color_type = {3: 2, 4: 6}[c]
    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` RGB pixels but holds only one row of data."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(tag + data))
        return struct.pack(">I", len(data)) + tag + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = zlib.compress(bytes(1 + 3 * width))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", row)


def encode(pixels: np.ndarray, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt, **kwargs)
    return buf.getvalue()

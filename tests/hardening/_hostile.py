"""Builders of hostile and odd files that Pillow opens: containers hiding huge frames,
formats Pillow knows but cannot decode, metadata that lies, structures that take long to walk.

Everything is built in code, byte by byte where Pillow cannot write the file, and is small:
the "huge" images only claim their size in a header.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from _corpus import encode, png_chunk, png_claiming, small_photo
from PIL import Image, ImageCms

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- containers -------------------------------------------------------------------------------


def ico_holding(frame: bytes, *, listed: tuple[int, int] = (256, 256), bpp: int = 32) -> bytes:
    """An ICO whose one directory entry (listing ``listed``) points at ``frame``."""
    w, h = (0 if v >= 256 else v for v in listed)
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", w, h, 0, 0, 1, bpp, len(frame), 6 + 16)
    return header + entry + frame


def dib_claiming(width: int, height: int) -> bytes:
    """An ICO's BMP frame (BITMAPINFOHEADER, image plus mask: height doubled) claiming a size."""
    return struct.pack("<IiiHHIIiiII", 40, width, 2 * height, 1, 32, 0, 0, 0, 0, 0, 0) + bytes(64)


def icns_holding(frame: bytes, kind: bytes = b"ic10") -> bytes:
    """An ICNS with one element of type ``kind`` (ic10: the 1024x1024 PNG/JPEG 2000 slot)."""
    element = kind + struct.pack(">I", 8 + len(frame)) + frame
    return b"icns" + struct.pack(">I", 8 + len(element)) + element


def j2k_claiming(width: int, height: int) -> bytes:
    """A JPEG 2000 codestream whose SIZ marker claims ``width`` x ``height`` RGB, then stops."""
    siz = struct.pack(">HHIIIIIIIIH", 38 + 9, 0, width, height, 0, 0, width, height, 0, 0, 3)
    siz += bytes([7, 1, 1]) * 3
    return b"\xff\x4f\xff\x51" + siz + b"\xff\x52" + bytes(64)


def png_frame_claiming(width: int, height: int) -> bytes:
    """A PNG claiming ``width`` x ``height`` whose data ends after one row (about 3 kB)."""
    return png_claiming(width, height) + png_chunk(b"IEND", b"")


# -- formats Pillow recognises but does not implement -----------------------------------------


def dds(pixel_format: bytes, *, dxgi: int | None = None, width: int = 8, height: int = 8) -> bytes:
    """A DDS with the given 32-byte pixel format block (and DX10 header with ``dxgi``)."""
    flags = 0x1 | 0x2 | 0x4 | 0x1000  # caps, height, width, pixel format
    header = struct.pack("<7I", 124, flags, height, width, width * 4, 0, 1) + bytes(44)
    header += pixel_format + struct.pack("<4I", 0x1000, 0, 0, 0) + bytes(4)
    body = b"DDS " + header
    if dxgi is not None:
        body += struct.pack("<5I", dxgi, 3, 0, 1, 0)
    return body + bytes(width * height * 16)


def dds_fourcc(fourcc: bytes) -> bytes:
    """A DDS whose compressed pixel format is ``fourcc`` (flag DDPF_FOURCC)."""
    return dds(struct.pack("<4I", 32, 0x4, int.from_bytes(fourcc, "little"), 0) + bytes(16))


def dds_flags(pfflags: int) -> bytes:
    """A DDS whose pixel format flags name no layout Pillow decodes (YUV, alpha only, ...)."""
    return dds(struct.pack("<4I", 32, pfflags, 0, 32) + bytes(16))


def dds_dxgi(dxgi_format: int) -> bytes:
    """A DX10 DDS with a DXGI format Pillow lists but cannot decode (e.g. 2: RGBA float32)."""
    return dds(struct.pack("<4I", 32, 0x4, int.from_bytes(b"DX10", "little"), 0) + bytes(16),
               dxgi=dxgi_format)  # fmt: skip


# -- TIFF -------------------------------------------------------------------------------------


def _tiff_entries(data: bytes) -> tuple[int, int]:
    """(offset of the first IFD, number of its entries) of a little-endian TIFF."""
    assert data[:4] == b"II*\0"
    ifd = struct.unpack_from("<I", data, 4)[0]
    return ifd, struct.unpack_from("<H", data, ifd)[0]


def tiff_with_compression(code: int) -> bytes:
    """A small RGB TIFF whose Compression tag says ``code`` (its strip is then garbage)."""
    buf = io.BytesIO()
    Image.fromarray(small_photo()).save(buf, "TIFF")
    data = bytearray(buf.getvalue())
    ifd, n = _tiff_entries(data)
    for i in range(n):
        entry = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, entry)[0] == 259:
            struct.pack_into("<HHIH", data, entry, 259, 3, 1, code)
    return bytes(data)


def tiff_pages(n_pages: int) -> bytes:
    """A TIFF of ``n_pages`` 8x8 grey pages sharing one strip, written by hand (fast)."""
    width = height = 8
    strip = bytes(range(0, 256, 4)) * 1  # 64 bytes: one 8x8 page
    out = bytearray(b"II*\0" + struct.pack("<I", 0))
    strip_at = len(out)
    out += strip
    tags = [(256, 3, width), (257, 3, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
            (273, 4, strip_at), (277, 3, 1), (278, 3, height), (279, 4, len(strip))]  # fmt: skip
    ifd_size = 2 + 12 * len(tags) + 4
    first = len(out)
    struct.pack_into("<I", out, 4, first)
    for page in range(n_pages):
        at = first + page * ifd_size
        nxt = at + ifd_size if page + 1 < n_pages else 0
        ifd = struct.pack("<H", len(tags))
        for tag, kind, value in tags:
            ifd += struct.pack("<HHI", tag, kind, 1)
            ifd += struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        out += ifd + struct.pack("<I", nxt)
    return bytes(out)


def tiff_in_mode(mode: str, *, with_metadata: bool = True) -> bytes:
    """A TIFF in Pillow ``mode`` (1, L, LA, P, I;16, I, F, CMYK, RGBA, LAB, ...) with some
    real EXIF-type metadata (Make, Model, Artist) among its structural tags."""
    photo = small_photo(7)
    if mode in ("I;16", "I", "F"):
        grey = photo.mean(axis=2)
        array = {"I;16": (grey * 257).astype(np.uint16), "I": (grey * 1000).astype(np.int32),
                 "F": (grey / 255).astype(np.float32)}[mode]  # fmt: skip
        im = Image.fromarray(array)
        if mode == "I;16":
            im = im.convert("I;16") if im.mode != "I;16" else im
    elif mode == "LA":
        im = Image.fromarray(photo).convert("L")
        im.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1))))
    elif mode == "P":
        im = Image.fromarray(photo).quantize(16)
    else:
        im = Image.fromarray(photo).convert(mode)
    buf = io.BytesIO()
    info = {271: "Camera maker", 272: "Model 9", 315: "A. Photographer"} if with_metadata else {}
    im.save(buf, "TIFF", tiffinfo=info)
    return buf.getvalue()


# -- colour -----------------------------------------------------------------------------------


def lab_tiff(lab: tuple[int, int, int]) -> bytes:
    """A 16x16 CIELab TIFF of one colour, in Pillow's LAB encoding (L 0-255, a/b offset)."""
    buf = io.BytesIO()
    Image.new("LAB", (16, 16), lab).save(buf, "TIFF")
    return buf.getvalue()


def lab_psd(lab: tuple[int, int, int], *, with_alpha: bool = False) -> bytes:
    """A 16x16 Photoshop file in Lab mode (9), raw planes, written by hand."""
    w = h = 16
    channels = 4 if with_alpha else 3
    head = b"8BPS" + struct.pack(">H6xHIIHH", 1, channels, h, w, 8, 9)
    planes = b"".join(bytes([v]) * (w * h) for v in lab)
    if with_alpha:
        planes += b"\xff" * (w * h)
    return head + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0) + planes


def icc_wide_gamut_named_srgb() -> bytes:
    """A display profile called "sRGB IEC61966-2.1" whose primaries are Adobe RGB's.

    Made from LittleCMS's own sRGB profile: the description is rewritten to the usual sRGB
    name, and the red, green and blue colorants (D50) are replaced by Adobe RGB (1998)'s.
    """
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    adobe = {b"rXYZ": (0.6097, 0.3111, 0.0195), b"gXYZ": (0.2053, 0.6257, 0.0609),
             b"bXYZ": (0.1492, 0.0632, 0.7446)}  # fmt: skip
    (count,) = struct.unpack_from(">I", data, 128)
    for i in range(count):
        sig, offset, size = struct.unpack_from(">4sII", data, 132 + 12 * i)
        if sig in adobe:
            xyz = [round(v * 65536) for v in adobe[sig]]
            struct.pack_into(">3i", data, offset + 8, *xyz)
        elif sig == b"desc":
            _rewrite_description(data, offset, size, "sRGB IEC61966-2.1")
    struct.pack_into(">16x", data, 84)  # the profile ID (MD5) no longer holds: zero = none
    return bytes(data)


def _rewrite_description(data: bytearray, offset: int, size: int, text: str) -> None:
    kind = bytes(data[offset : offset + 4])
    if kind == b"mluc":
        n, rec = struct.unpack_from(">II", data, offset + 8)
        for j in range(n):
            length, at = struct.unpack_from(">II", data, offset + 16 + rec * j + 4)
            room = length // 2
            encoded = text[:room].ljust(room).encode("utf-16-be")
            data[offset + at : offset + at + len(encoded)] = encoded
    elif kind == b"desc":
        (length,) = struct.unpack_from(">I", data, offset + 8)
        encoded = text[: length - 1].ljust(length - 1).encode("ascii") + b"\0"
        data[offset + 12 : offset + 12 + length] = encoded


def jpeg_with_profile(pixels: np.ndarray, icc: bytes) -> bytes:
    return encode(pixels, "JPEG", quality=95, icc_profile=icc)


# -- metadata ---------------------------------------------------------------------------------


def camera_exif() -> Image.Exif:
    """EXIF as a camera writes it: IFD0 tags, an Exif sub-IFD and a GPS sub-IFD."""
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif[0x0110] = "Model 9"
    exif[0x0112] = 1
    exif[0x0132] = "2024:05:01 10:00:00"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2024:05:01 10:00:00"  # DateTimeOriginal
    sub[0x829A] = (1, 250)  # ExposureTime
    sub[0xA002], sub[0xA003] = 64, 48  # PixelXDimension, PixelYDimension
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.0)
    gps[3], gps[4] = "E", (2.0, 17.0, 40.0)
    return exif


def camera_jpeg() -> bytes:
    return encode(small_photo(11), "JPEG", quality=90, exif=camera_exif().tobytes())


def png_with_text(keyword: str, text: str) -> bytes:
    """A valid PNG carrying a tEXt chunk ``keyword``: ``text`` before its image data."""
    data = encode(small_photo(12), "PNG")
    at = data.index(b"IDAT") - 4
    chunk = png_chunk(b"tEXt", keyword.encode("latin-1") + b"\0" + text.encode("latin-1"))
    return data[:at] + chunk + data[at:]


def apng_claiming_frames(n_frames: int) -> bytes:
    """An APNG whose acTL says ``n_frames`` frames; it holds one."""
    data = encode(small_photo(13), "PNG")
    w, h = struct.unpack_from(">II", data, 16)
    at = data.index(b"IDAT") - 4
    actl = png_chunk(b"acTL", struct.pack(">II", n_frames, 0))
    fctl = png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, w, h, 0, 0, 1, 10, 0, 0))
    return data[:at] + actl + fctl + data[at:]


def minimal_eps() -> bytes:
    """A tiny valid EPS (a grey square); Pillow needs Ghostscript to draw it."""
    body = (
        "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\n"
        "0.5 setgray 0 0 16 16 rectfill\nshowpage\n%%EOF\n"
    )
    return body.encode("ascii")


def raw_png(width: int, height: int, rows: bytes) -> bytes:
    """A grey 8-bit PNG from raw filtered rows (for exact control of its data)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (PNG_MAGIC + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows))
            + png_chunk(b"IEND", b""))  # fmt: skip

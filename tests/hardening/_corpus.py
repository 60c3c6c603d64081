"""The hostile-file corpus: bad and odd image files, written by the tests into a folder.

Nothing here comes from outside the test run: every file is built from a small synthetic photo
so that the corpus is the same on every machine and takes milliseconds to write.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

#: Offsets at which the JPEG and PNG are cut: inside the signature, inside the first header,
#: just after it, in the middle of the pixel data and a few bytes before the end of the data.
CUT_FRACTIONS = (0.01, 0.05, 0.15, 0.5, 0.8)


@dataclass(frozen=True)
class Case:
    """One file of the corpus.

    Attributes
    ----------
    name : str
        Test id.
    path : pathlib.Path
        The file (or folder, or link).
    words : str
        Words the error message must contain (bad files only).
    """

    name: str
    path: Path
    words: str = ""


def small_photo(seed: int = 0, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A photo-like (H, W, 3) uint8 image: gradients, a disc, a little noise."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack(
        [40 + 180 * x / w, 30 + 160 * y / h, 120 + 80 * np.sin(x / 7 + seed) * np.cos(y / 9)], -1
    )
    img[(x - w / 3) ** 2 + (y - h / 2) ** 2 < (h / 4) ** 2] = (230, 40, 30)
    img += np.random.default_rng(seed).normal(0, 4, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def encode(pixels: np.ndarray, fmt: str, mode: str | None = None, **kwargs: object) -> bytes:
    """``pixels`` encoded as ``fmt`` bytes (optionally converted to Pillow ``mode`` first)."""
    im = Image.fromarray(pixels)
    if mode is not None:
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_chunk(tag: bytes, data: bytes) -> bytes:
    """A PNG chunk with its length and a correct CRC."""
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` RGB pixels, with one row of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = zlib.compress(bytes(1 + 3 * min(width, 1000)))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", row)


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header is rewritten to claim ``width`` x ``height``."""
    data = bytearray(encode(small_photo(), "JPEG"))
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def png_with_bad_header_crc() -> bytes:
    """A valid PNG whose IHDR checksum is wrong (the damage Pillow does check)."""
    data = bytearray(encode(small_photo(), "PNG"))
    data[29] ^= 0xFF  # 8 signature + 4 length + 4 tag + 13 data: first CRC byte
    return bytes(data)


def tiff_with_bad_tag() -> bytes:
    """A TIFF whose ImageDescription points past the end of the file: Pillow warns, then fails."""
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buf, "TIFF", tiffinfo={270: "d" * 100})
    data = bytearray(buf.getvalue())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, entry)[0] == 270:
            struct.pack_into("<I", data, entry + 8, len(data) + 1000)
    return bytes(data)


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder`` with a hash of its content: proves nothing was written."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[str(p)] = "link" if p.is_symlink() else "dir"
    return out


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def bad_files(folder: Path) -> list[Case]:
    """Files that must be refused with a clear message: every case but the unreadable one."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    cases = [
        Case("empty-png", write(folder, "empty.png", b""), "empty"),
        Case("empty-jpg", write(folder, "empty.jpg", b""), "empty"),
    ]
    for ext in ("png", "jpg", "gif", "tif", "webp", "bmp"):
        noise = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
        cases.append(Case(f"random-{ext}", write(folder, f"random.{ext}", noise), "not an image"))
    photo = small_photo()
    for fmt, ext in (("JPEG", "jpg"), ("PNG", "png")):
        data = encode(photo, fmt)
        for fraction in CUT_FRACTIONS:
            cut = max(1, int(len(data) * fraction))
            path = write(folder, f"cut-{cut}.{ext}", data[:cut])
            cases.append(Case(f"truncated-{ext}-{cut}", path, ""))
    cases += [
        Case("png-bad-crc", write(folder, "bad-crc.png", png_with_bad_header_crc()), ""),
        Case("tiff-bad-tag", write(folder, "bad-tag.tif", tiff_with_bad_tag()), ""),
        Case(
            "png-claims-100000x100000",
            write(folder, "claims-huge.png", png_claiming(100_000, 100_000)),
            "too large",
        ),
        Case(
            "jpeg-claims-65000x65000",
            write(folder, "claims-huge.jpg", jpeg_claiming(65_000, 65_000)),
            "too large",
        ),
    ]
    folder_case = folder / "a folder.png"
    folder_case.mkdir()
    cases.append(Case("directory", folder_case, "folder"))
    link = folder / "dangling.png"
    link.symlink_to(folder / "gone-missing.png")
    cases.append(Case("dangling-symlink", link, "no such file"))
    return cases


def good_odd_files(folder: Path) -> list[Case]:
    """Unusual but valid files that must load and quantize."""
    folder.mkdir(parents=True, exist_ok=True)
    photo = small_photo(3)
    cases = [
        Case("1x1", write(folder, "one.png", encode(photo[:1, :1], "PNG"))),
        Case("1xN", write(folder, "row.png", encode(photo[:1], "PNG"))),
        Case("Nx1", write(folder, "column.png", encode(photo[:, :1], "PNG"))),
        Case("1x1-jpeg", write(folder, "one.jpg", encode(photo[:1, :1], "JPEG"))),
        Case("cmyk-jpeg", write(folder, "cmyk.jpg", encode(photo, "JPEG", "CMYK"))),
        Case("cmyk-tiff", write(folder, "cmyk.tif", encode(photo, "TIFF", "CMYK"))),
        Case("la-png", write(folder, "la.png", _la(photo))),
        Case("palette-transparency", write(folder, "p-trns.png", _palette_with_trns(photo))),
        Case("animated-gif", write(folder, "anim.gif", _animated_gif(photo))),
        Case("16-bit-grey-png", write(folder, "g16.png", _grey16(photo, "PNG"))),
        Case("16-bit-grey-tiff", write(folder, "g16.tif", _grey16(photo, "TIFF"))),
        Case("16-bit-rgb-png", write(folder, "rgb16.png", png16_rgb(photo))),
    ]
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        data = encode(photo, "JPEG", exif=exif.tobytes())
        cases.append(Case(f"exif-{orientation}", write(folder, f"exif-{orientation}.jpg", data)))
    odd_folder = folder / "my photos été 写真"
    odd_folder.mkdir()
    data = encode(photo, "PNG")
    cases.append(Case("spaces-non-ascii", write(odd_folder, "holiday ñ 2024 ✓.png", data)))
    return cases


def png16_rgb(pixels: np.ndarray) -> bytes:
    """A 16-bit RGB PNG written by hand (Pillow cannot write one)."""
    h, w, _ = pixels.shape
    wide = pixels.astype(">u2") * 257
    raw = b"".join(b"\0" + wide[y].tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def _grey16(photo: np.ndarray, fmt: str) -> bytes:
    grey = photo.mean(axis=2).astype(np.uint16) * 257
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, fmt)
    return buf.getvalue()


def _la(photo: np.ndarray) -> bytes:
    grey = Image.fromarray(photo).convert("L")
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, photo.shape[1]).astype(np.uint8),
                                    (photo.shape[0], 1)))  # fmt: skip
    buf = io.BytesIO()
    Image.merge("LA", [grey, alpha]).save(buf, "PNG")
    return buf.getvalue()


def _palette_with_trns(photo: np.ndarray) -> bytes:
    im = Image.fromarray(photo).quantize(16)
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=bytes([0, 128] + [255] * 14))
    return buf.getvalue()


def _animated_gif(photo: np.ndarray) -> bytes:
    frames = [Image.fromarray(np.roll(photo, 8 * i, axis=1)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)
    return buf.getvalue()


@contextmanager
def unreadable(path: Path) -> Iterator[bool]:
    """Make ``path`` unreadable; yields True when that had to be simulated.

    ``chmod 000`` stops every user but root. Tests run as root in CI, where the permission
    bits are ignored: then opening exactly this file is patched to raise the PermissionError
    the kernel would give, so the same code path is exercised.
    """
    path.chmod(0o000)
    try:
        if not os.access(path, os.R_OK):
            yield False
            return
        real_open = builtins.open
        target = os.path.realpath(path)

        def guarded_open(file, *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and os.path.realpath(file) == target:
                raise PermissionError(13, "Permission denied", os.fspath(file))
            return real_open(file, *args, **kwargs)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(builtins, "open", guarded_open)
            yield True
    finally:
        path.chmod(0o644)

"""Reading palette files: every format :mod:`kquant_gui.palettes` writes, and the same
formats from other tools (GIMP, Adobe, hand-written hex lists); Qt-free.

A bad file raises :class:`PaletteReadError`, whose message names the file and the reason in
one line, like the image loader's errors.
"""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from .image_io.errors import ImageLoadError, os_reason

__all__ = ["PaletteFile", "PaletteReadError", "read_palette", "read_palette_file"]

#: More entries than this is not a palette a quantizer can use.
MAX_COLORS = 256
#: Larger files are not palettes; refusing them early keeps a wrong pick in a dialog cheap.
MAX_BYTES = 4 * 1024 * 1024

_HEX = re.compile(r"#([0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


class PaletteReadError(ImageLoadError):
    """A palette file could not be read: missing, empty, of an unknown format or damaged."""


@dataclass(frozen=True)
class PaletteFile:
    """What a palette file holds.

    Attributes
    ----------
    colors : ndarray of uint8, shape (m, 3), or (m, 4) when the file gives alpha
    settings : dict
        For kquant's JSON, the settings stored with the colours (``k``, ``color_space``,
        ``dither``, ``seed``, maybe ``fixed``, ``engine``, ``edits``); else empty.
    """

    colors: np.ndarray
    settings: dict[str, Any] = field(default_factory=dict)


def read_palette(path: os.PathLike[str] | str) -> np.ndarray:
    """The colours of a palette file, in file order.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.gpl``, ``.ase``, ``.json``, ``.css``, ``.txt`` (``.hex``) or swatch ``.png``.

    Returns
    -------
    ndarray of uint8, shape (m, 3), or (m, 4) when the file gives alpha; 1 <= m <= 256

    Raises
    ------
    PaletteReadError
        Missing or unreadable file, unknown format, no colours, too many, or damaged content.
    """
    return read_palette_file(path).colors


def read_palette_file(path: os.PathLike[str] | str) -> PaletteFile:
    """Colours and (for kquant's JSON) stored settings of a palette file; see
    :func:`read_palette`."""
    p = Path(path)
    ext = p.suffix.lower()
    reader = _READERS.get(ext)
    if reader is None:
        raise PaletteReadError(
            p, f"unknown palette format {ext or '(no extension)'!r}; supported: "
            + ", ".join(sorted(_READERS))
        )  # fmt: skip
    try:
        if p.stat().st_size > MAX_BYTES:
            raise PaletteReadError(p, f"too large for a palette file (over {MAX_BYTES} bytes)")
        data = p.read_bytes()
    except IsADirectoryError:
        raise PaletteReadError(p, "is a folder") from None
    except OSError as exc:
        raise PaletteReadError(p, os_reason(exc)) from None
    try:
        colors, settings = reader(data)
    except PaletteReadError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise PaletteReadError(p, f"not a valid {ext[1:].upper()} palette: {exc}") from None
    if not colors:
        raise PaletteReadError(p, "holds no colours")
    if len(colors) > MAX_COLORS:
        raise PaletteReadError(p, f"holds {len(colors)} colours; at most {MAX_COLORS} are usable")
    width = max(len(c) for c in colors)
    if width == 4:
        colors = [c if len(c) == 4 else (*c, 255) for c in colors]
    arr = np.array(colors, dtype=np.int64)
    if arr.min() < 0 or arr.max() > 255:
        raise PaletteReadError(p, "has colour values outside 0-255")
    return PaletteFile(arr.astype(np.uint8), settings)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None


def _from_hex(h: str) -> tuple[int, ...]:
    if len(h) == 3:
        h = "".join(ch * 2 for ch in h)
    return tuple(int(h[i : i + 2], 16) for i in range(0, len(h), 2))


def _read_gpl(data: bytes) -> tuple[list[tuple[int, ...]], dict[str, Any]]:
    lines = _text(data).splitlines()
    if not lines or lines[0].strip() != "GIMP Palette":
        raise ValueError("the first line is not 'GIMP Palette'")
    colors = []
    for n, line in enumerate(lines[1:], start=2):
        s = line.strip()
        if not s or s.startswith("#") or re.match(r"(Name|Columns)\s*:", s):
            continue
        parts = s.split()
        if len(parts) < 3:
            raise ValueError(f"line {n} is not 'R G B name'")
        colors.append(tuple(int(v) for v in parts[:3]))
    return colors, {}


def _ase_string(data: bytes, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from(">H", data, pos)
    raw = data[pos + 2 : pos + 2 + 2 * n]
    return raw.decode("utf-16-be").rstrip("\0"), pos + 2 + 2 * n


def _read_ase(data: bytes) -> tuple[list[tuple[int, ...]], dict[str, Any]]:
    if data[:4] != b"ASEF":
        raise ValueError("no ASEF signature")
    _, _, count = struct.unpack_from(">HHI", data, 4)
    pos, colors = 12, []
    for _ in range(count):
        kind, length = struct.unpack_from(">HI", data, pos)
        body, pos = data[pos + 6 : pos + 6 + length], pos + 6 + length
        if len(body) < length:
            raise ValueError("the file ends inside a block")
        if kind != 0x0001:
            continue
        _, at = _ase_string(body, 0)
        model = body[at : at + 4]
        if model == b"RGB ":
            rgb = struct.unpack_from(">3f", body, at + 4)
        elif model == b"Gray":
            rgb = struct.unpack_from(">f", body, at + 4) * 3
        else:
            raise ValueError(f"colour model {model.decode('latin-1').strip()!r} (only RGB, Gray)")
        colors.append(tuple(round(min(max(v, 0.0), 1.0) * 255) for v in rgb))
    return colors, {}


def _json_color(c: Any) -> tuple[int, ...]:
    if isinstance(c, str):
        m = _HEX.fullmatch(c.strip()) or _HEX.fullmatch("#" + c.strip())
        if m is None:
            raise ValueError(f"{c!r} is not a hex colour")
        return _from_hex(m.group(1))
    if isinstance(c, dict):
        if "rgba" in c:
            return _json_color(c["rgba"])
        if "rgb" in c:
            rgb = _json_color(c["rgb"])[:3]
            return (*rgb, int(c["alpha"])) if "alpha" in c else rgb
        return _json_color(c["hex"])
    if isinstance(c, list) and len(c) in (3, 4) and all(isinstance(v, int) for v in c):
        return tuple(c)
    raise ValueError(f"{c!r} is not a colour")


def _read_json(data: bytes) -> tuple[list[tuple[int, ...]], dict[str, Any]]:
    try:
        doc = json.loads(_text(data))
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {exc.lineno}: {exc.msg}") from None
    if isinstance(doc, list):
        return [_json_color(c) for c in doc], {}
    if not isinstance(doc, dict) or not isinstance(doc.get("colors"), list):
        raise ValueError("no list of 'colors'")
    settings = doc.get("settings")
    return [_json_color(c) for c in doc["colors"]], settings if isinstance(settings, dict) else {}


def _read_hex_text(data: bytes) -> tuple[list[tuple[int, ...]], dict[str, Any]]:
    colors = []
    for n, line in enumerate(_text(data).splitlines(), start=1):
        s = line.split("//")[0].strip()
        if not s or s.startswith(";"):
            continue
        m = _HEX.fullmatch(s) or _HEX.fullmatch("#" + s)
        if m is None:
            raise ValueError(f"line {n} is not a colour like #c8102e")
        colors.append(_from_hex(m.group(1)))
    return colors, {}


def _read_css(data: bytes) -> tuple[list[tuple[int, ...]], dict[str, Any]]:
    text = re.sub(r"/\*.*?\*/", "", _text(data), flags=re.S)
    found = re.findall(r"--[\w-]+\s*:\s*#([0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\s*;", text)
    return [_from_hex(h) for h in found], {}


def _read_png(data: bytes) -> tuple[list[tuple[int, ...]], dict[str, Any]]:
    """A swatch strip: the colours along the middle row, one per run of equal pixels."""
    import io

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > 16_000_000:
                raise ValueError("too large for a swatch strip")
            rgb = np.asarray(im.convert("RGBA"))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"not a readable PNG ({exc})") from None
    if np.all(rgb[..., 3] == 255):
        rgb = rgb[..., :3]
    h, w = rgb.shape[:2]
    if w % h == 0:
        # kquant's strip: square swatches side by side; each square's centre is its colour
        # (two equal neighbours stay two entries).
        centres = rgb[h // 2, h // 2 :: h]
        return [tuple(int(v) for v in c) for c in centres], {}
    row = rgb[h // 2]
    starts = np.flatnonzero(np.any(row[1:] != row[:-1], axis=1)) + 1
    runs = row[np.concatenate([[0], starts])]
    if runs.shape[0] > MAX_COLORS:
        raise ValueError(f"{runs.shape[0]} runs of colour: not a swatch strip")
    return [tuple(int(v) for v in c) for c in runs], {}


_READERS = {
    ".gpl": _read_gpl,
    ".ase": _read_ase,
    ".json": _read_json,
    ".css": _read_css,
    ".txt": _read_hex_text,
    ".hex": _read_hex_text,
    ".png": _read_png,
}

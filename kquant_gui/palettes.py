"""Palette files from a quantization result; Qt-free.

Formats, chosen by extension (:data:`PALETTE_FORMATS`): GIMP ``.gpl``, Adobe Swatch Exchange
``.ase``, ``.json`` (hex, rgb and share per colour plus the settings that reproduce the
result), CSS custom properties ``.css``, plain ``.txt`` (one ``#rrggbb`` per line) and a swatch
strip ``.png``; :func:`read_palette` (from :mod:`palette_read`) reads them all back. Colours are
listed as in the result, largest share first. The entry that only fully transparent pixels use
is not a colour anyone sees, so it is left out (JSON reports its share as
``transparent_share``).
"""

from __future__ import annotations

import io
import json
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from ._version import __version__
from .image_io.atomic import write_atomically
from .image_io.errors import ImageSaveError
from .palette_read import PaletteFile, PaletteReadError, read_palette, read_palette_file
from .recipe import recipe_settings

if TYPE_CHECKING:
    from .engine import Quantization

__all__ = [
    "PALETTE_FORMATS",
    "PaletteFile",
    "PaletteReadError",
    "palette_bytes",
    "read_palette",
    "read_palette_file",
    "write_palette",
]

#: Extensions :func:`write_palette` understands, with a description for file dialogs.
PALETTE_FORMATS: dict[str, str] = {
    ".gpl": "GIMP palette",
    ".ase": "Adobe Swatch Exchange",
    ".json": "JSON (colours, shares and settings)",
    ".css": "CSS custom properties",
    ".txt": "Hex colours, one per line",
    ".png": "Swatch strip image",
}

#: Side of one swatch in the ``.png`` strip, in pixels.
SWATCH_SIZE = 48


def _visible(result: Quantization) -> tuple[np.ndarray, np.ndarray]:
    """Palette entries a person sees and their shares: shapes (m, 3) uint8 and (m,) float."""
    keep = np.ones(result.n_colors, dtype=bool)
    if result.transparent_index is not None:
        keep[result.transparent_index] = False
    return result.palette[keep], result.shares[keep]


def _hex(rgb: np.ndarray) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb))


def _title(result: Quantization, source_name: str | None) -> str:
    base = source_name or "kquant palette"
    return f"{base} k={result.k} {result.color_space}"


def palette_gpl(result: Quantization, source_name: str | None = None) -> bytes:
    """GIMP palette text; each colour named by its hex and share."""
    colors, shares = _visible(result)
    lines = ["GIMP Palette", f"Name: {_title(result, source_name)}", "Columns: 8", "#"]
    for rgb, share in zip(colors, shares, strict=True):
        r, g, b = (int(v) for v in rgb)
        lines.append(f"{r:3d} {g:3d} {b:3d}\t{_hex(rgb)} {share * 100:.2f}%")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _ase_string(text: str) -> bytes:
    """ASE string: uint16 length in UTF-16 code units including the terminating NUL."""
    data = (text + "\0").encode("utf-16-be")
    return struct.pack(">H", len(data) // 2) + data


def palette_ase(result: Quantization, source_name: str | None = None) -> bytes:
    """Adobe Swatch Exchange (version 1.0, big-endian) with one group of RGB global colours.

    Layout: ``ASEF``, uint16 major 1, uint16 minor 0, uint32 block count; then blocks of uint16
    type (0xC001 group start, 0x0001 colour, 0xC002 group end), uint32 length and body. A colour
    body is a name (uint16 length, UTF-16BE with NUL), the model ``"RGB "``, three float32 in
    0-1 and a uint16 type (0 = global).
    """
    colors, _ = _visible(result)
    blocks = [(0xC001, _ase_string(_title(result, source_name)))]
    for rgb in colors:
        body = (
            _ase_string(_hex(rgb))
            + b"RGB "
            + struct.pack(">3f", *(int(v) / 255.0 for v in rgb))
            + struct.pack(">H", 0)
        )
        blocks.append((0x0001, body))
    blocks.append((0xC002, b""))
    out = [b"ASEF", struct.pack(">HHI", 1, 0, len(blocks))]
    for kind, body in blocks:
        out.append(struct.pack(">HI", kind, len(body)) + body)
    return b"".join(out)


def palette_json(result: Quantization, source_name: str | None = None) -> bytes:
    """JSON with ``hex``, ``rgb`` and ``share`` per colour and the reproducing settings."""
    colors, shares = _visible(result)
    doc: dict[str, Any] = {
        "generator": f"kquant-gui {__version__}",
        "source": source_name,
        "settings": recipe_settings(result),
        "colors": [
            {"hex": _hex(rgb), "rgb": [int(v) for v in rgb], "share": round(float(s), 6)}
            for rgb, s in zip(colors, shares, strict=True)
        ],
    }
    if result.transparent_index is not None:
        doc["transparent_share"] = round(float(result.shares[result.transparent_index]), 6)
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def palette_css(result: Quantization, source_name: str | None = None) -> bytes:
    """CSS custom properties ``--kq-1`` ... on ``:root``, each commented with its share."""
    colors, shares = _visible(result)
    title = _title(result, source_name).replace("*/", "* /")
    lines = [f"/* {title} - generated by kquant-gui {__version__} */", ":root {"]
    for i, (rgb, share) in enumerate(zip(colors, shares, strict=True), start=1):
        lines.append(f"  --kq-{i}: {_hex(rgb)}; /* {share * 100:.2f}% */")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def palette_txt(result: Quantization, source_name: str | None = None) -> bytes:
    """One ``#rrggbb`` per line, largest share first."""
    colors, _ = _visible(result)
    return "".join(_hex(rgb) + "\n" for rgb in colors).encode("ascii")


def palette_png(result: Quantization, source_name: str | None = None) -> bytes:
    """A strip of equal square swatches, left to right by share, as an indexed PNG."""
    colors, _ = _visible(result)
    m = max(colors.shape[0], 1)
    strip = np.repeat(np.arange(m, dtype=np.uint8), SWATCH_SIZE)
    index = np.broadcast_to(strip, (SWATCH_SIZE, strip.size))
    im = Image.frombytes("P", (strip.size, SWATCH_SIZE), np.ascontiguousarray(index).tobytes())
    pal = colors if colors.shape[0] else np.zeros((1, 3), np.uint8)
    im.putpalette(np.ascontiguousarray(pal, dtype=np.uint8).tobytes(), rawmode="RGB")
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=True)
    return buf.getvalue()


_WRITERS = {
    ".gpl": palette_gpl,
    ".ase": palette_ase,
    ".json": palette_json,
    ".css": palette_css,
    ".txt": palette_txt,
    ".png": palette_png,
}


def palette_bytes(result: Quantization, ext: str, *, source_name: str | None = None) -> bytes:
    """Content of a palette file of the format named by ``ext`` (".gpl", "gpl", ...).

    Raises
    ------
    ValueError
        For an unknown format; the message lists :data:`PALETTE_FORMATS`.
    """
    key = ext.lower() if ext.startswith(".") else "." + ext.lower()
    writer = _WRITERS.get(key)
    if writer is None:
        raise ValueError(
            f"unknown palette format {ext!r}; supported: {', '.join(PALETTE_FORMATS)}"
        )
    return writer(result, source_name)


def write_palette(
    result: Quantization,
    path: os.PathLike[str] | str,
    *,
    source_name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the result's palette to ``path``; the format follows the extension.

    Parameters
    ----------
    result : Quantization
        The result whose palette (and shares, settings) to write.
    path : str or os.PathLike
        Target file; extension one of :data:`PALETTE_FORMATS`.
    source_name : str, optional
        Name of the source image, recorded in the palette's title and in JSON.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The file written (atomically: temporary file, then rename).

    Raises
    ------
    ImageSaveError
        Unknown extension (the message lists the supported ones), existing file without
        ``overwrite``, or a write failure; nothing partial is left behind.
    """
    p = Path(path)
    try:
        data = palette_bytes(result, p.suffix or "?", source_name=source_name)
    except ValueError:
        raise ImageSaveError(
            p,
            f"cannot write a palette as {p.suffix or 'no extension'!r}; "
            f"supported: {', '.join(PALETTE_FORMATS)}",
        ) from None
    write_atomically(p, lambda f: f.write(data), overwrite=overwrite)
    return p

"""Palette files from a quantization result; Qt-free.

Formats, chosen by extension (:data:`PALETTE_FORMATS`): GIMP ``.gpl``, Adobe Swatch Exchange
``.ase``, ``.json`` (hex, rgb and share per colour plus the settings that reproduce the
result), CSS custom properties ``.css``, plain ``.txt`` (one ``#rrggbb`` per line) and a swatch
strip ``.png``; :func:`read_palette` (from :mod:`palette_read`) reads them all back.
Colours are listed as in the result, largest share first. The entry that only
fully transparent pixels use is not a colour anyone sees, so it is left out (JSON reports its
share as ``transparent_share``).

A soft-edged image has semi-transparent entries (an RGBA palette). The formats that can carry
alpha do: ``.json`` (``alpha`` per colour, hex as ``#rrggbbaa``), ``.css`` and ``.txt``
(``#rrggbbaa``) and the ``.png`` strip; when any entry is semi-transparent every code is
written with 8 digits, so a reader sees one form. GIMP ``.gpl`` and ``.ase`` hold RGB only:
they list the colours without alpha and say so (a comment, the group's name), and name each
colour by its 8-digit code.
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
from .names import printable
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
    """Palette entries a person sees and their shares: shapes (m, 4) uint8 (alpha 255 for an
    opaque palette) and (m,) float."""
    keep = np.ones(result.n_colors, dtype=bool)
    if result.transparent_index is not None:
        keep[result.transparent_index] = False
    colors = result.palette[keep]
    if colors.shape[1] == 3:
        colors = np.column_stack([colors, np.full(colors.shape[0], 255, np.uint8)])
    return colors, result.shares[keep]


def _has_alpha(colors: np.ndarray) -> bool:
    """True when some of the (m, 4) colours is semi-transparent."""
    return bool((colors[:, 3] < 255).any())


def _hex(rgba: np.ndarray, with_alpha: bool = False) -> str:
    """``#rrggbb``, or ``#rrggbbaa`` with ``with_alpha``."""
    values = rgba[:4] if with_alpha else rgba[:3]
    return "#" + "".join(f"{int(v):02x}" for v in values)


#: What the RGB-only formats say when the palette had alpha.
ALPHA_DROPPED = "alpha dropped: this format holds RGB only; the names give #rrggbbaa"


def _name(source_name: str | None) -> str | None:
    """The source's file name as text every format can hold: a name that is not UTF-8, or
    holds a newline (which would end a GPL header line), is written escaped."""
    return printable(source_name) if source_name else source_name


def _title(result: Quantization, source_name: str | None) -> str:
    base = _name(source_name) or "kquant palette"
    return f"{base} k={result.k} {result.color_space}"


def palette_gpl(result: Quantization, source_name: str | None = None) -> bytes:
    """GIMP palette text; each colour named by its hex and share."""
    colors, shares = _visible(result)
    alpha = _has_alpha(colors)
    lines = ["GIMP Palette", f"Name: {_title(result, source_name)}", "Columns: 8", "#"]
    if alpha:
        lines.append(f"# {ALPHA_DROPPED}")
    for rgba, share in zip(colors, shares, strict=True):
        r, g, b = (int(v) for v in rgba[:3])
        lines.append(f"{r:3d} {g:3d} {b:3d}\t{_hex(rgba, alpha)} {share * 100:.2f}%")
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
    alpha = _has_alpha(colors)
    title = _title(result, source_name) + (f" ({ALPHA_DROPPED})" if alpha else "")
    blocks = [(0xC001, _ase_string(title))]
    for rgba in colors:
        body = (
            _ase_string(_hex(rgba, alpha))
            + b"RGB "
            + struct.pack(">3f", *(int(v) / 255.0 for v in rgba[:3]))
            + struct.pack(">H", 0)
        )
        blocks.append((0x0001, body))
    blocks.append((0xC002, b""))
    out = [b"ASEF", struct.pack(">HHI", 1, 0, len(blocks))]
    for kind, body in blocks:
        out.append(struct.pack(">HI", kind, len(body)) + body)
    return b"".join(out)


def palette_json(result: Quantization, source_name: str | None = None) -> bytes:
    """JSON with ``hex``, ``rgb`` and ``share`` per colour and the reproducing settings; with
    semi-transparent entries also ``alpha`` (0-255) per colour and 8-digit ``hex``."""
    colors, shares = _visible(result)
    alpha = _has_alpha(colors)

    def entry(rgba: np.ndarray, share: float) -> dict[str, Any]:
        out: dict[str, Any] = {"hex": _hex(rgba, alpha), "rgb": [int(v) for v in rgba[:3]]}
        if alpha:
            out["alpha"] = int(rgba[3])
        out["share"] = round(float(share), 6)
        return out

    doc: dict[str, Any] = {
        "generator": f"kquant-gui {__version__}",
        "source": _name(source_name),
        "settings": recipe_settings(result),
        "colors": [entry(rgba, s) for rgba, s in zip(colors, shares, strict=True)],
    }
    if result.transparent_index is not None:
        doc["transparent_share"] = round(float(result.shares[result.transparent_index]), 6)
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def palette_css(result: Quantization, source_name: str | None = None) -> bytes:
    """CSS custom properties ``--kq-1`` ... on ``:root``, each commented with its share."""
    colors, shares = _visible(result)
    alpha = _has_alpha(colors)
    title = _title(result, source_name).replace("*/", "* /")
    lines = [f"/* {title} - generated by kquant-gui {__version__} */", ":root {"]
    for i, (rgba, share) in enumerate(zip(colors, shares, strict=True), start=1):
        lines.append(f"  --kq-{i}: {_hex(rgba, alpha)}; /* {share * 100:.2f}% */")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def palette_txt(result: Quantization, source_name: str | None = None) -> bytes:
    """One ``#rrggbb`` (``#rrggbbaa`` with semi-transparent entries) per line, largest share
    first."""
    colors, _ = _visible(result)
    alpha = _has_alpha(colors)
    return "".join(_hex(rgba, alpha) + "\n" for rgba in colors).encode("ascii")


def palette_png(result: Quantization, source_name: str | None = None) -> bytes:
    """A strip of equal square swatches, left to right by share, as an indexed PNG."""
    colors, _ = _visible(result)
    m = max(colors.shape[0], 1)
    strip = np.repeat(np.arange(m, dtype=np.uint8), SWATCH_SIZE)
    index = np.broadcast_to(strip, (SWATCH_SIZE, strip.size))
    im = Image.frombytes("P", (strip.size, SWATCH_SIZE), np.ascontiguousarray(index).tobytes())
    pal = colors if colors.shape[0] else np.zeros((1, 4), np.uint8)
    if _has_alpha(pal):
        im.putpalette(np.ascontiguousarray(pal, dtype=np.uint8).tobytes(), rawmode="RGBA")
    else:
        im.putpalette(np.ascontiguousarray(pal[:, :3], dtype=np.uint8).tobytes(), rawmode="RGB")
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

"""The indexed PNG a result becomes: palette in result order, tRNS alpha table, smallest depth."""

from __future__ import annotations

import logging
import struct
import zlib
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from ..engine import Quantization

__all__ = [
    "COMPRESS_LEVEL",
    "OXIPNG_LEVEL",
    "PngPlan",
    "at_8_bits",
    "optimize_png",
    "p_image",
    "png_plan",
    "write_indexed_png",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PngPlan:
    """How a result becomes a PNG: indexed planes, their palette and the tRNS alpha table."""

    index: np.ndarray  # uint8 (H, W)
    palette: np.ndarray  # uint8 (m, 3), m <= 256
    trns: bytes | None


def p_image(index: np.ndarray, palette: np.ndarray) -> Image.Image:
    """A Pillow "P" image of ``index`` (uint8, shape (H, W)) with ``palette`` (m, 3), m <= 256."""
    h, w = index.shape
    im = Image.frombytes("P", (w, h), np.ascontiguousarray(index, dtype=np.uint8).tobytes())
    # Pillow sizes PLTE (and picks the 1/2/4/8-bit depth) from the palette's length.
    im.putpalette(np.ascontiguousarray(palette, dtype=np.uint8).tobytes(), rawmode="RGB")
    return im


def png_plan(result: Quantization) -> PngPlan:
    """The result as PNG palette indices, palette and tRNS alpha table.

    The PNG palette is the result's palette in the same order, and an RGBA palette's alpha is
    the tRNS table: the image is ``palette[labels]``, so every k up to 256 gives a true palette
    PNG. The one result whose image differs from its palette is k = 1 with fully transparent
    pixels beside visible ones (a single visible entry): those pixels get one more entry,
    after the palette.

    Raises
    ------
    ValueError
        For a result whose (colour, alpha) pairs need more than 256 entries, which
        :func:`kquant_gui.quantize` never returns.
    """
    labels = result.labels
    palette = np.ascontiguousarray(result.palette[:, :3])
    n = palette.shape[0]
    if not result.has_alpha:
        return PngPlan(labels, palette, None)

    alpha = result.image[..., 3]
    if result.palette.shape[1] == 4:
        main_alpha = result.palette[:, 3].astype(np.intp)
    else:
        # An RGB palette with alpha beside it: each entry takes its most common alpha.
        counts = np.bincount(((labels.astype(np.int32) << 8) | alpha).ravel(), minlength=n << 8)
        main_alpha = counts.reshape(n, 256).argmax(axis=1)
    # Pixels whose alpha is not their entry's get an entry of their own (colour, alpha).
    code = labels.astype(np.int32) << 8
    code |= alpha
    off = alpha != main_alpha[labels]
    extra_entry = extra_alpha = np.empty(0, dtype=np.intp)
    if off.any():
        pairs = np.unique(code[off])
        extra_entry, extra_alpha = pairs >> 8, pairs & 0xFF
    total = n + extra_entry.size
    if total > 256:
        raise ValueError(
            f"the result needs {total} palette entries (colour, alpha) as a PNG, more than 256"
        )
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
    return PngPlan(index, full_palette, trns)


#: oxipng's preset for ``optimize``: its default, the best size for the time on photos.
OXIPNG_LEVEL = 2

#: zlib level of the saved PNG: Pillow's default. Level 9 takes 2.5-9x as long for files
#: 1-4% smaller (benchmarks/bench_png.py); ``optimize=True`` is the way to the smallest file.
COMPRESS_LEVEL = 6


def write_indexed_png(fp: IO[bytes], plan: PngPlan, meta: dict[str, Any]) -> None:
    """Write ``plan`` as an indexed PNG with Pillow's encoder.

    Pillow keeps the palette as given (``optimize=False``: no entries dropped or reordered),
    sizes PLTE from its length and picks the smallest bit depth (1, 2, 4 or 8) that holds it;
    ``transparency`` bytes become the tRNS chunk as they are.

    Parameters
    ----------
    fp : binary file
        Where to write.
    plan : PngPlan
        Indices (not None), palette and tRNS table from :func:`png_plan`.
    meta : dict
        ``icc_profile`` and ``exif`` bytes to embed, if any.
    """
    extra: dict[str, Any] = dict(meta)
    if plan.trns:
        extra["transparency"] = plan.trns
    p_image(plan.index, plan.palette).save(
        fp, "PNG", optimize=False, compress_level=COMPRESS_LEVEL, **extra
    )


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, payload) of each chunk of the PNG file ``data``, in order."""
    out, pos = [], 8
    while pos + 8 <= len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]))
        pos += 12 + n
    return out


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def at_8_bits(data: bytes, index: np.ndarray) -> bytes | None:
    """The indexed PNG ``data`` rewritten with one byte per pixel, or None if it has that.

    Pillow packs a palette of up to 16 entries 2 or 4 pixels to a byte. On flat art with soft
    edges that packing hides repeats from deflate: a run of a colour, or an edge, that starts
    one pixel further along is a different byte sequence. One byte per pixel (the same palette,
    tRNS and every other chunk) lets oxipng's filters and deflate find them: 6-8% smaller on
    the transparency bench's icon at k = 16 after oxipng.

    Parameters
    ----------
    data : bytes
        An indexed PNG file as :func:`write_indexed_png` writes it.
    index : ndarray of uint8, shape (H, W)
        Its palette indices.
    """
    chunks = _chunks(data)
    ihdr = chunks[0][1]
    if chunks[0][0] != b"IHDR" or ihdr[8] == 8 or ihdr[9] != 3:
        return None
    h, w = index.shape
    rows = np.zeros((h, w + 1), dtype=np.uint8)  # filter byte 0 (none) before each row
    rows[:, 1:] = index
    out = [data[:8]]
    idat_written = False
    for kind, payload in chunks:
        if kind == b"IHDR":
            payload = payload[:8] + b"\x08" + payload[9:]
        elif kind == b"IDAT":
            if idat_written:
                continue
            payload = zlib.compress(rows.tobytes(), COMPRESS_LEVEL)
            idat_written = True
        out.append(_chunk(kind, payload))
    return b"".join(out)


def optimize_png(data: bytes, index: np.ndarray | None = None) -> bytes:
    """Recompress a PNG losslessly with oxipng; the smallest file found.

    Only the row filters and the deflate stream change, and with ``index`` given the bit depth
    of a palette of up to 16 entries may rise to 8 (see :func:`at_8_bits`): palette, order and
    every chunk stay as written, so the saved palette is still the result's palette in its
    order (oxipng's palette, bit-depth and colour-type reductions would reorder or drop
    entries). oxipng runs on threads of its own.

    Parameters
    ----------
    data : bytes
        A complete PNG file.
    index : ndarray of uint8, shape (H, W), optional
        Its palette indices, to try the file at 8 bits per pixel too.

    Returns
    -------
    bytes
        The smallest of ``data`` and the optimized candidates.
    """
    candidates = [data]
    wide = at_8_bits(data, index) if index is not None else None
    if wide is not None:
        candidates.append(wide)
    best = data
    for candidate in candidates:
        smaller = _oxipng(candidate)
        if len(smaller) < len(best):
            best = smaller
    return best


def _oxipng(data: bytes) -> bytes:
    """``data`` through oxipng at :data:`OXIPNG_LEVEL`, keeping palette and depth as written."""
    import oxipng  # imported here: only saves that ask for it pay for loading it

    try:
        smaller = oxipng.optimize_from_memory(
            data,
            level=OXIPNG_LEVEL,
            bit_depth_reduction=False,
            color_type_reduction=False,
            palette_reduction=False,
            grayscale_reduction=False,
            strip=oxipng.StripChunks.none(),
        )
    except oxipng.PngError as exc:
        # The file as written is complete and correct; only the extra saving is lost.
        _log.warning("oxipng could not optimize a PNG, kept as written: %s", exc)
        return data
    return smaller

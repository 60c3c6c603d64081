"""Encoding a quantized result into each save format, with the metadata the format can hold."""

from __future__ import annotations

import io
import os
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from .errors import ImageSaveError
from .exif import exif_for
from .png import optimize_png, p_image, png_plan, write_indexed_png

if TYPE_CHECKING:
    from ..engine import Quantization
    from .load import LoadedImage

__all__ = [
    "JPEG_NOTE",
    "SUPPORTED_SAVE_FORMATS",
    "encode_quantized",
    "estimate_png_size",
    "save_format_for",
    "size_limit_reason",
]

#: File extensions :func:`save_quantized` writes, and the Pillow format of each.
SUPPORTED_SAVE_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".gif": "GIF",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
}

#: Soft-edged results up to this size are recompressed with oxipng whenever they are written as
#: PNG (Save and the window's size estimate alike). Pillow filters palette rows adaptively,
#: which on soft edges at k <= 16 made files 15-30% larger than the unfiltered rows pngquant
#: writes; oxipng picks the filters and deflates better, for 0.02-0.2 s on the transparency
#: bench images (benchmarks/bench_alpha.py): 10-20% under ``pngquant --nofs`` instead of up to
#: 15% over. A palette of up to 16 entries is also tried at one byte per pixel, the smaller kept
#: (flat icons at k = 16: 7% smaller, see :func:`.png.at_8_bits`), which doubles oxipng's time on
#: those. Web assets with soft edges are small; above this size a save would take seconds.
SOFT_OPTIMIZE_MAX_PIXELS = 2_000_000

#: The note every JPEG save returns: the format cannot hold an exact palette.
JPEG_NOTE = "JPEG compression adds colours back; save as PNG to keep exactly the palette"


def save_format_for(path: os.PathLike[str] | str) -> str:
    """Pillow format name for the extension of ``path``.

    Raises
    ------
    ImageSaveError
        For an extension not in :data:`SUPPORTED_SAVE_FORMATS`; the message lists them.
    """
    p = Path(path)
    fmt = SUPPORTED_SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        shown = p.suffix or "no extension"
        raise ImageSaveError(
            p,
            f"cannot save as {shown!r}; supported formats: "
            + ", ".join(sorted({e for e in SUPPORTED_SAVE_FORMATS if e not in (".tif", ".jpeg")})),
        )
    return fmt


def _soft_edged(result: Quantization) -> bool:
    """True when the result's palette holds semi-transparent entries (an RGBA palette)."""
    alpha = result.palette[:, 3] if result.palette.shape[1] == 4 else None
    return alpha is not None and bool(((alpha > 0) & (alpha < 255)).any())


def _gif_image(result: Quantization) -> tuple[Image.Image, int | None, str | None]:
    """The result as a "P" image for GIF, its transparent index and a note.

    GIF has one fully transparent index and no partial alpha: alpha below 128 becomes
    transparent, the rest opaque.
    """
    labels, palette = result.labels, result.palette[:, :3]
    if not result.has_alpha:
        return p_image(labels, palette), None, None
    alpha = result.image[..., 3]
    clear = alpha < 128
    partial = int(np.count_nonzero((alpha > 0) & (alpha < 255)))
    note = (
        f"GIF has no partial transparency: {partial} semi-transparent pixels were made fully "
        "transparent or opaque"
        if partial
        else None
    )
    if not clear.any():
        return p_image(labels, palette), None, note
    ti = result.transparent_index
    if (
        ti is not None
        and bool((labels[clear] == ti).all())
        and not bool((labels[~clear] == ti).any())
    ):
        return p_image(labels, palette), ti, note
    n = palette.shape[0]
    entry_clear = result.palette[:, 3] < 128 if result.palette.shape[1] == 4 else None
    if entry_clear is not None and bool(np.array_equal(entry_clear[labels], clear)):
        # An RGBA palette (soft edges): its faint entries all become the one transparent
        # index (the shared transparent entry where there is one), with no entry added.
        t = ti if ti is not None else int(np.flatnonzero(entry_clear)[0])
        table = np.arange(n, dtype=np.uint8)
        table[entry_clear] = t
        return p_image(table[labels], palette), t, note
    if n >= 256:
        msg = "GIF transparency lost: all 256 entries hold colours; save as PNG to keep it"
        return p_image(labels, palette), None, msg
    index = labels.copy()
    index[clear] = n
    return p_image(index, np.vstack([palette, np.zeros((1, 3), np.uint8)])), n, note


def _metadata(
    source: LoadedImage | None, strip: bool, fmt: str
) -> tuple[dict[str, Any], str | None]:
    """Metadata keyword arguments for the writer of ``fmt``, and a note if some stays behind."""
    if source is None or strip or fmt in ("GIF", "BMP"):
        return {}, None
    meta: dict[str, Any] = {}
    note = None
    if source.icc_profile:
        meta["icc_profile"] = source.icc_profile
    if source.exif:
        exif, note = exif_for(fmt, source.exif)
        if exif:
            meta["exif"] = exif
    return meta, note


#: Largest width or height each format can store (libwebp, libjpeg, GIF's 16-bit fields).
SIDE_LIMITS = {"WEBP": 16383, "JPEG": 65500, "GIF": 65535}
_FORMAT_NAMES = {"WEBP": "WebP"}


def size_limit_reason(fmt: str, width: int, height: int) -> str | None:
    """Why an image of ``width`` x ``height`` cannot be saved as ``fmt``, or None if it can."""
    limit = SIDE_LIMITS.get(fmt)
    if limit is None or max(width, height) <= limit:
        return None
    name = _FORMAT_NAMES.get(fmt, fmt)
    return (
        f"{name} is limited to {limit} px per side and this image is {width} x {height}; "
        "save it as PNG or TIFF"
    )


def _on_white(image: np.ndarray) -> np.ndarray:
    """RGB of ``image`` composited onto white, the background most viewers assume."""
    if image.shape[2] == 3:
        return np.ascontiguousarray(image)
    a = image[..., 3:4].astype(np.uint16)
    rgb = (image[..., :3] * a + 255 * (255 - a) + 127) // 255
    return rgb.astype(np.uint8)


def encode_quantized(
    result: Quantization,
    fp: IO[bytes],
    fmt: str,
    *,
    source: LoadedImage | None = None,
    strip_metadata: bool = False,
) -> tuple[str, ...]:
    """Write ``result.image`` to an open binary file in format ``fmt``.

    Parameters
    ----------
    result : Quantization
        The result to write.
    fp : binary file
        Where to write.
    fmt : {"PNG", "GIF", "WEBP", "TIFF", "BMP", "JPEG"}
        Pillow format name (see :func:`save_format_for`).
    source : LoadedImage, optional
        The image the result came from; its ICC profile and EXIF are carried over where the
        format allows.
    strip_metadata : bool
        Write no ICC profile or EXIF.

    Returns
    -------
    tuple of str
        Notes for the user (e.g. GIF rounding soft edges, JPEG adding colours back).

    Raises
    ------
    ValueError
        The image is larger than the format can store (see :func:`size_limit_reason`).
    """
    image = result.image
    too_big = size_limit_reason(fmt, image.shape[1], image.shape[0])
    if too_big:
        raise ValueError(too_big)
    meta, meta_note = _metadata(source, strip_metadata, fmt)
    notes: list[str] = [meta_note] if meta_note else []
    if fmt == "PNG":
        plan = png_plan(result)
        h, w = result.labels.shape
        if _soft_edged(result) and h * w <= SOFT_OPTIMIZE_MAX_PIXELS:
            plain = io.BytesIO()
            write_indexed_png(plain, plan, meta)
            fp.write(optimize_png(plain.getvalue(), plan.index))
        else:
            write_indexed_png(fp, plan, meta)
    elif fmt == "GIF":
        im, ti, note = _gif_image(result)
        # optimize=False: Pillow's GIF optimizer may drop or reorder palette entries.
        kwargs: dict[str, Any] = {"optimize": False}
        if ti is not None:
            kwargs["transparency"] = ti
        im.save(fp, "GIF", **kwargs)
        notes += [note] if note else []
    elif fmt == "BMP":
        if result.has_alpha:
            # Pillow, and most readers, ignore a BMP's alpha channel.
            notes.append("BMP keeps no transparency; transparent areas were put on white")
            Image.fromarray(_on_white(image)).save(fp, "BMP")
        else:
            p_image(result.labels, result.palette).save(fp, "BMP")
    elif fmt == "WEBP":
        # exact=True keeps the colour under fully transparent pixels, so it reads back exactly.
        Image.fromarray(np.ascontiguousarray(image)).save(
            fp, "WEBP", lossless=True, quality=100, method=4, exact=True, **meta
        )
    elif fmt == "TIFF":
        Image.fromarray(np.ascontiguousarray(image)).save(
            fp, "TIFF", compression="tiff_adobe_deflate", **meta
        )
    elif fmt == "JPEG":
        if result.has_alpha:
            notes.append("JPEG has no transparency; transparent areas were put on white")
        Image.fromarray(_on_white(image)).save(
            fp, "JPEG", quality=95, subsampling=0, optimize=True, **meta
        )
        notes.append(JPEG_NOTE)
    else:
        raise ValueError(
            f"unknown format {fmt!r}; use one of {sorted(set(SUPPORTED_SAVE_FORMATS.values()))}"
        )
    return tuple(notes)


def estimate_png_size(result: Quantization, *, max_pixels: int = 4_000_000) -> int:
    """Size in bytes of the indexed PNG :func:`save_quantized` would write (no metadata).

    Exact up to ``max_pixels``; above, bands of rows spread over the image are encoded and the
    size scaled up, which keeps the estimate within a few percent at a fraction of the time.

    Parameters
    ----------
    result : Quantization
        The result to measure.
    max_pixels : int
        Largest image encoded whole.

    Returns
    -------
    int
        Bytes.
    """
    h, w = result.labels.shape
    if h * w <= max_pixels:
        buf = io.BytesIO()
        encode_quantized(result, buf, "PNG", strip_metadata=True)
        return buf.tell()
    # Bands of rows, not single rows: zlib's window spans a few rows, so each band compresses
    # as it would inside the whole image.
    band = 16
    n_bands = min(max(8, max_pixels // (w * band)), h // band)
    starts = np.linspace(0, h - band, n_bands).astype(int)
    rows = np.concatenate([np.arange(s, s + band) for s in starts])
    sample = replace(result, image=result.image[rows], labels=result.labels[rows])
    buf = io.BytesIO()
    encode_quantized(sample, buf, "PNG", strip_metadata=True)
    return round(buf.tell() * h / rows.size)

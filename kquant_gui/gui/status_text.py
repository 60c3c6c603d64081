"""The figures of the status bar, as text."""

from __future__ import annotations

import numpy as np

from kquant_gui.engine import Quantization

from . import tasks
from .controls import COLOR_SPACE_LABELS, DITHER_LABELS
from .file_formats import human_size


def image_summary(source: tasks.Loaded) -> str:
    """``6000×4000 px · 1,626,301 colours`` (plus notes of the loader, if any)."""
    h, w = source.pixels.shape[:2]
    colours = "colour" if source.distinct_colors == 1 else "colours"
    text = f"{w}×{h} px · {source.distinct_colors:,} {colours}"
    notes = getattr(source.image, "notes", ())
    if notes:
        text += " · " + "; ".join(notes)
    return text


def result_summary(
    shown: tasks.Quantized, measured: tasks.Measured | None, original_size: int | None
) -> str:
    """``k=16: 16 colours in 0.42 s · mean ΔE2000 5.21 · PNG ≈ 1.2 MB (original 3.4 MB, −65 %)``.

    Figures not measured yet show as "…".
    """
    result = shown.result
    colours = "colour" if result.n_colors == 1 else "colours"
    text = f"k={result.k}: {result.n_colors} {colours} in {shown.seconds:.2f} s"
    if measured is None:
        return text + " · mean ΔE2000 … · PNG ≈ …"
    text += f" · mean ΔE2000 {measured.mean_delta_e:.2f}"
    if measured.over_backgrounds:
        text += " (over white and black)"
    if measured.png_size is None:
        return text
    text += f" · PNG ≈ {human_size(measured.png_size)}"
    if original_size:
        change = 100.0 * (measured.png_size - original_size) / original_size
        sign = "−" if change < 0 else "+"
        text += f" (original {human_size(original_size)}, {sign}{abs(change):.0f} %)"
    return text


def _color_text(pixel: np.ndarray) -> str:
    rgb = "#" + "".join(f"{int(v):02x}" for v in pixel[:3])
    if pixel.shape[0] == 4:
        alpha = int(pixel[3])
        if alpha == 0:
            return "transparent"
        if alpha < 255:
            return f"{rgb} α{alpha}"
    return rgb


def pixel_summary(
    source: tasks.Loaded, shown: tasks.Quantized | None, x: float, y: float
) -> str | None:
    """``x 812 y 455 · #7c3db3`` and, on a second line, ``→ #84cfb4 (entry 3 of 16) · ΔE 2.1``
    for the pixel at image coordinates (x, y), or None outside the image.

    The quantized part is left out while the result shown belongs to another image size.
    """
    pixels = source.pixels
    col, row = int(x), int(y)
    if not (0 <= row < pixels.shape[0] and 0 <= col < pixels.shape[1]):
        return None
    text = f"x {col} y {row} · {_color_text(pixels[row, col])}"
    if shown is not None and shown.result.labels.shape == pixels.shape[:2]:
        result = shown.result
        entry = int(result.labels[row, col])
        if entry == result.transparent_index:
            quantized = "transparent"
        else:
            quantized = _color_text(result.image[row, col])
        delta_e = pixel_delta_e(pixels[row, col], result.image[row, col])
        error = "" if delta_e is None else f" · ΔE {delta_e:.1f}"
        text += f"\n→ {quantized} (entry {entry + 1} of {result.n_colors}){error}"
    return text


def pixel_delta_e(original: np.ndarray, quantized: np.ndarray) -> float | None:
    """CIEDE2000 between one original pixel and its quantized colour (None if invisible)."""
    if original.shape[0] == 4 and int(original[3]) == 0:
        return None
    from kquant_gui.engine.colorspace import srgb8_to_lab
    from kquant_gui.engine.metrics import ciede2000

    pair = np.stack([original[:3], quantized[:3]]).astype(np.uint8)
    lab = srgb8_to_lab(pair)
    return float(ciede2000(lab[:1], lab[1:])[0])


def result_titles(result: Quantization) -> tuple[str, str]:
    """Titles of the quantized view and of the palette for ``result``."""
    space = COLOR_SPACE_LABELS.get(result.color_space, result.color_space)
    dither = DITHER_LABELS.get(result.dither, result.dither)
    if result.dither != "none" and result.dither_strength < 1.0:
        dither += f" at {result.dither_strength:.0%}"
    exhausted = f" — {result.summary()}" if result.exhausted else ""
    colours = "colour" if result.n_colors == 1 else "colours"
    # The reference engine says so; the default one goes without saying.
    engine = " · scikit-learn KMeans (reference)" if result.engine == "sklearn" else ""
    return (
        f"Quantized · k={result.k} · {space} · dithering {dither.lower()}{engine}",
        f"Palette · {result.n_colors} {colours}{exhausted} · click a swatch to copy its hex "
        "code and outline its pixels; right-click to lock, edit, delete or merge",
    )


def selection_note(result: Quantization, index: int) -> str:
    """What selecting palette entry ``index`` did: copied its hex code, highlighted its pixels."""
    if index == result.transparent_index:
        return "Fully transparent pixels (Esc clears)"
    code = _color_text(result.palette[index][:3])
    share = 100.0 * float(result.shares[index])
    count = int(result.counts[index])
    pixels = f"its {count:,} pixels ({share:.1f} %) are" if count != 1 else "its one pixel is"
    return f"Copied {code} — {pixels} outlined (Esc clears)"

"""The figures of the status bar, as text."""

from __future__ import annotations

from . import tasks
from .file_formats import human_size


def image_summary(source: tasks.Loaded) -> str:
    """``6000×4000 px · 1,626,301 colours`` (plus notes of the loader, if any)."""
    h, w = source.pixels.shape[:2]
    text = f"{w}×{h} px · {source.distinct_colors:,} colours"
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
    text = f"k={result.k}: {result.n_colors} colours in {shown.seconds:.2f} s"
    if measured is None:
        return text + " · mean ΔE2000 … · PNG ≈ …"
    text += f" · mean ΔE2000 {measured.mean_delta_e:.2f}"
    if measured.png_size is None:
        return text
    text += f" · PNG ≈ {human_size(measured.png_size)}"
    if original_size:
        change = 100.0 * (measured.png_size - original_size) / original_size
        sign = "−" if change < 0 else "+"
        text += f" (original {human_size(original_size)}, {sign}{abs(change):.0f} %)"
    return text

"""File-dialog filters and file-name checks, built from what the I/O layer supports."""

from __future__ import annotations

import re
from pathlib import Path

from kquant_gui.image_io import SUPPORTED_SAVE_FORMATS, readable_extensions
from kquant_gui.palettes import PALETTE_FORMATS

#: Extensions File > Open may offer, in the order listed; only those this installation can
#: decode are offered (:func:`open_extensions`); "All files" still lets anything be tried.
OPEN_EXTENSIONS = (
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".bmp",
    ".ppm",
    ".pgm",
    ".pnm",
    ".tga",
    ".ico",
    ".jp2",
    ".avif",
    ".heic",
    ".heif",
)
#: How each save format is described in the dialog, in the order offered (PNG first).
SAVE_LABELS = {
    "PNG": "Indexed PNG",
    "GIF": "GIF",
    "WEBP": "WebP (lossless)",
    "TIFF": "TIFF",
    "BMP": "BMP",
    "JPEG": "JPEG (lossy: adds colours back)",
}


def _patterns(extensions: list[str]) -> str:
    return " ".join(f"*{e}" for e in extensions)


def open_extensions() -> list[str]:
    """The extensions of :data:`OPEN_EXTENSIONS` that really open here (HEIC only with
    ``pi-heif``, AVIF only with a Pillow built with libavif)."""
    readable = readable_extensions()
    return [e for e in OPEN_EXTENSIONS if e in readable]


def open_filter() -> str:
    """Filter string for the Open dialog: only formats that really open."""
    return f"Images ({_patterns(open_extensions())});;All files (*)"


def save_filter() -> str:
    """Filter string for Save As, one entry per format, indexed PNG first."""
    entries = []
    for fmt, label in SAVE_LABELS.items():
        exts = [e for e, f in SUPPORTED_SAVE_FORMATS.items() if f == fmt]
        if exts:
            entries.append(f"{label} ({_patterns(exts)})")
    return ";;".join(entries)


def palette_filter() -> str:
    """Filter string for Export Palette, GIMP first."""
    return ";;".join(f"{label} (*{ext})" for ext, label in PALETTE_FORMATS.items())


def with_default_suffix(path: str | Path, chosen_filter: str, default: str) -> Path:
    """``path``, given the first extension of ``chosen_filter`` (or ``default``) if it has none."""
    p = Path(path)
    if p.suffix:
        return p
    match = re.search(r"\*(\.[A-Za-z0-9]+)", chosen_filter or "")
    return p.with_name(p.name + (match.group(1) if match else default))


def check_suffix(path: Path, kind: str) -> str | None:
    """Why ``path`` cannot be written as ``kind`` ("image" or "palette"), or None if it can."""
    allowed = SUPPORTED_SAVE_FORMATS if kind == "image" else PALETTE_FORMATS
    if path.suffix.lower() in allowed:
        return None
    shown = path.suffix or "no extension"
    what = "an image" if kind == "image" else "a palette"
    return (
        f"{path.name}: cannot save {what} as {shown!r}. Use one of: {', '.join(sorted(allowed))}."
    )


def human_size(n: int | None) -> str:
    """``1.2 MB``-style size (decimal units, as file managers show them)."""
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" or size >= 100 else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"

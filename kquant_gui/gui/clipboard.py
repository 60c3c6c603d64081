"""Copy and paste: the quantized image (Ctrl+C), the palette as hex lines (Ctrl+Shift+C),
and an image from the clipboard opened like a file (Ctrl+V; a screenshot is a common source).

A pasted image is written as a PNG to a private temporary folder and opened through the
normal loader, so it is decoded in the worker like any file and Save As proposes a name.
Files copied in a file manager arrive as URLs and are opened directly.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QMenu

from .palette_canvas import hex_code

_PASTE_DIR: Path | None = None


def image_to_qimage(pixels: np.ndarray) -> QImage:
    """A deep-copied QImage of ``pixels`` (H, W, 3) or (H, W, 4) uint8."""
    pixels = np.ascontiguousarray(pixels)
    h, w, c = pixels.shape
    fmt = QImage.Format.Format_RGBA8888 if c == 4 else QImage.Format.Format_RGB888
    return QImage(pixels.data, w, h, c * w, fmt).copy()


def copy_image(pixels: np.ndarray) -> None:
    """Put the image ``pixels`` (H, W, C) uint8 on the clipboard."""
    QGuiApplication.clipboard().setImage(image_to_qimage(pixels))


def palette_lines(palette: np.ndarray, transparent_index: int | None = None) -> str:
    """``#rrggbb`` per line for each entry of ``palette`` (n, 3 or 4), the transparent one
    left out."""
    return "\n".join(hex_code(color) for i, color in enumerate(palette) if i != transparent_index)


def copy_palette(palette: np.ndarray, transparent_index: int | None = None) -> None:
    """Put the palette on the clipboard as hex lines."""
    QGuiApplication.clipboard().setText(palette_lines(palette, transparent_index) + "\n")


def pasted_path(mime: QMimeData | None = None) -> Path | None:
    """The file to open for what the clipboard holds: a copied local file, or an image
    written to a temporary PNG; None when it holds neither."""
    if mime is None:
        mime = QGuiApplication.clipboard().mimeData()
    if mime is None:
        return None
    files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]
    if files:
        return Path(files[0])
    if not mime.hasImage():
        return None
    image = QImage(mime.imageData())
    if image.isNull():
        return None
    global _PASTE_DIR
    if _PASTE_DIR is None:
        _PASTE_DIR = Path(tempfile.mkdtemp(prefix="kquant-paste-"))
    path = _PASTE_DIR / time.strftime("pasted-%Y%m%d-%H%M%S.png")
    if not image.save(str(path), "PNG"):
        return None
    return path


def add_clipboard_actions(w) -> None:
    """Edit > Copy Image, Copy Palette, Paste Image for window ``w`` (a MainWindow), in an
    Edit menu after File; gives ``w`` its ``action_copy``, ``action_copy_palette`` and
    ``action_paste``."""
    from PySide6.QtGui import QAction, QKeySequence

    def copy() -> None:
        if w.shown is not None:
            copy_image(w.shown.result.image)
            w._note(f"Copied the k={w.shown.result.k} image")

    def copy_hex() -> None:
        if w.shown is not None:
            r = w.shown.result
            copy_palette(r.palette, r.transparent_index)
            w._note("Copied the palette as hex codes, one per line")

    def paste() -> None:
        path = pasted_path()
        if path is None:
            w._note("The clipboard holds no image")
        else:
            w.open_path(path)

    def action(text: str, slot, keys, name: str, tip: str) -> QAction:
        a = QAction(text, w)
        a.setObjectName(name)
        a.setShortcut(QKeySequence(keys))
        a.setStatusTip(tip)
        a.triggered.connect(slot)
        w.addAction(a)
        return a

    w.action_copy = action(
        "&Copy Image",
        copy,
        QKeySequence.StandardKey.Copy,
        "actionCopy",
        "Copy the quantized image",
    )
    w.action_copy_palette = action(
        "Copy &Palette", copy_hex, "Ctrl+Shift+C", "actionCopyPalette", "Copy the hex codes"
    )
    w.action_paste = action(
        "&Paste Image",
        paste,
        QKeySequence.StandardKey.Paste,
        "actionPaste",
        "Open the image on the clipboard (a screenshot, a copied file)",
    )
    bar = w.menuBar()
    menus = [a for a in bar.actions() if a.menu() is not None]
    edit = QMenu("&Edit", bar)
    edit.setObjectName("menuEdit")
    for a in (w.action_copy, w.action_copy_palette, w.action_paste):
        edit.addAction(a)
    bar.insertMenu(menus[1] if len(menus) > 1 else None, edit)

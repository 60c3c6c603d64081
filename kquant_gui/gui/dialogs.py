"""The modal questions the window asks: which file to open or write, replace it?, errors, about.

Each function shows one standard dialog and returns the answer as plain data, so the window's
handlers read as "ask, then act" and tests replace the dialogs at the ``QFileDialog`` and
``QMessageBox`` level.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6 import QtGui
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from kquant_gui import __version__

from ..names import printable_name
from . import file_formats, tasks


def shown_literally(text: str) -> str:
    """``text`` for a message box, so that it appears exactly as written.

    Qt renders message-box text as HTML when it looks like HTML, so a file named
    ``<b>x</b>.png`` would appear as a bold "x.png". Such text is escaped into HTML that
    shows the original characters; anything else is left alone.
    """
    if not QtGui.Qt.mightBeRichText(text):  # Qt's own guess, in the QtGui namespace
        return text
    return "<p>" + html.escape(text, quote=False).replace("\n", "<br>") + "</p>"


def warn(parent: QWidget, title: str, message: str) -> None:
    """A warning box showing ``message`` as written."""
    QMessageBox.warning(parent, title, shown_literally(message))


def ask_open_path(parent: QWidget, folder: str) -> Path | None:
    """File > Open…: an image file chosen in ``folder``, or None when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open Image", folder, file_formats.open_filter())
    return Path(path) if path else None


def ask_save_path(
    parent: QWidget, title: str, default: Path, suffix: str, filters: str
) -> Path | None:
    """A save dialog proposing ``default``; the chosen filter's suffix is added when the
    name has none (``suffix`` if it cannot be told). None when cancelled."""
    # Overwriting is confirmed by ask_replace, once, whatever dialog (or test) chose the path.
    path, chosen = QFileDialog.getSaveFileName(
        parent,
        title,
        str(default),
        filters,
        filters.split(";;")[0],
        QFileDialog.Option.DontConfirmOverwrite,
    )
    return file_formats.with_default_suffix(path, chosen, suffix) if path else None


def ask_replace(parent: QWidget, path: Path, is_source: bool) -> bool:
    """True when the user agrees to replace the existing ``path`` (the original image when
    ``is_source``); the safe answer is the default."""
    if is_source:
        question = (
            f"{printable_name(path.name)} is the original image. Replace the original with the "
            "quantized version? This cannot be undone."
        )
    else:
        question = f"{printable_name(path.name)} already exists. Replace it?"
    answer = QMessageBox.question(
        parent,
        "Replace file?",
        shown_literally(question),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def confirm_target(parent: QWidget, path: Path, source: Path) -> bool | None:
    """Whether writing ``path`` replaces a file (asking first; ``source`` is the original
    image, which gets a sterner question); None when the user declines."""
    try:
        exists = path.exists()
    except OSError:
        # E.g. a name too long for the file system: the save itself then says why.
        return False
    if not exists:
        return False
    return True if ask_replace(parent, path, same_file(path, source)) else None


def failure_text(failure: tasks.Failed, source: Path | None) -> tuple[str, str]:
    """Title and message of the box that reports ``failure``; ``source`` is the image open."""
    if isinstance(failure, tasks.LoadFailed):
        return "Could not open image", failure.message
    if isinstance(failure, tasks.QuantizeFailed):
        name = printable_name(source.name) if source is not None else "the image"
        return "Could not quantize", f"{name}: {failure.message}"
    if isinstance(failure, tasks.SaveFailed):
        return "Could not save", failure.message
    if isinstance(failure, tasks.MeasureFailed):
        return "Could not measure the result", failure.message
    if isinstance(failure, tasks.InternalError):
        return (
            "Internal error",
            f"Something unexpected went wrong while {failure.doing}: {failure.message}\n\n"
            "This is a bug in kquant-gui; please report it (run with KQUANT_LOG=debug for "
            "the details).",
        )
    raise TypeError(f"unknown outcome {failure!r}")


def show_about(parent: QWidget) -> None:
    """Help > About: name, version and what it is built on."""
    import matplotlib
    import numpy
    import PySide6
    from PySide6.QtCore import qVersion

    QMessageBox.about(
        parent,
        "About kquant-gui",
        f"<h3>kquant-gui {__version__}</h3>"
        "<p>Reduce a photo to k colours with k-means clustering, compare it with the "
        "original and save exactly what you see.</p>"
        f"<p>Qt {qVersion()} · PySide6 {PySide6.__version__} · "
        f"matplotlib {matplotlib.__version__} · NumPy {numpy.__version__}</p>"
        "<p>MIT licence.</p>",
    )


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file (False when either cannot be looked at)."""
    try:
        return a.resolve() == b.resolve() or a.samefile(b)
    except OSError:
        return False

"""Help > What the Numbers Mean: ΔE2000, PSNR and the PNG estimate, in plain words.

The same explanations, shortened, are the tooltips of the status bar's figures
(:data:`STATS_TOOLTIP`), so a user hovering over "mean ΔE2000 5.21" learns what it says.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from .delta_e_map import JND

#: The explanation, as simple HTML (shown in a text browser).
NUMBERS_HTML = f"""
<h3>Colour difference (mean ΔE2000)</h3>
<p>ΔE2000 (CIEDE2000) measures how different two colours look to a person, not how far
apart their numbers are. For each pixel it compares the original colour with the colour it
was given; the status bar shows the average over the image. <b>Below about 1</b> the two are
indistinguishable; <b>about {JND}</b> is the smallest difference most people notice side by
side (the just-noticeable difference, marked on the Difference view's colour bar);
<b>above 5</b> the colours are clearly different. A photo reduced to few colours typically
scores 3&ndash;8 on average while looking fine, because the eye forgives a small shift over
a large area: View &gt; Difference shows <i>where</i> the differences are.</p>
<h3>PSNR</h3>
<p>Peak signal-to-noise ratio, in decibels, compares the red, green and blue numbers
directly. Higher is closer: above about 40 dB differences are hard to see, 30&ndash;40 dB is
good, below 25 dB visibly changed. It is the figure many tools quote, but it treats every
channel and every error alike, so ΔE2000 follows what you see more closely.</p>
<h3>PNG estimate</h3>
<p>"PNG &asymp; 22.8 kB" is the size of the indexed PNG that Save As would write now (one
byte or less per pixel plus the palette), measured by encoding it, and how that compares
with the original file. Fewer colours, no dithering and large flat areas make it smaller;
dithering adds noise that compresses poorly.</p>
"""

#: The status bar's figures explained in three lines (their tooltip).
STATS_TOOLTIP = (
    f"Mean ΔE2000: below ~1 invisible, ~{JND} just noticeable, above 5 clearly different.\n"
    "PNG ≈: the size of the indexed PNG Save As would write, against the original file.\n"
    "Help > What the Numbers Mean explains more."
)


def show_numbers_help(parent: QWidget) -> QDialog:
    """Show the explanation in a non-modal dialog (objectName ``numbersDialog``)."""
    existing = parent.findChild(QDialog, "numbersDialog")
    if existing is not None:
        existing.show()
        existing.raise_()
        return existing
    dialog = QDialog(parent)
    dialog.setObjectName("numbersDialog")
    dialog.setWindowTitle("What the Numbers Mean")
    layout = QVBoxLayout(dialog)
    text = QTextBrowser(dialog)
    text.setObjectName("numbersText")
    text.setHtml(NUMBERS_HTML)
    text.setOpenExternalLinks(False)
    layout.addWidget(text)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.close)
    layout.addWidget(buttons)
    dialog.resize(560, 520)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    dialog.show()
    return dialog

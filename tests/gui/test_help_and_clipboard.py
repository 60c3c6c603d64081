"""Help > What the Numbers Mean, the status bar's tooltips, and copy / paste."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QDialog, QTextBrowser
from qt_support import TIMEOUT_MS

from kquant_gui.gui import MainWindow
from kquant_gui.gui.clipboard import image_to_qimage, palette_lines, pasted_path


def test_numbers_help_explains_delta_e_psnr_and_the_png_estimate(window: MainWindow) -> None:
    window.findChild(QAction, "actionNumbersHelp").trigger()
    dialog = window.findChild(QDialog, "numbersDialog")
    assert dialog is not None and dialog.isVisible()
    text = dialog.findChild(QTextBrowser, "numbersText").toPlainText()
    for words in ("Below about 1", "about 2.3", "above 5", "PSNR", "PNG ≈", "just-noticeable"):
        assert words in text
    dialog.close()


def test_status_figures_say_what_they_mean_in_their_tooltip(opened: MainWindow) -> None:
    tip = opened.stats_label.toolTip()
    assert "~2.3 just noticeable" in tip and "above 5 clearly different" in tip
    assert "What the Numbers Mean" in tip


def test_ctrl_c_copies_the_quantized_image(opened: MainWindow) -> None:
    opened.action_copy.trigger()
    copied = QGuiApplication.clipboard().image()
    image = opened.shown.result.image
    assert (copied.width(), copied.height()) == (image.shape[1], image.shape[0])
    for x, y in ((0, 0), (100, 80), (127, 95)):
        color = copied.pixelColor(x, y)
        assert (color.red(), color.green(), color.blue()) == tuple(int(v) for v in image[y, x, :3])


def test_ctrl_shift_c_copies_the_palette_as_hex_lines(opened: MainWindow) -> None:
    opened.action_copy_palette.trigger()
    lines = QGuiApplication.clipboard().text().split()
    palette = opened.shown.result.palette
    assert len(lines) == len(palette)
    assert lines[0] == "#{:02x}{:02x}{:02x}".format(*(int(v) for v in palette[0][:3]))
    assert palette_lines(np.array([[1, 2, 3], [0, 0, 0]]), transparent_index=1) == "#010203"


def test_ctrl_v_opens_an_image_from_the_clipboard(qtbot, window: MainWindow) -> None:
    pixels = np.zeros((30, 40, 3), dtype=np.uint8)
    pixels[:, 20:] = (250, 40, 10)
    QGuiApplication.clipboard().setImage(image_to_qimage(pixels))
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        window.action_paste.trigger()
    assert window.source.path.name.startswith("pasted-")
    np.testing.assert_array_equal(window.source.pixels[..., :3], pixels)


def test_a_copied_file_is_pasted_as_that_file(tmp_path: Path, qapp) -> None:
    path = tmp_path / "x.png"
    Image.new("RGB", (4, 4)).save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    assert pasted_path(mime) == path
    assert pasted_path(QMimeData()) is None  # nothing usable: nothing opens


def test_pasting_text_says_there_is_no_image(window: MainWindow) -> None:
    QGuiApplication.clipboard().setText("just words")
    window.action_paste.trigger()
    assert "no image" in window.statusBar().currentMessage()
    assert window.source is None

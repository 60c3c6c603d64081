"""The dithering strength beside the dithering choice: enabled with a dithering, re-quantizes,
shows in the status bar and is remembered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QSpinBox
from qt_support import TIMEOUT_MS

from kquant_gui import quantize
from kquant_gui.gui import MainWindow


def _choose_dither(qtbot, window: MainWindow, key: str) -> None:
    combo = window.findChild(QComboBox, "ditherCombo")
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        combo.setCurrentIndex(combo.findData(key))


def test_strength_sits_beside_the_dithering_and_only_counts_with_one(
    qtbot, opened: MainWindow
) -> None:
    strength = opened.findChild(QSpinBox, "ditherStrength")
    assert strength is not None and strength.value() == 100 and strength.suffix() == " %"
    assert not strength.isEnabled()  # no dithering yet
    combo = opened.findChild(QComboBox, "ditherCombo")
    combo_x = combo.mapTo(opened, combo.rect().topLeft()).x()
    strength_x = strength.mapTo(opened, strength.rect().topLeft()).x()
    assert 0 < strength_x - combo_x < combo.width() + 30  # right after the choice
    _choose_dither(qtbot, opened, "floyd-steinberg")
    assert strength.isEnabled()
    assert opened.shown.result.dither_strength == 1.0


def test_typing_a_strength_re_quantizes_with_it(qtbot, opened: MainWindow, photo) -> None:
    _choose_dither(qtbot, opened, "floyd-steinberg")
    strength = opened.findChild(QSpinBox, "ditherStrength")
    strength.setFocus()
    strength.selectAll()
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        qtbot.keyClicks(strength, "40")
        qtbot.keyClick(strength, Qt.Key.Key_Return)
    result = opened.shown.result
    assert result.dither_strength == 0.4
    expected = quantize(photo, 8, dither="floyd-steinberg", dither_strength=0.4)
    np.testing.assert_array_equal(result.image, expected.image)
    assert "floyd–steinberg at 40%" in opened.quantized_title.text()
    # Down to 0 %: exactly the undithered result.
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        strength.setValue(0)
    np.testing.assert_array_equal(opened.shown.result.image, quantize(photo, 8).image)


def test_strength_is_remembered(qtbot, make_window, photo_file: Path, open_and_wait) -> None:
    first = make_window()
    open_and_wait(first, photo_file)
    first.controls.set_values(6, "lab", "ordered", 0.3)
    assert first.controls.dither_strength.isEnabled()
    first.close()
    second = make_window()
    assert second.controls.dither_strength.value() == 30
    assert second.controls.dither_strength.isEnabled()
    with qtbot.waitSignal(second.resultShown, timeout=TIMEOUT_MS):
        second.open_path(photo_file)
    assert second.shown.result.dither_strength == 0.3


def test_a_bad_stored_strength_falls_back_to_full_or_is_clamped(tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from kquant_gui.gui.preferences import Preferences

    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    prefs = Preferences(store)
    assert prefs.dither_strength == 1.0
    for stored, read in (("much", 1.0), ("nan", 1.0), (7, 1.0), (-2, 0.0), ("0.25", 0.25)):
        store.setValue("ditherStrength", stored)
        assert prefs.dither_strength == read, stored


def test_a_strength_change_is_one_undo_step(qtbot, opened: MainWindow) -> None:
    editor = opened.palette_editor
    _choose_dither(qtbot, opened, "ordered")
    full = opened.shown.result.image.tobytes()
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.controls.dither_strength.setValue(50)
    half = opened.shown.result.image.tobytes()
    assert half != full and opened.session.recipe.dither_strength == 0.5
    assert editor.stack.text(editor.stack.index() - 1) == "Dithering strength 50%"
    editor.action_undo.trigger()  # cached: on screen at once
    assert opened.controls.dither_strength.value() == 100
    assert opened.shown.result.image.tobytes() == full
    editor.action_redo.trigger()
    assert opened.controls.dither_strength.value() == 50
    assert opened.shown.result.image.tobytes() == half

"""The themes' spin-box arrows and slider track stand out from what surrounds them."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import QSlider, QSpinBox, QStyle, QStyleOptionSlider, QStyleOptionSpinBox

from kquant_gui.gui.theme import apply_theme


def _pixels(widget) -> np.ndarray:
    """The widget as drawn, (H, W, 3) uint8, at one device pixel per logical pixel."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, stride * height).reshape(height, stride)
    return raw[:, : width * 3].reshape(height, width, 3).copy()


def _shown(qtbot, widget, width: int, height: int, control, sub, option):
    """Show ``widget`` at ``width`` x ``height``; the rect of its part ``sub`` and its pixels."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.initStyleOption(option)
    rect = widget.style().subControlRect(control, option, sub, widget)
    return rect, _pixels(widget)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, dtype=float) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def _contrast(a: np.ndarray, b: np.ndarray) -> float:
    """WCAG contrast ratio of two sRGB colours."""
    la, lb = sorted((float(_luminance(a)), float(_luminance(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_spin_box_arrows_stand_out_from_their_buttons(qtbot, theme: str) -> None:
    apply_theme(theme)
    spin = QSpinBox()
    spin.setRange(1, 256)
    spin.setValue(8)
    cc, sc = QStyle.ComplexControl, QStyle.SubControl
    rect, pixels = _shown(
        qtbot, spin, 80, 28, cc.CC_SpinBox, sc.SC_SpinBoxUp, QStyleOptionSpinBox()
    )
    button = pixels[rect.top() : rect.bottom() + 1, rect.left() + 1 : rect.right() + 1]
    colours = button.reshape(-1, 3)
    lum = _luminance(colours)
    background = np.median(colours, axis=0)
    arrow = colours[np.argmax(np.abs(lum - _luminance(background)))]
    # WCAG asks 3:1 of a control's parts; the arrows are tiny, so ask for text's 4.5:1.
    assert _contrast(arrow, background) >= 4.5


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_slider_track_stands_out_from_the_window(qtbot, theme: str) -> None:
    apply_theme(theme)
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setValue(10)  # the plain track (not the accent part) right of the handle
    cc, sc = QStyle.ComplexControl, QStyle.SubControl
    groove, pixels = _shown(
        qtbot, slider, 200, 24, cc.CC_Slider, sc.SC_SliderGroove, QStyleOptionSlider()
    )
    column = pixels[:, groove.right() - 20]
    window = np.array(slider.palette().color(QPalette.ColorRole.Window).getRgb()[:3])
    # The most visible row of the track, outline or fill, against the window around it.
    assert max(_contrast(px, window) for px in column) >= 3.0


def test_theme_and_background_items_have_a_mnemonic_each(window) -> None:
    # View > Theme > D picks the dark theme from the keyboard; without "&" nothing happened.
    for actions in (window.theme_actions, window.background_actions):
        letters = [a.text()[a.text().index("&") + 1].lower() for a in actions.values()]
        assert len(set(letters)) == len(letters)

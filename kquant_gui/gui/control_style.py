"""The Fusion style with spin-box arrows and a slider track that read clearly on either theme.

Fusion draws a spin box's arrows in the window-text colour at 63 % opacity and the slider's
track a shade off the button colour with an outline a shade off the window colour: on the
dark theme both came out grey on grey (arrows at a contrast of 2.8:1, the track at 1.8:1).
:class:`ClearFusionStyle` lets Fusion draw everything else and paints those two parts itself
from the palette: solid arrows in the button-text colour, and a track outlined halfway
between the button and its text, so they stand out on a light palette and a dark one alike.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPolygonF
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QProxyStyle,
    QStyle,
    QStyleOptionComplex,
    QStyleOptionSlider,
    QStyleOptionSpinBox,
    QWidget,
)

_CC, _SC = QStyle.ComplexControl, QStyle.SubControl


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` (0..1) of the way towards ``b``."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def arrow_color(palette: QPalette, enabled: bool) -> QColor:
    """Solid button text; a disabled arrow (k already at 256, the box greyed out) halfway
    to the button colour, still visible."""
    text = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)
    return text if enabled else mix(text, palette.color(QPalette.ColorRole.Button), 0.55)


def track_colors(palette: QPalette) -> tuple[QColor, QColor]:
    """(fill, outline) of a slider's track: the outline halfway between button and text."""
    button = palette.color(QPalette.ColorRole.Button)
    text = palette.color(QPalette.ColorRole.ButtonText)
    dark = palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5
    fill = mix(button, text, 0.12) if dark else button.darker(112)
    return fill, mix(button, text, 0.5)


class ClearFusionStyle(QProxyStyle):
    """Fusion, with clear spin-box arrows and slider track (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__("Fusion")

    def drawComplexControl(
        self,
        control: QStyle.ComplexControl,
        option: QStyleOptionComplex,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        if control == _CC.CC_SpinBox and isinstance(option, QStyleOptionSpinBox):
            self._spin_box(option, painter, widget)
        elif control == _CC.CC_Slider and isinstance(option, QStyleOptionSlider):
            self._slider(option, painter, widget)
        else:
            super().drawComplexControl(control, option, painter, widget)

    # == spin box ================================================================================
    def _spin_box(
        self, option: QStyleOptionSpinBox, painter: QPainter, widget: QWidget | None
    ) -> None:
        symbols = QAbstractSpinBox.ButtonSymbols
        if option.buttonSymbols != symbols.UpDownArrows:
            super().drawComplexControl(_CC.CC_SpinBox, option, painter, widget)
            return
        # Fusion's own arrows in the button colour (all but invisible), ours drawn over them.
        plain = QStyleOptionSpinBox(option)
        quiet = QPalette(option.palette)
        quiet.setColor(QPalette.ColorRole.WindowText, quiet.color(QPalette.ColorRole.Button))
        plain.palette = quiet
        super().drawComplexControl(_CC.CC_SpinBox, plain, painter, widget)
        on = bool(option.state & QStyle.StateFlag.State_Enabled)
        steps = QAbstractSpinBox.StepEnabledFlag
        for sub, step, up in (
            (_SC.SC_SpinBoxUp, steps.StepUpEnabled, True),
            (_SC.SC_SpinBoxDown, steps.StepDownEnabled, False),
        ):
            rect = QRectF(self.subControlRect(_CC.CC_SpinBox, option, sub, widget))
            if rect.isEmpty():
                continue
            if up:
                rect.setBottom(rect.bottom() + 1)  # where Fusion centres its up arrow
            color = arrow_color(option.palette, on and bool(option.stepEnabled & step))
            _draw_arrow(painter, rect, up, color)

    # == slider ================================================================================
    def _slider(
        self, option: QStyleOptionSlider, painter: QPainter, widget: QWidget | None
    ) -> None:
        groove = self.subControlRect(_CC.CC_Slider, option, _SC.SC_SliderGroove, widget)
        if not (option.subControls & _SC.SC_SliderGroove) or not groove.isValid():
            super().drawComplexControl(_CC.CC_Slider, option, painter, widget)
            return
        handle = self.subControlRect(_CC.CC_Slider, option, _SC.SC_SliderHandle, widget)
        fill, outline = track_colors(option.palette)
        highlight = option.palette.color(QPalette.ColorRole.Highlight)
        track = QRectF(groove).adjusted(1.5, 1.5, -1.5, -1.5)
        done = QRectF(track)  # the part between the start and the handle, in the accent
        horizontal = option.orientation == Qt.Orientation.Horizontal
        if horizontal and option.upsideDown:
            done.setLeft(handle.center().x())
        elif horizontal:
            done.setRight(handle.center().x())
        elif option.upsideDown:
            done.setTop(handle.center().y())
        else:
            done.setBottom(handle.center().y())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for rect, brush, pen in (
            (track, fill, outline),
            (done, highlight, highlight.darker(130)),
        ):
            painter.setPen(pen)
            painter.setBrush(brush)
            painter.drawRoundedRect(rect, 2, 2)
        painter.restore()
        rest = QStyleOptionSlider(option)
        rest.subControls = option.subControls & ~_SC.SC_SliderGroove
        super().drawComplexControl(_CC.CC_Slider, rest, painter, widget)


def _draw_arrow(painter: QPainter, rect: QRectF, up: bool, color: QColor) -> None:
    """A solid triangle 9 x 5 px (smaller in a smaller box), centred in ``rect``."""
    width = min(9.0, rect.width() - 2, (rect.height() - 1) * 1.8)
    height = width * 5 / 9
    c = rect.center()
    top, bottom = c.y() - height / 2, c.y() + height / 2
    tip, base = (top, bottom) if up else (bottom, top)
    triangle = QPolygonF(
        [QPointF(c.x() - width / 2, base), QPointF(c.x() + width / 2, base), QPointF(c.x(), tip)]
    )
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawPolygon(triangle)
    painter.restore()

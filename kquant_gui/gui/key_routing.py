"""Keys that mean the same wherever focus is: + and − step k, Esc undoes an unfinished edit.

The k spin box has focus when the window opens, and a spin box's line edit claims every
printable key before a shortcut sees it: "+" was typed into it as "+16" and k did not move.
:class:`SpinKeys` sits on such a spin box and turns + / = / − into steps of k (what the
window's shortcuts do everywhere else), and Esc into "put back the value shown before typing"
while the text is being edited; with nothing typed, Esc passes on to the window (Cancel).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QSpinBox, QWidget

#: Keys that step k, whatever the keyboard layout needs Shift for.
STEP_KEYS = {
    Qt.Key.Key_Plus: 1,
    Qt.Key.Key_Equal: 1,
    Qt.Key.Key_Minus: -1,
    Qt.Key.Key_Underscore: -1,
}
_PLAIN = (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)


class SpinKeys(QObject):
    """Event filter for a spin box: + / − call ``step``, Esc restores an edited value.

    Parameters
    ----------
    spin : QSpinBox or QDoubleSpinBox
        The box to watch (the filter is installed on it and on its line edit).
    step : callable(int)
        Called with +1 or −1.
    """

    def __init__(self, spin: QSpinBox | QDoubleSpinBox, step: Callable[[int], None]) -> None:
        super().__init__(spin)
        self.spin = spin
        self.step = step
        spin.installEventFilter(self)
        spin.lineEdit().installEventFilter(self)

    def _shown_value(self) -> str:
        spin = self.spin
        return spin.prefix() + spin.textFromValue(spin.value()) + spin.suffix()

    def _edited(self) -> bool:
        """True while the text differs from the value (typed, not yet committed)."""
        return self.spin.lineEdit().text() != self._shown_value()

    def _claims(self, event: QKeyEvent) -> bool:
        if event.modifiers() not in _PLAIN:
            return False
        key = event.key()
        return key in STEP_KEYS or (key == Qt.Key.Key_Escape and self._edited())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if self._claims(event):
                # Ours: delivered as a key press below instead of triggering a shortcut.
                event.accept()
                return True
            return False
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and self._claims(event):
            if event.key() == Qt.Key.Key_Escape:
                self.restore()
            else:
                if self._edited():
                    self.restore()  # "12+" means "k + 1", not "12 + 1"
                self.step(STEP_KEYS[Qt.Key(event.key())])
                self.spin.selectAll()
            return True
        return False

    def restore(self) -> None:
        """Show the spin box's value again, dropping what was typed."""
        self.spin.lineEdit().setText(self._shown_value())
        self.spin.selectAll()


def route_step_keys(window: QWidget, step: Callable[[int], None]) -> list[SpinKeys]:
    """Install :class:`SpinKeys` on every spin box of ``window`` (k's and, e.g., the target
    ΔE's, which has focus when the window opens): + and − step k from any of them."""
    return [
        SpinKeys(spin, step)
        for spin in window.findChildren(QAbstractSpinBox)
        if isinstance(spin, (QSpinBox, QDoubleSpinBox))
    ]

"""The curve panel beside the palette, and its wiring to the window's session and controls.

:class:`CurvePanel` is the widget: a title, the target spin box and the "fewest colours"
button above the :class:`.curve_canvas.CurveCanvas`. :class:`CurveBinding` connects it: a
curve is requested once a new image's (or new colour space's or dithering's) first result
and its figures are in, the current k is marked as results arrive, a k picked on the curve
goes to the k spin box, and "Fewest colours for this quality" (Ctrl+K) sets k by
``choose_k`` in the background.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kquant_gui.engine import KChoice

from .curve import CurveController
from .curve_canvas import JND, CurveCanvas
from .elided_label import ElidedLabel
from .tasks import MeasureFailed

if TYPE_CHECKING:
    from .main_window import MainWindow
    from .tasks import Loaded, Quantized

#: QSettings key of the target mean dE2000.
TARGET_KEY = "targetDeltaE"
#: How long a transient status message stays.
MESSAGE_MS = 6000


class CurvePanel(QWidget):
    """Title, target and the curve.

    Parameters
    ----------
    parent : QWidget, optional
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("curvePanel")
        self.title = ElidedLabel("Quality and size by k")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.title.min_chars = len("Quality")  # in a narrow window, no "Qual…": the axes say it
        self.target = QDoubleSpinBox(self)
        self.target.setObjectName("targetDeSpinBox")
        self.target.setRange(0.1, 30.0)
        self.target.setSingleStep(0.1)
        self.target.setDecimals(1)
        self.target.setValue(JND)
        self.target.setPrefix("ΔE ≤ ")
        self.target.setKeyboardTracking(False)
        self.target.setToolTip(
            "Target mean colour difference (CIEDE2000): about 1 is invisible side by side, "
            "2.3 just noticeable"
        )
        self.suggest_button = QToolButton(self)
        self.suggest_button.setObjectName("suggestKButton")
        self.suggest_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.canvas = CurveCanvas(self)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(4)
        head.addWidget(self.title, 1)
        head.addWidget(self.target)
        head.addWidget(self.suggest_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self.canvas, 1)

    def set_suggest_action(self, action: QAction) -> None:
        """Show "Fewest colours for this quality" as the panel's button."""
        self.suggest_button.setDefaultAction(action)


def suggest_action(parent: QWidget) -> QAction:
    """The "Fewest colours for this quality" action (Ctrl+K), not yet connected."""
    action = QAction("Fewest Colours for This &Quality", parent)
    action.setObjectName("actionSuggestK")
    action.setShortcut(QKeySequence("Ctrl+K"))
    action.setStatusTip("Set k to the fewest colours whose mean ΔE reaches the target")
    action.setIconText("Fewest colours")
    parent.addAction(action)
    return action


class CurveBinding(QObject):
    """Connects the curve panel to a window's session, controls and status bar.

    Parameters
    ----------
    window : MainWindow
        Needs ``session``, ``controls``, ``worker`` (for its draw gate) and ``prefs``.
    panel : CurvePanel
    action : QAction
        The "fewest colours" action.
    """

    def __init__(self, window: MainWindow, panel: CurvePanel, action: QAction) -> None:
        super().__init__(window)
        self.window, self.panel, self.action = window, panel, action
        self.canvas = panel.canvas
        self.canvas.draw_gate = window.worker.gate
        self.controller = CurveController(window.worker.gate, self)
        try:
            target = float(window.prefs.store.value(TARGET_KEY, JND))
        except (TypeError, ValueError):
            target = JND
        panel.target.setValue(target)
        self.canvas.set_target(panel.target.value())
        action.setEnabled(False)

        session = window.session
        session.loaded.connect(self._on_loaded)
        session.resultReady.connect(self._on_result)
        session.measured.connect(self._request)
        session.failed.connect(self._on_session_failed)
        session.busyChanged.connect(self._on_busy)
        session.cancelled.connect(self._on_cancelled)
        window.controls.changed.connect(self._on_settings)
        self.canvas.kPicked.connect(self._on_k_picked)
        self.canvas.hovered.connect(self._on_hovered)
        panel.target.valueChanged.connect(self._on_target)
        action.triggered.connect(self.suggest)
        # Esc stops a search too (the session handles its own jobs).
        window.action_cancel.triggered.connect(self._cancel_search)
        c = self.controller
        c.started.connect(lambda: self.canvas.clear("Measuring the curve…"))
        c.pointsChanged.connect(lambda: self.canvas.add_points(c.points.values()))
        c.chosen.connect(self._on_chosen)
        c.failed.connect(self._on_failed)

    # -- requests ------------------------------------------------------------------------
    @Slot()
    def _request(self) -> None:
        """Measure the curve of the image and settings shown: called once a result and its
        figures are in, so that opening and the first result never share the interpreter
        with a sweep (on a 24 MP photo that stalled the main thread by ~0.5 s)."""
        source = self.window.session.source
        if source is None or self.window.session.is_busy():
            return
        controls = self.window.controls
        self.controller.request(source.pixels, controls.color_space_key, controls.dither_key)

    @Slot()
    def suggest(self) -> None:
        """Set k to the fewest colours that reach the target (searched in the background)."""
        source = self.window.session.source
        if source is None:
            return
        target = self.panel.target.value()
        controls = self.window.controls
        self.controller.choose(
            source.pixels, controls.color_space_key, controls.dither_key, target
        )
        self.window.statusBar().showMessage(
            f"Finding the fewest colours with mean ΔE ≤ {target:.1f}…"
        )

    @Slot()
    def _cancel_search(self) -> None:
        if self.controller.cancel_search():
            self.window.statusBar().showMessage(
                "Stopped looking for the fewest colours", MESSAGE_MS
            )

    def shutdown(self) -> None:
        """Stop the curve's thread."""
        self.controller.shutdown()

    # -- outcomes ------------------------------------------------------------------------
    @Slot(object)
    def _on_loaded(self, outcome: Loaded) -> None:
        self.action.setEnabled(True)
        # The old image's curve is stale: stop it; the new one starts after the first result.
        self.controller.forget()
        self.canvas.clear("Measuring the curve…")
        self.canvas.set_current_k(self.window.controls.k)

    @Slot(object)
    def _on_result(self, outcome: Quantized) -> None:
        self.canvas.set_current_k(outcome.result.k)

    @Slot(str)
    def _on_busy(self, text: str) -> None:
        self.controller.set_quantizing(bool(text))

    @Slot()
    def _on_settings(self) -> None:
        # A new k only moves the mark. A new colour space or dithering makes the curve stale:
        # it is stopped now and measured again once the new result is in.
        controls = self.window.controls
        self.canvas.set_current_k(controls.k)
        if self.controller.is_stale(controls.color_space_key, controls.dither_key):
            self.controller.forget()
            self.canvas.clear("Measuring the curve…")

    @Slot()
    def _on_cancelled(self) -> None:
        # Esc puts the controls back to the settings of the result shown (another slot of
        # this signal): once it has, the curve of those settings is measured again, instead
        # of "Measuring the curve…" over empty axes until the next change.
        QTimer.singleShot(0, self._after_cancel)

    def _after_cancel(self) -> None:
        if self.window.session.shown is not None:
            self.canvas.set_current_k(self.window.controls.k)
            self._request()

    @Slot(object)
    def _on_session_failed(self, failure: object) -> None:
        # Without the status-bar figures the curve is still worth measuring.
        if isinstance(failure, MeasureFailed):
            self._request()

    @Slot(int)
    def _on_k_picked(self, k: int) -> None:
        self.window.controls.k_spin.setValue(k)

    @Slot(str)
    def _on_hovered(self, text: str) -> None:
        bar = self.window.statusBar()
        if text:
            bar.showMessage(text)
        else:
            bar.clearMessage()

    @Slot(float)
    def _on_target(self, value: float) -> None:
        self.canvas.set_target(value)
        self.window.prefs.store.setValue(TARGET_KEY, float(value))

    @Slot(object)
    def _on_chosen(self, choice: KChoice) -> None:
        target = self.panel.target.value()
        if choice.met:
            note = (
                f"k={choice.k} is the fewest colours with mean ΔE ≤ {target:.1f} "
                f"(it gives {choice.mean_delta_e:.3f}"
            )
            below = choice.tried.get(choice.k - 1)
            note += f"; k={choice.k - 1} gives {below:.3f})" if below is not None else ")"
        else:
            note = (
                f"Even k={choice.k} reaches only mean ΔE {choice.mean_delta_e:.2f}, "
                f"above the target {target:.1f}"
            )
        self.window.controls.k_spin.setValue(choice.k)
        self.window.statusBar().showMessage(note, 2 * MESSAGE_MS)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.window.statusBar().showMessage(f"Could not measure the curve: {message}", MESSAGE_MS)

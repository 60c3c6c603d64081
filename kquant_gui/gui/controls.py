"""The quantization settings: k (spin box plus a logarithmic slider), colour space, dithering
and its strength, and the engine (chosen in the Colours menu)."""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QComboBox, QSlider, QSpinBox, QWidget

from kquant_gui.engine import K_MAX, K_MIN

#: Labels of the engine's colour spaces and dithering modes, in menu order.
COLOR_SPACE_LABELS = {"lab": "CIELAB", "oklab": "OKLab", "rgb": "sRGB"}
DITHER_LABELS = {
    "none": "None",
    "floyd-steinberg": "Floyd–Steinberg",
    "ordered": "Ordered (Bayer)",
}
#: Who clusters: ours (numpy) or the textbook reference, scikit-learn's KMeans.
ENGINE_LABELS = {
    "numpy": "&kquant k-means (numpy, default)",
    "sklearn": "&scikit-learn KMeans (reference, slower)",
}
ENGINE_TIPS = {
    "numpy": "The default engine: k-means on the image's colour histogram, in numpy",
    "sklearn": "The textbook reference: scikit-learn's KMeans on the same histogram and colour "
    "space; slower, and scikit-learn loads (about a second) the first time. Not with locked "
    "colours",
}
#: Slider steps; the slider is logarithmic so that k = 1..16, where each step matters most,
#: gets as much travel as k = 16..256. 2000 steps still give every k up to 256 a position.
SLIDER_STEPS = 2000


def slider_to_k(position: int) -> int:
    """k for a slider position (0..SLIDER_STEPS), logarithmic from 1 to 256."""
    return round(K_MAX ** (position / SLIDER_STEPS))


def k_to_slider(k: int) -> int:
    """Slider position showing ``k``."""
    return round(math.log(max(k, 1)) / math.log(K_MAX) * SLIDER_STEPS)


class QuantizeControls(QObject):
    """Owns the setting widgets and keeps the spin box and slider in step.

    Signals
    -------
    changed()
        Any setting changed by the user or by :meth:`set_values`.
    """

    changed = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.k_spin = QSpinBox(parent)
        self.k_spin.setObjectName("kSpinBox")
        self.k_spin.setRange(K_MIN, K_MAX)
        self.k_spin.setValue(8)
        self.k_spin.setAccelerated(True)
        self.k_spin.setToolTip("Number of colours k (1–256). Shortcuts: + and −")
        self.k_spin.setKeyboardTracking(False)  # typing "16" must not run k=1 first

        self.k_slider = QSlider(Qt.Orientation.Horizontal, parent)
        self.k_slider.setObjectName("kSlider")
        self.k_slider.setRange(0, SLIDER_STEPS)
        self.k_slider.setValue(k_to_slider(8))
        self.k_slider.setMinimumWidth(80)
        self.k_slider.setMaximumWidth(220)
        self.k_slider.setToolTip("Number of colours k (logarithmic: fine steps at small k)")

        self.color_space = QComboBox(parent)
        self.color_space.setObjectName("colorSpaceCombo")
        for key, label in COLOR_SPACE_LABELS.items():
            self.color_space.addItem(label, key)
        self.color_space.setToolTip(
            "Space in which colour distances are measured: CIELAB and OKLab are perceptual"
        )

        self.dither = QComboBox(parent)
        self.dither.setObjectName("ditherCombo")
        for key, label in DITHER_LABELS.items():
            self.dither.addItem(label, key)
        self.dither.setToolTip("Dithering hides banding but makes files larger")

        self.dither_strength = QSpinBox(parent)
        self.dither_strength.setObjectName("ditherStrength")
        self.dither_strength.setRange(0, 100)
        self.dither_strength.setSingleStep(10)
        self.dither_strength.setValue(100)
        self.dither_strength.setSuffix(" %")
        self.dither_strength.setAccessibleName("Dithering strength")
        self.dither_strength.setToolTip(
            "Dithering strength: 100 % dithers fully, lower values dither less (0 % is none)"
        )
        self.dither_strength.setKeyboardTracking(False)  # typing "50" must not run 5 % first
        self.dither_strength.setEnabled(False)  # until a dithering is chosen

        # The engine has no widget in the toolbar: an exclusive pair of checkable actions
        # (Colours > Engine), which hold the choice as the combo boxes hold theirs.
        group = QActionGroup(self)
        self.engine_actions: dict[str, QAction] = {}
        for key, label in ENGINE_LABELS.items():
            action = QAction(label, self, checkable=True)
            action.setObjectName(f"actionEngine{key.capitalize()}")
            action.setStatusTip(ENGINE_TIPS[key])
            action.setToolTip(ENGINE_TIPS[key])
            action.setChecked(key == "numpy")
            action.triggered.connect(self.changed)
            group.addAction(action)
            self.engine_actions[key] = action

        self.k_spin.valueChanged.connect(self._spin_changed)
        self.k_slider.valueChanged.connect(self._slider_changed)
        self.color_space.currentIndexChanged.connect(self.changed)
        self.dither.currentIndexChanged.connect(self._dither_changed)
        self.dither_strength.valueChanged.connect(self.changed)

    @property
    def k(self) -> int:
        """The chosen k."""
        return int(self.k_spin.value())

    @property
    def color_space_key(self) -> str:
        """The chosen colour space, as the engine names it."""
        return str(self.color_space.currentData())

    @property
    def dither_key(self) -> str:
        """The chosen dithering, as the engine names it."""
        return str(self.dither.currentData())

    @property
    def dither_strength_value(self) -> float:
        """The chosen dithering strength, 0.0 to 1.0."""
        return self.dither_strength.value() / 100.0

    @property
    def engine(self) -> str:
        """The chosen engine, as ``quantize(engine=...)`` names it."""
        return next((k for k, a in self.engine_actions.items() if a.isChecked()), "numpy")

    def set_values(
        self,
        k: int,
        color_space: str,
        dither: str,
        dither_strength: float | None = None,
        engine: str | None = None,
    ) -> None:
        """Set the settings at once (the strength and engine only if given), emitting
        ``changed`` at most once."""
        widgets = (self.k_spin, self.k_slider, self.color_space, self.dither, self.dither_strength)
        before = self._values()
        for w in widgets:
            w.blockSignals(True)
        try:
            self.k_spin.setValue(k)
            self.k_slider.setValue(k_to_slider(self.k))
            self.color_space.setCurrentIndex(max(0, self.color_space.findData(color_space)))
            self.dither.setCurrentIndex(max(0, self.dither.findData(dither)))
            if dither_strength is not None:
                self.dither_strength.setValue(round(dither_strength * 100))
            if engine in self.engine_actions:
                self.engine_actions[engine].setChecked(True)
            self._enable_strength()
        finally:
            for w in widgets:
                w.blockSignals(False)
        if self._values() != before:
            self.changed.emit()

    def _values(self) -> tuple[int, str, str, float, str]:
        return (
            self.k, self.color_space_key, self.dither_key, self.dither_strength_value, self.engine
        )  # fmt: skip

    def _enable_strength(self) -> None:
        # The strength means nothing without a dithering; greyed out, it keeps its value.
        self.dither_strength.setEnabled(self.dither_key != "none")

    def _dither_changed(self) -> None:
        self._enable_strength()
        self.changed.emit()

    def step_k(self, delta: int) -> None:
        """k + ``delta`` (the + and − keys)."""
        self.k_spin.setValue(self.k + delta)

    def _spin_changed(self, k: int) -> None:
        self.k_slider.blockSignals(True)
        self.k_slider.setValue(k_to_slider(k))
        self.k_slider.blockSignals(False)
        self.changed.emit()

    def _slider_changed(self, position: int) -> None:
        # The spin box owns the value; its valueChanged emits `changed` (only if k moved).
        self.k_spin.setValue(slider_to_k(position))

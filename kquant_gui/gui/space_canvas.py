"""View > Colour Space: the image's colours as a 3D cloud in the space k-means worked in.

Each sampled pixel is a dot in its own colour; each palette entry is a large marker, with
faint lines to some of the pixels it pulled (its cluster). Drag to rotate, as matplotlib's
3D axes do. The sample is computed by the worker with the status-bar figures
(:mod:`.space_sample`); this module only draws it, on the main thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from mpl_toolkits.mplot3d.art3d import Line3DCollection
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDockWidget

from . import tasks
from .controls import COLOR_SPACE_LABELS
from .theme import figure_colors

if TYPE_CHECKING:
    from .main_window import MainWindow
    from .space_sample import SpaceSample

#: Lines drawn from each palette entry to members of its cluster.
PULL_LINES = 24


class SpaceCanvas(FigureCanvasQTAgg):
    """A rotatable 3D scatter of a :class:`.space_sample.SpaceSample`."""

    def __init__(self) -> None:
        super().__init__(Figure(figsize=(4.0, 4.0)))
        self.setObjectName("spaceCanvas")
        self.setMinimumSize(380, 320)
        self.ax = self.figure.add_subplot(projection="3d")
        # The cloud gets the whole panel; the 3D axes leave their own margin for labels,
        # except the vertical axis's name on the right, which a narrow panel clipped ("L*").
        self.figure.subplots_adjust(left=0.0, right=0.86, bottom=0.02, top=0.98)
        self.sample: SpaceSample | None = None
        self.show_message("The colours appear here once the image is quantized")

    def show_message(self, text: str) -> None:
        """Clear the plot and show ``text``."""
        self.ax.clear()
        self.ax.set_axis_off()
        self.ax.text2D(0.5, 0.5, text, ha="center", va="center", transform=self.ax.transAxes)
        self._theme()
        self.draw_idle()

    def _theme(self) -> None:
        background, foreground, _ = figure_colors(QApplication.palette())
        self.figure.set_facecolor(background)
        self.ax.set_facecolor(background)
        for axis in (self.ax.xaxis, self.ax.yaxis, self.ax.zaxis):
            axis.label.set_color(foreground)
            axis.set_tick_params(colors=foreground, labelsize=7)
            axis.set_pane_color((0.5, 0.5, 0.5, 0.08))
        for text in self.ax.texts:
            text.set_color(foreground)
        self.ax.title.set_color(foreground)

    def set_sample(self, sample: SpaceSample) -> None:
        """Draw ``sample``: dots in their own colour, the palette as large markers."""
        self.sample = sample
        ax = self.ax
        ax.clear()
        ax.set_axis_on()
        # The lightness axis up, as colour scientists draw it (for RGB: blue up).
        order = (1, 2, 0) if sample.space in ("lab", "oklab") else (0, 1, 2)
        pts, pal = sample.coords[:, order], sample.palette_coords[:, order]
        names = [sample.axis_names[i] for i in order]
        lines = []
        for entry in range(pal.shape[0]):
            members = pts[sample.labels == entry][:PULL_LINES]
            lines.extend([pal[entry], p] for p in members)
        if lines:
            ax.add_collection3d(
                Line3DCollection(lines, colors=(0.5, 0.5, 0.5, 0.25), linewidths=0.5)
            )
        ax.scatter(*pts.T, c=sample.colors / 255.0, s=5, depthshade=False, linewidths=0)
        ax.scatter(
            *pal.T,
            c=sample.palette_colors / 255.0,
            s=220,
            depthshade=False,
            edgecolors="#ffffff",
            linewidths=1.8,
        )
        ax.scatter(*pal.T, facecolors="none", s=300, edgecolors="#000000", linewidths=0.8)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_zlabel(names[2])
        space = COLOR_SPACE_LABELS.get(sample.space, sample.space)
        ax.set_title(
            f"{len(pts):,} sampled pixels and the {len(pal)} palette entries in {space}",
            fontsize=8,
        )
        self._theme()
        self.draw_idle()


class SpaceView(QObject):
    """The Colour Space dock of window ``w`` and its View menu action."""

    def __init__(self, w: MainWindow) -> None:
        super().__init__(w)
        self.w = w
        self.canvas = SpaceCanvas()
        self.dock = QDockWidget("Colour Space", w)
        self.dock.setObjectName("spaceDock")
        self.dock.setWidget(self.canvas)
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.action: QAction = self.dock.toggleViewAction()
        self.action.setText("Colour &Space (3D)")
        self.action.setObjectName("actionColorSpaceView")
        self.action.setShortcut("Ctrl+3")
        self.action.setStatusTip("The image's colours in the space k-means used, drag to rotate")
        w.addAction(self.action)
        self.dock.visibilityChanged.connect(self._visibility)
        w.session.measured.connect(self._on_measured)
        w.session.loaded.connect(self._on_loaded)
        #: Shown when the view opens: clearing a hidden 3D plot at once cost the main
        #: thread some 15 ms in the same step as drawing the newly opened image.
        self._message: str | None = None

    def _on_loaded(self, _outcome: object) -> None:
        if self.dock.isVisible():
            self.canvas.show_message("Quantizing…")
        else:
            self._message = "Quantizing…"

    def _visibility(self, visible: bool) -> None:
        self.w.session.set_space_sample_wanted(visible)
        m = self.w.measured
        if visible and m is not None and m.space_sample is not None:
            self._message = None
            self.canvas.set_sample(m.space_sample)
        elif visible and self._message is not None:
            self.canvas.show_message(self._message)
            self._message = None

    def _on_measured(self, outcome: tasks.Measured) -> None:
        if self.dock.isVisible() and outcome.space_sample is not None:
            self._message = None
            self.canvas.set_sample(outcome.space_sample)

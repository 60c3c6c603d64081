"""The palette view: a grid of swatches with hex code and share, readable from k=1 to 256.

Swatches are laid out to fill the canvas (:func:`grid_shape`); each one big enough to hold text
shows its hex code and share, and every swatch tells both on hover. Clicking one emits its index.
A semi-transparent entry (an RGBA palette) is drawn over a checkerboard, as the image views draw
transparency, and its code reads ``#rrggbbaa``; the shared fully transparent entry is hatched.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.backend_bases import MouseButton, MouseEvent
from matplotlib.collections import PatchCollection
from matplotlib.colors import to_rgb
from matplotlib.patches import Rectangle
from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QCursor,
    QFont,
    QGuiApplication,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QToolTip, QWidget

from .canvas_base import FullAxesCanvas

#: Largest swatch, in logical pixels: a 2-colour palette should not become two huge bars.
MAX_CELL = (150.0, 96.0)
#: Smallest cell (logical pixels) that gets two lines of text, and one line.
TWO_LINES = (60.0, 34.0)
ONE_LINE = (112.0, 17.0)
#: Cell size (logical pixels) that :func:`grid_shape` tries to keep, so that text fits.
TEXT_CELL = (88.0, TWO_LINES[1])
GAP = 3.0


def grid_shape(n: int, width: float, height: float) -> tuple[int, int]:
    """Columns and rows that make ``n`` cells as large as possible in ``width`` x ``height``.

    The fewest rows whose cells still hold two lines of text win; when no layout has room
    for text (large k in a small canvas), the cells are made as large as possible, about
    three times as wide as tall.

    Returns
    -------
    (cols, rows) : tuple of int
    """
    for rows in range(1, max(n, 1) + 1):
        cols = math.ceil(n / rows)
        if width / cols >= TEXT_CELL[0] and height / rows >= TEXT_CELL[1]:
            return cols, rows
    best, best_score = (max(n, 1), 1), -1.0
    for cols in range(1, max(n, 1) + 1):
        rows = math.ceil(n / cols)
        cw = min(width / cols, MAX_CELL[0])
        ch = min(height / rows, MAX_CELL[1])
        score = min(cw, 3.0 * ch)
        # Strictly better only: among equal cell sizes the first, with fewest rows, is kept.
        if score > best_score + 0.5:
            best, best_score = (cols, rows), score
    return best


#: Height (logical pixels) of a swatch row when the panel is sized to its content, with text
#: and, for palettes too large for text, without.
ROW_HEIGHT = 46.0
SMALL_ROW_HEIGHT = 22.0


def content_height(n: int, width: float, max_height: float) -> float:
    """Logical height the swatch grid of ``n`` colours needs at ``width``: rows of
    :data:`ROW_HEIGHT` while cells can hold text, else rows of :data:`SMALL_ROW_HEIGHT`;
    never more than ``max_height``, never less than one row."""
    if n <= 0:
        return ROW_HEIGHT
    cols = max(1, min(n, int(width // TEXT_CELL[0])))
    rows = math.ceil(n / cols)
    needed = rows * ROW_HEIGHT
    if needed > max_height:
        # No room for text anyway: small cells, three times as wide as tall.
        cols = max(1, min(n, int(width // (3.0 * SMALL_ROW_HEIGHT))))
        needed = math.ceil(n / cols) * SMALL_ROW_HEIGHT
    return max(ROW_HEIGHT, min(needed, max_height))


#: Checkerboard under semi-transparent swatches: square size (logical pixels) and its two greys,
#: the same pattern the image views draw under transparent pixels.
CHECKER_SIZE = 8
CHECKER_GREYS = (204, 153)


def hex_code(color: np.ndarray) -> str:
    """``#rrggbb`` of a (3,) or opaque (4,) uint8 colour; ``#rrggbbaa`` when its alpha < 255."""
    values = [int(c) for c in color[:4]]
    if len(values) == 4 and values[3] == 255:
        values = values[:3]
    return "#" + "".join(f"{v:02x}" for v in values)


def text_color(color: np.ndarray) -> str:
    """Black or white, whichever reads better on ``color`` (relative luminance).

    A semi-transparent (4,) colour is judged as it shows over the checkerboard's middle grey.
    """
    rgb = np.asarray(color[:3], dtype=np.float64)
    if len(color) == 4:
        a = float(color[3]) / 255.0
        rgb = rgb * a + (1.0 - a) * float(np.mean(CHECKER_GREYS))
    r, g, b = rgb / 255.0
    return "#000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "#ffffff"


def _ctrl_held() -> bool:
    mods = QGuiApplication.keyboardModifiers()
    return bool(mods & Qt.KeyboardModifier.ControlModifier)


class PaletteCanvas(FullAxesCanvas):
    """Swatch grid of one quantization.

    Signals
    -------
    swatchClicked(int)
        Palette index of the swatch clicked.
    swatchMenuRequested(int, QPoint)
        Right click or the context-menu key on swatch ``index``; the global position for
        the menu.
    markedChanged()
        Ctrl-click added or removed a swatch from :attr:`marked` (the swatches to merge).
    """

    swatchClicked = Signal(int)
    swatchMenuRequested = Signal(int, QPoint)
    markedChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__((6.0, 1.2), parent)
        self.setMinimumHeight(48)
        self.setMouseTracking(True)
        self.palette_rgb = np.empty((0, 3), dtype=np.uint8)
        self.palette_alpha = np.empty(0, dtype=np.uint8)
        self.shares = np.empty(0)
        self.counts = np.empty(0, dtype=np.int64)
        self.transparent_index: int | None = None
        self.selected: int | None = None
        self._cells: np.ndarray = np.empty((0, 4))  # x, y, w, h in device pixels, y down
        # (x, y, w, h, text, colour) of each swatch label, in device pixels, y down.
        self._labels: list[tuple[float, float, float, float, str, str]] = []
        self._hover: int | None = None
        #: Swatches picked with Ctrl-click (to merge) and swatches whose colour is locked.
        self.marked: set[int] = set()
        self.locked: set[int] = set()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # The checkerboard shows through semi-transparent swatches only: it is an image that
        # is itself transparent outside their cells, drawn below the swatches.
        self.checker = self.ax.imshow(
            np.zeros((1, 1, 4), np.uint8),
            interpolation="nearest",
            aspect="auto",
            zorder=0,
            visible=False,
        )
        self.swatches = PatchCollection([], linewidths=0, zorder=1)
        self.ax.add_collection(self.swatches)
        self.transparent_patch = Rectangle((0, 0), 0, 0, fill=False, hatch="//", visible=False)
        self.ax.add_patch(self.transparent_patch)
        self.outline = Rectangle((0, 0), 0, 0, fill=False, linewidth=2.5, visible=False)
        self.ax.add_patch(self.outline)
        self.ready = True
        self.apply_theme()
        self.mpl_connect("button_press_event", self._on_press)
        self.mpl_connect("motion_notify_event", self._on_motion)

    # -- content -------------------------------------------------------------------------
    def set_palette(
        self, palette: np.ndarray, counts: np.ndarray, transparent_index: int | None = None
    ) -> None:
        """Show ``palette`` (n, 3) or (n, 4) uint8 with pixel ``counts`` (n,), largest share
        first."""
        palette = np.asarray(palette, dtype=np.uint8)
        palette = palette.reshape(-1, palette.shape[-1] if palette.ndim == 2 else 3)
        self.palette_rgb = np.ascontiguousarray(palette[:, :3])
        self.palette_alpha = (
            palette[:, 3].copy() if palette.shape[1] == 4 else np.full(len(palette), 255, np.uint8)
        )
        self.counts = np.asarray(counts, dtype=np.int64)
        total = int(self.counts.sum())
        self.shares = self.counts / total if total else np.zeros(len(self.counts))
        self.transparent_index = transparent_index
        self.selected = None
        self.marked = set()
        self.set_message("")
        self._layout()

    def clear(self, message: str = "") -> None:
        """Remove every swatch and show ``message``."""
        self.palette_rgb = np.empty((0, 3), dtype=np.uint8)
        self.palette_alpha = np.empty(0, dtype=np.uint8)
        self.counts = np.empty(0, dtype=np.int64)
        self.shares = np.empty(0)
        self.selected = None
        self.set_message(message)
        self._layout()

    def set_selected(self, index: int | None) -> None:
        """Outline swatch ``index`` (None removes the outline)."""
        self.selected = index
        self._place_outline()
        self.draw_idle()

    def describe(self, index: int) -> str:
        """``#rrggbb · 12.3 % · 45,678 px`` for swatch ``index`` (``#rrggbbaa`` when the entry
        is semi-transparent)."""
        name = "transparent" if index == self.transparent_index else hex_code(self.color(index))
        return f"{name} · {100.0 * self.shares[index]:.1f} % · {int(self.counts[index]):,} px"

    def color(self, index: int) -> np.ndarray:
        """Entry ``index`` as RGBA, shape (4,) uint8."""
        return np.append(self.palette_rgb[index], self.palette_alpha[index])

    def swatch_at(self, x: float, y_down: float) -> int | None:
        """Index of the swatch under device pixel (x, y counted from the top), or None."""
        cells = self._cells
        if cells.shape[0] == 0:
            return None
        inside = (
            (x >= cells[:, 0])
            & (x < cells[:, 0] + cells[:, 2])
            & (y_down >= cells[:, 1])
            & (y_down < cells[:, 1] + cells[:, 3])
        )
        hits = np.flatnonzero(inside)
        return int(hits[0]) if hits.size else None

    def cell_center(self, index: int) -> tuple[float, float]:
        """Centre of swatch ``index`` in logical widget pixels (for tests and tooltips)."""
        x, y, w, h = self._cells[index]
        ratio = self.device_pixel_ratio
        return (x + w / 2.0) / ratio, (y + h / 2.0) / ratio

    # -- layout --------------------------------------------------------------------------
    def _layout(self) -> None:
        self._labels = []
        n = self.palette_rgb.shape[0]
        width, height = self.figure.bbox.width, self.figure.bbox.height
        self.ax.set_xlim(0, max(width, 1))
        self.ax.set_ylim(max(height, 1), 0)
        ratio = self.device_pixel_ratio
        if n == 0 or width < 2 or height < 2:
            self._cells = np.empty((0, 4))
            self.swatches.set_paths([])
            self.checker.set_visible(False)
            self.transparent_patch.set_visible(False)
            self._place_outline()
            self.draw_idle()
            return
        cols, rows = grid_shape(n, width / ratio, height / ratio)
        # Full width (no gap at the right); the height is capped so that a 2-colour palette
        # in a tall panel is two bars, not two blocks.
        cw = width / cols
        ch = min(height / rows, MAX_CELL[1] * ratio)
        gap = GAP * ratio
        idx = np.arange(n)
        cells = np.stack(
            [
                (idx % cols) * cw + gap / 2,
                (idx // cols) * ch + gap / 2,
                np.full(n, cw - gap),
                np.full(n, ch - gap),
            ],
            axis=1,
        )
        self._cells = cells
        self.swatches.set_paths([Rectangle((x, y), w, h) for x, y, w, h in cells])
        faces = np.column_stack([self.palette_rgb / 255.0, self.palette_alpha / 255.0])
        t = self.transparent_index
        if t is not None:
            faces[t, 3] = 0.0  # the hatched outline says "transparent", not its stored black
        self.swatches.set_facecolor(faces)
        self._place_checker(width, height, ratio)
        self.transparent_patch.set_visible(t is not None)
        if t is not None:
            x, y, w, h = cells[t]
            self.transparent_patch.set_bounds(x, y, w, h)
        self._add_labels(cw / ratio, ch / ratio)
        self._place_outline()
        self.draw_idle()

    def _place_checker(self, width: float, height: float, ratio: float) -> None:
        """Put the checkerboard under every semi-transparent swatch (none: hide it)."""
        semi = np.flatnonzero(self.palette_alpha < 255)
        semi = semi[semi != self.transparent_index] if self.transparent_index is not None else semi
        if semi.size == 0:
            self.checker.set_visible(False)
            return
        h, w = max(1, math.ceil(height)), max(1, math.ceil(width))
        size = max(1, round(CHECKER_SIZE * ratio))
        yy, xx = np.mgrid[0:h, 0:w]
        light = ((yy // size + xx // size) % 2) == 0
        grey = np.where(light, CHECKER_GREYS[0], CHECKER_GREYS[1]).astype(np.uint8)
        board = np.zeros((h, w, 4), np.uint8)
        for x, y, cw, ch in self._cells[semi]:
            x0, y0 = round(x), round(y)
            x1, y1 = min(w, round(x + cw)), min(h, round(y + ch))
            board[y0:y1, x0:x1, :3] = grey[y0:y1, x0:x1, None]
            board[y0:y1, x0:x1, 3] = 255
        self.checker.set_data(board)
        self.checker.set_extent((0, w, h, 0))
        self.checker.set_visible(True)

    def _add_labels(self, cell_w: float, cell_h: float) -> None:
        if cell_w >= TWO_LINES[0] and cell_h >= TWO_LINES[1]:
            template = "{hex}\n{share}"
        elif cell_w >= ONE_LINE[0] and cell_h >= ONE_LINE[1]:
            template = "{hex}  {share}"
        else:
            return  # too small for text: the tooltip and the status bar tell instead
        foreground = self.foreground()
        for i, (x, y, w, h) in enumerate(self._cells):
            if i == self.transparent_index:
                label, color = "transparent", foreground
            else:
                label, color = hex_code(self.color(i)), text_color(self.color(i))
            share = f"{100.0 * self.shares[i]:.1f} %"
            self._labels.append((x, y, w, h, template.format(hex=label, share=share), color))

    def set_locked(self, indices: set[int]) -> None:
        """Draw a lock mark on swatches ``indices``."""
        self.locked = set(indices)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.locked or self.marked:
            self._paint_marks()
        if not self._labels:
            return
        # Labels are painted by Qt over the figure: matplotlib lays out each text in about
        # 2 ms, which for a big palette would stall the main thread; QPainter takes microseconds
        # and renders crisply at any device pixel ratio.
        painter = QPainter(self)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(8.5)
        painter.setFont(font)
        ratio = self.device_pixel_ratio
        for x, y, w, h, text, color in self._labels:
            painter.setPen(QColor(color))
            painter.drawText(
                QRectF(x / ratio, y / ratio, w / ratio, h / ratio),
                int(Qt.AlignmentFlag.AlignCenter),
                text,
            )
        painter.end()

    def _paint_marks(self) -> None:
        """A padlock in the corner of locked swatches, a dashed frame around marked ones."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        ratio = self.device_pixel_ratio
        for i in sorted(self.locked | self.marked):
            if i >= self._cells.shape[0]:
                continue
            x, y, w, h = (float(v) / ratio for v in self._cells[i])
            ink = QColor(text_color(self.palette_rgb[i]))
            if i in self.marked:
                pen = QPen(ink, 2.0, Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(QRectF(x + 2, y + 2, w - 4, h - 4))
            if i in self.locked:
                size = max(7.0, min(12.0, h / 3.0))
                bx, by = x + w - size - 4, y + 4 + size * 0.45
                painter.setPen(QPen(ink, max(1.2, size / 7.0)))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                # Shackle, then the body.
                painter.drawArc(
                    QRectF(bx + size * 0.2, by - size * 0.45, size * 0.6, size * 0.8), 0, 180 * 16
                )
                painter.setBrush(ink)
                painter.drawRect(QRectF(bx, by, size, size * 0.65))
        painter.end()

    def _place_outline(self) -> None:
        i = self.selected
        if i is None or i >= self._cells.shape[0]:
            self.outline.set_visible(False)
            return
        x, y, w, h = self._cells[i]
        self.outline.set_bounds(x, y, w, h)
        self.outline.set_visible(True)

    # -- events --------------------------------------------------------------------------
    def _y_down(self, event: MouseEvent) -> float:
        return self.figure.bbox.height - event.y

    def _on_press(self, event: MouseEvent) -> None:
        if event.button != MouseButton.LEFT:
            return
        index = self.swatch_at(event.x, self._y_down(event))
        if index is None:
            return
        if event.key in ("control", "ctrl") or _ctrl_held():
            self.marked ^= {index}
            self.markedChanged.emit()
            self.update()
            return
        self.swatchClicked.emit(index)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Right click on a swatch, or the menu key (for the selected or the first swatch)."""
        if event.reason() == QContextMenuEvent.Reason.Mouse:
            ratio = self.device_pixel_ratio
            index = self.swatch_at(event.pos().x() * ratio, event.pos().y() * ratio)
            at = event.globalPos()
        else:
            index = self.selected if self.selected is not None else 0
            if index >= self._cells.shape[0]:
                index = None
            if index is not None:
                cx, cy = self.cell_center(index)
                at = self.mapToGlobal(QPoint(int(cx), int(cy)))
        if index is None:
            event.ignore()
            return
        event.accept()
        self.swatchMenuRequested.emit(index, at)

    def _on_motion(self, event: MouseEvent) -> None:
        index = self.swatch_at(event.x, self._y_down(event))
        if index == self._hover:
            return
        self._hover = index
        if index is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(QCursor.pos(), self.describe(index), self)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._layout()

    def theme_changed(self) -> None:
        """Recolour the outline and labels for the new theme."""
        foreground = self.foreground()
        self.outline.set_edgecolor(foreground)
        # Faint hatching, so that the "transparent" label on top stays readable.
        self.transparent_patch.set_edgecolor((*to_rgb(foreground), 0.35))
        if self.palette_rgb.shape[0]:
            self._layout()
        else:
            self.draw_idle()

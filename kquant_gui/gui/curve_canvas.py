"""The curve panel: mean CIEDE2000 and estimated PNG size against k, to choose k by looking.

Both curves share a log-scaled k axis from 2 to 256; the current k is marked, and the just
noticeable difference (mean dE2000 2.3) and the user's target are drawn as horizontal lines.
Clicking or dragging on the curve picks a k; hovering reads k, dE and size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from matplotlib.backend_bases import MouseButton, MouseEvent
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from kquant_gui.engine import SweepPoint

from .canvas_base import FullAxesCanvas
from .file_formats import human_size
from .theme import figure_colors

#: The k axis.
K_LOW, K_HIGH = 2, 256
#: The just noticeable difference, as mean CIEDE2000.
JND = 2.3
#: Margins around the axes in logical pixels (left, bottom, right, top): room for tick
#: labels whatever the canvas size.
MARGINS = (34.0, 20.0, 48.0, 16.0)
#: Series colours, readable on light and dark panels.
DE_COLOR = "#2f7fd8"
SIZE_COLOR = "#e08a1e"
TARGET_COLOR = "#2ca25f"
#: Ticks of the k axis, and the least room (logical pixels) each needs for its label.
K_TICKS = [2, 4, 8, 16, 32, 64, 128, 256]
MIN_TICK_SPACING = 30.0
#: Delay of a full draw (axes and curves), so that it is not drawn in the same pass of the
#: event loop as the work that asked for it.
FULL_DRAW_DELAY_MS = 20
#: How many drawn axes (one per size, scales and theme) are kept to be shown again.
BACKGROUNDS_KEPT = 6
#: Plot height (logical pixels) from which the reference line is labelled.
MIN_LABELLED_HEIGHT = 90.0
#: Ticks of the (log) error axis.
DE_TICKS = [0.5, 1, 2, 3, 5, 10, 20, 40]


def _round_up(value: float) -> float:
    """The next of 1, 1.5, 2, 3, 5, 7.5 times a power of ten at or above ``value`` (> 0)."""
    scale = 10.0 ** math.floor(math.log10(value))
    return next(m * scale for m in (1, 1.5, 2, 3, 5, 7.5, 10) if m * scale >= value * 0.999)


def _round_down(value: float) -> float:
    """The previous of 1, 1.5, 2, 3, 5, 7.5 times a power of ten at or below ``value``."""
    scale = 10.0 ** math.floor(math.log10(value))
    return next(m * scale for m in (7.5, 5, 3, 2, 1.5, 1) if m * scale <= value * 1.001)


def describe(point: SweepPoint) -> str:
    """One line about a point, e.g. ``k=37 · mean ΔE 3.95 · PNG ≈ 78 kB``."""
    return f"k={point.k} · mean ΔE {point.mean_delta_e:.2f} · PNG ≈ {human_size(point.png_size)}"


class CurveCanvas(FullAxesCanvas):
    """Quality and size against k, filled in as the sweep reports points.

    Signals
    -------
    kPicked(int)
        A k chosen by a click or a drag on the curve.
    hovered(str)
        What the curve says at the pointer ("" when it leaves).
    """

    kPicked = Signal(int)
    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__((4.0, 1.6), parent)
        self.setObjectName("curveCanvas")
        self.setMinimumSize(160, 90)
        self.setMouseTracking(True)
        self.points: dict[int, SweepPoint] = {}
        self.current_k: int | None = None
        self.target = JND
        self._dragging = False
        ax = self.ax
        ax.set_axis_on()
        ax.set_xscale("log")
        ax.set_xlim(K_LOW / 1.08, K_HIGH * 1.08)
        ax.xaxis.set_major_locator(FixedLocator(K_TICKS))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        # Mean error falls as a power of k: on log scales the curve is nearly straight and
        # the region that matters (1 to 5) is not squeezed under the k=2 end.
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(FixedLocator(DE_TICKS))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        self.size_ax = ax.twinx()
        self.size_ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        self.size_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: human_size(v)))
        for a in (ax, self.size_ax):
            a.tick_params(labelsize=7, length=2, pad=1)
        (self.size_line,) = self.size_ax.plot([], [], "--", color=SIZE_COLOR, lw=1.2)
        (self.de_line,) = ax.plot([], [], "-o", color=DE_COLOR, lw=1.6, ms=3)
        self.jnd_line = ax.axhline(JND, ls=":", lw=1.0)
        # At the small-k end, where the error curve is far above the line.
        self.jnd_text = ax.text(
            K_LOW * 1.05, JND, "just noticeable", ha="left", va="bottom", fontsize=7
        )
        self.target_line = ax.axhline(JND, ls="--", lw=1.0, color=TARGET_COLOR)
        self.k_line = ax.axvline(K_LOW, lw=1.2, visible=False)
        (self.k_marker,) = ax.plot([], [], "o", ms=7, mfc="none", mew=1.6)
        # Which curve is which, in the curves' colours; the hover readout between them.
        # Above the axes, over their own scales: inside, the curves would cross them.
        self.de_label = ax.text(
            0.0, 1.02, "mean ΔE2000", transform=ax.transAxes, ha="left", va="bottom",
            fontsize=7, color=DE_COLOR,
        )  # fmt: skip
        self.size_label = ax.text(
            1.0, 1.02, "PNG size", transform=ax.transAxes, ha="right", va="bottom",
            fontsize=7, color=SIZE_COLOR,
        )  # fmt: skip
        self.readout = ax.text(
            0.5, 0.98, "", transform=ax.transAxes, ha="center", va="top", fontsize=8
        )
        self.message.set_zorder(5)
        self._background = None
        #: Drawn axes by what they show (see _axes_key): a new image's empty axes, or the
        #: scales of a curve seen before, come back without a full draw.
        self._backgrounds: dict[tuple, object] = {}
        self._full_pending = True
        self._full_timer = QTimer(self)
        self._full_timer.setSingleShot(True)
        self._full_timer.setInterval(FULL_DRAW_DELAY_MS)
        # Drawn once the workers have stopped: see FullAxesCanvas.draw_when_quiet.
        self._full_timer.timeout.connect(self.draw_when_quiet)
        # Points arriving together (a burst of signals in one pass of the event loop) are
        # shown with one blit.
        self._blit_timer = QTimer(self)
        self._blit_timer.setSingleShot(True)
        self._blit_timer.setInterval(0)
        self._blit_timer.timeout.connect(self._blit_now)
        self._animated = [
            self.size_line, self.de_line, self.k_line, self.k_marker, self.readout, self.message
        ]  # fmt: skip
        for artist in self._animated:
            artist.set_animated(True)
        self.mpl_connect("draw_event", self._on_draw)
        self.ready = True
        self.apply_theme()
        self._place_axes()
        self.clear("The quality curve appears here")
        self.mpl_connect("button_press_event", self._on_press)
        self.mpl_connect("button_release_event", self._on_release)
        self.mpl_connect("motion_notify_event", self._on_motion)
        self.mpl_connect("axes_leave_event", self._on_leave)

    # -- content -------------------------------------------------------------------------
    def clear(self, message: str = "") -> None:
        """Forget every point and show ``message``."""
        if not self.points and self.message.get_text() == message and not self.readout.get_text():
            return  # already so: a full draw (~35 ms of the main thread) would change nothing
        self.points = {}
        self.readout.set_text("")
        self.message.set_text(message)
        self.message.set_visible(bool(message))
        self._redraw_series()

    def set_message(self, text: str) -> None:
        """Show ``text`` centred over the axes (an empty string hides it), blitted."""
        self.message.set_text(text)
        self.message.set_visible(bool(text))
        self._refresh()

    def add_points(self, points: Iterable[SweepPoint]) -> None:
        """Add (or replace) points; the curves are redrawn through all points so far."""
        for point in points:
            self.points[point.k] = point
        if self.message.get_text():
            self.message.set_text("")
            self.message.set_visible(False)
        self._redraw_series()

    def set_current_k(self, k: int | None) -> None:
        """Mark ``k`` on the curve (None: no mark)."""
        self.current_k = k
        self._place_k_mark()
        self._refresh()

    def set_target(self, target: float) -> None:
        """Draw the target mean dE2000 as a line."""
        self.target = float(target)
        self.target_line.set_ydata([self.target, self.target])
        self._rescale()
        self._refresh(full=True)

    def point_at(self, k: int) -> SweepPoint | None:
        """The measured point at ``k``, or one interpolated between its neighbours (log k)."""
        if k in self.points:
            return self.points[k]
        ks = sorted(self.points)
        if len(ks) < 2 or not ks[0] < k < ks[-1]:
            return None
        hi = next(j for j in ks if j > k)
        lo = max(j for j in ks if j < k)
        t = (math.log(k) - math.log(lo)) / (math.log(hi) - math.log(lo))
        a, b = self.points[lo], self.points[hi]
        return SweepPoint(
            k,
            a.mean_delta_e + t * (b.mean_delta_e - a.mean_delta_e),
            a.psnr + t * (b.psnr - a.psnr),
            round(a.png_size + t * (b.png_size - a.png_size)),
            k,
        )

    def k_at(self, x_pixel: float) -> int:
        """The k under a horizontal pixel position (device pixels), clamped to 2..256."""
        value, _ = self.ax.transData.inverted().transform((x_pixel, 0.0))
        if not math.isfinite(value) or value <= 0:
            return K_LOW
        return int(min(K_HIGH, max(K_LOW, round(value))))

    def x_of(self, k: float) -> float:
        """Horizontal position of ``k`` in widget (logical) pixels, for tests and tools."""
        x, _ = self.ax.transData.transform((k, 1.0))
        return x / self.device_pixel_ratio

    # -- drawing -------------------------------------------------------------------------
    # A full draw of this figure costs ~25-35 ms of the main thread (mostly tick labels),
    # so the axes are drawn only when they change, and each drawing of them is kept by what
    # it shows: the empty axes of a newly opened image, or scales seen before, are copied
    # back instead of drawn again. The curves, the k mark, the readout and the message are
    # "animated" artists blitted over that copy (~1-2 ms).
    def _axes_key(self) -> tuple:
        """Everything the drawn axes depend on, apart from the theme (a change of theme
        forgets every copy)."""
        return (
            self.get_width_height(physical=True),
            self.ax.get_position().bounds,
            self.ax.get_ylim(),
            self.size_ax.get_ylim(),
            self.size_ax.yaxis.get_visible(),
            tuple(self.ax.xaxis.get_major_locator().locs),
            self.jnd_text.get_visible(),
            self.target,
        )

    def deferred_artists(self) -> list:
        """The three axes with their tick labels, each drawn in a pass of its own (see
        FullAxesCanvas): ~8-11 ms apiece of the ~35 ms a whole draw takes."""
        return [self.ax.xaxis, self.ax.yaxis, self.size_ax.yaxis]

    def drawn_state(self) -> object:
        return (self._axes_key(), self.figure.get_facecolor())

    def _on_draw(self, _event: object) -> None:
        self._background = self.copy_from_bbox(self.figure.bbox)
        key = self._axes_key()
        self._backgrounds.pop(key, None)
        self._backgrounds[key] = self._background
        while len(self._backgrounds) > BACKGROUNDS_KEPT:
            del self._backgrounds[next(iter(self._backgrounds))]  # the oldest
        self._full_pending = False
        self._draw_animated()

    def _draw_animated(self) -> None:
        for artist in self._animated:
            self.figure.draw_artist(artist)

    def _refresh(self, full: bool = False) -> None:
        """Show the animated artists' new state, blitted over the axes; ``full``: the axes
        changed, so over a kept copy of them, or after a full draw when none is kept."""
        if self._full_pending:
            self.draw_idle()  # on its way: it draws the new state too
            return
        if full or self._background is None:
            kept = self._backgrounds.get(self._axes_key())
            if kept is None:
                self.draw_idle()
                return
            self._background = kept
        self._blit_timer.start()

    def _blit_now(self) -> None:
        if self._full_pending or self._background is None:
            return  # a full draw is coming, which shows the animated artists too
        self.restore_region(self._background)
        self._draw_animated()
        self.blit(self.figure.bbox)

    def draw_idle(self) -> None:
        """Schedule a full draw (axes and curves), a moment later.

        The full draws come with other work of the main thread (a newly opened image, a
        result and its views): drawn in the same pass of the event loop, their times added
        up to one long stall. Scheduled :data:`FULL_DRAW_DELAY_MS` later, the draw gets a
        pass of its own, and the window answers in between.
        """
        self._full_pending = True
        timer = getattr(self, "_full_timer", None)
        if timer is None:  # still being built
            super().draw_idle()
        elif not timer.isActive():
            timer.start()

    def _redraw_series(self) -> None:
        ks = sorted(self.points)
        self.de_line.set_data(ks, [self.points[k].mean_delta_e for k in ks])
        self.size_line.set_data(ks, [self.points[k].png_size for k in ks])
        scales_moved = self._rescale()
        self._place_k_mark()
        self._refresh(full=scales_moved)

    def _rescale(self) -> bool:
        """Fit both scales to the points, on round limits so that they seldom move; True
        when they moved (the axes must be drawn again, not just the curves)."""
        before = (self.ax.get_ylim(), self.size_ax.get_ylim(), self.size_ax.yaxis.get_visible())
        # Scales from the second point on: a sweep measures both ends first (k = 2 and 256),
        # so the axes are drawn once for the whole curve rather than once per end.
        settled = len(self.points) >= 2
        # No size scale without sizes (it would read "0 B" to "1 B").
        self.size_ax.yaxis.set_visible(settled)
        self.size_label.set_visible(settled)
        des = [p.mean_delta_e for p in self.points.values() if p.mean_delta_e > 0]
        if not settled or not des:
            # Until the first points: a typical photo's range, with the reference line in it.
            des = [1.0, 15.0]
        top = max([*des, self.target, JND]) * 1.1
        bottom = min([*des, self.target, JND]) / 1.1
        self.ax.set_ylim(_round_down(bottom), _round_up(top))
        sizes = [p.png_size for p in self.points.values()] if settled else []
        self.size_ax.set_ylim(0.0, _round_up(max(sizes, default=1.0) * 1.05))
        after = (self.ax.get_ylim(), self.size_ax.get_ylim(), self.size_ax.yaxis.get_visible())
        return after != before

    def _place_k_mark(self) -> None:
        k = self.current_k
        point = self.point_at(k) if k is not None else None
        self.k_line.set_visible(k is not None)
        if k is not None:
            self.k_line.set_xdata([k, k])
        if point is None:
            self.k_marker.set_data([], [])
        else:
            self.k_marker.set_data([k], [point.mean_delta_e])

    def _place_axes(self) -> None:
        w, h = self.figure.bbox.width, self.figure.bbox.height
        if w <= 1 or h <= 1:
            return
        ratio = self.device_pixel_ratio
        left, bottom, right, top = (m * ratio for m in MARGINS)
        width = max(0.05, 1 - (left + right) / w)
        height = max(0.05, 1 - (bottom + top) / h)
        box = (left / w, bottom / h, width, height)
        self.ax.set_position(box)
        self.size_ax.set_position(box)
        # Every power of two while the labels fit, else every other one.
        roomy = width * w / ratio >= MIN_TICK_SPACING * len(K_TICKS)
        self.ax.xaxis.set_major_locator(FixedLocator(K_TICKS if roomy else K_TICKS[::2]))
        # In a short plot the label would sit on the curves; the line alone still says it.
        self.jnd_text.set_visible(height * h / ratio >= MIN_LABELLED_HEIGHT)

    def theme_changed(self) -> None:
        """Axes, ticks and reference lines in the theme's text colour."""
        background, foreground, _ = figure_colors(QApplication.palette())
        for a in (self.ax, self.size_ax):
            a.tick_params(colors=foreground)
            for spine in a.spines.values():
                spine.set_color(foreground)
                spine.set_alpha(0.5)
        self.size_ax.patch.set_visible(False)
        self.ax.tick_params(axis="y", colors=DE_COLOR)
        self.size_ax.tick_params(axis="y", colors=SIZE_COLOR)
        for artist in (self.jnd_line, self.k_line):
            artist.set_color(foreground)
        self.jnd_line.set_alpha(0.6)
        self.jnd_text.set_color(foreground)
        self.jnd_text.set_alpha(0.7)
        self.k_marker.set_markeredgecolor(foreground)
        self.readout.set_color(foreground)
        self.readout.set_backgroundcolor(background)
        self._backgrounds = {}
        self.draw_idle()

    # -- events --------------------------------------------------------------------------
    def _in_axes(self, event: MouseEvent) -> bool:
        return event.inaxes in (self.ax, self.size_ax)

    def _on_press(self, event: MouseEvent) -> None:
        if event.button != MouseButton.LEFT or not self._in_axes(event) or not self.points:
            return
        self._dragging = True
        self._pick(event)

    def _on_release(self, event: MouseEvent) -> None:
        self._dragging = False

    def _on_motion(self, event: MouseEvent) -> None:
        if not self._in_axes(event) or not self.points:
            self._on_leave(event)
            return
        k = self.k_at(event.x)
        point = self.point_at(k)
        text = describe(point) if point is not None else f"k={k}"
        if self.readout.get_text() != text:
            self.readout.set_text(text)
            self._refresh()
            self.hovered.emit(text)
        if self._dragging:
            self._pick(event)

    def _on_leave(self, event: MouseEvent | None) -> None:
        if self.readout.get_text():
            self.readout.set_text("")
            self._refresh()
            self.hovered.emit("")

    def _pick(self, event: MouseEvent) -> None:
        k = self.k_at(event.x)
        if k != self.current_k:
            self.set_current_k(k)
            self.kPicked.emit(k)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_axes()

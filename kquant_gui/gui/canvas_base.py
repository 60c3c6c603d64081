"""What both kinds of canvas share: one axes filling the figure, a message, theme colours."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from matplotlib.artist import Artist
from matplotlib.backend_bases import DrawEvent
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

from .theme import figure_colors

if TYPE_CHECKING:
    from .worker import DrawGate

#: How often a canvas waiting to draw looks whether the workers have stopped, and how long it
#: waits for them at most before drawing anyway (the window answers all the while).
QUIET_POLL_MS = 2
QUIET_MAX_WAIT_S = 0.12


class FullAxesCanvas(FigureCanvasQTAgg):
    """A matplotlib canvas whose single axes fills it, coloured like the application.

    Subclasses build their artists, then set ``self.ready = True`` and call
    :meth:`apply_theme`; from then on a palette change (light/dark switch) recolours them.

    Parameters
    ----------
    figsize : (float, float)
        Initial figure size in inches (the layout resizes it at once).
    parent : QWidget, optional
    """

    def __init__(self, figsize: tuple[float, float], parent: QWidget | None = None) -> None:
        self.ready = False
        #: Set by the window: closed while drawing, so the worker thread keeps out of the way.
        self.draw_gate: DrawGate | None = None
        self._quiet_timer: QTimer | None = None
        self._quiet_deadline = 0.0
        #: A whole draw under way in passes (see :meth:`deferred_artists`): the renderer it
        #: draws into, the artists still to draw and what the figure showed when it began.
        self._passes: tuple[RendererAgg, list[Artist], object] | None = None
        self._pass_timer: QTimer | None = None
        self._idle_timer: QTimer | None = None
        super().__init__(Figure(figsize=figsize))
        self.setParent(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.ax = self.figure.add_axes((0.0, 0.0, 1.0, 1.0))
        self.ax.set_axis_off()
        self.message = self.ax.text(
            0.5, 0.5, "", transform=self.ax.transAxes, ha="center", va="center", fontsize=11
        )

    def draw_idle(self) -> None:
        """Draw in a later turn of the event loop, as matplotlib does, but from a zero-delay
        timer rather than a queued call.

        Queued calls are handled before any timer in a turn, however long ago that timer
        came due: a chain of them (an opened image's views, each drawing after the other)
        kept the window's timers, and a 10 ms tick among them, waiting 30-50 ms. Timers take
        their turns in order, so the window answers between two draws.
        """
        if getattr(self, "_draw_pending", False) or getattr(self, "_is_drawing", False):
            return
        self._draw_pending = True
        if self._idle_timer is None:
            self._idle_timer = self._zero_timer(self._draw_idle)
        self._idle_timer.start()

    def _zero_timer(self, slot: Callable[[], object]) -> QTimer:
        """A single-shot zero-delay timer of this canvas that calls ``slot``."""
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(0)
        timer.timeout.connect(slot)
        return timer

    def draw(self) -> None:
        """Render the figure, holding the worker thread back meanwhile (see DrawGate)."""
        if self.draw_gate is None:
            super().draw()
            return
        with self.draw_gate.closed():
            super().draw()

    def draw_when_quiet(self) -> None:
        """Draw the whole figure once the workers have stopped at the draw gate.

        For a draw long enough to matter (the curve's axes: ~25 ms alone). The gate is held
        from now, so each worker stops at its next poll; the canvas looks every
        :data:`QUIET_POLL_MS` and draws when they have (or after :data:`QUIET_MAX_WAIT_S`).
        Drawn at once, it would share the interpreter lock with a busy worker and take 2-3
        times as long, all of it a stall of the window; waiting costs the window nothing.
        """
        gate = self.draw_gate
        if gate is None:
            self.draw()
            return
        if self._quiet_timer is None:
            self._quiet_timer = QTimer(self)
            self._quiet_timer.setInterval(QUIET_POLL_MS)
            self._quiet_timer.timeout.connect(self._draw_if_quiet)
        if self._quiet_timer.isActive():
            return  # already waiting: that draw shows the latest state
        if self._passes is not None:
            self._end_passes()  # a draw in passes of an older state: replaced by this one
        gate.hold()
        self._quiet_deadline = time.perf_counter() + QUIET_MAX_WAIT_S
        self._quiet_timer.start()

    def _draw_if_quiet(self) -> None:
        gate = self.draw_gate
        waited = time.perf_counter() >= self._quiet_deadline
        if gate is not None and not gate.quiet() and not waited:
            return
        assert self._quiet_timer is not None  # (it called this)
        self._quiet_timer.stop()
        in_passes = False
        try:
            if self.width() > 0 and self.height() > 0:
                in_passes = self._begin_passes()
                if not in_passes:
                    self.draw()
        finally:
            if gate is not None and not in_passes:
                gate.release()

    # -- a whole draw in passes ----------------------------------------------------------
    # A figure with many labels (the curve's three axes: ~35 ms, the tick labels most of it)
    # drawn in one go is as long a stall of the window. Drawn in passes, one event-loop turn
    # each, into a renderer of its own that is shown only once complete, the window answers
    # between them, and never shows a half-drawn figure.
    def deferred_artists(self) -> list[Artist]:
        """Artists (each costly: an axis with its tick labels) that a whole draw leaves to
        passes of their own, drawn over the rest in this order; none by default."""
        return []

    def drawn_state(self) -> object:
        """What a whole draw depends on; when it changes during the passes, they start
        over. By default the figure's size in device pixels."""
        return self.get_width_height(physical=True)

    def _begin_passes(self) -> bool:
        """Draw all but :meth:`deferred_artists` into a new renderer and schedule the rest;
        False (nothing done) when there is nothing to defer."""
        deferred = [a for a in self.deferred_artists() if a.get_visible()]
        if not deferred:
            return False
        width, height = self.get_width_height(physical=True)
        renderer = RendererAgg(width, height, self.figure.dpi)
        for artist in deferred:
            artist.set_visible(False)
        try:
            # The figure's own draw (every step of it its own), its draw event held back
            # until the picture is whole.
            with self.callbacks.blocked(signal="draw_event"):
                self.figure.draw(renderer)
        finally:
            for artist in deferred:
                artist.set_visible(True)
        self._passes = (renderer, deferred, self.drawn_state())
        self._schedule_pass()
        return True

    def _schedule_pass(self) -> None:
        # A timer, not a queued call, so that the window's own timers and input get their
        # turns between two passes (see draw_idle).
        if self._pass_timer is None:
            self._pass_timer = self._zero_timer(self._next_pass)
        self._pass_timer.start()

    def _next_pass(self) -> None:
        if self._passes is None:
            return
        renderer, deferred, state = self._passes
        if state != self.drawn_state():
            # Resized or rescaled meanwhile: what was drawn is stale.
            self._end_passes()
            self.draw_when_quiet()
            return
        try:
            deferred.pop(0).draw(renderer)
        except BaseException:
            self._end_passes()  # never leave the workers held back
            raise
        if deferred:
            self._schedule_pass()
            return
        # Complete: it becomes the canvas's picture, as if drawn at once (its draw event
        # handled before the workers go on, as after a whole draw).
        self.renderer = renderer
        self._lastKey = (*self.get_width_height(physical=True), self.figure.dpi)
        try:
            self.callbacks.process("draw_event", DrawEvent("draw_event", self, renderer))
        finally:
            self._end_passes()
        self.update()

    def _end_passes(self) -> None:
        self._passes = None
        if self.draw_gate is not None:
            self.draw_gate.release()

    def set_message(self, text: str) -> None:
        """Show ``text`` centred over the canvas (an empty string hides it)."""
        self.message.set_text(text)
        self.message.set_visible(bool(text))
        self.draw_idle()

    def foreground(self) -> str:
        """Text colour of the current theme, ``#rrggbb``."""
        return figure_colors(QApplication.palette())[1]

    def apply_theme(self) -> None:
        """Take background and text colours from the application palette, then redraw."""
        # The application palette, not the widget's: matplotlib gives its canvas a fixed
        # white palette of its own.
        background, foreground, _ = figure_colors(QApplication.palette())
        self.figure.set_facecolor(background)
        self.ax.set_facecolor(background)
        self.message.set_color(foreground)
        self.theme_changed()

    def theme_changed(self) -> None:
        """Hook for subclasses to recolour their own artists; the default just redraws."""
        self.draw_idle()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # matplotlib sets a palette while constructing, before any artist exists.
        if event.type() == QEvent.Type.PaletteChange and self.ready:
            self.apply_theme()

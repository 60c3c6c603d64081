"""Split compare: the original left of a draggable divider, the result right, in one view.

:class:`SplitOverlay` adds to an :class:`.image_canvas.ImageCanvas` a second image artist
holding the original, clipped to the part left of the divider, so both halves share the
canvas's zoom and pan (as Squoosh compares). The divider is dragged with the mouse; a press
near it never pans or selects. :meth:`SplitOverlay.set_flipped` shows the original across
the whole view (while Space is held).
"""

from __future__ import annotations

from matplotlib.backend_bases import MouseEvent
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from PySide6.QtCore import Qt

from .display_image import DisplayImage
from .image_canvas import ImageCanvas

#: How near the divider (device pixels) a press grabs it.
GRAB_DISTANCE = 8.0
#: The divider stays this far from the view's edges (fraction of its width).
EDGE = 0.02


class SplitOverlay:
    """The original over the left part of ``canvas``, up to a draggable divider.

    Parameters
    ----------
    canvas : ImageCanvas
        Shows the result; the original is laid over its left part.
    """

    def __init__(self, canvas: ImageCanvas) -> None:
        self.canvas = canvas
        self.display: DisplayImage | None = None
        self.enabled = False
        self.flipped = False
        #: Divider position as a fraction of the view's width.
        self.position = 0.5
        self._key: tuple | None = None
        self._dragging = False
        ax = canvas.ax
        self.artist = canvas._new_artist(zorder=2)
        self.clip = Rectangle((0, 0), 0.5, 1, transform=ax.transAxes)
        # A dark line under a light one: the divider reads on light and dark images.
        self.lines = [
            Line2D([0.5, 0.5], [0, 1], transform=ax.transAxes, color=c, linewidth=lw, zorder=z)
            for c, lw, z in (("#000000", 3.5, 4), ("#ffffff", 1.5, 5))
        ]
        for line in self.lines:
            line.set_visible(False)
            ax.add_line(line)
        canvas.after_refresh.append(self.refresh)
        canvas.grab_press = self._press
        canvas.mpl_connect("motion_notify_event", self._motion)
        canvas.mpl_connect("button_release_event", self._release)

    def set_original(self, display: DisplayImage | None) -> None:
        """The original to compare with (None: none yet)."""
        self.display = display
        self._key = None
        self.canvas.refresh()

    def set_enabled(self, enabled: bool) -> None:
        """Turn the split on or off."""
        self.enabled = enabled
        self.flipped = False
        self.canvas.refresh()

    def set_flipped(self, flipped: bool) -> None:
        """Show the original across the whole view (True) or up to the divider."""
        if flipped != self.flipped:
            self.flipped = flipped
            self.canvas.refresh()

    def shown_fraction(self) -> float:
        """Fraction of the view's width that shows the original (0 when the split is off)."""
        if not self.enabled or self.display is None or self.canvas.display is None:
            return 0.0
        return 1.0 if self.flipped else self.position

    def refresh(self) -> None:
        """Follow the canvas's view (called at the end of its refresh)."""
        fraction = self.shown_fraction()
        visible = fraction > 0.0
        self.artist.set_visible(visible)
        for line in self.lines:
            line.set_visible(visible and not self.flipped)
        if not visible or self.display is None:
            return
        region, on_screen, key = self.canvas.region_of(self.display)
        if key != self._key:
            self._key = key
            fitted = region.fitted(*on_screen, smooth=self.display.smooth)
            self.artist.set_data(fitted.pixels)
            self.artist.set_extent(fitted.extent)
        self.clip.set_width(fraction)
        self.artist.set_clip_path(self.clip)
        for line in self.lines:
            line.set_xdata([fraction, fraction])

    # -- mouse ---------------------------------------------------------------------------
    def _near_divider(self, event: MouseEvent) -> bool:
        if not self.enabled or self.flipped or self.shown_fraction() == 0.0:
            return False
        width = self.canvas.device_size()[0]
        return abs(event.x - self.position * width) <= GRAB_DISTANCE

    def _press(self, event: MouseEvent) -> bool:
        if event.dblclick or not self._near_divider(event):
            return False
        self._dragging = True
        return True

    def _motion(self, event: MouseEvent) -> None:
        if self._dragging:
            width = self.canvas.device_size()[0]
            self.position = min(1.0 - EDGE, max(EDGE, event.x / width))
            self.refresh()
            self.canvas.draw_idle()
        elif self._near_divider(event):
            self.canvas.setCursor(Qt.CursorShape.SplitHCursor)
        elif self.enabled and self.canvas._drag is None:
            self.canvas.unsetCursor()

    def _release(self, _event: MouseEvent) -> None:
        self._dragging = False

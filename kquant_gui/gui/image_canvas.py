"""Image canvases with shared zoom and pan.

Both image canvases follow one :class:`ViewState` (zoom one, the other follows; at Fit both
use the scale at which the image fits the smaller of them, so that one scale holds after the
splitter between them is dragged). Each canvas
creates its matplotlib image artist once and afterwards only calls ``set_data`` with the few
pixels the current view needs (see :mod:`.display_image`), then ``draw_idle``.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.backend_bases import MouseButton, MouseEvent
from matplotlib.patches import Rectangle
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from .canvas_base import FullAxesCanvas
from .display_image import DisplayImage
from .screen_image import ScreenImage, add_screen_image
from .theme import is_dark

#: Zoom limits in device pixels per image pixel; the lower one is relative to "fit".
MAX_SCALE = 32.0
MIN_SCALE_OF_FIT = 0.25
#: Zoom step of one wheel notch or one Zoom In / Zoom Out.
ZOOM_STEP = 1.25
#: Mouse travel (device pixels) below which a press-release counts as a click, not a pan.
CLICK_SLOP = 4.0
#: Side of one square of the checkerboard behind transparent pixels, in device pixels: fixed
#: on screen whatever the zoom, as in image editors.
CHECKER_CELL = 8
#: Checkerboard greys (light, dark) for light and dark themes.
CHECKER_LIGHT_THEME = ((255, 255, 255), (204, 204, 204))
CHECKER_DARK_THEME = ((92, 92, 92), (64, 64, 64))
#: What transparent pixels are shown over: a checkerboard, or a plain colour to judge soft
#: edges against a light or a dark page.
BACKGROUNDS = ("checkerboard", "white", "black")
_PLAIN = {"white": (255, 255, 255), "black": (0, 0, 0)}


class ViewState(QObject):
    """Zoom and pan shared by several canvases.

    ``fit`` means "whole image, as large as the canvas allows" and survives resizing; otherwise
    the view is a centre (image pixel coordinates) and a scale (device pixels per image pixel).
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fit = True
        self.center = (0.0, 0.0)
        self.scale = 1.0
        self.image_size = (0, 0)  # (width, height)
        #: The canvases showing this view; at Fit they share the smallest fitting scale.
        self.canvases: list[ImageCanvas] = []

    def fit_scale(self) -> float:
        """Scale at which the whole image fits every visible canvas of this view."""
        scales = [c.own_fit_scale() for c in self.canvases if c.isVisible()]
        if not scales:
            scales = [c.own_fit_scale() for c in self.canvases] or [1.0]
        return min(scales)

    def reset(self, width: int, height: int) -> None:
        """A new image of ``width`` x ``height``: back to fit."""
        self.image_size = (width, height)
        self.fit = True
        self.changed.emit()

    def set_fit(self) -> None:
        """Show the whole image."""
        self.fit = True
        self.changed.emit()

    def set_view(self, scale: float, center: tuple[float, float], fit_scale: float) -> None:
        """Leave fit mode for an explicit ``scale`` around ``center``, within the limits."""
        w, h = self.image_size
        scale = min(MAX_SCALE, max(fit_scale * MIN_SCALE_OF_FIT, scale))
        cx = min(max(center[0], 0.0), float(w))
        cy = min(max(center[1], 0.0), float(h))
        self.fit, self.scale, self.center = False, scale, (cx, cy)
        self.changed.emit()


class ImageCanvas(FullAxesCanvas):
    """One image view: a figure with one axes filling it and one image artist.

    Parameters
    ----------
    view : ViewState
        Shared zoom and pan.
    placeholder : str
        Shown while there is no image.

    Signals
    -------
    clicked(float, float)
        A click (not a drag) at full-image pixel coordinates.
    hovered(float, float)
        The pointer moved to these full-image coordinates; NaN, NaN when it left the image
        (or the canvas).
    """

    clicked = Signal(float, float)
    hovered = Signal(float, float)

    def __init__(self, view: ViewState, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__((4.0, 3.0), parent)
        self.setMinimumSize(120, 90)
        self.view = view
        self.display: DisplayImage | None = None
        self.highlight: int | None = None
        self.background = "checkerboard"
        self._region_key: tuple | None = None
        self._drag: tuple[float, float, float, float, float] | None = None
        self._moved = False
        self.image_artist = self._new_artist(zorder=1)
        # Behind images with an alpha channel, so that transparent pixels read as transparent
        # rather than as the window's background colour.
        self.checker_artist = self._new_artist(zorder=0)
        self.set_message(placeholder)
        # A click selects only once it is clear that it is not the first half of a
        # double-click (which fits, and only fits).
        self._pending_click: tuple[float, float] | None = None
        self._click_timer = QTimer(self)
        self._click_timer.setSingleShot(True)
        self._click_timer.setInterval(QApplication.doubleClickInterval())
        self._click_timer.timeout.connect(self._emit_click)
        view.canvases.append(self)
        #: Called at the end of every refresh (an overlay that follows the view).
        self.after_refresh: list = []
        #: Asked first about every mouse press; True means "mine" (the split divider).
        self.grab_press = None
        self.ready = True
        self.apply_theme()
        view.changed.connect(self.refresh)
        self.mpl_connect("scroll_event", self._on_scroll)
        self.mpl_connect("button_press_event", self._on_press)
        self.mpl_connect("motion_notify_event", self._on_motion)
        self.mpl_connect("button_release_event", self._on_release)
        self.mpl_connect("figure_leave_event", lambda _event: self._hover(None, None))

    def _new_artist(self, zorder: int) -> ScreenImage:
        """A hidden image artist, created once and later fed with ``set_data``.

        The data handed over is never larger than the screen area it covers
        (:meth:`.display_image.Region.fitted`), so the artist draws it without matplotlib's
        resampling (see :mod:`.screen_image`).
        """
        return add_screen_image(self.ax, zorder)

    # -- content -------------------------------------------------------------------------
    def set_image(self, display: DisplayImage | None, message: str | None = None) -> None:
        """Show ``display`` (None: clear and show ``message``); keeps the shared view."""
        same = (
            display is not None
            and self.display is not None
            and display.token is self.display.token
        )
        self.display = display
        self.highlight = None
        if not same:
            # A display of the same pixels (an edit's full-size result after its display
            # copy) keeps what is drawn; anything else is fitted and placed anew.
            self._region_key = None
            self.image_artist.set_visible(display is not None)
            self.checker_artist.set_visible(False)
        if message is not None or display is None:
            self.set_message(message or "")
        else:
            self.set_message("")
        self.refresh()

    def set_background(self, name: str) -> None:
        """Show transparent pixels over ``name``, one of :data:`BACKGROUNDS`."""
        if name not in BACKGROUNDS:
            raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}, got {name!r}")
        if name != self.background:
            self.background = name
            self._region_key = None
            self.refresh()

    def set_highlight(self, index: int | None) -> None:
        """Outline the pixels whose palette index is ``index`` (None: no highlight)."""
        if index != self.highlight:
            self.highlight = index
            self._region_key = None
            self.refresh()

    def displayed_pixels(self) -> np.ndarray:
        """What the image artist draws, with the image's own channels: shape (h, w, C) uint8."""
        drawn = np.asarray(self.image_artist.get_array())
        channels = self.display.full.shape[2] if self.display is not None else 4
        return drawn[..., :channels]

    # -- view ----------------------------------------------------------------------------
    def device_size(self) -> tuple[float, float]:
        """Canvas size in device pixels."""
        bbox = self.figure.bbox
        return max(1.0, bbox.width), max(1.0, bbox.height)

    def fit_scale(self) -> float:
        """Scale at Fit: the one at which the image fits every canvas of the shared view."""
        return self.view.fit_scale()

    def own_fit_scale(self) -> float:
        """Scale at which the whole image fits this canvas alone."""
        w, h = self.device_size()
        iw, ih = self.view.image_size
        if iw <= 0 or ih <= 0:
            return 1.0
        return min(w / iw, h / ih)

    def effective_view(self) -> tuple[float, tuple[float, float]]:
        """(scale, centre) this canvas shows now, resolving fit mode."""
        if self.view.fit:
            iw, ih = self.view.image_size
            return self.fit_scale(), (iw / 2.0, ih / 2.0)
        return self.view.scale, self.view.center

    def zoom(self, factor: float, anchor: tuple[float, float] | None = None) -> None:
        """Zoom by ``factor`` keeping ``anchor`` (image coordinates, default centre) in place."""
        scale, (cx, cy) = self.effective_view()
        new_scale = scale * factor
        if anchor is None:
            anchor = (cx, cy)
        ratio = scale / new_scale
        ax_, ay_ = anchor
        center = (ax_ - (ax_ - cx) * ratio, ay_ - (ay_ - cy) * ratio)
        self.view.set_view(new_scale, center, self.fit_scale())

    def one_to_one(self) -> None:
        """One image pixel per device pixel, around the current centre."""
        _, center = self.effective_view()
        self.view.set_view(1.0, center, self.fit_scale())

    def visible_rect(self) -> tuple[float, float, float, float, float]:
        """(x0, x1, y0, y1, scale): the image rectangle this canvas shows now."""
        w, h = self.device_size()
        scale, (cx, cy) = self.effective_view()
        half_w, half_h = w / (2.0 * scale), h / (2.0 * scale)
        return cx - half_w, cx + half_w, cy - half_h, cy + half_h, scale

    def region_of(self, display: DisplayImage):
        """The pixels of ``display`` for the current view, fitted to the screen (a
        :class:`.display_image.Region`), and the key that says when they change."""
        x0, x1, y0, y1, scale = self.visible_rect()
        region = display.region(x0, x1, y0, y1, scale)
        left, right, bottom, top = region.extent
        on_screen = (math.ceil((right - left) * scale), math.ceil((bottom - top) * scale))
        key = (display.token, region.extent, region.step, on_screen)
        return region, on_screen, key

    def refresh(self) -> None:
        """Recompute limits and the drawn pixels for the current view, then draw when idle."""
        if self.display is None:
            for hook in self.after_refresh:
                hook()
            self.draw_idle()
            return
        x0, x1, y0, y1, scale = self.visible_rect()
        region, on_screen, key = self.region_of(self.display)
        key = (*key, self.highlight)
        if key != self._region_key:
            # Panning within the same pixels, or a redraw, reuses what the artist holds.
            self._region_key = key
            region = region.fitted(*on_screen, smooth=self.display.smooth)
            self.image_artist.set_data(self._compose(region.pixels, region.labels))
            self.image_artist.set_extent(region.extent)
            self._place_checker(region.extent, scale)
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y1, y0)
        for hook in self.after_refresh:
            hook()
        self.draw_idle()

    def _place_checker(self, extent: tuple[float, float, float, float], scale: float) -> None:
        """Lay the checkerboard (or plain background) under the drawn part of an image with
        alpha.

        Squares are CHECKER_CELL device pixels at any zoom and are anchored at the image's
        corner, so they move with the image when it is panned.
        """
        has_alpha = self.display is not None and self.display.full.shape[2] == 4
        self.checker_artist.set_visible(has_alpha)
        if not has_alpha:
            return
        left, right, bottom, top = extent
        cell = CHECKER_CELL / scale  # image pixels per square
        i0, i1 = math.floor(left / cell), math.ceil(right / cell)
        j0, j1 = math.floor(top / cell), math.ceil(bottom / cell)
        parity = np.add.outer(np.arange(j0, j1), np.arange(i0, i1)) & 1
        if self.background in _PLAIN:
            greys = (_PLAIN[self.background],) * 2
        elif is_dark(QApplication.palette()):
            greys = CHECKER_DARK_THEME
        else:
            greys = CHECKER_LIGHT_THEME
        colors = np.array(greys, dtype=np.uint8)
        self.checker_artist.set_data(colors[parity])
        self.checker_artist.set_extent((i0 * cell, i1 * cell, j1 * cell, j0 * cell))
        # The outer squares overhang the image; clip them to it.
        self.checker_artist.set_clip_path(
            Rectangle((left, top), right - left, bottom - top, transform=self.ax.transData)
        )

    def theme_changed(self) -> None:
        # The checkerboard's greys follow the theme.
        self._region_key = None
        self.refresh()

    def _compose(self, pixels: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        if self.highlight is None or labels is None:
            return pixels
        return outline_selection(pixels, labels == self.highlight)

    # -- mouse ---------------------------------------------------------------------------
    def _on_scroll(self, event: MouseEvent) -> None:
        if self.display is None or event.xdata is None:
            return
        self.zoom(ZOOM_STEP ** float(event.step), (event.xdata, event.ydata))

    def _on_press(self, event: MouseEvent) -> None:
        if self.display is None or (self.grab_press is not None and self.grab_press(event)):
            return
        if event.dblclick:
            self._click_timer.stop()
            self._pending_click = None
            self._drag = None
            self.view.set_fit()
            return
        if event.button in (MouseButton.LEFT, MouseButton.MIDDLE):
            scale, (cx, cy) = self.effective_view()
            self._drag = (event.x, event.y, cx, cy, scale)
            self._moved = False

    def _hover(self, x: float | None, y: float | None) -> None:
        inside = False
        if self.display is not None and x is not None and y is not None:
            w, h = self.view.image_size
            inside = 0.0 <= x < w and 0.0 <= y < h
        if inside:
            self.hovered.emit(float(x), float(y))
        else:
            self.hovered.emit(math.nan, math.nan)

    def _on_motion(self, event: MouseEvent) -> None:
        if self._drag is None:
            self._hover(event.xdata, event.ydata)
            return
        x, y, cx, cy, scale = self._drag
        dx, dy = event.x - x, event.y - y
        if not self._moved and abs(dx) + abs(dy) < CLICK_SLOP:
            return
        self._moved = True
        self.setCursor(Qt.CursorShape.ClosedHandCursor)
        # Screen y grows upwards in matplotlib's event coordinates, image rows downwards.
        self.view.set_view(scale, (cx - dx / scale, cy + dy / scale), self.fit_scale())

    def _on_release(self, event: MouseEvent) -> None:
        if self._drag is None:
            return
        self._drag = None
        self.unsetCursor()
        if not self._moved and event.xdata is not None and event.ydata is not None:
            self._pending_click = (float(event.xdata), float(event.ydata))
            self._click_timer.start()

    def _emit_click(self) -> None:
        if self._pending_click is not None:
            x, y = self._pending_click
            self._pending_click = None
            self.clicked.emit(x, y)

    # -- Qt ------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._region_key = None
        if self.view.fit and len(self.view.canvases) > 1:
            self.view.changed.emit()  # the other views' Fit scale may have changed too
        else:
            self.refresh()


#: Colours of the outline drawn around highlighted pixels: black and white dashes read on
#: any image, dark or light, and on the transparent entry.
_ANTS = np.array([[0, 0, 0, 255], [255, 255, 255, 255]], dtype=np.uint8)


def outline_selection(pixels: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """``pixels`` with the edge of ``selected`` drawn as black-and-white dashes.

    The selected pixels inside the edge and every other pixel keep their own colour, so a
    dark entry on a dark image (or the transparent entry on black) stays readable; isolated
    selected pixels (a dithered entry) are all edge and show as dashes.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (h, w, 4)
    selected : ndarray of bool, shape (h, w)

    Returns
    -------
    ndarray of uint8, shape (h, w, 4)
    """
    inner = selected.copy()
    inner[1:, :] &= selected[:-1, :]
    inner[:-1, :] &= selected[1:, :]
    inner[:, 1:] &= selected[:, :-1]
    inner[:, :-1] &= selected[:, 1:]
    edge = selected & ~inner
    rows, cols = np.nonzero(edge)
    out = np.array(pixels, copy=True)
    if out.shape[2] == 3:
        out = np.concatenate([out, np.full((*out.shape[:2], 1), 255, np.uint8)], axis=2)
    out[rows, cols] = _ANTS[((rows + cols) // 3) & 1]
    return out

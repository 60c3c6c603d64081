"""An image artist that copies pixels sized for the screen straight to the canvas.

matplotlib resamples every image on every draw, through float32 RGBA and masked arrays, even
when the data has exactly the size it covers on screen: for a 700 x 470 view that is some
25 ms of the main thread per draw, and a window redraws its views several times per edit or
resize. The image canvases already hand over no more pixels than the view shows (see
:mod:`.display_image`), so :class:`ScreenImage` gives RGBA bytes of the right size to the
renderer as they are, and magnifies smaller ones (zoomed in) with Pillow's nearest neighbour
first. It makes the same renderer call matplotlib makes after resampling, so clipping and
blending are unchanged. Anything else (RGB data, data larger than the screen) takes
matplotlib's own path.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.image import AxesImage

#: Largest difference (device pixels) between the data's size and its size on screen that
#: still counts as "the same size": both are rounded to whole pixels.
SIZE_SLACK = 1.0
#: Magnify at most to this many times the figure's area (a guard: the canvases hand over
#: only the visible part, so their images never come near it).
MAX_AREA_OF_FIGURE = 4


class ScreenImage(AxesImage):
    """An :class:`~matplotlib.image.AxesImage` whose RGBA uint8 data, when no larger than
    the area it covers on screen, is drawn without matplotlib's resampling."""

    def make_image(self, renderer, magnification: float = 1.0, unsampled: bool = False):
        direct = None if unsampled or magnification != 1.0 else self._screen_sized()
        if direct is not None:
            return direct
        return super().make_image(renderer, magnification, unsampled)

    def _screen_sized(self) -> tuple[np.ndarray, float, float, None] | None:
        """(pixels, bottom row first; x; y; None) when the data can be copied as it is or
        magnified to the screen; None for matplotlib's path."""
        data = self._A
        if data is None or data.ndim != 3 or data.shape[2] != 4 or data.dtype != np.uint8:
            return None
        left, right, bottom, top = self.get_extent()
        first, last = (top, bottom) if self.origin == "upper" else (bottom, top)
        # The corners one by one: a transformed Bbox would keep the data's orientation.
        (x0, y_first), (x1, y_last) = self.get_transform().transform(
            [[left, first], [right, last]]
        )
        x, y = np.floor(min(x0, x1) + 0.5), np.floor(min(y_first, y_last) + 0.5)
        width = int(np.floor(max(x0, x1) + 0.5) - x)
        height = int(np.floor(max(y_first, y_last) + 0.5) - y)
        h, w = data.shape[:2]
        if width < w - SIZE_SLACK or height < h - SIZE_SLACK or width < 1 or height < 1:
            return None  # larger than the screen: matplotlib averages it down
        out = data
        if width > w + SIZE_SLACK or height > h + SIZE_SLACK:
            figure = self.get_figure(root=True).bbox
            if width * height > MAX_AREA_OF_FIGURE * figure.width * figure.height:
                return None
            from PIL import Image

            image = Image.fromarray(np.ascontiguousarray(data), "RGBA")
            out = np.array(image.resize((width, height), Image.Resampling.NEAREST))
        # The renderer wants the bottom row first; columns may run either way.
        if y_first > y_last:
            out = out[::-1]
        if x1 < x0:
            out = out[:, ::-1]
        return out, float(x), float(y), None


def add_screen_image(ax: Axes, zorder: int) -> ScreenImage:
    """A hidden :class:`ScreenImage` in ``ax``, clipped to it as ``imshow`` clips, to be fed
    with ``set_data`` and ``set_extent`` later."""
    image = ScreenImage(ax, interpolation="none", origin="upper", zorder=zorder)
    image.set_data(np.zeros((1, 1, 4), dtype=np.uint8))
    image.set_extent((0, 1, 1, 0))
    image.set_clip_path(ax.patch)
    image.set_visible(False)
    ax.add_image(image)
    return image

"""kquant-gui: reduce a photo to k colours with K-Means clustering.

The public API is Qt-free::

    from kquant_gui import quantize, quantize_image, display_color_palette, sweep, choose_k

``quantize`` works on arrays, ``quantize_image`` on files (the original script's function), and
``display_color_palette`` draws a palette strip on a matplotlib ``Figure`` without pyplot;
``sweep`` estimates quality and PNG size for many k at once, and ``choose_k`` finds the fewest
colours that reach a mean CIEDE2000 target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .engine import (
    COLOR_SPACES,
    DITHERS,
    Cancelled,
    KChoice,
    Quantization,
    SweepPoint,
    choose_k,
    delete_color,
    merge_colors,
    quantize,
    remap,
    replace_color,
    sweep,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "COLOR_SPACES",
    "DITHERS",
    "Cancelled",
    "KChoice",
    "Quantization",
    "SweepPoint",
    "__version__",
    "choose_k",
    "delete_color",
    "display_color_palette",
    "merge_colors",
    "quantize",
    "quantize_image",
    "remap",
    "replace_color",
    "sweep",
]


def quantize_image(image_path: Any, num_clusters: int, **options: Any) -> Quantization:
    """Load an image file and reduce it to ``num_clusters`` colours.

    The original script's function, with the same name and parameters; it opens no window.

    Parameters
    ----------
    image_path : str or os.PathLike
        Any image Pillow can read.
    num_clusters : int
        k, from 1 to 256.
    **options
        Keyword options of :func:`quantize` (``color_space``, ``dither``, ``seed``,
        ``progress``, ``cancel``).

    Returns
    -------
    Quantization
    """
    from .image_io import load_image

    return quantize(load_image(image_path).pixels, num_clusters, **options)


def display_color_palette(
    cluster_centroids: Any, num_clusters: int, ax: Axes | None = None
) -> Figure:
    """Draw the palette as a horizontal strip of ``num_clusters`` swatches.

    The original script's function. It builds on ``matplotlib.figure.Figure`` directly (no
    pyplot), so it serves the GUI, a headless script and a notebook alike.

    Parameters
    ----------
    cluster_centroids : array_like, shape (n, 3) or (n, 4)
        Colours in 0-255 or in 0-1 (floats all within [0, 1] are read as 0-1); an RGBA
        palette (a soft-edged result's) is drawn by its colours, alpha left out.
    num_clusters : int
        Number of swatches to draw, at most ``n``.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the strip (``ax.figure`` when ``ax`` was given).
    """
    from .palette_view import draw_palette_strip

    return draw_palette_strip(cluster_centroids, num_clusters, ax=ax)

"""The palette strip of the original script, drawn on a plain matplotlib Figure (no pyplot)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def normalize_colors(cluster_centroids: Any) -> np.ndarray:
    """Palette colours as floats in [0, 1].

    Parameters
    ----------
    cluster_centroids : array_like, shape (n, 3)
        Integers or floats in 0-255, or floats in 0-1.

    Returns
    -------
    ndarray of float64, shape (n, 3)
    """
    colors = np.asarray(cluster_centroids)
    if colors.ndim != 2 or colors.shape[1] not in (3, 4) or colors.shape[0] == 0:
        raise ValueError(
            f"cluster_centroids must have shape (n, 3) with n >= 1, got {colors.shape}"
        )
    colors = colors[:, :3]
    if not np.issubdtype(colors.dtype, np.number) or not np.isfinite(colors).all():
        raise ValueError("cluster_centroids must hold finite numbers")
    as_float = colors.astype(np.float64)
    if np.issubdtype(colors.dtype, np.floating) and as_float.min() >= 0 and as_float.max() <= 1:
        return as_float
    return np.clip(as_float, 0.0, 255.0) / 255.0


def draw_palette_strip(
    cluster_centroids: Any, num_clusters: int, ax: Axes | None = None
) -> Figure:
    """Draw ``num_clusters`` swatches in a row; see :func:`kquant_gui.display_color_palette`."""
    from matplotlib.figure import Figure

    colors = normalize_colors(cluster_centroids)
    if isinstance(num_clusters, bool) or not isinstance(num_clusters, (int, np.integer)):
        raise ValueError(f"num_clusters must be a whole number, got {num_clusters!r}")
    if not 1 <= num_clusters <= colors.shape[0]:
        raise ValueError(
            f"num_clusters must be from 1 to the number of colours ({colors.shape[0]}), "
            f"got {num_clusters}"
        )
    if ax is None:
        fig = Figure(figsize=(max(4.0, min(12.0, 0.5 * num_clusters)), 1.2))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    else:
        fig = ax.figure
    strip = colors[None, :num_clusters, :]
    ax.imshow(strip, aspect="auto", interpolation="nearest", extent=(0, num_clusters, 0, 1))
    ax.set_xlim(0, num_clusters)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    return fig

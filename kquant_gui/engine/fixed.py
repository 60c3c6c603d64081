"""Fixed colours: k-means that keeps some palette entries exactly where the user put them.

A brand red or the black of text lines gets averaged away by plain k-means. Here the fixed
colours are centres that never move; their members still count (they are not the other
centres' members), and the free centres are seeded k-means++-style around them. The k-means
itself is the default engine's (:func:`cluster.kmeans_on_levels`), frozen centres and all.
"""

from __future__ import annotations

import numpy as np

from .cluster import _levels, histogram_coords, kmeans_on_levels
from .colorspace import from_space, to_space
from .histogram import Histogram
from .progress import Steps

__all__ = ["cluster_around", "fixed_colors", "own_colors", "validate_colors"]


def validate_colors(colors: object, name: str, *, max_count: int | None = None) -> np.ndarray:
    """Return ``colors`` as a uint8 (m, 3) or (m, 4) array, or raise ``ValueError``.

    Accepts anything ``np.asarray`` turns into whole numbers 0-255 of that shape, or hex
    strings (``"#c8102e"``, ``"#c8102e80"``, a list of them or one comma-separated string); an
    empty list gives shape (0, 3).
    """
    if isinstance(colors, str):
        colors = [c for c in colors.split(",") if c.strip()]
    if isinstance(colors, (list, tuple)) and colors and all(isinstance(c, str) for c in colors):
        colors = [parse_hex(c, name) for c in colors]
        if any(len(c) == 4 for c in colors):
            # "#rrggbb" among "#rrggbbaa": an opaque colour.
            colors = [c + [255] * (4 - len(c)) for c in colors]
    arr = np.asarray(colors)
    if arr.size == 0:
        return np.empty((0, 3), dtype=np.uint8)
    if arr.ndim != 2 or arr.shape[1] not in (3, 4):
        raise ValueError(
            f"{name} must have shape (m, 3) for RGB or (m, 4) for RGBA colours, got {arr.shape}"
        )
    if arr.dtype.kind not in "ui" or arr.min() < 0 or arr.max() > 255:
        raise ValueError(f"{name} must hold whole numbers from 0 to 255 (8-bit sRGB)")
    if max_count is not None and arr.shape[0] > max_count:
        raise ValueError(f"{name} has {arr.shape[0]} colours, more than {max_count}")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def parse_hex(text: str, name: str = "colour") -> list[int]:
    """``"#rrggbb"`` or ``"#rrggbbaa"`` (the ``#`` optional) as a list of 3 or 4 ints."""
    t = text.strip().removeprefix("#")
    if len(t) not in (6, 8) or any(ch not in "0123456789abcdefABCDEF" for ch in t):
        raise ValueError(f"{name}: {text.strip()!r} is not a colour like #c8102e")
    return [int(t[i : i + 2], 16) for i in range(0, len(t), 2)]


def unique_rows(colors: np.ndarray) -> np.ndarray:
    """Rows of ``colors`` without repeats, first occurrence first, shape (m', c)."""
    _, first = np.unique(colors, axis=0, return_index=True)
    return colors[np.sort(first)]


def own_colors(fixed: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """The rows of ``colors`` that are not among the ``fixed`` ones, in order, shape (n, c)."""
    known = {bytes(c) for c in fixed}
    keep = [i for i, c in enumerate(colors) if bytes(c) not in known]
    return colors[keep]


def cluster_around(
    hist: Histogram, k: int, space: str, seed: int, steps: Steps, fixed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`cluster.cluster`, with ``fixed`` colours as entries 0..m-1.

    Parameters
    ----------
    fixed : ndarray of uint8, shape (m, 3), distinct colours, m <= k

    Returns
    -------
    palette : ndarray of uint8, shape (n, 3), m <= n <= k; ``palette[:m] == fixed``
    coords : ndarray of float64, shape (h, 3), working-space coordinates of ``hist``
    """
    coords = histogram_coords(hist, space)
    m = fixed.shape[0]
    if hist.exact and hist.colors.shape[0] <= k + m:
        # Few distinct colours: the fixed ones plus the image's own, if they fit.
        own = own_colors(fixed, hist.colors)
        if m + own.shape[0] <= k:
            return np.vstack([fixed, own]), coords
    steps.tick("clustering", 0.1)
    centers = kmeans_on_levels(
        _levels(hist, coords, k), k, seed, steps, fixed=to_space(fixed, space), space=space
    )
    palette = from_space(centers, space)
    # Exactly the given bytes, whatever the round trip through the working space did.
    palette[:m] = fixed
    return palette, coords


def fixed_colors(colors: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Validated fixed colours as the pipeline takes them: distinct, shape (m, 3) when opaque,
    (m, 4) when one has alpha below 255 (any colour under alpha 0 is the transparent entry,
    ``(0, 0, 0, 0)``), or raise ``ValueError`` for such a colour on an image without alpha."""
    if colors.shape[1] == 4 and (colors[:, 3] == 255).all():
        colors = colors[:, :3]
    if colors.shape[1] == 4:
        if pixels.shape[2] == 3:
            raise ValueError(
                "fixed colours with alpha below 255 need an image with alpha; "
                "this one is RGB (give them as #rrggbb or with alpha ff)"
            )
        colors = colors.copy()
        colors[colors[:, 3] == 0] = 0
    return unique_rows(colors)

"""The result type of a quantization and the exception raised on cancel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class Cancelled(Exception):
    """Raised by :func:`kquant_gui.quantize` when its ``cancel`` callable returned true."""


def hex_colors(colors: np.ndarray) -> list[str]:
    """``"#rrggbb"`` per row of uint8 colours, shape (m, 3|4); ``"#rrggbbaa"`` where a row's
    alpha is below 255, so that :func:`.fixed.parse_hex` reads every colour back exactly."""
    out = []
    for c in colors:
        text = "#{:02x}{:02x}{:02x}".format(*(int(v) for v in c[:3]))
        if c.shape[0] == 4 and int(c[3]) != 255:
            text += f"{int(c[3]):02x}"
        out.append(text)
    return out


@dataclass(frozen=True, eq=False)
class Quantization:
    """What :func:`kquant_gui.quantize` returns.

    Attributes
    ----------
    image : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        The quantized image, same shape as the input, equal to ``palette[labels]``. (The one
        exception: with k = 1, fully transparent pixels keep alpha 0 beside visible ones.)
    palette : ndarray of uint8, shape (n, 3) or (n, 4)
        sRGB palette, ``n <= k``, sorted by share, largest first (ties by colour). (n, 3)
        for RGB input; (n, 4), straight RGBA, for input with alpha, where semi-transparent
        entries hold the alpha of soft edges and the shared fully transparent entry is
        ``(0, 0, 0, 0)``.
    labels : ndarray of uint8, shape (H, W)
        Index into ``palette`` for every pixel.
    counts : ndarray of int64, shape (n,)
        Pixels per palette entry; sums to ``H * W``.
    transparent_index : int or None
        The palette entry shared by all fully transparent pixels, if there are any and k > 1;
        it counts towards k.
    k, color_space, dither, seed, dither_strength, engine
        The settings that produced this result.
    distinct_colors : int or None
        Distinct visible colours of the input when the engine counted them exactly (it does so
        for small images and whenever the image has at most k colours), else None.
    fixed : ndarray of uint8, shape (m, 3) or (m, 4), or None
        The fixed colours asked for (``quantize(..., fixed=...)``), each in ``palette``;
        with alpha when they are entries of an RGBA palette.
    remapped : bool
        True for :func:`kquant_gui.remap` results; ``fixed`` then holds the given palette.
    edits : tuple of dict
        Palette edits applied since quantizing, oldest first (see :mod:`engine.edit`); they
        replay on the same settings to give the same result.
    source : ndarray of uint8, shape (H, W, 3) or (H, W, 4), or None
        The pixels the result was made from: the very array given to
        :func:`kquant_gui.quantize` or :func:`kquant_gui.remap` (a reference, never a copy;
        do not change it while the result is in use). Deleting an entry uses it to send each
        of its pixels to that pixel's own nearest remaining entry. None for a result built
        by hand.
    """

    image: np.ndarray
    palette: np.ndarray
    labels: np.ndarray
    counts: np.ndarray
    transparent_index: int | None
    k: int
    color_space: str
    dither: str
    seed: int
    dither_strength: float = 1.0
    engine: str = "numpy"
    distinct_colors: int | None = None
    fixed: np.ndarray | None = None
    edits: tuple[dict[str, Any], ...] = ()
    remapped: bool = False
    timings: dict[str, float] = field(default_factory=dict, repr=False)
    source: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_colors(self) -> int:
        """Number of palette entries, ``n``."""
        return int(self.palette.shape[0])

    @property
    def exhausted(self) -> bool:
        """True when the input had at most k colours and the palette holds exactly those."""
        return self.distinct_colors is not None and self.distinct_colors <= self.k

    @property
    def shares(self) -> np.ndarray:
        """Fraction of pixels per palette entry, shape (n,), summing to 1."""
        total = int(self.counts.sum())
        return self.counts / total if total else self.counts.astype(np.float64)

    @property
    def has_alpha(self) -> bool:
        """True when the image carries an alpha channel."""
        return self.image.ndim == 3 and self.image.shape[2] == 4

    def settings(self) -> dict[str, Any]:
        """The options that reproduce this result with :func:`kquant_gui.quantize` (for a
        remapped or edited result, :func:`kquant_gui.recipe.recipe_of` says the rest).

        ``engine`` is named only when it is not the default, so recipes written before the
        option existed still read the same.
        """
        out: dict[str, Any] = {
            "k": self.k,
            "color_space": self.color_space,
            "dither": self.dither,
            "dither_strength": self.dither_strength,
            "seed": self.seed,
        }
        if self.engine != "numpy":
            out["engine"] = self.engine
        if self.fixed is not None and self.fixed.shape[0]:
            out["fixed"] = hex_colors(self.fixed)
        return out

    def summary(self) -> str:
        """One human sentence about the palette, e.g. for a status line."""
        if self.exhausted:
            kept = {1: "it is", 2: "both are"}.get(self.n_colors, f"all {self.n_colors} are")
            return (
                f"the image has only {_colours(self.distinct_colors)}; "
                f"{kept} kept exactly (k={self.k})"
            )
        dither = self.dither
        if dither != "none" and self.dither_strength < 1.0:
            dither += f" at {self.dither_strength:.0%}"
        return f"{_colours(self.n_colors)} (k={self.k}, {self.color_space}, dither {dither})"


def _colours(n: int) -> str:
    """``1 colour``, ``2 colours``: the count with the noun in the right number."""
    return f"{n} colour" if n == 1 else f"{n} colours"

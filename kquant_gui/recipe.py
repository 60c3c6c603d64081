"""Recipes: the settings that reproduce a result, shared by the window and the command line.

A recipe is the ``settings`` object of kquant's JSON palette file: ``k``, ``color_space``,
``dither``, ``dither_strength``, ``seed``, maybe ``fixed`` colours (or, with ``remap``, the
palette the image was mapped onto), ``engine`` and the palette ``edits`` made since. The
window's File > Export Recipe writes such a file and ``kquant --recipe FILE.json`` replays it:
same input, same bytes. A recipe written before ``dither_strength`` existed means full
strength (1.0). Qt-free.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .engine import COLOR_SPACES, DITHERS, apply_edits, quantize, remap
from .engine.fixed import validate_colors
from .engine.result import hex_colors
from .engine.validate import validate_k, validate_strength
from .options import ENGINES

if TYPE_CHECKING:
    from .engine import Quantization
    from .engine.progress import CancelCallback, ProgressCallback

__all__ = ["Recipe", "read_recipe", "recipe_of", "recipe_settings"]


def _hexes(colors: np.ndarray | None) -> tuple[str, ...]:
    if colors is None:
        return ()
    return tuple(hex_colors(colors))


@dataclass(frozen=True)
class Recipe:
    """Settings that reproduce a result from its source pixels.

    Attributes
    ----------
    k : int
    color_space, dither : str
    dither_strength : float
        0.0 to 1.0, as for :func:`kquant_gui.quantize` (1.0 when a file does not say).
    seed : int
    fixed : tuple of str
        Hex colours kept exactly; with ``remap``, the palette mapped onto, in order.
    remap : bool
        Map onto ``fixed`` instead of clustering.
    engine : str or None
        The reference engine (``"sklearn"``) when it made the result; None for the default
        numpy engine, which a recipe does not name.
    edits : tuple of dict
        Palette edits replayed after quantizing (see :func:`kquant_gui.engine.apply_edits`).
    """

    k: int
    color_space: str = "lab"
    dither: str = "none"
    dither_strength: float = 1.0
    seed: int = 0
    fixed: tuple[str, ...] = ()
    remap: bool = False
    engine: str | None = None
    edits: tuple[dict[str, Any], ...] = field(default=())

    @property
    def plain(self) -> bool:
        """True when plain ``quantize(pixels, k, color_space=, dither=, dither_strength=,
        seed=)`` reproduces it."""
        return not (self.fixed or self.remap or self.engine or self.edits)

    def run(
        self,
        pixels: np.ndarray,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelCallback | None = None,
        threads: int | None = None,
    ) -> Quantization:
        """The result of this recipe on ``pixels`` (uint8, shape (H, W, 3|4)); ``progress``,
        ``cancel`` and ``threads`` as for :func:`kquant_gui.quantize`."""
        if self.remap:
            result = remap(
                pixels,
                list(self.fixed),
                color_space=self.color_space,
                dither=self.dither,
                dither_strength=self.dither_strength,
                progress=progress,
                cancel=cancel,
                threads=threads,
            )
        else:
            extra: dict[str, Any] = {"engine": self.engine} if self.engine else {}
            result = quantize(
                pixels,
                self.k,
                color_space=self.color_space,
                dither=self.dither,
                dither_strength=self.dither_strength,
                seed=self.seed,
                fixed=list(self.fixed) or None,
                progress=progress,
                cancel=cancel,
                threads=threads,
                **extra,
            )
        return apply_edits(result, self.edits)

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``settings`` object."""
        out: dict[str, Any] = {
            "k": self.k,
            "color_space": self.color_space,
            "dither": self.dither,
            "dither_strength": self.dither_strength,
            "seed": self.seed,
        }
        if self.remap:
            out["remap"] = True
        if self.fixed:
            out["fixed"] = list(self.fixed)
        if self.engine:
            out["engine"] = self.engine
        if self.edits:
            out["edits"] = [dict(e) for e in self.edits]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Recipe:
        """Check and read a ``settings`` object; raises ``ValueError`` saying what is wrong."""
        if not isinstance(d, Mapping) or "k" not in d:
            raise ValueError("no settings with k (is it a palette exported by kquant?)")
        k = validate_k(d["k"])
        space = d.get("color_space", "lab")
        if space not in COLOR_SPACES:
            raise ValueError(f"color_space {space!r} is not one of {', '.join(COLOR_SPACES)}")
        dither = d.get("dither", "none")
        if dither not in DITHERS:
            raise ValueError(f"dither {dither!r} is not one of {', '.join(DITHERS)}")
        # Recipes from before the strength existed were dithered at full strength.
        strength = validate_strength(d.get("dither_strength", 1.0))
        seed = d.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
            raise ValueError(f"seed must be a whole number from 0 to 2**32 - 1, got {seed!r}")
        fixed = d.get("fixed") or []
        if not isinstance(fixed, list):
            raise ValueError("fixed must be a list of hex colours")
        validate_colors(fixed, "fixed", max_count=k)
        edits = d.get("edits") or []
        if not isinstance(edits, list) or not all(isinstance(e, Mapping) for e in edits):
            raise ValueError("edits must be a list of objects")
        engine = d.get("engine")
        if engine is not None and engine not in ENGINES:
            raise ValueError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
        if engine == "numpy":
            engine = None  # the default: the same recipe as one that names no engine
        return cls(
            k=k,
            color_space=space,
            dither=dither,
            dither_strength=strength,
            seed=int(seed),
            fixed=tuple(str(c) for c in fixed),
            remap=bool(d.get("remap", False)),
            engine=engine,
            edits=tuple(dict(e) for e in edits),
        )


def recipe_of(result: Quantization) -> Recipe:
    """The recipe that reproduces ``result`` from its source."""
    return Recipe(
        k=result.k,
        color_space=result.color_space,
        dither=result.dither,
        dither_strength=result.dither_strength,
        seed=result.seed,
        fixed=_hexes(result.fixed),
        remap=result.remapped,
        engine=None if result.engine == "numpy" else result.engine,
        edits=tuple(result.edits),
    )


def recipe_settings(result: Quantization) -> dict[str, Any]:
    """``recipe_of(result).to_dict()``: what the JSON palette file stores as ``settings``."""
    return recipe_of(result).to_dict()


def read_recipe(path: os.PathLike[str] | str) -> Recipe:
    """The recipe stored in a JSON palette file.

    Raises
    ------
    PaletteReadError
        Unreadable file, not JSON, or settings that are missing or out of range.
    """
    from .palette_read import PaletteReadError, read_palette_file

    pf = read_palette_file(path)
    try:
        return Recipe.from_dict(pf.settings)
    except ValueError as exc:
        raise PaletteReadError(path, f"not a usable recipe: {exc}") from None

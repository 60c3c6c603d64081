"""The ``kquant`` options that say which palette to make: ``--fixed``, ``--remap``, ``--recipe``.

They resolve, with ``-k``, ``--space``, ``--dither``, ``--dither-strength``, ``--seed`` and
``--engine``, into one :class:`~kquant_gui.recipe.Recipe` that every job runs. The module
imports neither numpy nor Pillow: the parser (and ``kquant --help``) is built from it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .usage import UsageError

if TYPE_CHECKING:
    from ..recipe import Recipe

__all__ = ["add_recipe_arguments", "resolve_recipe"]


def add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--fixed``, ``--remap`` and ``--recipe`` to the parser."""
    parser.add_argument(
        "--fixed", metavar="COLOURS",
        help='colours kept exactly in the palette, e.g. "#c8102e,#ffffff" (at most K); '
        '"#rrggbbaa" for one with alpha, on an image with alpha',
    )  # fmt: skip
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--remap", type=Path, metavar="FILE",
        help="map onto the colours of a palette file (.gpl .ase .json .css .txt .png) "
        "instead of clustering; K is its size, so -k is not allowed",
    )  # fmt: skip
    source.add_argument(
        "--recipe", type=Path, metavar="FILE.json",
        help="replay the settings stored in a JSON palette (k, space, dithering and its "
        "strength, seed, fixed colours, edits) as the window exported them; the same input "
        "gives the same bytes",
    )  # fmt: skip


def _given(args: argparse.Namespace, parser_defaults: dict[str, object]) -> list[str]:
    """Options among --space/--dither/--dither-strength/--seed/--fixed/--engine set away from
    their defaults."""
    names = {
        "space": "--space",
        "dither": "--dither",
        "dither_strength": "--dither-strength",
        "seed": "--seed",
        "fixed": "--fixed",
        "engine": "--engine",
    }
    return [flag for dest, flag in names.items() if getattr(args, dest) != parser_defaults[dest]]


def resolve_recipe(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Recipe:
    """The recipe every job runs; sets ``args.k`` to its k.

    Raises
    ------
    UsageError
        -k missing, or given with --remap/--recipe; --fixed or --engine with --remap; --fixed
        with --engine sklearn; a bad --fixed.
    PaletteReadError
        The --remap or --recipe file cannot be read.
    """
    from ..engine.fixed import validate_colors
    from ..engine.result import hex_colors
    from ..palettes import read_palette
    from ..recipe import Recipe, read_recipe

    # The default engine is no setting of its own: a recipe names only the reference engine.
    engine = None if args.engine == "numpy" else args.engine
    if args.recipe is not None:
        if args.k is not None:
            raise UsageError("-k cannot be combined with --recipe: the recipe gives k")
        names = ("space", "dither", "dither_strength", "seed", "fixed", "engine")
        defaults = {d: parser.get_default(d) for d in names}
        clash = _given(args, defaults)
        if clash:
            raise UsageError(f"{', '.join(clash)} cannot be combined with --recipe")
        recipe = read_recipe(args.recipe)
    elif args.remap is not None:
        if args.k is not None:
            raise UsageError("-k cannot be combined with --remap: k is the palette's size")
        if args.fixed is not None:
            raise UsageError("--fixed cannot be combined with --remap: every colour is kept")
        if engine is not None:
            raise UsageError("--engine cannot be combined with --remap: nothing is clustered")
        colors = read_palette(args.remap)
        hexes = tuple("#" + bytes(int(v) for v in c[:3]).hex() for c in colors)
        recipe = Recipe(
            k=len(hexes),
            color_space=args.space,
            dither=args.dither,
            dither_strength=args.dither_strength,
            fixed=hexes,
            remap=True,
        )
    else:
        if args.k is None:
            raise UsageError("-k/--colors is required (or --remap FILE, or --recipe FILE.json)")
        fixed: tuple[str, ...] = ()
        if args.fixed is not None:
            if engine is not None:
                # scikit-learn's KMeans cannot hold a centre still.
                raise UsageError(f"--fixed needs --engine numpy (not {engine})")
            try:
                arr = validate_colors(args.fixed, "--fixed", max_count=args.k)
            except ValueError as exc:
                raise UsageError(str(exc).replace("more than", "more than -k")) from None
            fixed = tuple(hex_colors(arr))
        recipe = Recipe(
            k=args.k,
            color_space=args.space,
            dither=args.dither,
            dither_strength=args.dither_strength,
            seed=args.seed,
            fixed=fixed,
            engine=engine,
        )
    args.k = recipe.k
    return recipe

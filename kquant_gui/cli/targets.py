"""The command line's targets: ``--max-de`` (fewest colours for a quality) and
``--skip-if-larger``, with pngquant's exit statuses 99 and 98; Qt-free.

A file that even the largest k allowed cannot bring under the target, or whose result would
not be smaller than the input, is not written. That is not a failure of the file: it is
named on stderr with the reason, and the exit status says which case happened when nothing
failed outright.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..options import K_MAX

if TYPE_CHECKING:
    import numpy as np

    from ..engine import Quantization
    from ..image_io import LoadedImage

#: Some file was not written because even the largest k missed --max-de (pngquant's code).
EXIT_QUALITY = 99
#: Some file was not written because of --skip-if-larger, and for no other reason.
EXIT_LARGER = 98


def _target_type(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-de`` and ``--skip-if-larger`` to the ``kquant`` parser."""
    parser.add_argument(
        "--max-de", type=_target_type, default=None, metavar="D",
        help="per file, the fewest colours (up to -k, default 256 here) whose mean CIEDE2000 "
        "is at most D (about 1: invisible side by side; 2.3: just noticeable); a file that "
        f"cannot reach it is not written (exit {EXIT_QUALITY})",
    )  # fmt: skip
    parser.add_argument(
        "--skip-if-larger", action="store_true",
        help="do not write a result that is not smaller than its input file "
        f"(exit {EXIT_LARGER} if that is the only reason something was not written)",
    )  # fmt: skip


def resolve_k(k: int | None, max_de: float | None) -> int | None:
    """The k (or largest k) to use: ``-k`` as given, 256 with ``--max-de`` alone, None
    when neither was given (a usage error)."""
    if k is not None:
        return k
    return K_MAX if max_de is not None else None


def output_tag(k: int, max_de: float | None) -> str:
    """The part of a default output name that tells the settings: ``-k16`` or ``-de2.3``."""
    return f"-k{k}" if max_de is None else f"-de{max_de:g}"


@dataclass(frozen=True)
class Outcome:
    """A result to write, or the reason it is not written.

    Attributes
    ----------
    result : Quantization
    delta_e : float or None
        Mean CIEDE2000 of the result, measured when ``--max-de`` was given.
    skipped : {"quality", "larger"} or None
        Why the result is not written, if it is not.
    message : str
        The reason, for stderr.
    """

    result: Quantization
    delta_e: float | None = None
    skipped: str | None = None
    message: str = ""


def quantize_to_target(
    pixels: np.ndarray,
    k: int,
    max_de: float,
    *,
    color_space: str,
    dither: str,
    seed: int,
    dither_strength: float = 1.0,
) -> Outcome:
    """Quantize with the fewest colours up to ``k`` whose mean CIEDE2000 is at most
    ``max_de``; when even ``k`` misses, the outcome is skipped ("quality")."""
    from ..engine import choose_k  # with numpy: only a run with --max-de needs it

    choice = choose_k(
        pixels,
        max_de,
        k_max=k,
        color_space=color_space,
        dither=dither,
        dither_strength=dither_strength,
        seed=seed,
    )
    if choice.met:
        return Outcome(choice.result, choice.mean_delta_e)
    return Outcome(
        choice.result,
        choice.mean_delta_e,
        "quality",
        f"not written: even k={choice.k} reaches only mean dE2000 "
        f"{choice.mean_delta_e:.2f}, above --max-de {max_de:g}",
    )


def encode_in_memory(
    result: Quantization,
    path: Path,
    source: LoadedImage,
    *,
    strip_metadata: bool,
    optimize: bool = False,
) -> tuple[bytes, tuple[str, ...]]:
    """The file ``result`` would become at ``path`` (format from its extension), and the
    encoder's notes: encoded once, compared with the input, then written or not."""
    from ..image_io import encode_to_bytes, save_format_for

    return encode_to_bytes(
        result,
        save_format_for(path),
        source=source,
        strip_metadata=strip_metadata,
        optimize=optimize,
    )


def larger_message(size: int, input_size: int) -> str:
    """Why --skip-if-larger left a file out."""
    return (
        f"not written: the result ({size:,} bytes) is not smaller than the input "
        f"({input_size:,} bytes)"
    )


def exit_status(n_failed: int, skipped: list[str]) -> int | None:
    """The exit status the targets call for, or None to leave it to the rest (0 or 1).

    Failures for other reasons take precedence (1); then a missed quality target (99); then
    results left out as larger (98).
    """
    if n_failed:
        return None
    if "quality" in skipped:
        return EXIT_QUALITY
    if "larger" in skipped:
        return EXIT_LARGER
    return None

"""The ``kquant`` command line's arguments: the parser, its help text and the usage errors."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from .._version import __version__
from ..options import COLOR_SPACES, DITHERS, ENGINES, K_MAX, K_MIN
from . import targets
from .recipe_args import add_recipe_arguments
from .usage import UsageError as UsageError  # re-exported: callers know it from here

PROG = "kquant"
#: ``image_io.DEFAULT_MAX_PIXELS`` and the extensions of ``palettes.PALETTE_FORMATS``, named
#: again here so that building the parser (and ``kquant --help``) needs neither numpy nor
#: Pillow: together they take longer to import than the 0.2 s ``--help`` may take. A test
#: checks that both copies agree.
DEFAULT_MAX_PIXELS = 200_000_000
PALETTE_EXTENSIONS = (".gpl", ".ase", ".json", ".css", ".txt", ".png")
#: ``--format`` choices and the extension each writes.
FORMAT_EXT = {
    "png": ".png",
    "gif": ".gif",
    "webp": ".webp",
    "tiff": ".tiff",
    "bmp": ".bmp",
    "jpg": ".jpg",
}
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3
#: What a per-output swatch strip adds to the image's name, so the two never share a path.
STRIP_SUFFIX = "-palette"

EXAMPLES = f"""\
examples:
  {PROG} photo.jpg -k 16                      writes photo-k16.png next to photo.jpg
  {PROG} photo.jpg -k 8 -o poster.png --palette poster.gpl
  {PROG} shots/ *.png -k 64 --out-dir small/ --jobs 4
  {PROG} logo.png -k 4 --space oklab --dither floyd-steinberg -o logo-4.png --force
  {PROG} shots/ -k 32 --out-dir out/ --palette json   one palette file per image
  {PROG} logo.png -k 6 --fixed "#c8102e,#ffffff"      brand red and white kept exactly
  {PROG} photo.jpg --remap brand.gpl -o on-brand.png   map onto a palette you have
  {PROG} photo.jpg --recipe look.json                  replay settings exported by the window
  {PROG} shots/ --max-de 2.3 --skip-if-larger --out-dir out/   fewest colours per image
  {PROG} site/ -r --glob '*.png' -k 64 --out-dir small/ --report report.json
  curl -s https://example.org/a.png | {PROG} - -k 16 > a-16.png
  {PROG} archive/ -r -k 32 --out-dir /shared/out --cluster tcp://scheduler:8786

Output names: with -o, one input is written there. Otherwise every input becomes
<name>-k<K>.<ext> (<name>-de<D>.<ext> with --max-de) in --out-dir (default: next to the
input), with -r in the same subfolder as below the input folder. Existing files, and the input
itself, are never overwritten without --force. The same input and settings always give the
same bytes, with any --jobs or --cluster. With - as the input, the image comes from stdin and
goes to stdout unless -o or --out-dir say otherwise; with -o - the summary goes to stderr and
stdout carries only the image.

Loading: everything Pillow reads (JPEG, PNG 8/16-bit, TIFF incl. 16-bit and CMYK, WebP, BMP,
GIF: first frame, ...); EXIF orientation applied, an embedded ICC profile converted to sRGB.
Saving: PNG (true indexed, palette exactly the result's, transparency kept), GIF (indexed,
binary transparency), WebP (lossless), TIFF, BMP (indexed), JPEG (lossy: adds colours back).
Palette files: {", ".join(PALETTE_EXTENSIONS)}; one per output is <name>-k<K>.<ext>, the swatch
strip (png) <name>-k<K>{STRIP_SUFFIX}.png. A run in which two outputs would share a path is
refused before anything is written.

exit status: 0 all written, 1 some inputs failed (named on stderr), 2 usage error,
3 internal error (a bug in kquant: please report it, with the output of --debug),
99 some file missed --max-de (and none failed), 98 some file was left out by
--skip-if-larger (and for no other reason), 130 interrupted (Ctrl-C), 143 terminated
(SIGTERM): files already finished are kept whole.
Environment: KQUANT_LOG=debug prints what each step did and took (for maintainers)."""


def _k_type(text: str) -> int:
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not K_MIN <= k <= K_MAX:
        raise argparse.ArgumentTypeError(f"must be from {K_MIN} to {K_MAX}, got {k}")
    return k


def _int_at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` accepting whole numbers from ``low`` (to ``high``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


def _strength(text: str) -> float:
    """An argparse ``type`` for ``--dither-strength``: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``kquant`` (also used to render ``--help``)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Reduce images to k colours with k-means clustering, in a batch.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image files, folders of images (with -r, their subfolders too), "
        "or - for one image on stdin",
    )
    parser.add_argument(
        "-k", "--colors", dest="k", type=_k_type, default=None, metavar="K",
        help=f"number of colours, {K_MIN} to {K_MAX}; an image with fewer keeps exactly its own "
        "(required unless --max-de, --remap or --recipe gives it; with --max-de, the most "
        "colours allowed)",
    )  # fmt: skip
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "-o", "--output", type=Path, metavar="OUTPUT",
        help="output file, for a single input; its extension picks the format; "
        "- for stdout (format from --format, default png)",
    )  # fmt: skip
    where.add_argument(
        "--out-dir", type=Path, metavar="DIR",
        help="folder for <name>-k<K>.<ext> outputs, created if missing (default: beside inputs)",
    )  # fmt: skip
    parser.add_argument(
        "-r", "--recursive", action="store_true",
        help="take the images of folders' subfolders too, keeping the layout under --out-dir",
    )  # fmt: skip
    parser.add_argument(
        "--glob", action="append", metavar="PATTERN",
        help="take the files of folders matching PATTERN (e.g. '*.jpg', case-insensitive; "
        "may be repeated) instead of every image",
    )  # fmt: skip
    parser.add_argument(
        "--report", metavar="FILE.json",
        help="write one JSON record per input (status, reason, k, colours, mean dE2000, "
        "bytes in/out, time) to FILE, or - for stdout",
    )  # fmt: skip
    parser.add_argument(
        "--space", choices=COLOR_SPACES, default="lab",
        help="colour space distances are measured in (default: lab = CIELAB; oklab; rgb)",
    )  # fmt: skip
    parser.add_argument(
        "--dither", choices=DITHERS, default="none",
        help="dithering of the final mapping (default: none; ordered = 8x8 Bayer)",
    )  # fmt: skip
    parser.add_argument(
        "--dither-strength", type=_strength, default=1.0, metavar="S",
        help="how much of the dithering to apply, 0 (none) to 1 (full, the default)",
    )  # fmt: skip
    parser.add_argument(
        "--engine", choices=ENGINES, default="numpy",
        help="who clusters: numpy (default, ours) or sklearn (scikit-learn's KMeans on the same "
        "histogram: the textbook reference, slower; needs scikit-learn)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=_int_at_least(0, 2**32 - 1), default=0, metavar="N",
        help="seed of the k-means start (default 0); same seed, same output",
    )  # fmt: skip
    add_recipe_arguments(parser)
    parser.add_argument(
        "--palette", metavar="FILE",
        help="also write the palette: a file name (one input) or just a format "
        f"({', '.join(e[1:] for e in PALETTE_EXTENSIONS)}) for one file per output",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=FORMAT_EXT, default=None,
        help="output format when not given by -o (default: png)",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", "-j", type=_int_at_least(1), default=os.cpu_count() or 1, metavar="N",
        help="files processed in parallel, each on one engine thread when N > 1 "
        "(default: the number of cores)",
    )  # fmt: skip
    parser.add_argument(
        "--cluster", metavar="ADDRESS",
        help="run one task per file on a Dask cluster: tcp://HOST:8786 for a running "
        "scheduler (files on storage every worker sees), or local for one on this machine; "
        "needs kquant-gui[cluster]",
    )  # fmt: skip
    parser.add_argument(
        "--force", "-f", action="store_true",
        help="overwrite existing outputs, even an input file",
    )  # fmt: skip
    parser.add_argument(
        "--strip-metadata", action="store_true",
        help="do not copy the ICC profile and EXIF of the input",
    )  # fmt: skip
    parser.add_argument(
        "--optimize", action="store_true",
        help="recompress PNG outputs losslessly with oxipng: smaller files, slower saves",
    )  # fmt: skip
    parser.add_argument(
        "--max-pixels", type=_int_at_least(1), default=DEFAULT_MAX_PIXELS, metavar="N",
        help=f"refuse images larger than N pixels (default {DEFAULT_MAX_PIXELS:_}); "
        "one with transparency counts 5/3 of its pixels",
    )  # fmt: skip
    targets.add_arguments(parser)
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print only errors: no progress, notes or summary",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an internal error, print the traceback to put in a bug report; log in detail",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser

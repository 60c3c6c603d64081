"""The ``kquant`` command line: reduce image files to k colours in a batch; Qt-free.

Every file is loaded, quantized and saved independently, in parallel worker processes with
``--jobs``; the engine is deterministic, so the bytes written do not depend on ``--jobs``.
Exit codes: 0 all written, 1 some inputs failed (each named on stderr, the rest still
processed), 2 usage error, 130 interrupted. No user error prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from PIL import Image

from ._version import __version__
from .engine import COLOR_SPACES, DITHERS, K_MAX, K_MIN, quantize
from .engine.kmeans import preload_in_background
from .image_io import (
    DEFAULT_MAX_PIXELS,
    JPEG_NOTE,
    SUPPORTED_SAVE_FORMATS,
    ImageIOError,
    load_image,
    save_quantized,
)
from .palettes import PALETTE_FORMATS, write_palette

PROG = "kquant"
#: ``--format`` choices and the extension each writes.
FORMAT_EXT = {
    "png": ".png",
    "gif": ".gif",
    "webp": ".webp",
    "tiff": ".tiff",
    "bmp": ".bmp",
    "jpg": ".jpg",
}
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EXAMPLES = f"""\
examples:
  {PROG} photo.jpg -k 16                      writes photo-k16.png next to photo.jpg
  {PROG} photo.jpg -k 8 -o poster.png --palette poster.gpl
  {PROG} shots/ *.png -k 64 --out-dir small/ --jobs 4
  {PROG} logo.png -k 4 --space oklab --dither floyd-steinberg -o logo-4.png --force
  {PROG} shots/ -k 32 --out-dir out/ --palette json   one palette file per image

Output names: with -o, one input is written there. Otherwise every input becomes
<name>-k<K>.<ext> in --out-dir (default: next to the input). Existing files, and the input
itself, are never overwritten without --force. The same input and settings always give the
same bytes.

Loading: everything Pillow reads (JPEG, PNG 8/16-bit, TIFF incl. 16-bit and CMYK, WebP, BMP,
GIF: first frame, ...); EXIF orientation applied, an embedded ICC profile converted to sRGB.
Saving: PNG (true indexed, palette exactly the result's, transparency kept), GIF (indexed,
binary transparency), WebP (lossless), TIFF, BMP (indexed), JPEG (lossy: adds colours back).
Palette files: {", ".join(PALETTE_FORMATS)}.

exit status: 0 all written, 1 some inputs failed (named on stderr), 2 usage error."""


class UsageError(Exception):
    """Bad combination of arguments; reported like argparse's own errors, exit status 2."""


@dataclass(frozen=True)
class Options:
    """Settings shared by every job (picklable for worker processes)."""

    k: int
    color_space: str
    dither: str
    dither_strength: float
    seed: int
    force: bool
    strip_metadata: bool
    max_pixels: int


@dataclass(frozen=True)
class Job:
    """One input file, where its image goes and, optionally, its palette file."""

    input: Path
    output: Path
    palette: Path | None = None


@dataclass(frozen=True)
class JobResult:
    """What happened to one job; ``error`` is None on success."""

    job: Job
    error: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    n_colors: int = 0
    notes: tuple[str, ...] = ()


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
        help="image files, or folders of images (not recursive)",
    )
    parser.add_argument(
        "-k", "--colors", dest="k", type=_k_type, required=True, metavar="K",
        help=f"number of colours, {K_MIN} to {K_MAX}; an image with fewer keeps exactly its own",
    )  # fmt: skip
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "-o", "--output", type=Path, metavar="OUTPUT",
        help="output file, for a single input; its extension picks the format",
    )  # fmt: skip
    where.add_argument(
        "--out-dir", type=Path, metavar="DIR",
        help="folder for <name>-k<K>.<ext> outputs, created if missing (default: beside inputs)",
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
        "--seed", type=_int_at_least(0, 2**32 - 1), default=0, metavar="N",
        help="seed of the k-means start (default 0); same seed, same output",
    )  # fmt: skip
    parser.add_argument(
        "--palette", metavar="FILE",
        help="also write the palette: a file name (one input) or just a format "
        f"({', '.join(e[1:] for e in PALETTE_FORMATS)}) for one file per output",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=FORMAT_EXT, default=None,
        help="output format when not given by -o (default: png)",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", "-j", type=_int_at_least(1), default=os.cpu_count() or 1, metavar="N",
        help="files processed in parallel (default: the number of cores)",
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
        "--max-pixels", type=_int_at_least(1), default=DEFAULT_MAX_PIXELS, metavar="N",
        help=f"refuse images larger than N pixels (default {DEFAULT_MAX_PIXELS:_})",
    )  # fmt: skip
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print only errors: no progress, notes or summary",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def _image_extensions() -> set[str]:
    Image.init()
    return {ext.lower() for ext in Image.registered_extensions()}


def _expand(inputs: list[str]) -> tuple[list[Path], list[JobResult], bool]:
    """Files to process, failures for empty folders, and whether any input was a folder."""
    files: list[Path] = []
    failed: list[JobResult] = []
    any_folder = False
    exts = _image_extensions()
    for text in inputs:
        p = Path(text)
        if p.is_dir():
            any_folder = True
            found = sorted(c for c in p.iterdir() if c.is_file() and c.suffix.lower() in exts)
            if not found:
                failed.append(JobResult(Job(p, p), error=f"{p}: the folder holds no image files"))
            files.extend(found)
        else:
            files.append(p)
    return files, failed, any_folder


def _palette_plan(value: str | None, n_files: int) -> tuple[str | None, Path | None]:
    """(extension for per-output palettes, or a single palette path)."""
    if value is None:
        return None, None
    bare = value.lstrip(".").lower()
    if "." + bare in PALETTE_FORMATS and os.sep not in value and not Path(value).suffix:
        return "." + bare, None
    path = Path(value)
    if path.suffix.lower() not in PALETTE_FORMATS:
        raise UsageError(
            f"--palette {value}: unknown palette format; use one of {', '.join(PALETTE_FORMATS)}"
        )
    if n_files > 1:
        raise UsageError(
            "--palette FILE needs a single input; with several, give only a format, "
            "e.g. --palette gpl"
        )
    return None, path


def plan_jobs(args: argparse.Namespace) -> tuple[list[Job], list[JobResult]]:
    """Turn arguments into jobs (input, output, palette), plus inputs that already failed.

    Raises
    ------
    UsageError
        For argument combinations that cannot work (``-o`` with several inputs, ...).
    """
    files, failed, any_folder = _expand(args.inputs)
    if args.output is not None:
        if len(files) + len(failed) != 1 or any_folder:
            raise UsageError("-o/--output takes a single input file; use --out-dir for several")
        suffix = args.output.suffix.lower()
        if suffix not in SUPPORTED_SAVE_FORMATS:
            raise UsageError(
                f"-o {args.output}: unknown image format {suffix or '(no extension)'!r}; use one "
                f"of {', '.join(FORMAT_EXT[f] for f in FORMAT_EXT)}"
            )
        if (
            args.format
            and SUPPORTED_SAVE_FORMATS[suffix] != SUPPORTED_SAVE_FORMATS[FORMAT_EXT[args.format]]
        ):
            raise UsageError(
                f"--format {args.format} contradicts the extension of -o {args.output}"
            )
    palette_ext, palette_path = _palette_plan(args.palette, len(files))

    ext = FORMAT_EXT[args.format or "png"]
    jobs: list[Job] = []
    seen: dict[Path, Path] = {}
    for f in files:
        if args.output is not None:
            out = args.output
        else:
            folder = args.out_dir if args.out_dir is not None else f.parent
            out = folder / f"{f.stem}-k{args.k}{ext}"
        pal = palette_path or (out.with_suffix(palette_ext) if palette_ext else None)
        key = Path(os.path.abspath(out))
        if key in seen:
            failed.append(
                JobResult(
                    Job(f, out),
                    error=f"{f}: its output {out} would also be written by {seen[key]}",
                )
            )
            continue
        seen[key] = f
        jobs.append(Job(f, out, pal))
    return jobs, failed


def run_job(job: Job, opts: Options) -> JobResult:
    """Load, quantize and save one file; never raises for a user error.

    Module-level so worker processes can run it.
    """
    try:
        if not opts.force:
            for target in (job.output, job.palette):
                if target is not None and target.exists():
                    return JobResult(
                        job, error=f"{target}: already exists; use --force to overwrite"
                    )
        with warnings.catch_warnings():
            # Pillow warns about damaged metadata on stderr in its own words; the outcome is
            # already told in one line of ours (the file fails) or not at all (it loads).
            # Safe here: each job runs alone in its process.
            warnings.filterwarnings("ignore", module=r"PIL(\.|$)")
            src = load_image(job.input, max_pixels=opts.max_pixels)
        result = quantize(
            src.pixels,
            opts.k,
            color_space=opts.color_space,
            dither=opts.dither,
            dither_strength=opts.dither_strength,
            seed=opts.seed,
        )
        saved = save_quantized(
            result,
            job.output,
            source=src,
            overwrite=opts.force,
            strip_metadata=opts.strip_metadata,
        )
        if job.palette is not None:
            write_palette(result, job.palette, source_name=job.input.name, overwrite=opts.force)
        notes = list(src.notes) + [n for n in saved.notes if n != JPEG_NOTE]
        if result.exhausted and result.n_colors < opts.k:
            notes.append(result.summary())
        return JobResult(
            job,
            bytes_in=src.file_size,
            bytes_out=saved.size,
            n_colors=result.n_colors,
            notes=tuple(notes),
        )
    except ImageIOError as exc:
        return JobResult(job, error=str(exc))
    except (ValueError, OSError) as exc:
        return JobResult(job, error=f"{job.input}: {exc}")
    except MemoryError:
        return JobResult(job, error=f"{job.input}: not enough memory for this image")


def _human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover - the loop always returns


class _Progress:
    """A one-line bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.enabled = enabled and total > 1 and stream.isatty()

    def step(self) -> None:
        self.done += 1
        if self.enabled:
            width = 30
            filled = width * self.done // self.total
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{PROG} [{bar}] {self.done}/{self.total} files")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()


def run_jobs(
    jobs: list[Job], opts: Options, n_workers: int, progress: _Progress
) -> list[JobResult]:
    """Run every job, in worker processes when ``n_workers > 1``; results in job order."""
    if n_workers <= 1 or len(jobs) <= 1:
        # scikit-learn's import (~1 s) overlaps the first decode, which releases the GIL.
        preload_in_background()
        results = []
        for job in jobs:
            results.append(run_job(job, opts))
            progress.step()
        return results
    slots: list[JobResult | None] = [None] * len(jobs)
    # Each worker process preloads on a thread of its own; the parent starts no thread
    # before forking them.
    with ProcessPoolExecutor(
        max_workers=min(n_workers, len(jobs)), initializer=preload_in_background
    ) as pool:
        futures = {pool.submit(run_job, job, opts): i for i, job in enumerate(jobs)}
        try:
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    slots[i] = fut.result()
                except BrokenProcessPool:
                    slots[i] = JobResult(
                        jobs[i], error=f"{jobs[i].input}: the worker process died (out of memory?)"
                    )
                except Exception as exc:  # a bug, not a user error: still no traceback
                    slots[i] = JobResult(
                        jobs[i],
                        error=f"{jobs[i].input}: internal error ({type(exc).__name__}: {exc})",
                    )
                progress.step()
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [r for r in slots if r is not None]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``kquant``; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 all written, 1 some inputs failed, 2 usage error, 130 interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return int(exc.code or 0)
    out, err = sys.stdout, sys.stderr
    try:
        if args.out_dir is not None:
            if args.out_dir.exists() and not args.out_dir.is_dir():
                raise UsageError(f"--out-dir {args.out_dir} is a file, not a folder")
            args.out_dir.mkdir(parents=True, exist_ok=True)
        jobs, failed = plan_jobs(args)
    except UsageError as exc:
        parser.print_usage(err)
        print(f"{PROG}: error: {exc}", file=err)
        return EXIT_USAGE
    except OSError as exc:
        print(f"{PROG}: error: cannot create {args.out_dir}: {exc.strerror or exc}", file=err)
        return EXIT_FAILED

    opts = Options(
        k=args.k,
        color_space=args.space,
        dither=args.dither,
        dither_strength=args.dither_strength,
        seed=args.seed,
        force=args.force,
        strip_metadata=args.strip_metadata,
        max_pixels=args.max_pixels,
    )
    if not args.quiet and any(j.output.suffix.lower() in (".jpg", ".jpeg") for j in jobs):
        print(f"{PROG}: warning: {JPEG_NOTE}", file=err)

    t0 = time.perf_counter()
    progress = _Progress(len(jobs), err, enabled=not args.quiet)
    try:
        results = run_jobs(jobs, opts, args.jobs, progress)
    except KeyboardInterrupt:
        progress.close()
        print(f"{PROG}: interrupted", file=err)
        return EXIT_INTERRUPTED
    progress.close()
    elapsed = time.perf_counter() - t0

    results = failed + results
    for r in results:
        if r.error is not None:
            print(f"{PROG}: error: {r.error}", file=err)
        elif not args.quiet:
            for note in r.notes:
                print(f"{PROG}: note: {r.job.input}: {note}", file=err)
    done = [r for r in results if r.error is None]
    n_failed = len(results) - len(done)
    if not args.quiet:
        print(_summary(done, n_failed, elapsed, opts.k), file=out)
    return EXIT_FAILED if n_failed else EXIT_OK


def _summary(done: list[JobResult], n_failed: int, elapsed: float, k: int) -> str:
    before = sum(r.bytes_in for r in done)
    after = sum(r.bytes_out for r in done)
    ratio = f" ({after / before:.0%})" if before else ""
    if len(done) == 1 and not n_failed:
        r = done[0]
        head = f"{r.job.input} -> {r.job.output}, {r.n_colors} colours (k={k})"
    else:
        head = f"{len(done)} file{'s' if len(done) != 1 else ''} written (k={k})"
    sizes = f"{_human_bytes(before)} -> {_human_bytes(after)}{ratio}"
    line = f"{PROG}: {head}, {sizes} in {elapsed:.1f} s"
    if n_failed:
        line += f"; {n_failed} failed"
    return line


if __name__ == "__main__":
    sys.exit(main())

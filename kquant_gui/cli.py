"""The ``kquant`` command line: reduce image files to k colours in a batch; Qt-free.

Every file is loaded, quantized and saved independently, in parallel worker processes with
``--jobs``; the engine is deterministic, so the bytes written do not depend on ``--jobs``.
Exit codes: 0 all written, 1 some inputs failed (each named on stderr, the rest still
processed), 2 usage error, 128 + the signal when stopped (130 Ctrl-C, 143 SIGTERM). No user
error prints a traceback; file names are printed escaped (see :mod:`kquant_gui.names`).
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable
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
    discard_temp_files,
    load_image,
    save_quantized,
)
from .names import say
from .palettes import PALETTE_FORMATS, write_palette
from .process_pool import Interrupted, WorkerLost, WorkerPool, stop_on_signals

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
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: What a per-output swatch strip adds to the image's name, so the two never share a path.
STRIP_SUFFIX = "-palette"

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

Palette files per output are <name>-k<K>.<ext>; the swatch strip (png) <name>-k<K>-palette.png.
A run in which two outputs would share a path is refused before anything is written.

exit status: 0 all written, 1 some inputs failed (named on stderr), 2 usage error,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM): files already finished are kept whole."""


class UsageError(Exception):
    """Bad combination of arguments; reported like argparse's own errors, exit status 2."""


class BatchInterrupted(Interrupted):
    """A signal stopped the batch; ``results`` holds, in job order, what had finished.

    None for a job not done; a job cut short just after renaming its file into place counts
    as written.
    """

    def __init__(self, signum: int, results: list[JobResult | None]) -> None:
        super().__init__(signum)
        self.results = results


@dataclass(frozen=True)
class Options:
    """Settings shared by every job (picklable for worker processes)."""

    k: int
    color_space: str
    dither: str
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
        if _is_dir(p):
            any_folder = True
            found = sorted(c for c in p.iterdir() if c.is_file() and c.suffix.lower() in exts)
            if not found:
                failed.append(JobResult(Job(p, p), error=f"{p}: the folder holds no image files"))
            files.extend(found)
        else:
            files.append(p)
    return files, failed, any_folder


def _is_dir(p: Path) -> bool:
    """Whether ``p`` is a folder; False when it cannot even be looked at (a name over 255
    bytes, a loop of links): then it is a file whose job reports the reason."""
    try:
        return p.is_dir()
    except OSError:
        return False


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
    for f in files:
        if args.output is not None:
            out = args.output
        else:
            folder = args.out_dir if args.out_dir is not None else f.parent
            out = folder / f"{f.stem}-k{args.k}{ext}"
        pal = palette_path
        if palette_ext is not None:
            # The swatch strip is a PNG too: its own name keeps it off a PNG image.
            tail = STRIP_SUFFIX if palette_ext == ".png" else ""
            pal = out.with_name(f"{out.stem}{tail}{palette_ext}")
        jobs.append(Job(f, out, pal))
    _refuse_shared_outputs(jobs)
    return jobs, failed


def _path_key(path: Path) -> Path:
    return Path(os.path.normcase(os.path.abspath(path)))


def _refuse_shared_outputs(jobs: list[Job]) -> None:
    """Raise UsageError if two outputs (images or palettes) of the run share a path.

    Checked before anything is written: in a batch, which one would be left on disk depends
    on timing, and with ``--force`` one would replace the other.
    """
    seen: dict[Path, Job] = {}
    clashes: list[str] = []
    for job in jobs:
        keys = [_path_key(t) for t in (job.output, job.palette) if t is not None]
        if len(keys) == 2 and keys[0] == keys[1]:
            clashes.append(f"{job.output} would be both the image and the palette of {job.input}")
            keys.pop()
        for key in keys:
            other = seen.setdefault(key, job)
            if other is not job:
                clashes.append(f"{key} would be written for both {other.input} and {job.input}")
    if clashes:
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise UsageError(
            f"{clashes[0]}{more}; nothing was written: give distinct names "
            "(-o, --out-dir or --format)"
        )


def run_job(job: Job, opts: Options) -> JobResult:
    """Load, quantize and save one file; never raises for a user error.

    Module-level so worker processes can run it.
    """
    try:
        if not opts.force:
            for target in (job.output, job.palette):
                if target is not None and _exists(target):
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
            src.pixels, opts.k, color_space=opts.color_space, dither=opts.dither, seed=opts.seed
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


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; False when the system refuses the name (too long): the
    writer then reports that, naming the file."""
    try:
        return path.exists()
    except OSError:
        return False


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
    """Run every job, in worker processes when ``n_workers > 1``; results in job order.

    A worker that dies fails only the job it held; the others go on in a fresh worker.

    Raises
    ------
    BatchInterrupted
        A signal stopped the batch (under :func:`stop_on_signals`), with what had finished.
    """
    slots: list[JobResult | None] = [None] * len(jobs)
    # What each job's targets were before: a job whose worker died or was stopped may still
    # have renamed its file into place, and the summary counts what is really on disk.
    before = [_identities(job) for job in jobs]
    try:
        if n_workers <= 1 or len(jobs) <= 1:
            # scikit-learn's import (~1 s) overlaps the first decode, which releases the GIL.
            preload_in_background()
            for i, job in enumerate(jobs):
                slots[i] = run_job(job, opts)
                progress.step()
            return [r for r in slots if r is not None]
        # Each worker process preloads on a thread of its own; the parent starts no thread
        # before forking them.
        with WorkerPool(
            functools.partial(run_job, opts=opts),
            min(n_workers, len(jobs)),
            initializer=preload_in_background,
            on_lost=_discard_temp_files,
        ) as pool:
            for i, outcome in pool.run(jobs):
                if isinstance(outcome, WorkerLost):
                    outcome = _left_on_disk(jobs[i], before[i], outcome.reason)
                slots[i] = outcome
                progress.step()
    except Interrupted as exc:
        results = [
            r if r is not None else _left_on_disk(job, was, None)
            for r, job, was in zip(slots, jobs, before, strict=True)
        ]
        raise BatchInterrupted(exc.signum, results) from None
    return [r for r in slots if r is not None]


def _discard_temp_files(job: Job, pid: int) -> None:
    """What a killed worker ``pid`` left of ``job``: its temporary files."""
    for target in (job.output, job.palette):
        if target is not None:
            discard_temp_files(target, pid)


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


def _identities(job: Job) -> tuple[tuple[int, int, int, int] | None, ...]:
    return tuple(_identity(t) for t in (job.output, job.palette) if t is not None)


def _left_on_disk(job: Job, before: tuple, reason: str | None) -> JobResult | None:
    """The result of a job whose worker ended without answering, judged from the disk.

    Written if every target changed (the worker died after renaming them into place);
    otherwise an error with ``reason``, or None (not done) when there is no reason.
    """
    now = _identities(job)
    changed = [n is not None and n != b for n, b in zip(now, before, strict=True)]
    if all(changed):
        out = _identity(job.output)
        src = _identity(job.input)
        return JobResult(
            job,
            bytes_in=src[3] if src else 0,
            bytes_out=out[3] if out else 0,
            notes=(f"{reason or 'stopped'} after writing it",),
        )
    if reason is None:
        return None
    if changed[0]:
        reason += f" after writing {job.output}, before its palette"
    return JobResult(job, error=f"{job.input}: {reason}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``kquant``; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 all written, 1 some inputs failed, 2 usage error, 128 + the signal's number when
        stopped by SIGINT (130), SIGTERM (143) or SIGHUP (129).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return int(exc.code or 0)
    try:
        with stop_on_signals():
            return _run(args, parser)
    except Interrupted as exc:  # before the batch started: nothing was written
        say(sys.stderr, f"{PROG}: interrupted by {signal.Signals(exc.signum).name}")
        return exc.exit_status


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    out, err = sys.stdout, sys.stderr
    try:
        if args.out_dir is not None:
            if args.out_dir.exists() and not args.out_dir.is_dir():
                raise UsageError(f"--out-dir {args.out_dir} is a file, not a folder")
            args.out_dir.mkdir(parents=True, exist_ok=True)
        jobs, failed = plan_jobs(args)
    except UsageError as exc:
        parser.print_usage(err)
        say(err, f"{PROG}: error: {exc}")
        return EXIT_USAGE
    except OSError as exc:
        say(err, f"{PROG}: error: cannot create {args.out_dir}: {exc.strerror or exc}")
        return EXIT_FAILED

    opts = Options(
        k=args.k,
        color_space=args.space,
        dither=args.dither,
        seed=args.seed,
        force=args.force,
        strip_metadata=args.strip_metadata,
        max_pixels=args.max_pixels,
    )
    if not args.quiet and any(j.output.suffix.lower() in (".jpg", ".jpeg") for j in jobs):
        say(err, f"{PROG}: warning: {JPEG_NOTE}")

    t0 = time.perf_counter()
    progress = _Progress(len(jobs), err, enabled=not args.quiet)
    try:
        results = run_jobs(jobs, opts, args.jobs, progress)
    except BatchInterrupted as exc:
        progress.close()
        finished = failed + [r for r in exc.results if r is not None]
        _report(finished, quiet=args.quiet)
        n_written = sum(r.error is None for r in finished)
        say(
            err,
            f"{PROG}: interrupted by {signal.Signals(exc.signum).name}: "
            f"{n_written} of {len(failed) + len(jobs)} files written, the others not",
        )
        return exc.exit_status
    progress.close()
    elapsed = time.perf_counter() - t0

    results = failed + results
    _report(results, quiet=args.quiet)
    done = [r for r in results if r.error is None]
    n_failed = len(results) - len(done)
    if not args.quiet:
        say(out, _summary(done, n_failed, elapsed, opts.k))
    return EXIT_FAILED if n_failed else EXIT_OK


def _report(results: list[JobResult], *, quiet: bool) -> None:
    """Each failure's error and (unless ``quiet``) each success's notes, on stderr."""
    err = sys.stderr
    for r in results:
        if r.error is not None:
            say(err, f"{PROG}: error: {r.error}")
        elif not quiet:
            for note in r.notes:
                say(err, f"{PROG}: note: {r.job.input}: {note}")


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

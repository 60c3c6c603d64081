"""The ``kquant`` command line: reduce image files to k colours in a batch; Qt-free.

Every file is loaded, quantized and saved independently, in parallel worker processes with
``--jobs``; the engine is deterministic, so the bytes written do not depend on ``--jobs``.
Exit codes: 0 all written, 1 some inputs failed (each named on stderr, the rest still
processed), 2 usage error, 3 internal error, 99 / 98 some file not written for ``--max-de`` /
``--skip-if-larger`` (see :mod:`targets`), 128 + the signal when stopped (130 Ctrl-C, 143
SIGTERM: files finished are kept whole, nothing else is left). A user error (a file that cannot
be read or written, a bad argument) is one line naming the file and the reason; a bug in kquant
is one line plus a hint to report it, with the traceback shown by ``--debug``. ``KQUANT_LOG=debug``
logs each step for maintainers. File names are printed escaped (see :mod:`kquant_gui.names`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..names import say
from . import targets
from .args import (
    EXIT_BUG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    UsageError,
    build_parser,
)
from .logs import LOG_ENV, level_from_env, logging_to_stderr
from .recipe_args import resolve_recipe

if TYPE_CHECKING:
    from ..image_io import JPEG_NOTE, ImageIOError
    from . import report
    from .cluster import ClusterError, check_address, run_on_cluster
    from .jobs import (
        BatchInterrupted,
        Job,
        JobResult,
        Options,
        Progress,
        run_job,
        run_jobs,
    )
    from .pipes import Pipes, open_pipes
    from .plan import plan_jobs

log = logging.getLogger(__name__)

#: What running files needs: numpy, Pillow, the engine and the process pool behind them.
#: Imported once the arguments are understood (PEP 562 for callers), so ``--help``,
#: ``--version`` and usage errors answer without them.
_FROM_JOBS = (
    "BatchInterrupted",
    "Job",
    "JobResult",
    "Options",
    "Progress",
    "run_job",
    "run_jobs",
    "plan_jobs",  # from .plan
)

__all__ = [
    "Job",
    "JobResult",
    "Options",
    "UsageError",
    "build_parser",
    "main",
    "plan_jobs",
    "run_job",
    "run_jobs",
]


def _human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover - the loop always returns


def _load_jobs() -> None:
    """Bind the names of :mod:`.jobs` here, keeping any already set (a test's stand-in)."""
    from ..image_io import JPEG_NOTE, ImageIOError
    from . import jobs, plan, report
    from .cluster import ClusterError, check_address, run_on_cluster
    from .pipes import Pipes, open_pipes

    for name in _FROM_JOBS:
        globals().setdefault(name, getattr(plan if name == "plan_jobs" else jobs, name))
    # The rest of running files (Dask itself is imported by cluster only when asked for).
    for name, value in {
        "JPEG_NOTE": JPEG_NOTE,
        "ImageIOError": ImageIOError,
        "report": report,
        "ClusterError": ClusterError,
        "check_address": check_address,
        "run_on_cluster": run_on_cluster,
        "Pipes": Pipes,
        "open_pipes": open_pipes,
    }.items():
        globals().setdefault(name, value)


def __getattr__(name: str) -> Any:
    if name in _FROM_JOBS:
        _load_jobs()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``kquant``; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 all written, 1 some inputs failed, 2 usage error, 3 internal error, 128 + the
        signal's number when stopped by SIGINT (130), SIGTERM (143) or SIGHUP (129).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return int(exc.code or 0)
    from ..process_pool import Interrupted, stop_on_signals

    with logging_to_stderr(level_from_env(args.debug)):
        try:
            with stop_on_signals():
                return _run(parser, args)
        except (Interrupted, KeyboardInterrupt) as exc:  # before the batch: nothing written
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            say(sys.stderr, f"{PROG}: interrupted by {signal.Signals(signum).name}")
            return 128 + signum
        except Exception as exc:  # a bug of ours, outside any one file's job
            say(sys.stderr, f"{PROG}: internal error: {type(exc).__name__}: {exc}")
            _ask_for_report([traceback.format_exc()], args.debug)
            return EXIT_BUG


def _ask_for_report(tracebacks: list[str], debug: bool) -> None:
    """The hint after a bug's one-line message; with ``--debug``, the tracebacks first."""
    err = sys.stderr
    hint = f"{PROG}: this is a bug in kquant {__version__}; please report it, with "
    if debug:
        for text in tracebacks:
            err.write(text)
        print(hint + "the output above", file=err)
    else:
        print(
            hint + f"the output of the same command run with --debug ({LOG_ENV}=debug logs more)",
            file=err,
        )


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    _load_jobs()
    try:
        with open_pipes(args) as pipes:
            return _run_batch(parser, args, pipes)
    except UsageError as exc:  # from the checks of '-' before any file is planned
        parser.print_usage(sys.stderr)
        say(sys.stderr, f"{PROG}: error: {exc}")
        return EXIT_USAGE


def _run_batch(parser: argparse.ArgumentParser, args: argparse.Namespace, pipes: Pipes) -> int:
    # stdout carries nothing but the image (-o -) or the report (--report -) when asked to.
    err = sys.stderr
    out = err if pipes.stdout is not None or args.report == "-" else sys.stdout
    try:
        if args.max_de is not None and (
            args.remap or args.recipe or args.fixed or args.engine != "numpy"
        ):
            # choose_k searches plain k-means palettes of the default engine; a given or fixed
            # palette has none, and the reference engine is not what it estimates.
            raise UsageError(
                "--max-de cannot be combined with --fixed, --remap, --recipe or --engine sklearn"
            )
        if args.remap is None and args.recipe is None:
            args.k = targets.resolve_k(args.k, args.max_de)
            if args.k is None:
                raise UsageError(
                    "-k/--colors is required (or --max-de to choose k per file, --remap FILE "
                    "or --recipe FILE.json)"
                )
        if args.out_dir is not None:
            if args.out_dir.exists() and not args.out_dir.is_dir():
                raise UsageError(f"--out-dir {args.out_dir} is a file, not a folder")
            args.out_dir.mkdir(parents=True, exist_ok=True)
        recipe = resolve_recipe(args, parser)
        jobs, failed = plan_jobs(args)
        report.check_target(args.report, jobs, to_stdout=pipes.stdout is not None)
        if args.cluster:
            check_address(args.cluster)
    except UsageError as exc:
        parser.print_usage(err)
        say(err, f"{PROG}: error: {exc}")
        return EXIT_USAGE
    except ImageIOError as exc:  # the --remap or --recipe file
        print(f"{PROG}: error: {exc}", file=err)
        return EXIT_FAILED
    except OSError as exc:
        say(err, f"{PROG}: error: cannot create {args.out_dir}: {exc.strerror or exc}")
        return EXIT_FAILED

    opts = Options.of(
        recipe,
        force=args.force,
        strip_metadata=args.strip_metadata,
        max_pixels=args.max_pixels,
        measure=args.report is not None,
        optimize=args.optimize,
        max_de=args.max_de,
        skip_if_larger=args.skip_if_larger,
    )
    if not args.quiet and any(j.output.suffix.lower() in (".jpg", ".jpeg") for j in jobs):
        say(err, f"{PROG}: warning: {JPEG_NOTE}")

    log.debug(
        "%d jobs on up to %d processes, %d inputs failed already",
        len(jobs),
        args.jobs,
        len(failed),
    )
    t0 = time.perf_counter()
    progress = Progress(len(jobs), err, enabled=not args.quiet)
    try:
        if args.cluster:
            results = _run_on_cluster(jobs, opts, args, progress)
        else:
            results = run_jobs(jobs, opts, args.jobs, progress)
    except BatchInterrupted as exc:
        progress.close()
        finished = [pipes.relabel(r) for r in failed + [r for r in exc.results if r is not None]]
        _report(finished, quiet=args.quiet)
        n_written = sum(r.error is None and r.skipped is None for r in finished)
        say(
            err,
            f"{PROG}: interrupted by {signal.Signals(exc.signum).name}: "
            f"{n_written} of {len(failed) + len(jobs)} files written, the others not",
        )
        if args.report is not None:  # what was done, for a later run to pick up from
            _write_report(args.report, finished, opts, time.perf_counter() - t0)
        return exc.exit_status
    except ClusterError as exc:
        progress.close()
        say(err, f"{PROG}: error: {exc}")
        return EXIT_FAILED
    progress.close()
    elapsed = time.perf_counter() - t0

    results = [pipes.relabel(r) for r in failed + results]
    _report(results, quiet=args.quiet)
    done = [r for r in results if r.error is None and r.skipped is None]
    skipped = [r.skipped for r in results if r.skipped is not None]
    n_failed = len(results) - len(done) - len(skipped)
    pipes.deliver(results)
    if args.report is not None and not _write_report(args.report, results, opts, elapsed):
        n_failed += 1
    if not args.quiet:
        if opts.max_de is not None and len(done) > 1:
            for r in done:
                say(out, f"{PROG}: {r.job.output}: k={r.k}, mean dE2000 {r.delta_e:.2f}")
        say(out, _summary(done, n_failed, elapsed, opts, len(skipped)))
    bugs = [r.bug for r in results if r.bug is not None]
    if bugs:
        _ask_for_report(bugs, args.debug)
        return EXIT_BUG
    status = targets.exit_status(n_failed, skipped)
    if status is not None:
        return status
    return EXIT_FAILED if n_failed else EXIT_OK


def _run_on_cluster(
    jobs: list[Job], opts: Options, args: argparse.Namespace, progress: Progress
) -> list[JobResult]:
    """The jobs run on the Dask cluster of ``--cluster``."""
    return run_on_cluster(
        jobs,
        opts,
        args.cluster,
        progress,
        workers=args.jobs,
        log_level=logging.DEBUG if args.debug else logging.ERROR,
    )


def _write_report(target: str, results: list[JobResult], opts: Options, elapsed: float) -> bool:
    """Write the --report file; False (said on stderr) when it cannot be written."""
    try:
        report.write(target, report.build(results, opts, elapsed))
    except ImageIOError as exc:
        say(sys.stderr, f"{PROG}: error: report not written: {exc}")
        return False
    return True


def _report(results: list[JobResult], *, quiet: bool) -> None:
    """Each failure's error, each file left out by a target (even when ``quiet``: the file
    asked for is not there) and, unless ``quiet``, each success's notes, on stderr."""
    err = sys.stderr
    for r in results:
        if r.error is not None:
            say(err, f"{PROG}: error: {r.error}")
        elif r.skipped is not None:
            say(err, f"{PROG}: {r.job.input}: {r.notes[0]}")
        elif not quiet:
            for note in r.notes:
                say(err, f"{PROG}: note: {r.job.input}: {note}")


def _summary(
    done: list[JobResult], n_failed: int, elapsed: float, opts: Options, n_skipped: int = 0
) -> str:
    # The report's totals, summed the same way.
    totals = report.Totals.of(done, elapsed)
    before, after = totals.bytes_in, totals.bytes_out
    ratio = f" ({after / before:.0%})" if before else ""
    if opts.max_de is None:
        setting = f"k={opts.k}"
    else:
        setting = f"mean dE2000 <= {opts.max_de:g}, k <= {opts.k}"
    if len(done) == 1 and not n_failed and not n_skipped:
        r = done[0]
        colours = "colour" if r.n_colors == 1 else "colours"
        if opts.max_de is not None:
            setting = f"k={r.k}, mean dE2000 {r.delta_e:.2f} <= {opts.max_de:g}"
        head = f"{r.job.input} -> {r.job.output}, {r.n_colors} {colours} ({setting})"
    else:
        head = f"{len(done)} file{'s' if len(done) != 1 else ''} written ({setting})"
    sizes = f"{_human_bytes(before)} -> {_human_bytes(after)}{ratio}"
    line = f"{PROG}: {head}, {sizes} in {elapsed:.1f} s"
    if not done:
        line = f"{PROG}: no file written ({setting}) in {elapsed:.1f} s"
    elif opts.max_de is None and totals.mean_delta_e is not None:  # measured for --report
        line += f", mean dE2000 {totals.mean_delta_e:.2f}"
    if n_skipped:
        line += f"; {n_skipped} not written"
    if n_failed:
        line += f"; {n_failed} failed"
    return line


if __name__ == "__main__":
    sys.exit(main())

"""The ``kquant`` command line's jobs: each run alone or in a pool (planned in :mod:`.plan`)."""

from __future__ import annotations

import functools
import logging
import signal
import time
import traceback
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from ..engine import engine_threads, mean_delta_e2000, quantize
from ..engine.parallel import single_threaded_blas
from ..image_io import (
    JPEG_NOTE,
    ImageIOError,
    discard_temp_files,
    load_image,
    save_quantized,
    write_atomically,
)
from ..palettes import write_palette
from ..process_pool import Interrupted, TaskError, WorkerLost, WorkerPool
from ..recipe import Recipe
from . import targets
from .args import PROG
from .logs import configure_worker

log = logging.getLogger(__name__)


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
    optimize: bool = False
    #: Who clusters a plain run ("numpy" or the reference "sklearn"); a recipe names its own.
    engine: str = "numpy"
    #: What every job computes (fixed colours, remap, replayed edits); None: plain quantize.
    recipe: Recipe | None = None
    max_de: float | None = None
    skip_if_larger: bool = False
    #: Engine threads per file (None: the engine's default); 1 in each worker of a pool.
    threads: int | None = None
    #: Measure each output's mean CIEDE2000 against its input (for --report).
    measure: bool = False
    #: 0.0 to 1.0, as quantize's ``dither_strength`` (last, so positional uses keep working).
    dither_strength: float = 1.0

    @classmethod
    def of(cls, recipe: Recipe, **settings: object) -> Options:
        """The options that run ``recipe`` on every file, as ``kquant`` does.

        ``settings`` are the other fields (``force``, ``strip_metadata``, ``max_pixels``,
        ...). The window's batch builds its options here too, so that its files are the
        bytes the command line writes.
        """
        return cls(
            k=recipe.k,
            color_space=recipe.color_space,
            dither=recipe.dither,
            dither_strength=recipe.dither_strength,
            seed=recipe.seed,
            engine=recipe.engine or "numpy",
            recipe=None if recipe.plain else recipe,
            **settings,  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class Job:
    """One input file, where its image goes and, optionally, its palette file."""

    input: Path
    output: Path
    palette: Path | None = None


@dataclass(frozen=True, slots=True)
class JobResult:
    """What happened to one job; ``error`` is None on success.

    Slotted (about 200 bytes a file, with the job shared with the plan): a batch keeps one for
    every file, for the summary and the report, and its memory grows only by that.

    ``bug`` holds the traceback when the failure is a bug in kquant rather than in the input.
    ``k`` is the k used, ``delta_e`` the mean CIEDE2000 of the output against the input when
    measured, ``seconds`` the time the job took where it ran, ``threads`` the most threads the
    engine could use for it.
    """

    job: Job
    error: str | None = None
    bug: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    n_colors: int = 0
    notes: tuple[str, ...] = ()
    #: The k used (with --max-de, the one found) and its mean dE2000 when measured.
    k: int = 0
    delta_e: float | None = None
    #: "quality" or "larger" when the result was deliberately not written.
    skipped: str | None = None
    #: The time the job took where it ran, and the most threads the engine could use for it.
    seconds: float = 0.0
    threads: int = 0


class BatchInterrupted(Interrupted):
    """A signal stopped the batch; ``results`` holds, in job order, what had finished.

    None for a job not done; a job cut short just after renaming its file into place counts
    as written.
    """

    def __init__(self, signum: int, results: list[JobResult | None]) -> None:
        super().__init__(signum)
        self.results = results


#: Pixels drawn (with a fixed seed) for a job's mean CIEDE2000: the estimate is within about
#: 0.01 of the full figure, at a fraction of its cost on a photo of a megapixel or more.
DELTA_E_SAMPLE = 100_000


def run_job(job: Job, opts: Options) -> JobResult:
    """Load, quantize and save one file; never raises for a user error.

    Module-level so worker processes (and Dask workers) can run it.
    """
    t0 = time.perf_counter()
    result = _run_job(job, opts)
    return replace(result, k=result.k or opts.k, seconds=time.perf_counter() - t0)


def _run_job(job: Job, opts: Options) -> JobResult:
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
            t0 = time.perf_counter()
            src = load_image(job.input, max_pixels=opts.max_pixels)
        t1 = time.perf_counter()
        settings = {
            "color_space": opts.color_space,
            "dither": opts.dither,
            "dither_strength": opts.dither_strength,
            "seed": opts.seed,
        }
        with engine_threads(opts.threads) as threads:  # the limit the engine runs under
            if opts.recipe is not None:
                outcome = targets.Outcome(opts.recipe.run(src.pixels))
            elif opts.max_de is None:
                outcome = targets.Outcome(
                    quantize(src.pixels, opts.k, engine=opts.engine, **settings)
                )
            else:
                outcome = targets.quantize_to_target(src.pixels, opts.k, opts.max_de, **settings)
        result = outcome.result
        t2 = time.perf_counter()
        done = JobResult(
            job, bytes_in=src.file_size, n_colors=result.n_colors, k=result.k,
            delta_e=outcome.delta_e, threads=threads,
        )  # fmt: skip
        if opts.measure and done.delta_e is None:
            delta_e = mean_delta_e2000(src.pixels, result.image, max_pixels=DELTA_E_SAMPLE)
            done = replace(done, delta_e=delta_e)
        if outcome.skipped is not None:
            return replace(done, skipped=outcome.skipped, notes=(outcome.message,))
        if opts.skip_if_larger:
            data, saved_notes = targets.encode_in_memory(
                result, job.output, src, strip_metadata=opts.strip_metadata, optimize=opts.optimize
            )
            if src.file_size and len(data) >= src.file_size:
                message = targets.larger_message(len(data), src.file_size)
                return replace(done, skipped="larger", notes=(message,))
            size = write_atomically(
                job.output, lambda f: f.write(data), overwrite=opts.force, protect=src.path
            )
        else:
            saved = save_quantized(
                result,
                job.output,
                source=src,
                overwrite=opts.force,
                strip_metadata=opts.strip_metadata,
                optimize=opts.optimize,
            )
            size, saved_notes = saved.size, saved.notes
        if job.palette is not None:
            write_palette(result, job.palette, source_name=job.input.name, overwrite=opts.force)
        log.debug(
            "%s: %dx%d px loaded in %.2f s, %d colours in %.2f s, %d bytes saved in %.2f s",
            job.input,
            src.pixels.shape[1],
            src.pixels.shape[0],
            t1 - t0,
            result.n_colors,
            t2 - t1,
            size,
            time.perf_counter() - t2,
        )
        notes = list(src.notes) + [n for n in saved_notes if n != JPEG_NOTE]
        if result.exhausted and result.n_colors < result.k:
            notes.append(result.summary())
        return replace(done, bytes_out=size, notes=tuple(notes))
    except ImageIOError as exc:
        return JobResult(job, error=str(exc))
    except (ValueError, OSError) as exc:
        return JobResult(job, error=f"{job.input}: {exc}")
    except MemoryError:
        return JobResult(job, error=f"{job.input}: not enough memory for this image")
    except Exception as exc:  # not the input's fault: a bug of ours, told as one
        return internal_error(job, exc)


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; False when the system refuses the name (too long): the
    writer then reports that, naming the file."""
    try:
        return path.exists()
    except OSError:
        return False


def internal_error(job: Job, exc: BaseException) -> JobResult:
    """The result of a job that failed through a bug in kquant, traceback kept for ``--debug``."""
    log.debug("%s: internal error", job.input, exc_info=exc)
    return JobResult(
        job,
        error=f"{job.input}: internal error ({type(exc).__name__}: {exc})",
        bug="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )


def _preload_for_workers() -> None:
    """Load in the parent what every job otherwise loads on first use in each worker.

    numpy's random generators (the k-means++ start imports them) and threadpoolctl with its
    controller (the engine's single-threaded BLAS): about 17 ms of CPU that each forked worker
    would spend again; the parent pays it once, as a run without workers does in its first job.
    """
    import numpy.random  # noqa: F401

    with single_threaded_blas():  # imports threadpoolctl and caches its controller
        pass


def _init_worker(log_level: int) -> None:
    """Start a worker process with the command's logging."""
    configure_worker(log_level)


class Progress:
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
    jobs: list[Job], opts: Options, n_workers: int, progress: Progress
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
            for i, job in enumerate(jobs):
                slots[i] = run_job(job, opts)
                progress.step()
            return [r for r in slots if r is not None]
        # The workers share the cores: each runs the engine on one thread, so that N processes
        # use N cores without their engine threads competing for them.
        opts = replace(opts, threads=1)
        _preload_for_workers()
        with WorkerPool(
            functools.partial(run_job, opts=opts),
            min(n_workers, len(jobs)),
            initializer=functools.partial(
                _init_worker, logging.getLogger("kquant_gui").getEffectiveLevel()
            ),
            on_lost=_discard_temp_files,
        ) as pool:
            # The largest files first: the last ones to start are then small, and the workers
            # finish together instead of one running a large file alone at the end.
            order = _largest_first(jobs)
            for j, outcome in pool.run([jobs[i] for i in order]):
                i = order[j]
                if isinstance(outcome, WorkerLost):
                    outcome = _left_on_disk(jobs[i], before[i], outcome.reason)
                elif isinstance(outcome, TaskError):  # run_job catches the rest: a bug
                    outcome = JobResult(
                        jobs[i],
                        error=f"{jobs[i].input}: internal error ({outcome.message})",
                        bug=outcome.traceback,
                    )
                # The plan's own job, not the copy that came back through the pipe: one set of
                # paths per file in memory.
                slots[i] = replace(outcome, job=jobs[i])
                progress.step()
    except (Interrupted, KeyboardInterrupt) as exc:
        # KeyboardInterrupt: a Ctrl-C that came before our handler, or raised by a library.
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        results = [
            r if r is not None else _left_on_disk(job, was, None)
            for r, job, was in zip(slots, jobs, before, strict=True)
        ]
        raise BatchInterrupted(signum, results) from None
    return [r for r in slots if r is not None]


def _largest_first(jobs: Sequence[Job]) -> list[int]:
    """Indices of ``jobs`` by input size, largest first (the plan's order among equals)."""
    sizes = []
    for job in jobs:
        try:
            sizes.append(job.input.stat().st_size)
        except OSError:  # the job itself will say why
            sizes.append(0)
    return sorted(range(len(jobs)), key=lambda i: -sizes[i])


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

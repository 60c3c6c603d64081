"""``--report FILE.json``: one record per input, and the totals the summary line prints.

The report and the summary line are made from the same :class:`Totals`, so what the line says
is the sum of the records. The file is written atomically (a reader never sees half a report);
``-`` prints it on stdout, which then carries nothing else.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .._version import __version__
from ..image_io import write_atomically
from .args import UsageError
from .jobs import Job, JobResult, Options

#: Format of the report, raised when a field changes meaning or goes away.
REPORT_VERSION = 1


@dataclass(frozen=True)
class Totals:
    """What a batch did, summed over its results."""

    written: int
    failed: int
    skipped: int
    bytes_in: int
    bytes_out: int
    seconds: float
    mean_delta_e: float | None

    @classmethod
    def of(cls, results: Sequence[JobResult], elapsed: float) -> Totals:
        """Sum ``results``; ``elapsed`` is the wall time of the whole batch."""
        done = [r for r in results if r.error is None and r.skipped is None]
        measured = [r.delta_e for r in done if r.delta_e is not None]
        return cls(
            written=len(done),
            failed=sum(r.error is not None for r in results),
            skipped=sum(r.skipped is not None for r in results),
            bytes_in=sum(r.bytes_in for r in done),
            bytes_out=sum(r.bytes_out for r in done),
            seconds=elapsed,
            mean_delta_e=sum(measured) / len(measured) if measured else None,
        )


def _name(path: Path | None) -> str | None:
    return None if path is None else str(path)


def record(result: JobResult, opts: Options) -> dict[str, Any]:
    """The report's record of one input.

    Keys: ``input``, ``output``, ``palette`` (paths or null), ``status`` ("written",
    "skipped" by --max-de or --skip-if-larger, or "failed"), ``reason`` (null when written),
    ``k`` (the k used), ``colors`` (palette entries), ``mean_delta_e2000`` (of the output
    against the input, estimated from up to 100,000 pixels), ``bytes_in``, ``bytes_out`` and
    ``seconds`` (the file's own time where it ran).
    """
    ok = result.error is None and result.skipped is None
    if result.error is not None:
        status, reason = "failed", result.error
    elif result.skipped is not None:  # --max-de or --skip-if-larger left it out, on purpose
        status, reason = "skipped", "; ".join(result.notes) or result.skipped
    else:
        status, reason = "written", None
    return {
        "input": _name(result.job.input),
        "output": _name(result.job.output) if ok else None,
        "palette": _name(result.job.palette) if ok else None,
        "status": status,
        "reason": reason,
        "k": result.k or opts.k,
        "colors": result.n_colors if result.error is None else None,
        "mean_delta_e2000": None if result.delta_e is None else round(result.delta_e, 4),
        "bytes_in": result.bytes_in if ok else None,
        "bytes_out": result.bytes_out if ok else None,
        "seconds": round(result.seconds, 4),
    }


def build(results: Sequence[JobResult], opts: Options, elapsed: float) -> dict[str, Any]:
    """The whole report: settings, totals and the records, in the order of the inputs."""
    totals = Totals.of(results, elapsed)
    return {
        "report_version": REPORT_VERSION,
        "kquant": __version__,
        "settings": {
            "k": opts.k,
            "color_space": opts.color_space,
            "dither": opts.dither,
            "dither_strength": opts.dither_strength,
            "seed": opts.seed,
        },
        "totals": {
            "files": len(results),
            "written": totals.written,
            "failed": totals.failed,
            "skipped": totals.skipped,
            "bytes_in": totals.bytes_in,
            "bytes_out": totals.bytes_out,
            "mean_delta_e2000": (
                None if totals.mean_delta_e is None else round(totals.mean_delta_e, 4)
            ),
            "seconds": round(totals.seconds, 3),
        },
        "files": [record(r, opts) for r in results],
    }


def check_target(target: str | None, jobs: Sequence[Job], *, to_stdout: bool) -> None:
    """Raise :class:`UsageError` when the report could not be written where asked, before
    any file is processed rather than after."""
    if target is None:
        return
    if target == "-":
        if to_stdout:
            raise UsageError(
                "--report - and the image (-o -, or input - without -o) would both go to "
                "stdout; name a report file"
            )
        return
    path = Path(target)
    if path.is_dir():
        raise UsageError(f"--report {target} is a folder; give a file name")
    if not path.parent.is_dir():
        raise UsageError(f"--report {target}: the folder {path.parent} does not exist")
    if any(_same_file(path, job.input) for job in jobs):
        raise UsageError(f"--report {target} is one of the inputs")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def write(target: str, report: dict[str, Any], stdout: TextIO | None = None) -> None:
    """Write ``report`` as JSON to the file ``target``, or to stdout for ``-``.

    Raises
    ------
    ImageSaveError
        The file cannot be written (nothing is left behind).
    """
    # ASCII escapes keep the file valid UTF-8 even for a file name that is not.
    text = json.dumps(report, indent=1) + "\n"
    if target == "-":
        out = stdout or sys.stdout
        out.write(text)
        out.flush()
        return
    write_atomically(target, lambda f: f.write(text.encode("ascii")), overwrite=True)

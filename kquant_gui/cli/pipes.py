"""``-`` for stdin and ``-o -`` for stdout: one image through a pipe, as pngquant does.

The image read from stdin goes to a private temporary folder, and the image for stdout is
saved there first and copied out only once it was written in full, so the job itself runs as
on files and gives the same bytes; a failed job writes nothing to stdout. Messages name the
streams ``<stdin>`` and ``<stdout>``, never the temporary files.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .args import FORMAT_EXT, UsageError
from .jobs import Job, JobResult

STDIN_LABEL, STDOUT_LABEL = "<stdin>", "<stdout>"


class Pipes:
    """The temporary stand-ins for stdin and stdout of one command, and their labels."""

    def __init__(self) -> None:
        self.stdin: Path | None = None
        self.stdout: Path | None = None

    def _label(self, path: Path) -> Path:
        if path == self.stdin:
            return Path(STDIN_LABEL)
        if path == self.stdout:
            return Path(STDOUT_LABEL)
        return path

    def _text(self, text: str) -> str:
        for path, label in ((self.stdin, STDIN_LABEL), (self.stdout, STDOUT_LABEL)):
            if path is not None:
                text = text.replace(str(path), label)
        return text

    def relabel(self, result: JobResult) -> JobResult:
        """``result`` with the temporary files named as the streams they stand for."""
        if self.stdin is None and self.stdout is None:
            return result
        job = Job(
            self._label(result.job.input), self._label(result.job.output), result.job.palette
        )
        return dataclasses.replace(
            result,
            job=job,
            error=None if result.error is None else self._text(result.error),
            notes=tuple(self._text(n) for n in result.notes),
        )

    def deliver(self, results: list[JobResult], stream: BinaryIO | None = None) -> None:
        """Copy the image written for stdout to ``stream`` (default: stdout's bytes)."""
        if self.stdout is None or not self.stdout.exists():
            return
        if any(r.job.output == self.stdout and r.error is not None for r in results):
            return
        if stream is None:
            sys.stdout.flush()
            stream = sys.stdout.buffer
        with self.stdout.open("rb") as f:
            shutil.copyfileobj(f, stream)
        stream.flush()


def _read_stdin(target: Path) -> None:
    source = sys.stdin.buffer
    with target.open("wb") as f:
        shutil.copyfileobj(source, f)


@contextmanager
def open_pipes(args: argparse.Namespace) -> Iterator[Pipes]:
    """Replace ``-`` among ``args.inputs`` and as ``args.output`` by temporary files.

    An input ``-`` without ``-o`` or ``--out-dir`` is written to stdout, as pngquant does.

    Raises
    ------
    UsageError
        ``-`` given twice, with other inputs where it must be alone, a terminal on the side
        of a pipe, or a combination that cannot work with streams.
    """
    reads = args.inputs.count("-")
    writes = args.output is not None and str(args.output) == "-"
    if reads > 1:
        raise UsageError("'-' (stdin) can be given only once")
    if reads and args.output is None and args.out_dir is None:
        writes = True
        args.output = Path("-")
    if not reads and not writes:
        yield Pipes()
        return
    if reads and sys.stdin.isatty():
        raise UsageError("'-' reads an image from stdin, but stdin is a terminal")
    if writes:
        if sys.stdout.isatty():
            raise UsageError("-o - writes binary image data: redirect stdout to a file or a pipe")
        if args.palette is not None and not Path(args.palette).suffix:
            raise UsageError("with -o -, --palette needs a file name, not just a format")
    if getattr(args, "cluster", None):
        raise UsageError("'-' (stdin or stdout) cannot go to a cluster; give files")
    with tempfile.TemporaryDirectory(prefix="kquant-") as name:
        folder, pipes = Path(name), Pipes()
        if reads:
            pipes.stdin = folder / "stdin"
            _read_stdin(pipes.stdin)
            args.inputs = [str(pipes.stdin) if t == "-" else t for t in args.inputs]
        if writes:
            pipes.stdout = folder / f"stdout{FORMAT_EXT[args.format or 'png']}"
            args.output = pipes.stdout
        yield pipes

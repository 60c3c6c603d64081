"""Real ``kquant`` processes for the signal, race and dead-worker tests (Linux only).

A batch runs in a session of its own, so a signal sent to its process group reaches the parent
and its workers, as Ctrl-C in a terminal does, and never pytest. Its stderr is a pseudo
terminal: the progress bar then shows, and reading it up to ``k/N files`` tells the test, with
no sleep, that k files are finished and the rest are being worked on.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from _corpus import encode, small_photo

#: The installed command, as a user runs it.
KQUANT = str(Path(sys.executable).with_name("kquant"))
#: Failure guard for anything a test waits on; the waits return as soon as the event happens.
GUARD_S = 120.0


def batch_inputs(folder: Path, n: int, size: tuple[int, int] = (800, 600)) -> list[Path]:
    """``n`` photo-like PNGs, each a fraction of a second of work at k=64."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"in{i:02d}.png"
        path.write_bytes(encode(small_photo(i, size), "PNG", compress_level=1))
        paths.append(path)
    return paths


class Batch:
    """A running ``kquant`` with its stderr on a pseudo terminal.

    Parameters
    ----------
    args : iterable
        Arguments after ``kquant``.
    """

    def __init__(self, args: Iterable[object]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [
                KQUANT,
                *(
                    a
                    if isinstance(a, (str, bytes))
                    else os.fspath(a)
                    if isinstance(a, os.PathLike)
                    else str(a)
                    for a in args
                ),
            ],
            stdout=subprocess.PIPE,
            stderr=slave,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(slave)
        self.err = b""
        self.returncode: int | None = None
        self.out = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for_text(self, text: bytes) -> None:
        """Read stderr until ``text`` shows (fails the test if the run ends first)."""
        deadline = time.monotonic() + GUARD_S
        while text not in self.err:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} on stderr in {GUARD_S} s: {self.err!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                chunk = self._read()
                assert chunk, f"kquant ended before printing {text!r}: {self.err!r}"

    def wait_for_files_done(self, k: int, total: int) -> None:
        """Block until the progress bar says ``k`` of ``total`` files are finished."""
        self.wait_for_text(f"] {k}/{total} files".encode())

    def _read(self) -> bytes:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every writer of the terminal has closed it
            chunk = b""
        self.err += chunk
        return chunk

    def finish(self) -> int:
        """Wait for the exit (guarded), collect stdout and stderr; returns the exit status."""
        out, _ = self.proc.communicate(timeout=GUARD_S)
        self.out = out
        while self._read():
            pass
        os.close(self.master)
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self) -> None:
        """Failure cleanup: the whole group, whatever state it is in."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The second field is the command in parentheses and may hold spaces or ')'.
        fields = stat[stat.rindex(b")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def busy_workers(batch: Batch, n: int) -> list[int]:
    """The ``n`` worker processes of ``batch``; call once the batch has started working."""
    pids = children(batch.pid)
    assert len(pids) == n, f"expected {n} workers of {batch.pid}, found {pids}"
    return pids


def open_pidfds(pids: Iterable[int]) -> dict[int, int]:
    """A pidfd per process: readable once that process has ended (whoever its parent is)."""
    return {pid: os.pidfd_open(pid) for pid in pids}


def wait_all_ended(pidfds: dict[int, int]) -> list[int]:
    """Wait (guarded) until every process has ended; returns those still alive at the guard."""
    left = dict(pidfds)
    deadline = time.monotonic() + GUARD_S
    while left:
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            break
        ready, _, _ = select.select(list(left.values()), [], [], timeout)
        for pid, fd in list(left.items()):
            if fd in ready:
                del left[pid]
    for fd in pidfds.values():
        os.close(fd)
    alive = list(left)
    for pid in alive:  # never leave a stray process behind a failing test
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return alive


def temp_files(folder: Path) -> list[Path]:
    """Temporary files of the atomic writer left in ``folder``."""
    return sorted(p for p in folder.iterdir() if p.name.endswith(".part"))

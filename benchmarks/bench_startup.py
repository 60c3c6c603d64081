"""The start-up bench: ``kquant`` on one small photo against ``pngquant``, as whole processes.

For one small file, what a user waits for is mostly start-up: the interpreter, the imports,
then a few tens of milliseconds of work. Each command runs as a fresh process, the commands
alternate (so a burst of load on a shared machine hits all of them alike) and the median of N
rounds is kept. Targets (issue 13): ``kquant photo.png -k 16`` on a 0.25 MP PNG in at most
2.5x ``pngquant``'s wall time, and ``kquant --help`` in under 0.2 s.

Run alone with ``python -m benchmarks.bench_startup [--quick] [--repeat N]``; ``make bench``
runs it as the "startup" section.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import images

#: Width of the crop of ``china.jpg`` used as the small photo: 590 x 427 = 0.25 MP.
PHOTO_WIDTH = 590
K = 16
MAX_RATIO = 2.5
MAX_HELP_SECONDS = 0.2


@dataclass(frozen=True)
class Command:
    """One row: a label and the argument vector run as a process."""

    label: str
    argv: tuple[str, ...]


def kquant_command() -> list[str]:
    """How to start ``kquant`` with this interpreter: its console script when installed
    beside it (what a user runs), else ``python -m kquant_gui``."""
    script = Path(sys.executable).with_name("kquant")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kquant_gui"]


def small_photo(folder: Path) -> Path:
    """Write the 0.25 MP test photo (a crop of ``china.jpg``) as a PNG in ``folder``."""
    path = folder / "photo.png"
    pixels = np.ascontiguousarray(images.china()[:, :PHOTO_WIDTH])
    Image.fromarray(pixels).save(path)
    return path


def commands(photo: Path, work: Path) -> list[Command]:
    """The rows of the table, in the order each round runs them."""
    out_ours, out_theirs = work / "kquant.png", work / "pngquant.png"
    kquant = kquant_command()
    return [
        Command("python -c pass (interpreter alone)", (sys.executable, "-c", "pass")),
        Command(
            f"kquant photo.png -k {K}",
            (*kquant, str(photo), "-k", str(K), "-o", str(out_ours), "--force", "--quiet"),
        ),
        Command(
            f"pngquant --nofs {K} photo.png",
            ("pngquant", "--nofs", "--force", "--output", str(out_theirs), str(K), str(photo)),
        ),
        Command("kquant --help", (*kquant, "--help")),
    ]


def run(cmds: Sequence[Command], rounds: int) -> dict[str, list[float]]:
    """Wall time of every command in each of ``rounds`` rounds, the commands alternating.

    Returns
    -------
    dict
        Label to the list of times in seconds, one per round.
    """
    times: dict[str, list[float]] = {c.label: [] for c in cmds}
    # As on a user's machine, compiled modules are cached: a shell that sets
    # PYTHONDONTWRITEBYTECODE would otherwise make every run compile the package again
    # (about 70 ms here), which no installed copy ever does. One untimed round writes them.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for c in cmds:
        subprocess.run(c.argv, capture_output=True, text=True, check=False, env=env)
    for _ in range(rounds):
        for c in cmds:
            t0 = time.perf_counter()
            proc = subprocess.run(c.argv, capture_output=True, text=True, check=False, env=env)
            times[c.label].append(time.perf_counter() - t0)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"{' '.join(c.argv)} exited with {proc.returncode}: {proc.stderr}"
                )
    return times


def render(times: dict[str, list[float]], rounds: int, pixels: int) -> str:
    """Markdown: median and spread per command, then the two targets."""
    med = {label: statistics.median(t) for label, t in times.items()}
    ours, theirs, help_ = (
        med[f"kquant photo.png -k {K}"],
        med[f"pngquant --nofs {K} photo.png"],
        med["kquant --help"],
    )
    lines = [
        "### Start-up: one small photo, whole processes",
        "",
        f"A {pixels / 1e6:.2f} MP PNG (a crop of `china.jpg`); every command a fresh process, "
        f"the commands alternating, median of {rounds} round(s) with the fastest and slowest.",
        "",
        "| command | median | fastest | slowest | × pngquant |",
        "|---|---|---|---|---|",
    ]
    for label, t in times.items():
        lines.append(
            f"| `{label}` | {med[label] * 1e3:.0f} ms | {min(t) * 1e3:.0f} ms "
            f"| {max(t) * 1e3:.0f} ms | {med[label] / theirs:.2f} |"
        )
    ratio = ours / theirs
    lines += [
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| `kquant` k={K} ≤ {MAX_RATIO}× pngquant | {ours * 1e3:.0f} ms = {ratio:.2f}× "
        f"({theirs * 1e3:.0f} ms) | {'met' if ratio <= MAX_RATIO else 'missed'} |",
        f"| `kquant --help` < {MAX_HELP_SECONDS * 1e3:.0f} ms | {help_ * 1e3:.0f} ms "
        f"| {'met' if help_ < MAX_HELP_SECONDS else 'missed'} |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print its Markdown; 0 on success, 1 if pngquant is missing."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_startup", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="three rounds")
    ap.add_argument("--repeat", type=int, default=None, help="rounds (default 15, quick 3)")
    args = ap.parse_args(argv)
    rounds = max(1, args.repeat or (3 if args.quick else 15))
    if shutil.which("pngquant") is None:
        print("### Start-up: one small photo\n\n_pngquant is not installed: skipped._\n")
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        photo = small_photo(work)
        times = run(commands(photo, work), rounds)
    print(render(times, rounds, images.china().shape[0] * PHOTO_WIDTH), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

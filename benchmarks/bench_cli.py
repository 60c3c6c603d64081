"""The command-line bench: ``kquant`` end to end against ``pngquant --nofs`` on the same PNG.

Both are run as commands, so each time covers start-up, decoding, quantizing and encoding.
Target (issue 3): at k = 16, 64 and 256, kquant is faster than pngquant, with a lower mean
CIEDE2000 against the original and an output no more than 5% larger.

Run alone with ``python -m benchmarks.bench_cli [--quick] [--repeat N]``; ``make bench`` runs
it as the "cli" section.
"""

from __future__ import annotations

import argparse
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

from kquant_gui.engine.metrics import mean_delta_e2000

from . import images

KS = (16, 64, 256)
MAX_SIZE_RATIO = 1.05
#: Pixels sampled for the mean CIEDE2000 (the full 24 MP would take minutes).
DE_PIXELS = 2_000_000


@dataclass
class Row:
    """One tool at one k."""

    tool: str
    k: int
    seconds: float
    size: int
    delta_e: float


def _timed(cmd: list[str], repeat: int) -> float:
    """Median wall time of ``cmd`` over ``repeat`` runs; raises if it fails."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}: {proc.stderr}")
    return statistics.median(times)


def _delta_e(original: np.ndarray, path: Path) -> float:
    with Image.open(path) as im:
        out = np.asarray(im.convert("RGB"))
    return float(mean_delta_e2000(original, out, max_pixels=DE_PIXELS))


def run(png: Path, original: np.ndarray, ks: Sequence[int], repeat: int, work: Path) -> list[Row]:
    """Time both tools at every k on ``png`` and measure their outputs.

    Parameters
    ----------
    png : Path
        The input PNG.
    original : ndarray of uint8, shape (H, W, 3)
        Its pixels, for the colour difference.
    ks : sequence of int
    repeat : int
        Runs per case; the median time is kept.
    work : Path
        Folder for the outputs.

    Returns
    -------
    list of Row
    """
    rows = []
    for k in ks:
        ours = work / f"kquant-k{k}.png"
        cmd = [sys.executable, "-m", "kquant_gui", str(png), "-k", str(k), "-o", str(ours)]
        t = _timed([*cmd, "--force", "--quiet", "--jobs", "1"], repeat)
        rows.append(Row("kquant", k, t, ours.stat().st_size, _delta_e(original, ours)))
        theirs = work / f"pngquant-k{k}.png"
        cmd = ["pngquant", "--nofs", "--force", "--output", str(theirs), str(k), str(png)]
        t = _timed(cmd, repeat)
        rows.append(Row("pngquant", k, t, theirs.stat().st_size, _delta_e(original, theirs)))
    return rows


def render(rows: list[Row], title: str, pixels: int, repeat: int = 1) -> str:
    """Markdown: one line per k with both tools side by side, and whether the target holds."""
    by = {(r.tool, r.k): r for r in rows}
    ks = sorted({r.k for r in rows})
    lines = [
        f"## {title}",
        "",
        f"End to end on one {pixels / 1e6:.1f} MP PNG (start-up, decode, quantize, encode), "
        f"no dithering, median of {repeat} run(s) per case; mean CIEDE2000 on "
        f"{DE_PIXELS:,} sampled pixels. Target: kquant faster, lower ΔE, file at most "
        f"{MAX_SIZE_RATIO - 1:.0%} larger.",
        "",
        "| k | kquant s | pngquant s | kquant size | pngquant size | size ratio "
        "| kquant ΔE2000 | pngquant ΔE2000 | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k in ks:
        a, b = by[("kquant", k)], by[("pngquant", k)]
        ratio = a.size / b.size
        misses = [
            name
            for name, ok in (
                ("slower", a.seconds < b.seconds),
                ("ΔE", a.delta_e < b.delta_e),
                ("size", ratio <= MAX_SIZE_RATIO),
            )
            if not ok
        ]
        verdict = "met" if not misses else "missed: " + ", ".join(misses)
        lines.append(
            f"| {k} | {a.seconds:.2f} | {b.seconds:.2f} | {a.size / 1e6:.2f} MB "
            f"| {b.size / 1e6:.2f} MB | {ratio:.3f} | {a.delta_e:.2f} | {b.delta_e:.2f} "
            f"| {verdict} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print its Markdown table; 0 on success, 1 if a tool is missing."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_cli", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="0.24 MP stand-in image, one run")
    ap.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs per case, median kept (default 3: one run on a shared machine can be off "
        "by half; quick 1)",
    )
    args = ap.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if shutil.which("pngquant") is None:
        print("## Command line vs pngquant\n\n_pngquant is not installed: skipped._\n")
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        work = Path(tmp)
        if args.quick:
            original = images.quick_large()
            png = work / "quick-large.png"
            Image.fromarray(original).save(png, compress_level=1)
            title = "Command line vs pngquant — quick stand-in, indicative only"
        else:
            png = images.path_24mp_png()
            original = images.make_24mp()
            title = "Command line vs pngquant — 24 MP photo"
        rows = run(png, original, KS, max(1, args.repeat), work)
    print(render(rows, title, original.shape[0] * original.shape[1], args.repeat), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

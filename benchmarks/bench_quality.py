"""The quality bench: mean CIEDE2000 per image class against every peer, at k = 4/16/64/256.

The engine bench holds two photos; this one holds the kinds it does not (see
:mod:`image_classes`): a dark low-contrast photo, a star field, a flat-colour logo, a
screenshot, pixel art and a scanned page. Every method runs once per case (quality is the
point; times are one call, indicative only). scikit-learn's ``KMeans`` on every pixel is run
only where it finishes in reasonable time (pixels x k up to ``ORIGINAL_BUDGET``); the table
says where it was left out.

Run alone with ``python -m benchmarks.bench_quality [--quick] [--only CLASS] [--k K]``;
``make bench`` runs it as the "quality" section.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .image_classes import CLASSES, load_class
from .measure import quality, warm_up
from .peers import PEERS

KS = (4, 16, 64, 256)
#: Peers in the tables, then ours.
ROWS = ("original", "gallery", "pillow", "imagequant", "pngquant", "ours")
#: The all-pixel KMeans runs only up to this many pixels x k (2.2 MP at k=16 took ~40 s).
ORIGINAL_BUDGET = 40_000_000


@dataclass
class Case:
    """One method on one image at one k."""

    image: str
    method: str
    k: int
    delta_e: float = math.nan
    seconds: float = math.nan
    note: str = ""


def _quick(pixels: np.ndarray) -> np.ndarray:
    """A quarter-size stand-in (nearest neighbour, so pixel art and text stay crisp)."""
    h, w = pixels.shape[:2]
    img = Image.fromarray(np.asarray(pixels)).resize((w // 2, h // 2), Image.Resampling.NEAREST)
    return np.asarray(img)


def run(
    names: Sequence[str], ks: Sequence[int], rows: Sequence[str], quick: bool, log
) -> tuple[list[Case], dict[str, tuple[int, int, int]]]:
    """Measure every (image, k, method); returns the cases and each image's (h, w, colours)."""
    from .images import count_colors

    warm_up([r for r in rows if r != "original"])
    cases: list[Case] = []
    facts = {}
    for name in names:
        pixels = load_class(name)
        if quick:
            pixels = _quick(pixels)
        pixels = np.ascontiguousarray(pixels)
        h, w = pixels.shape[:2]
        facts[name] = (h, w, count_colors(pixels))
        for k in ks:
            for method in rows:
                case = Case(name, method, k)
                cases.append(case)
                if method == "original" and h * w * k > ORIGINAL_BUDGET:
                    case.note = "too slow"
                    continue
                if method == "pngquant" and shutil.which("pngquant") is None:
                    case.note = "not installed"
                    continue
                t0 = time.perf_counter()
                try:
                    out = PEERS[method].run(pixels, k)
                except Exception as exc:  # a peer failing is a row entry, not the end
                    case.note = f"failed: {type(exc).__name__}"
                    continue
                case.seconds = time.perf_counter() - t0
                case.delta_e = quality(pixels, out)[0]
                log(f"{name} k={k} {method}: dE {case.delta_e:.3f} in {case.seconds:.2f} s")
    return cases, facts


def render(cases: list[Case], facts: dict[str, tuple[int, int, int]], quick: bool) -> str:
    """Markdown: a table per class (ΔE per k, ours in bold), then a summary of the wins."""
    by = {(c.image, c.method, c.k): c for c in cases}
    ks = sorted({c.k for c in cases})
    rows = list(dict.fromkeys(c.method for c in cases))
    lines = [
        "### Quality per image class" + (" (quick: half-size stand-ins)" if quick else ""),
        "",
        "Mean CIEDE2000 against the original (lower is better), no dithering, one call per "
        "case; images built in code by `benchmarks/image_classes.py`. "
        "Best of each column in bold.",
        "",
    ]
    summary = []
    for name, (h, w, colours) in facts.items():
        lines += [
            f"#### {name} ({w}x{h}, {h * w / 1e6:.2f} MP, {colours:,} colours)",
            "",
            "| method | " + " | ".join(f"ΔE k={k}" for k in ks) + " | time k=16 |",
            "|---|" + "---|" * (len(ks) + 1),
        ]
        best = {
            k: min(
                (
                    by[(name, m, k)].delta_e
                    for m in rows
                    if not math.isnan(by[(name, m, k)].delta_e)
                ),
                default=math.nan,
            )
            for k in ks
        }
        for m in rows:
            cells = []
            for k in ks:
                c = by[(name, m, k)]
                if math.isnan(c.delta_e):
                    cells.append(c.note or "—")
                else:
                    txt = f"{c.delta_e:.3f}"
                    cells.append(f"**{txt}**" if c.delta_e <= best[k] else txt)
            t16 = by.get((name, m, 16))
            t = f"{t16.seconds:.2f} s" if t16 and not math.isnan(t16.seconds) else "—"
            lines.append(f"| {PEERS[m].label} | " + " | ".join(cells) + f" | {t} |")
        lines.append("")
        for k in ks:
            ours = by[(name, "ours", k)].delta_e
            rivals = [
                (by[(name, m, k)].delta_e, m)
                for m in rows
                if m != "ours" and not math.isnan(by[(name, m, k)].delta_e)
            ]
            if not rivals or math.isnan(ours):
                continue
            their, who = min(rivals)
            summary.append((name, k, ours, their, who))
    wins = sum(1 for *_, o, t, _w in summary if o <= t)
    lines += [
        f"Lowest mean ΔE of every peer run in {wins} of {len(summary)} (class, k) cases.",
        "",
        "| class | k | kquant-gui | best peer | margin |",
        "|---|---|---|---|---|",
    ]
    for name, k, ours, their, who in summary:
        peer = f"{their:.3f} ({PEERS[who].label})"
        lines.append(f"| {name} | {k} | {ours:.3f} | {peer} | {ours - their:+.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print its Markdown."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_quality", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="half-size images")
    ap.add_argument("--repeat", type=int, default=None, help="ignored (one call per case)")
    ap.add_argument("--only", action="append", choices=list(CLASSES), help="image class")
    ap.add_argument("--k", type=int, action="append", help="palette size (default 4/16/64/256)")
    ap.add_argument("--rows", default=",".join(ROWS), help="methods, comma-separated")
    args = ap.parse_args(argv)
    rows = [r for r in args.rows.split(",") if r]
    unknown = [r for r in rows if r not in PEERS]
    if unknown:
        ap.error(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(PEERS)}")
    cases, facts = run(
        args.only or list(CLASSES),
        args.k or KS,
        rows,
        args.quick,
        lambda s: print(s, file=sys.stderr, flush=True),
    )
    print(render(cases, facts, args.quick), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

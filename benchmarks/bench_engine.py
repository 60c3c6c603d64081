"""The engine bench: kquant-gui against its peers on china, flower and the 24 MP image.

Small images are measured in this process (median of ``repeat`` warm calls); every 24 MP case
runs in a fresh process so its peak memory can be read (see `measure`). The result is Markdown:
one table per small image, one for 24 MP at k=16, and one checking the targets of issue 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import images
from .measure import COPY_REPEAT, Result, copy_time, cpu_info, measure, measure_isolated, warm_up
from .peers import LARGE_ROWS, PEERS, RIVALS, SMALL_ROWS

KS = (4, 16, 64, 256)
LARGE_K = 16
# The targets of issue 2, in one place so the table and the checks agree.
MAX_COPY_RATIO = 30.0
MAX_PEAK_MB = 600.0
MAX_PSNR_GAP_DB = 0.2
MAX_LIVE_S = 0.060
LIVE_K_MAX = 64
MAX_DITHER_S = 1.5


@dataclass
class Plan:
    """What one run measures.

    Attributes
    ----------
    small : list of (str, str)
        (role, image name) pairs: the role ("china", "flower") names the table and the target,
        the image name is a key of `images.LOADERS` (a smaller stand-in under ``--quick``).
    ks : tuple of int
    small_rows : tuple of str
        Keys of `peers.PEERS` for the small-image tables.
    large : str or None
        Image name of the 24 MP case, or None to skip it.
    large_rows : tuple of str
    repeat : int
    quick : bool
        Sizes differ from the targets' conditions; the targets table says so.
    """

    small: list[tuple[str, str]]
    ks: tuple[int, ...] = KS
    small_rows: tuple[str, ...] = SMALL_ROWS
    large: str | None = "24mp"
    large_rows: tuple[str, ...] = LARGE_ROWS
    repeat: int = 3
    quick: bool = False


@dataclass
class Report:
    """Everything a run measured, and the facts needed to render it."""

    plan: Plan
    results: list[Result] = field(default_factory=list)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    colors: dict[str, int] = field(default_factory=dict)
    copy_s: float | None = None
    started: str = ""
    seconds: float = 0.0

    def get(self, image: str, method: str, k: int) -> Result | None:
        """The result of one case, if it was measured."""
        for r in self.results:
            if (r.image, r.method, r.k) == (image, method, k):
                return r
        return None


def default_plan(*, quick: bool = False, repeat: int | None = None) -> Plan:
    """The plan of ``python -m benchmarks``: full size, or small stand-ins with ``quick``."""
    if quick:
        return Plan(
            small=[("china", "quick-china"), ("flower", "quick-flower")],
            large="quick-large",
            repeat=1 if repeat is None else repeat,
            quick=True,
        )
    return Plan(small=[("china", "china"), ("flower", "flower")], repeat=repeat or 3)


def run(plan: Plan, log: Callable[[str], None] | None = None) -> Report:
    """Measure every case of ``plan``.

    Parameters
    ----------
    plan : Plan
    log : callable(str), optional
        Receives one progress line per case (default: stderr).

    Returns
    -------
    Report
    """
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    report = Report(plan, started=time.strftime("%Y-%m-%d %H:%M"))
    t0 = time.perf_counter()
    n_cases = len(plan.small) * len(plan.ks) * len(plan.small_rows)
    n_cases += len(plan.large_rows) if plan.large else 0
    done = 0

    def note(r: Result) -> None:
        nonlocal done
        done += 1
        what = r.error or f"{_fmt_time(r.seconds)}, dE {r.delta_e:.2f}, PSNR {r.psnr:.2f}"
        if r.peak_mb is not None and r.error is None:
            what += f", +{r.peak_mb:.0f} MB"
        log(f"[{done}/{n_cases}] {r.image} k={r.k} {r.method}: {what}")

    warm_up(plan.small_rows)
    for _role, name in plan.small:
        pixels = images.load(name)
        report.shapes[name] = pixels.shape
        report.colors[name] = images.count_colors(pixels)
        for method in plan.small_rows:
            for k in plan.ks:
                r = measure(pixels, name, method, k, plan.repeat)
                report.results.append(r)
                note(r)
    if plan.large:
        pixels = images.load(plan.large)  # builds the cache once, before the children read it
        report.shapes[plan.large] = pixels.shape
        report.colors[plan.large] = images.count_colors(pixels)
        report.copy_s = copy_time(pixels)
        del pixels
        for method in plan.large_rows:
            r = measure_isolated(plan.large, method, LARGE_K, plan.repeat)
            report.results.append(r)
            note(r)
    report.seconds = time.perf_counter() - t0
    return report


# ---------------------------------------------------------------- rendering


def _fmt_time(s: float) -> str:
    if not math.isfinite(s):
        return "—"
    if s < 0.001:
        return f"{s * 1e6:.0f} µs"
    if s < 0.01:
        return f"{s * 1e3:.1f} ms"
    if s < 1.0:
        return f"{s * 1e3:.0f} ms"
    return f"{s:.2f} s"


def _fmt(x: float | None, digits: int = 2) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _mp(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}, {shape[0] * shape[1] / 1e6:.2f} MP"


def small_table(report: Report, role: str, name: str) -> str:
    """Markdown table of one small image: ΔE2000, time and PSNR by method and k."""
    plan = report.plan
    ks = plan.ks
    best = {}
    for k in ks:
        vals = [
            r.delta_e
            for m in plan.small_rows
            if (r := report.get(name, m, k)) is not None and math.isfinite(r.delta_e)
        ]
        best[k] = min(vals) if vals else None
    header = ["method"]
    header += [f"ΔE k={k}" for k in ks] + [f"time k={k}" for k in ks] + [f"PSNR k={k}" for k in ks]
    rows = []
    for m in plan.small_rows:
        res = [report.get(name, m, k) for k in ks]
        de = []
        for k, r in zip(ks, res, strict=True):
            cell = "—" if r is None or r.error else _fmt(r.delta_e)
            if r is not None and best[k] is not None and r.delta_e == best[k]:
                cell = f"**{cell}**"
            de.append(cell)
        tm = ["—" if r is None or r.error else _fmt_time(r.seconds) for r in res]
        ps = ["—" if r is None or r.error else _fmt(r.psnr) for r in res]
        rows.append([PEERS[m].label, *de, *tm, *ps])
    shape = report.shapes.get(name, (0, 0))
    title = f"### {role} ({_mp(shape)}, {report.colors.get(name, 0):,} colours)"
    if name != role:
        title += f" — quick stand-in `{name}`"
    errors = [
        f"- {PEERS[r.method].label} k={r.k}: {r.error}"
        for r in report.results
        if r.image == name and r.error
    ]
    return "\n\n".join([title, _table(header, rows), *(["\n".join(errors)] if errors else [])])


def large_table(report: Report) -> str:
    """Markdown table of the 24 MP image at k=16: time, ratio to a copy, memory, quality."""
    name = report.plan.large
    assert name is not None
    copy_s = report.copy_s or float("nan")
    header = ["method", "time", "× copy", "peak extra memory", "ΔE2000", "PSNR", "runs"]
    rows = [
        ["`pixels.copy()` (reference)", _fmt_time(copy_s), "1", "—", "—", "—", str(COPY_REPEAT)]
    ]
    for m in report.plan.large_rows:
        r = report.get(name, m, LARGE_K)
        if r is None:
            continue
        if r.error:
            rows.append([PEERS[m].label, f"failed: {r.error}", "", "", "", "", ""])
            continue
        mem = "—" if r.peak_mb is None else f"{r.peak_mb:.0f} MB"
        rows.append(
            [
                PEERS[m].label,
                _fmt_time(r.seconds),
                f"{r.seconds / copy_s:.0f}",
                mem,
                _fmt(r.delta_e),
                _fmt(r.psnr),
                str(r.runs),
            ]
        )
    shape = report.shapes.get(name, (0, 0))
    title = f"### {'24 MP' if name == '24mp' else name} ({_mp(shape)}, "
    title += f"{report.colors.get(name, 0):,} colours), k={LARGE_K}"
    return title + "\n\n" + _table(header, rows)


def check_targets(report: Report) -> list[tuple[str, str, bool | None]]:
    """Each target of issue 2 with what was measured and whether it was met (None: not measured).

    Returns
    -------
    list of (target, measured, met)
    """
    plan = report.plan
    out: list[tuple[str, str, bool | None]] = []

    for role, name in plan.small:
        worst: tuple[float, str] | None = None
        missing = False
        for k in plan.ks:
            ours = report.get(name, "ours", k)
            rivals = [report.get(name, m, k) for m in RIVALS if m in plan.small_rows]
            rivals = [r for r in rivals if r is not None and not r.error]
            if ours is None or ours.error or not rivals:
                missing = True
                continue
            best = min(rivals, key=lambda r: r.delta_e)
            margin = ours.delta_e - best.delta_e
            text = f"k={k}: {ours.delta_e:.2f} vs {best.delta_e:.2f} ({PEERS[best.method].name})"
            if worst is None or margin > worst[0]:
                worst = (margin, text)
        target = f"ΔE2000 ≤ every peer at every k, {role}"
        if worst is None:
            out.append((target, "not measured", None))
        else:
            met = worst[0] <= 0 and not missing
            out.append((target, f"closest {worst[1]}, margin {worst[0]:+.2f}", met))

    for role, name in plan.small:
        gaps = []
        for k in plan.ks:
            o, a = report.get(name, "ours-rgb", k), report.get(name, "original", k)
            if o and a and not o.error and not a.error:
                gaps.append((a.psnr - o.psnr, k, o.psnr, a.psnr))
        target = f"rgb PSNR within {MAX_PSNR_GAP_DB} dB of the original recipe, {role}"
        if len(gaps) < len(plan.ks):
            out.append((target, "not measured", None))
        else:
            gap, k, o, a = max(gaps)
            text = f"worst k={k}: {o:.2f} vs {a:.2f} dB (gap {gap:+.2f})"
            out.append((target, text, gap <= MAX_PSNR_GAP_DB))

    china = dict(plan.small).get("china")
    live = [report.get(china, "ours", k) for k in plan.ks if k <= LIVE_K_MAX] if china else []
    target = f"0.3 MP (china) k ≤ {LIVE_K_MAX} in ≤ {MAX_LIVE_S * 1e3:.0f} ms"
    if not live or any(r is None or r.error for r in live):
        out.append((target, "not measured", None))
    else:
        slowest = max(live, key=lambda r: r.seconds)  # type: ignore[union-attr]
        text = f"slowest k={slowest.k}: {_fmt_time(slowest.seconds)}"  # type: ignore[union-attr]
        out.append((target, text, slowest.seconds <= MAX_LIVE_S))  # type: ignore[union-attr]

    big = plan.large
    ours = report.get(big, "ours", LARGE_K) if big else None
    ok = ours is not None and not ours.error
    target = f"24 MP k={LARGE_K} ≤ {MAX_COPY_RATIO:.0f}× `pixels.copy()`"
    if ok and report.copy_s:
        ratio = ours.seconds / report.copy_s  # type: ignore[union-attr]
        text = f"{_fmt_time(ours.seconds)} = {ratio:.0f}× copy ({_fmt_time(report.copy_s)})"  # type: ignore[union-attr]
        out.append((target, text, ratio <= MAX_COPY_RATIO))
    else:
        out.append((target, "not measured", None))
    target = f"24 MP k={LARGE_K} peak extra memory ≤ {MAX_PEAK_MB:.0f} MB"
    if ok and ours.peak_mb is not None:  # type: ignore[union-attr]
        out.append((target, f"{ours.peak_mb:.0f} MB", ours.peak_mb <= MAX_PEAK_MB))  # type: ignore[union-attr]
    else:
        out.append((target, "not measured", None))

    dith = [report.get(big, m, LARGE_K) for m in ("ours-fs", "ours-ordered")] if big else []
    dith = [r for r in dith if r is not None]
    target = f"dithered 24 MP k={LARGE_K} ≤ {MAX_DITHER_S} s (both kinds)"
    if not dith or any(r.error for r in dith):
        out.append((target, "not measured", None))
    else:
        text = ", ".join(
            f"{PEERS[r.method].name.removeprefix('ours-')} {_fmt_time(r.seconds)}" for r in dith
        )
        out.append((target, text, all(r.seconds <= MAX_DITHER_S for r in dith)))
    return out


def targets_table(report: Report) -> str:
    """Markdown table of `check_targets`."""
    verdict = {True: "met", False: "**not met**", None: "not measured"}
    rows = [[t, m, verdict[ok]] for t, m, ok in check_targets(report)]
    title = "### Targets (issue 2)"
    if report.plan.quick:
        title += " — quick run: smaller images than the targets assume, indicative only"
    return title + "\n\n" + _table(["target", "measured", "verdict"], rows)


def _engine_version() -> str:
    """Commit of the engine measured, flagged when the working tree differs from it."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "kquant_gui/engine"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown commit"
    if not head:
        return "unknown commit"
    return f"commit {head}" + (" + uncommitted engine changes" if dirty else "")


def render(report: Report) -> str:
    """The whole engine report as Markdown."""
    plan = report.plan
    import kquant_gui

    head = (
        f"## Engine benchmark ({report.started}, {cpu_info()}, kquant-gui "
        f"{kquant_gui.__version__} at {_engine_version()}, numpy {np.__version__})\n\n"
        f"Median of {plan.repeat} warm call(s) per case; mean CIEDE2000 against the original "
        "(lower is better), PSNR in dB over RGB (higher is better). The original recipe "
        "(scikit-learn `KMeans` on every pixel) is run once per case, and on the large image only "
        f"at k={LARGE_K}. No dithering unless the row says so."
    )
    parts = [head]
    parts += [small_table(report, role, name) for role, name in plan.small]
    if plan.large:
        parts.append(large_table(report))
        parts.append(
            "Each large-image case ran in a fresh process: peak extra memory is the peak resident "
            "set during the calls minus the resident set just before them (image loaded, "
            "libraries imported); ΔE2000 is estimated from "
            "2,000,000 seeded pixels; `× copy` is the time over `pixels.copy()` measured in the "
            "same run."
        )
    parts.append(targets_table(report))
    parts.append(f"_Engine bench took {report.seconds:.0f} s._")
    return "\n\n".join(parts) + "\n"


def save_json(report: Report, path: Path) -> None:
    """Raw results next to the Markdown, for anyone who wants other tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "started": report.started,
        "copy_s": report.copy_s,
        "shapes": report.shapes,
        "colors": report.colors,
        "results": [r.to_dict() for r in report.results],
        "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in check_targets(report)],
    }
    path.write_text(json.dumps(data, indent=1, default=float))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the engine bench alone and print its Markdown.

    Parameters
    ----------
    argv : sequence of str, optional
        ``--quick`` and ``--repeat N`` as in ``python -m benchmarks``.

    Returns
    -------
    int
        Exit status: 0.
    """
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_engine")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=None)
    args = ap.parse_args(argv)
    report = run(default_plan(quick=args.quick, repeat=args.repeat))
    print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m benchmarks`` (= ``make bench``): engine, quality, CLI, start-up, GUI, PNG,
transparency, curve, palette, dithering and batch benches as Markdown tables.

The engine bench runs in this process (it is Qt-free); the others, owned by their modules
``bench_quality``, ``bench_cli``, ``bench_startup``, ``bench_gui``, ``bench_png``,
``bench_alpha``, ``bench_sweep``, ``bench_palette``, ``bench_dither`` and ``bench_batch``, each
run in a subprocess so Qt never loads next to the engine measurements.
Each section's Markdown is saved under ``benchmarks/out/`` and the latest of every section is
collected in ``benchmarks/out/latest.md`` (``latest-quick.md`` for ``--quick``).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .images import OUT_DIR

SECTIONS = (
    "engine",
    "quality",
    "cli",
    "startup",
    "gui",
    "png",
    "alpha",
    "sweep",
    "palette",
    "dither",
    "batch",
)
#: Run inside the subprocess: call ``main`` with the arguments if it takes any, else via argv.
_RUNNER = """
import inspect, sys
from benchmarks import {module} as m
args = sys.argv[1:]
if inspect.signature(m.main).parameters:
    rc = m.main(args)
else:
    sys.argv = ["benchmarks.{module}", *args]
    rc = m.main()
sys.exit(rc if isinstance(rc, int) else 0)
"""


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Speed, memory and quality of kquant-gui against its peers, as Markdown.",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="small images and one repeat: a smoke test, not figures to quote",
    )
    ap.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this bench (may be given more than once); default: all",
    )
    ap.add_argument(
        "--repeat", type=int, default=None, help="timed calls per case (default 3, quick 1)"
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=OUT_DIR / "latest.md",
        help=(
            "collect every section's latest Markdown here (default: benchmarks/out/latest.md;"
            " --quick writes latest-quick.md next to it)"
        ),
    )
    args = ap.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        ap.error(f"--repeat must be at least 1, got {args.repeat}")
    return args


def _run_section(module: str, args: argparse.Namespace) -> str:
    """Run ``benchmarks.<module>.main`` in a fresh interpreter; return its Markdown."""
    if importlib.util.find_spec(f"benchmarks.{module}") is None:
        return f"## {module}\n\n_`benchmarks/{module}.py` does not exist yet: skipped._\n"
    sub_args = [
        *(["--quick"] if args.quick else []),
        *(["--repeat", str(args.repeat)] if args.repeat else []),
    ]
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER.format(module=module), *sub_args],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    out = proc.stdout.rstrip() + "\n"
    if proc.returncode:
        out += f"\n_`{module}` exited with status {proc.returncode}; see stderr above._\n"
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected benches, print their Markdown and save it.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments; see ``python -m benchmarks --help``.

    Returns
    -------
    int
        0, or 1 when a sub-bench failed.
    """
    args = _parse(argv)
    sections = args.only or list(SECTIONS)
    # One file per section, so `--only cli` refreshes its part without wiping the engine's
    # tables; quick runs keep their own files so a smoke test never replaces real figures.
    suffix = "-quick" if args.quick else ""
    out_dir = args.out.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    status = 0
    for section in SECTIONS:
        if section not in sections:
            continue
        if section == "engine":
            from . import bench_engine

            report = bench_engine.run(
                bench_engine.default_plan(quick=args.quick, repeat=args.repeat)
            )
            md = bench_engine.render(report)
            bench_engine.save_json(report, out_dir / f"engine{suffix}.json")
        else:
            md = _run_section(f"bench_{section}", args)
            status |= "exited with status" in md
        print(md, flush=True)
        cmd = " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])])
        stamp = f"<!-- {cmd} at {time.strftime('%Y-%m-%d %H:%M')} -->\n\n"
        (out_dir / f"{section}{suffix}.md").write_text(stamp + md)
    parts = [
        (out_dir / f"{s}{suffix}.md").read_text()
        for s in SECTIONS
        if (out_dir / f"{s}{suffix}.md").exists()
    ]
    target = args.out if not args.quick else args.out.with_name(args.out.stem + "-quick.md")
    target.write_text("\n".join(parts))
    print(f"(written to {target})", file=sys.stderr)
    return int(status)


if __name__ == "__main__":
    sys.exit(main())

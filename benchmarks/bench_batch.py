"""The batch bench: ``kquant`` over 200 photos with --jobs 1, --jobs 2 and --cluster local, and
its memory over 10,000 files.

Throughput: 200 JPEG photos of 0.2-0.9 MP (crops and scales of scikit-learn's china and
flower with a little noise, built once and cached under ``benchmarks/out/batch/``) at k=64,
each run as a command (start-up included). Target (issue 17): ``--jobs 2`` at least 1.8x as
fast as ``--jobs 1`` on 2 cores. Memory: 10,000 tiny PNGs with ``--jobs 2``; the resident
memory of the parent and of each worker is sampled while the batch runs, and the figures when
the first 5% and the last 5% of the outputs appear are compared: flat means no growth with
the number of files. The machine may be shared: the load average is printed with each row,
and the CPU time of each command (its processes' user + system time, which load inflates far
less than the wall time): --jobs 2 using about the CPU of --jobs 1 means the workers add no
work of their own, and what is left between the speed-up and 2x is what --jobs 1 already
runs in parallel (the engine's threads).

Run alone with ``python -m benchmarks.bench_batch [--quick]``; ``python -m benchmarks --only
batch`` runs it as the "batch" section.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import images

BATCH_DIR = images.OUT_DIR / "batch"
#: Part of the cache's folder names: bump when the recipe of the images changes.
RECIPE = 1
K = 64
TARGET_SPEEDUP = 1.8


def build_photos(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` JPEG photos of 0.2-0.9 MP: random scales and crops of china and flower, noise.

    Deterministic for a seed; files already there are kept (the cache).
    """
    folder.mkdir(parents=True, exist_ok=True)
    sources = [images.china(), images.flower()]
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        src = sources[i % 2]
        megapixels = rng.uniform(0.2, 0.9)
        aspect = rng.uniform(0.66, 1.5)
        w = round((megapixels * 1e6 * aspect) ** 0.5)
        h = round(megapixels * 1e6 / w)
        scale = max(w / src.shape[1], h / src.shape[0]) * rng.uniform(1.0, 1.3)
        size = (int(np.ceil(src.shape[1] * scale)), int(np.ceil(src.shape[0] * scale)))
        x0 = int(rng.integers(0, size[0] - w + 1))
        y0 = int(rng.integers(0, size[1] - h + 1))
        noise_seed = int(rng.integers(2**31))
        path = folder / f"photo-{i:03d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        big = np.asarray(Image.fromarray(src).resize(size, Image.Resampling.LANCZOS))
        crop = big[y0 : y0 + h, x0 : x0 + w].astype(np.int16)
        noise = np.random.default_rng(noise_seed).normal(0, 3, crop.shape)
        pixels = np.clip(crop + noise, 0, 255).astype(np.uint8)
        tmp = path.with_suffix(".tmp")
        Image.fromarray(pixels).save(tmp, format="JPEG", quality=90)
        tmp.replace(path)
    return paths


def build_tiny(folder: Path, n: int) -> list[Path]:
    """``n`` tiny PNGs (32x24 noise on a gradient) for the memory row; cached."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / f".complete-{n}"
    paths = [folder / f"t{i:05d}.png" for i in range(n)]
    if marker.exists():
        return paths
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:24, 0:32]
    base = np.stack([x * 8, y * 10, (x + y) * 4], 2)
    for i, path in enumerate(paths):
        if not path.exists():
            pixels = np.clip(base + rng.integers(-20, 21, base.shape) + i % 50, 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(path)
    marker.touch()
    return paths


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def _kquant(*args: object) -> list[str]:
    return [sys.executable, "-m", "kquant_gui", *map(str, args)]


@dataclass
class Row:
    """One way of running the batch."""

    name: str
    seconds: float
    files: int
    load_before: str
    load_after: str
    #: User + system CPU time of the command and every process it waited for.
    cpu: float = float("nan")

    @property
    def rate(self) -> float:
        return self.files / self.seconds


def time_batch(name: str, folder: Path, n: int, extra: Sequence[str]) -> Row:
    """Run ``kquant folder -k 64`` with ``extra`` into a fresh folder; wall time of the command."""
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as out:
        before = _load()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(
            _kquant(folder, "-k", K, "--out-dir", out, "--quiet", *extra),
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} exited with {proc.returncode}: {proc.stderr}")
        written = len(list(Path(out).iterdir()))
        if written != n:
            raise RuntimeError(f"{name} wrote {written} files, not {n}")
    return Row(name, seconds, n, before, _load(), cpu)


@dataclass
class Memory:
    """Resident memory (MB) of the parent and of each worker, early and late in the batch."""

    files: int
    seconds: float = 0.0
    parent: list[float] = field(default_factory=list)  # [start, end]
    workers: list[tuple[float, float]] = field(default_factory=list)  # per worker pid


def memory_batch(folder: Path, n: int, jobs: int = 2) -> Memory:
    """Run ``kquant`` over ``n`` tiny files with ``--jobs``; RSS when 5% and 95% are written."""
    import psutil

    mem = Memory(n)
    with tempfile.TemporaryDirectory(prefix="bench-batch-mem-") as out:
        t0 = time.perf_counter()
        proc = psutil.Popen(
            _kquant(folder, "-k", 16, "--out-dir", out, "--quiet", "--jobs", jobs),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        samples: dict[str, dict[int, float]] = {}
        stop = threading.Event()

        def rss_now() -> dict[int, float]:
            found = {}
            for p in [proc, *proc.children(recursive=True)]:
                try:
                    found[p.pid] = p.memory_info().rss / 1e6
                except psutil.Error:
                    continue
            return found

        def watch() -> None:
            while not stop.is_set():
                done = sum(1 for _ in os.scandir(out)) / n
                if done >= 0.05 and "start" not in samples:
                    samples["start"] = rss_now()
                if done >= 0.95 and "end" not in samples:
                    samples["end"] = rss_now()
                stop.wait(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, err = proc.communicate()
        mem.seconds = time.perf_counter() - t0
        stop.set()
        watcher.join()
        if proc.returncode != 0:
            raise RuntimeError(f"memory run exited with {proc.returncode}: {err.decode()}")
    start, end = samples.get("start", {}), samples.get("end", {})
    mem.parent = [start.get(proc.pid, float("nan")), end.get(proc.pid, float("nan"))]
    for pid in sorted(set(start) & set(end) - {proc.pid}):
        mem.workers.append((start[pid], end[pid]))
    return mem


def render(rows: list[Row], mem: Memory | None, n_photos: int, quick: bool) -> str:
    lines = [
        "## Batch" + (" — quick, indicative only" if quick else ""),
        "",
        f"`kquant photos/ -k {K} --out-dir out/` over {n_photos} JPEG photos of 0.2-0.9 MP, "
        f"each way run once as a command (start-up included) on {os.cpu_count()} cores. "
        "Load average (1/5/15 min) before and after each run: other work on the machine "
        "slows every row.",
        "",
        "| run | seconds | files/s | vs --jobs 1 | CPU s | load before | load after |",
        "|---|---|---|---|---|---|---|",
    ]
    base = rows[0].seconds
    for r in rows:
        lines.append(
            f"| {r.name} | {r.seconds:.1f} | {r.rate:.1f} | {base / r.seconds:.2f}x "
            f"| {r.cpu:.1f} | {r.load_before} | {r.load_after} |"
        )
    two = next((r for r in rows if r.name == "--jobs 2"), None)
    if two is not None:
        speedup = base / two.seconds
        verdict = "met" if speedup >= TARGET_SPEEDUP else "missed"
        lines += ["", f"Target: --jobs 2 at least {TARGET_SPEEDUP}x --jobs 1: "
                  f"{speedup:.2f}x, {verdict}."]  # fmt: skip
    if mem is not None:
        lines += [
            "",
            f"Memory over {mem.files:,} tiny files with --jobs 2 ({mem.seconds:.0f} s, "
            f"{mem.files / mem.seconds:.0f} files/s): resident MB when 5% and 95% of the "
            "outputs were written.",
            "",
            "| process | at 5% | at 95% | change |",
            "|---|---|---|---|",
            f"| parent | {mem.parent[0]:.1f} | {mem.parent[1]:.1f} "
            f"| {mem.parent[1] - mem.parent[0]:+.1f} |",
        ]
        for i, (a, b) in enumerate(mem.workers):
            lines.append(f"| worker {i + 1} | {a:.1f} | {b:.1f} | {b - a:+.1f} |")
        # 90% of the files are done between the two samples.
        per_file = (mem.parent[1] - mem.parent[0]) * 1e6 / (0.9 * mem.files)
        lines += ["", f"The parent's growth: {per_file:.0f} bytes a file (the record of each file "
                  "kept for the summary and --report)."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or reuse) the images, run the rows and print the Markdown."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_batch", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="20 photos and 500 tiny files")
    ap.add_argument("--repeat", type=int, default=None, help="ignored: each row runs once")
    ap.add_argument("--no-memory", action="store_true", help="skip the 10,000-file memory row")
    ap.add_argument("--no-cluster", action="store_true", help="skip the --cluster local row")
    args = ap.parse_args(argv)
    n_photos, n_tiny = (20, 500) if args.quick else (200, 10_000)
    photos = build_photos(BATCH_DIR / f"photos-r{RECIPE}", 200)[:n_photos]
    folder = photos[0].parent
    if args.quick:
        folder = BATCH_DIR / "quick-photos"
        folder.mkdir(parents=True, exist_ok=True)
        for p in photos:
            if not (folder / p.name).exists():
                shutil.copyfile(p, folder / p.name)
    rows = [
        time_batch("--jobs 1", folder, n_photos, ["--jobs", "1"]),
        time_batch("--jobs 2", folder, n_photos, ["--jobs", "2"]),
    ]
    if not args.no_cluster:
        try:
            import distributed  # noqa: F401
        except ImportError:
            print("(distributed is not installed: no --cluster local row)", file=sys.stderr)
        else:
            rows.append(
                time_batch(
                    "--cluster local (2 workers)",
                    folder,
                    n_photos,
                    ["--cluster", "local", "--jobs", "2"],
                )
            )
    mem = None
    if not args.no_memory:
        tiny = build_tiny(BATCH_DIR / f"tiny-{n_tiny}", n_tiny)
        mem = memory_batch(tiny[0].parent, n_tiny)
    print(render(rows, mem, n_photos, args.quick), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

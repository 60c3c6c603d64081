"""The PNG bench: time and size of each way to write a quantized result as an indexed PNG.

Every encoder writes the same pixels, palette (in the result's order) and bit depth; they differ
only in how the image data is compressed, so the table compares seconds and bytes. Each row is
checked to read back to the result's indices before it is reported. The results are quantized
once per (image, k), outside the timing.

Run alone with ``python -m benchmarks.bench_png [--quick] [--repeat N]``; ``python -m
benchmarks --only png`` runs it as the "png" section.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from kquant_gui import quantize
from kquant_gui.engine import Quantization
from kquant_gui.image_io import encode_quantized
from kquant_gui.image_io.png import (
    COMPRESS_LEVEL,
    OXIPNG_LEVEL,
    optimize_png,
    p_image,
    png_plan,
)

from . import images

KS = (16, 64, 256)


def _default(result: Quantization) -> bytes:
    """What ``save_quantized`` writes (no metadata)."""
    buf = io.BytesIO()
    encode_quantized(result, buf, "PNG", strip_metadata=True)
    return buf.getvalue()


def _pillow(level: int) -> Callable[[Quantization], bytes]:
    """Pillow's encoder at zlib ``level`` on the same indexed image."""

    def encode(result: Quantization) -> bytes:
        plan = png_plan(result)
        assert plan.index is not None  # the bench images are opaque
        buf = io.BytesIO()
        p_image(plan.index, plan.palette).save(buf, "PNG", optimize=False, compress_level=level)
        return buf.getvalue()

    return encode


def _optimized(result: Quantization) -> bytes:
    """What ``save_quantized(..., optimize=True)`` writes: the default, then oxipng."""
    return optimize_png(_default(result))


#: name -> encoder; the first is the reference the others' sizes are compared with.
ENCODERS: dict[str, Callable[[Quantization], bytes]] = {
    f"kquant default (Pillow, level {COMPRESS_LEVEL})": _default,
    "Pillow level 9": _pillow(9),
    f"default + oxipng -o{OXIPNG_LEVEL} (--optimize)": _optimized,
}


@dataclass
class Row:
    """One encoder on one (image, k)."""

    image: str
    k: int
    encoder: str
    seconds: float
    size: int


def _timed(encode: Callable[[Quantization], bytes], result: Quantization, repeat: int):
    times, data = [], b""
    for _ in range(repeat):
        t0 = time.perf_counter()
        data = encode(result)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), data


def run(sources: dict[str, Callable[[], np.ndarray]], ks: Sequence[int], repeat: int) -> list[Row]:
    """Encode every (image, k) with every encoder; checks each file reads back exactly."""
    rows = []
    for name, load in sources.items():
        pixels = load()
        for k in ks:
            result = quantize(pixels, k)
            for encoder, encode in ENCODERS.items():
                seconds, data = _timed(encode, result, repeat)
                with Image.open(io.BytesIO(data)) as im:
                    if im.mode != "P" or not np.array_equal(np.asarray(im), result.labels):
                        raise AssertionError(f"{encoder} did not write the result ({name}, {k})")
                rows.append(Row(name, k, encoder, seconds, len(data)))
        del pixels
    return rows


def render(rows: list[Row], title: str, repeat: int) -> str:
    """Markdown: one line per (image, k, encoder), size also relative to the first encoder."""
    reference = {(r.image, r.k): r for r in rows if r.encoder == next(iter(ENCODERS))}
    lines = [
        f"## {title}\n",
        f"Median of {repeat} run(s) per cell; sizes in MB (1e6 bytes), without metadata.\n",
        "| image | k | encoder | seconds | size MB | size vs default |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ref = reference[(r.image, r.k)]
        lines.append(
            f"| {r.image} | {r.k} | {r.encoder} | {r.seconds:.2f} | {r.size / 1e6:.3f} "
            f"| {r.size / ref.size - 1:+.1%} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print its Markdown table."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_png", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="the two small photos only, one run")
    ap.add_argument("--repeat", type=int, default=None, help="runs per cell (default 3, quick 1)")
    ap.add_argument(
        "--images",
        default=None,
        help="comma-separated subset of china,flower,24mp (default: all; quick: the two photos)",
    )
    args = ap.parse_args(argv)
    repeat = max(1, args.repeat or (1 if args.quick else 3))
    available = {"china": images.china, "flower": images.flower, "24mp": images.make_24mp}
    names = args.images.split(",") if args.images else ["china", "flower"]
    if not args.images and not args.quick:
        names.append("24mp")
    unknown = sorted(set(names) - set(available))
    if unknown:
        ap.error(f"unknown image(s) {unknown}; choose from {sorted(available)}")
    rows = run({n: available[n] for n in names}, KS, repeat)
    title = "PNG encoding" + (" — quick, indicative only" if args.quick else "")
    print(render(rows, title, repeat), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

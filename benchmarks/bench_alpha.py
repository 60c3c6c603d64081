"""Transparency bench: soft-edged images against pngquant and libimagequant, and the opaque check.

For each soft-edged image of :mod:`benchmarks.alpha_images` and k = 16, 64, 256, in one run:

- ``pngquant --nofs`` and ``pngquant`` (its default Floyd-Steinberg), as commands on a PNG
  file: time covers start-up, decoding, quantizing and writing;
- libimagequant in this process (the ``imagequant`` package), no dithering: time is the
  quantization alone, its size that of the same palette and indices written by Pillow;
- kquant-gui's ``quantize`` then the PNG that Save writes (``save_quantized``): time covers
  both.

Each result is scored by the composite score: mean CIEDE2000 between the original and the
result blended over white, the same over black, and the average of the two
(:func:`kquant_gui.engine.metrics.composite_delta_e2000`).

The opaque check quantizes the opaque benchmark photos and compares a digest of the result
(image, labels, palette colours) with the one last recorded by ``--record``
(``benchmarks/opaque_reference.json``): "same" means byte-identical. It was first recorded
before transparency was reworked, to show that work left opaque results alone; a change to
opaque results made on purpose (a better clustering or dithering) re-records it, so that it
keeps telling an unintended change from none.
The large-image row times a 24 MP photo with a soft matte against the same photo opaque at
k=64 (target: at most twice the time).

Run alone with ``python -m benchmarks.bench_alpha [--quick] [--repeat N] [--record]``;
``python -m benchmarks --only alpha`` runs it as the "alpha" section.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from kquant_gui.engine.metrics import composite_delta_e2000

from . import alpha_images, images

KS = (16, 64, 256)
QUICK_KS = (16, 256)
REFERENCE = Path(__file__).resolve().parent / "opaque_reference.json"
#: Pixels sampled for the composite score on the 24 MP image.
DE_PIXELS = 1_000_000
#: Opaque cases of the check: (image, k, dither).
OPAQUE_CASES = [
    (name, k, dither)
    for name in ("china", "flower")
    for k in KS
    for dither in ("none", "floyd-steinberg", "ordered")
    if dither == "none" or k == 16
]


@dataclass
class Row:
    """One method on one soft-edged image at one k."""

    image: str
    method: str
    k: int
    seconds: float
    size: int | None
    indexed: bool | None
    white: float
    black: float

    @property
    def score(self) -> float:
        """The composite score: the average of the over-white and over-black means."""
        return (self.white + self.black) / 2.0


def _median(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _read_png(path: Path) -> tuple[np.ndarray, bool]:
    """RGBA pixels of a PNG and whether it is a palette PNG."""
    with Image.open(path) as im:
        indexed = im.mode == "P"
        return np.asarray(im.convert("RGBA")), indexed


def run_pngquant(src: Path, k: int, dither: bool, tmp: Path, repeat: int) -> tuple:
    """``pngquant [--nofs] K`` on ``src``: (seconds, bytes, RGBA result, indexed)."""
    out = tmp / f"pq-{k}-{int(dither)}.png"
    cmd = ["pngquant", "--force", "--output", str(out), *([] if dither else ["--nofs"])]
    cmd += [str(k), str(src)]

    def once() -> None:
        proc = subprocess.run(cmd, capture_output=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr!r}")

    seconds, _ = _median(once, repeat)
    pixels, indexed = _read_png(out)
    return seconds, out.stat().st_size, pixels, indexed


def run_libimagequant(rgba: np.ndarray, k: int, tmp: Path, repeat: int) -> tuple:
    """libimagequant in process, no dithering: (seconds, bytes, RGBA result, indexed)."""
    import imagequant

    h, w = rgba.shape[:2]
    data = np.ascontiguousarray(rgba).tobytes()

    def once() -> tuple[bytes, list[int]]:
        return imagequant.quantize_raw_rgba_bytes(data, w, h, dithering_level=0.0, max_colors=k)

    seconds, (idx, pal) = _median(once, repeat)
    palette = np.asarray(pal, dtype=np.uint8).reshape(-1, 4)
    index = np.frombuffer(idx, dtype=np.uint8).reshape(h, w)
    im = Image.frombytes("P", (w, h), index.tobytes())
    im.putpalette(palette.tobytes(), rawmode="RGBA")
    out = tmp / f"liq-{k}.png"
    im.save(out, "PNG", optimize=True)
    return seconds, out.stat().st_size, palette[index], True


def run_ours(rgba: np.ndarray, k: int, dither: str, tmp: Path, repeat: int) -> tuple:
    """``quantize`` then ``save_quantized`` to PNG: (seconds, bytes, result image, indexed)."""
    from kquant_gui import quantize
    from kquant_gui.image_io import save_quantized

    out = tmp / f"ours-{k}-{dither}.png"

    def once() -> np.ndarray:
        result = quantize(rgba, k, dither=dither)
        save_quantized(result, out, overwrite=True)
        return result.image

    seconds, image = _median(once, repeat)
    back, indexed = _read_png(out)
    if not np.array_equal(back, image if image.shape[-1] == 4 else back):
        raise RuntimeError(f"our PNG at k={k} does not read back as the result image")
    return seconds, out.stat().st_size, image, indexed


METHODS = ("pngquant --nofs", "pngquant", "libimagequant", "kquant-gui", "kquant-gui (FS)")


def soft_rows(names: Sequence[str], ks: Sequence[int], repeat: int) -> list[Row]:
    """Every method on every soft-edged image at every k."""
    rows: list[Row] = []
    have_pngquant = shutil.which("pngquant") is not None
    # libimagequant comes with the bench extra; a test run has only the test extra.
    have_imagequant = importlib.util.find_spec("imagequant") is not None
    with tempfile.TemporaryDirectory(prefix="kquant-alpha-") as tmp_name:
        tmp = Path(tmp_name)
        for name in names:
            rgba = alpha_images.SOFT_IMAGES[name]()
            src = tmp / f"{name}.png"
            Image.fromarray(rgba).save(src)
            for k in ks:
                runs: dict[str, Callable[[], tuple]] = {
                    "kquant-gui": partial(run_ours, rgba, k, "none", tmp, repeat),
                    "kquant-gui (FS)": partial(run_ours, rgba, k, "floyd-steinberg", tmp, repeat),
                }
                if have_imagequant:
                    runs["libimagequant"] = partial(run_libimagequant, rgba, k, tmp, repeat)
                if have_pngquant:
                    runs["pngquant --nofs"] = partial(run_pngquant, src, k, False, tmp, repeat)
                    runs["pngquant"] = partial(run_pngquant, src, k, True, tmp, repeat)
                for method in METHODS:
                    if method not in runs:
                        continue
                    seconds, size, image, indexed = runs[method]()
                    white, black = composite_delta_e2000(rgba, image)
                    rows.append(Row(name, method, k, seconds, size, indexed, white, black))
                    print(f"  {name} k={k} {method}: {rows[-1].score:.3f}", file=sys.stderr)
    return rows


def _digest(result) -> str:
    h = hashlib.sha256()
    for part in (result.image, result.labels, result.palette[:, :3], result.counts):
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()[:16]


def opaque_digests(repeat: int) -> dict[str, dict[str, float | str]]:
    """Digest and median time of every opaque case (see :data:`OPAQUE_CASES`).

    Each photo is also quantized as RGBA with alpha 255 everywhere, which must give the same
    colours and labels as the RGB photo.
    """
    from kquant_gui import quantize

    out: dict[str, dict[str, float | str]] = {}
    for name, k, dither in OPAQUE_CASES:
        pixels = images.load(name)
        seconds, result = _median(partial(quantize, pixels, k, dither=dither), repeat)
        rgba = np.dstack([pixels, np.full(pixels.shape[:2], 255, np.uint8)])
        as_rgba = quantize(rgba, k, dither=dither)
        same_rgba = np.array_equal(as_rgba.image[..., :3], result.image) and np.array_equal(
            as_rgba.labels, result.labels
        )
        out[f"{name} k={k} {dither}"] = {
            "digest": _digest(result),
            "seconds": seconds,
            "rgba_same": bool(same_rgba),
        }
    return out


def large_times(repeat: int) -> dict[str, float]:
    """k=64 on the 24 MP photo, opaque and with a soft matte: median seconds of each.

    The two are timed in turns (matte, opaque, matte, ...) after one untimed call of each,
    so that a busy moment on a shared machine falls on both alike.
    """
    from kquant_gui import quantize

    rgba = alpha_images.matte_24mp()
    rgb = np.ascontiguousarray(rgba[..., :3])
    result = quantize(rgba, 64)
    white, black = composite_delta_e2000(rgba, result.image, max_pixels=DE_PIXELS)
    del result
    quantize(rgb, 64)
    times: dict[str, list[float]] = {"matte": [], "opaque": []}
    for _ in range(max(1, repeat)):
        for name, pixels in (("matte", rgba), ("opaque", rgb)):
            t0 = time.perf_counter()
            quantize(pixels, 64)
            times[name].append(time.perf_counter() - t0)
    return {
        "matte": statistics.median(times["matte"]),
        "opaque": statistics.median(times["opaque"]),
        "matte_score": (white + black) / 2.0,
    }


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def render_soft(rows: list[Row], ks: Sequence[int]) -> str:
    """One table per image: per method and k, PNG size, composite score and time."""
    parts = []
    for name in dict.fromkeys(r.image for r in rows):
        body = []
        for method in METHODS:
            cells = [method]
            for k in ks:
                r = next((r for r in rows if (r.image, r.method, r.k) == (name, method, k)), None)
                if r is None:
                    cells += ["-", "-", "-"]
                    continue
                kind = "" if r.indexed else " (RGBA)"
                cells += [f"{r.size / 1000:.1f}{kind}", f"{r.score:.2f}", f"{r.seconds:.2f}"]
            body.append(cells)
        header = ["method"]
        for k in ks:
            header += [f"k={k} kB", "score", "s"]
        parts.append(f"**{name}**\n\n" + _table(header, body))
    return "\n\n".join(parts)


def check_soft(rows: list[Row], ks: Sequence[int]) -> list[tuple[str, bool]]:
    """The targets: ours indexed, no larger than ``pngquant --nofs``, score no worse than
    pngquant's (the better of its two modes)."""
    checks = []
    for name in dict.fromkeys(r.image for r in rows):
        for k in ks:
            get = {r.method: r for r in rows if (r.image, r.k) == (name, k)}
            ours, nofs, fs = get.get("kquant-gui"), get.get("pngquant --nofs"), get.get("pngquant")
            if ours is None or nofs is None or fs is None:
                continue
            best = min(nofs.score, fs.score)
            checks.append(
                (
                    f"{name} k={k}: indexed, {ours.size / 1000:.1f} <= {nofs.size / 1000:.1f} kB,"
                    f" score {ours.score:.2f} <= {best:.2f}",
                    bool(ours.indexed and ours.size <= nofs.size and ours.score <= best),
                )
            )
    return checks


def render(
    rows: list[Row],
    ks: Sequence[int],
    opaque: dict[str, dict[str, float | str]],
    reference: dict[str, dict[str, float | str]] | None,
    large: dict[str, float] | None,
) -> str:
    """The whole section as Markdown."""
    out = ["## alpha: soft-edged images against pngquant and libimagequant", ""]
    out.append(
        'PNG size in kB ("(RGBA)" where the file is not indexed), composite score (mean '
        "CIEDE2000 over white and over black, averaged; lower is better), time in s "
        "(pngquant: the command with file I/O; libimagequant: quantizing in process; "
        "kquant-gui: `quantize` plus `save_quantized`)."
    )
    out += ["", render_soft(rows, ks), ""]
    checks = check_soft(rows, ks)
    if checks:
        met = sum(ok for _, ok in checks)
        out.append(f"Targets on soft-edged images: {met} of {len(checks)} met.\n")
        out.append(_table(["case", "met"], [[c, "yes" if ok else "**no**"] for c, ok in checks]))
        out.append("")
    body = []
    for case, now in opaque.items():
        ref = (reference or {}).get(case)
        same = (
            "-" if ref is None else ("same" if ref["digest"] == now["digest"] else "**changed**")
        )
        ref_s = "-" if ref is None else f"{float(ref['seconds']):.3f}"
        rgba = "same" if now["rgba_same"] else "**differs**"
        body.append([case, same, rgba, ref_s, f"{float(now['seconds']):.3f}"])
    out.append(
        "Opaque photos: result against the recorded reference, RGBA (alpha 255) input "
        "against RGB, time before and now (s).\n"
    )
    out.append(_table(["case", "result", "as RGBA", "reference s", "now s"], body))
    if large:
        ratio = large["matte"] / large["opaque"]
        out += [
            "",
            f"24 MP at k=64: soft matte {large['matte']:.2f} s, opaque {large['opaque']:.2f} s "
            f"(ratio {ratio:.2f}, target <= 2); matte composite score {large['matte_score']:.2f}.",
        ]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the transparency bench and print its Markdown.

    Parameters
    ----------
    argv : sequence of str, optional
        ``--quick``, ``--repeat N``, ``--record`` (write the opaque reference digests from the
        engine as it is, then stop), ``--image NAME`` (repeatable).

    Returns
    -------
    int
        0.
    """
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_alpha")
    ap.add_argument("--quick", action="store_true", help="two k, one repeat, no 24 MP row")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--record", action="store_true", help="record the opaque reference")
    ap.add_argument("--image", action="append", choices=list(alpha_images.SOFT_IMAGES))
    ap.add_argument("--no-large", action="store_true", help="skip the 24 MP row")
    args = ap.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    if args.record:
        REFERENCE.write_text(json.dumps(opaque_digests(repeat), indent=1) + "\n")
        print(f"recorded {REFERENCE}", file=sys.stderr)
        return 0
    ks = QUICK_KS if args.quick else KS
    rows = soft_rows(args.image or list(alpha_images.SOFT_IMAGES), ks, repeat)
    opaque = opaque_digests(repeat)
    reference = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else None
    large = None if args.quick or args.no_large else large_times(repeat)
    print(render(rows, ks, opaque, reference, large))
    return 0


if __name__ == "__main__":
    sys.exit(main())

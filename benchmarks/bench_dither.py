"""The dithering bench: our error diffusion against pngquant's and Pillow's, as the eye sees it.

For each image and k, three dithered results from the same kind of input:

- **kquant-gui**: ``quantize(..., dither="floyd-steinberg")``, our selective serpentine error
  diffusion;
- **Pillow FS**: our undithered palette, then Pillow's Floyd–Steinberg against it (what
  ``dither="floyd-steinberg"`` did before, with Pillow's coarse colour cache);
- **pngquant**: ``pngquant --force --output OUT K IN.png`` with its default dithering (``K`` is
  its maximum number of colours, as ours).

Measured: mean CIEDE2000 per pixel (dithering adds noise here); the same after a Gaussian blur
(sigma 1.5 px, in linear light) of both the original and the result, the error seen from a
distance; the worst 32x32 block of that blurred difference (patches and banding show there);
the indexed PNG's size (ours and Pillow's written by Pillow at its highest compression,
pngquant's its own); wall time of one run (pngquant's as a command, with start-up and file
I/O). Target (issue 12): ours at most pngquant's on the three errors, on every image and k.

Run alone with ``python -m benchmarks.bench_dither [--quick] [--images NAME ...]``;
``python -m benchmarks --only dither`` runs it as the "dither" section.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy.ndimage import gaussian_filter

from kquant_gui import quantize
from kquant_gui.engine.colorspace import SRGB_TO_LINEAR
from kquant_gui.engine.metrics import ciede2000, mean_delta_e2000

from . import images

KS = (16, 64, 256)
#: Blur of both images before the "seen from a distance" error, in pixels (Gaussian sigma).
BLUR_SIGMA = 1.5
#: Edge of the blocks over which the worst blurred error is taken.
BLOCK = 32
#: Pixels sampled for the per-pixel mean on images larger than this.
DE_PIXELS = 2_000_000
METHODS = ("kquant-gui", "Pillow FS", "pngquant")


@dataclass
class Row:
    """One method at one k on one image."""

    image: str
    method: str
    k: int
    delta_e: float
    blurred: float
    worst_block: float
    png_bytes: int
    seconds: float


def gradient(height: int = 512, width: int = 768) -> np.ndarray:
    """A smooth synthetic gradient: hue across, lightness down, no noise.

    Returns
    -------
    ndarray of uint8, shape (height, width, 3)
    """
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / (width - 1), y / (height - 1)
    # Deep blue to warm orange across, dark to light down, with a soft diagonal sweep.
    left = np.array([0.10, 0.20, 0.55])
    right = np.array([0.95, 0.55, 0.15])
    base = left + (right - left) * u[..., None]
    light = 0.35 + 0.65 * v[..., None]
    sweep = 0.08 * np.sin(np.pi * (u + v))[..., None]
    rgb = np.clip(base * light + sweep, 0.0, 1.0)
    return np.rint(rgb * 255.0).astype(np.uint8)


def logo(height: int = 480, width: int = 800) -> np.ndarray:
    """A flat-colour logo: flat shapes in a dozen colours, a thin ring, a diagonal stripe and
    lettering, anti-aliased by drawing at four times the size and averaging 4x4 blocks.

    Returns
    -------
    ndarray of uint8, shape (height, width, 3)
    """
    from PIL import ImageFont

    s = 4
    img = Image.new("RGB", (width * s, height * s), (250, 248, 240))
    d = ImageDraw.Draw(img)

    def box(*xy: float) -> list[float]:
        return [v * s for v in xy]

    d.rounded_rectangle(box(30, 30, 370, 450), radius=60 * s, fill=(20, 60, 140))
    d.ellipse(box(80, 80, 320, 320), fill=(250, 190, 30))
    d.ellipse(box(140, 140, 260, 260), fill=(20, 60, 140))
    d.ellipse(box(95, 95, 305, 305), outline=(230, 90, 40), width=5 * s)
    d.polygon([(420 * s, 430 * s), (560 * s, 40 * s), (700 * s, 430 * s)], fill=(200, 30, 50))
    d.rectangle(box(470, 300, 650, 330), fill=(250, 248, 240))
    d.line(box(40, 465, 780, 360), fill=(30, 140, 80), width=10 * s)
    d.ellipse(box(640, 60, 770, 190), fill=(120, 70, 160))
    d.pieslice(box(600, 250, 790, 440), 200, 340, fill=(0, 150, 170))
    font = ImageFont.load_default(size=44 * s)
    d.text((70 * s, 350 * s), "kquant", font=font, fill=(250, 248, 240))
    d.text((420 * s, 400 * s), "palette", font=font, fill=(60, 60, 70))
    small = img.reduce(s)
    return np.asarray(small, dtype=np.uint8).copy()


#: Images by name: loader, and whether the image is large (sampled per-pixel mean).
IMAGES: dict[str, Callable[[], np.ndarray]] = {
    "china": lambda: np.ascontiguousarray(images.china()),
    "flower": lambda: np.ascontiguousarray(images.flower()),
    "24mp": images.make_24mp,
    "gradient": gradient,
    "logo": logo,
}
QUICK_IMAGES: dict[str, Callable[[], np.ndarray]] = {
    "china": lambda: images.quick_small("china"),
    "flower": lambda: images.quick_small("flower"),
    "gradient": lambda: gradient(128, 192),
    "logo": lambda: logo(120, 200),
}


def _to_linear(rgb: np.ndarray) -> np.ndarray:
    return SRGB_TO_LINEAR[rgb].astype(np.float32)


#: Linear sRGB (D65) to XYZ, divided by the white point, rows X, Y, Z.
_M = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_M = _M / _M.sum(axis=1, keepdims=True)


def _linear_to_lab(lin: np.ndarray) -> np.ndarray:
    """CIELAB of linear sRGB values (floats, any shape (..., 3))."""
    xyz = lin.astype(np.float64) @ _M.T
    eps = (6.0 / 29.0) ** 3
    f = np.where(xyz > eps, np.cbrt(xyz), xyz / (3.0 * (6.0 / 29.0) ** 2) + 4.0 / 29.0)
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def _blur(rgb: np.ndarray) -> np.ndarray:
    """Gaussian blur in linear light, float32 result of shape (H, W, 3)."""
    return gaussian_filter(_to_linear(rgb), sigma=(BLUR_SIGMA, BLUR_SIGMA, 0), mode="nearest")


def blurred_errors(original: np.ndarray, result: np.ndarray) -> tuple[float, float]:
    """Mean CIEDE2000 between the blurred images, and the worst mean over BLOCK x BLOCK blocks.

    Rows are processed in bands of whole blocks to bound memory on 24 MP images.
    """
    a, b = _blur(original), _blur(result)
    h, w = a.shape[:2]
    hb, wb = h // BLOCK, w // BLOCK
    total, worst = 0.0, 0.0
    band = BLOCK * 8
    for y0 in range(0, h, band):
        y1 = min(h, y0 + band)
        de = ciede2000(_linear_to_lab(a[y0:y1]), _linear_to_lab(b[y0:y1]))
        total += float(de.sum())
        full = (min(y1, hb * BLOCK) - y0) // BLOCK
        if full > 0 and wb > 0:
            blocks = de[: full * BLOCK, : wb * BLOCK].reshape(full, BLOCK, wb, BLOCK)
            worst = max(worst, float(blocks.mean(axis=(1, 3)).max()))
    return total / (h * w), worst


def _png_size(palette: np.ndarray, labels: np.ndarray) -> int:
    img = Image.fromarray(labels, "P")
    img.putpalette(np.ascontiguousarray(palette[:, :3], dtype=np.uint8).tobytes())
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.tell()


def ours(pixels: np.ndarray, k: int) -> tuple[np.ndarray, int, float]:
    """Our dithered result, its PNG size and the time of ``quantize``."""
    t0 = time.perf_counter()
    q = quantize(pixels, k, dither="floyd-steinberg")
    seconds = time.perf_counter() - t0
    return q.image, _png_size(q.palette, q.labels), seconds


def pillow_fs(pixels: np.ndarray, k: int) -> tuple[np.ndarray, int, float]:
    """Our undithered palette, then Pillow's Floyd–Steinberg against it."""
    t0 = time.perf_counter()
    palette = quantize(pixels, k).palette
    full = np.repeat(palette[:1], 256, axis=0)
    full[: palette.shape[0]] = palette
    pal_img = Image.new("P", (1, 1))
    pal_img.putpalette(full.tobytes())
    out = Image.fromarray(pixels[..., :3], "RGB").quantize(
        palette=pal_img, dither=Image.Dither.FLOYDSTEINBERG
    )
    # Matches on the padding slots are entry 0.
    labels = np.asarray(out).copy()
    labels[labels >= palette.shape[0]] = 0
    seconds = time.perf_counter() - t0
    return palette[labels], _png_size(palette, labels), seconds


def pngquant(pixels: np.ndarray, k: int, work: Path) -> tuple[np.ndarray, int, float]:
    """pngquant with its default dithering, as a command."""
    src = work / "in.png"
    if not src.exists():
        Image.fromarray(pixels).save(src, compress_level=1)
    dst = work / f"pngquant-{k}.png"
    cmd = ["pngquant", "--force", "--output", str(dst), str(k), str(src)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}: {proc.stderr}")
    with Image.open(dst) as im:
        image = np.asarray(im.convert("RGB"))
    return image, dst.stat().st_size, seconds


def run(
    loaders: dict[str, Callable[[], np.ndarray]],
    ks: Sequence[int],
    log: Callable[[str], None] | None = None,
) -> list[Row]:
    """Every method at every k on every image; one run each."""
    rows = []
    for name, load in loaders.items():
        pixels = load()
        sample = DE_PIXELS if pixels.shape[0] * pixels.shape[1] > DE_PIXELS else None
        with tempfile.TemporaryDirectory(prefix="bench-dither-") as tmp:
            work = Path(tmp)
            for k in ks:
                for method in METHODS:
                    if method == "kquant-gui":
                        image, size, seconds = ours(pixels, k)
                    elif method == "Pillow FS":
                        image, size, seconds = pillow_fs(pixels, k)
                    else:
                        image, size, seconds = pngquant(pixels, k, work)
                    de = mean_delta_e2000(pixels, image, max_pixels=sample)
                    blurred, worst = blurred_errors(pixels, image)
                    rows.append(Row(name, method, k, de, blurred, worst, size, seconds))
                    if log is not None:
                        log(f"{name} k={k} {method}: {de:.2f} {blurred:.2f} {worst:.2f}")
                    del image
    return rows


def _fmt_time(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def render(rows: list[Row], title: str) -> str:
    """Markdown: one table per image, methods by k, and a line of verdicts."""
    lines = [f"## {title}", ""]
    lines.append(
        "Mean CIEDE2000 per pixel (ΔE), after a Gaussian blur of sigma "
        f"{BLUR_SIGMA} px in linear light (blurred), and its worst {BLOCK}x{BLOCK} block; "
        "indexed PNG size; wall time of one run (pngquant as a command, with start-up and "
        "file I/O). Target: kquant-gui at most pngquant on the three errors."
    )
    verdicts = []
    for image in dict.fromkeys(r.image for r in rows):
        lines += ["", f"### {image}", ""]
        lines.append("| k | method | ΔE | blurred ΔE | worst block | PNG | time |")
        lines.append("|---|---|---|---|---|---|---|")
        for k in sorted({r.k for r in rows if r.image == image}):
            by = {r.method: r for r in rows if r.image == image and r.k == k}
            for method in METHODS:
                r = by.get(method)
                if r is None:
                    continue
                name = f"**{method}**" if method == "kquant-gui" else method
                lines.append(
                    f"| {k} | {name} | {r.delta_e:.2f} | {r.blurred:.2f} | "
                    f"{r.worst_block:.2f} | {r.png_bytes / 1000:,.0f} kB | "
                    f"{_fmt_time(r.seconds)} |"
                )
            a, b = by.get("kquant-gui"), by.get("pngquant")
            if a is not None and b is not None:
                missed = [
                    label
                    for label, x, y in (
                        ("ΔE", a.delta_e, b.delta_e),
                        ("blurred", a.blurred, b.blurred),
                        ("worst block", a.worst_block, b.worst_block),
                    )
                    if x > y
                ]
                verdicts.append(
                    f"| {image} | {k} | "
                    + ("met" if not missed else "missed: " + ", ".join(missed))
                    + " |"
                )
    if verdicts:
        lines += [
            "",
            "### Targets against pngquant",
            "",
            "| image | k | verdict |",
            "|---|---|---|",
        ]
        lines += verdicts
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print its Markdown; 0 on success, 1 if pngquant is missing."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_dither", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small stand-ins, indicative only")
    ap.add_argument("--repeat", type=int, default=None, help="ignored: every case runs once")
    ap.add_argument(
        "--images",
        nargs="+",
        choices=sorted(IMAGES),
        help="only these images (default: all)",
    )
    ap.add_argument("--k", type=int, nargs="+", default=list(KS), help="palette sizes")
    args = ap.parse_args(argv)
    if shutil.which("pngquant") is None:
        print("## Dithering\n\n_pngquant is not installed: skipped._\n")
        return 1
    loaders = QUICK_IMAGES if args.quick else IMAGES
    if args.images:
        loaders = {n: f for n, f in loaders.items() if n in args.images}
    rows = run(loaders, args.k, log=lambda s: print(s, file=sys.stderr, flush=True))
    title = "Dithering against pngquant" + (
        " — quick stand-ins, indicative only" if args.quick else ""
    )
    print(render(rows, title), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Quantize a 100-megapixel image with the engine and print its peak RSS and wall time.

Run as a script (``python tests/hardening/measure_huge.py [megapixels] [k] [rgba]``) so that the
peak is this process's alone; the ``slow`` test in ``test_huge_images.py`` runs it in a
subprocess. With ``rgba`` the image gets a soft alpha channel (every level from 0 to 255, as
feathered edges have) and the result is also saved as PNG, as ``kquant`` does: the worst image
under the pixel limit.
The image is a small smooth photo-like tile repeated, plus noise, built in place so that
building it costs no more than the image itself.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    VmHWM, which starts afresh at exec; ru_maxrss is only the fallback, because on Linux it
    keeps the parent's size at fork, so a child of a big test process would report that.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1000
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000  # kB on Linux


def build(megapixels: float, seed: int = 0) -> np.ndarray:
    """A (H, W, 3) uint8 image of about ``megapixels`` MP: tiled gradients + noise."""
    w = 12_500 if megapixels >= 50 else 5_000
    h = int(megapixels * 1e6) // w
    y, x = np.mgrid[0:250, 0:250].astype(np.float32)
    tile = np.stack(
        [40 + 180 * x / 249, 30 + 160 * y / 249, 120 + 80 * np.sin(x / 9) * np.cos(y / 13)], -1
    ).astype(np.uint8)
    out = np.empty((h, w, 3), np.uint8)
    rng = np.random.default_rng(seed)
    band = 250
    for top in range(0, h, band):
        rows = min(band, h - top)
        row = np.tile(tile[:rows], (1, w // 250 + 1, 1))[:, :w]
        noise = rng.integers(0, 8, size=row.shape, dtype=np.uint8)
        # Different bands get a different tint, so the histogram is not just one tile's.
        np.add(row, noise + np.uint8((top // band) % 16), out=out[top : top + rows])
    return out


def with_soft_alpha(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` with an alpha channel ramping 0 to 255 across each 250-pixel tile, plus noise."""
    h, w, _ = rgb.shape
    out = np.empty((h, w, 4), np.uint8)
    ramp = np.tile(np.linspace(0, 255, 250).astype(np.uint8), w // 250 + 1)[:w]
    rng = np.random.default_rng(1)
    for top in range(0, h, 250):
        rows = slice(top, min(top + 250, h))
        out[rows, :, :3] = rgb[rows]
        noise = rng.integers(0, 4, size=(rows.stop - top, w), dtype=np.uint8)
        np.minimum(ramp[None, :].astype(np.uint16) + noise, 255, out=out[rows, :, 3],
                   casting="unsafe")  # fmt: skip
    return out


def main() -> None:
    megapixels = float(sys.argv[1]) if len(sys.argv) > 1 else 100.0
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    rgba = len(sys.argv) > 3 and sys.argv[3] == "rgba"
    from kquant_gui.engine import quantize

    t0 = time.perf_counter()
    pixels = build(megapixels)
    if rgba:
        pixels = with_soft_alpha(pixels)
    built = peak_rss_mb()
    t1 = time.perf_counter()
    result = quantize(pixels, k)
    t2 = time.perf_counter()
    saved_s = None
    if rgba:
        import tempfile

        from kquant_gui.image_io import save_quantized

        with tempfile.TemporaryDirectory() as folder:
            save_quantized(result, f"{folder}/out.png")
        saved_s = round(time.perf_counter() - t2, 2)
    peak = peak_rss_mb()
    print(
        json.dumps(
            {
                "megapixels": pixels.shape[0] * pixels.shape[1] / 1e6,
                "k": k,
                "n_colors": int(result.n_colors),
                "image_mb": pixels.nbytes / 1e6,
                "rss_after_build_mb": built,
                "peak_rss_mb": peak,
                "build_s": round(t1 - t0, 2),
                "quantize_s": round(t2 - t1, 2),
                "save_s": saved_s,
            }
        )
    )


if __name__ == "__main__":
    main()

"""Benchmark images: scikit-learn's two sample photos and a 24-megapixel image built from them.

The 24 MP image is cached under ``benchmarks/out/`` (git-ignored) as ``.npy`` for fast loading and
as ``.png`` for benchmarks that go through files (the CLI bench), so every bench in every run sees
the very same pixels.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

#: Where generated images and the latest results go; git-ignored.
OUT_DIR = Path(__file__).resolve().parent / "out"
#: Size of the large image, (height, width): two 4000x3000 tiles side by side.
SIZE_24MP = (4000, 6000)
#: Half-width of the uniform per-channel noise added to the upscaled tiles.
NOISE = 3
#: Seed of that noise; part of the cache file name so a change never reuses a stale file.
NOISE_SEED = 20240
_STEM = f"photo24mp_{SIZE_24MP[1]}x{SIZE_24MP[0]}_n{NOISE}_s{NOISE_SEED}"


@cache
def _sample(name: str) -> np.ndarray:
    from sklearn.datasets import load_sample_image

    img = np.ascontiguousarray(load_sample_image(name), dtype=np.uint8)
    img.flags.writeable = False  # cached and shared: callers must copy before writing
    return img


def china() -> np.ndarray:
    """scikit-learn's ``china.jpg``.

    Returns
    -------
    ndarray of uint8, shape (427, 640, 3)
        Read-only; copy before writing.
    """
    return _sample("china.jpg")


def flower() -> np.ndarray:
    """scikit-learn's ``flower.jpg``.

    Returns
    -------
    ndarray of uint8, shape (427, 640, 3)
        Read-only; copy before writing.
    """
    return _sample("flower.jpg")


def build_24mp(size: tuple[int, int] = SIZE_24MP) -> np.ndarray:
    """Build the large image without touching the cache.

    ``china`` and ``flower`` are each resized (bicubic) to half the width side by side, then
    uniform integer noise in [-NOISE, NOISE] is added per channel with a fixed seed. The noise is
    what makes it hard: smooth upscaled gradients alone hold few distinct colours, a real
    24 MP photo holds millions.

    Parameters
    ----------
    size : (int, int)
        (height, width) of the result; the width must be even.

    Returns
    -------
    ndarray of uint8, shape (height, width, 3)
    """
    h, w = size
    if w % 2:
        raise ValueError(f"width must be even (two tiles side by side), got {w}")
    tiles = [
        np.asarray(Image.fromarray(np.asarray(src)).resize((w // 2, h), Image.Resampling.BICUBIC))
        for src in (china(), flower())
    ]
    out = np.concatenate(tiles, axis=1)
    del tiles
    rng = np.random.default_rng(NOISE_SEED)
    # Row blocks keep the int16 temporaries small next to the 72 MB image.
    step = 256
    for r in range(0, h, step):
        block = out[r : r + step]
        noise = rng.integers(-NOISE, NOISE + 1, size=block.shape, dtype=np.int16)
        block[...] = np.clip(block.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return out


def _atomic_write(path: Path, write: Callable[[str], object]) -> None:
    # Several benches (and engineers) may build the cache at once: write aside, then rename.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp" + path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def path_24mp_npy() -> Path:
    """Path of the cached ``.npy`` (may not exist yet; `make_24mp` creates it)."""
    return OUT_DIR / f"{_STEM}.npy"


def path_24mp_png() -> Path:
    """Path of the cached PNG, creating it (and the ``.npy``) if missing.

    Returns
    -------
    Path
        A 24-bit RGB PNG of the same pixels `make_24mp` returns.
    """
    png = OUT_DIR / f"{_STEM}.png"
    if not png.exists():
        pixels = make_24mp()
        # compress_level=1: the file is a cache, so a fast write beats a small one.
        _atomic_write(
            png, lambda p: Image.fromarray(pixels).save(p, format="PNG", compress_level=1)
        )
    return png


def make_24mp() -> np.ndarray:
    """The 24-megapixel benchmark image, loaded from the cache or built and cached.

    Returns
    -------
    ndarray of uint8, shape (4000, 6000, 3)
        A fresh writable array on every call.
    """
    npy = path_24mp_npy()
    if npy.exists():
        try:
            pixels = np.load(npy)
            if pixels.shape == (*SIZE_24MP, 3) and pixels.dtype == np.uint8:
                return pixels
        except (OSError, ValueError):
            pass  # a truncated or foreign file: rebuild it below
    pixels = build_24mp()
    _atomic_write(npy, lambda p: np.save(p, pixels))
    return pixels


def count_colors(pixels: np.ndarray) -> int:
    """Number of distinct RGB colours, for the report."""
    rgb = pixels.reshape(-1, pixels.shape[-1])[:, :3].astype(np.uint32)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    return int(np.count_nonzero(np.bincount(packed, minlength=1 << 24)))


def tiny() -> np.ndarray:
    """``china`` shrunk to 96x64 (bicubic): the harness's own test image.

    Returns
    -------
    ndarray of uint8, shape (64, 96, 3)
    """
    return np.asarray(
        Image.fromarray(np.asarray(china())).resize((96, 64), Image.Resampling.BICUBIC)
    )


def quick_large() -> np.ndarray:
    """A 0.24 MP stand-in for the 24 MP image, built the same way, for ``--quick`` runs.

    Returns
    -------
    ndarray of uint8, shape (400, 600, 3)
    """
    return build_24mp((400, 600))


def quick_small(name: str) -> np.ndarray:
    """``china`` or ``flower`` at a quarter of the size, for ``--quick`` runs.

    Returns
    -------
    ndarray of uint8, shape (107, 160, 3)
    """
    src = LOADERS[name]()
    return np.asarray(
        Image.fromarray(np.asarray(src)).resize((160, 107), Image.Resampling.BICUBIC)
    )


def _quick_china() -> np.ndarray:
    return quick_small("china")


def _quick_flower() -> np.ndarray:
    return quick_small("flower")


#: Images by name, so a measuring subprocess can load its own copy from a short string.
LOADERS: dict[str, Callable[[], np.ndarray]] = {
    "china": china,
    "flower": flower,
    "24mp": make_24mp,
    "tiny": tiny,
    "quick-china": _quick_china,
    "quick-flower": _quick_flower,
    "quick-large": quick_large,
}


def load(name: str) -> np.ndarray:
    """Load an image of `LOADERS` by name.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    """
    try:
        loader = LOADERS[name]
    except KeyError:
        raise ValueError(f"unknown image {name!r}; known: {', '.join(LOADERS)}") from None
    return loader()

"""Helpers of the command-line tests: small photo-like images, and `kquant` run in-process."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from kquant_gui.cli import main


def make_photo(seed: int, size: tuple[int, int] = (40, 30)) -> np.ndarray:
    """A small smooth image with noise: many colours, different for every seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // w, y * 255 // h, (x + y) * 127 // (w + h) + seed * 17 % 128], 2)
    return np.clip(base + rng.integers(-12, 13, base.shape), 0, 255).astype(np.uint8)


def digest(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def run(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err

"""Ordered dithering (8x8 Bayer, between each colour's two nearest entries).

It returns labels only; :mod:`paint` turns them into the image. Error diffusion lives in
:mod:`diffusion`.
"""

from __future__ import annotations

import sys

import numpy as np

from . import packing
from .colorspace import srgb8_to_linear, to_space
from .distances import two_nearest
from .lut import bin_center_coords, pair_table
from .packing import N_BINS, Scratch, bin_centers, bin_codes, bitwise_select, words_range
from .parallel import part_progress, run_parts
from .progress import Steps


def mixing_tables(palette: np.ndarray, space: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every 18-bit bin: the two nearest palette entries and how much of the second to mix.

    The mix is measured in linear light, where the eye averages neighbouring pixels, by
    projecting the bin's colour onto the segment between the two entries.

    Parameters
    ----------
    palette : ndarray of uint8, shape (n, 3)
    space : str
        Working colour space that decides which entries are nearest.

    Returns
    -------
    first, second : ndarray of uint8, shape (2**18,)
    mix : ndarray of uint8, shape (2**18,)
        Share of ``second`` in 0..255.
    """
    centers = bin_centers()
    if palette.shape[0] > 1:
        first, second, _, _ = two_nearest(bin_center_coords(space), to_space(palette, space))
    else:
        first = second = np.zeros(N_BINS, np.intp)
    lin_pal = srgb8_to_linear(palette)
    p1, p2 = lin_pal[first], lin_pal[second]
    seg = p2 - p1
    length2 = np.einsum("ij,ij->i", seg, seg)
    along = np.einsum("ij,ij->i", srgb8_to_linear(centers) - p1, seg)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(length2 > 0, along / length2, 0.0)
    mix = np.rint(np.clip(t, 0.0, 1.0) * 255.0).astype(np.uint8)
    return first.astype(np.uint8), second.astype(np.uint8), mix


def bayer_matrix(order: int = 3) -> np.ndarray:
    """Bayer threshold matrix of size 2**order, values in (0, 1), mean 0.5.

    Returns
    -------
    ndarray of float64, shape (2**order, 2**order)
    """
    m = np.zeros((1, 1))
    for _ in range(order):
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return (m + 0.5) / m.size


def ordered_labels(
    pixels: np.ndarray,
    palette: np.ndarray,
    space: str,
    transparent: int,
    steps: Steps,
    strength: float = 1.0,
) -> np.ndarray:
    """Ordered dithering with an 8x8 Bayer matrix between each colour's two nearest entries.

    Adding a grey threshold offset to each pixel only dithers along the grey axis and leaves
    bands in coloured gradients. Instead every colour is placed on the segment between its two
    nearest palette entries (in linear light), and the Bayer threshold picks one of the two in
    that proportion, so the average over a tile reproduces the colour.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    palette : ndarray of uint8, shape (n, 3)
        Visible palette entries (the transparent one excluded).
    space : str
    transparent : int
        Index for fully transparent pixels, or -1.
    steps : Steps
    strength : float
        In (0, 1]: the thresholds ``t`` become ``1 - strength (1 - t)``, so a weaker dither
        takes the second entry only for colours that lie further towards it (at 0, never:
        each colour keeps its nearest entry).

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    h, w = pixels.shape[:2]
    first, second, mix = mixing_tables(palette, space)
    pairs = pair_table(first, second)
    thresholds = 1.0 - strength * (1.0 - bayer_matrix(3))
    threshold = np.rint(thresholds * 255.0).astype(np.uint8)
    rows = max(8, (packing.CHUNK // max(w, 1)) // 8 * 8)
    # Blocks start on multiples of 8 rows, so one tile of thresholds fits every block.
    tile = np.tile(threshold, (rows // 8, -(-w // 8)))[:, :w]
    labels = np.empty((h, w), dtype=np.uint8)
    t_label = np.uint8(max(transparent, 0))

    def part(index: int, first_row: int, end_row: int) -> None:
        scratch = Scratch(min(rows, end_row - first_row) * w)
        for y0 in range(first_row, end_row, rows):
            y1 = min(end_row, y0 + rows)
            m = (y1 - y0) * w
            words = words_range(pixels, y0 * w, y1 * w, scratch.words)
            idx = scratch.index[:m]
            idx[...] = bin_codes(words, scratch.codes, scratch.tmp)
            both = np.take(pairs, idx, out=scratch.pairs[:m], mode="clip").view(np.uint8)
            best, alt = both[0::2], both[1::2]  # little-endian halves of best | alt << 8
            if sys.byteorder != "little":
                best, alt = alt, best
            # The second entry where its share beats the threshold.
            use_alt = np.greater(np.take(mix, idx, mode="clip"), tile[: y1 - y0].reshape(-1))
            out = bitwise_select(use_alt, alt, best)
            if transparent >= 0:
                bitwise_select(words.view(np.uint8)[3::4] == 0, t_label, out, out=out)
            labels[y0:y1] = out.reshape(y1 - y0, w)
            done = part_progress(index, first_row, end_row, y1, h)
            steps.check() if done is None else steps.tick("mapping", done)

    run_parts(part, h, min_size=4 * rows, align=rows)
    return labels

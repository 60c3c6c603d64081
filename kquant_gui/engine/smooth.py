"""Nearest-colour mapping in one streamed pass: label, smooth near ties, count and paint.

A pixel almost exactly between two palette entries follows its neighbours rather than noise,
which removes speckle from smooth areas and makes indexed PNGs compress.
"""

from __future__ import annotations

import numpy as np

from . import packing
from .lut import PairSource
from .packing import Scratch, bitwise_select
from .paint import count_labels, painter
from .parallel import part_progress, run_parts
from .progress import Steps


def stream_labels(
    pixels: np.ndarray,
    source: PairSource,
    palette: np.ndarray,
    steps: Steps,
    *,
    paint: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Label, smooth, count and paint every pixel in one streamed pass.

    A pixel whose colour sits almost exactly between two palette entries (its pair's two
    labels differ) takes whichever its four neighbours' nearest entries favour. In noisy smooth
    areas nearest-colour mapping flips such pixels at random; following the neighbours removes
    that speckle, which is what makes indexed PNGs compress (about 30% smaller on a noisy
    photo) while the mean colour error stays within a few hundredths of dE. Neighbours are read
    from the unsmoothed labels, so the result does not depend on the order of work.

    Rows are processed in blocks that fit in cache (plus one row of look-ahead for the lower
    neighbours), and each block is labelled, smoothed, counted and painted while it is hot:
    separate passes over a 24 MP image cost three times as much.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    source : callable(start, stop) -> ndarray of uint16
        Label pairs ``best | alt << 8`` of the flattened pixels ``start:stop``.
    palette : ndarray of uint8, shape (n, 3) or (n, 4)
    steps : Steps
    paint : bool
        False leaves the image out (None): a caller that only measures the result (a
        ``choose_k`` probe) paints the one it keeps later, with :func:`paint.paint_labels`.

    Returns
    -------
    labels : ndarray of uint8, shape (H, W)
    counts : ndarray of int64, shape (n,)
    image : ndarray of uint8, same shape as ``pixels``, or None
    """
    h, w, c = pixels.shape
    n = palette.shape[0]
    labels = np.empty((h, w), dtype=np.uint8)
    image = np.empty((h, w, c), dtype=np.uint8) if paint else None
    rows = max(1, packing.CHUNK // max(w, 1))
    if image is not None:
        paint_rows = painter(pixels, palette, image)
    else:

        def paint_rows(y0: int, y1: int, out: np.ndarray, scratch: Scratch) -> np.ndarray:
            return count_labels(out, n, scratch.index)

    def part(index: int, first_row: int, end_row: int) -> np.ndarray:
        counts = np.zeros(n, dtype=np.int64)
        # Unsmoothed labels of the row above the current block.
        scratch = Scratch((min(rows, end_row - first_row) + 1) * w)
        above = (
            source((first_row - 1) * w, first_row * w, scratch).astype(np.uint8)
            if first_row
            else None
        )
        for y0 in range(first_row, end_row, rows):
            y1 = min(end_row, y0 + rows)
            ye = min(h, y1 + 1)
            pairs = source(y0 * w, ye * w, scratch).reshape(ye - y0, w)
            best_all = pairs.astype(np.uint8)  # the cast keeps the low byte: ``best``
            b = best_all[: y1 - y0]
            a = (pairs[: y1 - y0] >> 8).astype(np.uint8)
            amb = not np.array_equal(a, b)
            out = _follow_neighbours(b, a, above, best_all[1:]) if amb else b
            above = b[-1]
            labels[y0:y1] = out
            counts += paint_rows(y0, y1, out, scratch)
            done = part_progress(index, first_row, end_row, y1, h)
            steps.check() if done is None else steps.tick("mapping", 0.2 + 0.8 * done)
        return counts

    counts = np.sum(run_parts(part, h, min_size=4 * rows, align=rows), axis=0)
    return labels, counts, image


def _follow_neighbours(
    b: np.ndarray, a: np.ndarray, above: np.ndarray | None, below: np.ndarray
) -> np.ndarray:
    """Smoothed labels of a block of rows (see :func:`stream_labels`).

    Parameters
    ----------
    b, a : ndarray of uint8, shape (r, w)
        Nearest and alternative label of every pixel (equal where the choice is clear).
    above : ndarray of uint8, shape (w,), or None
        Nearest labels of the row above the block, None at the top of the image.
    below : ndarray of uint8, shape (r', w), r' in (r - 1, r)
        Nearest labels of the rows below each row of the block, as far as the image goes.

    Returns
    -------
    ndarray of uint8, shape (r, w)
    """
    # score > 0: more of the four neighbours' nearest labels are ``a`` than ``b``.
    # Comparisons are added as int8 views of their bools, which skips a casting loop.
    i8 = np.int8
    score = np.zeros(b.shape, dtype=i8)
    score[:, 1:] += (b[:, :-1] == a[:, 1:]).view(i8)
    score[:, 1:] -= (b[:, :-1] == b[:, 1:]).view(i8)
    score[:, :-1] += (b[:, 1:] == a[:, :-1]).view(i8)
    score[:, :-1] -= (b[:, 1:] == b[:, :-1]).view(i8)
    up = b[:-1] if above is None else np.concatenate([above[None], b[:-1]])
    lo = b.shape[0] - up.shape[0]
    score[lo:] += (up == a[lo:]).view(i8)
    score[lo:] -= (up == b[lo:]).view(i8)
    r = below.shape[0]
    score[:r] += (below == a[:r]).view(i8)
    score[:r] -= (below == b[:r]).view(i8)
    return bitwise_select(np.greater(score, 0), a, b)

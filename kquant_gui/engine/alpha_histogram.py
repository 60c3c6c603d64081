"""Histograms of RGBA images with soft edges: the colours k-means sees, alpha included.

Up to 2 megapixels the histogram holds every distinct RGBA value exactly. Larger images are
binned by key: opaque pixels by 18-bit bin (6 bits per channel, as the opaque path bins a
photo), semi-transparent ones by 5 bits per colour channel and 6 of alpha (their colour
matters in proportion to their alpha, so the coarser colour costs little), fully transparent
ones share one key. Each key stands for its bin's centre; pixels map through a table over the
keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .packing import CHUNK, Scratch, bin_codes, gather_fields
from .parallel import part_progress, run_parts
from .progress import Steps

#: Up to this many pixels the histogram holds every distinct RGBA colour exactly.
EXACT_MAX_PIXELS = 2_000_000
#: Binned keys (larger images): opaque pixels by 18-bit bin (6 bits per channel), as the
#: opaque path bins a photo; semi-transparent ones by 5 bits per colour channel and 6 of
#: alpha; the fully transparent ones share the last key.
OPAQUE_KEYS = 1 << 18
SEMI_KEYS = 1 << 21
TRANSPARENT_KEY = OPAQUE_KEYS + SEMI_KEYS
N_KEYS = TRANSPARENT_KEY + 1
#: r5 | g5 << 5 | b5 << 10 | a6 << 15 from r | g << 8 | b << 16 | a << 24.
SEMI_FIELDS = ((3, 0x1F), (6, 0x3E0), (9, 0x7C00), (11, 0x1F8000))


def has_soft_alpha(pixels: np.ndarray) -> bool:
    """True when an RGBA image has a pixel that is neither opaque nor fully transparent.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    """
    if pixels.shape[2] != 4:
        return False
    words = words_of(pixels)

    def soft(_: int, start: int, stop: int) -> bool:
        for s in range(start, stop, CHUNK):
            # Subtracting alpha 1 wraps alpha 0 to the top: below 254 << 24 is 0 < a < 255.
            part = words[s : min(s + CHUNK, stop)] - np.uint32(1 << 24)
            if (part < np.uint32(254 << 24)).any():
                return True
        return False

    # Every image with alpha is read whole once (a soft one stops early): on a few threads.
    return any(run_parts(soft, words.shape[0], min_size=4 * CHUNK, align=CHUNK))


@dataclass
class RgbaHistogram:
    """Weighted RGBA colours of an image.

    Attributes
    ----------
    colors : ndarray of uint8, shape (m, 4)
        Distinct visible RGBA colours (``exact``), or the centre of every occupied key.
    counts : ndarray of int64, shape (m,)
        Pixels per entry.
    exact : bool
    keys : ndarray of int64, shape (m,)
        Binned histograms: the key of every entry (see :func:`pixel_keys`).
    inverse : ndarray of intp, shape (N,) or None
        Exact histograms: the entry of every pixel, -1 for fully transparent ones.
    n_transparent : int
    """

    colors: np.ndarray
    counts: np.ndarray
    exact: bool
    keys: np.ndarray
    inverse: np.ndarray | None
    n_transparent: int


def pixel_keys(words: np.ndarray, scratch: Scratch) -> np.ndarray:
    """Binned key of packed RGBA words (see :data:`OPAQUE_KEYS`), in ``scratch.index``."""
    n = words.shape[0]
    keys = scratch.index[:n]
    keys[...] = bin_codes(words, scratch.codes, scratch.tmp)
    alpha = np.right_shift(words, 24, out=scratch.tmp[:n])
    # Most pixels of a cut-out are opaque or fully transparent: only the others get a key of
    # their own kind, computed for them alone. (alpha - 1 wraps 0 to the top, so
    # "alpha - 1 < 254" is "0 < alpha < 255".)
    alpha -= 1
    semi = np.flatnonzero(alpha < 254)
    if semi.size:
        keys[semi] = gather_fields(words[semi], SEMI_FIELDS).astype(np.intp) + OPAQUE_KEYS
    hidden = np.flatnonzero(alpha == 0xFFFFFFFF)
    if hidden.size:
        keys[hidden] = TRANSPARENT_KEY
    return keys


def key_colors(keys: np.ndarray) -> np.ndarray:
    """The RGBA colour standing for each visible key: its bin's centre, shape (m, 4)."""
    out = np.empty((keys.shape[0], 4), dtype=np.uint8)
    opaque = keys < OPAQUE_KEYS
    k = keys[opaque]
    out[opaque, 0] = ((k & 0x3F) << 2) + 2
    out[opaque, 1] = (((k >> 6) & 0x3F) << 2) + 2
    out[opaque, 2] = (((k >> 12) & 0x3F) << 2) + 2
    out[opaque, 3] = 255
    s = keys[~opaque] - OPAQUE_KEYS
    out[~opaque, 0] = ((s & 0x1F) << 3) + 4
    out[~opaque, 1] = (((s >> 5) & 0x1F) << 3) + 4
    out[~opaque, 2] = (((s >> 10) & 0x1F) << 3) + 4
    # Alpha 1..254 in 64 steps of 4: the middle of each step, kept off 0 and 255.
    out[~opaque, 3] = np.clip((((s >> 15) & 0x3F) << 2) + 2, 1, 254)
    return out


def words_of(pixels: np.ndarray) -> np.ndarray:
    """The image as packed RGBA words ``r | g << 8 | b << 16 | a << 24``, shape (N,)."""
    flat = np.ascontiguousarray(pixels).reshape(-1, 4)
    return flat.view("<u4").reshape(-1).astype(np.uint32, copy=False)


def rgba_histogram(pixels: np.ndarray, steps: Steps | None = None) -> RgbaHistogram:
    """Histogram of an RGBA image's colours: exact up to EXACT_MAX_PIXELS, else binned.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 4)
    steps : Steps, optional

    Returns
    -------
    RgbaHistogram
    """
    words = words_of(pixels)
    n = words.shape[0]
    if n <= EXACT_MAX_PIXELS:
        visible = (words >> 24) != 0
        n_transparent = int(n - np.count_nonzero(visible))
        uniq, inv, counts = np.unique(words[visible], return_inverse=True, return_counts=True)
        inverse = np.full(n, -1, dtype=np.intp)
        inverse[visible] = inv
        if steps is not None:
            steps.tick("histogram", 1.0)
        colors = uniq.view(np.uint8).reshape(-1, 4) if uniq.size else np.empty((0, 4), np.uint8)
        return RgbaHistogram(
            colors=np.array(colors),
            counts=counts.astype(np.int64),
            exact=True,
            keys=np.empty(0, dtype=np.int64),
            inverse=inverse,
            n_transparent=n_transparent,
        )

    def count(index: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, int]:
        # Opaque pixels into a table of 18-bit bins (the others into one extra slot); the
        # semi-transparent ones, a few percent of a cut-out, by key into a list, counted once
        # at the end: a 2-million-slot table per chunk cost more than everything else.
        opaque = np.zeros(OPAQUE_KEYS + 1, dtype=np.int64)
        semi_keys = []
        hidden = 0
        scratch = Scratch(min(CHUNK, stop - start))
        for s in range(start, stop, CHUNK):
            e = min(s + CHUNK, stop)
            part = words[s:e]
            codes = bin_codes(part, scratch.codes, scratch.tmp)
            alpha = np.right_shift(part, 24, out=scratch.tmp[: e - s])
            codes[alpha != 255] = OPAQUE_KEYS
            opaque += np.bincount(codes, minlength=OPAQUE_KEYS + 1)
            hidden += int(np.count_nonzero(alpha == 0))
            alpha -= 1  # wraps 0 to the top: "0 < alpha < 255" is "alpha - 1 < 254"
            semi = np.flatnonzero(alpha < 254)
            if semi.size:
                semi_keys.append(gather_fields(part[semi], SEMI_FIELDS))
            if steps is not None:
                done = part_progress(index, start, stop, e, n)
                steps.check() if done is None else steps.tick("histogram", done)
        keys = np.concatenate(semi_keys) if semi_keys else np.empty(0, np.uint32)
        return opaque[:OPAQUE_KEYS], np.bincount(keys, minlength=SEMI_KEYS), hidden

    parts = run_parts(count, n, min_size=4 * CHUNK, align=CHUNK)
    totals = np.zeros(N_KEYS, dtype=np.int64)
    for opaque, semi, hidden in parts:
        totals[:OPAQUE_KEYS] += opaque
        totals[OPAQUE_KEYS:TRANSPARENT_KEY] += semi
        totals[TRANSPARENT_KEY] += hidden
    n_transparent = int(totals[TRANSPARENT_KEY])
    keys = np.flatnonzero(totals[:TRANSPARENT_KEY])
    return RgbaHistogram(
        colors=key_colors(keys),
        counts=totals[keys],
        exact=False,
        keys=keys,
        inverse=None,
        n_transparent=n_transparent,
    )

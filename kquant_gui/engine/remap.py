"""Map every pixel to a palette entry: nearest colour, ordered (Bayer) or Floyd–Steinberg.

Nearest-colour mapping never measures per pixel: every histogram entry is assigned once, and
pixels follow their entry through a lookup table, streamed in cache-sized chunks.
"""

from __future__ import annotations

import numpy as np

from .colorspace import to_space
from .histogram import CHUNK, N_BINS, Histogram, bin_centres, bin_codes, iter_words
from .kmeans import nearest
from .progress import Steps

TRANSPARENT_LABEL = -1


def labels_from_histogram(
    pixels: np.ndarray, hist: Histogram, entry_labels: np.ndarray, transparent: int, steps: Steps
) -> np.ndarray:
    """Labels of all pixels when each histogram entry maps to one palette index.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    hist : Histogram
    entry_labels : ndarray of int, shape (m,)
        Palette index of every histogram entry.
    transparent : int
        Palette index for fully transparent pixels (ignored when there are none).
    steps : Steps

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    h, w = pixels.shape[:2]
    n = h * w
    labels = np.empty(n, dtype=np.uint8)
    if hist.inverse is not None:
        table = np.append(entry_labels.astype(np.uint8), np.uint8(max(transparent, 0)))
        # inverse is -1 for transparent pixels, which indexes the last table entry.
        for s in range(0, n, CHUNK):
            labels[s : s + CHUNK] = table[hist.inverse[s : s + CHUNK]]
            steps.tick("mapping", (s + CHUNK) / n)
        return labels.reshape(h, w)
    lut = np.zeros(N_BINS, dtype=np.uint8)
    lut[hist.codes] = entry_labels
    has_alpha = pixels.shape[2] == 4
    for s, words in iter_words(pixels):
        part = lut[bin_codes(words & np.uint32(0xFFFFFF))]
        if has_alpha:
            part[(words >> 24) == 0] = max(transparent, 0)
        labels[s : s + part.shape[0]] = part
        steps.tick("mapping", (s + CHUNK) / n)
    return labels.reshape(h, w)


def full_bin_lut(palette: np.ndarray, space: str) -> np.ndarray:
    """Nearest palette entry for the centre of every 18-bit bin.

    Parameters
    ----------
    palette : ndarray of uint8, shape (n, 3)
    space : str
        Working colour space for the distance.

    Returns
    -------
    ndarray of uint8, shape (2**18,)
    """
    centres = to_space(bin_centres(), space)
    labels, _ = nearest(centres, to_space(palette, space))
    return labels.astype(np.uint8)


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


def dither_spread(palette: np.ndarray) -> float:
    """Amplitude of ordered dithering in 8-bit units: the typical gap between palette colours.

    A fixed amplitude would be invisible at k=256 and far too coarse at k=2; the median
    nearest-neighbour distance follows the palette.
    """
    if palette.shape[0] < 2:
        return 0.0
    p = palette.astype(np.float64)
    d = np.sqrt(((p[:, None, :] - p[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    return float(np.clip(np.median(d.min(axis=1)), 4.0, 96.0))


def ordered_labels(
    pixels: np.ndarray, palette: np.ndarray, space: str, transparent: int, steps: Steps
) -> np.ndarray:
    """Ordered dithering with an 8x8 Bayer matrix.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    palette : ndarray of uint8, shape (n, 3)
        Visible palette entries (the transparent one excluded).
    space : str
    transparent : int
        Index for fully transparent pixels, or -1.
    steps : Steps

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    h, w = pixels.shape[:2]
    lut = full_bin_lut(palette, space)
    spread = dither_spread(palette)
    offsets = np.rint((bayer_matrix(3) - 0.5) * spread).astype(np.int16)
    tile = np.tile(offsets, (1, -(-w // 8)))[:, :w]
    labels = np.empty((h, w), dtype=np.uint8)
    rows = max(8, (CHUNK // max(w, 1)) // 8 * 8)
    for y in range(0, h, rows):
        block = pixels[y : y + rows]
        bh = block.shape[0]
        off = np.tile(tile, (-(-bh // 8), 1))[:bh, :, None]
        rgb = np.clip(block[..., :3].astype(np.int16) + off, 0, 255).astype(np.uint32)
        codes = (rgb[..., 0] >> 2) | ((rgb[..., 1] >> 2) << 6) | ((rgb[..., 2] >> 2) << 12)
        part = lut[codes]
        if transparent >= 0:
            part[block[..., 3] == 0] = transparent
        labels[y : y + bh] = part
        steps.tick("mapping", (y + bh) / h)
    return labels


#: Rows of context run before each Floyd–Steinberg strip, then thrown away, so that the error
#: carried into the strip is already established and no seam shows between strips.
_FS_WARMUP = 16


def floyd_steinberg_labels(
    pixels: np.ndarray, palette: np.ndarray, transparent: int, steps: Steps
) -> np.ndarray:
    """Floyd–Steinberg error diffusion (serpentine-free, as Pillow's C implementation does).

    The image is processed in strips so that cancellation is honoured within a fraction of a
    second even on very large images.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    palette : ndarray of uint8, shape (n, 3), n <= 256
    transparent : int
        Index for fully transparent pixels, or -1.
    steps : Steps

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    from PIL import Image

    h, w = pixels.shape[:2]
    n = palette.shape[0]
    # Pillow matches against all 256 slots; padding with copies of entry 0 keeps any match on a
    # padding slot equivalent to entry 0, which the fix-up below restores.
    full = np.repeat(palette[:1], 256, axis=0)
    full[:n] = palette
    pal_img = Image.new("P", (1, 1))
    pal_img.putpalette(full.tobytes())
    rgb = pixels[..., :3]
    labels = np.empty((h, w), dtype=np.uint8)
    rows = max(1, (2 * CHUNK * 4) // max(w, 1))
    for y in range(0, h, rows):
        y0 = max(0, y - _FS_WARMUP)
        y1 = min(h, y + rows)
        strip = Image.fromarray(np.ascontiguousarray(rgb[y0:y1]), "RGB")
        out = np.asarray(strip.quantize(palette=pal_img, dither=Image.Dither.FLOYDSTEINBERG))
        labels[y:y1] = out[y - y0 :]
        steps.tick("mapping", y1 / h)
    labels[labels >= n] = 0
    if transparent >= 0:
        labels[pixels[..., 3] == 0] = transparent
    return labels


def assemble_image(
    pixels: np.ndarray, palette: np.ndarray, labels: np.ndarray, steps: Steps | None = None
) -> np.ndarray:
    """Rebuild the image from palette and labels, keeping the input's alpha exactly.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        The input, for its shape and alpha.
    palette : ndarray of uint8, shape (n, 3)
    labels : ndarray of uint8, shape (H, W)

    Returns
    -------
    ndarray of uint8, same shape as ``pixels``
    """
    h, w, c = pixels.shape
    n = h * w
    out = np.empty((h, w, c), dtype=np.uint8)
    flat_out = out.reshape(n, c)
    flat_lab = labels.reshape(n)
    if c == 4:
        flat_in = pixels.reshape(n, 4)
        for s in range(0, n, CHUNK):
            flat_out[s : s + CHUNK, :3] = np.take(palette, flat_lab[s : s + CHUNK], axis=0)
            flat_out[s : s + CHUNK, 3] = flat_in[s : s + CHUNK, 3]
    else:
        for s in range(0, n, CHUNK):
            flat_out[s : s + CHUNK] = np.take(palette, flat_lab[s : s + CHUNK], axis=0)
            if steps is not None:
                steps.check()
    return out

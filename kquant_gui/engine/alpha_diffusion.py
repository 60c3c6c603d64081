"""Floyd–Steinberg error diffusion against an RGBA palette: colour and alpha error alike.

The error is carried in premultiplied linear light plus alpha, ``[a lin(c), a]``: what
neighbouring pixels blend to on screen over any background, so diffusing it reproduces colour
and coverage together. The entry chosen for a pixel is its nearest in the colour-and-alpha
working space of :mod:`.alpha` (the same metric as the mapping without dithering), the
transparent entry included. A fully transparent pixel takes the transparent entry, receives
no error and passes none on, so error never leaks across a hole into the next shape.

Error diffusion is sequential along a row and from row to row, but pixel (y, x) only waits for
(y, x - 1) and the three pixels above it, so every pixel with the same ``x + 2 y`` can be
done at once: the image is swept along those anti-diagonals, each step one numpy operation
over all of them. Tall images are cut into strips of rows, stacked so that one sweep serves
all of them; each strip first diffuses a few rows of the strip above and throws them away, so
the error is established where it starts and no seam shows.
"""

from __future__ import annotations

import numpy as np

from .alpha import premultiplied_linear, to_alpha_space
from .colorspace import srgb_to_space
from .progress import Steps

#: Kept rows per strip, and rows of the strip above diffused first and thrown away.
STRIP_ROWS = 64
WARMUP_ROWS = 8
#: Floyd–Steinberg's shares: ahead in the row, then below-behind, below, below-ahead.
_AHEAD, _BEHIND, _BELOW, _BELOW_AHEAD = 7 / 16, 3 / 16, 5 / 16, 1 / 16
_SCALE = np.float32(1.0 / np.sqrt(2.0))


def _linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    c = np.clip(linear, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1.0 / 2.4) - 0.055) * 255.0


def _coords(want: np.ndarray, space: str) -> np.ndarray:
    """Working-space coordinates (m, 6) of premultiplied linear RGBA values (m, 4)."""
    a = want[:, 3:4]
    with np.errstate(invalid="ignore", divide="ignore"):
        straight = np.where(a > 1e-6, want[:, :3] / a, 0.0)
    over_black = _linear_to_srgb(straight) * a
    both = np.concatenate([over_black, over_black + 255.0 * (1.0 - a)], axis=0)
    coords = srgb_to_space(both, space)
    m = want.shape[0]
    return np.concatenate([coords[:m], coords[m:]], axis=1) * _SCALE


def _strips(h: int) -> list[tuple[int, int]]:
    """(first diffused row, first kept row) of each strip; strips end where the next begins."""
    if h <= 2 * STRIP_ROWS:
        return [(0, 0)]
    return [(max(0, y - WARMUP_ROWS), y) for y in range(0, h, STRIP_ROWS)]


def diffuse_rgba(
    pixels: np.ndarray,
    palette: np.ndarray,
    transparent: int | None,
    space: str,
    steps: Steps | None = None,
) -> np.ndarray:
    """Floyd–Steinberg labels of an RGBA image against an RGBA palette.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 4)
    palette : ndarray of uint8, shape (n, 4), 1 <= n <= 256
    transparent : int or None
        The entry of fully transparent pixels (alpha 0), if the palette has one; without one
        they take their nearest entry and still pass no error on.
    space : {"lab", "oklab", "rgb"}
    steps : Steps, optional
        Polled for cancellation and told the progress of the "mapping" stage.

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    h, w = pixels.shape[:2]
    strips = _strips(h)
    ends = [s[1] for s in strips[1:]] + [h]
    rows = max(end - first for (first, _), end in zip(strips, ends, strict=True))
    n_strips = len(strips)
    # Stacked strips, padded to equal height with fully transparent rows.
    alpha = np.zeros((n_strips, rows, w), np.uint8)
    value = np.zeros((n_strips, rows, w, 4), np.float32)
    for i, ((first, _), end) in enumerate(zip(strips, ends, strict=True)):
        block = pixels[first:end]
        alpha[i, : end - first] = block[..., 3]
        value[i, : end - first] = premultiplied_linear(block.reshape(-1, 4)).reshape(
            end - first, w, 4
        )
    pal_value = premultiplied_linear(palette).astype(np.float32)
    pal_coords = to_alpha_space(palette, space)
    pal_norms = np.einsum("ij,ij->i", pal_coords, pal_coords)
    t_label = transparent if transparent is not None else -1
    # Error buffer with a column of padding on each side and a row below.
    error = np.zeros((n_strips, rows + 1, w + 2, 4), np.float32)
    labels = np.zeros((n_strips, rows, w), np.uint8)
    strip_idx = np.arange(n_strips)
    n_steps = w + 2 * (rows - 1)
    for t in range(n_steps):
        r = np.arange(max(0, (t - w + 2) // 2), min(rows - 1, t // 2) + 1)
        x = t - 2 * r
        r = r[(x >= 0) & (x < w)]
        x = t - 2 * r
        if r.size == 0:
            continue
        s = np.repeat(strip_idx, r.size)
        rr = np.tile(r, n_strips)
        xx = np.tile(x, n_strips)
        hidden = alpha[s, rr, xx] == 0
        want = value[s, rr, xx] + error[s, rr, xx + 1]
        # Keep the wanted value a colour: alpha in 0..1, premultiplied colour within it.
        want[:, 3] = np.clip(want[:, 3], 0.0, 1.0)
        want[:, :3] = np.clip(want[:, :3], 0.0, want[:, 3:4])
        coords = _coords(want, space)
        d = pal_norms[None, :] - 2.0 * coords @ pal_coords.T
        choice = np.argmin(d, axis=1)
        if t_label >= 0:
            choice[hidden] = t_label
        err = want - pal_value[choice]
        err[hidden] = 0.0
        labels[s, rr, xx] = choice
        error[s, rr, xx + 2] += _AHEAD * err
        error[s, rr + 1, xx] += _BEHIND * err
        error[s, rr + 1, xx + 1] += _BELOW * err
        error[s, rr + 1, xx + 2] += _BELOW_AHEAD * err
        if steps is not None and t % 64 == 0:
            steps.tick("mapping", t / n_steps)
    out = np.empty((h, w), np.uint8)
    for i, ((first, keep), end) in enumerate(zip(strips, ends, strict=True)):
        out[keep:end] = labels[i, keep - first : end - first]
    if t_label >= 0:
        out[pixels[..., 3] == 0] = t_label
    return out

"""Floyd–Steinberg error diffusion against an RGBA palette: colour and alpha error alike.

The error is carried in premultiplied linear light plus alpha, ``[a lin(c), a]``: what
neighbouring pixels blend to on screen over any background, so diffusing it reproduces colour
and coverage together. The entry chosen for a pixel is its nearest in the colour-and-alpha
working space of :mod:`.alpha` (the same metric as the mapping without dithering), the
transparent entry included, looked up by the wanted colour's key in the binned histogram's key
space (:mod:`.alpha_histogram`: 6 bits per channel when opaque, 5 and 6 of alpha otherwise)
and worked out once per key as keys are met: converting every wanted colour to the working
space took three quarters of the time. A fully transparent pixel takes the transparent entry,
receives no error and passes none on, so error never leaks across a hole into the next shape.

Error diffusion is sequential along a row and from row to row, but pixel (y, x) only waits for
(y, x - 1) and the three pixels above it, so every pixel with the same ``x + 2 y`` can be
done at once: the image is swept along those anti-diagonals, each step one numpy operation
over all of them. The image is cut into tiles, stacked so that one sweep serves a few hundred
at once; each tile first diffuses a margin of the pixels above and to its left and throws
them away, so the error is established where it starts and no seam shows.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .alpha import premultiplied_linear, to_alpha_space
from .alpha_histogram import N_KEYS, OPAQUE_KEYS, TRANSPARENT_KEY, key_colors
from .kmeans import nearest
from .progress import Steps

#: Kept pixels per tile side, and the rows above and columns to the left diffused first and
#: thrown away, so that the error is established where the tile starts and no seam shows.
TILE = 64
MARGIN = 8
#: Tiles swept side by side at once (memory: about 100 kB each).
BATCH = 256
#: Floyd–Steinberg's shares: ahead in the row, then below-behind, below, below-ahead.
_AHEAD, _BEHIND, _BELOW, _BELOW_AHEAD = 7 / 16, 3 / 16, 5 / 16, 1 / 16
#: Linear light 0..1 in this many steps, to 8-bit sRGB by table.
_ENCODE_STEPS = 4096
_NO_ENTRY = np.uint16(0xFFFF)


def _encode_table() -> np.ndarray:
    c = np.linspace(0.0, 1.0, _ENCODE_STEPS)
    srgb = np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1.0 / 2.4) - 0.055)
    return np.clip(np.rint(srgb * 255.0), 0, 255).astype(np.int64)


def _keys(want: np.ndarray, encode: np.ndarray) -> np.ndarray:
    """Key (see :func:`alpha_histogram.pixel_keys`) of premultiplied linear RGBA values."""
    a = want[:, 3]
    a8 = np.rint(a * 255.0).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        straight = np.where(a[:, None] > 1e-6, want[:, :3] / a[:, None], 0.0)
    rgb = encode[np.rint(np.clip(straight, 0.0, 1.0) * (_ENCODE_STEPS - 1)).astype(np.int64)]
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    opaque = (r >> 2) | ((g >> 2) << 6) | ((b >> 2) << 12)
    semi = OPAQUE_KEYS + ((r >> 3) | ((g >> 3) << 5) | ((b >> 3) << 10) | ((a8 >> 2) << 15))
    keys = np.where(a8 >= 255, opaque, semi)
    keys[a8 <= 0] = TRANSPARENT_KEY
    return keys


def _tiles(h: int, w: int) -> list[tuple[int, int, int, int, int, int]]:
    """Tiles as (first row, first kept row, end row, first column, first kept column, end
    column): TILE x TILE kept pixels with MARGIN rows above and MARGIN columns to the left
    diffused first and thrown away (error only flows right and down)."""
    tiles = []
    for y in range(0, h, TILE):
        for x in range(0, w, TILE):
            tiles.append(
                (max(0, y - MARGIN), y, min(h, y + TILE), max(0, x - MARGIN), x, min(w, x + TILE))
            )
    return tiles


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
    pal_value = premultiplied_linear(palette).astype(np.float32)
    pal_coords = to_alpha_space(palette, space)
    # The nearest entry of each key, worked out as keys are met.
    choice_of = np.full(N_KEYS, _NO_ENTRY, np.uint16)
    invisible = to_alpha_space(np.zeros((1, 4), np.uint8), space)
    choice_of[TRANSPARENT_KEY] = nearest(invisible, pal_coords)[0][0]
    t_label = transparent if transparent is not None else -1
    context = _Context(pal_value, pal_coords, space, _encode_table(), choice_of, t_label)
    out = np.empty((h, w), np.uint8)
    tiles = _tiles(h, w)
    for b in range(0, len(tiles), BATCH):
        batch = tiles[b : b + BATCH]
        labels = _sweep(pixels, batch, context)
        for i, (y0, yk, y1, x0, xk, x1) in enumerate(batch):
            out[yk:y1, xk:x1] = labels[i, yk - y0 : y1 - y0, xk - x0 : x1 - x0]
        if steps is not None:
            steps.tick("mapping", min(1.0, (b + BATCH) / len(tiles)))
    if t_label >= 0:
        out[pixels[..., 3] == 0] = t_label
    return out


class _Context(NamedTuple):
    pal_value: np.ndarray
    pal_coords: np.ndarray
    space: str
    encode: np.ndarray
    choice_of: np.ndarray
    t_label: int


def _sweep(
    pixels: np.ndarray, tiles: list[tuple[int, int, int, int, int, int]], ctx: _Context
) -> np.ndarray:
    """Diffuse a batch of tiles side by side; labels of shape (tiles, rows, columns)."""
    n_tiles = len(tiles)
    rows, cols = TILE + MARGIN, TILE + MARGIN
    # Stacked tiles, padded to equal size with fully transparent pixels.
    alpha = np.zeros((n_tiles, rows, cols), np.uint8)
    value = np.zeros((n_tiles, rows, cols, 4), np.float32)
    for i, (y0, _, y1, x0, _, x1) in enumerate(tiles):
        block = pixels[y0:y1, x0:x1]
        alpha[i, : y1 - y0, : x1 - x0] = block[..., 3]
        value[i, : y1 - y0, : x1 - x0] = premultiplied_linear(block.reshape(-1, 4)).reshape(
            y1 - y0, x1 - x0, 4
        )
    # Error buffer with a column of padding on each side and a row below. All four arrays are
    # addressed through flat indices: one index array per step instead of three.
    error = np.zeros((n_tiles * (rows + 1) * (cols + 2), 4), np.float32)
    labels = np.zeros(n_tiles * rows * cols, np.uint8)
    value = value.reshape(-1, 4)
    alpha = alpha.reshape(-1)
    tile_v = (np.arange(n_tiles) * (rows * cols))[:, None]
    tile_e = (np.arange(n_tiles) * ((rows + 1) * (cols + 2)))[:, None]
    below = cols + 2
    for t in range(cols + 2 * (rows - 1)):
        r = np.arange(max(0, (t - cols + 2) // 2), min(rows - 1, t // 2) + 1)
        x = t - 2 * r
        keep = x < cols
        r, x = r[keep], x[keep]
        if r.size == 0:
            continue
        iv = (tile_v + (r * cols + x)[None, :]).reshape(-1)
        ie = (tile_e + (r * below + x + 1)[None, :]).reshape(-1)
        hidden = alpha[iv] == 0
        want = value[iv] + error[ie]
        # Keep the wanted value a colour: alpha in 0..1, premultiplied colour within it.
        np.clip(want[:, 3], 0.0, 1.0, out=want[:, 3])
        np.clip(want[:, :3], 0.0, want[:, 3:4], out=want[:, :3])
        keys = _keys(want, ctx.encode)
        choice = ctx.choice_of[keys]
        missing = choice == _NO_ENTRY
        if missing.any():
            new_keys = np.unique(keys[missing])
            found, _ = nearest(to_alpha_space(key_colors(new_keys), ctx.space), ctx.pal_coords)
            ctx.choice_of[new_keys] = found
            choice = ctx.choice_of[keys]
        choice = choice.astype(np.intp)
        if ctx.t_label >= 0:
            choice[hidden] = ctx.t_label
        err = want - ctx.pal_value[choice]
        err[hidden] = 0.0
        labels[iv] = choice
        error[ie + 1] += _AHEAD * err
        error[ie + below - 1] += _BEHIND * err
        error[ie + below] += _BELOW * err
        error[ie + below + 1] += _BELOW_AHEAD * err
    return labels.reshape(n_tiles, rows, cols)

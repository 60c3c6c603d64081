"""Floyd–Steinberg error diffusion against an RGBA palette: colour and alpha error alike.

The error is carried in premultiplied linear light plus alpha, ``[a lin(c), a]``: what
neighbouring pixels blend to on screen over any background, so diffusing it reproduces colour
and coverage together. The entry chosen for a pixel is its nearest in the colour-and-alpha
working space of :mod:`.alpha` (the same metric as the mapping without dithering), the
transparent entry included, looked up by the wanted colour's key in the binned histogram's key
space (:mod:`.alpha_histogram`: 6 bits per channel when opaque, 5 and 6 of alpha otherwise)
and worked out once per key as keys are met: converting every wanted colour to the working
space took three quarters of the time. A fully transparent pixel takes the transparent entry,
receives no error and passes none on, so error never leaks across a hole into the next shape;
so does a pixel its nearest entry already represents within about 1 dE (selective: what the
palette holds stays clean).

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
    *,
    fixed: np.ndarray | None = None,
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
    fixed : ndarray of uint16, shape (H, W), optional
        Pixels that are not dithered: the entry each takes, or 0xFFFF for "diffuse". A fixed
        pixel receives no error and passes none on.

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    h, w = pixels.shape[:2]
    if fixed is None:
        fixed = np.full((h, w), 0xFFFF, np.uint16)
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
        labels = _sweep(pixels, fixed, batch, context)
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


def _order(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One tile's pixels in sweep order, and where each step's run starts.

    Returns the flat pixel index (r * cols + x) of every position in order, the start of each
    position's step run, that run's length, and the step boundaries (steps + 1,).
    """
    r, x = np.divmod(np.arange(rows * cols), cols)
    t = x + 2 * r
    order = np.lexsort((r, t))
    t_sorted = t[order]
    bounds = np.searchsorted(t_sorted, np.arange(t_sorted[-1] + 2))
    start = bounds[t_sorted]
    length = bounds[t_sorted + 1] - start
    return order, start, length, bounds


def _sweep(
    pixels: np.ndarray,
    fixed: np.ndarray,
    tiles: list[tuple[int, int, int, int, int, int]],
    ctx: _Context,
) -> np.ndarray:
    """Diffuse a batch of tiles side by side; labels of shape (tiles, rows, columns).

    Pixels are laid out in sweep order (every tile's pixels of one anti-diagonal next to each
    other), so that each step reads and writes one contiguous run, and each pixel pulls the
    error its four earlier neighbours left rather than having it pushed in by scattered adds.
    """
    n = len(tiles)
    rows, cols = TILE + MARGIN, TILE + MARGIN
    order, start, length, bounds = _order(rows, cols)
    size = rows * cols
    # Position of (tile, i-th pixel in one tile's order) in the batch's order.
    i = np.arange(size)
    batch_pos = (n * start + (i - start))[None, :] + np.arange(n)[:, None] * length[None, :]
    # Each pixel's four earlier neighbours, as positions in the batch's order (or ``total``,
    # a row of zeros, outside the tile).
    total = n * size
    where = np.empty(size, np.intp)
    where[order] = i
    r, x = np.divmod(order, cols)

    def neighbour(dr: int, dx: int) -> np.ndarray:
        rr, xx = r + dr, x + dx
        inside = (rr >= 0) & (xx >= 0) & (xx < cols)
        single = np.where(
            inside, where[np.clip(rr, 0, rows - 1) * cols + np.clip(xx, 0, cols - 1)], 0
        )
        out = batch_pos[:, single]  # (tile, i)
        out[:, ~inside] = total
        return out

    # Stacked tiles in the batch's order: position p = n * start + tile * length + offset.
    alpha_t = np.zeros((n, rows, cols), np.uint8)
    fixed_t = np.full((n, rows, cols), 0xFFFF, np.uint16)
    value_t = np.zeros((n, rows, cols, 4), np.float32)
    for k, (y0, _, y1, x0, _, x1) in enumerate(tiles):
        block = pixels[y0:y1, x0:x1]
        alpha_t[k, : y1 - y0, : x1 - x0] = block[..., 3]
        fixed_t[k, : y1 - y0, : x1 - x0] = fixed[y0:y1, x0:x1]
        value_t[k, : y1 - y0, : x1 - x0] = premultiplied_linear(block.reshape(-1, 4)).reshape(
            y1 - y0, x1 - x0, 4
        )
    place = batch_pos.reshape(-1)  # (tile, i) -> batch position
    alpha = np.empty(total, np.uint8)
    alpha[place] = alpha_t.reshape(n, size)[:, order].reshape(-1)
    kept = np.empty(total, np.uint16)
    kept[place] = fixed_t.reshape(n, size)[:, order].reshape(-1)
    value = np.empty((total, 4), np.float32)
    value[place] = value_t.reshape(n, size, 4)[:, order].reshape(-1, 4)
    del alpha_t, fixed_t, value_t
    # Neighbour positions indexed by batch position.
    nb = {}
    for name, dr, dx in (("left", 0, -1), ("up_left", -1, -1), ("up", -1, 0), ("up_right", -1, 1)):
        arr = np.empty(total, np.intp)
        arr[place] = neighbour(dr, dx).reshape(-1)
        nb[name] = arr
    error = np.zeros((total + 1, 4), np.float32)
    labels = np.zeros(total, np.uint8)
    for t in range(bounds.shape[0] - 1):
        a, b = n * bounds[t], n * bounds[t + 1]
        if a == b:
            continue
        want = value[a:b] + (
            _AHEAD * error[nb["left"][a:b]]
            + _BELOW_AHEAD * error[nb["up_left"][a:b]]
            + _BELOW * error[nb["up"][a:b]]
            + _BEHIND * error[nb["up_right"][a:b]]
        )
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
        hidden = alpha[a:b] == 0
        if ctx.t_label >= 0:
            choice[hidden] = ctx.t_label
        settled = kept[a:b] != 0xFFFF
        choice[settled] = kept[a:b][settled]
        err = want - ctx.pal_value[choice]
        err[hidden | settled] = 0.0
        error[a:b] = err
        labels[a:b] = choice
    out = np.empty((n, size), np.uint8)
    out[:, order] = labels[place].reshape(n, size)
    return out.reshape(n, rows, cols)

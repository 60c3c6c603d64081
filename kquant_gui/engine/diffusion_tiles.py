"""The tiled lock-step error-diffusion kernel shared by colour (RGB) and colour-and-alpha (RGBA).

Error diffusion is sequential along a row and from row to row, so numpy cannot vectorise it
along the image. It can vectorise *across* pieces of the image: the picture is cut into tiles
(64x64 on a large photo), each tile is diffused on its own with a margin of context above and
beside it that is thrown away, and every numpy operation of the inner loop handles the same
pixel of a group of tiles at once. A 24 MP photo then takes about 6,000 steps per group instead
of 24 million steps of one pixel. Each tile starts its margin with a small pseudo-random error,
so flat areas do not repeat the same dot pattern from tile to tile, and the margin lets the
error settle before the kept part begins, so no seam shows.

The tiles are shared out in equal groups, one per thread. Tiles depend only on the image
size, never on the thread count, and every operation is element-wise: results are
byte-identical whatever the number of threads. (Smaller groups that keep a row of carried
values in cache were no faster on two threads: each group pays the fixed cost of every step.)

What is carried, how a pixel's own value reads and how a wanted value finds its entry belong
to a :class:`Source`: linear light and a cell table for RGB palettes (:mod:`.diffusion`),
premultiplied linear light and alpha for RGBA palettes (:mod:`.alpha_diffusion`). The kernel
itself only moves error: a pixel takes the error reaching it scaled by its acceptance (0..1),
passes its own on in the kernel's shares only when it accepts any (so a pixel of acceptance 0,
such as a fully transparent one, neither receives nor passes error), and its wanted value may
move at most ``bound`` from its own value per channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .parallel import PARTS, max_threads, part_progress, run_parts
from .progress import Steps

#: Rows of context above each tile and columns either side of it, diffused and thrown away.
MARGIN_TOP = 8
MARGIN_SIDE = 8
#: Tile sizes to choose from; see :func:`tile_size`.
TILE_SIZES = (16, 24, 32, 48, 64, 96, 128)
#: Cost model of the diffusion on one thread (seconds): per lock-step, and per pixel visited.
_STEP_COST, _PIXEL_COST = 25e-6, 40e-9


@dataclass(frozen=True)
class Kernel:
    """Error weights of a diffusion kernel that reaches one pixel ahead and the row below.

    Attributes
    ----------
    ahead : float
        Share of the error to the next pixel in the row.
    below : tuple of 3 floats
        Shares to the pixels below: behind, straight below, ahead.
    """

    ahead: float
    below: tuple[float, float, float]


KERNELS = {
    "floyd-steinberg": Kernel(7 / 16, (3 / 16, 5 / 16, 1 / 16)),
    "sierra-lite": Kernel(2 / 4, (1 / 4, 1 / 4, 0.0)),
}

#: Looks up the entries of wanted values ``v`` (C, n) into ``out`` (n,) uint8; may move ``v``
#: in place (into the range of values the entries can stand for), and the error passed on is
#: then measured from the moved value.
Lookup = Callable[[np.ndarray, np.ndarray], None]
#: Reads the pixels at flat indices ``flat`` (tw, n): their own carried values into ``own``
#: (tw, C, n), how far their wanted value may move into ``bound`` (tw, n), how much of the
#: incoming error they take into ``accept`` (tw, n, 0..1), and the factor on the error they
#: pass on into ``passes`` (tw, n: 0 where acceptance is 0, else the :func:`rescale` of its
#: takers); all float32.
Reader = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]


class Source(Protocol):
    """What the kernel diffuses: see the module docstring."""

    #: Channels carried: 3 (colour) or 4 (colour and alpha).
    channels: int
    #: Carried value of every palette entry, shape (channels, n_entries), float32.
    carried: np.ndarray
    #: Amplitude of the pseudo-random start error of each tile per channel, in carried
    #: units, shape (channels,) float64 (0 where a channel starts with no error).
    noise: np.ndarray

    def reader(self, tw: int, n: int, rescale: np.ndarray) -> Reader:
        """A reader of rows of ``tw`` x ``n`` pixels, with its own scratch buffers (one per
        thread); ``rescale`` is :func:`rescale` of the kernel, for sources that know which
        neighbours of a pixel take error (see :func:`takers`)."""

    def lookup(self, n: int) -> Lookup:
        """A lookup for steps of ``n`` pixels, with its own scratch buffers (one per thread)."""


#: Bits of :func:`takers`: the pixel ahead in the row, then below behind, below, below ahead.
_AHEAD, _BEHIND_BELOW, _BELOW, _AHEAD_BELOW = 1, 2, 4, 8
#: A pixel whose takers hold only a small share of the kernel passes its error on scaled up
#: to the whole, by at most this factor.
MAX_RESCALE = 8.0


def takers(accept: np.ndarray, y0: int = 0, y1: int | None = None) -> np.ndarray:
    """Which kernel neighbours of each pixel of rows ``y0:y1`` take error (acceptance above
    0), as bits ``_AHEAD | _BEHIND_BELOW | _BELOW | _AHEAD_BELOW`` in the serpentine
    direction of its row (rightward on even rows); neighbours outside the image take none.

    Error passed to a pixel that takes none is lost. Where held pixels (a flat colour the
    palette holds exactly) surround a pixel that is not held, such as the anti-aliased edge
    between two flat colours of a logo, most of its error was lost that way and its average
    colour drifted; the kernel now passes it to the takers alone (see :func:`rescale`). On
    the bench logo at k=16, the worst blurred 32x32 block went from 0.90 to 0.64 dE2000.

    Parameters
    ----------
    accept : ndarray, shape (H, W)
    y0, y1 : int
        The rows (default: all); the row below them is read too.

    Returns
    -------
    ndarray of uint8, shape (y1 - y0, W)
    """
    h, w = accept.shape
    y1 = h if y1 is None else y1
    out = np.empty((y1 - y0, w), dtype=np.uint8)
    rows = max(1, (1 << 18) // max(w, 1))
    for a0 in range(y0, y1, rows):
        a1 = min(y1, a0 + rows)
        # The rows and the one below, with a column of non-takers either side.
        t = np.zeros((a1 - a0 + 1, w + 2), dtype=np.uint8)
        below_end = min(a1 + 1, h)
        t[: below_end - a0, 1:-1] = accept[a0:below_end] > 0
        left, mid, right = slice(0, w), slice(1, w + 1), slice(2, w + 2)
        dest = out[a0 - y0 : a1 - y0]
        # Even image rows run rightward, odd ones leftward: each parity on its own rows.
        for first, ahead, behind in ((a0 % 2, right, left), (1 - a0 % 2, left, right)):
            here, below = t[first:-1:2], t[first + 1 :: 2]
            rows_out = dest[first::2]
            np.left_shift(below[:, behind], 1, out=rows_out)
            rows_out |= here[:, ahead]
            rows_out |= below[:, mid] << 2
            rows_out |= below[:, ahead] << 3
    return out


def rescale(weights: Kernel) -> np.ndarray:
    """Per :func:`takers` mask, the factor that scales a pixel's error up to the whole kernel
    over its takers (1 when all take, at most ``MAX_RESCALE``), float32 of shape (16,)."""
    shares = np.array([weights.ahead, *weights.below])
    total = np.array([shares[[i for i in range(4) if m >> i & 1]].sum() for m in range(16)])
    with np.errstate(divide="ignore"):
        factor = np.where(total > 0, 1.0 / np.maximum(total, 1e-12), 0.0)
    return np.minimum(factor, MAX_RESCALE).astype(np.float32)


def tile_size(h: int, w: int) -> int:
    """The tile edge that minimises the modelled time of the kernel for an H x W image.

    Smaller tiles mean fewer lock-steps (each with a fixed overhead) but more margin pixels
    diffused twice; the model weighs the two. The choice changes the result, so it must not
    depend on the thread count: the model assumes one thread.
    """

    def cost(t: int) -> float:
        th, tw = min(t, h) + MARGIN_TOP, min(t, w) + 2 * MARGIN_SIDE
        tiles = -(-h // t) * -(-w // t)
        return th * tw * (_STEP_COST + _PIXEL_COST * tiles)

    return min(TILE_SIZES, key=cost)


def _tile_noise(tiles: np.ndarray, width: int, amplitude: np.ndarray) -> np.ndarray:
    """Deterministic uniform noise in [-amplitude, amplitude) of each channel (``amplitude``
    of shape (C,)), shape (width, C, n_tiles), from an integer hash of (tile, column,
    channel): the same whatever the tile grouping."""
    channels = amplitude.shape[0]
    x = np.arange(width, dtype=np.uint64)[:, None, None]
    c = np.arange(channels, dtype=np.uint64)[None, :, None]
    t = tiles.astype(np.uint64)[None, None, :]
    h = (t * np.uint64(0x9E3779B97F4A7C15)) ^ (x * np.uint64(0xBF58476D1CE4E5B9)) ^ c
    h ^= h >> np.uint64(31)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(29)
    u = (h >> np.uint64(40)).astype(np.float64) / float(1 << 24)
    return ((u * 2.0 - 1.0) * amplitude[None, :, None]).astype(np.float32)


def diffuse_tiles(
    h: int, w: int, source: Source, weights: Kernel, steps: Steps | None = None
) -> np.ndarray:
    """Diffuse an H x W image tile by tile; the label of every pixel.

    Runs on up to :func:`~.parallel.max_threads` threads; the result does not depend on them.

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    t = tile_size(h, w)
    nx = -(-w // t)
    n_tiles = -(-h // t) * nx
    # Groups of equal size, one per thread (the grouping does not change the result).
    n_groups = min(max_threads(), PARTS, n_tiles)
    per_group = -(-n_tiles // n_groups)
    n_groups = -(-n_tiles // per_group)
    out = np.empty((h, w), dtype=np.uint8)
    geometry = _Geometry(h, w, t, nx)

    def part(i: int, g0: int, g1: int) -> None:
        for g in range(g0, g1):
            first = g * per_group

            def tick(fraction: float, g: int = g) -> None:
                done = part_progress(i, g0, g1, g + fraction, n_groups)
                if steps is not None:
                    steps.check() if done is None else steps.tick("mapping", done)

            _diffuse_group(
                np.arange(first, min(first + per_group, n_tiles)),
                geometry,
                source,
                weights,
                out,
                tick,
            )

    run_parts(part, n_groups, min_size=2)
    return out


@dataclass(frozen=True)
class _Geometry:
    h: int
    w: int
    tile: int
    nx: int


def _diffuse_group(
    tiles: np.ndarray,
    g: _Geometry,
    source: Source,
    weights: Kernel,
    out: np.ndarray,
    tick: Callable[[float], None],
) -> None:
    """Diffuse the tiles ``tiles`` (consecutive) side by side, writing the labels of their
    kept pixels into ``out`` (H, W)."""
    h, w, t = g.h, g.w, g.tile
    th, tw = t + MARGIN_TOP, t + 2 * MARGIN_SIDE
    c = source.channels
    n = tiles.size
    first = int(tiles[0])
    y0 = (tiles // g.nx) * t - MARGIN_TOP
    x0 = (tiles % g.nx) * t - MARGIN_SIDE
    cols = np.clip(x0[None, :] + np.arange(tw)[:, None], 0, w - 1)  # (tw, n)
    # Error arriving at each pixel of the current row, with a spare column either side.
    err = np.zeros((tw + 2, c, n), dtype=np.float32)
    err[1:-1] = _tile_noise(tiles, tw, source.noise)
    diff = np.zeros((tw + 2, c, n), dtype=np.float32)
    weight = np.zeros((tw + 2, n), dtype=np.float32)
    v = np.empty((c, n), dtype=np.float32)
    f = np.empty((c, n), dtype=np.float32)
    entry = np.empty((c, n), dtype=np.float32)
    lab_idx = np.empty(n, dtype=np.intp)
    labels = np.empty((tw, n), dtype=np.uint8)
    own = np.empty((tw, c, n), dtype=np.float32)
    spare = np.empty((tw, c, n), dtype=np.float32)
    bound = np.empty((tw, n), dtype=np.float32)
    accept = np.empty((tw, n), dtype=np.float32)
    passes = np.empty((tw, n), dtype=np.float32)
    ahead_w = np.empty((tw, 1, n), dtype=np.float32)
    flat = np.empty((tw, n), dtype=np.intp)
    read = source.reader(tw, n, rescale(weights))
    lookup = source.lookup(n)
    carried = source.carried
    ahead = np.float32(weights.ahead)
    b_behind, b_below, b_ahead = (np.float32(b) for b in weights.below)
    # Views made once: indexing in the inner loop costs as much as a small operation.
    err_at, diff_at, own_at, labels_at = list(err), list(diff), list(own), list(labels)
    high_at = list(bound[:, None, :])
    low = np.empty((tw, 1, n), dtype=np.float32)
    low_at = list(low)
    for r in range(th):
        np.add((np.clip(y0 + r, 0, h - 1) * w)[None, :], cols, out=flat)
        read(flat, own, bound, accept, passes)
        np.negative(bound[:, None, :], out=low)
        # Error from the row above reaches a pixel scaled by what it accepts; so does the
        # error from the pixel before it, folded into the weight that pixel passes on.
        err[1:-1] *= accept[:, None, :]
        weight[1:-1] = accept
        # Tile rows start on even image rows (tile sizes and MARGIN_TOP are even), so
        # rightward rows are the even ones, as takers() assumes.
        rightward = r % 2 == 0
        nxt = weight[2:] if rightward else weight[:-2]
        np.multiply(passes, nxt, out=ahead_w[:, 0, :])
        ahead_w *= ahead
        step = 1 if rightward else -1
        for x in range(tw) if rightward else range(tw - 1, -1, -1):
            # own + clip(error, -bound, bound): the same float as clipping own + error to
            # [own - bound, own + bound], with no per-channel bounds to build.
            e = err_at[x + 1]
            np.maximum(e, low_at[x], out=e)
            np.minimum(e, high_at[x], out=e)
            np.add(own_at[x], e, out=v)
            lab = labels_at[x]
            lookup(v, lab)
            d = diff_at[x + 1]
            np.copyto(lab_idx, lab)  # cheaper than take's own conversion of uint8
            carried.take(lab_idx, axis=1, out=entry, mode="clip")
            np.subtract(v, entry, out=d)
            np.multiply(d, ahead_w[x], out=f)
            err_at[x + 1 + step] += f
        # The row below: each pixel's error, if it passes any, spread over three pixels.
        diff[1:-1] *= passes[:, None, :]
        behind_d = diff[2:] if rightward else diff[:-2]
        ahead_d = diff[:-2] if rightward else diff[2:]
        np.multiply(diff[1:-1], b_below, out=err[1:-1])
        err[1:-1] += np.multiply(behind_d, b_behind, out=spare)
        err[1:-1] += np.multiply(ahead_d, b_ahead, out=spare)
        if r >= MARGIN_TOP:
            _write_kept(labels[None, MARGIN_SIDE : MARGIN_SIDE + t], r - MARGIN_TOP, first, g, out)
        tick((r + 1) / th)


def _write_kept(kept: np.ndarray, row: int, first: int, g: _Geometry, out: np.ndarray) -> None:
    """Copy kept labels ``kept`` (k, t, n: row, column, tile), rows ``row`` to ``row + k`` of
    the consecutive tiles from ``first`` on, into ``out`` (H, W), a tile row at a time (no
    index per pixel); parts of tiles beyond the image are dropped."""
    h, w, t, nx = g.h, g.w, g.tile, g.nx
    whole = w // t  # tile columns that lie inside the image
    n = kept.shape[2]
    i = 0
    while i < n:
        ty, tx = divmod(first + i, nx)
        m = min(n - i, nx - tx)  # tiles of this tile row in the group
        y = ty * t + row
        rows = min(kept.shape[0], h - y)
        if rows > 0:
            dest = out[y : y + rows]
            full = max(0, min(m, whole - tx))
            if full:
                block = dest[:, tx * t : (tx + full) * t].reshape(rows, full, t)
                block[...] = kept[:rows, :, i : i + full].transpose(0, 2, 1)
            if full < m:  # the last tile column, cut by the image's right edge
                x = (tx + full) * t
                dest[:, x:] = kept[:rows, : w - x, i + full]
        i += m

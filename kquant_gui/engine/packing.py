"""Pixels as packed 32-bit words: packing, bin codes, chunked streaming and scratch buffers.

Every large-image pass of the engine reads pixels as words ``r | g << 8 | b << 16 | a << 24``
in chunks that keep each temporary in cache, and does its arithmetic in preallocated uint32
buffers; that, not the arithmetic, is what makes those passes fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import cache

import numpy as np

#: Pixels per chunk in the streaming passes: 1 Mi words amortise numpy's per-call overhead and
#: let the worker threads run long stretches without the GIL (measured fastest of 64 Ki-1 Mi).
CHUNK = 1 << 20
BIN_BITS = 6
N_BINS = 1 << (3 * BIN_BITS)
_LITTLE = sys.byteorder == "little"


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """Pack 8-bit colours into integers ``r | g << 8 | b << 16``.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (..., 3)

    Returns
    -------
    ndarray of uint32, shape (...)
    """
    rgb = np.asarray(rgb)
    return (
        rgb[..., 0].astype(np.uint32)
        | (rgb[..., 1].astype(np.uint32) << 8)
        | (rgb[..., 2].astype(np.uint32) << 16)
    )


def unpack_rgb(words: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack_rgb`: shape (...) uint32 to shape (..., 3) uint8."""
    words = np.asarray(words, dtype=np.uint32)
    return np.stack([words & 0xFF, (words >> 8) & 0xFF, (words >> 16) & 0xFF], axis=-1).astype(
        np.uint8
    )


def gather_fields(
    words: np.ndarray,
    fields: tuple[tuple[int, int], ...],
    out: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
) -> np.ndarray:
    """``OR`` of ``(words >> shift) & mask`` over ``fields``: bit fields moved side by side.

    Parameters
    ----------
    words : ndarray of uint32, shape (n,)
    fields : tuple of (shift, mask)
    out, scratch : ndarray of uint32, shape (>= n,), optional
        Buffers to compute in (see :class:`Scratch`); the result is ``out[:n]``.
    """
    if out is None or scratch is None:
        result = np.zeros(words.shape, dtype=np.uint32)
        for shift, mask in fields:
            result |= (words >> shift) & mask
        return result
    n = words.shape[0]
    out, tmp = out[:n], scratch[:n]
    (shift, mask), rest = fields[0], fields[1:]
    np.right_shift(words, shift, out=out)
    out &= mask
    for shift, mask in rest:
        np.right_shift(words, shift, out=tmp)
        tmp &= mask
        out |= tmp
    return out


#: The top 6 bits of each channel of ``r | g << 8 | b << 16``, as ``r6 | g6 << 6 | b6 << 12``.
BIN_FIELDS = ((2, 0x3F), (4, 0xFC0), (6, 0x3F000))


def bin_codes(
    words: np.ndarray, out: np.ndarray | None = None, scratch: np.ndarray | None = None
) -> np.ndarray:
    """18-bit bin of packed colours: the top 6 bits of each channel, ``r | g << 6 | b << 12``.

    Parameters
    ----------
    words : ndarray of uint32, shape (n,)
    out, scratch : ndarray of uint32, shape (>= n,), optional
        Buffers to compute in (see :class:`Scratch`); the result is ``out[:n]``.
    """
    return gather_fields(words, BIN_FIELDS, out, scratch)


class Scratch:
    """Work buffers for one streaming thread, allocated once and reused for every chunk.

    A fresh temporary per operation costs more than the operation here: numpy asks the kernel
    for huge pages for arrays of 4 MB and up, and zeroing them took 3 ms of a 4 ms chunk. The
    arithmetic stays in uint32 (an int64 result from uint32 input takes numpy's slow casting
    loop); ``index`` holds indices already widened for ``take``, ``pairs`` the label pairs
    of the mapping (see :mod:`lut`).

    Parameters
    ----------
    size : int
        Elements per buffer: the longest range that will be streamed at once.
    """

    def __init__(self, size: int) -> None:
        self.words = np.empty(size, dtype=np.uint32)
        self.codes = np.empty(size, dtype=np.uint32)
        self.tmp = np.empty(size, dtype=np.uint32)
        self.index = np.empty(size, dtype=np.intp)
        self.pairs = np.empty(size, dtype=np.uint16)


@cache
def bin_centers() -> np.ndarray:
    """The sRGB colour at the centre of every 18-bit bin, shape (2**18, 3) uint8, read-only."""
    codes = np.arange(N_BINS, dtype=np.uint32)
    r = (codes & 0x3F) << 2
    g = ((codes >> 6) & 0x3F) << 2
    b = ((codes >> 12) & 0x3F) << 2
    centers = (np.stack([r, g, b], axis=-1) + 2).astype(np.uint8)
    centers.flags.writeable = False  # shared between calls
    return centers


def words_range(
    pixels: np.ndarray, start: int, stop: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Packed colour words of the flattened pixels ``start:stop``.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    start, stop : int
        Range in the flattened image, ``0 <= start < stop <= H * W``.
    out : ndarray of uint32, shape (>= stop - start,), optional
        Buffer for the words of RGB input (RGBA input is read in place).

    Returns
    -------
    ndarray of uint32, shape (stop - start,)
        ``r | g << 8 | b << 16 | a << 24`` (a = 0 for RGB input). May be a read-only view
        of ``pixels``.
    """
    h, w, c = pixels.shape
    n = h * w
    if not _LITTLE or not pixels.flags.c_contiguous:
        part = pixels.reshape(n, c)[start:stop]
        words = pack_rgb(part)
        if c == 4:
            words |= part[:, 3].astype(np.uint32) << 24
        return words
    if c == 4:
        return pixels.reshape(-1).view(np.uint32)[start:stop]
    # RGB: read 4 bytes at a stride of 3. Each word holds one pixel plus the next pixel's red
    # byte, which the mask drops; the last pixel has no next byte and is packed by hand.
    view = np.ndarray((n - 1,), dtype="<u4", buffer=pixels, strides=(3,))
    last = None
    if stop == n:
        r, g, b = (int(v) for v in pixels.reshape(n, 3)[-1])
        last = np.uint32(r | g << 8 | b << 16)
    if out is None:
        words = view[start : min(stop, n - 1)] & np.uint32(0xFFFFFF)
        return words if last is None else np.append(words, last)
    words = out[: stop - start]
    body = min(stop, n - 1) - start
    np.bitwise_and(view[start : start + body], np.uint32(0xFFFFFF), out=words[:body])
    if last is not None:
        words[body] = last
    return words


def iter_words(pixels: np.ndarray, chunk: int = CHUNK) -> Iterator[tuple[int, np.ndarray]]:
    """Stream an image as packed colour words (see :func:`words_range`), ``chunk`` at a time.

    Yields
    ------
    start : int
        Index of the first pixel of the chunk in the flattened image.
    words : ndarray of uint32, shape (n,)
    """
    n = pixels.shape[0] * pixels.shape[1]
    for s in range(0, n, chunk):
        yield s, words_range(pixels, s, min(s + chunk, n))


def sampled_words(pixels: np.ndarray, y0: int, y1: int, out: np.ndarray) -> np.ndarray:
    """Packed words of every other pixel of every other row in rows ``y0:y1`` (``y0`` even).

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3), C-contiguous, W >= 2
    y0, y1 : int
    out : ndarray of uint32, shape (>= ceil((y1 - y0) / 2) * (W // 2),)

    Returns
    -------
    ndarray of uint32, shape (ceil((y1 - y0) / 2) * (W // 2),)
    """
    w = pixels.shape[1]
    ny, nx = (y1 - y0 + 1) // 2, w // 2
    # Columns 0, 2, ..., never the last one, so each 4-byte read ends inside its row.
    view = np.ndarray((ny, nx), dtype="<u4", buffer=pixels, offset=3 * w * y0, strides=(6 * w, 6))
    words = out[: ny * nx]
    np.bitwise_and(view, np.uint32(0xFFFFFF), out=words.reshape(ny, nx))
    return words


def bitwise_select(
    choose: np.ndarray,
    if_true: np.ndarray | np.integer,
    if_false: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``np.where(choose, if_true, if_false)`` for unsigned integers, without masked loops.

    A masked copy (``np.copyto`` with ``where=``, ``np.where``) costs about 30 times as much as
    this on a megapixel block: the bools become an all-ones mask (``-1`` in the integers'
    type), and ``if_false ^ ((if_true ^ if_false) & mask)`` picks ``if_true`` under the mask.

    Parameters
    ----------
    choose : ndarray of bool, the shape of ``if_false``
        Consumed: its memory becomes the mask.
    if_true : ndarray or scalar of ``if_false``'s dtype
    if_false : ndarray of uint8 or uint16
    out : ndarray, optional
        Where to write the result; may be ``if_false`` itself. By default a new array.

    Returns
    -------
    ndarray of ``if_false``'s dtype and shape
    """
    mask = choose.view(np.uint8)
    if if_false.dtype != np.uint8:
        mask = mask.astype(if_false.dtype)
    np.negative(mask, out=mask)  # 1 -> all ones
    diff = np.bitwise_xor(if_true, if_false)
    diff &= mask
    return np.bitwise_xor(if_false, diff, out=diff if out is None else out)

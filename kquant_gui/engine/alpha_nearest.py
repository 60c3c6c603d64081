"""Exact nearest entry of an RGBA palette for the colours error diffusion asks about.

Error diffusion against an RGBA palette wants the nearest entry (in the colour-and-alpha
working space of :mod:`.alpha`, the metric of the mapping without dithering) of colours that
are not in the image: each pixel plus the error reaching it, millions of different 8-bit RGBA
values. :class:`AlphaNearest` answers by the kind of colour the wanted value rounds to:

- *Opaque* (alpha 255), most pixels of a real image: one table of every 8-bit colour
  (:class:`~.nearest.EntryTable`, the machinery of opaque palettes). Against an opaque colour
  ``x`` an RGBA entry with composites ``b`` (over black) and ``w`` (over white) is at
  ``(|x - b|^2 + |x - w|^2) / 2 = |x - m|^2 + |b - w|^2 / 4``, with ``m`` their midpoint: a
  point of the opaque working space plus an offset, which the table takes as it is.
- *Semi-transparent* (alpha 1..254), the few pixels of edges and shadows: measured, each
  against every entry. Cells of such colours worked out as met (settled whole where one entry
  is provably nearest, measured against a few candidates elsewhere) took twice the CPU time
  on a crop of the 24 MP matte (4.0 s against 1.85 s): error moves a faint pixel's colour far,
  so most lookups met a new cell (200,000 cells for 525,000 lookups), and working out a cell
  (its 16 corners) costs more than measuring a colour.
- *Fully transparent*: the entry nearest to nothing (the shared transparent entry).

Everything is computed element-wise (no matrix products, whose rounding can depend on the
rows around), so an entry does not depend on the colours looked up with it, nor on the thread
that does it: results are the same for any thread count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .alpha import to_alpha_space
from .colorspace import SRGB_TO_LINEAR, linear_channels_to_space
from .nearest import EntryTable, key_part

#: The working coordinates of :mod:`.alpha` are scaled by this.
_SCALE = 1.0 / np.sqrt(2.0)
#: The working coordinates (over black, then over white) in the order in which soft colours
#: come out of :func:`_composite_coords`: each coordinate over black, then over white.
_ORDER = [0, 3, 1, 4, 2, 5]
#: Straight linear light 0..1 in this many steps to the nearest 8-bit code: fine enough that
#: every code's own value comes back to it (the closest two codes are 3e-4 apart).
_STEPS = 1 << 14
#: Alpha from which a wanted value counts as opaque (rounds to 255), and below which as fully
#: transparent (rounds to 0): the middle and half the width of the range between.
_OPAQUE_FROM = np.float32(254.5 / 255.0)
_VISIBLE_FROM = np.float32(0.5 / 255.0)
_SOFT_MIDDLE = (_OPAQUE_FROM + _VISIBLE_FROM) / 2
_SOFT_HALF = (_OPAQUE_FROM - _VISIBLE_FROM) / 2


def _code_tables() -> tuple[np.ndarray, np.ndarray]:
    """Straight linear light ``x`` by ``floor(x (_STEPS - 1))``, for each channel in turn
    (shape (3 * _STEPS,)): the 8-bit code nearest in linear light to the middle of the step,
    and the code's share of a key of :class:`EntryTable`."""
    bounds = (SRGB_TO_LINEAR[:-1] + SRGB_TO_LINEAR[1:]) / 2
    middles = (np.arange(_STEPS) + 0.5) / (_STEPS - 1)
    code = np.searchsorted(bounds, middles).astype(np.intp)
    return np.tile(code, 3), np.concatenate([key_part(code, c) for c in range(3)])


_CODE, _OPAQUE_PART = _code_tables()


def _product_to_linear() -> np.ndarray:
    """Linear light of the sRGB values ``n / 255**2`` for ``n`` in 0..255**2, shape (65026,)."""
    c = np.arange(255 * 255 + 1) / (255.0 * 255.0)
    return np.where(c <= 0.04045, c / 12.92, ((np.maximum(c, 0.04045) + 0.055) / 1.055) ** 2.4)


_PRODUCT_TO_LINEAR = _product_to_linear()


def alpha_coords(
    r: np.ndarray, g: np.ndarray, b: np.ndarray, a: np.ndarray, space: str
) -> list[np.ndarray]:
    """Working coordinates of 8-bit RGBA colours given channel by channel, element-wise.

    The same values as :func:`.alpha.to_alpha_space` to rounding (about 1e-13).

    Parameters
    ----------
    r, g, b, a : ndarray of int, same shape (any), values 0..255
        Straight (not premultiplied) alpha.
    space : {"lab", "oklab", "rgb"}

    Returns
    -------
    ndarray of float64, shape (..., 6)
        Over black, then over white, each scaled by 1/sqrt(2).
    """
    a = np.asarray(a, dtype=np.intp)
    return premultiplied_coords([np.asarray(c, dtype=np.intp) * a for c in (r, g, b)], a, space)


def premultiplied_coords(black: list[np.ndarray], a: np.ndarray, space: str) -> np.ndarray:
    """:func:`alpha_coords` of colours given as their premultiplied channels ``c a`` (three
    int arrays, 0..255**2) and alpha ``a`` (int, 0..255), shape (..., 6)."""
    veil = 255 * (255 - a)
    num = np.stack([np.stack([c, c + veil]) for c in black])
    both = np.stack(_composite_coords(num, space), axis=-1)  # (2, ..., 3)
    return np.concatenate([both[0], both[1]], axis=-1)


def _composite_coords(num: np.ndarray, space: str) -> list[np.ndarray]:
    """Working coordinates (scaled by 1/sqrt(2)) of composites given as their sRGB values
    times 255, shape (3, ...) of int 0..255**2: three arrays of shape (...).

    A composite's sRGB value times 255 is an integer (over black c a, over white
    c a + 255 (255 - a)), so its linear light comes from a table; both composites of a batch
    go through one conversion, which costs more per call than per colour.
    """
    if space in ("lab", "oklab"):
        lin = _PRODUCT_TO_LINEAR.take(num)
        coords = linear_channels_to_space([lin[0], lin[1], lin[2]], space)
    else:
        coords = [c / 255.0 for c in num]
    for c in coords:
        c *= _SCALE
    return coords


def opaque_view(palette: np.ndarray, space: str) -> tuple[np.ndarray, np.ndarray]:
    """Each RGBA entry as an opaque colour sees it: the midpoint of its two composites in the
    opaque working space, and the offset that makes the squared distance from an opaque
    colour to that midpoint, plus the offset, its colour-and-alpha distance to the entry.

    Parameters
    ----------
    palette : ndarray of uint8, shape (n, 4)
    space : {"lab", "oklab", "rgb"}

    Returns
    -------
    midpoints : ndarray of float64, shape (n, 3)
    offsets : ndarray of float64, shape (n,)
    """
    both = to_alpha_space(palette, space) / _SCALE
    black, white = both[:, :3], both[:, 3:]
    gap = black - white
    return (black + white) / 2.0, (gap * gap).sum(axis=1) / 4.0


#: Finds the entries of wanted premultiplied linear RGBA values ``v`` (4, m), alpha within
#: 0..1 and colour within alpha, into ``out`` (m,) uint8.
Find = Callable[[np.ndarray, np.ndarray], None]


class AlphaNearest:
    """Exact nearest entry of 8-bit RGBA colours against an RGBA palette.

    Parameters
    ----------
    palette : ndarray of uint8, shape (n, 4), 1 <= n <= 256
    space : {"lab", "oklab", "rgb"}
    near : ndarray of bool, shape (2**18,), optional
        The 18-bit bins of opaque colours to work out up front (all by default); see
        :class:`~.nearest.EntryTable`.

    Attributes
    ----------
    opaque : EntryTable
        The nearest entry of every opaque colour.
    transparent : int
        The entry of fully transparent colours.
    """

    def __init__(self, palette: np.ndarray, space: str, near: np.ndarray | None = None) -> None:
        self.space = space
        p = np.asarray(palette, dtype=np.intp)
        midpoints, offsets = opaque_view(palette, space)
        self.opaque = EntryTable(midpoints, space, near, offsets)
        coords = alpha_coords(p[:, 0], p[:, 1], p[:, 2], p[:, 3], space)
        self._coords = np.ascontiguousarray(coords[:, _ORDER].T)  # (6, n)
        self._twice = -2.0 * self._coords
        self._norms = (self._coords**2).sum(axis=0)
        zero = np.zeros(1, dtype=np.intp)
        invisible = alpha_coords(zero, zero, zero, zero, space)
        self.transparent = int(np.argmin(self._distances(invisible[:, _ORDER].T)[0]))

    def _distances(self, x: np.ndarray) -> np.ndarray:
        """Squared distances of colours ``x`` (shape (6, m), coordinates in the order of
        ``_ORDER``) to every entry, less ``|x|^2`` (the same for every entry), shape (m, n).

        ``|e|^2 - 2 x.e``, element-wise in a fixed order (a matrix product's rounding may
        depend on the rows around): the same whatever the colours measured with it. A
        third fewer passes over (m, n) than summing squared differences, which matters
        with 256 entries."""
        d2 = np.multiply.outer(x[0], self._twice[0])
        term = np.empty_like(d2)
        for j in range(1, 6):
            np.multiply.outer(x[j], self._twice[j], out=term)
            d2 += term
        d2 += self._norms
        return d2

    def finder(self, n: int) -> Find:
        """A :data:`Find` for up to ``n`` values at a time, with its own scratch buffers (one
        per thread)."""
        straight = np.empty((3, n), dtype=np.float32)
        den = np.empty(n, dtype=np.float32)
        idx = np.empty((3, n), dtype=np.intp)
        keys = np.empty((3, n), dtype=np.uint32)
        channel = (np.arange(3) * _STEPS)[:, None]
        table = self.opaque
        labels, unknown = table.labels, table.unknown
        found = np.empty(n, dtype=labels.dtype)
        offset = np.empty(n, dtype=np.float32)
        step = np.float32(1.0 / (_STEPS - 1))

        def find(v: np.ndarray, out: np.ndarray) -> None:
            m = v.shape[1]
            a, s, i, k, f = v[3], straight[:, :m], idx[:, :m], keys[:, :m], found[:m]
            # The straight colour in table steps (0 where nothing shows): v <= a, so at most
            # _STEPS - 1 (a hair over it before the truncation to an index).
            np.maximum(a, np.float32(1e-12), out=den[:m])
            den[:m] *= step
            np.divide(v[:3], den[:m], out=s)
            np.copyto(i, s, casting="unsafe")
            i += channel
            # Every value as if opaque (most are): one key of the opaque table.
            _OPAQUE_PART.take(i, out=k, mode="clip")
            np.bitwise_or(k[0], k[1], out=k[0])
            np.bitwise_or(k[0], k[2], out=k[0])
            labels.take(k[0], out=f, mode="clip")
            # Then the others: semi-transparent (|a - middle| < half), fully transparent.
            d = offset[:m]
            np.subtract(a, _SOFT_MIDDLE, out=d)
            np.abs(d, out=d)
            soft = np.flatnonzero(d < _SOFT_HALF)
            hidden = a < _VISIBLE_FROM
            if f.max() == unknown:
                missing = f == unknown
                missing[soft] = False
                missing[hidden] = False
                if missing.any():
                    table.resolve(k[0][missing])
                    labels.take(k[0], out=f, mode="clip")
            np.copyto(f, self.transparent, where=hidden)
            if soft.size:
                f[soft] = self._soft_entries(_CODE.take(i[:, soft]), a[soft])
            np.copyto(out, f, casting="unsafe")

        return find

    def _soft_entries(self, codes: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Entries of semi-transparent colours: 8-bit ``codes`` (3, m) and alpha ``a`` (m,)
        0..1, between fully transparent and opaque; intp of shape (m,).

        Ties go to the lowest entry, as with an argmin over the working coordinates."""
        # 1..254 (float32 rounding next to the ends could make it 0 or 255).
        a8 = np.clip(np.rint(a * np.float32(255.0)), 1, 254).astype(np.intp)
        m = a8.shape[0]
        num = np.empty((3, 2, m), dtype=np.intp)
        np.multiply(codes, a8, out=num[:, 0])
        np.add(num[:, 0], 255 * (255 - a8), out=num[:, 1])
        x = np.array(_composite_coords(num, self.space)).reshape(6, -1)  # in _ORDER
        # In slices of at most ~2**18 distances (a strength-0 pass looks up 2**18 at once).
        rows = max(1, (1 << 18) // self._norms.shape[0])
        if m <= rows:
            return self._distances(x).argmin(axis=1)
        out = np.empty(m, dtype=np.intp)
        for s in range(0, m, rows):
            out[s : s + rows] = self._distances(x[:, s : s + rows]).argmin(axis=1)
        return out

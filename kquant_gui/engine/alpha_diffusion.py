"""What error diffusion carries against an RGBA palette: colour and alpha error alike.

The kernel that moves the error is the one of opaque images (:mod:`.diffusion_tiles`:
serpentine, tiled, byte-identical across thread counts); this module is its RGBA
:class:`~.diffusion_tiles.Source`.

The error is carried in premultiplied linear light plus alpha, ``[a lin(c), a]``: what
neighbouring pixels blend to on screen over any background, so diffusing it reproduces colour
and coverage together. The entry chosen for a pixel is its nearest in the colour-and-alpha
working space of :mod:`.alpha` (the same metric as the mapping without dithering), the
transparent entry included, looked up by the wanted colour's key in the binned histogram's key
space (:mod:`.alpha_histogram`: 6 bits per channel when opaque, 5 and 6 of alpha otherwise)
and worked out once per key as keys are met: converting every wanted colour to the working
space took three quarters of the time.

A fully transparent pixel takes the transparent entry, receives no error and passes none on,
so error never leaks across a hole into the next shape; so does a pixel its nearest entry
already represents within about 1 dE (``fixed``: what the palette holds stays clean). Every
other pixel takes ``strength`` of the error reaching it.
"""

from __future__ import annotations

import threading

import numpy as np

from .alpha import to_alpha_space
from .alpha_histogram import N_KEYS, OPAQUE_KEYS, TRANSPARENT_KEY, key_colors
from .colorspace import SRGB_TO_LINEAR
from .diffusion_tiles import Lookup, Reader
from .kmeans import nearest

#: Linear light 0..1 in this many steps, to 8-bit sRGB by table.
_ENCODE_STEPS = 4096
_NO_ENTRY = np.uint16(0xFFFF)
#: Fixed pixels: "not fixed".
FREE = 0xFFFF
_LINEAR = SRGB_TO_LINEAR.astype(np.float32)
_ALPHA = (np.arange(256) / 255.0).astype(np.float32)


def _encode_table() -> np.ndarray:
    c = np.linspace(0.0, 1.0, _ENCODE_STEPS)
    srgb = np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1.0 / 2.4) - 0.055)
    return np.clip(np.rint(srgb * 255.0), 0, 255).astype(np.int64)


_ENCODE = _encode_table()


def premultiplied(rgba: np.ndarray) -> np.ndarray:
    """``[a lin(c), a]`` of 8-bit RGBA colours, shape (..., 4) uint8 to (..., 4) float32."""
    a = _ALPHA[rgba[..., 3]]
    out = np.empty(rgba.shape, np.float32)
    np.multiply(_LINEAR[rgba[..., :3]], a[..., None], out=out[..., :3])
    out[..., 3] = a
    return out


def _field_tables() -> tuple[np.ndarray, np.ndarray]:
    """Linear light in ``_ENCODE_STEPS`` steps to each channel's field of an opaque key (6
    bits) and of a semi-transparent one (5 bits), pre-shifted into place: shape (3, steps)."""
    shifts = np.arange(3)[:, None]
    opaque = (_ENCODE[None, :] >> 2) << (6 * shifts)
    semi = (_ENCODE[None, :] >> 3) << (5 * shifts)
    return opaque, semi


_OPAQUE_FIELDS, _SEMI_FIELDS = _field_tables()


def _keys(want: np.ndarray) -> np.ndarray:
    """Key (see :func:`alpha_histogram.pixel_keys`) of premultiplied linear RGBA values,
    shape (4, n), colour within alpha and alpha within 0..1."""
    a = want[3]
    a8 = np.rint(a * 255.0).astype(np.int64)
    # Straight colour: premultiplied over alpha (0 where nothing shows), in table steps.
    straight = np.zeros((3, a.shape[0]), np.float32)
    np.divide(want[:3], a, out=straight, where=a > 1e-6)
    np.minimum(straight, 1.0, out=straight)
    straight *= np.float32(_ENCODE_STEPS - 1)
    idx = np.rint(straight).astype(np.intp)
    idx += (np.arange(3) * _ENCODE_STEPS)[:, None]
    opaque = _OPAQUE_FIELDS.take(idx)
    keys = np.bitwise_or(opaque[0], opaque[1], out=opaque[0])
    keys |= opaque[2]
    semi_at = np.flatnonzero(a8 < 255)
    if semi_at.size:
        fields = _SEMI_FIELDS.take(idx[:, semi_at])
        semi = fields[0] | fields[1]
        semi |= fields[2]
        semi |= (a8[semi_at] >> 2) << 15
        semi += OPAQUE_KEYS
        keys[semi_at] = semi
    keys[a8 <= 0] = TRANSPARENT_KEY
    return keys


class AlphaSource:
    """What an RGBA palette diffuses (see :class:`~.diffusion_tiles.Source`).

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 4)
    palette : ndarray of uint8, shape (n, 4), 1 <= n <= 256
    space : {"lab", "oklab", "rgb"}
    strength : float
        In (0, 1]: the share of the error reaching a pixel that it takes.
    fixed : ndarray of uint16, shape (H, W), optional
        Pixels that are not dithered: the entry each takes, or ``FREE``.
    """

    channels = 4

    def __init__(
        self,
        pixels: np.ndarray,
        palette: np.ndarray,
        space: str,
        strength: float,
        fixed: np.ndarray | None = None,
    ) -> None:
        h, w = pixels.shape[:2]
        values = premultiplied(palette)
        self.carried = np.ascontiguousarray(values.T)  # (4, n)
        # Start error on the colour channels only: noise on alpha would leave opaque areas
        # carrying an alpha error that no opaque entry pays back.
        self.noise = np.zeros(4)
        self.noise[:3] = _noise_amplitude(values[palette[:, 3] > 0])
        self._rgba = pixels.reshape(h * w, 4)
        self._shape = (h, w)
        # 1 where a pixel takes error: visible and not fixed.
        free = pixels[..., 3] > 0
        if fixed is not None:
            free &= fixed == FREE
        self._free = free.reshape(-1)
        self._strength = np.float32(strength)
        self._space = space
        self._coords = to_alpha_space(palette, space)
        self._norms = np.einsum("ij,ij->i", self._coords, self._coords)
        # The nearest entry of each key, worked out as keys are met (by any thread: a key's
        # entry does not depend on who works it out, so the result does not either).
        self._choice = np.full(N_KEYS, _NO_ENTRY, np.uint16)
        invisible = to_alpha_space(np.zeros((1, 4), np.uint8), space)
        self._choice[TRANSPARENT_KEY] = nearest(invisible, self._coords)[0][0]
        self._lock = threading.Lock()

    def reader(self, tw: int, n: int, rescale: np.ndarray) -> Reader:
        # No takers: a pixel passes on all of its error, or none (see the module docstring).
        rgba_of, free_of, strength = self._rgba, self._free, self._strength
        idx = np.empty((tw, n), dtype=np.intp)
        a = np.empty((tw, n), dtype=np.float32)

        def read(flat, own, bound, accept, passes) -> None:  # the arrays of Reader
            rgba = rgba_of.take(flat, axis=0)  # (tw, n, 4)
            # Bytes to intp into a kept buffer first: cheaper than take's own conversion.
            np.copyto(idx, rgba[..., 3])
            _ALPHA.take(idx, out=a, mode="clip")
            for c in range(3):
                np.copyto(idx, rgba[..., c])
                _LINEAR.take(idx, out=own[:, c, :], mode="clip")
                own[:, c, :] *= a
            own[:, 3, :] = a
            # No reach: the lookup keeps wanted values within what a colour can be.
            bound.fill(2.0)
            np.multiply(free_of.take(flat), strength, out=accept)
            np.greater(accept, 0, out=passes, casting="unsafe")

        return read

    def _learn(self, keys: np.ndarray) -> None:
        """Work out the nearest entry of the visible ``keys``.

        Which keys are worked out together depends on the order the threads meet them in, so
        a key's entry must not depend on its batch: distances come from numpy's own
        element-wise sums of products (einsum without BLAS, whose rounding can change with
        the rows around it), the same for a key in any batch.
        """
        keys = keys[keys != TRANSPARENT_KEY]
        coords = to_alpha_space(key_colors(keys), self._space)
        entries = np.empty(keys.shape[0], np.uint16)
        rows = max(1, (1 << 18) // self._coords.shape[0])
        for s in range(0, keys.shape[0], rows):
            # |c|^2 - 2 x.c: the squared distance less |x|^2, the same for every entry.
            d = np.einsum("ij,kj->ik", coords[s : s + rows], self._coords, optimize=False)
            d *= -2.0
            d += self._norms
            entries[s : s + rows] = d.argmin(axis=1)
        with self._lock:
            self._choice[keys] = entries

    def nearest_labels(self) -> np.ndarray:
        """Every pixel's entry with no error diffused (strength 0), shape (H, W) uint8."""
        n = self._rgba.shape[0]
        out = np.empty(n, np.uint8)
        chunk = 1 << 18
        find = self.lookup(chunk)
        for s in range(0, n, chunk):
            find(
                np.ascontiguousarray(premultiplied(self._rgba[s : s + chunk]).T),
                out[s : s + chunk],
            )
        return out.reshape(self._shape)

    def lookup(self, n: int) -> Lookup:
        choice = self._choice

        def find(v: np.ndarray, out: np.ndarray) -> None:
            # Keep the wanted value a colour: alpha in 0..1, premultiplied colour within it.
            a = v[3]
            np.maximum(a, 0.0, out=a)
            np.minimum(a, 1.0, out=a)
            np.maximum(v[:3], 0.0, out=v[:3])
            np.minimum(v[:3], a, out=v[:3])
            keys = _keys(v)
            found = choice[keys]
            missing = found == _NO_ENTRY
            if missing.any():
                self._learn(_distinct(keys[missing]))
                found = choice[keys]
            out[...] = found

        return find


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct values of ``keys``, sorted (np.unique took a millisecond per call here,
    whatever the size: its hash table)."""
    keys = np.sort(keys)
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))]


def _noise_amplitude(values: np.ndarray) -> float:
    """Half the typical gap between visible entries, in premultiplied linear light and alpha:
    a start error that shifts a tile's dot pattern by up to a whole period."""
    if values.shape[0] < 2:
        return 0.0
    d = np.sqrt(((values[:, None, :] - values[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    return float(0.5 * np.median(d.min(axis=1)))

"""What error diffusion carries against an RGBA palette: colour and alpha error alike.

The kernel that moves the error is the one of opaque images (:mod:`.diffusion_tiles`:
serpentine, tiled, byte-identical across thread counts); this module is its RGBA
:class:`~.diffusion_tiles.Source`.

The error is carried in premultiplied linear light plus alpha, ``[a lin(c), a]``: what
neighbouring pixels blend to on screen over any background, so diffusing it reproduces colour
and coverage together. The entry chosen for a pixel is the exact nearest entry, in the
colour-and-alpha working space of :mod:`.alpha` (the same metric as the mapping without
dithering, the transparent entry included), of the 8-bit RGBA colour its wanted value rounds
to: :class:`~.alpha_nearest.AlphaNearest`, one table for opaque colours and cells worked out
as met for semi-transparent ones.

A fully transparent pixel takes the transparent entry, receives no error and passes none on,
so error never leaks across a hole into the next shape; so does a pixel its nearest entry
already represents within about 1 dE (``fixed``: what the palette holds stays clean). Every
other pixel takes ``strength`` of the error reaching it, damped at strong edges and in fine
grain of what it shows over black and over white (:func:`~.damping.composite_damping`, the
opaque images' damping on both composites): an alpha edge is an edge too.
"""

from __future__ import annotations

import numpy as np

from .alpha_nearest import AlphaNearest
from .colorspace import SRGB_TO_LINEAR
from .damping import composite_damping
from .diffusion_tiles import Lookup, Reader
from .parallel import run_parts

#: Fixed pixels: "not fixed".
FREE = 0xFFFF
_LINEAR = SRGB_TO_LINEAR.astype(np.float32)
_ALPHA = (np.arange(256) / 255.0).astype(np.float32)


def premultiplied(rgba: np.ndarray) -> np.ndarray:
    """``[a lin(c), a]`` of 8-bit RGBA colours, shape (..., 4) uint8 to (..., 4) float32."""
    a = _ALPHA[rgba[..., 3]]
    out = np.empty(rgba.shape, np.float32)
    np.multiply(_LINEAR[rgba[..., :3]], a[..., None], out=out[..., :3])
    out[..., 3] = a
    return out


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
    near : ndarray of bool, shape (2**18,), optional
        The 18-bit bins of opaque colours whose entries are worked out up front (all by
        default); see :class:`~.alpha_nearest.AlphaNearest`.
    """

    channels = 4

    def __init__(
        self,
        pixels: np.ndarray,
        palette: np.ndarray,
        space: str,
        strength: float,
        fixed: np.ndarray | None = None,
        near: np.ndarray | None = None,
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
        # What each pixel accepts of the error reaching it, 0..255: by its local contrast
        # as it shows (see :mod:`.damping`), 0 where it takes none (fully transparent or
        # fixed).
        self._accept = _acceptance(pixels, fixed).reshape(-1)
        self._strength = np.float32(strength / 255.0)
        # Worked out as met, by any thread: a colour's entry does not depend on who works it
        # out, so the result does not either.
        self._nearest = AlphaNearest(palette, space, near)

    def reader(self, tw: int, n: int, rescale: np.ndarray) -> Reader:
        # No takers: a pixel passes on all of its error, or none (see the module docstring).
        rgba_of, accept_of, strength = self._rgba, self._accept, self._strength
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
            np.multiply(accept_of.take(flat), strength, out=accept)
            np.greater(accept, 0, out=passes, casting="unsafe")

        return read

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
        find = self._nearest.finder(n)

        def clip_and_find(v: np.ndarray, out: np.ndarray) -> None:
            # Keep the wanted value a colour: alpha in 0..1, premultiplied colour within it.
            a = v[3]
            np.maximum(a, 0.0, out=a)
            np.minimum(a, 1.0, out=a)
            np.maximum(v[:3], 0.0, out=v[:3])
            np.minimum(v[:3], a, out=v[:3])
            find(v, out)

        return clip_and_find


def _acceptance(pixels: np.ndarray, fixed: np.ndarray | None) -> np.ndarray:
    """What each pixel accepts of the error reaching it, uint8 of shape (H, W): its
    :func:`~.damping.composite_damping`, 0 where it is fully transparent or fixed."""
    h, w = pixels.shape[:2]
    out = np.empty((h, w), dtype=np.uint8)
    rows = max(1, (1 << 18) // max(w, 1))

    def part(i: int, first: int, end: int) -> None:
        for y0 in range(first, end, rows):
            y1 = min(end, y0 + rows)
            accept = composite_damping(pixels, y0, y1)
            accept[pixels[y0:y1, :, 3] == 0] = 0
            if fixed is not None:
                accept[fixed[y0:y1] != FREE] = 0
            out[y0:y1] = accept

    # Row by row and element-wise: the same whatever the parts and threads.
    run_parts(part, h, min_size=2 * rows, align=rows)
    return out


def _noise_amplitude(values: np.ndarray) -> float:
    """Half the typical gap between visible entries, in premultiplied linear light and alpha:
    a start error that shifts a tile's dot pattern by up to a whole period."""
    if values.shape[0] < 2:
        return 0.0
    d = np.sqrt(((values[:, None, :] - values[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    return float(0.5 * np.median(d.min(axis=1)))

"""The working space for colour and alpha together: each RGBA colour as it shows on screen.

A semi-transparent pixel has no colour of its own; it has the colour it gives over whatever is
behind it. Over black that is the premultiplied colour ``a c``; over white ``a c + (1 - a)``
(both in sRGB values, the way browsers and image viewers blend). Every other background lies
between the two, so a palette that is right over black and over white is right everywhere.

The working coordinates of an RGBA colour are therefore the two composites, each converted to
the perceptual space k-means uses for opaque colours (CIELAB with compressed chroma, OKLab or
plain sRGB), side by side and scaled by 1/sqrt(2)::

    x(c, a) = [ space(a c), space(a c + (1 - a) white) ] / sqrt(2)        shape (6,)

Squared Euclidean distance is then the mean of the squared colour differences over black and
over white, which is the score transparency is judged by (mean CIEDE2000 over white and over
black). It is the premultiplied form of the perceptual space: the over-black half is the
premultiplied colour, and the difference between the halves is the alpha axis, weighted by
exactly what an alpha step costs on screen, ``da |c - background|`` in perceptual units. A
faint pixel's colour barely moves either composite, so it weighs in proportion to its alpha
without a separate weight; an opaque colour lands at ``[x, x] / sqrt(2)``, so between opaque
colours distances are those of the opaque working space. Fully transparent pixels all land
on one point, ``[black, white] / sqrt(2)``.

libimagequant compares premultiplied, gamma-adjusted RGB channel by channel, taking per
channel the worse of the differences over black and over white; measuring both composites in
a perceptual space instead weighs lightness, chroma and hue as the eye (and CIEDE2000) does.

Going back (:func:`from_alpha_space`): the point of the colour-and-alpha surface nearest to a
cluster mean is the best palette entry for that cluster (the weighted sum of squared
distances to a point is the cluster's spread plus its weight times the squared distance
from the mean). It is found in closed form in sRGB values and then polished by a small search
over neighbouring 8-bit values.
"""

from __future__ import annotations

import numpy as np

from .colorspace import (
    SRGB_TO_LINEAR,
    expand_chroma,
    lab_to_linear,
    oklab_to_linear,
    srgb_to_space,
)

#: Working-space dimensions of an RGBA colour: a colour over black, then over white.
ALPHA_DIMS = 6
_SCALE = 1.0 / np.sqrt(2.0)
#: The shared fully transparent palette entry: black at alpha 0 (PNG and GIF readers show
#: nothing there whatever the colour; black compresses best).
TRANSPARENT_RGBA = (0, 0, 0, 0)


def composite(rgba: np.ndarray, background: int) -> np.ndarray:
    """RGBA colours blended over a grey ``background`` level (0 black, 255 white), rounded.

    The blend is in sRGB values, as browsers and image viewers do it.

    Parameters
    ----------
    rgba : ndarray of uint8, shape (..., 4)
    background : int
        0..255.

    Returns
    -------
    ndarray of uint8, shape (..., 3)
    """
    rgba = np.asarray(rgba)
    a = rgba[..., 3:4].astype(np.uint32)
    mixed = rgba[..., :3].astype(np.uint32) * a + np.uint32(background) * (255 - a)
    # Exact rounding of mixed / 255 for mixed <= 255 * 255.
    mixed += 128
    return ((mixed + (mixed >> 8)) >> 8).astype(np.uint8)


def to_alpha_space(rgba: np.ndarray, space: str) -> np.ndarray:
    """Working coordinates of RGBA colours: their composites over black and white.

    Parameters
    ----------
    rgba : ndarray of uint8, shape (m, 4)
        Straight (not premultiplied) alpha.
    space : {"lab", "oklab", "rgb"}
        The perceptual space each composite is measured in.

    Returns
    -------
    ndarray of float64, shape (m, 6)
        ``[space(over black), space(over white)] / sqrt(2)``.
    """
    rgba = np.asarray(rgba, dtype=np.uint8).reshape(-1, 4)
    m = rgba.shape[0]
    # Unrounded composites: rounding them to 8 bits would make the borders between palette
    # entries in a smooth gradient of alpha ragged (and the PNG larger).
    a = rgba[:, 3:4] / 255.0
    over_black = rgba[:, :3] * a
    both = np.concatenate([over_black, over_black + 255.0 * (1.0 - a)], axis=0)
    coords = srgb_to_space(both, space)
    out = np.empty((m, ALPHA_DIMS), dtype=np.float64)
    out[:, :3] = coords[:m]
    out[:, 3:] = coords[m:]
    out *= _SCALE
    return out


def _space_to_srgb(coords: np.ndarray, space: str) -> np.ndarray:
    """Working-space coordinates to sRGB values 0..255, unrounded and clipped, shape (m, 3)."""
    if space == "rgb":
        return np.clip(coords, 0.0, 255.0)
    linear = lab_to_linear(expand_chroma(coords)) if space == "lab" else oklab_to_linear(coords)
    c = np.clip(linear, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1.0 / 2.4) - 0.055) * 255.0


def _closed_form(black: np.ndarray, white: np.ndarray, min_alpha: np.ndarray) -> np.ndarray:
    """The RGBA whose composites come nearest ``black`` and ``white`` in sRGB values.

    Over black ``p = a c``, over white ``p + (1 - a) 255``: the least-squares alpha makes
    ``(1 - a) 255`` the mean of ``white - black`` over the channels, and ``p`` the mean of
    the two estimates of it.
    """
    gap = np.clip(np.mean(white - black, axis=1), 0.0, 255.0)
    a8 = np.clip(np.rint(255.0 - gap), min_alpha, 255)
    a = a8 / 255.0
    premultiplied = (black + white - (1.0 - a)[:, None] * 255.0) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        rgb = np.where(a[:, None] > 0, premultiplied / a[:, None], 0.0)
    out = np.empty((black.shape[0], 4), dtype=np.uint8)
    out[:, :3] = np.clip(np.rint(rgb), 0, 255)
    out[:, 3] = a8
    return out


#: The neighbourhood searched around each closed-form entry: every channel -1, 0 or +1.
_STEPS = np.array(
    [(r, g, b, a) for r in (-1, 0, 1) for g in (-1, 0, 1) for b in (-1, 0, 1) for a in (-1, 0, 1)],
    dtype=np.int16,
)
#: Rounds of that search: each moves an entry by at most one level per channel.
_POLISH_ROUNDS = 3


def from_alpha_space(
    coords: np.ndarray, space: str, *, min_alpha: int | np.ndarray = 1
) -> np.ndarray:
    """RGBA colours nearest to working-space points (see the module docstring).

    Parameters
    ----------
    coords : ndarray of float, shape (n, 6)
        Points of the space :func:`to_alpha_space` maps to, e.g. cluster means.
    space : {"lab", "oklab", "rgb"}
    min_alpha : int or ndarray of int, shape (n,)
        Lowest alpha to return (per point, or for all): 1 keeps every entry visible, so that
        only the shared transparent entry has alpha 0; 255 asks for an opaque colour.

    Returns
    -------
    ndarray of uint8, shape (n, 4)
        Straight alpha; colours of sRGB's gamut.
    """
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, ALPHA_DIMS)
    n = coords.shape[0]
    if n == 0:
        return np.empty((0, 4), dtype=np.uint8)
    black = _space_to_srgb(coords[:, :3] / _SCALE, space)
    white = _space_to_srgb(coords[:, 3:] / _SCALE, space)
    min_alpha = np.broadcast_to(np.asarray(min_alpha, dtype=np.int16), (n,))
    best = _closed_form(black, white, min_alpha)
    best_d = np.sum((to_alpha_space(best, space) - coords) ** 2, axis=1)
    for _ in range(_POLISH_ROUNDS):
        cand = best.astype(np.int16)[:, None, :] + _STEPS[None, :, :]
        cand[..., :3] = np.clip(cand[..., :3], 0, 255)
        cand[..., 3] = np.clip(cand[..., 3], min_alpha[:, None], 255)
        cand8 = cand.astype(np.uint8).reshape(-1, 4)
        d = np.sum(
            (to_alpha_space(cand8, space).reshape(n, -1, ALPHA_DIMS) - coords[:, None]) ** 2,
            axis=2,
        )
        pick = np.argmin(d, axis=1)
        moved = d[np.arange(n), pick] < best_d
        if not moved.any():
            break
        best[moved] = cand8.reshape(n, -1, 4)[moved, pick[moved]]
        best_d[moved] = d[moved, pick[moved]]
    # Colour under alpha 0 is invisible; store the canonical transparent entry.
    best[best[:, 3] == 0] = TRANSPARENT_RGBA
    return best


def premultiplied_linear(rgba: np.ndarray) -> np.ndarray:
    """Linear-light premultiplied colour and alpha, ``[a lin(c), a]``, shape (m, 4) float64.

    Averages of these are what neighbouring pixels blend to on screen (in linear light), so
    ordered dithering mixes two entries in these coordinates.

    Parameters
    ----------
    rgba : ndarray of uint8, shape (m, 4)
    """
    rgba = np.asarray(rgba, dtype=np.uint8).reshape(-1, 4)
    a = rgba[:, 3:4] / 255.0
    return np.concatenate([SRGB_TO_LINEAR[rgba[:, :3]] * a, a], axis=1)

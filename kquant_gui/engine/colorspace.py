"""Colour-space conversions between 8-bit sRGB and the spaces k-means works in.

All conversions go through linear-light sRGB, so that distances in CIELAB and OKLab are
perceptual. The forward direction starts from 8-bit values and uses a 256-entry table for the
transfer function; the inverse clips back into the sRGB gamut before rounding.
"""

from __future__ import annotations

import numpy as np

from ..options import COLOR_SPACES as COLOR_SPACES  # re-exported: its home before options

# IEC 61966-2-1 transfer function, tabulated once for every 8-bit code value.
_codes = np.arange(256, dtype=np.float64) / 255.0
SRGB_TO_LINEAR = np.where(_codes <= 0.04045, _codes / 12.92, ((_codes + 0.055) / 1.055) ** 2.4)

# Linear sRGB (D65) to CIE XYZ, and the D65 reference white.
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE = _RGB_TO_XYZ.sum(axis=1)
_RGB_TO_XYZ_WHITE = _RGB_TO_XYZ / _WHITE[:, None]

# Björn Ottosson's OKLab matrices (linear sRGB -> LMS, LMS' -> Lab).
_OK_M1 = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_OK_M2 = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)
_OK_M1_INV = np.linalg.inv(_OK_M1)
_OK_M2_INV = np.linalg.inv(_OK_M2)
# OKLab lightness runs 0..1; scaling by 100 puts its distances on the same footing as CIELAB's,
# which keeps tolerances in the k-means loop meaningful for both.
_OK_SCALE = 100.0

_EPS = (6.0 / 29.0) ** 3
# (fx, fy, fz) -> (L* + 16, a*, b*) as a row-vector product.
_F_TO_LAB = np.array([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]]).T
_KAPPA = 1.0 / (3.0 * (6.0 / 29.0) ** 2)


def _lab_f_inv(t: np.ndarray) -> np.ndarray:
    return np.where(t > 6.0 / 29.0, t**3, (t - 4.0 / 29.0) / _KAPPA)


def srgb8_to_linear(rgb: np.ndarray) -> np.ndarray:
    """Decode 8-bit sRGB to linear light.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (..., 3)
        Or float values on the same 0-255 scale (the mean colour of a histogram bin), decoded
        with the transfer function itself rather than the table.

    Returns
    -------
    ndarray of float64, shape (..., 3), values in [0, 1]
    """
    rgb = np.asarray(rgb)
    if rgb.dtype.kind == "f":
        c = np.clip(rgb / 255.0, 0.0, 1.0)
        return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return SRGB_TO_LINEAR[rgb]


def linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    """Encode linear light to 8-bit sRGB, clipping out-of-gamut values.

    Parameters
    ----------
    linear : ndarray of float, shape (..., 3)

    Returns
    -------
    ndarray of uint8, shape (..., 3)
    """
    c = np.clip(linear, 0.0, 1.0)
    encoded = np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1.0 / 2.4) - 0.055)
    return np.clip(np.rint(encoded * 255.0), 0, 255).astype(np.uint8)


def srgb8_to_lab(rgb: np.ndarray) -> np.ndarray:
    """8-bit sRGB to CIELAB (D65).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (..., 3)
        Or float values on the same scale (see :func:`srgb8_to_linear`).

    Returns
    -------
    ndarray of float64, shape (..., 3): L* in [0, 100], a*, b*
    """
    rgb = np.asarray(rgb)
    return linear_to_lab(srgb8_to_linear(rgb.reshape(-1, 3))).reshape(rgb.shape)


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """Linear sRGB to CIELAB (D65).

    Parameters
    ----------
    linear : ndarray of float64, shape (m, 3)

    Returns
    -------
    ndarray of float64, shape (m, 3)
    """
    # Flat (m, 3) rows and one matrix with the white point folded in: four times faster than
    # broadcasting over arbitrary leading axes, which matters for 100k-colour histograms.
    xyz = linear @ _RGB_TO_XYZ_WHITE.T
    f = np.cbrt(xyz)
    dark = xyz <= _EPS
    if dark.any():
        np.copyto(f, xyz * _KAPPA + 4.0 / 29.0, where=dark)
    # L, a, b as one product: column-by-column arithmetic on (m, 3) rows took three times as
    # long as the whole conversion otherwise.
    lab = f @ _F_TO_LAB
    lab[:, 0] -= 16.0
    return lab


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) to linear sRGB, unclipped.

    Parameters
    ----------
    lab : ndarray of float, shape (..., 3)

    Returns
    -------
    ndarray of float64, shape (..., 3)
    """
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    xyz = np.stack([_lab_f_inv(fx), _lab_f_inv(fy), _lab_f_inv(fz)], axis=-1) * _WHITE
    return xyz @ _XYZ_TO_RGB.T


def srgb8_to_oklab(rgb: np.ndarray) -> np.ndarray:
    """8-bit sRGB to OKLab, scaled so that L runs from 0 to 100.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (..., 3)
        Or float values on the same scale (see :func:`srgb8_to_linear`).

    Returns
    -------
    ndarray of float64, shape (..., 3)
    """
    return linear_to_oklab(srgb8_to_linear(rgb))


def linear_to_oklab(linear: np.ndarray) -> np.ndarray:
    """Linear sRGB to OKLab, scaled so that L runs from 0 to 100.

    Parameters
    ----------
    linear : ndarray of float64, shape (..., 3)

    Returns
    -------
    ndarray of float64, shape (..., 3)
    """
    lms = np.cbrt(linear @ _OK_M1.T)
    return (lms @ _OK_M2.T) * _OK_SCALE


def oklab_to_linear(lab: np.ndarray) -> np.ndarray:
    """Scaled OKLab (L in 0..100) to linear sRGB, unclipped.

    Parameters
    ----------
    lab : ndarray of float, shape (..., 3)

    Returns
    -------
    ndarray of float64, shape (..., 3)
    """
    lms = (np.asarray(lab, dtype=np.float64) / _OK_SCALE) @ _OK_M2_INV.T
    return (lms**3) @ _OK_M1_INV.T


#: CIEDE2000 divides chroma differences by S_C = 1 + 0.045 C. Clustering on the chroma
#: C' = ln(1 + 0.045 C) / 0.045, whose derivative is exactly 1 / S_C, makes Euclidean distances
#: weigh chroma as CIEDE2000 does (the idea behind DIN99). Plain CIELAB over-spends palette
#: entries on saturated colours: at k=4 on china.jpg it costs 0.4 mean dE2000.
_SC = 0.045


def _rescale_chroma(coords: np.ndarray, new_chroma) -> np.ndarray:
    """Scale (a, b) so that chroma c becomes ``new_chroma(c)``; lightness and hue stay."""
    a, b = coords[..., 1], coords[..., 2]
    c = np.sqrt(a * a + b * b)  # np.hypot is three times slower and no more useful here
    safe = np.maximum(c, 1e-12)
    g = new_chroma(safe)
    g /= safe
    g[c <= 1e-12] = 1.0
    out = np.array(coords, dtype=np.float64)
    out[..., 1] *= g
    out[..., 2] *= g
    return out


def compress_chroma(lab: np.ndarray) -> np.ndarray:
    """CIELAB to the clustering coordinates: L* unchanged, chroma scaled by 1/S_C, hue kept.

    Parameters
    ----------
    lab : ndarray of float, shape (..., 3)

    Returns
    -------
    ndarray of float64, shape (..., 3)
    """
    return _rescale_chroma(lab, lambda c: np.log1p(_SC * c) / _SC)


def expand_chroma(coords: np.ndarray) -> np.ndarray:
    """Inverse of :func:`compress_chroma`.

    Parameters
    ----------
    coords : ndarray of float, shape (..., 3)

    Returns
    -------
    ndarray of float64, shape (..., 3)
    """
    return _rescale_chroma(coords, lambda c: np.expm1(_SC * c) / _SC)


def to_space(rgb: np.ndarray, space: str) -> np.ndarray:
    """Convert 8-bit sRGB colours into the working space ``space``.

    "lab" gives CIELAB with chroma compressed as CIEDE2000 weighs it (see
    :func:`compress_chroma`); "oklab" gives OKLab scaled to L in 0..100; "rgb" the 8-bit values.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (..., 3)
        Or float values on the same 0-255 scale (see :func:`srgb8_to_linear`).
    space : {"lab", "oklab", "rgb"}

    Returns
    -------
    ndarray of float64, shape (..., 3)
    """
    if space == "lab":
        return compress_chroma(srgb8_to_lab(rgb))
    if space == "oklab":
        return srgb8_to_oklab(rgb)
    return np.asarray(rgb, dtype=np.float64)


def channels_to_space(r: np.ndarray, g: np.ndarray, b: np.ndarray, space: str) -> list[np.ndarray]:
    """:func:`to_space` of 8-bit colours given channel by channel, computed element-wise.

    No matrix products: each colour's coordinates are the same whatever the colours around
    it in the batch (a matrix product's rounding may depend on them), and on large batches
    this is about six times faster than :func:`to_space`. The same values to rounding.

    Parameters
    ----------
    r, g, b : ndarray of int, same shape (any), values 0..255
    space : {"lab", "oklab", "rgb"}

    Returns
    -------
    list of 3 ndarrays of float64, each of the shape of ``r``
    """
    if space not in ("lab", "oklab"):
        return [np.asarray(c, dtype=np.float64) for c in (r, g, b)]
    return linear_channels_to_space([SRGB_TO_LINEAR.take(c) for c in (r, g, b)], space)


def linear_channels_to_space(lin: list[np.ndarray], space: str) -> list[np.ndarray]:
    """:func:`channels_to_space` of linear-light channels (3 float arrays of one shape, any
    values), to CIELAB (chroma compressed) or OKLab, element-wise: 3 float64 arrays."""
    m = _OK_M1 if space == "oklab" else _RGB_TO_XYZ_WHITE
    return _mixed_to_space([_row(m, i, lin) for i in range(3)], space)


def cube_to_space(r: np.ndarray, g: np.ndarray, b: np.ndarray, space: str) -> list[np.ndarray]:
    """:func:`channels_to_space` of the colours of cubes: every combination of a cube's
    ``r``, ``g`` and ``b`` codes, the same values bit for bit at a fraction of the cost.

    Each coordinate is first a sum of one term per channel; a term is worked out once per
    code of its channel and the terms are added by broadcasting, in the order
    :func:`channels_to_space` adds them.

    Parameters
    ----------
    r, g, b : ndarray of int, shape (m, s), values 0..255
        The codes of each of m cubes, per channel.
    space : {"lab", "oklab", "rgb"}

    Returns
    -------
    list of 3 ndarrays of float64, each of shape (m, s**3) (transposed views): colour
    ``(r[i], g[j], b[l])`` of a cube at ``i + j s + l s**2``.
    """
    m, side = np.shape(r)
    # Worked out with the cubes along the last axis (one long inner loop per operation, not
    # s of them) and returned transposed.
    shape = (side, side, side, m)
    axes = (
        (None, None, slice(None), slice(None)),
        (None, slice(None), None, slice(None)),
        (slice(None), None, None, slice(None)),
    )
    codes = [np.asarray(c).T for c in (r, g, b)]
    if space not in ("lab", "oklab"):
        rgb = (c.astype(np.float64)[ax] for c, ax in zip(codes, axes, strict=True))
        return [np.broadcast_to(c, shape).reshape(-1, m).T for c in rgb]
    lin = [SRGB_TO_LINEAR.take(c) for c in codes]
    matrix = _OK_M1 if space == "oklab" else _RGB_TO_XYZ_WHITE
    mixed = []
    for i in range(3):
        t = np.empty(shape)
        terms = [lin[c][axes[c]] * matrix[i, c] for c in range(3)]
        np.add(terms[0], terms[1], out=t)
        t += terms[2]
        mixed.append(t.reshape(-1, m))
    return [x.T for x in _mixed_to_space(mixed, space)]


def _row(matrix: np.ndarray, i: int, v: list[np.ndarray]) -> np.ndarray:
    """Row ``i`` of ``matrix`` applied to the channels ``v``, element-wise."""
    t = v[0] * matrix[i, 0]
    t += v[1] * matrix[i, 1]
    t += v[2] * matrix[i, 2]
    return t


def _mixed_to_space(mixed: list[np.ndarray], space: str) -> list[np.ndarray]:
    """The rest of :func:`channels_to_space` from the first matrix's three rows (linear
    light mixed into XYZ relative to white, or into LMS), element-wise, in place."""
    f = [np.cbrt(t) for t in mixed]
    if space == "oklab":
        return [_row(_OK_M2, i, f) * _OK_SCALE for i in range(3)]
    for t, ft in zip(mixed, f, strict=True):
        # Few colours are this dark: set those alone (a masked copy of all costs more).
        dark = t <= _EPS
        if dark.any():
            ft[dark] = t[dark] * _KAPPA + 4.0 / 29.0
    # In the buffers at hand (each step the same operation as to_space's, so the same
    # values): on the table's batches fresh temporaries cost about as much as the maths.
    fx, fy, fz = f
    a = np.subtract(fx, fy, out=fx)
    a *= 500.0
    bb = np.subtract(fy, fz, out=fz)
    bb *= 200.0
    lightness = fy
    lightness *= 116.0
    lightness -= 16.0
    # compress_chroma, element-wise.
    c = np.multiply(a, a, out=mixed[0])
    c += np.multiply(bb, bb, out=mixed[1])
    np.sqrt(c, out=c)
    safe = np.maximum(c, 1e-12, out=mixed[1])
    scale = np.multiply(safe, _SC, out=mixed[2])
    np.log1p(scale, out=scale)
    scale /= _SC
    scale /= safe
    scale[c <= 1e-12] = 1.0
    a *= scale
    bb *= scale
    return [lightness, a, bb]


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """Decode sRGB values (0..255, any float) to linear light, shape unchanged."""
    c = np.asarray(srgb, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((np.maximum(c, 0.04045) + 0.055) / 1.055) ** 2.4)


def srgb_to_space(srgb: np.ndarray, space: str) -> np.ndarray:
    """:func:`to_space` for unrounded sRGB values (0..255 floats), shape (m, 3)."""
    if space == "rgb":
        return np.asarray(srgb, dtype=np.float64)
    linear = srgb_to_linear(srgb)
    if space == "lab":
        return compress_chroma(linear_to_lab(linear))
    return linear_to_oklab(linear)


def from_space(coords: np.ndarray, space: str) -> np.ndarray:
    """Convert working-space coordinates back to 8-bit sRGB, clipped into the gamut.

    Parameters
    ----------
    coords : ndarray of float, shape (..., 3)
    space : {"lab", "oklab", "rgb"}

    Returns
    -------
    ndarray of uint8, shape (..., 3)
    """
    if space == "lab":
        return linear_to_srgb8(lab_to_linear(expand_chroma(coords)))
    if space == "oklab":
        return linear_to_srgb8(oklab_to_linear(coords))
    return np.clip(np.rint(coords), 0, 255).astype(np.uint8)


def working_to_lab(coords: np.ndarray, space: str) -> np.ndarray:
    """Working-space coordinates to CIELAB (D65), unclipped: what CIEDE2000 is computed on.

    Parameters
    ----------
    coords : ndarray of float, shape (m, 3)
    space : {"lab", "oklab", "rgb"}

    Returns
    -------
    ndarray of float64, shape (m, 3)
    """
    if space == "lab":
        return expand_chroma(coords)
    if space == "oklab":
        linear = oklab_to_linear(coords)
    else:
        linear = srgb8_to_linear(np.asarray(coords, dtype=np.float64))
    return linear_to_lab(linear)

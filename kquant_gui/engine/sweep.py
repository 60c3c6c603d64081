"""`sweep`: mean CIEDE2000, PSNR and PNG size for many palette sizes at a fraction of the cost.

One histogram serves every k, each k's k-means starts from a neighbour's centres, and every
figure is measured on a sample or a probe of the image instead of mapping, measuring and
encoding all of it (see :mod:`estimate`). The figures are estimates of what :func:`quantize`
gives at that k, close enough to draw the trade-off and to aim a search (see :mod:`choose`);
``choose_k`` confirms its answer with real runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from numbers import Integral

import numpy as np

from ..options import K_MAX, K_MIN
from .estimate import Estimator, SweepPoint
from .parallel import engine_threads, single_threaded_blas
from .progress import CancelCallback, ProgressCallback, Steps
from .validate import validate_k, validate_options, validate_pixels

__all__ = ["CURVE_KS", "SweepPoint", "coarse_first", "log_interpolate", "sweep"]

#: The curve's 16 palette sizes, evenly spaced on a log scale from 2 to 256.
CURVE_KS = tuple(round(float(v)) for v in np.geomspace(2, 256, 16))


def coarse_first(ks: Iterable[int]) -> list[int]:
    """``ks`` sorted so that a curve drawn progressively is useful early.

    The ends first, then the middle, then the middles of the halves, and so on.

    Parameters
    ----------
    ks : iterable of int

    Returns
    -------
    list of int
        The distinct values of ``ks``.
    """
    values = sorted(set(ks))
    if len(values) <= 2:
        return values
    order = [0, len(values) - 1]
    spans = [(0, len(values) - 1)]
    while spans:
        nxt = []
        for lo, hi in spans:
            if hi - lo < 2:
                continue
            mid = (lo + hi) // 2
            order.append(mid)
            nxt += [(lo, mid), (mid, hi)]
        spans = nxt
    return [values[i] for i in order]


def _validate_ks(ks: Iterable[object]) -> list[int]:
    out: list[int] = []
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, Integral):
            raise ValueError(f"ks must be whole numbers from {K_MIN} to {K_MAX}, got {k!r}")
        k = validate_k(k)
        if k not in out:
            out.append(k)
    return out


def sweep(
    pixels: np.ndarray,
    ks: Iterable[int] = CURVE_KS,
    *,
    color_space: str = "lab",
    dither: str = "none",
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    threads: int | None = None,
) -> Iterator[SweepPoint]:
    """Estimated quality and PNG size of :func:`quantize` for many palette sizes.

    The histogram is built once, each k's k-means starts from the centres of the nearest k
    done before it, and the figures are measured on a probe of at most 65,536 pixels, so a
    16-point curve costs a few single runs. Results come in the order of ``ks``: pass
    :func:`coarse_first` of them to draw a curve progressively.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        sRGB image, optionally with straight alpha.
    ks : iterable of int
        Palette sizes, 1 to 256; repeats are measured once. By default :data:`CURVE_KS`.
    color_space, dither, seed
        As for :func:`kquant_gui.quantize`.
    progress : callable(fraction: float, stage: str), optional
        Called with the fraction of ``ks`` done (stage ``"sweep"``).
    cancel : callable() -> bool, optional
        Polled often; when it returns true, :class:`Cancelled` is raised from the iterator.
    threads : int, optional
        Most threads the engine uses for each point (see :func:`kquant_gui.quantize`).

    Yields
    ------
    SweepPoint
        One per distinct k, in the order of ``ks``. The same inputs give the same points.

    Raises
    ------
    ValueError
        At the call, for bad pixels, ``ks`` or options.
    Cancelled
        From the iterator, when ``cancel`` returned true.

    Examples
    --------
    >>> for point in sweep(pixels, coarse_first(CURVE_KS)):  # doctest: +SKIP
    ...     print(point.k, round(point.mean_delta_e, 2), point.png_size)
    """
    pixels = validate_pixels(pixels)
    validate_options(color_space, dither, seed)
    order = _validate_ks(ks)
    return _sweep(pixels, order, color_space, dither, int(seed), progress, cancel, threads)


def _sweep(
    pixels: np.ndarray,
    ks: list[int],
    color_space: str,
    dither: str,
    seed: int,
    progress: ProgressCallback | None,
    cancel: CancelCallback | None,
    threads: int | None,
) -> Iterator[SweepPoint]:
    steps = Steps(None, cancel, {"sweep": 1.0})
    estimator = None
    for i, k in enumerate(ks):
        # The thread limit is entered per point, never held across a yield: the caller's code
        # between points keeps its own.
        with engine_threads(threads), single_threaded_blas():
            if estimator is None:
                estimator = Estimator(pixels, color_space, dither, seed, steps)
            point = estimator.point(k)
        if progress is not None:
            progress((i + 1) / len(ks), "sweep")
        yield point


def log_interpolate(k0: int, e0: float, k1: int, e1: float, target: float) -> float:
    """The k at which a power law through (k0, e0) and (k1, e1) reaches ``target``.

    Mean colour error falls roughly as a power of k; this aims a search between two
    measured sizes. Falls back to the midpoint when the law is flat or undefined.
    """
    if min(k0, k1, e0, e1, target) <= 0 or e0 == e1 or k0 == k1:
        return (k0 + k1) / 2
    slope = (math.log(e1) - math.log(e0)) / (math.log(k1) - math.log(k0))
    if slope == 0:
        return (k0 + k1) / 2
    return math.exp(math.log(k0) + (math.log(target) - math.log(e0)) / slope)

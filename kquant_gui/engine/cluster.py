"""k-means on a histogram: a run on coarse bin means first, a few iterations on finer levels.

A photo's histogram has up to hundreds of thousands of entries; k-means converges on a few
thousand coarse bin means, where iterations are cheap and small palettes can afford several
starts, and finer levels only settle the centres.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .colorspace import from_space, srgb8_to_lab, to_space, working_to_lab
from .distances import LabelHints, nearest
from .histogram import Histogram
from .kmeans import Frozen, best_of_starts, lloyd, weiszfeld
from .lut import bin_center_coords
from .metrics import ciede2000
from .progress import Steps
from .reference import sklearn_centers
from .seeding import Seedings

#: Above this many histogram entries, k-means first runs on coarser bin means (see _levels) and
#: only its last few iterations see finer levels.
COARSE_MAX = 1024
#: A coarser level is only used while it keeps this many points per cluster.
COARSE_POINTS_PER_CLUSTER = 16
#: Iterations on each finer level after the coarse run, and the largest level refined.
REFINE_ITER = 3
REFINE_MAX_POINTS = 200_000
REFINE_FINEST_MIN_K = 65
#: Lloyd stops when no centre moves more than this (working-space units, about dE 0.05).
TOL = 0.05
#: The same, for a single start on a coarse level that finer levels will refine: they move the
#: centres by about 0.5-1 anyway, so converging further there was half of all clustering time
#: for nothing (china k=64: mean dE2000 3.237 -> 3.240, 31 -> 9 iterations). Several starts
#: (k <= SMALL_K) converge fully: picking the best by inertia needs it (24 MP k=16: 5.83 -> 5.96
#: with the loose tolerance).
COARSE_TOL = 0.5
#: Palettes up to this size are started N_INIT_SMALL_K times, each run to convergence on the
#: coarse level, and the start whose palette (as the 8-bit colours it will be) has the lowest
#: mean CIEDE2000 there is kept (for an RGBA palette, the lowest inertia). Picking by inertia,
#: the squared distance Lloyd minimises, kept flower k=16 at 3.86 where another start gives
#: 3.75, and in sRGB at 5.10 where another gives 4.50 (scikit-learn's KMeans: 4.77).
SMALL_K = 16
N_INIT_SMALL_K = 3
#: Weiszfeld steps on the last level (see :func:`kmeans.weiszfeld`).
POLISH_ITER = 3
#: Large palettes (k > 64, where no 60 ms budget applies) first take this many more Lloyd
#: iterations on the last level, and one more Weiszfeld step, while the level times k stays
#: under LARGE_K_WORK (a 0.3 MP photo, not a 24 MP one): china k=256 2.07 -> 2.05.
LARGE_K_LLOYD_ITER = 8
LARGE_K_WORK = 32_000_000
#: Mid-size palettes (MID_K_MIN <= k < REFINE_FINEST_MIN_K), where the finest level is not
#: refined, trailed scikit-learn's KMeans (converged on every distinct colour): china k=64 in
#: Lab 3.234 against 3.198, flower 2.171 against 2.165. Lloyd there stops far from converged
#: on bin means. So the last bin level first takes MID_K_LLOYD_ITER over-relaxed Lloyd steps
#: (each moves a centre MID_K_RELAX times the way to its mean: about as far as twice the
#: plain steps), and after its Weiszfeld steps one more on the finest level (the distinct
#: colours) ends the run, while that level has at most REFINE_MAX_POINTS entries: china
#: 3.215, flower 2.152, oklab and rgb lower too. It costs ~10 ms of CPU at 0.3 MP (k=64);
#: converging as far as scikit-learn (3.196) would cost ~3x that, over the 60 ms budget.
#: Below MID_K_MIN (k=16 in the reference test) ours was not behind, and stays unchanged.
MID_K_MIN = 32
MID_K_LLOYD_ITER = 3
MID_K_RELAX = 1.8
MID_K_FINEST_ITER = 1


def _score(points: np.ndarray, weights: np.ndarray, centers: np.ndarray, space: str) -> float:
    """Mean CIEDE2000 from weighted points to their nearest palette colour, as the 8-bit
    colours the palette will be: how the result will be judged, lower is better."""
    palette = from_space(centers, space)
    labels, _ = nearest(points, to_space(palette, space))
    de = ciede2000(working_to_lab(points, space), srgb8_to_lab(palette)[labels])
    return float(np.dot(weights, de) / weights.sum())


def _best_start(
    points: np.ndarray,
    weights: np.ndarray,
    k: int,
    seed: int,
    space: str,
    steps: Steps,
    frozen: Frozen,
    seedings: Seedings | None = None,
) -> np.ndarray:
    """k-means from N_INIT_SMALL_K k-means++ starts on one level, each converged; the one
    whose palette has the lowest mean CIEDE2000 there wins. Shape (m + k, d), the ``frozen``
    centres (fixed colours only) first."""
    best = None
    for i in range(N_INIT_SMALL_K):
        start, mask = frozen.start(points, weights, k, (seed + i * 7919) % 2**32, seedings)
        steps.tick("clustering", (i + 0.1) / N_INIT_SMALL_K)
        cand = lloyd(points, weights, start, tol=TOL, steps=steps, stage="clustering", frozen=mask)
        score = _score(points, weights, cand, space)
        if best is None or score < best[0]:
            best = (score, cand)
    assert best is not None
    return best[1]


def aggregate(
    coords: np.ndarray, weights: np.ndarray, codes: np.ndarray, n_codes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of ``coords`` per occupied code (codes below ``n_codes``).

    Parameters
    ----------
    coords : ndarray of float64, shape (m, d)
    weights : ndarray of float64, shape (m,)
    codes : ndarray of int, shape (m,)
    n_codes : int

    Returns
    -------
    means : ndarray of float64, shape (p, d)
    mass : ndarray of float64, shape (p,)
    """
    means, mass, _ = aggregate_with_rows(coords, weights, codes, n_codes)
    return means, mass


def aggregate_with_rows(
    coords: np.ndarray, weights: np.ndarray, codes: np.ndarray, n_codes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`aggregate`, and the row of ``means`` each point went into (intp, shape (m,);
    a neighbouring row for a point of weight 0, whose code has none)."""
    if n_codes > codes.shape[0]:
        # Few points in a large code space: number the occupied codes first, so that the four
        # sums fill short arrays instead of zeroing and scanning n_codes entries each.
        present = np.zeros(n_codes, dtype=np.intp)
        present[codes] = 1
        dense = np.cumsum(present)
        dense -= 1
        codes, n_codes = dense[codes], int(dense[-1]) + 1
    mass = np.bincount(codes, weights=weights, minlength=n_codes)
    occupied = np.flatnonzero(mass)
    sums = [
        np.bincount(codes, weights=weights * coords[:, j], minlength=n_codes)
        for j in range(coords.shape[1])
    ]
    means = np.stack([c[occupied] for c in sums], axis=1)
    if occupied.size == n_codes:
        rows = codes.astype(np.intp, copy=False)
    else:
        rows = np.cumsum(mass > 0)[codes] - (mass[codes] > 0)
        np.minimum(rows, max(occupied.size - 1, 0), out=rows)
    return means / mass[occupied, None], mass[occupied], rows


def _coarse_codes(colors: np.ndarray, bits: int) -> np.ndarray:
    """Code of the top ``bits`` bits per channel of 8-bit colours, shape (m,)."""
    c = colors.astype(np.uint32) >> (8 - bits)
    return c[:, 0] | (c[:, 1] << bits) | (c[:, 2] << (2 * bits))


def histogram_coords(hist: Histogram, space: str) -> np.ndarray:
    """Working-space coordinates of the histogram's entries, shape (m, 3)."""
    # A binned photo's entries are bin centres, whose coordinates are tabulated once; other
    # bins stand for the unrounded mean of their colours.
    if hist.centers:
        return bin_center_coords(space)[hist.codes]
    return to_space(hist.colors if hist.means is None else hist.means, space)


class HistogramLevels:
    """A histogram's working-space coordinates and coarser bin means, each computed when
    first asked and kept: none depends on k, so runs at many k (``choose_k``) share them,
    and with them the k-means++ seedings drawn on those levels (:attr:`seedings`: a run at
    k resumes the draw of a run at another k, which gives the same centres).

    Parameters
    ----------
    hist : Histogram
    space : {"lab", "oklab", "rgb"}
    coords : ndarray of float64, shape (m, 3), optional
        :func:`histogram_coords` of ``hist`` in ``space``, when the caller has them.
    """

    def __init__(self, hist: Histogram, space: str, coords: np.ndarray | None = None) -> None:
        self.hist, self.space = hist, space
        self._coords = coords
        self._means: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._rows: dict[int, np.ndarray] = {}
        self.seedings = Seedings()

    @property
    def coords(self) -> np.ndarray:
        """:func:`histogram_coords` of the histogram, shape (m, 3)."""
        if self._coords is None:
            self._coords = histogram_coords(self.hist, self.space)
        return self._coords

    def bin_means(self, bits: int) -> tuple[np.ndarray, np.ndarray]:
        """Weighted means and masses of the coordinates per bin of ``bits`` bits a channel
        (6: the histogram's own 18-bit codes), shapes (p, 3) and (p,)."""
        if bits not in self._means:
            hist = self.hist
            codes = hist.codes if bits == 6 else _coarse_codes(hist.colors, bits)
            *means, rows = aggregate_with_rows(self.coords, hist.weights, codes, 1 << (3 * bits))
            self._means[bits], self._rows[bits] = (means[0], means[1]), rows
        return self._means[bits]

    def bin_rows(self, bits: int) -> np.ndarray:
        """The row of :meth:`bin_means` each entry of the histogram went into, shape (m,)."""
        self.bin_means(bits)
        return self._rows[bits]


def _levels(
    hist: Histogram,
    coords: np.ndarray,
    k: int,
    shared: HistogramLevels | None = None,
    hints: LabelHints | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The histogram at decreasing resolutions, finest first: (points, weights) pairs.

    Level 0 is the histogram itself; then 18-bit bin means when the entries are exact distinct
    colours, then 15-bit and 12-bit bin means. A level is only added while it is much smaller
    than the one before and still has COARSE_POINTS_PER_CLUSTER points per cluster.
    ``shared``, built on the same histogram and space, supplies the bin means. ``hints``
    learns which bin each entry went into: a bin's label is its entries' guess.
    """
    levels = [(coords, hist.weights)]
    if shared is None:
        shared = HistogramLevels(hist, "", coords)
    for bits in (6, 5, 4) if hist.exact else (5, 4):
        size = levels[-1][0].shape[0]
        if size <= COARSE_MAX:
            break
        points, weights = shared.bin_means(bits)
        if points.shape[0] > 0.7 * size or points.shape[0] < COARSE_POINTS_PER_CLUSTER * k:
            continue
        levels.append((points, weights))
        if hints is not None:
            hints.relate(coords, points, shared.bin_rows(bits))
    return levels


def refine_levels(
    levels: list[tuple[np.ndarray, np.ndarray]], k: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The finer levels that a few iterations refine after the run on the coarsest, coarse
    to fine."""
    refine = []
    for level in reversed(range(len(levels) - 1)):
        # The finest level is worth its cost at large k, where clusters are small next to a
        # bin; at k <= 64 it changes mean dE by ~0.03 and would double the time.
        if levels[level][0].shape[0] > REFINE_MAX_POINTS or (
            level == 0 and k <= REFINE_FINEST_MIN_K
        ):
            break
        refine.append(levels[level])
    return refine


def cluster(
    hist: Histogram,
    k: int,
    space: str,
    seed: int,
    steps: Steps,
    *,
    engine: str = "numpy",
    shared: HistogramLevels | None = None,
    hints: LabelHints | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Palette for the visible colours of ``hist``, and the entries' working-space coordinates.

    k-means runs on the levels of :func:`_levels` (see :func:`kmeans_on_levels`). With
    ``engine="sklearn"``, scikit-learn's ``KMeans`` clusters the whole histogram instead (see
    :mod:`reference`).

    ``shared`` (a :class:`HistogramLevels` of ``hist`` in ``space``) lends its coordinates
    and bin means, computed once for runs at many k.
    ``hints`` keeps the labels of the last passes over each level (see
    :class:`~.distances.LabelHints`), the entries' among them: the mapping's guess.

    Returns
    -------
    palette : ndarray of uint8, shape (n, 3), n <= k
    coords : ndarray of float64, shape (m, 3)
    """
    coords = histogram_coords(hist, space) if shared is None else shared.coords
    if hist.exact and hist.colors.shape[0] <= k:
        return hist.colors.copy(), coords
    if engine == "sklearn":
        # The reference runs on the whole histogram, exactly as given.
        if coords.shape[0] <= k:
            return from_space(coords, space), coords
        return from_space(sklearn_centers(coords, hist.weights, k, seed, steps), space), coords
    *_, (_, palette) = cluster_stages(
        hist, k, space, seed, steps, shared=shared, hints=hints, coords=coords
    )
    return palette, coords


def cluster_stages(
    hist: Histogram,
    k: int,
    space: str,
    seed: int,
    steps: Steps,
    *,
    shared: HistogramLevels | None = None,
    hints: LabelHints | None = None,
    coords: np.ndarray | None = None,
) -> Iterator[tuple[str, np.ndarray]]:
    """:func:`cluster`'s palette (numpy engine) step by step, as :func:`kmeans_stages`
    yields its centres: ``(stage, palette)`` pairs, uint8, shape (n, 3), the last one
    ``("final", palette)`` :func:`cluster`'s. ``choose_k`` judges a probe at the
    ``"finest"`` stage (china k=179: 15 ms of 130) and finishes it only if it runs for
    real. ``coords``, when the caller has them, are :func:`histogram_coords` of ``hist``
    (the finest level's points, whose labels ``hints`` keeps for the mapping)."""
    if hist.exact and hist.colors.shape[0] <= k:
        yield "final", hist.colors.copy()
        return
    if coords is None:
        coords = histogram_coords(hist, space) if shared is None else shared.coords
    for stage, centers in kmeans_stages(
        _levels(hist, coords, k, shared, hints), k, seed, steps, space=space,
        seedings=None if shared is None else shared.seedings, hints=hints,
    ):  # fmt: skip
        yield stage, from_space(centers, space)


def kmeans_on_levels(*args: Any, **kwargs: Any) -> np.ndarray:
    """k-means centres for points given at decreasing resolutions, finest level first.

    k-means runs to convergence on the coarsest level (a few thousand points, so iterations
    are cheap, and small palettes can afford several starts), then a few iterations on each
    finer level settle the centres. For opaque colours the last level's iterations are
    Weiszfeld steps and small palettes pick their start by CIEDE2000 (see ``space``). The
    arguments are :func:`kmeans_stages`'s, which runs it step by step.

    Parameters
    ----------
    levels : list of (points (m, d) float64, weights (m,) float64)
    k : int
        Centres in all, the ``fixed`` ones included.
    seed : int
    steps : Steps
    fixed : ndarray of float64, shape (f, d), optional
        Centres that never move and lead the result (the user's fixed colours, f <= k); their
        members count, and the free centres are seeded around them.
    fixed_point : ndarray of float64, shape (d,), optional
        A centre that never moves (the shared fully transparent entry), run alongside the
        others and not returned.
    space : {"lab", "oklab", "rgb"}, optional
        The colour space of opaque points; None for other points (an RGBA palette's), which
        get plain k-means with starts picked by inertia.
    seedings : Seedings, optional
        k-means++ seedings shared with runs at other k on the same levels (same centres).
    hints : LabelHints, optional
        Where the refining passes leave their labels, each level's for the next pass over
        it (and the finest level's for the mapping that follows).

    Returns
    -------
    ndarray of float64, shape (k', d), k' = f + min(k - f, points of the coarsest level)
    """
    *_, (_, centers) = kmeans_stages(*args, **kwargs)
    return centers


def kmeans_stages(
    levels: list[tuple[np.ndarray, np.ndarray]],
    k: int,
    seed: int,
    steps: Steps,
    *,
    fixed: np.ndarray | None = None,
    fixed_point: np.ndarray | None = None,
    space: str | None = None,
    seedings: Seedings | None = None,
    hints: LabelHints | None = None,
) -> Iterator[tuple[str, np.ndarray]]:
    """:func:`kmeans_on_levels` step by step: yields ``("coarse", centres)`` once the run on
    the coarsest level is done, ``("finest", centres)`` before the finest level is worked on
    (when it is), and ``("final", centres)`` last, each as :func:`kmeans_on_levels` returns
    them. A caller may stop early and resume later: the final centres are the same."""
    frozen = Frozen(fixed, fixed_point)
    refine = refine_levels(levels, k)
    points, weights = levels[-1]
    kk = min(k - frozen.m, points.shape[0])
    # A palette is judged by mean distance (mean dE2000), which Lloyd does not minimise; the
    # last level's iterations are Weiszfeld steps, which do (china k=16: mean dE2000 5.31 ->
    # 5.26 at the same cost). In sRGB too: Euclidean distance there follows dE2000 less
    # closely, but its mean still does better than its square (china k=64 3.94 -> 3.91, k=4
    # 9.34 -> 9.27), where plain k-means trailed scikit-learn's converged run.
    polish = space is not None and fixed_point is None
    last = refine[-1] if refine else levels[-1]
    large = k >= REFINE_FINEST_MIN_K and last[0].shape[0] * k <= LARGE_K_WORK and space is not None
    mid = (
        polish
        and MID_K_MIN <= k < REFINE_FINEST_MIN_K
        and len(refine) == len(levels) - 2
        and levels[0][0].shape[0] <= REFINE_MAX_POINTS
    )
    drop = 1 if fixed_point is not None else 0
    if kk <= 0:
        # Every centre is fixed.
        yield "final", frozen.around(points[:0])[0][: frozen.m]
        return
    if points.shape[0] <= kk:
        centers = frozen.around(points.copy())[0]
    elif polish and kk <= SMALL_K:
        # Small palettes are cheap and most sensitive to a bad start: keep the best of a few.
        centers = _best_start(points, weights, kk, seed, space, steps, frozen, seedings)
    else:
        n_init = N_INIT_SMALL_K if kk <= SMALL_K else 1
        # Several starts are compared by inertia, which needs each run converged.
        tol = COARSE_TOL if refine and n_init == 1 else TOL
        centers = best_of_starts(
            points, weights, kk, seed, n_init=n_init, tol=tol, steps=steps, frozen=frozen,
            seedings=seedings,
        )  # fmt: skip
    yield "coarse", centers[: centers.shape[0] - drop]
    # The seeding may find fewer free centres than asked (every point on a fixed colour).
    mask = frozen.mask(centers.shape[0])
    for i, (points, weights) in enumerate(refine):
        final = i == len(refine) - 1
        if points is levels[0][0]:
            yield "finest", centers[: centers.shape[0] - drop]
        if large and final:
            centers = lloyd(
                points,
                weights,
                centers,
                max_iter=LARGE_K_LLOYD_ITER,
                tol=TOL,
                steps=steps,
                stage="refining",
                frozen=mask,
                hints=hints,
            )
        elif mid and final:
            centers = lloyd(
                points,
                weights,
                centers,
                max_iter=MID_K_LLOYD_ITER,
                tol=TOL,
                steps=steps,
                stage="refining",
                frozen=mask,
                relax=MID_K_RELAX,
                hints=hints,
            )
        elif not (polish and final):
            centers = lloyd(
                points,
                weights,
                centers,
                max_iter=REFINE_ITER,
                tol=TOL,
                steps=steps,
                stage="refining",
                frozen=mask,
                hints=hints,
            )
        if polish and final:
            n = POLISH_ITER + (1 if large else 0)
            centers = weiszfeld(
                points, weights, centers, n_iter=n, steps=steps, frozen=mask, hints=hints
            )
    if mid:
        yield "finest", centers[: centers.shape[0] - drop]
        # The finest level, which refine_levels leaves out at this k.
        centers = weiszfeld(
            *levels[0], centers, n_iter=MID_K_FINEST_ITER, steps=steps, frozen=mask, hints=hints
        )
    if polish and not refine:
        centers = weiszfeld(
            *levels[-1], centers, n_iter=POLISH_ITER, steps=steps, frozen=mask, hints=hints
        )
    yield "final", centers[: centers.shape[0] - drop]

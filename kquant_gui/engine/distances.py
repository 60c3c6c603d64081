"""Nearest-centre passes: every point's nearest (and second-nearest) centre, block by block.

The passes behind Lloyd's and Weiszfeld's steps and the final mapping's first and second
choice. Each block of squared distances is one float32 matrix product; blocks are spread over
the engine's threads, and every point's answer depends on its own row alone, so results are
the same whatever the thread count or the block size.

A pass that has a guess for every point's label (the labels of the pass before, over the same
points: consecutive steps move the centres a little) takes a cheaper road (see
:func:`_guided_pass`) and checks the guess exactly; the points whose guess it cannot confirm
are measured as without one. Guesses change the cost, never a result.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .parallel import run_parts

#: Distance-matrix elements computed at once (1 MB of float32): large enough that numpy's
#: per-call overhead is amortised, small enough to stay in cache.
_BLOCK_ELEMENTS = 1 << 18
#: Distance computations smaller than this run on one thread; handing out work costs ~0.1 ms.
_PARALLEL_ELEMENTS = 1 << 19
#: Elements of a guided pass's block (centres x points, float32), about half a megabyte; not a
#: power of two: rows a multiple of 4 kB apart fall on the same cache sets (at 64 centres,
#: blocks of 2048 points took 10-20% longer than of 1953).
_GUIDED_ELEMENTS = 125_000
#: Fewer points than this take a plain pass even with a guess: the guided pass's own costs
#: (the transposed copy, the second pass over the points it cannot confirm) outweigh its gain.
GUIDED_MIN_POINTS = 8192
#: More centres than this take a plain pass even with a guess: past ~128 centres argmin's cost
#: per point is spread over enough distances, and the guesses of large palettes, whose entries
#: move more from step to step, fail more often; quantize on china and flower at k = 192 and
#: 256 took 8-15% more CPU guided than plain, at k = 96-128 about the same.
GUIDED_MAX_CENTERS = 128


def _guided(aug: np.ndarray, centers: np.ndarray, guess: np.ndarray | None) -> bool:
    """Whether a pass over ``aug`` with this guess takes the guided road."""
    return (
        guess is not None
        and aug.shape[0] >= GUIDED_MIN_POINTS
        and centers.shape[0] <= GUIDED_MAX_CENTERS
    )


def augment(points: np.ndarray) -> np.ndarray:
    """Points as float32 rows ``[x, 1]``, the form the distance blocks take.

    With centres as columns ``[-2 c, |c|^2]``, one matrix product gives ``|c|^2 - 2 x.c`` for
    every pair, the squared distance less ``|x|^2`` (which does not change any ranking).
    Distances run in float32: half the memory traffic of float64 and 1.5-2x faster, while a
    squared distance in these spaces (<= ~4e4) keeps an error far below any colour step.
    Means and sums stay float64.

    Parameters
    ----------
    points : ndarray of float, shape (m, d)

    Returns
    -------
    ndarray of float32, shape (m, d + 1)
    """
    out = np.empty((points.shape[0], points.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = points
    out[:, -1] = 1.0
    return out


def _columns(centers: np.ndarray) -> np.ndarray:
    """Centres as float32 columns ``[-2 c, |c|^2]``, shape (d + 1, k) (see :func:`augment`)."""
    c32 = np.ascontiguousarray(centers, dtype=np.float32)
    cols = np.empty((c32.shape[1] + 1, c32.shape[0]), dtype=np.float32)
    # -2 c is exact in float32 (a power of two), |c|^2 computed in float32 as before.
    cols[:-1] = c32.T * np.float32(-2.0)
    cols[-1] = np.einsum("ij,ij->i", c32, c32)
    return cols


def _distance_blocks(
    aug: np.ndarray,
    centers: np.ndarray,
    use: Callable[[int, int, np.ndarray], None],
) -> None:
    """Call ``use(start, stop, d)`` for blocks of rows of the squared-distance matrix.

    ``aug`` comes from :func:`augment`. ``d`` holds ``|c|^2 - 2 x.c`` for the rows
    ``start:stop`` (add ``|x|^2`` for the squared distance; ``use`` may overwrite ``d``).
    Blocks are spread over the engine's threads.
    """
    k = centers.shape[0]
    cols = _columns(centers)
    rows = max(1, _BLOCK_ELEMENTS // max(k, 1))

    def part(_: int, start: int, stop: int) -> None:
        for s in range(start, stop, rows):
            e = min(s + rows, stop)
            use(s, e, aug[s:e] @ cols)

    run_parts(part, aug.shape[0], min_size=_PARALLEL_ELEMENTS // max(k, 1))


def _squared_norms(aug: np.ndarray, s: int, e: int) -> np.ndarray:
    x = aug[s:e, :-1]
    return np.einsum("ij,ij->i", x, x)


def squared_norms(aug: np.ndarray) -> np.ndarray:
    """``|x|^2`` of every point, as the distance blocks add it back (float32, shape (m,)).

    Each point's norm is its own sum of three products, so computing them once for all
    points gives the same values as block by block: a caller that measures distances to
    several sets of centres (Weiszfeld's steps) works them out once.
    """
    return _squared_norms(aug, 0, aug.shape[0])


class _Pass:
    """What a pass found: for every point the nearest centre and ``|c|^2 - 2 x.c`` to it
    (float32, as the blocks hold it); and, when asked, the second-nearest and its value."""

    def __init__(self, m: int, second: bool) -> None:
        self.first = np.empty(m, dtype=np.intp)
        self.low = np.empty(m, dtype=np.float32)
        self.second = np.empty(m, dtype=np.intp) if second else None
        self.next = np.empty(m, dtype=np.float32) if second else None


def _row_pass(aug: np.ndarray, centers: np.ndarray, second: bool = False) -> _Pass:
    """Every point against every centre, ``argmin`` over each row of a block (ties go to
    the lowest index); with ``second``, again with the nearest set aside."""
    m, k = aug.shape[0], centers.shape[0]
    out = _Pass(m, second)

    def use(s: int, e: int, d: np.ndarray) -> None:
        # Flat indices into the block rather than take/put_along_axis: the same elements,
        # a third less time.
        flat = d.reshape(-1)
        row = np.arange(0, (e - s) * k, k)
        a = np.argmin(d, axis=1)
        out.first[s:e] = a
        a += row
        out.low[s:e] = flat[a]
        if out.second is not None and out.next is not None:
            flat[a] = np.inf
            b = np.argmin(d, axis=1)
            out.second[s:e] = b
            b += row
            out.next[s:e] = flat[b]

    _distance_blocks(aug, centers, use)
    return out


def _guided_pass(
    aug: np.ndarray, aug_t: np.ndarray, centers: np.ndarray, guess: np.ndarray, second: bool
) -> _Pass:
    """:func:`_row_pass` for points with a guess at their nearest centre; the same result.

    The blocks are transposed (centres x points), where the smallest value of each column
    is a vectorised minimum across rows, about a third of the time ``argmin`` takes per
    point; it does not say where the minimum is, which the guess does. A guess is confirmed
    when its value is the column's minimum and the minimum of the others (the guess set to
    infinity) is strictly larger: then it is the one nearest centre, as ``argmin`` would
    find it, ties included, and that second minimum is the second-nearest value. Points not
    confirmed go through :func:`_row_pass`. The transposed product holds the same float32
    values as the row blocks: each element is the same four-term product in the same order.

    With ``second``, ``next`` holds every point's second-nearest value, but ``second`` its
    index only for the points that needed a :func:`_row_pass` (-1 elsewhere).
    """
    m, k = aug.shape[0], centers.shape[0]
    cols_t = np.ascontiguousarray(_columns(centers).T)
    out = _Pass(m, second=False)
    nxt = np.empty(m, dtype=np.float32)
    sure = np.empty(m, dtype=bool)
    width = max(1, _GUIDED_ELEMENTS // max(k, 1))

    def part(_: int, start: int, stop: int) -> None:
        buf = np.empty(k * width, dtype=np.float32)
        cols = np.arange(width)
        for s in range(start, stop, width):
            e = min(s + width, stop)
            n = e - s
            flat = buf[: k * n]
            d = flat.reshape(k, n)
            np.matmul(cols_t, aug_t[:, s:e], out=d)
            low = out.low[s:e]
            np.minimum.reduce(d, axis=0, out=low)
            at = guess[s:e] * n
            at += cols[:n]
            hit = flat.take(at)
            flat[at] = np.inf
            np.minimum.reduce(d, axis=0, out=nxt[s:e])
            ok = sure[s:e]
            np.equal(hit, low, out=ok)
            ok &= nxt[s:e] > low

    run_parts(part, m, min_size=_PARALLEL_ELEMENTS // max(k, 1))
    out.first[:] = guess
    if second:
        out.second, out.next = np.full(m, -1, dtype=np.intp), nxt
    miss = np.flatnonzero(~sure)
    if miss.size:
        again = _row_pass(aug[miss], centers, second)
        out.first[miss] = again.first
        out.low[miss] = again.low
        if out.second is not None and again.second is not None and again.next is not None:
            out.second[miss] = again.second
            nxt[miss] = again.next
    return out


def transposed(aug: np.ndarray) -> np.ndarray | None:
    """``aug`` transposed for guided passes (C-contiguous, shape (d + 1, m)), worked out once
    by a caller that runs several; None where a guess would not be used."""
    return np.ascontiguousarray(aug.T) if aug.shape[0] >= GUIDED_MIN_POINTS else None


def _pass(
    aug: np.ndarray,
    centers: np.ndarray,
    guess: np.ndarray | None,
    aug_t: np.ndarray | None,
    second: bool = False,
) -> _Pass:
    if not _guided(aug, centers, guess):
        return _row_pass(aug, centers, second)
    assert guess is not None  # (_guided says so)
    if aug_t is None:
        aug_t = np.ascontiguousarray(aug.T)
    return _guided_pass(aug, aug_t, centers, guess, second)


def nearest_labels(
    aug: np.ndarray,
    centers: np.ndarray,
    *,
    guess: np.ndarray | None = None,
    aug_t: np.ndarray | None = None,
) -> np.ndarray:
    """Nearest centre of every point (see :func:`nearest`), without the distances.

    Parameters
    ----------
    aug : ndarray of float32, shape (m, d + 1)
        Points from :func:`augment`.
    centers : ndarray of float64, shape (k, d)
    guess : ndarray of int, shape (m,), optional
        A guess at every label, each in ``range(k)`` (see the module's docstring).
    aug_t : ndarray of float32, shape (d + 1, m), optional
        ``aug`` transposed (C-contiguous), for a guided pass; made here if not given.

    Returns
    -------
    ndarray of intp, shape (m,)
    """
    if not _guided(aug, centers, guess):
        labels = np.empty(aug.shape[0], dtype=np.intp)

        def use(s: int, e: int, d: np.ndarray) -> None:
            labels[s:e] = np.argmin(d, axis=1)

        _distance_blocks(aug, centers, use)
        return labels
    return _pass(aug, centers, guess, aug_t).first


def nearest(points: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of every point under squared Euclidean distance.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d)
    centers : ndarray of float64, shape (k, d)

    Returns
    -------
    labels : ndarray of intp, shape (m,)
        Ties go to the lowest index.
    dist2 : ndarray of float64, shape (m,)
        Squared distance to that centre.
    """
    aug = augment(points)
    return nearest_augmented(aug, squared_norms(aug), centers)


def nearest_augmented(
    aug: np.ndarray,
    norms: np.ndarray,
    centers: np.ndarray,
    *,
    guess: np.ndarray | None = None,
    aug_t: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nearest` of points already augmented, with their :func:`squared_norms`.

    Parameters
    ----------
    aug : ndarray of float32, shape (m, d + 1)
        Points from :func:`augment`.
    norms : ndarray of float32, shape (m,)
        ``squared_norms(aug)``.
    centers : ndarray of float64, shape (k, d)
    guess, aug_t : optional
        As in :func:`nearest_labels`.

    Returns
    -------
    labels : ndarray of intp, shape (m,)
    dist2 : ndarray of float64, shape (m,)
    """
    found = _pass(aug, centers, guess, aug_t)
    low = found.low
    low += norms
    return found.first, np.maximum(low, 0.0, dtype=np.float64)


def _distances(low: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """Euclidean distances (float64) from block values ``|c|^2 - 2 x.c`` and ``|x|^2``."""
    d2 = (low + norms).astype(np.float64)
    return np.sqrt(np.maximum(d2, 0.0))


def two_nearest(
    points: np.ndarray, centers: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest and second-nearest centre of every point.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d)
    centers : ndarray of float64, shape (k, d), k >= 2

    Returns
    -------
    first, second : ndarray of intp, shape (m,)
    dist_first, dist_second : ndarray of float64, shape (m,)
        Euclidean distances to those centres.
    """
    aug = augment(points)
    found = _row_pass(aug, centers, second=True)
    assert found.second is not None and found.next is not None
    norms = squared_norms(aug)
    return (
        found.first,
        found.second,
        _distances(found.low, norms),
        _distances(found.next, norms),
    )


def nearest_with_runner_up(
    points: np.ndarray,
    centers: np.ndarray,
    close: Callable[[np.ndarray, np.ndarray], np.ndarray],
    guess: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of every point, and the second-nearest where ``close`` asks for it.

    Parameters
    ----------
    points : ndarray of float64, shape (m, d)
    centers : ndarray of float64, shape (k, d), k >= 2
    close : callable
        ``close(dist_first, dist_second)``, Euclidean distances (float64, shape (m,)) to the
        nearest and second-nearest centre: a boolean mask of the points that want the
        second-nearest centre's index.
    guess : ndarray of int, shape (m,), optional
        A guess at every point's nearest centre (see the module's docstring).

    Returns
    -------
    first : ndarray of intp, shape (m,)
    alt : ndarray of intp, shape (m,)
        The second-nearest centre where ``close`` is true, else ``first``; as
        :func:`two_nearest` would give them.
    """
    aug = augment(points)
    found = _pass(aug, centers, guess, None, second=True)
    assert found.second is not None and found.next is not None
    norms = squared_norms(aug)
    want = close(_distances(found.low, norms), _distances(found.next, norms))
    alt = found.first.copy()
    if guess is None:
        alt[want] = found.second[want]
        return found.first, alt
    # The second-nearest index is known only where the guided pass measured a point in full.
    missing = want & (found.second < 0)
    alt[want] = found.second[want]
    rows = np.flatnonzero(missing)
    if rows.size:
        alt[rows] = _runner_up(aug[rows], centers, found.first[rows])
    return found.first, alt


def _runner_up(aug: np.ndarray, centers: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Second-nearest centre of every point whose nearest, ``first``, is known: the second
    ``argmin`` of :func:`_row_pass` alone."""
    k = centers.shape[0]
    second = np.empty(aug.shape[0], dtype=np.intp)

    def use(s: int, e: int, d: np.ndarray) -> None:
        at = np.arange(0, (e - s) * k, k)
        at += first[s:e]
        d.reshape(-1)[at] = np.inf
        second[s:e] = np.argmin(d, axis=1)

    _distance_blocks(aug, centers, use)
    return second


class LabelHints:
    """The labels the last pass gave each set of points, kept as the guess of a later pass
    over the same points (the next Lloyd or Weiszfeld step, the final mapping's first and
    second choice). A guess only changes the cost (see the module's docstring).

    Made for one run of the pipeline and passed along; sets of points are told apart by
    identity (the same array object), labels by the number of centres.
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[np.ndarray, int, np.ndarray]] = {}
        self._coarser: dict[int, tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]] = {}

    def _own(self, points: np.ndarray, k: int) -> np.ndarray | None:
        kept = self._kept.get(id(points))
        if kept is None or kept[0] is not points or kept[1] != k:
            return None
        return kept[2]

    def get(self, points: np.ndarray, k: int) -> np.ndarray | None:
        """The labels kept for ``points`` against ``k`` centres; else those of the first
        coarser set (see :meth:`relate`) that has some, each point taking its group's; or
        None."""
        own = self._own(points, k)
        if own is not None:
            return own
        related = self._coarser.get(id(points))
        if related is None or related[0] is not points:
            return None
        for coarser, rows in related[1]:
            labels = self._own(coarser, k)
            if labels is not None:
                return labels[rows]
        return None

    def relate(self, points: np.ndarray, coarser: np.ndarray, rows: np.ndarray) -> None:
        """Say that ``points`` are grouped into ``coarser`` ones (bin means), point ``i``
        into ``coarser[rows[i]]``; relations told first are tried first."""
        entry = self._coarser.setdefault(id(points), (points, []))
        if entry[0] is not points:
            entry = self._coarser[id(points)] = (points, [])
        entry[1].append((coarser, rows))

    def put(self, points: np.ndarray, k: int, labels: np.ndarray) -> None:
        """Keep ``labels`` (shape (m,), each in ``range(k)``) as the guess for ``points``."""
        self._kept[id(points)] = (points, k, labels)

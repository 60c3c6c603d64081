"""Warm-started k-means over one histogram, and figures measured cheaply: what `sweep` and
`choose_k` estimate each palette size with.

Each k's k-means starts from the centres of the nearest k already done (the next smaller
one plus k-means++ additions in rounds, or the next larger one less its lightest clusters),
so it converges in a few iterations. The colour error is measured on a fixed sample of the
image's pixels, the PNG size on a probe of it (see :mod:`probe`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..options import K_MAX
from .cluster import (
    COARSE_MAX,
    COARSE_POINTS_PER_CLUSTER,
    COARSE_TOL,
    REFINE_ITER,
    TOL,
    HistogramLevels,
)
from .colorspace import from_space, srgb8_to_lab, to_space
from .diffusion import diffuse
from .distances import nearest
from .dither import ordered_labels
from .histogram import Histogram, histogram
from .kmeans import lloyd
from .lut import bin_center_coords, entry_pairs
from .mapping import AMBIGUITY_MARGIN, SMALL_PALETTE_K, SMALL_PALETTE_MARGIN
from .packing import Scratch, pack_rgb, unpack_rgb, words_range
from .pipeline import histogram_options
from .probe import Probe, Quality, make_probe, pair_quality, png_size, weighted_quality
from .progress import Steps
from .smooth import stream_labels

#: Finer levels refined after the coarse run, at most this big: the sweep's centres only aim
#: a figure, and refining the finest level at large k would double its cost.
SWEEP_REFINE_MAX_POINTS = 50_000
#: Pixels whose mean dE2000 stands for the image's (or the probe's, when dithered).
QUALITY_SAMPLE = 1 << 15


@dataclass(frozen=True)
class SweepPoint:
    """The estimated outcome of :func:`kquant_gui.quantize` at one palette size.

    Attributes
    ----------
    k : int
    mean_delta_e : float
        Mean CIEDE2000 against the original (estimated on a probe of the image).
    psnr : float
        Peak signal-to-noise ratio over the colour channels, dB.
    png_size : int
        Estimated bytes of the indexed PNG.
    n_colors : int
        Palette entries (fewer than k when the image has fewer colours).
    """

    k: int
    mean_delta_e: float
    psnr: float
    png_size: int
    n_colors: int


class Estimator:
    """Warm-started k-means on one histogram, and figures measured on one probe.

    Used by :func:`sweep` and by ``choose_k``; keeps every k's centres to start the next.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4), validated
    color_space, dither : str
    seed : int
    steps : Steps
        Cancellation (and progress under the stage ``"sweep"``).
    hist : Histogram, optional
        The histogram to cluster, when the caller has built it.
    quality_sample : int
        Pixels of the image on which the colour error is measured (without dithering).
    shared : HistogramLevels, optional
        Coordinates and bin means of ``hist`` in ``color_space`` that real runs share
        (``choose_k``); used when they are the ones the estimates cluster.
    """

    def __init__(
        self,
        pixels: np.ndarray,
        color_space: str,
        dither: str,
        seed: int,
        steps: Steps,
        hist: Histogram | None = None,
        quality_sample: int = QUALITY_SAMPLE,
        shared: HistogramLevels | None = None,
    ) -> None:
        self.space, self.dither, self.seed, self.steps = color_space, dither, seed, steps
        if hist is None:
            # The histogram quantize takes at k = 256 serves every k: it only aims the
            # centres, the figures come from the probe.
            limit, sample = histogram_options(pixels.shape[0] * pixels.shape[1], K_MAX, dither)
            hist = histogram(pixels, K_MAX, steps, exact_max_pixels=limit, sample=sample)
        self.hist: Histogram = hist
        # The estimates cluster a binned histogram's rounded colours, not its unrounded
        # means: those are what real runs share only when there are no means.
        if shared is None or shared.hist is not hist or hist.means is not None:
            coords = (
                bin_center_coords(color_space)[hist.codes]
                if hist.centers
                else to_space(hist.colors, color_space)
            )
            shared = HistogramLevels(hist, color_space, coords)
        self.shared = shared
        self.coords = shared.coords
        self.coarser = self._coarser_levels()
        self.centers: dict[int, np.ndarray] = {}
        self._pixels = pixels
        self.has_transparent = hist.n_transparent > 0
        self._probe: Probe | None = None
        self._prepare_sample(pixels, quality_sample)

    # -- clustering --------------------------------------------------------------------------

    def _coarser_levels(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Bin means of the histogram at 18, 15 and 12 bits, each much smaller than the one
        before (see :func:`cluster._levels`); which ones a k uses depends on k."""
        hist, levels = self.hist, []
        size = hist.colors.shape[0]
        for bits in (6, 5, 4) if hist.exact else (5, 4):
            if size <= COARSE_MAX:
                break
            points, weights = self.shared.bin_means(bits)
            if points.shape[0] <= 0.7 * size:
                levels.append((points, weights))
                size = points.shape[0]
        return levels

    def _levels(self, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Finest first: the histogram, then the coarser levels that keep enough points."""
        levels = [(self.coords, self.hist.weights)]
        levels += [lv for lv in self.coarser if lv[0].shape[0] >= COARSE_POINTS_PER_CLUSTER * k]
        return levels

    def _start(self, k: int, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Starting centres for k: from the nearest k already clustered."""
        smaller = [j for j in self.centers if j < k]
        larger = [j for j in self.centers if j > k]
        rng = np.random.default_rng([self.seed, k])
        if smaller:
            base = self.centers[max(smaller)]
        elif larger:
            # Fewer clusters than a neighbour: keep its heaviest ones.
            base = self.centers[min(larger)]
            labels, _ = nearest(points, base)
            mass = np.bincount(labels, weights=weights, minlength=base.shape[0])
            keep = np.sort(np.argsort(-mass, kind="stable")[:k])
            return base[keep]
        else:
            first = rng.choice(points.shape[0], p=weights / weights.sum())
            base = points[first : first + 1]
        return self._add_centers(base, k, points, weights, rng)

    @staticmethod
    def _add_centers(
        base: np.ndarray, k: int, points: np.ndarray, weights: np.ndarray, rng
    ) -> np.ndarray:
        """k-means++ additions in rounds: each round at most doubles the centres, drawing
        them with probability weight x squared distance to the centres so far (one distance
        update per round rather than per centre: 2 -> 256 in 7 rounds)."""
        centers = base
        _, d2 = nearest(points, base)
        while centers.shape[0] < k:
            p = weights * d2
            candidates = np.count_nonzero(p)
            n_new = min(k - centers.shape[0], centers.shape[0], candidates)
            if n_new == 0:
                break
            picks = rng.choice(points.shape[0], n_new, replace=False, p=p / p.sum())
            new = points[np.sort(picks)]
            centers = np.concatenate([centers, new])
            _, d2_new = nearest(points, new)
            np.minimum(d2, d2_new, out=d2)
        return centers

    def cluster(self, k_visible: int) -> np.ndarray:
        """Working-space centres for ``k_visible`` visible entries, shape (n, 3)."""
        if k_visible in self.centers:
            return self.centers[k_visible]
        levels = self._levels(k_visible)
        points, weights = levels[-1]
        if points.shape[0] <= k_visible:
            centers = points.copy()
        else:
            start = self._start(k_visible, points, weights)
            refine = [
                lv for lv in reversed(levels[:-1]) if lv[0].shape[0] <= SWEEP_REFINE_MAX_POINTS
            ]
            tol = COARSE_TOL if refine else TOL
            centers = lloyd(points, weights, start, tol=tol, steps=self.steps, stage="sweep")
            for pts, wts in refine:
                centers = lloyd(
                    pts, wts, centers, max_iter=REFINE_ITER, tol=TOL, steps=self.steps,
                    stage="sweep",
                )  # fmt: skip
        self.centers[k_visible] = centers
        return centers

    # -- measuring ---------------------------------------------------------------------------

    @property
    def probe(self) -> Probe:
        """The probe, made when first needed (a search for k never needs it)."""
        if self._probe is None:
            self._probe = make_probe(self._pixels)
            self._prepare_probe()
        return self._probe

    def _prepare_probe(self) -> None:
        """The probe's distinct visible colours, for its labels (and a sample of its
        pixels, for the colour error of a dithered mapping)."""
        probe = self.probe.pixels
        n = probe.shape[0] * probe.shape[1]
        words = words_range(probe, 0, n)
        visible = (words >> np.uint32(24)) > 0 if probe.shape[2] == 4 else None
        self.visible = visible
        rgb_words = words & np.uint32(0xFFFFFF)
        seen = rgb_words if visible is None else rgb_words[visible]
        uniq, inverse = np.unique(seen, return_inverse=True)
        self.probe_words, self.probe_inverse = uniq, inverse.reshape(-1)
        # The entry of every probe pixel, -1 for fully transparent ones.
        self.probe_pixel_entry = np.full(n, -1, dtype=np.intp)
        if visible is None:
            self.probe_pixel_entry[:] = self.probe_inverse
        else:
            self.probe_pixel_entry[visible] = self.probe_inverse
        self.probe_coords = to_space(unpack_rgb(uniq), self.space)
        self.probe_sample = _sample(self.probe_inverse.shape[0])

    def _prepare_sample(self, pixels: np.ndarray, size: int) -> None:
        """A fixed sample of the whole image's visible pixels, for the colour error of a
        mapping without dithering: unbiased, and 32k pixels pin the mean within ~0.02."""
        flat = pixels.reshape(-1, pixels.shape[2])
        pick = _sample(flat.shape[0], size * 2 if flat.shape[1] == 4 else size)
        flat = flat[pick]
        if flat.shape[1] == 4:
            flat = flat[flat[:, 3] > 0][:size]
        uniq, counts = np.unique(pack_rgb(flat[:, :3]), return_counts=True)
        self.sample_rgb = unpack_rgb(uniq)
        self.sample_counts = counts
        self.sample_coords = to_space(self.sample_rgb, self.space)
        self.sample_lab = srgb8_to_lab(self.sample_rgb)

    def point(self, k: int, *, size: bool = True) -> SweepPoint:
        """Cluster at ``k`` (warm-started) and estimate its figures.

        ``size=False`` leaves the PNG size out (``png_size`` is 0), for a search that only
        needs the colour error.
        """
        hist = self.hist
        reserve = hist.n_transparent > 0 and hist.colors.shape[0] > 0 and k >= 2
        k_visible = k - 1 if reserve else k
        if hist.colors.shape[0] == 0:
            palette = np.empty((0, 3), np.uint8)
        elif hist.exact and hist.colors.shape[0] <= k_visible:
            palette = hist.colors
        else:
            palette = from_space(self.cluster(k_visible), self.space)
            # Centres that round to one colour are one entry, as in quantize.
            palette = palette[np.sort(np.unique(pack_rgb(palette), return_index=True)[1])]
        self.steps.check()
        n_entries = palette.shape[0] + (1 if hist.n_transparent > 0 else 0)
        if n_entries > k:  # k = 1 with transparency: one shared entry
            n_entries = k
        if self.dither != "none" and palette.shape[0]:
            quality, labels = self._dithered(palette, reserve)
        else:
            quality = self.nearest_quality(palette)
            labels = self._nearest_labels(palette, reserve) if size else None
        png = 0
        if labels is not None:
            png = png_size(
                labels, max(1, n_entries), has_alpha=hist.n_transparent > 0 or
                self.visible is not None, scale=self.probe.scale,
            )  # fmt: skip
        return SweepPoint(k, quality.mean_delta_e, quality.psnr, png, n_entries)

    def _transparent_label(self, n_visible: int, reserve: bool) -> int:
        return n_visible if reserve else (0 if self.has_transparent else -1)

    def nearest_quality(self, palette: np.ndarray) -> Quality:
        """Figures of every sampled pixel mapped to its nearest entry of ``palette`` (uint8,
        shape (n, 3)), without dithering."""
        if palette.shape[0] == 0 or self.sample_rgb.shape[0] == 0:
            return Quality(0.0, float("inf"))
        entry, _ = nearest(self.sample_coords, to_space(palette, self.space))
        return weighted_quality(
            self.sample_rgb, self.sample_counts, palette, entry, self.sample_lab
        )

    def _nearest_labels(self, palette: np.ndarray, reserve: bool) -> np.ndarray:
        """The probe mapped as quantize maps an image: nearest entries, near ties following
        their neighbours (which is worth 5-20% of the PNG's size)."""
        probe = self.probe.pixels
        shape = probe.shape[:2]
        t_label = max(self._transparent_label(palette.shape[0], reserve), 0)
        if palette.shape[0] == 0 or self.probe_words.shape[0] == 0:
            return np.full(shape, t_label, dtype=np.uint8)
        k_visible = palette.shape[0]
        margin = (SMALL_PALETTE_MARGIN if k_visible <= SMALL_PALETTE_K else AMBIGUITY_MARGIN)[
            self.space
        ]
        pairs = entry_pairs(self.probe_coords, to_space(palette, self.space), margin)
        # The last entry, reached by index -1, is the transparent pixels' pair.
        table = np.append(pairs, np.uint16(t_label | t_label << 8))
        inverse = self.probe_pixel_entry

        def source(start: int, stop: int, scratch: Scratch) -> np.ndarray:
            return np.take(table, inverse[start:stop], out=scratch.pairs[: stop - start])

        full = palette
        if t_label >= palette.shape[0]:
            full = np.vstack([palette, np.zeros((1, 3), np.uint8)])
        labels, _, _ = stream_labels(probe, source, full, self.steps, paint=False)
        return labels

    def _dithered(self, palette: np.ndarray, reserve: bool) -> tuple[Quality, np.ndarray]:
        """Dither the probe; its colour error from a sample of its pixels."""
        probe = self.probe.pixels
        transparent = self._transparent_label(palette.shape[0], reserve)
        if self.dither == "ordered":
            raw = ordered_labels(probe, palette, self.space, transparent, self.steps)
        else:
            raw = diffuse(
                probe, palette, space=self.space, transparent=transparent, steps=self.steps
            )
        flat = raw.reshape(-1)
        seen = flat if self.visible is None else flat[self.visible]
        pick = self.probe_sample
        words = self.probe_words[self.probe_inverse[pick]]
        return pair_quality(words, seen[pick], palette), raw


def _sample(n: int, size: int | None = None) -> np.ndarray:
    """Sorted indices of a fixed sample of ``size`` (default QUALITY_SAMPLE) of ``n`` items,
    all of them when there are no more."""
    size = QUALITY_SAMPLE if size is None else size
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size, replace=False))

"""Work that runs of :func:`quantize` at many k share (``choose_k``): the histograms it would
build, each with its working-space coordinates, bin means and k-means++ draws."""

from __future__ import annotations

import numpy as np

from .cluster import HistogramLevels
from .histogram import EXACT_MAX_PIXELS, Histogram, histogram
from .pipeline import histogram_options
from .progress import Steps


class HistogramCache:
    """The histograms :func:`quantize` would build, built once per kind and shared.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4), validated
    dither : str
    steps : Steps
    """

    def __init__(self, pixels: np.ndarray, dither: str, steps: Steps) -> None:
        self.pixels, self.dither, self.steps = pixels, dither, steps
        self._cache: dict[tuple, Histogram] = {}
        self._levels: dict[tuple[int, str], HistogramLevels] = {}

    def levels(self, hist: Histogram, space: str) -> HistogramLevels:
        """The coordinates and bin means of ``hist`` (one this cache gave) in ``space``."""
        key = (id(hist), space)
        if key not in self._levels:
            self._levels[key] = HistogramLevels(hist, space)
        return self._levels[key]

    def get(self, k: int) -> Histogram:
        """The histogram ``quantize(pixels, k, dither=...)`` clusters."""
        n = self.pixels.shape[0] * self.pixels.shape[1]
        limit, sample = histogram_options(n, k, self.dither)
        # Small images get the same exact histogram whatever the options.
        exact = n <= min(EXACT_MAX_PIXELS, limit or EXACT_MAX_PIXELS)
        key = ("exact",) if exact else ("binned", sample)
        base = self._cache.get(key)
        if base is None:
            # At k = 1 no binned histogram is swapped for an exact one (unless the image is
            # one colour, which holds for every k); that swap is handled below.
            base = histogram(self.pixels, 1, self.steps, exact_max_pixels=limit, sample=sample)
            self._cache[key] = base
        if base.exact or base.colors.shape[0] > k:
            return base
        few = self._cache.get((*key, "few"))
        if few is None:
            # At most k occupied bins: quantize checks them and takes the exact colours; the
            # outcome is the same for every such k.
            few = histogram(self.pixels, k, self.steps, exact_max_pixels=limit, sample=sample)
            self._cache[(*key, "few")] = few
        return few

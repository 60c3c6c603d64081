"""What the binned path gives k-means and the mapping: bin means, exact when bins are too
coarse, and near-exact colours left alone by the neighbour smoothing."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui import quantize
from kquant_gui.engine import histogram as histogram_module
from kquant_gui.engine.histogram import binned_histogram, histogram
from kquant_gui.engine.lut import entry_pairs


def _two_colour_bins() -> np.ndarray:
    """Pixels in two 18-bit bins, each holding two colours in a 3:1 ratio."""
    a = np.array([[8, 8, 8], [11, 9, 8]], dtype=np.uint8)  # one bin: levels 8-11
    b = np.array([[200, 100, 40], [201, 103, 43]], dtype=np.uint8)
    pattern = np.array([0, 0, 0, 1])
    rows = np.concatenate([a[pattern], b[pattern]])
    return np.ascontiguousarray(np.tile(rows, (300, 10, 1)))


def test_a_bin_stands_for_the_mean_of_its_colours():
    hist = binned_histogram(_two_colour_bins())
    assert not hist.exact and not hist.centers
    order = np.argsort(hist.colors[:, 0])
    assert np.allclose(hist.means[order], [[8.75, 8.25, 8.0], [200.25, 100.75, 40.75]])
    assert np.array_equal(hist.colors[order], [[9, 8, 8], [200, 101, 41]])


def test_means_are_found_on_the_sampled_path_too(monkeypatch):
    # Above the size where sums are made while counting, few bins still get their means.
    monkeypatch.setattr(histogram_module, "MEANS_MAX_PIXELS", 100)
    hist = binned_histogram(_two_colour_bins(), sample=True)
    order = np.argsort(hist.colors[:, 0])
    assert np.allclose(hist.means[order], [[8.75, 8.25, 8.0], [200.25, 100.75, 40.75]])


def test_a_photo_above_the_means_size_keeps_bin_centres(monkeypatch, photo):
    monkeypatch.setattr(histogram_module, "MEANS_MAX_PIXELS", 100)
    monkeypatch.setattr(histogram_module, "MEMBER_BINS_MAX", 10)
    hist = binned_histogram(photo)
    assert hist.centers and hist.means is None


@pytest.mark.parametrize(("k", "exact"), [(2, False), (64, True)])
def test_too_few_bins_for_the_palette_take_the_exact_histogram(monkeypatch, photo, k, exact):
    monkeypatch.setattr(histogram_module, "EXACT_MAX_PIXELS", 100)
    monkeypatch.setattr(histogram_module, "COARSE_EXACT_FACTOR", 1000)
    # A small image has few bins next to a large palette (as a dark photo has next to k=16).
    n_bins = binned_histogram(photo).codes.size
    assert (
        2 * histogram_module.BINS_PER_ENTRY_MIN
        <= n_bins
        < 64 * histogram_module.BINS_PER_ENTRY_MIN
    )
    assert histogram(photo, k).exact is exact


def test_a_near_exact_colour_never_follows_its_neighbours():
    palette = np.array([[0.0, 0, 0], [1.0, 0, 0]])
    points = np.array([[0.05, 0, 0], [0.45, 0, 0], [0.4, 0.6, 0]])
    pairs = entry_pairs(points, palette, margin=2.0)
    best, alt = pairs & 0xFF, pairs >> 8
    assert list(best) == [0, 0, 0]
    # 0.05 from entry 0 and 0.95 from entry 1: near-exact, kept; 0.45 against 0.55 and 0.72
    # against 0.85: near ties.
    assert list(alt) == [0, 1, 1]


def test_a_dark_photo_quantizes_close_to_its_exact_histogram(monkeypatch, photo):
    dark = np.ascontiguousarray(photo // 6 + 4)
    exact = quantize(dark, 16)
    monkeypatch.setattr(histogram_module, "EXACT_MAX_PIXELS", 100)
    monkeypatch.setattr(histogram_module, "BINS_PER_ENTRY_MIN", 0)  # stay binned
    from kquant_gui.engine.metrics import mean_delta_e2000

    binned = quantize(dark, 16)
    assert binned.distinct_colors is None
    assert mean_delta_e2000(dark, binned.image) <= 1.1 * mean_delta_e2000(dark, exact.image)

"""Property-based tests of the engine: random small images, any k, any options."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kquant_gui import COLOR_SPACES, DITHERS, quantize


@st.composite
def images(draw) -> np.ndarray:
    h = draw(st.integers(1, 12))
    w = draw(st.integers(1, 12))
    channels = draw(st.sampled_from([3, 4]))
    # Draw from a small set of colours half of the time, so that "fewer colours than k",
    # duplicates and single-colour images come up often.
    if draw(st.booleans()):
        n = draw(st.integers(1, 6))
        colours = draw(arrays(np.uint8, (n, channels)))
        idx = draw(arrays(np.int64, (h, w), elements=st.integers(0, n - 1)))
        return colours[idx]
    return draw(arrays(np.uint8, (h, w, channels)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pixels=images(),
    k=st.integers(1, 256),
    space=st.sampled_from(COLOR_SPACES),
    dither=st.sampled_from(DITHERS),
    seed=st.integers(0, 2**32 - 1),
)
def test_invariants_hold_for_any_image_and_options(pixels, k, space, dither, seed):
    result = quantize(pixels, k, color_space=space, dither=dither, seed=seed)
    h, w = pixels.shape[:2]
    n = result.palette.shape[0]
    assert 1 <= n <= k
    # RGBA palette exactly when the input has alpha.
    assert result.palette.shape == (n, pixels.shape[2])
    assert result.labels.shape == (h, w) and result.labels.max() < n
    assert result.image.shape == pixels.shape
    assert int(result.counts.sum()) == h * w
    assert np.all(np.diff(result.counts) <= 0)
    soft = pixels.shape[2] == 4 and bool(((pixels[..., 3] > 0) & (pixels[..., 3] < 255)).any())
    if soft:
        _check_soft(pixels, result, k, dither)
    else:
        _check_opaque_or_binary(pixels, result, k, dither)
    again = quantize(pixels.copy(), k, color_space=space, dither=dither, seed=seed)
    assert again.image.tobytes() == result.image.tobytes()
    assert again.palette.tobytes() == result.palette.tobytes()


def _check_opaque_or_binary(pixels, result, k, dither):
    assert np.array_equal(result.image[..., :3], result.palette[result.labels][..., :3])
    mask = np.ones(pixels.shape[:2], bool)
    if pixels.shape[2] == 4:
        assert np.array_equal(result.image[..., 3], pixels[..., 3])
        if result.transparent_index is not None:
            assert np.array_equal(result.labels == result.transparent_index, pixels[..., 3] == 0)
        mask = pixels[..., 3] > 0
    distinct = np.unique(pixels[..., :3][mask], axis=0)
    has_transparent = not mask.all()
    budget = k - 1 if has_transparent and k >= 2 else k
    if dither == "none" and 0 < distinct.shape[0] <= budget:
        # Few enough colours: every visible pixel keeps its exact colour.
        assert np.array_equal(result.image[..., :3][mask], pixels[..., :3][mask])


def _check_soft(pixels, result, k, dither):
    # Semi-transparent input: colour and alpha both come from an RGBA palette.
    assert result.palette.shape[1] == 4
    hidden = pixels[..., 3] == 0
    if k >= 2 or not hidden.any():
        assert np.array_equal(result.image, result.palette[result.labels])
    else:
        # k = 1: the one entry is visible; fully transparent pixels keep alpha 0 anyway.
        assert np.array_equal(result.image[~hidden], result.palette[result.labels][~hidden])
    assert not result.image[..., 3][hidden].any()
    if result.transparent_index is not None:
        assert (result.labels[hidden] == result.transparent_index).all()
        assert tuple(result.palette[result.transparent_index]) == (0, 0, 0, 0)
    visible = np.unique(pixels[~hidden].reshape(-1, 4), axis=0)
    budget = k - 1 if hidden.any() else k
    if dither == "none" and 0 < visible.shape[0] <= budget:
        # Few enough RGBA values: every pixel keeps its exact colour and alpha.
        assert np.array_equal(result.image[~hidden], pixels[~hidden])

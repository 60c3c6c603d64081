"""Display copies: the screen gets about as many pixels as it has, never 24 million."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui.gui.display_image import (
    DisplayImage,
    reduce_labels,
    reduce_photo,
    reduction_factor,
)


@pytest.fixture(scope="module")
def big() -> np.ndarray:
    """A 3000x4500 image (13.5 MP) with a gradient, so regions can be recognised."""
    x = np.arange(4500, dtype=np.uint16)[None, :]
    y = np.arange(3000, dtype=np.uint16)[:, None]
    img = np.empty((3000, 4500, 3), dtype=np.uint8)
    img[..., 0] = x % 256
    img[..., 1] = y % 256
    img[..., 2] = (x // 256 + y // 256) % 256
    return img


def test_reduced_copy_is_display_sized(big: np.ndarray) -> None:
    display = DisplayImage.for_photo(big)
    assert max(display.preview.shape[:2]) <= 1600
    assert display.factor == reduction_factor(big.shape) == 3


def test_fit_view_draws_the_preview_not_the_full_image(big: np.ndarray) -> None:
    display = DisplayImage.for_photo(big)
    scale = 1000 / 4500  # a 1000-pixel-wide canvas showing the whole width
    region = display.region(0, 4500, 0, 3000, scale)
    assert region.pixels.size <= display.preview.size < big.size / 8
    assert region.extent == (0, 4500, 3000, 0)


def test_one_to_one_draws_full_resolution_pixels_of_the_visible_part(big: np.ndarray) -> None:
    display = DisplayImage.for_photo(big)
    region = display.region(1000.5, 1800.5, 2000.25, 2600.25, 1.0)
    assert region.step == 1
    left, right, bottom, top = region.extent
    assert left <= 1000 and right >= 1801 and top <= 2000 and bottom >= 2601
    assert region.pixels.shape[:2] == (bottom - top, right - left)
    np.testing.assert_array_equal(region.pixels, big[top:bottom, left:right])


def test_quantized_preview_is_averaged_for_display_and_labels_stay_exact() -> None:
    # A dithered-looking result: two colours alternating pixel by pixel. Seen whole, it must
    # look like their mean (as the eye sees it), not like one of the two picked at random;
    # the labels (for the swatch highlight) still name real entries, pixel for pixel.
    palette = np.array([[0, 0, 0], [200, 100, 40]], dtype=np.uint8)
    x = np.arange(3200, dtype=np.uint16)[None, :]
    y = np.arange(2400, dtype=np.uint16)[:, None]
    labels = ((x + y) % 2).astype(np.uint8)
    image = palette[labels]
    display = DisplayImage.for_quantized(image, labels)
    region = display.region(0, 3200, 0, 2400, 0.3)
    mean = palette.mean(axis=0)
    assert np.abs(region.pixels[2:-2, 2:-2].astype(float) - mean).max() <= 2
    assert set(np.unique(region.labels)) <= {0, 1}
    # The full image (used for saving) is untouched.
    assert display.full is image
    zoomed_out = display.region(0, 3200, 0, 2400, 0.1).fitted(320, 240, smooth=True)
    assert np.abs(zoomed_out.pixels[2:-2, 2:-2, :3].astype(float) - mean).max() <= 2


def test_regions_larger_than_the_screen_are_fitted_to_it(big: np.ndarray) -> None:
    display = DisplayImage.for_photo(big)
    region = display.region(0, 4500, 0, 3000, 0.1).fitted(450, 300, smooth=True)
    assert region.pixels.shape == (300, 450, 4)
    # Box filtering averages: the red ramp stays a ramp (no aliasing to random values).
    assert np.all(np.diff(region.pixels[0, :20, 0].astype(int)) >= 0)


def test_small_images_are_drawn_as_they_are() -> None:
    img = np.zeros((40, 60, 4), dtype=np.uint8)
    display = DisplayImage.for_photo(img)
    assert display.preview is img and display.factor == 1
    region = display.region(-10, 70, -5, 45, 8.0)
    assert region.pixels.shape == (40, 60, 4) and region.extent == (0, 60, 40, 0)


@pytest.mark.parametrize("dither", ["none", "floyd-steinberg"])
def test_result_preview_painted_from_labels_is_the_area_average(dither: str) -> None:
    # A result's display copy is made from its labels (fast after a palette edit); it must
    # be exactly the box average of the full-size image, not a subsample of it.
    from kquant_gui import quantize, replace_color

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (1700, 3301, 3), dtype=np.uint8)
    result = replace_color(quantize(pixels, 6, dither=dither), 2, "#c8102e")
    display = DisplayImage.for_result(result)
    assert display.factor == 3 and display.full is result.image
    np.testing.assert_array_equal(display.preview, reduce_photo(result.image, 3))
    np.testing.assert_array_equal(display.preview_labels, result.labels[::3, ::3])


def test_labels_with_an_rgba_palette_average_like_the_image() -> None:
    rng = np.random.default_rng(4)
    palette = rng.integers(0, 256, (5, 4), dtype=np.uint8)
    labels = rng.integers(0, 5, (700, 1001), dtype=np.uint8)
    np.testing.assert_array_equal(
        reduce_labels(labels, palette, 3), reduce_photo(palette[labels], 3)
    )

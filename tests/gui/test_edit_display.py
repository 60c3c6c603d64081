"""An edit's display copy, painted before its full-size result exists, is the display of that
result: the same preview, the same labels and the same pixels in every view, zoomed out or
in, so what the window shows first is what it will save."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui import quantize
from kquant_gui.engine import apply_plan, plan_delete, plan_merge, plan_replace
from kquant_gui.gui.display_image import DisplayImage, LabelLookup


@pytest.fixture(scope="module", params=["none", "floyd-steinberg"])
def result(request: pytest.FixtureRequest):
    """A 3301x1000 k=6 result (display factor 3, a ragged last column of boxes)."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:1000, 0:3301]
    img = np.empty((1000, 3301, 3), dtype=np.uint8)
    img[..., 0] = (x * 255 // 3300).astype(np.uint8)
    img[..., 1] = (y * 255 // 999).astype(np.uint8)
    img[..., 2] = rng.integers(0, 60, size=(1000, 3301), dtype=np.uint8)
    return quantize(img, 6, dither=request.param)


PLANS = {
    "replace": lambda r: plan_replace(r, 2, "#c8102e"),
    "delete": lambda r: plan_delete(r, 1),
    "merge": lambda r: plan_merge(r, [0, 3, 4]),
}

# (x0, x1, y0, y1, scale): Fit, between Fit and 100 %, 100 %, and zoomed in.
VIEWS = [
    (0, 3301, 0, 1000, 0.2),
    (500, 2100, 300, 900, 0.45),
    (1000, 1700, 400, 800, 1.0),
    (3000, 3301, 800, 1000, 4.0),
]


@pytest.mark.parametrize("op", sorted(PLANS))
def test_the_first_display_is_the_display_of_the_edited_result(result, op: str) -> None:
    shown = DisplayImage.for_result(result)
    plan = PLANS[op](result)
    first = DisplayImage.for_edit(result, shown, plan)
    assert first is not None and first.factor == 3
    edited = apply_plan(result, plan)
    full = DisplayImage.for_result(edited)
    if op == "delete":
        # Pixel by pixel: the deleted entry's pixels went to several entries, so the copy
        # cannot have been painted from a colour per old label.
        assert plan.per_pixel
        assert np.unique(edited.labels[result.labels == 1]).size > 1
    np.testing.assert_array_equal(first.preview, full.preview)
    np.testing.assert_array_equal(first.preview_labels, full.preview_labels)
    assert first.width == full.width and first.height == full.height
    np.testing.assert_array_equal(plan.counts(result.counts), edited.counts)
    np.testing.assert_array_equal(plan.palette, edited.palette)
    # The full size is looked up (from the old labels, or the delete's new ones) until the
    # edited arrays are there.
    assert isinstance(first.full, LabelLookup)
    later = first.with_result(edited)
    assert later.full is edited.image and later.preview is first.preview
    for view in VIEWS:
        want = full.region(*view)
        for display in (first, later):
            got = display.region(*view)
            assert got.extent == want.extent and got.step == want.step
            np.testing.assert_array_equal(got.pixels, want.pixels)
            np.testing.assert_array_equal(got.labels, want.labels)
            on_screen = (400, 300)
            np.testing.assert_array_equal(
                got.fitted(*on_screen, smooth=True).pixels,
                want.fitted(*on_screen, smooth=True).pixels,
            )


def test_results_with_alpha_are_edited_full_size_first() -> None:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, size=(300, 400, 4), dtype=np.uint8)
    img[..., 3] = np.where(img[..., 3] > 128, 255, 100)
    result = quantize(img, 4)
    shown = DisplayImage.for_result(result)
    # The pixels keep the input's alpha: the palette alone cannot paint them.
    assert DisplayImage.for_edit(result, shown, plan_replace(result, 0, "#000000")) is None

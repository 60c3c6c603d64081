"""Saving soft-edged results: every indexed format stays indexed, alpha as the format allows."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from kquant_gui import quantize
from kquant_gui.image_io import save_quantized


def _soft(h: int = 48, w: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w] / np.array([h - 1.0, w - 1.0])[:, None, None]
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., 0] = np.rint(255 * x)
    rgba[..., 1] = np.rint(200 * y)
    rgba[..., 2] = np.rint(120 + 100 * x * y)
    rgba[..., 3] = np.rint(255 * np.clip(1.6 * (1.0 - np.hypot(2 * x - 1, 2 * y - 1)), 0, 1))
    return rgba


@pytest.mark.parametrize("k", [1, 2, 3, 4, 16, 17, 64, 256])
def test_every_png_is_a_palette_png_with_trns_that_reads_back_exactly(tmp_path, k):
    result = quantize(_soft(), k)
    saved = save_quantized(result, tmp_path / f"k{k}.png")
    assert saved.notes == ()
    with Image.open(saved.path) as im:
        assert im.mode == "P"
        assert "transparency" in im.info
        n_plte = len(im.getpalette()) // 3
        back = np.asarray(im.convert("RGBA"))
    # k counts every entry; k = 1 needs one more for the fully transparent pixels.
    assert n_plte <= max(k, 2)
    np.testing.assert_array_equal(back, result.image)


@pytest.mark.parametrize("k", [8, 256])
def test_gif_keeps_binary_transparency(tmp_path, k):
    rgba = _soft()
    result = quantize(rgba, k)
    saved = save_quantized(result, tmp_path / "q.gif")
    assert any("partial transparency" in n for n in saved.notes)
    with Image.open(saved.path) as im:
        assert im.mode == "P" and "transparency" in im.info
        back = np.asarray(im.convert("RGBA"))
    clear = result.image[..., 3] < 128
    assert (back[clear, 3] == 0).all() and (back[~clear, 3] == 255).all()
    np.testing.assert_array_equal(back[~clear, :3], result.image[~clear, :3])
    assert (back[rgba[..., 3] == 0, 3] == 0).all()


def test_webp_stores_exactly_the_quantized_rgba(tmp_path):
    result = quantize(_soft(), 12)
    saved = save_quantized(result, tmp_path / "q.webp")
    with Image.open(saved.path) as im:
        np.testing.assert_array_equal(np.asarray(im.convert("RGBA")), result.image)

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


def _flat_icon(size: int = 96) -> np.ndarray:
    """Flat shapes drawn at 4x and downsampled: soft edges around areas of one colour."""
    from PIL import ImageDraw

    big = Image.new("RGBA", (4 * size, 4 * size), (0, 0, 0, 0))
    d = ImageDraw.Draw(big)
    d.rounded_rectangle((20, 20, 4 * size - 20, 4 * size - 20), 60, fill=(32, 120, 220, 255))
    d.ellipse((90, 70, 300, 280), fill=(250, 170, 40, 200))
    d.line((0, 4 * size - 1, 4 * size - 1, 0), fill=(200, 40, 90, 255), width=9)
    return np.asarray(big.resize((size, size), Image.Resampling.LANCZOS))


def _chunks(data: bytes) -> dict[bytes, bytes]:
    import struct

    out, pos = {}, 8
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        out[data[pos + 4 : pos + 8]] = data[pos + 8 : pos + 8 + n]
        pos += 12 + n
    return out


def test_a_small_palette_at_8_bits_changes_only_the_depth():
    import io

    from kquant_gui.image_io.png import at_8_bits, png_plan, write_indexed_png

    plan = png_plan(quantize(_flat_icon(), 12))
    buf = io.BytesIO()
    write_indexed_png(buf, plan, {})
    packed = buf.getvalue()
    wide = at_8_bits(packed, plan.index)
    assert wide is not None
    a, b = _chunks(packed), _chunks(wide)
    assert a[b"IHDR"][8] == 4 and b[b"IHDR"][8] == 8
    assert a[b"IHDR"][:8] + a[b"IHDR"][9:] == b[b"IHDR"][:8] + b[b"IHDR"][9:]
    assert a[b"PLTE"] == b[b"PLTE"] and a[b"tRNS"] == b[b"tRNS"]
    with Image.open(io.BytesIO(wide)) as im:
        np.testing.assert_array_equal(np.asarray(im), plan.index)
    assert at_8_bits(wide, plan.index) is None  # already one byte per pixel


@pytest.mark.parametrize("k", [4, 8, 16])
def test_small_soft_palettes_are_saved_at_the_smaller_of_their_depths(tmp_path, k):
    import io

    from kquant_gui.image_io.png import at_8_bits, optimize_png, png_plan, write_indexed_png

    result = quantize(_flat_icon(), k)
    alpha = result.palette[:, 3]
    assert ((alpha > 0) & (alpha < 255)).any()  # soft-edged: Save recompresses it
    saved = save_quantized(result, tmp_path / "q.png")
    plan = png_plan(result)
    buf = io.BytesIO()
    write_indexed_png(buf, plan, {})
    packed = optimize_png(buf.getvalue())
    wide = optimize_png(at_8_bits(buf.getvalue(), plan.index))
    assert saved.size == min(len(packed), len(wide), len(buf.getvalue()))
    with Image.open(saved.path) as im:
        assert im.mode == "P"
        np.testing.assert_array_equal(np.asarray(im.convert("RGBA")), result.image)

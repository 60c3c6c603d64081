"""Fixed colours, remap onto a given palette, and palette edits on a result."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui import delete_color, merge_colors, quantize, remap, replace_color
from kquant_gui.engine import apply_edits

SIX = np.array(
    [[200, 16, 46], [255, 255, 255], [10, 200, 30], [30, 30, 220], [240, 200, 10], [90, 60, 20]],
    dtype=np.uint8,
)
BRAND = np.array([[200, 16, 46], [255, 255, 255]], dtype=np.uint8)


def _rows(a: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(v) for v in r) for r in a.reshape(-1, a.shape[-1])}


@pytest.fixture(scope="module")
def pixel_art() -> np.ndarray:
    rng = np.random.default_rng(3)
    return SIX[rng.integers(0, 6, (40, 60))]


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(4).integers(0, 256, (80, 90, 3), dtype=np.uint8)


@pytest.mark.parametrize("space", ["lab", "oklab", "rgb"])
@pytest.mark.parametrize("k", [2, 3, 5, 16, 64])
def test_fixed_colours_are_in_the_palette_exactly(noise, space, k):
    q = quantize(noise, k, color_space=space, fixed=BRAND)
    assert _rows(BRAND) <= _rows(q.palette)
    assert q.n_colors <= k
    assert np.array_equal(q.fixed, BRAND)
    assert np.array_equal(q.image, q.palette[q.labels])


def test_fixed_keeps_the_real_colours_of_pixel_art(pixel_art):
    plain = quantize(pixel_art, 3)
    assert not _rows(BRAND) <= _rows(plain.palette)  # k-means alone averages them away
    q = quantize(pixel_art, 3, fixed="#c8102e,#ffffff")
    assert _rows(BRAND) <= _rows(q.palette)
    # Pixels of a fixed colour keep it exactly.
    red = np.all(pixel_art == BRAND[0], axis=-1)
    assert np.all(q.image[red] == BRAND[0])


@pytest.fixture(scope="module")
def soft() -> np.ndarray:
    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 256, (40, 50, 4), dtype=np.uint8)
    rgba[:10, :, 3] = 0
    return rgba


@pytest.mark.parametrize("space", ["lab", "oklab", "rgb"])
@pytest.mark.parametrize("k", [3, 8, 64])
def test_fixed_colours_with_alpha_are_rgba_entries_exactly(soft, space, k):
    fixed = np.array([[200, 16, 46, 255], [0, 0, 255, 128]], dtype=np.uint8)
    q = quantize(soft, k, color_space=space, fixed=fixed)
    assert q.palette.shape[1] == 4 and q.n_colors <= k
    assert _rows(fixed) <= _rows(q.palette)
    assert np.array_equal(q.fixed, fixed)
    # The image is what an indexed PNG holds, and fully transparent pixels stay so.
    assert np.array_equal(q.image, q.palette[q.labels])
    assert (q.image[:10, :, 3] == 0).all()
    # An opaque fixed colour on a soft-edged image is an entry at alpha 255.
    opaque = quantize(soft, k, color_space=space, fixed=BRAND)
    assert _rows(np.column_stack([BRAND, [255, 255]])) <= _rows(opaque.palette)


def test_fixed_colour_with_alpha_on_an_image_of_hard_alpha(pixel_art):
    rgba = np.dstack([pixel_art, np.full(pixel_art.shape[:2], 255, np.uint8)])
    rgba[:5, :5, 3] = 0
    q = quantize(rgba, 4, fixed="#0000ff80,#c8102e")
    assert {(0, 0, 255, 128), (200, 16, 46, 255)} <= _rows(q.palette)
    assert q.settings()["fixed"] == ["#0000ff80", "#c8102e"]
    again = quantize(rgba, **q.settings())
    assert again.image.tobytes() == q.image.tobytes()
    # A fully transparent fixed colour is the transparent entry.
    clear = quantize(rgba, 4, fixed=[[9, 9, 9, 0]])
    assert (0, 0, 0, 0) in _rows(clear.palette)


def test_a_translucent_fixed_colour_needs_an_image_with_alpha(pixel_art):
    with pytest.raises(ValueError, match="need an image with alpha"):
        quantize(pixel_art, 4, fixed="#0000ff80")
    # Alpha 255 is an opaque colour, fine on an RGB image.
    q = quantize(pixel_art, 4, fixed="#c8102eff")
    assert (200, 16, 46) in _rows(q.palette)


def test_unused_fixed_colour_is_kept_and_deterministic(noise):
    odd = np.array([[1, 2, 3]], dtype=np.uint8)
    a = quantize(noise[..., ::-1].copy() // 2 + 100, 4, fixed=odd)
    b = quantize(noise[..., ::-1].copy() // 2 + 100, 4, fixed=odd)
    assert (1, 2, 3) in _rows(a.palette)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.palette, b.palette)


@pytest.mark.parametrize(
    "fixed, message",
    [
        (np.zeros((5, 3), np.uint8), "more than 4"),
        (np.zeros((2, 2), np.uint8), "shape"),
        ([[300, 0, 0]], "0 to 255"),
        ("#12345", "not a colour"),
    ],
)
def test_bad_fixed_colours_raise(noise, fixed, message):
    with pytest.raises(ValueError, match=message):
        quantize(noise, 4, fixed=fixed)


@pytest.mark.parametrize("dither", ["none", "ordered", "floyd-steinberg"])
@pytest.mark.parametrize("space", ["lab", "rgb"])
def test_remap_keeps_order_and_never_invents_a_colour(noise, dither, space):
    palette = SIX[[3, 0, 5, 1, 2, 4]]
    r = remap(noise, palette, color_space=space, dither=dither)
    assert np.array_equal(r.palette, palette)
    assert r.k == 6 and r.counts.sum() == noise.shape[0] * noise.shape[1]
    assert _rows(r.image) <= _rows(palette)
    assert np.array_equal(r.image, palette[r.labels])


def test_remap_keeps_unused_entries_and_alpha():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = (250, 250, 250)
    rgba[..., 3] = 200
    rgba[0, 0, 3] = 0
    palette = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0]], np.uint8)
    r = remap(rgba, palette)
    assert np.array_equal(r.palette[:, :3], palette)
    assert r.counts[2] == 0 and r.counts[1] == 63
    assert np.array_equal(r.image[..., 3], rgba[..., 3])


def test_remap_of_the_image_palette_reproduces_the_nearest_mapping(pixel_art):
    r = remap(pixel_art, SIX)
    assert np.array_equal(r.image, pixel_art)


@pytest.mark.parametrize("palette", [np.empty((0, 3)), np.zeros((257, 3), np.uint8)])
def test_remap_rejects_bad_palettes(noise, palette):
    with pytest.raises(ValueError, match="palette"):
        remap(noise, palette)


def test_replace_changes_only_that_entry(noise):
    q = quantize(noise, 6)
    e = replace_color(q, 2, "#123456")
    assert tuple(e.palette[2]) == (0x12, 0x34, 0x56)
    assert np.array_equal(e.labels, q.labels) and np.array_equal(e.counts, q.counts)
    assert np.array_equal(e.image, e.palette[e.labels])
    assert np.all(e.image[q.labels == 2] == (0x12, 0x34, 0x56))
    assert np.array_equal(q.image, q.palette[q.labels])  # the original is untouched


def test_delete_moves_pixels_to_the_nearest_remaining_entry():
    palette = np.array([[0, 0, 0], [250, 250, 250], [255, 255, 255]], np.uint8)
    img = palette[np.arange(30).reshape(5, 6) % 3]
    q = remap(img, palette)
    e = delete_color(q, 2)
    assert e.n_colors == 2 and np.array_equal(e.palette, palette[:2])
    assert e.counts.tolist() == [10, 20]
    assert np.array_equal(e.image, e.palette[e.labels])


def test_merge_is_the_weighted_mean(noise):
    palette = np.array([[0, 0, 0], [200, 0, 0], [100, 0, 0]], np.uint8)
    img = palette[np.array([[0, 1, 1, 1, 2, 0]])]
    q = remap(img, palette, color_space="rgb")
    e = merge_colors(q, [1, 0])
    assert e.n_colors == 2
    assert tuple(e.palette[0]) == (120, 0, 0)  # (2 * 0 + 3 * 200) / 5
    assert e.counts.tolist() == [5, 1]
    assert np.array_equal(e.image, e.palette[e.labels])


def test_edits_replay_to_the_same_bytes(noise):
    q = quantize(noise, 8, seed=2)
    e = merge_colors(delete_color(replace_color(q, 1, "#abcdef"), 3), [0, 2])
    again = apply_edits(quantize(noise, 8, seed=2), e.edits)
    assert again.image.tobytes() == e.image.tobytes()
    assert np.array_equal(again.palette, e.palette)


def test_edit_errors(noise):
    q = quantize(noise, 3)
    with pytest.raises(ValueError, match="index"):
        replace_color(q, 3, "#000000")
    with pytest.raises(ValueError, match="two"):
        merge_colors(q, [1, 1])
    one = quantize(noise, 1)
    with pytest.raises(ValueError, match="only colour"):
        delete_color(one, 0)
    with pytest.raises(ValueError, match="unknown palette edit"):
        apply_edits(q, [{"op": "paint"}])


@pytest.mark.parametrize("dither", ["ordered", "floyd-steinberg"])
def test_remap_honours_the_dither_strength(noise, dither):
    palette = SIX[[3, 0, 5, 1, 2, 4]]
    none = remap(noise, palette)
    zero = remap(noise, palette, dither=dither, dither_strength=0.0)
    half = remap(noise, palette, dither=dither, dither_strength=0.5)
    assert np.array_equal(zero.image, none.image) and np.array_equal(zero.labels, none.labels)
    assert (zero.dither, zero.dither_strength, half.dither_strength) == (dither, 0.0, 0.5)
    assert not np.array_equal(half.image, none.image)
    assert np.array_equal(half.palette, palette) and _rows(half.image) <= _rows(palette)
    with pytest.raises(ValueError, match="dither_strength"):
        remap(noise, palette, dither=dither, dither_strength=1.5)


@pytest.mark.parametrize("dither", ["ordered", "floyd-steinberg"])
@pytest.mark.parametrize("strength", [0.5, 1.0])
def test_remap_of_an_exact_image_is_unchanged_by_dithering(pixel_art, dither, strength):
    r = remap(pixel_art, SIX, dither=dither, dither_strength=strength)
    assert np.array_equal(r.image, pixel_art)


@pytest.mark.parametrize("dither", ["ordered", "floyd-steinberg"])
@pytest.mark.parametrize("strength", [0.3, 1.0])
def test_fixed_colours_stay_exact_when_dithered(noise, dither, strength):
    q = quantize(noise, 8, dither=dither, dither_strength=strength, fixed=BRAND)
    assert _rows(BRAND) <= _rows(q.palette)
    assert q.dither_strength == strength
    assert np.array_equal(q.image, q.palette[q.labels])

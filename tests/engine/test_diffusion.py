"""Our error diffusion: selective, with a strength, deterministic, alpha-aware."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui.engine.colorspace import SRGB_TO_LINEAR, to_space
from kquant_gui.engine.diffusion import diffuse
from kquant_gui.engine.diffusion_tiles import KERNELS, tile_size
from kquant_gui.engine.nearest import NearestTable, pack_keys, table_keys


def _gradient(h: int = 96, w: int = 160) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([40 + 160 * x / (w - 1), 60 + 120 * y / (h - 1), 180 - 100 * x / (w - 1)], -1)
    return np.rint(rgb).astype(np.uint8)


def _palette(n: int, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 3)).astype(np.uint8)


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_an_image_the_palette_holds_comes_back_unchanged(kernel):
    palette = _palette(12)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 12, (70, 90))
    pixels = palette[labels]
    out = diffuse(pixels, palette, kernel=kernel)
    np.testing.assert_array_equal(palette[out], pixels)


def test_two_entries_one_level_apart_each_keep_their_pixels():
    # They share a 2x2x2 cell of the dithering table: the exact match must still win.
    palette = np.array([[100, 100, 100], [101, 100, 100], [0, 0, 0]], dtype=np.uint8)
    pixels = palette[np.arange(60 * 40).reshape(60, 40) % 3]
    np.testing.assert_array_equal(palette[diffuse(pixels, palette)], pixels)


def test_strength_zero_is_the_nearest_entry_of_every_pixel():
    pixels = _gradient()
    palette = _palette(16)
    out = diffuse(pixels, palette, strength=0.0, space="lab")
    d2 = (
        (to_space(pixels.reshape(-1, 3), "lab")[:, None] - to_space(palette, "lab")[None]) ** 2
    ).sum(-1)
    best = d2.argmin(1)
    chosen = d2[np.arange(best.size), out.reshape(-1)]
    # By cell away from the entries: never more than a fraction of a dE off the nearest.
    assert np.sqrt(chosen).max() - np.sqrt(d2.min(1)).max() < 1.5
    assert np.mean(out.reshape(-1) == best) > 0.97


def test_dithering_reproduces_the_mean_colour_in_linear_light():
    # A flat colour halfway between two entries in linear light: dithering mixes them about
    # half and half (a little towards the nearer one: 20% of the error is let go).
    palette = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    grey = np.full((64, 64, 3), 188, dtype=np.uint8)  # linear light ~0.5
    share = diffuse(grey, palette).mean()
    assert abs(share - SRGB_TO_LINEAR[188]) < 0.07
    dark = np.full((64, 64, 3), 100, dtype=np.uint8)  # linear light ~0.13
    assert abs(diffuse(dark, palette).mean() - SRGB_TO_LINEAR[100]) < 0.03
    assert np.array_equal(diffuse(grey, palette, strength=0.0), np.ones((64, 64), np.uint8))


def test_weaker_strength_dithers_less():
    pixels = _gradient()
    palette = _palette(8, seed=5)
    nearest = diffuse(pixels, palette, strength=0.0)
    changed = [np.mean(diffuse(pixels, palette, strength=s) != nearest) for s in (0.3, 1.0)]
    assert 0 < changed[0] < changed[1]


def test_results_are_identical_across_thread_counts_and_runs():
    pixels = _gradient(200, 300)
    palette = _palette(16)
    one = diffuse(pixels, palette, threads=1)
    np.testing.assert_array_equal(one, diffuse(pixels, palette, threads=3))
    np.testing.assert_array_equal(one, diffuse(pixels, palette, threads=1))


def test_transparent_pixels_keep_their_entry_and_pass_no_error():
    rgb = _gradient()
    palette = _palette(10)
    alpha = np.full(rgb.shape[:2], 255, dtype=np.uint8)
    alpha[:, 70:90] = 0
    # Behind the transparent band the colour is wild; none of it may leak out.
    rgb[:, 70:90] = 255 - rgb[:, 70:90]
    rgba = np.dstack([rgb, alpha])
    out = diffuse(rgba, palette, transparent=10)
    assert (out[:, 70:90] == 10).all()
    # Error never crosses the band: the right part is dithered as if the left were absent.
    right = diffuse(np.ascontiguousarray(rgba[:, 90:]), palette, transparent=10)
    left_of_band = out[:, :70]
    assert (left_of_band < 10).all()
    # Tiles differ between the two calls, so compare what the band would carry: a column of
    # transparent pixels receives nothing, so the first visible column after it starts fresh
    # in both; the mean colour of the right part matches either way.
    mean_in_band = palette[out[:, 90:]].astype(float).mean(axis=(0, 1))
    mean_alone = palette[right].astype(float).mean(axis=(0, 1))
    assert np.abs(mean_in_band - mean_alone).max() < 3.0


def test_smooth_gradient_has_no_patch_after_blurring():
    # Pillow's colour cache left rectangular patches on soft gradients at small k: after a
    # blur (the error seen from a distance) the dithered image must stay close to the
    # original in every block, not only on average.
    from scipy.ndimage import gaussian_filter

    h, w = 96, 384
    ramp = np.linspace(0.0, 1.0, w)[None, :, None] * np.ones((h, 1, 1))
    warm, cool = np.array([250, 200, 120]), np.array([30, 40, 90])
    pixels = np.rint(cool + (warm - cool) * ramp).astype(np.uint8)
    # Eight entries along the ramp, its two ends included, as a palette holding it would.
    palette = np.rint(cool + (warm - cool) * np.linspace(0, 1, 8)[:, None]).astype(np.uint8)
    lin = [
        gaussian_filter(SRGB_TO_LINEAR[p], sigma=(1.5, 1.5, 0))
        for p in (pixels, palette[diffuse(pixels, palette)])
    ]
    diff = np.abs(lin[0] - lin[1]).mean(axis=2)[8:-8, 8:-8]
    blocks = diff[:80, :368].reshape(5, 16, 23, 16).mean(axis=(1, 3))
    undithered = palette[diffuse(pixels, palette, strength=0.0)]
    banding = np.abs(gaussian_filter(SRGB_TO_LINEAR[undithered], (1.5, 1.5, 0)) - lin[0])
    assert blocks.max() < 0.01
    assert blocks.max() < banding.mean(axis=2).max() / 4


def test_the_table_finds_every_entry_colour_exactly():
    palette = np.vstack([_palette(200), [[10, 10, 10], [11, 10, 10]]]).astype(np.uint8)
    table = NearestTable(palette, "lab")
    # Entries may repeat; each must find an entry of its own colour.
    found = palette[table.own_labels(pack_keys(palette))]
    np.testing.assert_array_equal(found, palette)


def test_tiles_suit_the_image_size():
    assert tile_size(4000, 6000) >= tile_size(427, 640)
    assert tile_size(10, 10) == min(tile_size(10, 10), 16)


def test_spreading_moves_outer_entries_out_and_keeps_flat_colours():
    from kquant_gui.engine.spread import spread_palette

    # Two clusters along a ramp, and one flat colour that holds most of its cluster.
    ramp = np.stack([np.arange(0, 120), np.full(120, 60), np.full(120, 60)], -1)
    flat = np.repeat([[200, 40, 40]], 500, axis=0)
    colors = np.vstack([ramp, flat, [[205, 45, 40]]]).astype(np.uint8)
    weights = np.ones(colors.shape[0])
    palette = np.array([[30, 60, 60], [90, 60, 60], [200, 40, 40]], dtype=np.uint8)
    coords = to_space(colors, "lab")
    spread = spread_palette(palette, coords, weights, "lab")
    np.testing.assert_array_equal(spread[2], palette[2])
    # The darkest entry moves towards black, away from the others.
    assert spread[0, 0] < palette[0, 0]
    np.testing.assert_array_equal(spread_palette(palette, coords, weights, "lab", 0.0), palette)


# --- through quantize -------------------------------------------------------------------

DITHERED = ("floyd-steinberg", "ordered")


@pytest.mark.parametrize("dither", ("none", *DITHERED))
@pytest.mark.parametrize("space", ("lab", "oklab", "rgb"))
def test_quantize_returns_an_image_k_colours_hold_unchanged(dither, space):
    from kquant_gui import quantize

    palette = _palette(16, seed=11)
    pixels = palette[np.random.default_rng(2).integers(0, 16, (60, 80))]
    result = quantize(pixels, 16, dither=dither, color_space=space)
    np.testing.assert_array_equal(result.image, pixels)


@pytest.mark.parametrize("dither", DITHERED)
def test_quantize_at_strength_zero_is_no_dithering(dither):
    from kquant_gui import quantize

    pixels = _gradient(120, 200)
    plain = quantize(pixels, 8)
    zero = quantize(pixels, 8, dither=dither, dither_strength=0.0)
    np.testing.assert_array_equal(zero.image, plain.image)
    np.testing.assert_array_equal(zero.labels, plain.labels)
    np.testing.assert_array_equal(zero.palette, plain.palette)
    assert zero.settings()["dither_strength"] == 0.0
    half = quantize(pixels, 8, dither=dither, dither_strength=0.5)
    assert not np.array_equal(half.image, plain.image)


@pytest.mark.parametrize("dither", DITHERED)
def test_quantize_dithered_is_the_same_whatever_the_threads(dither):
    from kquant_gui import quantize

    pixels = _gradient(300, 420)
    one = quantize(pixels, 16, dither=dither, threads=1)
    many = quantize(pixels, 16, dither=dither, threads=4)
    np.testing.assert_array_equal(one.image, many.image)
    np.testing.assert_array_equal(one.labels, many.labels)


def test_quantize_dithered_keeps_transparent_pixels_transparent():
    from kquant_gui import quantize

    rgb = _gradient()
    alpha = np.full(rgb.shape[:2], 255, dtype=np.uint8)
    alpha[30:60, :] = 0
    rgb[30:60] = 255 - rgb[30:60]  # hidden colours, far from the rest
    result = quantize(np.dstack([rgb, alpha]), 8, dither="floyd-steinberg")
    assert (result.labels[30:60] == result.transparent_index).all()
    assert (result.image[30:60, :, 3] == 0).all()
    np.testing.assert_array_equal(result.image[..., 3], alpha)


@pytest.mark.parametrize("bad", (-0.1, 1.5, float("nan"), "1", True, None))
def test_quantize_rejects_a_strength_outside_0_to_1(bad):
    from kquant_gui import quantize

    with pytest.raises(ValueError, match="dither_strength"):
        quantize(_gradient(8, 8), 4, dither="floyd-steinberg", dither_strength=bad)


def test_the_table_near_the_image_agrees_with_the_whole_table():
    from kquant_gui.engine.diffusion import near_bins

    pixels = _gradient(90, 120)
    palette = _palette(24, seed=8)
    whole = NearestTable(palette, "lab")
    near = near_bins(pixels)
    assert 0 < near.mean() < 0.5
    part = NearestTable(palette, "lab", near=near)
    # Inside the region the colours are worked out the same way; outside it, on demand.
    keys = table_keys(pixels.reshape(-1, 3))
    np.testing.assert_array_equal(part.labels[keys], whole.labels[keys])
    assert (part.labels == part.unknown).any()
    np.testing.assert_array_equal(diffuse(pixels, palette, table=part), diffuse(pixels, palette))


def test_a_palette_that_does_not_fit_the_pixels_is_refused():
    with pytest.raises(ValueError, match=r"\(n, 4\) for pixels with alpha"):
        diffuse(np.zeros((4, 4, 3), np.uint8), np.zeros((2, 4), np.uint8))
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        diffuse(np.zeros((4, 4, 4), np.uint8), np.zeros((2, 5), np.uint8))


# --- colour and alpha: one kernel for RGBA palettes too ---------------------------------


def _soft(h: int = 90, w: int = 140) -> np.ndarray:
    """A colour gradient under a soft alpha ramp, with a fully transparent band and hole."""
    rgb = _gradient(h, w)
    alpha = np.tile(np.linspace(40, 255, w), (h, 1))
    alpha[:, 60:75] = 0
    alpha[10:30, 100:120] = 0
    return np.dstack([rgb, np.rint(alpha).astype(np.uint8)])


def _rgba_palette(n: int, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pal = rng.integers(0, 256, (n, 4)).astype(np.uint8)
    pal[:, 3] = np.maximum(pal[:, 3], 60)
    pal[0] = 0  # the transparent entry
    return pal


def _off_nearest(labels: np.ndarray, plain: np.ndarray, visible: np.ndarray) -> int:
    return int(np.count_nonzero((labels != plain) & visible))


@pytest.mark.parametrize("alpha", (False, True))
def test_dither_amount_grows_with_strength_rgb_and_rgba(alpha):
    if alpha:
        pixels, palette = _soft(), _rgba_palette(12)
    else:
        pixels, palette = _gradient(90, 140), _palette(12)
    visible = pixels[..., 3] > 0 if alpha else np.ones(pixels.shape[:2], bool)
    plain = diffuse(pixels, palette, strength=0.0, transparent=0 if alpha else -1)
    counts = [
        _off_nearest(
            diffuse(pixels, palette, strength=s, transparent=0 if alpha else -1), plain, visible
        )
        for s in (0.25, 0.5, 1.0)
    ]
    assert 0 < counts[0] < counts[1] < counts[2]


def test_rgba_strength_zero_is_each_pixels_own_entry():
    pixels, palette = _soft(), _rgba_palette(10)
    plain = diffuse(pixels, palette, strength=0.0, transparent=0)
    # No error moves: a pixel's entry depends on its own colour alone, so equal colours
    # (here: every row of the gradient's columns repeats along the alpha ramp) agree.
    again = diffuse(np.ascontiguousarray(pixels[::-1]), palette, strength=0.0, transparent=0)
    np.testing.assert_array_equal(plain, again[::-1])


@pytest.mark.parametrize("strength", (0.4, 1.0))
def test_rgba_error_never_crosses_a_fully_transparent_pixel(strength):
    pixels, palette = _soft(), _rgba_palette(12)
    out = diffuse(pixels, palette, strength=strength, transparent=0)
    hidden = pixels[..., 3] == 0
    assert (out[hidden] == 0).all()
    # What lies behind the band cannot reach the other side: change the hidden colours and
    # the left part's error, wherever it comes from, is unchanged on the right and left.
    wild = pixels.copy()
    wild[hidden, :3] = 255 - wild[hidden, :3]
    np.testing.assert_array_equal(out, diffuse(wild, palette, strength=strength, transparent=0))
    # The band cuts the image: the right part diffused alone is the right part diffused in
    # place, up to where tiles (which depend on the image size) start their noise.
    cut = pixels.copy()
    cut[:, :60] = 0  # everything left of the band transparent
    right = diffuse(cut, palette, strength=strength, transparent=0)[:, 75:]
    in_place = out[:, 75:]
    assert np.mean(right == in_place) > 0.6
    mean = [palette[x][..., :3].astype(float).mean() for x in (right, in_place)]
    assert abs(mean[0] - mean[1]) < 3.0


def test_alpha_zero_pixels_receive_no_error_in_rgb_palettes_either():
    rgb = _gradient()
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[::3, ::4] = 0  # scattered holes
    rgba = np.dstack([rgb, alpha])
    palette = _palette(10)
    table = NearestTable(palette, "lab")
    out = diffuse(rgba, palette, table=table)
    hole, seen = alpha == 0, alpha > 0
    # A hole takes the entry of its own colour, whatever error its neighbours carry: with
    # other colours around it, it takes the same one.
    other = rgba.copy()
    other[seen, :3] = other[seen, :3][:, ::-1]
    moved = diffuse(other, palette, table=table)
    np.testing.assert_array_equal(out[hole], moved[hole])
    assert np.count_nonzero(out[seen] != moved[seen]) > 1000
    # And passes none on: other colours behind the holes change nothing. (Red and blue
    # swapped keep the luma that edge damping measures, so only error could tell.)
    wild = rgba.copy()
    wild[hole, :3] = wild[hole, :3][:, ::-1]
    np.testing.assert_array_equal(out[seen], diffuse(wild, palette, table=table)[seen])


def test_rgba_diffusion_carries_alpha_error_too():
    # Half-covered grey: entries fully transparent and opaque grey; dithering mixes them
    # about half and half, reproducing the coverage.
    pixels = np.zeros((64, 64, 4), np.uint8)
    pixels[..., :3] = 128
    pixels[..., 3] = 128
    palette = np.array([[0, 0, 0, 0], [128, 128, 128, 255]], np.uint8)
    out = diffuse(pixels, palette)
    assert abs(out.mean() - 128 / 255) < 0.05
    # A quarter covered: a quarter of the pixels opaque, where the nearest entry alone
    # would leave every pixel transparent.
    pixels[..., 3] = 64
    assert abs(diffuse(pixels, palette).mean() - 64 / 255) < 0.05
    assert diffuse(pixels, palette, strength=0.0).max() == 0


@pytest.mark.parametrize("alpha", (False, True))
def test_rgb_and_rgba_results_are_identical_across_thread_counts(alpha):
    if alpha:
        pixels, palette = _soft(200, 300), _rgba_palette(16)
    else:
        pixels, palette = _gradient(200, 300), _palette(16)
    for s in (0.5, 1.0):
        one = diffuse(pixels, palette, strength=s, threads=1)
        for threads in (2, 4):
            np.testing.assert_array_equal(
                one, diffuse(pixels, palette, strength=s, threads=threads)
            )
        np.testing.assert_array_equal(one, diffuse(pixels, palette, strength=s, threads=1))


def test_fixed_rgba_pixels_keep_their_entry_and_pass_no_error():
    pixels, palette = _soft(), _rgba_palette(12)
    fixed = np.full(pixels.shape[:2], 0xFFFF, np.uint16)
    fixed[:, 20:30] = 5
    out = diffuse(pixels, palette, transparent=0, fixed=fixed)
    assert (out[:, 20:30] == 5).all()
    # Other colours behind the fixed pixels change nothing: they pass no error on. (Red and
    # blue swapped keep the luma that edge damping measures, so only error could tell.)
    wild = pixels.copy()
    wild[:, 20:30, :3] = wild[:, 20:30, 2::-1]
    assert np.abs(wild.astype(int) - pixels).max() > 80
    np.testing.assert_array_equal(out, diffuse(wild, palette, transparent=0, fixed=fixed))


def test_soft_alpha_images_honour_the_strength_too():
    from kquant_gui import quantize

    rgb = _gradient(60, 80)
    alpha = np.tile(np.linspace(0, 255, 80).astype(np.uint8), (60, 1))  # soft edges
    rgba = np.dstack([rgb, alpha])
    plain = quantize(rgba, 8)
    for dither in ("ordered", "floyd-steinberg"):
        zero = quantize(rgba, 8, dither=dither, dither_strength=0.0)
        np.testing.assert_array_equal(zero.image, plain.image)
        np.testing.assert_array_equal(zero.labels, plain.labels)
    moved = []
    for s in (0.25, 0.5, 1.0):
        r = quantize(rgba, 8, dither="floyd-steinberg", dither_strength=s)
        assert r.palette.shape[1] == 4
        assert (r.dither, r.dither_strength) == ("floyd-steinberg", s)
        assert (r.image[alpha == 0, 3] == 0).all()
        moved.append(np.count_nonzero((r.image != plain.image).any(axis=-1)))
    # Error diffusion honours the strength on colour-and-alpha palettes too.
    assert 0 < moved[0] < moved[1] < moved[2]
    half = quantize(rgba, 8, dither="floyd-steinberg", dither_strength=0.5)
    assert half.palette.shape[1] == 4
    assert (half.dither, half.dither_strength) == ("floyd-steinberg", 0.5)
    assert (half.image[alpha == 0, 3] == 0).all()


def test_an_edge_between_held_colours_keeps_its_mean_colour():
    # A one-pixel seam of a colour the palette lacks, between two flat colours it holds
    # exactly (an anti-aliased edge of a logo): its error must go to the seam's other pixels,
    # not be lost on the held ones, so the seam mixes the two to its own mean colour.
    red, grey = (200, 30, 50), (60, 60, 70)
    palette = np.array([red, grey], dtype=np.uint8)
    pixels = np.empty((64, 33, 3), dtype=np.uint8)
    pixels[:, :16], pixels[:, 17:] = red, grey
    seam = np.rint(
        255 * ((SRGB_TO_LINEAR[np.array(red)] + SRGB_TO_LINEAR[np.array(grey)]) / 2) ** (1 / 2.2)
    )
    pixels[:, 16] = seam.astype(np.uint8)
    out = palette[diffuse(pixels, palette)]
    np.testing.assert_array_equal(out[:, :16], pixels[:, :16])
    np.testing.assert_array_equal(out[:, 17:], pixels[:, 17:])
    want = SRGB_TO_LINEAR[pixels[:, 16]].mean(axis=0)
    got = SRGB_TO_LINEAR[out[:, 16]].mean(axis=0)
    assert np.abs(got - want).max() < 0.03, (got, want)


@pytest.mark.parametrize("space", ["lab", "oklab", "rgb"])
def test_every_colour_of_a_bin_lies_within_its_radius(space):
    # The table decides a bin whole only when its radius bounds all 64 colours: a bound that
    # falls short lets a whole bin take an entry some of its colours are not nearest to.
    from kquant_gui.engine.lut import bin_center_coords
    from kquant_gui.engine.nearest_bins import _bin_radius

    rng = np.random.default_rng(1)
    grid = np.stack(np.meshgrid(*[np.arange(64)] * 3, indexing="ij"), -1).reshape(-1, 3)
    dark = np.flatnonzero((grid < 2).any(axis=1))  # (b6, g6, r6) next to black
    bins = np.concatenate([rng.choice(1 << 18, 3000, replace=False), rng.choice(dark, 1000)])
    radius = _bin_radius(space)
    lowest = np.stack([bins & 63, (bins >> 6) & 63, bins >> 12], -1) * 4
    offsets = np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1).reshape(-1, 3)
    colors = (lowest[:, None, :] + offsets[None]).astype(np.uint8)
    d = to_space(colors, space) - bin_center_coords(space)[bins][:, None, :]
    far = np.sqrt((d * d).sum(-1)).max(axis=1)
    assert np.all(far <= radius[bins]), (far / radius[bins]).max()


def test_the_edges_of_a_gradient_keep_their_mean_colour():
    # A smooth gradient is a surface in colour space: the entries along its edges (its
    # lightest row, its corners) must be spread to the edge, or the dithered edge rows can
    # only mix colours inside it and come out darker or duller (0.084 in linear light in a
    # 16x16 block here when entries were spread from the palette's centre).
    from kquant_gui import quantize

    # Blue to orange across, dark to light down, with a soft diagonal sweep.
    v, u = np.mgrid[0:128, 0:192] / np.array([127.0, 191.0])[:, None, None]
    across = np.array([0.10, 0.20, 0.55]) + np.array([0.85, 0.35, -0.40]) * u[..., None]
    rgb = across * (0.35 + 0.65 * v[..., None]) + 0.08 * np.sin(np.pi * (u + v))[..., None]
    pixels = np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
    out = quantize(pixels, 16, dither="floyd-steinberg").image
    blocks = (SRGB_TO_LINEAR[out] - SRGB_TO_LINEAR[pixels]).reshape(8, 16, 12, 16, 3)
    assert np.abs(blocks.mean(axis=(1, 3))).max() < 0.05


def test_grain_accepts_less_error_than_smooth_areas_and_edges_keep_their_damping():
    from kquant_gui.engine.damping import EDGE_FLOOR, edge_damping

    rng = np.random.default_rng(2)
    smooth = _gradient(64, 64)
    grain = np.clip(smooth.astype(int) + rng.integers(-3, 4, smooth.shape), 0, 255)
    assert edge_damping(smooth).min() == 255
    # The grain's own noise mixes colours: less error there, but never none.
    assert 0.5 * 255 < edge_damping(grain.astype(np.uint8)).mean() < 0.97 * 255
    edge = np.zeros((8, 16, 3), dtype=np.uint8)
    edge[:, 8:] = 255
    assert edge_damping(edge)[:, 7:9].max() == round(EDGE_FLOOR * 255)

"""Palette files read back: every format kquant writes, other tools' files, and bad files."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui import quantize, remap, replace_color
from kquant_gui.palettes import (
    PALETTE_FORMATS,
    PaletteReadError,
    read_palette,
    read_palette_file,
    write_palette,
)
from kquant_gui.recipe import Recipe, read_recipe, recipe_of


@pytest.fixture(scope="module")
def result(photo):
    return quantize(photo, 7, color_space="oklab", seed=3)


@pytest.mark.parametrize("ext", list(PALETTE_FORMATS))
def test_every_written_format_reads_back_exactly(tmp_path, result, ext):
    path = write_palette(result, tmp_path / f"p{ext}")
    assert np.array_equal(read_palette(path), result.palette)


@pytest.mark.parametrize("ext", list(PALETTE_FORMATS))
def test_duplicates_and_extremes_round_trip(tmp_path, ext):
    palette = np.array([[0, 0, 0], [0, 0, 0], [255, 255, 255], [1, 254, 128]], np.uint8)
    img = palette[np.array([[0, 2, 3, 2]])]
    r = remap(img, palette)
    path = write_palette(r, tmp_path / f"p{ext}")
    assert np.array_equal(read_palette(path), palette)


def test_transparent_entry_is_left_out(tmp_path, rgba_binary):
    r = quantize(rgba_binary, 5)
    visible = np.delete(r.palette, r.transparent_index, axis=0)
    assert np.all(visible[:, 3] == 255)  # opaque entries: files give them as RGB
    for ext in PALETTE_FORMATS:
        read = read_palette(write_palette(r, tmp_path / f"t{ext}"))
        assert np.array_equal(read, visible[:, :3])


@pytest.mark.parametrize("ext", [".json", ".css", ".txt", ".png"])
def test_semi_transparent_entries_round_trip_where_the_format_has_alpha(tmp_path, ext):
    rng = np.random.default_rng(8)
    rgba = rng.integers(0, 256, (24, 24, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(rgba[..., 3] > 128, 255, 120)
    r = quantize(rgba, 6)
    keep = np.ones(r.n_colors, bool)
    if r.transparent_index is not None:
        keep[r.transparent_index] = False
    visible = r.palette[keep]
    assert np.any(visible[:, 3] < 255)
    assert np.array_equal(read_palette(write_palette(r, tmp_path / f"s{ext}")), visible)


def test_files_of_other_tools(tmp_path):
    (tmp_path / "a.gpl").write_text(
        "GIMP Palette\nName: Web\nColumns: 4\n# comment\n255   0   0\tRed\n  0 128 255 Sky\n"
    )
    (tmp_path / "b.txt").write_text("; paint.net\nFF0000\n#0080ff\n#abc\n")
    (tmp_path / "c.json").write_text('["#ff0000", [0, 128, 255]]')
    (tmp_path / "d.css").write_text(":root { --brand: #ff0000; --sky:#0080FF; }")
    for name in ("a.gpl", "b.txt", "c.json", "d.css"):
        colors = read_palette(tmp_path / name)
        assert colors[:2].tolist() == [[255, 0, 0], [0, 128, 255]], name
    assert read_palette(tmp_path / "b.txt")[2].tolist() == [0xAA, 0xBB, 0xCC]
    (tmp_path / "e.txt").write_text("#ff000080\n")
    assert read_palette(tmp_path / "e.txt").tolist() == [[255, 0, 0, 128]]


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("missing.gpl", None, "no such file"),
        ("x.bmp", b"BM", "unknown palette format"),
        ("empty.txt", b"", "holds no colours"),
        ("bad.txt", b"#ff0000\nnot a colour\n", "line 2"),
        ("bad.gpl", b"JASC-PAL\n", "GIMP Palette"),
        ("bad.json", b"{", "not a valid JSON palette"),
        ("bad.ase", b"ASEF\x00\x01", "not a valid ASE palette"),
        ("bad.png", b"\x89PNG garbage", "not a readable PNG"),
        ("big.txt", b"#000000\n" * 300, "at most 256"),
    ],
)
def test_bad_files_give_one_line_naming_the_file(tmp_path, name, content, reason):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PaletteReadError) as info:
        read_palette(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and reason in message


def test_json_keeps_the_recipe(tmp_path, photo):
    r = replace_color(quantize(photo, 5, seed=4, fixed="#c8102e"), 1, "#010203")
    path = write_palette(r, tmp_path / "r.json")
    pf = read_palette_file(path)
    assert pf.settings["fixed"] == ["#c8102e"] and pf.settings["edits"][0]["op"] == "replace"
    recipe = read_recipe(path)
    assert recipe == recipe_of(r)
    assert recipe.run(photo).image.tobytes() == r.image.tobytes()


def test_recipe_errors_name_the_file(tmp_path, result):
    gpl = write_palette(result, tmp_path / "p.gpl")
    with pytest.raises(PaletteReadError, match="not a usable recipe"):
        read_recipe(gpl)
    with pytest.raises(ValueError, match="dither"):
        Recipe.from_dict({"k": 4, "dither": "zigzag"})


def test_recipe_keeps_the_dither_strength(tmp_path, photo):
    r = quantize(photo, 6, dither="floyd-steinberg", dither_strength=0.4, fixed="#c8102e")
    path = write_palette(r, tmp_path / "r.json")
    assert read_palette_file(path).settings["dither_strength"] == 0.4
    recipe = read_recipe(path)
    assert recipe.dither_strength == 0.4 and recipe == recipe_of(r)
    assert recipe.run(photo).image.tobytes() == r.image.tobytes()


def test_recipe_without_a_strength_means_full_strength(photo):
    old = Recipe.from_dict({"k": 4, "dither": "ordered", "seed": 2})
    assert old.dither_strength == 1.0
    full = quantize(photo, 4, dither="ordered", seed=2)
    assert old.run(photo).image.tobytes() == full.image.tobytes()
    with pytest.raises(ValueError, match="dither_strength"):
        Recipe.from_dict({"k": 4, "dither_strength": 2})

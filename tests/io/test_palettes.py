"""Palette files: every format written from a result and parsed back."""

from __future__ import annotations

import json
import re
import struct

import numpy as np
import pytest
from PIL import Image

from kquant_gui import quantize
from kquant_gui.image_io import ImageSaveError
from kquant_gui.palettes import PALETTE_FORMATS, SWATCH_SIZE, write_palette


@pytest.fixture(scope="module")
def result(photo):
    return quantize(photo, 6, color_space="oklab", seed=7)


@pytest.fixture(scope="module")
def transparent_result(rgba_binary):
    r = quantize(rgba_binary, 5)
    assert r.transparent_index is not None
    return r


def hexes(palette: np.ndarray) -> list[str]:
    return ["#" + bytes(int(v) for v in c[:3]).hex() for c in palette]


def parse_ase(data: bytes) -> tuple[list[str], list[tuple[str, str, tuple[float, ...], int]]]:
    """Read an Adobe Swatch Exchange file by the published layout (big-endian)."""
    assert data[:4] == b"ASEF"
    major, minor, count = struct.unpack(">HHI", data[4:12])
    assert (major, minor) == (1, 0)
    pos, groups, colors, seen = 12, [], [], 0

    def name_at(p: int) -> tuple[str, int]:
        (units,) = struct.unpack(">H", data[p : p + 2])
        raw = data[p + 2 : p + 2 + 2 * units]
        assert raw[-2:] == b"\0\0"  # NUL-terminated
        return raw[:-2].decode("utf-16-be"), p + 2 + 2 * units

    while pos < len(data):
        kind, length = struct.unpack(">HI", data[pos : pos + 6])
        body = pos + 6
        if kind == 0xC001:
            groups.append(name_at(body)[0])
        elif kind == 0x0001:
            name, p = name_at(body)
            model = data[p : p + 4].decode("ascii")
            values = struct.unpack(">3f", data[p + 4 : p + 16])
            (ctype,) = struct.unpack(">H", data[p + 16 : p + 18])
            assert p + 18 == body + length  # the block length covers exactly the body
            colors.append((name, model, values, ctype))
        else:
            assert kind == 0xC002 and length == 0
        pos = body + length
        seen += 1
    assert seen == count
    return groups, colors


def test_formats_listed():
    assert set(PALETTE_FORMATS) == {".gpl", ".ase", ".json", ".css", ".txt", ".png"}


def test_gpl(tmp_path, result):
    path = write_palette(result, tmp_path / "p.gpl", source_name="photo.jpg")
    lines = path.read_text().splitlines()
    assert lines[0] == "GIMP Palette"
    assert lines[1].startswith("Name: photo.jpg")
    rows = [ln for ln in lines[1:] if re.match(r"^\s*\d+\s+\d+\s+\d+", ln)]
    rgb = np.array([[int(v) for v in ln.split()[:3]] for ln in rows])
    np.testing.assert_array_equal(rgb, result.palette)
    assert all(h in ln for h, ln in zip(hexes(result.palette), rows, strict=True))


def test_ase_follows_the_published_layout(tmp_path, result):
    path = write_palette(result, tmp_path / "p.ase", source_name="photo.jpg")
    groups, colors = parse_ase(path.read_bytes())
    assert len(groups) == 1 and groups[0].startswith("photo.jpg")
    assert [c[0] for c in colors] == hexes(result.palette)
    assert {c[1] for c in colors} == {"RGB "}
    values = np.array([c[2] for c in colors])
    np.testing.assert_allclose(values * 255, result.palette, atol=1e-3)
    assert {c[3] for c in colors} == {0}  # global colours


def test_json_has_colours_shares_and_reproducing_settings(tmp_path, result):
    path = write_palette(result, tmp_path / "p.json", source_name="photo.jpg")
    doc = json.loads(path.read_text())
    assert doc["source"] == "photo.jpg"
    assert doc["settings"] == {
        "k": 6,
        "color_space": "oklab",
        "dither": "none",
        "dither_strength": 1.0,
        "seed": 7,
    }
    assert [c["hex"] for c in doc["colors"]] == hexes(result.palette)
    np.testing.assert_array_equal([c["rgb"] for c in doc["colors"]], result.palette)
    shares = [c["share"] for c in doc["colors"]]
    np.testing.assert_allclose(shares, result.shares, atol=1e-6)
    assert shares == sorted(shares, reverse=True)
    assert "transparent_share" not in doc
    # The settings really reproduce the palette.
    again = quantize(result.image, **doc["settings"])
    assert hexes(again.palette) == [c["hex"] for c in doc["colors"]]


def test_css(tmp_path, result):
    text = write_palette(result, tmp_path / "p.css").read_text()
    found = re.findall(r"--kq-(\d+):\s*(#[0-9a-f]{6});", text)
    assert [int(i) for i, _ in found] == list(range(1, result.n_colors + 1))
    assert [h for _, h in found] == hexes(result.palette)
    assert text.count("{") == text.count("}") == 1  # a single :root rule


def test_txt(tmp_path, result):
    text = write_palette(result, tmp_path / "p.txt").read_text()
    assert text.splitlines() == hexes(result.palette)


def test_swatch_png(tmp_path, result):
    path = write_palette(result, tmp_path / "p.png")
    with Image.open(path) as im:
        strip = np.asarray(im.convert("RGB"))
    assert strip.shape == (SWATCH_SIZE, SWATCH_SIZE * result.n_colors, 3)
    centers = strip[SWATCH_SIZE // 2, SWATCH_SIZE // 2 :: SWATCH_SIZE]
    np.testing.assert_array_equal(centers, result.palette)


@pytest.mark.parametrize("ext", sorted(PALETTE_FORMATS))
def test_transparent_entry_is_left_out(tmp_path, transparent_result, ext):
    r = transparent_result
    visible = np.delete(r.palette, r.transparent_index, axis=0)
    path = write_palette(r, tmp_path / f"p{ext}")
    if ext == ".png":
        with Image.open(path) as im:
            assert im.size[0] == SWATCH_SIZE * len(visible)
        return
    if ext == ".ase":
        found = [c[0] for c in parse_ase(path.read_bytes())[1]]
    else:
        found = re.findall(r"#[0-9a-f]{6}", path.read_text())
        if ext == ".gpl":
            found = found[: len(visible)]
    assert found == hexes(visible)
    if ext == ".json":
        doc = json.loads(path.read_text())
        total = sum(c["share"] for c in doc["colors"]) + doc["transparent_share"]
        assert total == pytest.approx(1.0, abs=1e-5)


@pytest.fixture(scope="module")
def soft_result(rgba_soft):
    r = quantize(rgba_soft, 12)
    assert r.palette.shape[1] == 4 and (r.palette[:, 3] % 255 != 0).any()
    return r


def test_alpha_is_carried_where_the_format_can(tmp_path, soft_result):
    r = soft_result
    visible = np.delete(r.palette, r.transparent_index, axis=0)
    codes = ["#" + bytes(int(v) for v in c).hex() for c in visible]  # 8 digits each
    assert re.findall(r"#[0-9a-f]{8}\b", write_palette(r, tmp_path / "p.txt").read_text()) == codes
    css = write_palette(r, tmp_path / "p.css").read_text()
    assert re.findall(r"--kq-\d+: (#[0-9a-f]{8});", css) == codes
    doc = json.loads(write_palette(r, tmp_path / "p.json").read_text())
    assert [c["hex"] for c in doc["colors"]] == codes
    assert [c["alpha"] for c in doc["colors"]] == [int(a) for a in visible[:, 3]]
    assert [c["rgb"] for c in doc["colors"]] == visible[:, :3].tolist()
    with Image.open(write_palette(r, tmp_path / "p.png")) as im:
        strip = np.asarray(im.convert("RGBA"))
    np.testing.assert_array_equal(
        strip[SWATCH_SIZE // 2, SWATCH_SIZE // 2 :: SWATCH_SIZE], visible
    )


def test_rgb_only_formats_say_that_alpha_was_dropped(tmp_path, soft_result):
    r = soft_result
    visible = np.delete(r.palette, r.transparent_index, axis=0)
    gpl = write_palette(r, tmp_path / "p.gpl").read_text()
    assert "# alpha dropped" in gpl
    rows = re.findall(r"^\s*(\d+)\s+(\d+)\s+(\d+)\t", gpl, flags=re.M)
    assert [[int(v) for v in row] for row in rows] == visible[:, :3].tolist()
    groups, colors = parse_ase(write_palette(r, tmp_path / "p.ase").read_bytes())
    assert "alpha dropped" in groups[0]
    assert [c[0] for c in colors] == ["#" + bytes(int(v) for v in c).hex() for c in visible]


def test_opaque_palettes_keep_six_digit_codes(tmp_path, result):
    assert "alpha" not in write_palette(result, tmp_path / "p.gpl").read_text()
    assert re.findall(r"#[0-9a-f]+", write_palette(result, tmp_path / "p.txt").read_text()) == (
        hexes(result.palette)
    )


def test_unknown_extension_lists_the_formats(tmp_path, result):
    with pytest.raises(ImageSaveError) as err:
        write_palette(result, tmp_path / "p.aco")
    assert "p.aco" in str(err.value)
    for ext in PALETTE_FORMATS:
        assert ext in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_existing_palette_is_not_overwritten(tmp_path, result):
    target = tmp_path / "p.txt"
    target.write_text("mine\n")
    with pytest.raises(ImageSaveError, match="already exists"):
        write_palette(result, target)
    assert target.read_text() == "mine\n"
    write_palette(result, target, overwrite=True)
    assert target.read_text().splitlines() == hexes(result.palette)

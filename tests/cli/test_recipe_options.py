"""``--fixed``, ``--remap`` and ``--recipe``: what they write and their usage errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _cli import run
from PIL import Image

from kquant_gui import delete_color, merge_colors, quantize, remap, replace_color
from kquant_gui.image_io import load_image
from kquant_gui.palettes import write_palette


def _colours(path) -> set[tuple[int, int, int]]:
    rgb = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    return {tuple(int(v) for v in c) for c in np.unique(rgb, axis=0)}


def test_fixed_colours_are_in_the_output(capsys, tmp_path, inputs):
    out = tmp_path / "o.png"
    code, _, err = run(capsys, inputs[0], "-k", 4, "--fixed", "#c8102e,#ffffff", "-o", out)
    assert code == 0, err
    pal = np.array(Image.open(out).getpalette()).reshape(-1, 3)
    assert {(200, 16, 46), (255, 255, 255)} <= {tuple(int(v) for v in c) for c in pal}


def test_a_fixed_colour_with_alpha_is_kept_and_replayed(capsys, tmp_path, inputs):
    photo = np.asarray(Image.open(inputs[0]).convert("RGB"))
    alpha = np.tile(np.linspace(0, 255, photo.shape[1]).astype(np.uint8), (photo.shape[0], 1))
    src = tmp_path / "soft.png"
    Image.fromarray(np.dstack([photo, alpha])).save(src)
    out = tmp_path / "o.png"
    fixed = "#0000ff80,#c8102e"
    code, _, err = run(capsys, src, "-k", 6, "--fixed", fixed, "-o", out, "--palette", "json")
    assert code == 0, err
    doc = json.loads(out.with_suffix(".json").read_text())
    assert {"#0000ff80", "#c8102eff"} <= {c["hex"] for c in doc["colors"]}
    assert doc["settings"]["fixed"] == ["#0000ff80", "#c8102e"]
    # The palette file's recipe names the colour with its alpha and replays the same bytes.
    again = tmp_path / "again.png"
    code, _, err = run(capsys, src, "--recipe", out.with_suffix(".json"), "-o", again)
    assert code == 0, err
    assert again.read_bytes() == out.read_bytes()
    # On an image without alpha such a colour is an error naming the file, and nothing is
    # written.
    code, _, err = run(
        capsys, inputs[0], "-k", 4, "--fixed", "#0000ff80", "-o", tmp_path / "x.png"
    )
    assert code == 1 and "need an image with alpha" in err and inputs[0].name in err
    assert not (tmp_path / "x.png").exists()


def test_remap_writes_only_palette_colours(capsys, tmp_path, inputs):
    (tmp_path / "brand.txt").write_text("#c8102e\n#ffffff\n#003087\n#000000\n#7f7f7f\n")
    out = tmp_path / "o.png"
    code, summary, err = run(capsys, inputs[0], "--remap", tmp_path / "brand.txt", "-o", out)
    assert code == 0, err
    assert _colours(out) <= {(200, 16, 46), (255, 255, 255), (0, 48, 135), (0, 0, 0), (127,) * 3}
    assert "(k=5)" in summary
    # Every entry kept, in the file's order.
    pal = np.array(Image.open(out).getpalette()).reshape(-1, 3)[:5]
    assert pal.tolist()[0] == [200, 16, 46] and len(pal) == 5


def test_default_output_name_uses_the_palette_size(capsys, tmp_path, inputs):
    (tmp_path / "p.gpl").write_text("GIMP Palette\n0 0 0 a\n255 255 255 b\n9 9 9 c\n")
    code, _, err = run(capsys, inputs[0], "--remap", tmp_path / "p.gpl", "--out-dir", tmp_path)
    assert code == 0, err
    assert (tmp_path / f"{inputs[0].stem}-k3.png").exists()


def test_recipe_from_an_edited_result_gives_the_same_bytes(capsys, tmp_path, inputs):
    pixels = load_image(inputs[1]).pixels
    r = quantize(pixels, 6, color_space="oklab", dither="ordered", seed=5, fixed="#c8102e")
    r = delete_color(merge_colors(replace_color(r, 2, "#00ff00"), [3, 4]), 1)
    recipe = write_palette(r, tmp_path / "look.json")
    out = tmp_path / "cli.png"
    code, _, err = run(capsys, inputs[1], "--recipe", recipe, "-o", out)
    assert code == 0, err
    decoded = np.asarray(Image.open(out).convert("RGB"))
    assert np.array_equal(decoded, r.image[..., :3])
    assert np.array(Image.open(out).getpalette()).reshape(-1, 3)[: r.n_colors].tolist() == (
        r.palette.tolist()
    )


def test_recipe_replays_the_dither_strength(capsys, tmp_path, inputs):
    pixels = load_image(inputs[1]).pixels
    r = quantize(pixels, 6, dither="floyd-steinberg", dither_strength=0.4, fixed="#c8102e")
    recipe = write_palette(r, tmp_path / "look.json")
    out = tmp_path / "cli.png"
    code, _, err = run(capsys, inputs[1], "--recipe", recipe, "-o", out)
    assert code == 0, err
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), r.image[..., :3])


def test_remap_takes_the_dither_strength(capsys, tmp_path, inputs):
    (tmp_path / "p.txt").write_text("#c8102e\n#ffffff\n#003087\n#000000\n")
    pixels = load_image(inputs[0]).pixels
    palette = ["#c8102e", "#ffffff", "#003087", "#000000"]
    expected = remap(pixels, palette, dither="floyd-steinberg", dither_strength=0.5)
    out = tmp_path / "o.png"
    code, _, err = run(
        capsys, inputs[0], "--remap", tmp_path / "p.txt", "--dither", "floyd-steinberg",
        "--dither-strength", "0.5", "-o", out,
    )  # fmt: skip
    assert code == 0, err
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), expected.image[..., :3])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-k", "4", "--remap", "PAL"], "-k cannot be combined with --remap"),
        (["-k", "4", "--recipe", "REC"], "-k cannot be combined with --recipe"),
        (["--recipe", "REC", "--space", "rgb"], "--space cannot be combined with --recipe"),
        (
            ["--recipe", "REC", "--dither-strength", "0.5"],
            "--dither-strength cannot be combined with --recipe",
        ),
        (["--remap", "PAL", "--fixed", "#ffffff"], "--fixed cannot be combined"),
        (["--remap", "PAL", "--recipe", "REC"], "not allowed with argument"),
        ([], "-k/--colors is required"),
        (["--remap", "PAL", "--max-de", "2"], "--max-de cannot be combined"),
        (["-k", "4", "--fixed", "#ffffff", "--max-de", "2"], "--max-de cannot be combined"),
        (["-k", "4", "--engine", "sklearn", "--max-de", "2"], "--max-de cannot be combined"),
        (["--remap", "PAL", "--engine", "sklearn"], "--engine cannot be combined with --remap"),
        (["--recipe", "REC", "--engine", "sklearn"], "--engine cannot be combined with --recipe"),
        (["-k", "4", "--engine", "sklearn", "--fixed", "#ffffff"], "--fixed needs --engine numpy"),
        (["-k", "2", "--fixed", "#000000,#ffffff,#ff0000"], "more than -k 2"),
        (["-k", "2", "--fixed", "red"], "not a colour"),
    ],
)
def test_usage_errors(capsys, tmp_path, inputs, extra, message):
    (tmp_path / "p.txt").write_text("#000000\n")
    rec = write_palette(quantize(np.zeros((2, 2, 3), np.uint8), 2), tmp_path / "r.json")
    args = [
        str(tmp_path / "p.txt") if a == "PAL" else str(rec) if a == "REC" else a for a in extra
    ]
    code, _, err = run(capsys, inputs[0], *args, "--out-dir", tmp_path)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_bad_palette_file_is_one_line(capsys, tmp_path, inputs):
    (tmp_path / "bad.gpl").write_text("nonsense\n")
    code, _, err = run(capsys, inputs[0], "--remap", tmp_path / "bad.gpl", "--out-dir", tmp_path)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "bad.gpl") in lines[0] and "GIMP Palette" in lines[0]
    code, _, err = run(capsys, inputs[0], "--recipe", tmp_path / "none.json")
    assert code == 1 and "no such file" in err

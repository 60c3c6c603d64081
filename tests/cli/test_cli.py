"""The ``kquant`` command line: outputs, exit codes, messages, safety and --jobs determinism."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from _cli import digest, make_photo, run
from PIL import Image

from kquant_gui import __version__, quantize
from kquant_gui.image_io import load_image


def test_single_input_with_output(capsys, tmp_path, inputs):
    target = tmp_path / "out.png"
    code, out, err = run(capsys, inputs[0], "-k", 5, "-o", target)
    assert code == 0, err
    expected = quantize(load_image(inputs[0]).pixels, 5)
    with Image.open(target) as im:
        assert im.mode == "P"
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), expected.image)
    assert len(out.splitlines()) == 1 and "out.png" in out and "5 colours" in out
    assert err == ""


def test_optimize_writes_a_smaller_or_equal_png_that_reads_back_the_same(capsys, tmp_path):
    source = tmp_path / "big.png"
    Image.fromarray(make_photo(7, (320, 240))).save(source)
    plain, small = tmp_path / "plain.png", tmp_path / "small.png"
    assert run(capsys, source, "-k", 12, "-o", plain)[0] == 0
    code, _, err = run(capsys, source, "-k", 12, "-o", small, "--optimize")
    assert code == 0 and err == ""
    assert small.stat().st_size <= plain.stat().st_size
    with Image.open(plain) as a, Image.open(small) as b:
        assert b.mode == "P" and b.getpalette() == a.getpalette()
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a))


def test_default_output_goes_next_to_the_input(capsys, inputs):
    code, _, err = run(capsys, inputs[1], "-k", 3, "--space", "oklab", "--seed", 4)
    assert code == 0, err
    out = inputs[1].with_name("img1-k3.png")
    expected = quantize(load_image(inputs[1]).pixels, 3, color_space="oklab", seed=4)
    np.testing.assert_array_equal(load_image(out).pixels, expected.image)


def test_folder_and_out_dir_with_format_and_palettes(capsys, tmp_path, inputs):
    out_dir = tmp_path / "new" / "out"
    code, out, err = run(
        capsys, inputs[0].parent, "-k", 4, "--out-dir", out_dir, "--format", "gif",
        "--palette", "gpl", "--dither", "ordered",
    )  # fmt: skip
    assert code == 0, err
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == sorted(
        [f"img{i}-k4.gif" for i in range(3)] + [f"img{i}-k4.gpl" for i in range(3)]
    )
    assert "3 files written" in out


def test_palette_file_for_a_single_input(capsys, tmp_path, inputs):
    code, _, err = run(
        capsys, inputs[0], "-k", 4, "-o", tmp_path / "a.png", "--palette", tmp_path / "a.json"
    )
    assert code == 0, err
    assert '"k": 4' in (tmp_path / "a.json").read_text()


def test_mixed_batch_names_each_failure_and_finishes_the_rest(capsys, tmp_path, inputs):
    bad = inputs[0].parent / "notes.png"
    bad.write_text("not an image")
    cut = inputs[0].parent / "cut.png"
    cut.write_bytes(inputs[0].read_bytes()[:200])
    missing = inputs[0].parent / "missing.jpg"
    out_dir = tmp_path / "out"
    before = digest([*inputs, bad, cut])
    code, out, err = run(
        capsys, inputs[0], bad, inputs[1], missing, cut, "-k", 4, "--out-dir", out_dir, "-j", 1
    )
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 3
    assert any("notes.png" in ln and "not an image" in ln for ln in lines)
    assert any("missing.jpg" in ln and "no such file" in ln for ln in lines)
    assert any("cut.png" in ln and "truncated" in ln for ln in lines)
    assert "Traceback" not in err
    assert sorted(p.name for p in out_dir.iterdir()) == ["img0-k4.png", "img1-k4.png"]
    assert "2 files written" in out and "3 failed" in out
    assert digest([*inputs, bad, cut]) == before  # inputs never modified


def test_jobs_2_writes_the_same_bytes_as_jobs_1(capsys, tmp_path, inputs):
    outs = []
    for jobs in (1, 2):
        out_dir = tmp_path / f"j{jobs}"
        code, _, err = run(
            capsys, *inputs, "-k", 6, "--out-dir", out_dir, "--jobs", jobs, "--palette", "ase",
            "--dither", "floyd-steinberg",
        )  # fmt: skip
        assert code == 0, err
        outs.append(digest(sorted(out_dir.iterdir())))
    assert len(outs[0]) == 6
    assert outs[0] == outs[1]


def test_dither_strength_is_passed_on_and_checked(capsys, tmp_path, inputs):
    pixels = load_image(inputs[0]).pixels
    for strength in ("0.5", "0"):
        target = tmp_path / f"s{strength}.png"
        code, _, err = run(
            capsys, inputs[0], "-k", 6, "-o", target, "--dither", "floyd-steinberg",
            "--dither-strength", strength,
        )  # fmt: skip
        assert code == 0, err
        expected = quantize(
            pixels, 6, dither="floyd-steinberg", dither_strength=float(strength)
        ).image
        np.testing.assert_array_equal(load_image(target).pixels, expected)
    # Strength 0 is no dithering at all.
    np.testing.assert_array_equal(
        load_image(tmp_path / "s0.png").pixels, quantize(pixels, 6).image
    )
    for bad in ("1.5", "-0.1", "much", "nan"):
        code, _, err = run(capsys, inputs[0], "-k", 6, "--dither-strength", bad)
        assert code == 2
        assert "--dither-strength" in err and "Traceback" not in err


def test_nothing_is_overwritten_without_force(capsys, tmp_path, inputs):
    target = tmp_path / "out.png"
    target.write_bytes(b"keep me")
    code, _, err = run(capsys, inputs[0], "-k", 4, "-o", target)
    assert code == 1
    assert "out.png" in err and "--force" in err
    assert target.read_bytes() == b"keep me"
    code, _, err = run(capsys, inputs[0], "-k", 4, "-o", target, "--force")
    assert code == 0, err
    assert target.read_bytes().startswith(b"\x89PNG")


def test_the_input_is_never_overwritten_without_force(capsys, inputs):
    before = digest(inputs)
    code, _, err = run(capsys, inputs[0], "-k", 4, "-o", inputs[0])
    assert code == 1 and "img0.png" in err
    assert digest(inputs) == before


def test_two_inputs_with_the_same_output_name(capsys, tmp_path, inputs):
    twin = inputs[0].with_suffix(".bmp")
    Image.open(inputs[0]).save(twin)
    code, _, err = run(capsys, inputs[0], twin, "-k", 3, "--out-dir", tmp_path / "o")
    assert code == 2  # refused before writing: which one would win depends on timing
    assert "img0.bmp" in err and "img0-k3.png" in err and "written for both" in err
    assert list((tmp_path / "o").iterdir()) == []


@pytest.mark.parametrize(
    "args, words",
    [
        (["-k", "4", "-o", "x.png", "IN", "IN2"], "single input"),
        (["-k", "0", "IN"], "from 1 to 256"),
        (["-k", "300", "IN"], "from 1 to 256"),
        (["-k", "four", "IN"], "whole number"),
        (["IN"], "-k"),
        (["-k", "4", "IN", "-o", "x.xcf"], ".png"),
        (["-k", "4", "IN", "-o", "x.png", "--format", "jpg"], "contradicts"),
        (["-k", "4", "IN", "--palette", "p.aco"], ".gpl"),
        (["-k", "4", "IN", "IN2", "--palette", "p.gpl"], "single input"),
        (["-k", "4", "IN", "--space", "hsv"], "invalid choice"),
        (["-k", "4", "IN", "--jobs", "0"], "at least 1"),
        (["-k", "4", "IN", "--seed", "one"], "whole number, got 'one'"),
        (["-k", "4", "IN", "--seed", "-1"], "from 0 to 4294967295"),
        (["-k", "4", "IN", "-o", "a.png", "--out-dir", "d"], "not allowed with"),
    ],
)
def test_usage_errors_exit_2_with_a_message(capsys, tmp_path, inputs, args, words):
    args = [str(inputs[0]) if a == "IN" else str(inputs[1]) if a == "IN2" else a for a in args]
    args = [str(tmp_path / a) if a.endswith((".png", ".xcf", ".aco", ".gpl")) else a for a in args]
    code, _, err = run(capsys, *args)
    assert code == 2
    assert words in err and "usage: kquant" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # nothing written


def test_help_explains_every_option_with_examples(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    options = "-k -o --out-dir --space --dither --dither-strength --seed --palette --format"
    for option in [*options.split(), "--jobs", "--force", "--quiet", "--optimize", "--debug"]:
        assert option in out
    assert "--version" in out
    assert "examples:" in out and "exit status" in out
    assert "3 internal error" in out and "KQUANT_LOG=debug" in out


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"kquant {__version__}"


def test_quiet_prints_nothing_on_success_but_still_errors(capsys, tmp_path, inputs):
    code, out, err = run(capsys, inputs[0], "-k", 2, "-o", tmp_path / "a.png", "-q")
    assert code == 0 and out == "" and err == ""
    code, out, err = run(capsys, tmp_path / "none.png", "-k", 2, "-q")
    assert code == 1 and out == "" and "none.png" in err


def test_jpeg_output_warns_once(capsys, tmp_path, inputs):
    code, _, err = run(capsys, *inputs, "-k", 4, "--out-dir", tmp_path / "o", "--format", "jpg")
    assert code == 0
    assert err.count("adds colours back") == 1


def test_notes_reach_the_user(capsys, tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ((200, 0, 0), (0, 200, 0))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    code, out, err = run(capsys, tmp_path / "anim.gif", "-k", 8)
    assert code == 0
    assert "first frame of an animated GIF used" in err
    # The first frame is one flat colour: the count and its noun agree, in the note and summary.
    assert "the image has only 1 colour; it is kept exactly (k=8)" in err
    assert "anim-k8.png, 1 colour (k=8)" in out
    assert "1 colours" not in err + out


def test_installed_command_has_no_traceback_on_user_errors(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 broken")
    proc = subprocess.run(
        [sys.executable, "-m", "kquant_gui", str(bad), "-k", "4"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "bad.jpg" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_and_io_never_import_qt():
    code = (
        "import sys, kquant_gui.cli, kquant_gui.image_io, kquant_gui.palettes\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
        "print(bad); sys.exit(1 if bad or 'matplotlib.pyplot' in sys.modules else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_python_m_kquant_gui_is_the_command_line(capsys, monkeypatch):
    import runpy

    monkeypatch.setattr(sys, "argv", ["kquant", "--version"])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("kquant_gui", run_name="__main__")
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"kquant {__version__}"

"""``--max-de`` and ``--skip-if-larger``: the k each file gets, exit statuses 99 and 98, and
that a file left out is really not written (nor its palette)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kquant_gui import quantize
from kquant_gui.cli import main
from kquant_gui.engine import mean_delta_e2000
from kquant_gui.image_io import load_image, save_quantized


def noisy_photo(seed: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """Gradients with noise: many colours, hard to compress, needs many colours for a low dE."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // w, y * 255 // h, (x * y) % 200 + seed * 11 % 50], 2)
    return np.clip(base + rng.integers(-10, 11, base.shape), 0, 255).astype(np.uint8)


def flat_image() -> np.ndarray:
    """Three flat colours: any k >= 3 reproduces it exactly."""
    img = np.zeros((48, 64, 3), np.uint8)
    img[:, 20:] = (200, 40, 30)
    img[24:, :] = (20, 150, 220)
    return img


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(noisy_photo(1)).save(d / "a.png")
    Image.fromarray(noisy_photo(2)).save(d / "b.png")
    Image.fromarray(flat_image()).save(d / "flat.png")
    return d


def run(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def de(pixels: np.ndarray, k: int) -> float:
    return mean_delta_e2000(pixels, quantize(pixels, k).image)


@pytest.mark.parametrize("jobs", [1, 2])
def test_max_de_gives_each_file_its_fewest_colours(capsys, tmp_path, folder, jobs) -> None:
    out_dir = tmp_path / "out"
    code, out, err = run(
        capsys, folder, "--max-de", 4, "--out-dir", out_dir, "--jobs", jobs, "--palette", "gpl"
    )
    assert code == 0, err
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == sorted(f"{s}-de4.{e}" for s in ("a", "b", "flat") for e in ("png", "gpl"))
    for stem in ("a", "b", "flat"):
        written = out_dir / f"{stem}-de4.png"
        line = next(ln for ln in out.splitlines() if str(written) in ln)
        k = int(line.split("k=")[1].split(",")[0])
        pixels = load_image(folder / f"{stem}.png").pixels
        with Image.open(written) as im:
            assert len(im.getcolors(256)) <= k
        assert de(pixels, k) <= 4
        if k > 1:
            assert de(pixels, k - 1) > 4
    flat_line = next(ln for ln in out.splitlines() if "flat-de4" in ln)
    assert "k=3," in flat_line
    assert "3 files written (mean dE2000 <= 4, k <= 256)" in out


def test_single_file_summary_names_k_and_its_error(capsys, tmp_path, folder) -> None:
    code, out, err = run(capsys, folder / "a.png", "--max-de", 5, "-o", tmp_path / "a.png")
    assert code == 0, err
    assert "a.png" in out and "k=" in out and "mean dE2000" in out and "<= 5" in out


def test_unreachable_target_writes_nothing_and_exits_99(capsys, tmp_path, folder) -> None:
    out_dir = tmp_path / "out"
    code, out, err = run(
        capsys, folder / "a.png", folder / "b.png", "--max-de", 0.5, "-k", 8,
        "--out-dir", out_dir, "--palette", "json", "--jobs", 2,
    )  # fmt: skip
    assert code == 99
    assert list(out_dir.iterdir()) == []
    lines = err.splitlines()
    assert len(lines) == 2
    for name, line in zip(("a.png", "b.png"), lines, strict=True):
        assert name in line and "k=8" in line and "mean dE2000" in line and "0.5" in line
        reached = float(line.split("mean dE2000 ")[1].split(",")[0])
        assert reached == pytest.approx(de(load_image(folder / name).pixels, 8), abs=0.01)
    assert "no file written" in out and "2 not written" in out


def test_a_missed_target_beside_other_files_still_writes_those(capsys, tmp_path, folder) -> None:
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, folder, "--max-de", 1.0, "-k", 6, "--out-dir", out_dir)
    assert code == 99
    # The flat image reaches dE 0 with 3 colours; the noisy ones cannot with 6.
    assert sorted(p.name for p in out_dir.iterdir()) == ["flat-de1.png"]
    assert "a.png" in err and "b.png" in err and "flat" not in err


def test_other_failures_take_precedence_over_99(capsys, tmp_path, folder) -> None:
    bad = folder / "broken.png"
    bad.write_text("not an image")
    code, _, err = run(capsys, folder, "--max-de", 0.5, "-k", 4, "--out-dir", tmp_path / "o")
    assert code == 1
    assert "broken.png" in err and "a.png" in err


def already_quantized(path: Path) -> Path:
    """The flat image as kquant itself writes it: quantizing it again gives the same bytes,
    so the result is not smaller than the input."""
    save_quantized(quantize(flat_image(), 4), path)
    return path


def test_skip_if_larger_writes_nothing_and_exits_98(capsys, tmp_path) -> None:
    src = already_quantized(tmp_path / "flat.png")
    out_dir = tmp_path / "out"
    code, out, err = run(
        capsys, src, "-k", 4, "--skip-if-larger", "--out-dir", out_dir, "--palette", "gpl"
    )
    assert code == 98
    assert list(out_dir.iterdir()) == []
    assert "flat.png" in err and "not smaller than the input" in err
    assert "no file written" in out


def test_skip_if_larger_writes_smaller_results(capsys, tmp_path, folder) -> None:
    # A noisy photo stored as an RGB PNG shrinks a lot at k=4.
    out = tmp_path / "a4.png"
    code, _, err = run(capsys, folder / "a.png", "-k", 4, "--skip-if-larger", "-o", out)
    assert code == 0, err
    assert out.stat().st_size < (folder / "a.png").stat().st_size
    expected = quantize(load_image(folder / "a.png").pixels, 4).image
    np.testing.assert_array_equal(load_image(out).pixels, expected)


def test_quality_misses_outrank_larger_skips(capsys, tmp_path, folder) -> None:
    flat = already_quantized(tmp_path / "tiny.png")
    code, _, err = run(
        capsys, folder / "a.png", flat, "--max-de", 0.5, "-k", 8, "--skip-if-larger",
        "--out-dir", tmp_path / "o",
    )  # fmt: skip
    assert code == 99
    assert "not smaller" in err and "above --max-de" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["IN"], "-k/--colors is required"),
        (["IN", "--max-de", "-1"], "at least 0"),
        (["IN", "--max-de", "lots"], "must be a number"),
        (["IN", "--max-de", "nan"], "at least 0"),
    ],
)
def test_usage_errors(capsys, folder, args, words) -> None:
    args = [str(folder / "a.png") if a == "IN" else a for a in args]
    code, _, err = run(capsys, *args)
    assert code == 2 and words in err and "Traceback" not in err

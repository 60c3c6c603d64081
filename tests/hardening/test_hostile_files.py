"""Hostile and odd files through the command line and the window.

Bad files: the command exits 1 with one line on stderr naming the file, no traceback, and
nothing is written. Odd but valid files (1x1, 16-bit, CMYK, LA, EXIF-rotated, ...) succeed.
The window shows one message per bad file and keeps showing, and working on, its image.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _corpus import Case, encode, small_photo, snapshot, unreadable
from PIL import Image
from qt_support import TIMEOUT_MS

from kquant_gui.cli import main
from kquant_gui.image_io import load_image

# What a viewer does for EXIF orientations 1 to 8, as numpy operations on (H, W, C).
ORIENTED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def run_cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_clear_line(err: str, path: Path, words: str = "") -> str | None:
    """None when ``err`` is one ``kquant: error:`` line naming ``path``; else what is wrong."""
    lines = err.strip().splitlines()
    if len(lines) != 1:
        return f"{len(lines)} lines: {err!r}"
    line = lines[0]
    if not line.startswith("kquant: error: ") or str(path) not in line:
        return f"does not name the file: {line!r}"
    if words and words not in line:
        return f"does not say {words!r}: {line!r}"
    if "Traceback" in err or "Errno" in line or "PIL" in line:
        return f"leaks internals: {line!r}"
    return None


def test_cli_refuses_every_bad_file_with_one_line(capsys, tmp_path: Path, bad: list[Case]):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = snapshot(bad[0].path.parent)
    problems = []
    for case in bad:
        code, _, err = run_cli(capsys, case.path, "-k", "4", "--out-dir", out_dir)
        if code != 1:
            problems.append(f"{case.name}: exit {code}")
        problem = one_clear_line(err, case.path, case.words)
        if problem:
            problems.append(f"{case.name}: {problem}")
    assert problems == []
    assert list(out_dir.iterdir()) == []
    assert snapshot(bad[0].path.parent) == before


def test_cli_refuses_an_unreadable_file(capsys, tmp_path: Path):
    path = tmp_path / "secret.png"
    path.write_bytes(encode(small_photo(), "PNG"))
    with unreadable(path) as simulated:
        code, _, err = run_cli(capsys, path, "-k", "4", "-o", tmp_path / "out.png")
    # Running as root, the PermissionError was simulated (chmod 000 does not stop root).
    print(f"unreadable file: permission error {'simulated' if simulated else 'real'}")
    assert code == 1
    assert one_clear_line(err, path, "permission denied") is None
    assert not (tmp_path / "out.png").exists()


def test_cli_mixed_batch_names_each_bad_file_once(capsys, tmp_path: Path, bad: list[Case]):
    good = tmp_path / "good.png"
    good.write_bytes(encode(small_photo(), "PNG"))
    # One name per case: files sharing a stem (random.png, random.jpg) would share an output,
    # and such a run is refused as a whole before anything is read.
    batch = tmp_path / "batch"
    batch.mkdir()
    files = []
    for c in bad:
        if c.name == "directory":
            continue
        unique = batch / f"{c.name}{c.path.suffix}"
        if c.path.is_symlink():
            unique.symlink_to(os.readlink(c.path))
        else:
            unique.write_bytes(c.path.read_bytes())
        files.append(unique)
    files.append(good)
    code, out, err = run_cli(capsys, *files, "-k", "4", "--out-dir", tmp_path / "out")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == len(files) - 1
    for path in files[:-1]:
        assert sum(str(path) + ":" in line for line in lines) == 1, path
    assert "Traceback" not in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good-k4.png"]
    assert f"{len(files) - 1} failed" in out


def kquant_command() -> list[str]:
    script = Path(sys.executable).with_name("kquant")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kquant_gui"]


def test_installed_command_on_a_sample_of_bad_files(tmp_path: Path, bad: list[Case]):
    # tiff-bad-tag: Pillow warns before failing; only a real process shows what reaches stderr.
    names = ("empty-jpg", "truncated-jpg-52", "tiff-bad-tag", "png-claims-100000x100000",
             "dangling-symlink")  # fmt: skip
    sample = [c for c in bad if c.name in names]
    out_dir = tmp_path / "out"
    proc = subprocess.run(
        [*kquant_command(), *(str(c.path) for c in sample), "-k", "4", "--out-dir", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(sample), proc.stderr
    for case, line in zip(sample, lines, strict=True):
        assert line.startswith(f"kquant: error: {case.path}: "), line
    assert list(out_dir.iterdir()) == []


def test_installed_command_with_a_non_ascii_path(tmp_path: Path, good_odd: list[Case]):
    (case,) = [c for c in good_odd if c.name == "spaces-non-ascii"]
    target = case.path.with_name("résultat final ✓.png")
    proc = subprocess.run(
        [*kquant_command(), str(case.path), "-k", "4", "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert load_image(target).pixels.shape == (48, 64, 3)


def test_cli_quantizes_every_odd_but_valid_file(capsys, tmp_path: Path, good_odd: list[Case]):
    problems = []
    for case in good_odd:
        out = tmp_path / f"{case.name}.png"
        code, _, err = run_cli(capsys, case.path, "-k", "4", "-o", out)
        if code != 0 or "error" in err:
            problems.append(f"{case.name}: exit {code}: {err!r}")
            continue
        src, written = load_image(case.path), load_image(out)
        if written.pixels.shape[:2] != src.pixels.shape[:2]:
            problems.append(f"{case.name}: {written.pixels.shape} != {src.pixels.shape}")
        # Alpha is kept exactly, so count colours without it (plus the transparent entry).
        colours = np.unique(written.pixels[..., :3].reshape(-1, 3), axis=0)
        if len(colours) > 4 + written.has_alpha:
            problems.append(f"{case.name}: {len(colours)} colours for k=4")
    assert problems == []


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_shown_upright(good_odd: list[Case], orientation: int):
    (case,) = [c for c in good_odd if c.name == f"exif-{orientation}"]
    expected = ORIENTED[orientation](small_photo(3))
    loaded = load_image(case.path)
    assert loaded.pixels.shape == expected.shape
    assert np.abs(loaded.pixels.astype(int) - expected).mean() < 6


# ----- the window ------------------------------------------------------------------------------


def test_window_keeps_its_image_through_every_bad_file(
    qtbot, window, messages, open_and_wait, tmp_path: Path, bad: list[Case]
):
    photo = tmp_path / "photo.png"
    Image.fromarray(small_photo(1)).save(photo)
    open_and_wait(window, photo)
    shown, pixels = window.shown, window.original_canvas.displayed_pixels().copy()
    unreadable_file = tmp_path / "locked.png"
    unreadable_file.write_bytes(photo.read_bytes())
    before = snapshot(bad[0].path.parent)

    problems = []
    with unreadable(unreadable_file):
        for case in [*bad, Case("unreadable", unreadable_file, "permission denied")]:
            count = len(messages.warnings)
            with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
                window.open_path(case.path)
            if len(messages.warnings) != count + 1:
                problems.append(f"{case.name}: {len(messages.warnings) - count} messages")
                continue
            title, text = messages.warnings[-1]
            if title != "Could not open image" or case.path.name not in text:
                problems.append(f"{case.name}: {title!r} {text!r}")
            if "Traceback" in text or (case.words and case.words not in text):
                problems.append(f"{case.name}: unclear {text!r}")
            if window.source.path != photo or window.shown is not shown or window.is_busy():
                problems.append(f"{case.name}: the window lost its image or stayed busy")
    assert problems == []
    np.testing.assert_array_equal(window.original_canvas.displayed_pixels(), pixels)
    assert photo.name in window.windowTitle()
    assert snapshot(bad[0].path.parent) == before
    # Still usable: a new k gives a new result.
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        window.controls.k_spin.setValue(3)
    assert window.shown.result.k == 3 and window.source.path == photo


def test_window_dropping_a_bad_file_keeps_the_image(
    qtbot, window, messages, open_and_wait, tmp_path: Path, bad: list[Case]
):
    from qt_support import drop_files

    photo = tmp_path / "photo.png"
    Image.fromarray(small_photo(2)).save(photo)
    open_and_wait(window, photo)
    (case,) = [c for c in bad if c.name == "truncated-jpg-157"]
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
        assert drop_files(window, [case.path], at=(40, 40))
    assert case.path.name in messages.warnings[-1][1]
    assert "truncated" in messages.warnings[-1][1]
    assert window.source.path == photo and window.shown is not None


def test_window_opens_every_odd_but_valid_file(
    qtbot, window, messages, open_and_wait, good_odd: list[Case]
):
    for case in good_odd:
        open_and_wait(window, case.path)
        assert window.source.path == case.path
        assert window.shown.result.image.shape == load_image(case.path).pixels.shape, case.name
    assert messages.warnings == []


def test_window_prints_no_traceback_for_a_bad_file(
    qtbot, window, capfd, open_and_wait, tmp_path: Path, bad: list[Case]
):
    """A user error is not a crash: nothing alarming on the terminal the app was started from."""
    (case,) = [c for c in bad if c.name == "random-png"]
    capfd.readouterr()
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
        window.open_path(case.path)
    assert "Traceback" not in capfd.readouterr().err

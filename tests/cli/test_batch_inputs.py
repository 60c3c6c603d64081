"""``kquant`` inputs at scale: -r keeps the layout, --glob chooses files, - is a pipe."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _cli import make_photo, run
from PIL import Image

from kquant_gui.cli import main


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """photos/ with images two levels deep, a capitalised extension and a non-image."""
    root = tmp_path / "photos"
    for i, rel in enumerate(["a.png", "2024/b.jpg", "2024/june/c.PNG", "2023/d.webp"]):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(make_photo(i)).save(p)
    (root / "2024" / "notes.txt").write_text("not an image")
    (root / "empty").mkdir()
    return root


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_recursive_keeps_the_relative_layout_under_out_dir(capsys, tmp_path, tree):
    out = tmp_path / "out"
    code, stdout, err = run(capsys, tree, "-r", "-k", 4, "--out-dir", out, "--jobs", 1)
    assert code == 0, err
    assert _files(out) == [
        "2023/d-k4.png",
        "2024/b-k4.png",
        "2024/june/c-k4.png",
        "a-k4.png",
    ]
    assert "4 files written" in stdout


def test_without_recursive_only_the_folder_itself(capsys, tmp_path, tree):
    out = tmp_path / "out"
    code, _, err = run(capsys, tree, "-k", 4, "--out-dir", out)
    assert code == 0, err
    assert _files(out) == ["a-k4.png"]


def test_recursive_without_out_dir_writes_beside_each_input(capsys, tree):
    code, _, err = run(capsys, tree, "-r", "-k", 3)
    assert code == 0, err
    assert (tree / "2024" / "june" / "c-k3.png").is_file()
    assert (tree / "2023" / "d-k3.png").is_file()


def test_out_dir_inside_the_tree_is_not_taken_as_input_on_a_second_run(capsys, tree):
    out = tree / "small"
    assert run(capsys, tree, "-r", "-k", 4, "--out-dir", out)[0] == 0
    code, stdout, err = run(capsys, tree, "-r", "-k", 4, "--out-dir", out, "--force")
    assert code == 0, err
    assert "4 files written" in stdout
    assert not any("k4-k4" in name for name in _files(out))


def test_glob_chooses_files_by_name_case_insensitively(capsys, tmp_path, tree):
    out = tmp_path / "out"
    code, _, err = run(capsys, tree, "-r", "--glob", "*.png", "-k", 4, "--out-dir", out)
    assert code == 0, err
    assert _files(out) == ["2024/june/c-k4.png", "a-k4.png"]


def test_glob_with_a_folder_part_and_several_patterns(capsys, tmp_path, tree):
    out = tmp_path / "out"
    code, _, err = run(
        capsys, tree, "-r", "--glob", "2024/*", "--glob", "*.webp", "-k", 4, "--out-dir", out
    )
    # 2024/* takes the text file too: a pattern replaces the image-extension filter, and the
    # file then fails on its own, named, while the rest are written.
    assert code == 1
    assert "notes.txt" in err
    assert _files(out) == ["2023/d-k4.png", "2024/b-k4.png"]


def test_glob_matching_nothing_names_the_folder_and_the_pattern(capsys, tmp_path, tree):
    code, _, err = run(capsys, tree, "-r", "--glob", "*.tif", "-k", 4, "--out-dir", tmp_path)
    assert code == 1
    assert f"{tree}: the folder and its subfolders hold no file matching *.tif" in err


def test_recursive_layout_collision_between_two_input_folders_is_refused(capsys, tmp_path):
    for top in ("x", "y"):
        p = tmp_path / top / "sub" / "same.png"
        p.parent.mkdir(parents=True)
        Image.fromarray(make_photo(1)).save(p)
    out = tmp_path / "out"
    code, _, err = run(capsys, tmp_path / "x", tmp_path / "y", "-r", "-k", 4, "--out-dir", out)
    assert code == 2  # refused before anything is written, as any clash of outputs
    assert "would be written for both" in err and "nothing was written" in err
    assert not (out / "sub").exists()  # not even the subfolder


def test_a_subfolder_that_cannot_be_created_fails_its_files_only(capsys, tmp_path, tree):
    out = tmp_path / "out"
    out.mkdir()
    (out / "2024").write_text("a file where a folder should go")
    code, _, err = run(capsys, tree, "-r", "-k", 4, "--out-dir", out)
    assert code == 1
    assert "cannot create the folder" in err
    assert _files(out) == ["2023/d-k4.png", "2024", "a-k4.png"]


# --- stdin and stdout ----------------------------------------------------------------------


class _Stdin:
    """A binary stdin that is not a terminal."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return False


def test_stdin_to_stdout_gives_the_bytes_of_file_io(capsysbinary, monkeypatch, tmp_path, tree):
    source = tree / "2024" / "b.jpg"
    assert main([str(source), "-k", "6", "-o", str(tmp_path / "f.png")]) == 0
    capsysbinary.readouterr()
    monkeypatch.setattr(sys, "stdin", _Stdin(source.read_bytes()))
    assert main(["-", "-k", "6", "-o", "-"]) == 0
    out, err = capsysbinary.readouterr()
    assert out == (tmp_path / "f.png").read_bytes()  # the image and nothing else
    assert b"<stdin> -> <stdout>, 6 colours (k=6)" in err  # the summary went to stderr


def test_stdin_alone_writes_to_stdout_as_pngquant_does(capsysbinary, monkeypatch, tree):
    monkeypatch.setattr(sys, "stdin", _Stdin((tree / "a.png").read_bytes()))
    assert main(["-", "-k", "5", "--format", "gif"]) == 0
    out, _ = capsysbinary.readouterr()
    assert out[:6] in (b"GIF87a", b"GIF89a")


def test_stdin_with_out_dir_is_named_stdin(capsysbinary, monkeypatch, tmp_path, tree):
    monkeypatch.setattr(sys, "stdin", _Stdin((tree / "a.png").read_bytes()))
    assert main(["-", "-k", "5", "--out-dir", str(tmp_path / "o")]) == 0
    assert _files(tmp_path / "o") == ["stdin-k5.png"]
    assert capsysbinary.readouterr().out.startswith(b"kquant: <stdin> -> ")


def test_file_to_stdout_and_bad_stdin(capsysbinary, monkeypatch, tmp_path, tree):
    source = tree / "a.png"
    assert main([str(source), "-k", "7", "-o", "-", "--format", "webp"]) == 0
    out, _ = capsysbinary.readouterr()
    assert out[:4] == b"RIFF" and out[8:12] == b"WEBP"

    monkeypatch.setattr(sys, "stdin", _Stdin(b"not an image at all"))
    assert main(["-", "-k", "7", "-o", "-"]) == 1
    out, err = capsysbinary.readouterr()
    assert out == b""  # a failed job writes nothing to stdout
    assert err.startswith(b"kquant: error: <stdin>: ")
    assert b"kquant-" not in err  # the temporary file is never named


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-", "-", "-k", "4"], "only once"),
        (["-", "-k", "4", "--report", "-"], "both go to stdout"),
        (["-", "-k", "4", "-o", "-", "--palette", "gpl"], "--palette needs a file name"),
    ],
)
def test_pipe_usage_errors(capsys, monkeypatch, argv, message):
    monkeypatch.setattr(sys, "stdin", _Stdin(b""))
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_terminal_is_refused_on_either_side(capsys, monkeypatch, tree):
    class Tty(_Stdin):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty(b""))
    assert main(["-", "-k", "4", "--out-dir", "x"]) == 2
    assert "stdin is a terminal" in capsys.readouterr().err
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main([str(tree / "a.png"), "-k", "4", "-o", "-"]) == 2
    assert "redirect stdout" in capsys.readouterr().err


def test_a_real_pipe_through_the_command(tmp_path, tree):
    """The installed command in a shell pipe: bytes in on stdin, bytes out on stdout."""
    source = tree / "2024" / "june" / "c.PNG"
    reference = tmp_path / "ref.png"
    cmd = [sys.executable, "-m", "kquant_gui"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    subprocess.run([*cmd, str(source), "-k", "9", "-o", str(reference)], check=True, env=env)
    proc = subprocess.run(
        [*cmd, "-", "-k", "9"], input=source.read_bytes(), capture_output=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == reference.read_bytes()

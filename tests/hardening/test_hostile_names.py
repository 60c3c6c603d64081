"""File names that are not text: non-UTF-8 bytes, control characters, names over 255 bytes.

A name never crashes ``kquant`` and never reaches the terminal raw: bytes that are not UTF-8
show as ``\\xNN``, control characters as ``\\n``, ``\\r``, ``\\x1b``..., so every message stays one
line that means what it says. One file's name is that file's problem: the rest of the batch
carries on, and the message names that file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _corpus import encode, small_photo
from _procs import KQUANT
from qt_support import TIMEOUT_MS, drop_files

from kquant_gui.cli import main
from kquant_gui.image_io import ImageLoadError, load_image

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="file names are bytes on Linux; other systems refuse these"
)

#: Names a Linux file system takes but that are not UTF-8: Latin-1, Windows-1252 quotes, a
#: stray byte-order mark and a UTF-8 sequence cut in the middle.
NON_UTF8 = {
    "latin-1": b"caf\xe9 cr\xe8me.png",
    "cp1252-quotes": b"\x93quoted\x94.png",
    "utf16-bom": b"\xff\xfebom.png",
    "cut-utf8": b"half-\xe5\x86.png",
}
#: Names holding characters a terminal acts on, and how each must show.
CONTROL = {
    "escape-sequence": ("evil\x1b[31mred\x1b[0m.png", "evil\\x1b[31mred\\x1b[0m.png"),
    "carriage-return": ("fake\rkquant: ok.png", "fake\\rkquant: ok.png"),
    "newline": ("two\nlines.png", "two\\nlines.png"),
    "bell-and-tab": ("ring\x07\tme.png", "ring\\x07\\tme.png"),
    "bidi-override": ("photo\u202egnp.exe", "photo\\u202egnp.exe"),
}


def shown(raw: bytes) -> str:
    """How a non-UTF-8 name must be printed: each undecodable byte as ``\\xNN``."""
    return raw.decode("utf-8", "backslashreplace")


def run_kquant(*args: object, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """``kquant`` in a normal UTF-8 locale, as a user runs it; arguments may be bytes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHONIO"))}
    env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8")
    argv = [os.fsencode(a) if isinstance(a, (str, os.PathLike)) else a for a in args]
    return subprocess.run(
        [os.fsencode(KQUANT), *argv], cwd=cwd, env=env, capture_output=True, timeout=300
    )


def only_line(stream: bytes) -> str:
    text = stream.decode("utf-8")  # what kquant prints is always valid UTF-8
    lines = text.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.slow  # one kquant process per case
class TestNonUtf8Names:
    """Written, reported and put into palette files under their real, escaped name."""

    @pytest.mark.parametrize("raw", NON_UTF8.values(), ids=NON_UTF8.keys())
    def test_written_and_summarised_under_the_escaped_name(self, tmp_path: Path, raw: bytes):
        (tmp_path / os.fsdecode(raw)).write_bytes(encode(small_photo(), "PNG"))
        done = run_kquant(raw, "-k", "4", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr == b""
        summary = only_line(done.stdout)
        stem = raw[: -len(b".png")]
        assert shown(raw) in summary and shown(stem + b"-k4.png") in summary
        assert (tmp_path / os.fsdecode(stem + b"-k4.png")).is_file()

    @pytest.mark.parametrize("raw", NON_UTF8.values(), ids=NON_UTF8.keys())
    def test_a_bad_file_gets_one_escaped_line(self, tmp_path: Path, raw: bytes):
        (tmp_path / os.fsdecode(raw)).write_bytes(b"not an image at all" * 10)
        done = run_kquant(raw, "-k", "4", cwd=tmp_path)
        assert done.returncode == 1
        line = only_line(done.stderr)
        assert line.startswith(f"kquant: error: {shown(raw)}: ")
        assert "Traceback" not in line

    @pytest.mark.parametrize("ext", ["gpl", "css", "ase", "json", "txt", "png"])
    def test_every_palette_format_is_written_with_the_name_escaped(self, tmp_path: Path, ext: str):
        raw = NON_UTF8["latin-1"]
        (tmp_path / os.fsdecode(raw)).write_bytes(encode(small_photo(), "PNG"))
        done = run_kquant(raw, "-k", "4", "--palette", ext, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        palettes = [p for p in tmp_path.iterdir() if p.suffix == f".{ext}" and "-k4" in p.name]
        if ext == "png":  # the swatch strip beside the image
            palettes = [p for p in palettes if p.name.endswith("-palette.png")]
        assert len(palettes) == 1, sorted(tmp_path.iterdir())
        data = palettes[0].read_bytes()
        if ext in ("gpl", "css", "json", "txt"):
            text = data.decode("utf-8")  # strict: no lone surrogate written as is
            if ext == "json":
                text = json.loads(text)["source"]
            if ext != "txt":
                assert shown(b"caf\xe9 cr\xe8me.png") in text

    def test_the_api_names_the_file_as_given(self, tmp_path: Path):
        raw = NON_UTF8["cut-utf8"]
        path = tmp_path / os.fsdecode(raw)
        path.write_bytes(b"\0" * 100)
        with pytest.raises(ImageLoadError) as err:
            load_image(path)
        assert err.value.path == path
        assert shown(raw) in str(err.value)
        str(err.value).encode("utf-8")  # printable as is, in any dialog or log


@pytest.mark.slow  # one kquant process per case
class TestControlCharactersInNames:
    """Escape sequences, CR, newlines, bidi overrides: shown escaped, one line each."""

    @pytest.mark.parametrize("name, escaped", CONTROL.values(), ids=CONTROL.keys())
    def test_a_bad_file_is_one_escaped_line(self, tmp_path: Path, name: str, escaped: str):
        (tmp_path / name).write_bytes(b"GIF89a" + b"\0" * 40)
        done = run_kquant(name, "-k", "4", cwd=tmp_path)
        assert done.returncode == 1
        line = only_line(done.stderr)
        assert line.startswith(f"kquant: error: {escaped}: "), line
        assert not any(c in line for c in "\x1b\r\x07\t\u202e")

    @pytest.mark.parametrize("name, escaped", CONTROL.values(), ids=CONTROL.keys())
    def test_the_summary_shows_the_name_escaped(self, tmp_path: Path, name: str, escaped: str):
        (tmp_path / name).write_bytes(encode(small_photo(), "PNG"))
        done = run_kquant(name, "-k", "4", "-o", "out.png", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        summary = only_line(done.stdout)
        assert summary.startswith(f"kquant: {escaped} -> out.png"), summary


class TestOverlongNames:
    """A name over 255 bytes fails that file, named, never the batch."""

    @pytest.mark.parametrize(
        "name", ["a" * 296 + ".png", "写" * 90 + ".png"], ids=["ascii-300", "cjk-274"]
    )
    def test_an_overlong_input_fails_alone(self, capsys, tmp_path: Path, name: str):
        good = tmp_path / "good.png"
        good.write_bytes(encode(small_photo(), "PNG"))
        out = tmp_path / "out"
        code = main([str(good), str(tmp_path / name), "-k", "4", "--out-dir", str(out)])
        _, err = capsys.readouterr()
        assert code == 1
        lines = err.splitlines()
        assert len(lines) == 1 and name in lines[0] and "name is too long" in lines[0], err
        assert "cannot create" not in err
        assert [p.name for p in out.iterdir()] == ["good-k4.png"]

    def test_an_overlong_output_name_fails_alone(self, capsys, tmp_path: Path):
        good = tmp_path / "good.png"
        long_ok = tmp_path / ("b" * 250 + ".png")  # valid; its output "-k4.png" is not
        for p in (good, long_ok):
            p.write_bytes(encode(small_photo(), "PNG"))
        code = main([str(good), str(long_ok), "-k", "4"])
        _, err = capsys.readouterr()
        assert code == 1
        lines = err.splitlines()
        assert len(lines) == 1 and "b" * 250 + "-k4.png" in lines[0], err
        assert "too long" in lines[0]
        assert (tmp_path / "good-k4.png").is_file()

    def test_the_api_raises_its_own_error(self, tmp_path: Path):
        path = tmp_path / ("c" * 300 + ".png")
        with pytest.raises(ImageLoadError, match="name is too long") as err:
            load_image(path)
        assert err.value.path == path


class TestNamesInTheWindow:
    """A dropped file whose name is not UTF-8 is opened, and named escaped, as itself."""

    def test_a_dropped_image_opens_under_its_real_name(self, qtbot, window, tmp_path: Path):
        raw = NON_UTF8["latin-1"]
        path = tmp_path / os.fsdecode(raw)
        path.write_bytes(encode(small_photo(), "PNG"))
        with qtbot.waitSignal(window.imageLoaded, timeout=TIMEOUT_MS):
            assert drop_files(window, [path])
        assert window.source.path == path
        assert window.windowTitle().startswith(shown(raw))

    def test_a_dropped_bad_file_is_reported_under_its_escaped_name(
        self, qtbot, window, messages, tmp_path: Path
    ):
        raw = NON_UTF8["cp1252-quotes"]
        path = tmp_path / os.fsdecode(raw)
        path.write_bytes(b"not an image" * 20)
        with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
            assert drop_files(window, [path])
        text = messages.warnings[-1][1]
        assert shown(raw) in text and "not an image" in text, text
        assert "no such file" not in text

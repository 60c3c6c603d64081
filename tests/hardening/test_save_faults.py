"""Faults while saving: what tests/io does not already prove.

tests/io covers a full disk at fsync, a read-only (or refusing) folder with nothing in it and a
missing folder. Here: the disk filling in the middle of writing, a target that is a folder, a
name longer than 255 bytes, a read-only folder holding the file being replaced, and the same
faults reached through the command line and the window. Each time: a clear error naming the
file, the existing file byte-for-byte unchanged, no temporary file left.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from _corpus import encode, small_photo
from qt_support import TIMEOUT_MS

from kquant_gui.cli import main
from kquant_gui.engine import quantize
from kquant_gui.image_io import ImageSaveError, load_image, save_quantized
from kquant_gui.palettes import write_palette

LONG_NAMES = {"ascii-300-bytes": "a" * 296 + ".png", "cjk-273-bytes": "写" * 90 + ".png"}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def result():
    return quantize(small_photo(), 4)


class _FillingFile:
    """A binary file whose disk fills after ``room`` bytes: ``write`` then raises ENOSPC."""

    def __init__(self, f, room: int) -> None:
        self._f, self._room = f, room

    def write(self, data) -> int:
        n = len(memoryview(data).cast("B"))
        if n > self._room:
            self._f.write(bytes(memoryview(data).cast("B")[: self._room]))
            self._room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= n
        return self._f.write(data)

    def __getattr__(self, name: str):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()


@pytest.fixture
def disk_full_after(monkeypatch: pytest.MonkeyPatch):
    """``disk_full_after(n)``: files opened by ``os.fdopen`` accept only ``n`` bytes."""

    def patch(room: int) -> None:
        real = os.fdopen
        monkeypatch.setattr(
            os, "fdopen", lambda fd, *a, **k: _FillingFile(real(fd, *a, **k), room)
        )

    return patch


def test_disk_filling_mid_write_keeps_the_old_file_and_leaves_no_part(
    tmp_path: Path, result, disk_full_after
):
    target = tmp_path / "q.png"
    target.write_bytes(encode(small_photo(9), "PNG"))
    before = sha(target)
    disk_full_after(100)  # past the PNG header, inside the pixel data
    with pytest.raises(ImageSaveError) as err:
        save_quantized(result, target, overwrite=True)
    assert str(err.value) == f"{target}: cannot write the file: the disk is full"
    assert sha(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["q.png"]


@pytest.mark.parametrize("name", LONG_NAMES.values(), ids=LONG_NAMES.keys())
def test_name_too_long_is_a_clear_error(tmp_path: Path, result, name: str):
    for write in (
        lambda p: save_quantized(result, p),
        lambda p: write_palette(result, p.with_suffix(".gpl")),
    ):
        with pytest.raises(ImageSaveError) as err:
            write(tmp_path / name)
        assert str(err.value).endswith(": the file name is too long")
        assert "Errno" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_a_long_but_valid_name_saves(tmp_path: Path, result):
    # 254 bytes: valid, though the temporary file's name would be over 255 if built from it.
    for name in ("b" * 250 + ".png", "写" * 83 + ".png"):
        saved = save_quantized(result, tmp_path / name)
        np.testing.assert_array_equal(load_image(saved.path).pixels, result.image)
    assert len(list(tmp_path.iterdir())) == 2


def test_a_folder_as_target_is_refused_and_untouched(tmp_path: Path, result):
    folder = tmp_path / "looks-like.png"
    folder.mkdir()
    (folder / "inside.txt").write_text("mine")
    for write in (
        lambda: save_quantized(result, folder, overwrite=True),
        lambda: write_palette(
            result, folder.with_suffix(".gpl").with_suffix(".png"), overwrite=True
        ),
    ):
        with pytest.raises(ImageSaveError, match="is a folder"):
            write()
    assert folder.is_dir() and [p.name for p in folder.iterdir()] == ["inside.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["looks-like.png"]


@pytest.fixture
def read_only_with_file(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A read-only folder holding ``old.png``: by permissions, or for root a remounted tmpfs."""
    folder = tmp_path / "ro"
    folder.mkdir()
    old = folder / "old.png"
    if os.geteuid() != 0:
        old.write_bytes(encode(small_photo(9), "PNG"))
        folder.chmod(0o555)
        yield folder, old
        folder.chmod(0o755)
        return
    # Root ignores permission bits; a tmpfs remounted read-only stops it too.
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                      capture_output=True, check=False).returncode:  # fmt: skip
        pytest.skip("running as root without permission to mount a file system")
    try:
        old.write_bytes(encode(small_photo(9), "PNG"))
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder, old
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_cli_on_a_full_disk_and_a_read_only_folder(
    capsys, tmp_path: Path, read_only_with_file, disk_full_after
):
    folder, old = read_only_with_file
    src = tmp_path / "in.png"
    src.write_bytes(encode(small_photo(), "PNG"))
    before_src, before_old = sha(src), sha(old)
    assert main([str(src), "-k", "4", "-o", str(old), "--force"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"kquant: error: {old}: ")
    assert "read-only" in err[0] or "permission denied" in err[0]

    target = tmp_path / "out.png"
    target.write_bytes(b"keep me")
    disk_full_after(100)
    assert main([str(src), "-k", "4", "-o", str(target), "--force"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"kquant: error: {target}: cannot write the file: the disk is full"]
    assert sha(src) == before_src and sha(old) == before_old
    assert target.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png", "ro"]
    assert [p.name for p in folder.iterdir()] == ["old.png"]


def test_window_save_faults_show_a_message_and_keep_everything(
    qtbot, window, messages, open_and_wait, tmp_path: Path, read_only_with_file, disk_full_after
):
    _, old = read_only_with_file
    src = tmp_path / "in.png"
    src.write_bytes(encode(small_photo(), "PNG"))
    open_and_wait(window, src)
    shown = window.shown
    before_old = sha(old)

    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
        assert window.save_to(old)  # asks to replace (answered Yes), then fails
    title, text = messages.warnings[-1]
    assert title == "Could not save" and old.name in text
    assert "read-only" in text or "permission denied" in text

    target = tmp_path / "out.png"
    target.write_bytes(b"keep me")
    with pytest.MonkeyPatch.context() as mp:
        real = os.fdopen
        mp.setattr(os, "fdopen", lambda fd, *a, **k: _FillingFile(real(fd, *a, **k), 100))
        with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
            window.save_to(target)
    assert messages.warnings[-1] == (
        "Could not save",
        f"{target}: cannot write the file: the disk is full",
    )
    assert sha(old) == before_old and target.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png", "ro"]
    assert "Traceback" not in "".join(t for _, t in messages.warnings)
    # The window still shows its result and saves where it can.
    assert window.shown is shown
    with qtbot.waitSignal(window.saved, timeout=TIMEOUT_MS):
        window.save_to(tmp_path / "fine.png")
    np.testing.assert_array_equal(load_image(tmp_path / "fine.png").pixels, shown.result.image)


def test_window_save_with_a_name_too_long_is_a_message(
    qtbot, window, messages, open_and_wait, tmp_path: Path
):
    src = tmp_path / "in.png"
    src.write_bytes(encode(small_photo(), "PNG"))
    open_and_wait(window, src)
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
        window.save_to(tmp_path / LONG_NAMES["ascii-300-bytes"])
    assert messages.warnings[-1][1].endswith("the file name is too long")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]

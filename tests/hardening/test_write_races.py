"""Two writers, one name: without overwrite, the final name is taken only if it is still free.

The check that a target does not exist happens long before the file is finished; another
program (or a second ``kquant``) may create it meanwhile. The rename that publishes the file
must then fail rather than replace the other's file, whichever way the platform offers that
(an atomic no-replace rename, a hard link, or, on file systems with neither, a last check).
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from _corpus import encode, small_photo
from _procs import KQUANT, temp_files
from PIL import Image

import kquant_gui.image_io.atomic as atomic_io
from kquant_gui.image_io import ImageSaveError, write_atomically

#: Ways of publishing a finished file, best first; each test runs with the better ones gone.
LADDERS = {
    "best": [],
    "no-renameat2": ["renameat2"],
    "no-renameat2-no-links": ["renameat2", "link"],
}


@pytest.fixture(params=list(LADDERS))
def platform(request, monkeypatch: pytest.MonkeyPatch) -> str:
    """The publishing ladder with the named rungs unavailable, as on a poorer platform."""
    for rung in LADDERS[request.param]:
        if rung == "renameat2":
            monkeypatch.setattr(atomic_io, "_renameat2", None)
        elif rung == "link":

            def no_links(src, dst, *args, **kwargs):
                raise OSError(errno.EPERM, "Operation not permitted")  # as on FAT or SMB

            monkeypatch.setattr(os, "link", no_links)
    return request.param


class TestPublishWithoutReplacing:
    """The target appearing while the file is written: refused, the other file kept."""

    def test_a_target_created_meanwhile_is_never_replaced(self, tmp_path: Path, platform):
        target = tmp_path / "photo-k8.png"

        def write(f) -> None:
            f.write(b"ours")
            target.write_bytes(b"theirs")  # the other writer finishes first

        with pytest.raises(ImageSaveError, match="already exists") as err:
            write_atomically(target, write)
        assert err.value.path == target
        assert target.read_bytes() == b"theirs"
        assert temp_files(tmp_path) == []

    def test_a_free_name_is_published_complete(self, tmp_path: Path, platform):
        target = tmp_path / "photo-k8.png"
        size = write_atomically(target, lambda f: f.write(b"x" * 1000))
        assert size == 1000 and target.read_bytes() == b"x" * 1000
        assert temp_files(tmp_path) == []
        assert (target.stat().st_mode & 0o777) == 0o666 & ~_umask()

    def test_overwrite_still_replaces(self, tmp_path: Path, platform):
        target = tmp_path / "photo-k8.png"

        def write(f) -> None:
            f.write(b"ours")
            target.write_bytes(b"theirs")

        write_atomically(target, write, overwrite=True)
        assert target.read_bytes() == b"ours"
        assert temp_files(tmp_path) == []


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.slow
class TestTwoKquantRuns:
    """Two real ``kquant`` runs on the same output at the same time: exactly one writes it."""

    def test_exactly_one_of_two_simultaneous_runs_writes_the_output(self, tmp_path: Path):
        source = tmp_path / "photo.png"
        source.write_bytes(encode(small_photo(5, (1200, 900)), "PNG", compress_level=1))
        target = tmp_path / "photo-k32.png"
        # Both pass the "does it exist" check at their start, long before either finishes.
        runs = [
            subprocess.Popen(
                [KQUANT, source, "-k", "32", "-o", target],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [(p.wait(timeout=300), *p.communicate()) for p in runs]
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 1], results
        loser_err = next(err for code, _, err in results if code == 1)
        assert "photo-k32.png" in loser_err and "already exists" in loser_err
        assert len(loser_err.strip().splitlines()) == 1
        assert temp_files(tmp_path) == []
        with Image.open(target) as im:
            im.load()
            assert im.mode == "P"

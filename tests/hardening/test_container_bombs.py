"""Containers hiding a huge image: ICO, CUR and ICNS frames are judged by their own headers.

An icon's directory lists at most 256 x 256 (ICO) or 1024 x 1024 (ICNS), but the PNG, BMP or
JPEG 2000 frame it points at says its own size, and Pillow decodes that frame while it opens the
file. Each frame's header must be checked against the pixel limit before its pixels are
decoded: the file is refused as too large, whatever the directory says, and nothing big is ever
allocated (checked in a process whose address space is capped below what decoding would take).
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
from _hostile import dib_claiming, icns_holding, ico_holding, j2k_claiming, png_frame_claiming
from _procs import KQUANT
from PIL import features

from kquant_gui.image_io import ImageLoadError, load_image

needs_j2k = pytest.mark.skipif(not features.check_codec("jpg_2000"), reason="no JPEG 2000")


def cur_holding(frame: bytes) -> bytes:
    """A Windows cursor: an ICO whose type field says 2."""
    data = bytearray(ico_holding(frame))
    data[2] = 2
    return bytes(data)


#: Containers whose one frame claims ``w`` x ``h``; the directory lists a small icon.
CONTAINERS = {
    "ico-png": lambda w, h: ico_holding(png_frame_claiming(w, h)),
    "ico-bmp": lambda w, h: ico_holding(dib_claiming(w, h)),
    "cur-bmp": lambda w, h: cur_holding(dib_claiming(w, h)),
    "icns-png": lambda w, h: icns_holding(png_frame_claiming(w, h)),
    "icns-png-small-slot": lambda w, h: icns_holding(png_frame_claiming(w, h), b"icp4"),
    "icns-jpeg2000": pytest.param(
        lambda w, h: icns_holding(j2k_claiming(w, h)), marks=needs_j2k, id="icns-jpeg2000"
    ),
}
EXT = {"ico": ".ico", "cur": ".cur", "icns": ".icns"}


def container(tmp_path: Path, kind: str, build, w: int, h: int) -> Path:
    path = tmp_path / f"{kind}{EXT[kind.split('-')[0]]}"
    path.write_bytes(build(w, h))
    return path


def params():
    for kind, build in CONTAINERS.items():
        if isinstance(build, type(pytest.param(None))):
            yield pytest.param(kind, build.values[0], marks=build.marks, id=kind)
        else:
            yield pytest.param(kind, build, id=kind)


class TestFramesJudgedByTheirOwnHeader:
    @pytest.mark.parametrize("kind, build", list(params()))
    def test_a_frame_over_the_limit_is_refused_as_too_large(self, tmp_path, kind, build):
        # 3000 x 3000 against a limit of 2 MP (above the 1024 x 1024 an ICNS lists): decoding
        # it would only cost 36 MB, and its data stops after one row, so a decode would be told
        # as a truncated file instead.
        path = container(tmp_path, kind, build, 3000, 3000)
        with pytest.raises(ImageLoadError, match="too large") as err:
            load_image(path, max_pixels=2_000_000)
        assert err.value.path == path
        assert "3000 x 3000 = 9 megapixels" in err.value.reason, err.value.reason

    @pytest.mark.parametrize("kind, build", list(params()))
    def test_the_limit_is_the_callers_not_pillows(self, tmp_path, kind, build):
        # Under a raised limit a frame of 3000 x 3000 is not "too large": it gets decoded and
        # fails for what it is (its data stops after one row).
        path = container(tmp_path, kind, build, 3000, 3000)
        with pytest.raises(ImageLoadError) as err:
            load_image(path, max_pixels=40_000_000)
        assert "too large" not in err.value.reason

    @pytest.mark.slow
    @pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as Linux applies it")
    @pytest.mark.parametrize("kind, build", list(params()))
    def test_a_30000_px_frame_allocates_nothing(self, tmp_path, kind, build):
        # 900 MP: 3.6 GB once decoded. The command runs with 1.5 GB of address space, enough
        # for itself; a decode would fail for memory instead of being refused as too large.
        path = container(tmp_path, kind, build, 30_000, 30_000)

        def cap_memory() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

        done = subprocess.run(
            [KQUANT, str(path), "-k", "4", "--jobs", "1", "-o", str(tmp_path / "out.png")],
            preexec_fn=cap_memory,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "too large: 30000 x 30000 = 900 megapixels" in lines[0]
        assert not (tmp_path / "out.png").exists()

"""Every written file reads back: each output format from each odd input, with its metadata.

A camera JPEG's EXIF holds Exif and GPS sub-directories, which TIFF's writer cannot take; a TIFF
input's "EXIF" is its whole first directory, structural tags included, which described the old
pixels and made new TIFFs unreadable. Only real EXIF is carried, in a form each writer takes,
and formats with a size limit say so before anything is written.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from _hostile import camera_jpeg, tiff_in_mode
from _procs import temp_files
from PIL import Image

from kquant_gui.cli import main
from kquant_gui.engine import quantize
from kquant_gui.image_io import ImageSaveError, load_image, save_quantized

OUTPUTS = [".png", ".gif", ".webp", ".tiff", ".bmp", ".jpg"]
ODD_MODES = ["1", "L", "LA", "P", "I;16", "I", "F", "CMYK", "RGBA", "LAB"]


def reads_back(path, size: tuple[int, int]) -> Image.Image:
    """Open and fully decode ``path`` afresh; its size must be ``size``."""
    data = path.read_bytes()
    im = Image.open(io.BytesIO(data))
    im.load()
    assert im.size == size
    return im


class TestEveryOutputReadsBack:
    @pytest.mark.parametrize("ext", OUTPUTS)
    @pytest.mark.parametrize("mode", ODD_MODES)
    def test_odd_tiff_input(self, tmp_path, mode, ext):
        source = tmp_path / f"in-{mode.replace(';', '')}.tif"
        source.write_bytes(tiff_in_mode(mode))
        src = load_image(source)
        out = tmp_path / f"out{ext}"
        save_quantized(quantize(src.pixels, 6), out, source=src)
        im = reads_back(out, (64, 48))
        if ext in (".tiff", ".png", ".webp", ".jpg"):
            exif = im.getexif()
            assert exif.get(0x010F) == "Camera maker"  # real EXIF is carried
            if ext == ".tiff":  # its own layout: 8-bit RGB(A), whatever the input's was
                assert im.tag_v2[258] in ((8, 8, 8), (8, 8, 8, 8)) and im.tag_v2[262] == 2
            else:  # no TIFF structure copied as "EXIF"
                assert not {0x0100, 0x0102, 0x0106, 0x0111, 0x0117} & set(exif)

    @pytest.mark.parametrize("ext", OUTPUTS)
    def test_camera_jpeg_with_exif_and_gps(self, tmp_path, ext):
        source = tmp_path / "camera.jpg"
        source.write_bytes(camera_jpeg())
        src = load_image(source)
        out = tmp_path / f"out{ext}"
        saved = save_quantized(quantize(src.pixels, 8), out, source=src)
        im = reads_back(out, (64, 48))
        if ext == ".gif" or ext == ".bmp":
            return
        exif = im.getexif()
        assert exif.get(0x010F) == "Camera maker"
        if ext == ".tiff":
            assert any("TIFF keeps no EXIF details" in n for n in saved.notes)
        else:
            assert exif.get_ifd(0x8769).get(0x9003) == "2024:05:01 10:00:00"
            assert exif.get_ifd(0x8825).get(1) == "N"

    def test_camera_jpeg_to_tiff_from_the_command_line(self, capsys, tmp_path):
        source = tmp_path / "camera.jpg"
        source.write_bytes(camera_jpeg())
        code = main([str(source), "-k", "8", "-o", str(tmp_path / "out.tif")])
        _, err = capsys.readouterr()
        assert code == 0, err
        assert "internal error" not in err and "Traceback" not in err
        reads_back(tmp_path / "out.tif", (64, 48))


class TestFormatLimits:
    """Said first, in words, nothing written; never the encoder's own error or stray line."""

    @pytest.mark.parametrize(
        "ext, side, words",
        [
            (".webp", 16384, "WebP is limited to 16383 px per side"),
            (".jpg", 65501, "JPEG is limited to 65500 px per side"),
            (".gif", 65536, "GIF is limited to 65535 px per side"),
        ],
    )
    def test_over_the_limit(self, tmp_path, capfd, ext, side, words):
        row = np.zeros((1, side, 3), np.uint8)
        row[0, ::2] = (250, 20, 20)
        result = quantize(row, 2)
        target = tmp_path / f"wide{ext}"
        with pytest.raises(ImageSaveError) as err:
            save_quantized(result, target)
        assert err.value.path == target
        assert err.value.reason.startswith(words)
        assert f"1 x {side}" not in err.value.reason and f"{side} x 1" in err.value.reason
        assert not target.exists() and temp_files(tmp_path) == []
        out, printed = capfd.readouterr()
        assert printed == "" and out == ""

    def test_at_the_limit_it_writes(self, tmp_path):
        row = np.zeros((1, 16383, 3), np.uint8)
        row[0, ::3] = (20, 200, 20)
        save_quantized(quantize(row, 2), tmp_path / "wide.webp")
        reads_back(tmp_path / "wide.webp", (16383, 1))

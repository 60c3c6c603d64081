"""Files Pillow opens but that fight back: formats it knows and cannot decode, codecs this build
lacks, metadata that lies, structures that take long to walk, special files.

Each is either read correctly or refused with one line that names the file and says the true
reason; never a traceback, never a C library's own line on stderr, never wrong pixels in silence.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from _corpus import encode, small_photo
from _hostile import (
    apng_claiming_frames,
    dds_dxgi,
    dds_flags,
    dds_fourcc,
    icc_wide_gamut_named_srgb,
    lab_psd,
    lab_tiff,
    minimal_eps,
    png_with_text,
    tiff_pages,
    tiff_with_compression,
)
from PIL import Image, ImageCms, TiffImagePlugin

from kquant_gui.cli import main
from kquant_gui.image_io import ImageLoadError, load_image


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path: Path) -> str:
    """The reason ``path`` is refused for, checked to name the file."""
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert err.value.path == path
    return err.value.reason


class TestRecognisedButNotImplemented:
    """Pillow knows the format but not this variant: a refusal saying so, never a traceback."""

    @pytest.mark.parametrize(
        "data",
        [dds_fourcc(b"DXT2"), dds_fourcc(b"UYVY"), dds_dxgi(2), dds_dxgi(10), dds_flags(0x200)],
        ids=["dxt2", "uyvy", "dxgi-rgba32f", "dxgi-rgba16f", "yuv-flags"],
    )
    def test_dds_pixel_formats_pillow_lacks(self, tmp_path, data):
        reason = refused(write(tmp_path, "texture.dds", data))
        assert reason.startswith("DDS pixel format not supported"), reason

    def test_through_the_command_line_one_line(self, capsys, tmp_path):
        path = write(tmp_path, "texture.dds", dds_fourcc(b"DXT2"))
        code = main([str(path), "-k", "4", "-o", str(tmp_path / "out.png")])
        _, err = capsys.readouterr()
        assert code == 1 and "internal error" not in err and "bug" not in err
        assert err.splitlines() == [f"kquant: error: {path}: " + refused(path)]


class TestMissingCodecs:
    """A TIFF compressed with a codec this build lacks: named, and libtiff stays quiet."""

    @pytest.mark.parametrize("code, name", [(50001, "WebP"), (34661, "JBIG"), (34887, "LERC")])
    def test_named_as_the_codec_not_as_damage(self, tmp_path, capfd, code, name):
        if code in TiffImagePlugin.COMPRESSION_INFO and code != 50001:
            pytest.skip(f"this Pillow decodes {name}")
        reason = refused(write(tmp_path, "scan.tif", tiff_with_compression(code)))
        assert reason == f"the TIFF is compressed with {name}, which this build cannot read"
        out, err = capfd.readouterr()
        assert err == "" and out == "", "a C library printed on stderr"

    def test_the_command_prints_one_line_and_keeps_libtiff_for_debug(self, tmp_path, capfd):
        path = write(tmp_path, "scan.tif", tiff_with_compression(50001))
        code = main([str(path), "-k", "4", "-o", str(tmp_path / "out.png")])
        _, err = capfd.readouterr()
        assert code == 1
        assert err.splitlines() == [
            f"kquant: error: {path}: the TIFF is compressed with WebP, which this build "
            "cannot read"
        ]
        code = main([str(path), "-k", "4", "-o", str(tmp_path / "out.png"), "--debug"])
        _, err = capfd.readouterr()
        assert "compression support is not configured" in err  # libtiff's words, in the log


class TestHugeStructures:
    def test_a_tiff_of_60000_pages_is_not_walked(self, tmp_path, monkeypatch):
        path = write(tmp_path, "stack.tif", tiff_pages(60_000))

        def counting(self):
            raise AssertionError("the pages were counted")

        monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "n_frames", property(counting))
        loaded = load_image(path)
        assert loaded.pixels.shape == (8, 8, 3)
        assert loaded.notes == ("first page of a multi-page TIFF used",)

    def test_a_single_page_tiff_has_no_note(self, tmp_path):
        assert load_image(write(tmp_path, "one.tif", tiff_pages(1))).notes == ()

    def test_an_apng_claiming_two_billion_frames_is_not_believed(self, tmp_path):
        loaded = load_image(write(tmp_path, "anim.png", apng_claiming_frames(2**31 - 1)))
        assert loaded.notes == ("first frame of an animated PNG used",)
        assert not any("2147483647" in n for n in loaded.notes)


class TestMetadataIsNotTrusted:
    @pytest.mark.parametrize(
        "text",
        ["\nexif\n      20\nzz this is not hex at all\n", "\nexif\n  -5\n00\n", "garbage"],
        ids=["not-hex", "negative-length", "no-header"],
    )
    def test_a_bad_raw_exif_text_chunk_is_ignored(self, tmp_path, text):
        path = write(tmp_path, "photo.png", png_with_text("Raw profile type exif", text))
        loaded = load_image(path)
        np.testing.assert_array_equal(loaded.pixels, small_photo(12))
        assert loaded.exif is None
        # When Pillow choked on it, the user is told it was ignored; else there is nothing.
        assert all("EXIF" in n and "ignored" in n for n in loaded.notes), loaded.notes
        if "not hex" in text:  # Pillow raises reading it: that must show
            assert loaded.notes

    def test_a_wide_gamut_profile_calling_itself_srgb_is_converted(self, tmp_path):
        icc = icc_wide_gamut_named_srgb()
        assert "sRGB" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
        red = np.zeros((8, 8, 3), np.uint8)
        red[...] = (200, 30, 30)
        loaded = load_image(write(tmp_path, "wide.png", encode(red, "PNG", icc_profile=icc)))
        # Adobe RGB's red is more saturated than sRGB's: converted, it cannot stay (200, 30, 30).
        assert tuple(loaded.pixels[0, 0]) != (200, 30, 30)
        expected = ImageCms.profileToProfile(
            Image.fromarray(red), ImageCms.ImageCmsProfile(io.BytesIO(icc)),
            ImageCms.createProfile("sRGB"), outputMode="RGB",
        )  # fmt: skip
        assert np.abs(loaded.pixels.astype(int) - np.asarray(expected)).max() <= 1

    def test_a_true_srgb_profile_under_another_name_is_left_alone(self, tmp_path):
        icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        photo = small_photo(3)
        loaded = load_image(write(tmp_path, "srgb.png", encode(photo, "PNG", icc_profile=icc)))
        np.testing.assert_array_equal(loaded.pixels, photo)


class TestLabImages:
    """CIELab: converted to sRGB, never its a* channel taken for alpha."""

    # Pillow's LAB (and Photoshop's): L* scaled to 0-255, a* and b* offset by 128. sRGB red is
    # about L* 53, a* 80, b* 67.
    RED = (136, 128 + 80, 128 + 67)

    @pytest.mark.parametrize("build", [lab_tiff, lab_psd], ids=["tiff", "psd"])
    def test_lab_is_converted_not_made_transparent(self, tmp_path, build):
        loaded = load_image(write(tmp_path, "lab." + build.__name__[4:], build(self.RED)))
        assert loaded.pixels.shape[2] == 3, "a* read as alpha"
        r, g, b = (int(v) for v in loaded.pixels[0, 0])
        assert r > 200 and g < 60 and b < 60, (r, g, b)


class TestSpecialFiles:
    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
    def test_a_fifo_is_named_as_such_and_never_opened(self, tmp_path):
        fifo = tmp_path / "pipe.png"
        os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
        assert refused(fifo) == "is a named pipe (FIFO), not an image file"

    def test_a_symlink_loop_is_named_as_such(self, tmp_path):
        a, b = tmp_path / "a.png", tmp_path / "b.png"
        a.symlink_to(b)
        b.symlink_to(a)
        assert "loop of symbolic links" in refused(a)

    @pytest.mark.skipif(sys.platform != "linux", reason="/dev/zero")
    def test_a_device_is_not_read(self):
        with pytest.raises(ImageLoadError, match="device"):
            load_image("/dev/zero")

    @pytest.mark.skipif(shutil.which("gs") is not None, reason="Ghostscript is installed")
    def test_eps_without_ghostscript_says_so(self, tmp_path):
        reason = refused(write(tmp_path, "figure.eps", minimal_eps()))
        assert "Ghostscript" in reason and "damaged" not in reason


# Limits this small are under half of Pillow's warning threshold, which holds our limit / 2.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
class TestTransparencyCountsMore:
    """Transparency costs the engine more memory: such an image counts 5/3 its pixels."""

    @staticmethod
    def image(alpha: int | None) -> bytes:
        photo = small_photo(4, (100, 100))
        if alpha is None:
            return encode(photo, "PNG")
        rgba = np.dstack([photo, np.full((100, 100), alpha, np.uint8)])
        rgba[:, :50, 3] = np.linspace(0, 255, 50).astype(np.uint8)  # a soft edge
        if alpha == 255:
            rgba[..., 3] = 255
        return encode(rgba, "PNG")

    def test_with_transparency_the_limit_is_three_fifths(self, tmp_path):
        path = write(tmp_path, "soft.png", self.image(200))
        # 10,000 pixels: under 16,000 as such, over it counted 5/3.
        with pytest.raises(ImageLoadError, match="with transparency the limit is 0 megapixels"):
            load_image(path, max_pixels=16_000)
        assert load_image(path, max_pixels=16_700).pixels.shape == (100, 100, 4)

    @pytest.mark.parametrize("alpha", [None, 255], ids=["rgb", "opaque-alpha"])
    def test_opaque_images_count_their_pixels(self, tmp_path, alpha):
        path = write(tmp_path, "flat.png", self.image(alpha))
        assert load_image(path, max_pixels=10_000).pixels.shape == (100, 100, 3)

"""Loading: every common format and mode to exact sRGB uint8, orientation, colour profiles,
16-bit scaling, the pixel limit and readable errors for bad files."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from _images import encode, png16, png_header_only, swapped_profile
from PIL import Image, ImageCms

from kquant_gui.image_io import ImageLoadError, load_image


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("fmt, ext", [("PNG", "png"), ("BMP", "bmp"), ("TIFF", "tif")])
def test_lossless_rgb_loads_exactly(tmp_path, photo, fmt, ext):
    loaded = load_image(write(tmp_path / f"a.{ext}", encode(photo, fmt)))
    assert loaded.pixels.dtype == np.uint8
    np.testing.assert_array_equal(loaded.pixels, photo)
    assert loaded.format == fmt
    assert loaded.file_size == (tmp_path / f"a.{ext}").stat().st_size


def test_lossless_webp_loads_exactly(tmp_path, photo):
    loaded = load_image(write(tmp_path / "a.webp", encode(photo, "WEBP", lossless=True)))
    np.testing.assert_array_equal(loaded.pixels, photo)


def test_jpeg_loads_close_to_the_original(tmp_path, photo):
    loaded = load_image(write(tmp_path / "a.jpg", encode(photo, "JPEG", quality=95)))
    assert loaded.pixels.shape == photo.shape
    assert np.abs(loaded.pixels.astype(int) - photo).mean() < 4


@pytest.mark.parametrize("fmt, ext", [("PNG", "png"), ("TIFF", "tif"), ("WEBP", "webp")])
def test_partial_transparency_is_kept_exactly(tmp_path, rgba_soft, fmt, ext):
    kwargs = {"lossless": True, "exact": True} if fmt == "WEBP" else {}
    loaded = load_image(write(tmp_path / f"a.{ext}", encode(rgba_soft, fmt, **kwargs)))
    np.testing.assert_array_equal(loaded.pixels, rgba_soft)


def test_fully_opaque_alpha_is_dropped(tmp_path, photo):
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    loaded = load_image(write(tmp_path / "a.png", encode(rgba, "PNG")))
    assert loaded.pixels.shape == photo.shape
    np.testing.assert_array_equal(loaded.pixels, photo)


def test_grey_and_grey_alpha(tmp_path):
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    loaded = load_image(write(tmp_path / "g.png", encode(grey, "PNG")))
    np.testing.assert_array_equal(loaded.pixels, np.dstack([grey] * 3))
    la = Image.merge("LA", [Image.fromarray(grey), Image.fromarray(255 - grey)])
    la.save(tmp_path / "la.png")
    loaded = load_image(tmp_path / "la.png")
    np.testing.assert_array_equal(loaded.pixels, np.dstack([grey, grey, grey, 255 - grey]))


def test_palette_png_with_transparency(tmp_path):
    im = Image.frombytes("P", (4, 1), bytes([0, 1, 2, 1]))
    im.putpalette(bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]))
    im.save(tmp_path / "p.png", transparency=bytes([255, 0, 128]))
    loaded = load_image(tmp_path / "p.png")
    expected = [[[255, 0, 0, 255], [0, 255, 0, 0], [0, 0, 255, 128], [0, 255, 0, 0]]]
    np.testing.assert_array_equal(loaded.pixels, expected)


def test_bilevel_image(tmp_path):
    bits = np.array([[0, 255], [255, 0]], np.uint8)
    Image.fromarray(bits).convert("1").save(tmp_path / "b.png")
    loaded = load_image(tmp_path / "b.png")
    np.testing.assert_array_equal(loaded.pixels[..., 0], bits)


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_grey_is_scaled_not_clipped(tmp_path, ext):
    ramp = np.linspace(0, 65535, 32).astype(np.uint16).reshape(4, 8)
    Image.fromarray(ramp).save(tmp_path / f"g16.{ext}")
    loaded = load_image(tmp_path / f"g16.{ext}")
    expected = np.rint(ramp / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(loaded.pixels, np.dstack([expected] * 3))
    # Clipping would have turned everything above 255 into white.
    assert len(np.unique(loaded.pixels)) == 32


def test_16bit_rgb_and_rgba_are_scaled(tmp_path):
    rng = np.random.default_rng(1)
    rgba16 = rng.integers(0, 65536, size=(5, 7, 4), dtype=np.uint16)
    loaded = load_image(write(tmp_path / "c16.png", png16(rgba16)))
    assert loaded.pixels.shape == (5, 7, 4)
    # Pillow reads the high byte of each sample: within one level of exact scaling.
    assert np.abs(loaded.pixels.astype(int) - rgba16 / 257.0).max() <= 1.0
    loaded = load_image(write(tmp_path / "c16rgb.png", png16(rgba16[..., :3])))
    assert np.abs(loaded.pixels.astype(int) - rgba16[..., :3] / 257.0).max() <= 1.0


def test_cmyk_tiff_becomes_rgb(tmp_path):
    cmyk = np.zeros((2, 2, 4), np.uint8)
    cmyk[0, 0] = (0, 0, 0, 0)  # white
    cmyk[0, 1] = (0, 0, 0, 255)  # black
    cmyk[1, 0] = (0, 255, 255, 0)  # red
    cmyk[1, 1] = (255, 0, 255, 0)  # green
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "c.tif")
    loaded = load_image(tmp_path / "c.tif")
    assert loaded.mode == "CMYK"
    expected = [[[255, 255, 255], [0, 0, 0]], [[255, 0, 0], [0, 255, 0]]]
    np.testing.assert_array_equal(loaded.pixels, expected)


def test_exif_orientation_is_applied_and_reset(tmp_path):
    # A 3 wide x 2 high image with a red top-left corner; orientation 6 means the camera was
    # turned, and a viewer rotates it 90 degrees clockwise: 2 wide x 3 high, red top-right.
    pixels = np.zeros((2, 3, 3), np.uint8)
    pixels[0, 0] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "TestCam"
    Image.fromarray(pixels).save(tmp_path / "r.png", exif=exif.tobytes())
    loaded = load_image(tmp_path / "r.png")
    assert loaded.pixels.shape == (3, 2, 3)
    np.testing.assert_array_equal(loaded.pixels, np.rot90(pixels, k=-1))
    assert tuple(loaded.pixels[0, 1]) == (255, 0, 0)
    kept = Image.Exif()
    kept.load(loaded.exif)
    assert kept[0x0112] == 1
    assert kept[0x010F] == "TestCam"


def test_exif_rotated_jpeg_from_a_phone(tmp_path, photo):
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.fromarray(photo).save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    loaded = load_image(tmp_path / "phone.jpg")
    assert loaded.pixels.shape == (photo.shape[1], photo.shape[0], 3)
    assert np.abs(loaded.pixels.astype(int) - np.rot90(photo)).mean() < 4


def test_icc_profile_is_converted_to_srgb(tmp_path):
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    Image.fromarray(pixels).save(tmp_path / "tagged.png", icc_profile=swapped_profile())
    loaded = load_image(tmp_path / "tagged.png")
    np.testing.assert_array_equal(loaded.pixels, pixels[..., ::-1])
    assert loaded.notes == ()
    # What gets carried over to saved files is an sRGB profile, matching the pixels now.
    profile = ImageCms.ImageCmsProfile(io.BytesIO(loaded.icc_profile))
    assert "sRGB" in ImageCms.getProfileDescription(profile)


def test_icc_profile_with_alpha_keeps_alpha(tmp_path, rgba_soft):
    Image.fromarray(rgba_soft).save(tmp_path / "t.png", icc_profile=swapped_profile())
    loaded = load_image(tmp_path / "t.png")
    np.testing.assert_array_equal(loaded.pixels[..., 3], rgba_soft[..., 3])
    np.testing.assert_array_equal(loaded.pixels[..., :3], rgba_soft[..., 2::-1])


def test_damaged_icc_profile_loads_with_a_note(tmp_path, photo):
    Image.fromarray(photo).save(tmp_path / "bad-icc.png", icc_profile=b"not a profile" * 20)
    loaded = load_image(tmp_path / "bad-icc.png")
    np.testing.assert_array_equal(loaded.pixels, photo)
    assert any("colour profile" in n for n in loaded.notes)


def test_animated_gif_gives_first_frame_and_says_so(tmp_path):
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    loaded = load_image(tmp_path / "anim.gif")
    assert (loaded.pixels == (255, 0, 0)).all()
    assert loaded.notes == ("first frame of an animated GIF used",)  # frames never counted


def test_gif_transparency(tmp_path):
    im = Image.frombytes("P", (2, 1), bytes([0, 1]))
    im.putpalette(bytes([10, 20, 30, 0, 0, 0]))
    im.save(tmp_path / "t.gif", transparency=1)
    loaded = load_image(tmp_path / "t.gif")
    assert loaded.pixels.shape == (1, 2, 4)
    assert tuple(loaded.pixels[0, 0]) == (10, 20, 30, 255)
    assert loaded.pixels[0, 1, 3] == 0


# ----- refusals -------------------------------------------------------------------------------


def assert_clear_error(err: pytest.ExceptionInfo[ImageLoadError], path: Path, words: str) -> None:
    message = str(err.value)
    assert str(path) in message
    assert words in message
    # No Pillow internals leak into what the user reads.
    for internal in ("PIL", "cannot identify", "Errno", "Traceback"):
        assert internal not in message


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError) as err:
        load_image(tmp_path / "nope.png")
    assert_clear_error(err, tmp_path / "nope.png", "no such file")


def test_empty_file(tmp_path):
    with pytest.raises(ImageLoadError) as err:
        load_image(write(tmp_path / "empty.jpg", b""))
    assert_clear_error(err, tmp_path / "empty.jpg", "empty")


def test_folder(tmp_path):
    with pytest.raises(ImageLoadError) as err:
        load_image(tmp_path)
    assert_clear_error(err, tmp_path, "folder")


def test_not_an_image(tmp_path):
    with pytest.raises(ImageLoadError) as err:
        load_image(write(tmp_path / "notes.png", b"just some text, not pixels\n" * 10))
    assert_clear_error(err, tmp_path / "notes.png", "not an image")


@pytest.mark.parametrize("fmt, ext", [("PNG", "png"), ("JPEG", "jpg")])
def test_truncated_file(tmp_path, photo, fmt, ext):
    data = encode(photo, fmt)
    path = write(tmp_path / f"cut.{ext}", data[: len(data) // 2])
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert_clear_error(err, path, "truncated")


def test_pixel_limit_is_checked_from_the_header(tmp_path):
    # 15000 x 15000 = 225 MP claimed, no pixel data at all: only a header check can refuse it
    # as "too large" (decoding would fail differently), and Pillow must not warn.
    path = write(tmp_path / "huge.png", png_header_only(15000, 15000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageLoadError) as err:
            load_image(path)
    assert_clear_error(err, path, "too large")
    assert "225 megapixels" in str(err.value)
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's own guard is restored


def test_pixel_limit_is_configurable(tmp_path, photo):
    path = write(tmp_path / "a.png", encode(photo, "PNG"))
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(path, max_pixels=1000)
    assert load_image(path, max_pixels=photo.shape[0] * photo.shape[1]).pixels.shape == photo.shape


def test_our_limit_replaces_pillows_own(tmp_path, photo, monkeypatch):
    # Pillow warns above its own MAX_IMAGE_PIXELS and refuses above twice that, whatever the
    # caller allows; with Pillow's guard set far below this image, ours alone must decide,
    # silently, and Pillow's setting must be back afterwards.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    path = write(tmp_path / "a.png", encode(photo, "PNG"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_image(path)
    np.testing.assert_array_equal(loaded.pixels, photo)
    assert Image.MAX_IMAGE_PIXELS == 100


def test_icc_profile_of_a_palette_image_is_applied(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[:2] = (255, 0, 0)
    rgb[2:] = (0, 0, 255)
    Image.fromarray(rgb).quantize(2).save(tmp_path / "p.png", icc_profile=swapped_profile())
    loaded = load_image(tmp_path / "p.png")
    assert loaded.mode == "P" and loaded.notes == ()
    np.testing.assert_array_equal(loaded.pixels, rgb[..., ::-1])


def test_icc_profile_of_a_grey_alpha_image_keeps_grey_and_alpha(tmp_path):
    grey = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (4, 1))
    alpha = np.tile(np.array([[0], [64], [128], [255]], np.uint8), (1, 16))
    Image.fromarray(np.dstack([grey, alpha]), "LA").save(
        tmp_path / "la.png", icc_profile=swapped_profile()
    )
    loaded = load_image(tmp_path / "la.png")
    assert loaded.mode == "LA" and loaded.notes == ()
    # Red and blue swapped: grey stays grey; alpha is carried around the conversion.
    np.testing.assert_array_equal(loaded.pixels[..., :3], np.dstack([grey] * 3))
    np.testing.assert_array_equal(loaded.pixels[..., 3], alpha)


def test_16_bit_grey_with_a_profile_that_cannot_apply_loads_scaled_with_a_note(tmp_path):
    # An RGB profile on grey samples: lcms refuses the conversion, so the pixels are read as
    # they are (scaled from 16 bits, not clipped) and a note says the profile was not applied.
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (8, 1))
    Image.fromarray(ramp).save(tmp_path / "g16.png", icc_profile=swapped_profile())
    loaded = load_image(tmp_path / "g16.png")
    assert loaded.mode.startswith("I;16")
    expected = ((ramp.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)
    np.testing.assert_array_equal(loaded.pixels, np.dstack([expected] * 3))
    assert loaded.notes == (
        "the embedded colour profile could not be applied; colours were read as sRGB",
    )

"""Saving: exact indexed PNG, every format read back, metadata, and atomic, careful writes."""

from __future__ import annotations

import errno
import io
import os
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from _images import encode, swapped_profile
from PIL import Image, ImageCms

from kquant_gui import quantize
from kquant_gui.image_io import (
    SUPPORTED_SAVE_FORMATS,
    ImageSaveError,
    estimate_png_size,
    load_image,
    save_quantized,
)


def png_chunks(data: bytes) -> dict[bytes, bytes]:
    """First chunk of each type in a PNG file."""
    chunks: dict[bytes, bytes] = {}
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag = data[pos + 4 : pos + 8]
        chunks.setdefault(tag, data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return chunks


def all_png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk of a PNG file, in order, after checking its CRC."""
    chunks = []
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        body = data[pos + 4 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(body) == crc
        chunks.append((body[:4], body[4:]))
        pos += 12 + length
    return chunks


def read_back(path: Path, mode: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert(mode))


@pytest.mark.parametrize("k, bits", [(2, 1), (4, 2), (5, 4), (16, 4), (17, 8), (64, 8)])
def test_png_is_indexed_with_the_exact_palette_and_smallest_depth(tmp_path, photo, k, bits):
    result = quantize(photo, k)
    saved = save_quantized(result, tmp_path / "q.png")
    data = saved.path.read_bytes()
    chunks = png_chunks(data)
    assert chunks[b"IHDR"][9] == 3  # colour type 3: indexed
    assert chunks[b"IHDR"][8] == bits
    plte = np.frombuffer(chunks[b"PLTE"], np.uint8).reshape(-1, 3)
    np.testing.assert_array_equal(plte, result.palette)  # same colours, same order
    assert b"tRNS" not in chunks
    np.testing.assert_array_equal(read_back(saved.path, "RGB"), result.image)
    with Image.open(saved.path) as im:
        np.testing.assert_array_equal(np.asarray(im), result.labels)
    assert saved.size == len(data) and saved.format == "PNG" and saved.notes == ()


@pytest.mark.parametrize("k", [3, 16, 64, 256])
def test_optimized_png_is_no_larger_and_reads_back_identical(tmp_path, photo, rgba_soft, k):
    for name, pixels in (("rgb", photo), ("soft", rgba_soft)):
        result = quantize(pixels, k)
        plain = save_quantized(result, tmp_path / f"{name}{k}.png")
        small = save_quantized(result, tmp_path / f"{name}{k}-o.png", optimize=True)
        assert small.size <= plain.size and small.notes == plain.notes
        a, b = png_chunks(plain.path.read_bytes()), png_chunks(small.path.read_bytes())
        # oxipng may only recompress: same header (so bit depth), palette, order and alpha.
        for tag in (b"IHDR", b"PLTE", b"tRNS"):
            assert a.get(tag) == b.get(tag), tag
        with Image.open(small.path) as im, Image.open(plain.path) as ref:
            assert im.mode == ref.mode == ("P" if b"PLTE" in a else "RGBA")
            np.testing.assert_array_equal(np.asarray(im), np.asarray(ref))
        mode = "RGBA" if result.has_alpha else "RGB"
        np.testing.assert_array_equal(read_back(small.path, mode), result.image)


def test_optimize_keeps_the_metadata(tmp_path, tagged_source):
    result = quantize(tagged_source.pixels, 8)
    plain = save_quantized(result, tmp_path / "a.png", source=tagged_source)
    small = save_quantized(result, tmp_path / "b.png", source=tagged_source, optimize=True)
    a, b = png_chunks(plain.path.read_bytes()), png_chunks(small.path.read_bytes())
    assert b[b"eXIf"] == a[b"eXIf"]

    def profile(chunk: bytes) -> bytes:  # oxipng recompresses it and renames it "icc"
        return zlib.decompress(chunk.partition(b"\0")[2][1:])

    assert profile(b[b"iCCP"]) == profile(a[b"iCCP"])


def test_optimize_is_only_for_png_and_says_so(tmp_path, photo):
    result = quantize(photo, 8)
    plain = save_quantized(result, tmp_path / "a.gif")
    saved = save_quantized(result, tmp_path / "b.gif", optimize=True)
    assert saved.path.read_bytes() == plain.path.read_bytes()
    assert saved.notes == (
        *plain.notes,
        "optimizing applies to PNG only; the GIF file was written as usual",
    )


def test_optimizer_failure_keeps_the_file_as_written(tmp_path, photo, monkeypatch):
    import oxipng

    def refuse(data, **kwargs):
        raise oxipng.PngError("refused")

    monkeypatch.setattr(oxipng, "optimize_from_memory", refuse)
    result = quantize(photo, 8)
    plain = save_quantized(result, tmp_path / "a.png")
    saved = save_quantized(result, tmp_path / "b.png", optimize=True)
    assert saved.path.read_bytes() == plain.path.read_bytes()


def test_png_full_transparency_round_trips(tmp_path, rgba_binary):
    result = quantize(rgba_binary, 8)
    assert result.transparent_index is not None
    assert tuple(result.palette[result.transparent_index]) == (0, 0, 0, 0)
    saved = save_quantized(result, tmp_path / "t.png")
    chunks = png_chunks(saved.path.read_bytes())
    assert chunks[b"IHDR"][9] == 3
    plte = np.frombuffer(chunks[b"PLTE"], np.uint8).reshape(-1, 3)
    np.testing.assert_array_equal(plte, result.palette[:, :3])
    trns = chunks[b"tRNS"]
    assert trns[result.transparent_index] == 0
    assert all(a == 255 for i, a in enumerate(trns) if i != result.transparent_index)
    np.testing.assert_array_equal(read_back(saved.path, "RGBA"), result.image)


def test_png_soft_edges_are_a_true_palette_with_trns(tmp_path, rgba_soft):
    result = quantize(rgba_soft, 6)
    assert result.palette.shape == (result.n_colors, 4)
    saved = save_quantized(result, tmp_path / "soft.png")
    assert saved.notes == ()
    chunks = png_chunks(saved.path.read_bytes())
    assert chunks[b"IHDR"][9] == 3
    plte = np.frombuffer(chunks[b"PLTE"], np.uint8).reshape(-1, 3)
    # The palette is the result's, in the same order, and no more.
    np.testing.assert_array_equal(plte, result.palette[:, :3])
    trns = np.frombuffer(chunks[b"tRNS"], np.uint8)
    alpha = result.palette[:, 3]
    np.testing.assert_array_equal(trns, alpha[: trns.size])
    assert (alpha[trns.size :] == 255).all()
    np.testing.assert_array_equal(read_back(saved.path, "RGBA"), result.image)


def test_png_with_an_alpha_ramp_stays_indexed(tmp_path, photo):
    ramp = np.tile(np.linspace(1, 254, photo.shape[1]).astype(np.uint8), (photo.shape[0], 1))
    result = quantize(np.dstack([photo, ramp]), 16)
    saved = save_quantized(result, tmp_path / "ramp.png")
    assert saved.notes == ()
    with Image.open(saved.path) as im:
        assert im.mode == "P" and "transparency" in im.info
    np.testing.assert_array_equal(read_back(saved.path, "RGBA"), result.image)


@pytest.mark.parametrize("ext", [".gif", ".webp", ".tiff", ".tif", ".bmp"])
def test_lossless_formats_round_trip_rgb(tmp_path, photo, ext):
    result = quantize(photo, 12)
    saved = save_quantized(result, tmp_path / f"q{ext}")
    assert saved.format == SUPPORTED_SAVE_FORMATS[ext]
    np.testing.assert_array_equal(read_back(saved.path, "RGB"), result.image)


@pytest.mark.parametrize("ext", [".gif", ".bmp"])
def test_gif_and_bmp_are_indexed_with_the_palette_in_order(tmp_path, photo, ext):
    result = quantize(photo, 12)
    saved = save_quantized(result, tmp_path / f"q{ext}")
    with Image.open(saved.path) as im:
        assert im.mode == "P"
        pal = np.array(im.getpalette()[: 3 * result.n_colors], np.uint8).reshape(-1, 3)
        np.testing.assert_array_equal(pal, result.palette)


@pytest.mark.parametrize("ext", [".webp", ".tiff"])
def test_lossless_formats_round_trip_partial_alpha(tmp_path, rgba_soft, ext):
    result = quantize(rgba_soft, 12)
    saved = save_quantized(result, tmp_path / f"q{ext}")
    np.testing.assert_array_equal(read_back(saved.path, "RGBA"), result.image)


def test_gif_keeps_full_transparency(tmp_path, rgba_binary):
    result = quantize(rgba_binary, 8)
    saved = save_quantized(result, tmp_path / "t.gif")
    assert saved.notes == ()
    np.testing.assert_array_equal(read_back(saved.path, "RGBA"), result.image)


def test_gif_says_partial_alpha_is_lost(tmp_path, rgba_soft):
    result = quantize(rgba_soft, 8)
    saved = save_quantized(result, tmp_path / "t.gif")
    assert any("partial transparency" in n for n in saved.notes)
    back = read_back(saved.path, "RGBA")
    assert set(np.unique(back[..., 3])) == {0, 255}
    opaque = result.image[..., 3] == 255
    np.testing.assert_array_equal(back[opaque], result.image[opaque])


def test_jpeg_is_close_and_warns(tmp_path, photo, rgba_binary):
    result = quantize(photo, 8)
    saved = save_quantized(result, tmp_path / "q.jpg")
    assert any("adds colours back" in n for n in saved.notes)
    assert np.abs(read_back(saved.path, "RGB").astype(int) - result.image).mean() < 3
    saved = save_quantized(quantize(rgba_binary, 8), tmp_path / "t.jpeg")
    assert any("white" in n for n in saved.notes)
    assert read_back(saved.path, "RGB")[:, :5].min() > 240  # transparent part is white


def test_unknown_extension_lists_supported_formats(tmp_path, photo):
    with pytest.raises(ImageSaveError) as err:
        save_quantized(quantize(photo, 4), tmp_path / "q.xcf")
    message = str(err.value)
    assert "q.xcf" in message
    for ext in (".png", ".gif", ".webp", ".tiff", ".bmp", ".jpg"):
        assert ext in message
    assert list(tmp_path.iterdir()) == []


# ----- metadata --------------------------------------------------------------------------------


@pytest.fixture
def tagged_source(tmp_path, photo):
    """A loaded photo that had a (non-sRGB) ICC profile and EXIF with a rotation."""
    exif = Image.Exif()
    exif[0x0112] = 3
    exif[0x010F] = "TestCam"
    path = tmp_path / "src.png"
    Image.fromarray(photo).save(path, icc_profile=swapped_profile(), exif=exif.tobytes())
    return load_image(path)


@pytest.mark.parametrize("ext", [".png", ".webp", ".tiff", ".jpg"])
def test_icc_and_exif_are_carried_over(tmp_path, tagged_source, ext):
    result = quantize(tagged_source.pixels, 8)
    saved = save_quantized(result, tmp_path / f"out{ext}", source=tagged_source)
    with Image.open(saved.path) as im:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(profile)
        exif = im.getexif()
        assert exif[0x010F] == "TestCam"
        assert exif[0x0112] == 1  # pixels are already upright
    if ext != ".jpg":
        # Another program honouring both must see exactly the quantized pixels.
        np.testing.assert_array_equal(load_image(saved.path).pixels, result.image)


def test_strip_metadata(tmp_path, tagged_source):
    result = quantize(tagged_source.pixels, 8)
    saved = save_quantized(result, tmp_path / "out.png", source=tagged_source, strip_metadata=True)
    with Image.open(saved.path) as im:
        assert "icc_profile" not in im.info
        assert not im.getexif()


# ----- careful writing -------------------------------------------------------------------------


def test_existing_file_is_kept_unless_overwrite(tmp_path, photo):
    target = tmp_path / "q.png"
    target.write_bytes(b"precious")
    result = quantize(photo, 4)
    with pytest.raises(ImageSaveError, match="already exists"):
        save_quantized(result, target)
    assert target.read_bytes() == b"precious"
    save_quantized(result, target, overwrite=True)
    np.testing.assert_array_equal(read_back(target, "RGB"), result.image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.png"]


def test_input_is_never_overwritten_unless_forced(tmp_path, photo):
    src_path = tmp_path / "in.png"
    src_path.write_bytes(encode(photo, "PNG"))
    before = src_path.read_bytes()
    src = load_image(src_path)
    result = quantize(src.pixels, 4)
    with pytest.raises(ImageSaveError, match="input"):
        save_quantized(result, tmp_path / "." / "in.png", source=src)
    assert src_path.read_bytes() == before
    save_quantized(result, src_path, source=src, overwrite=True)
    np.testing.assert_array_equal(read_back(src_path, "RGB"), result.image)


def test_saved_file_gets_ordinary_permissions(tmp_path, photo):
    saved = save_quantized(quantize(photo, 4), tmp_path / "q.png")
    # The temporary file is private (0600); the final one must be readable like any other.
    assert saved.path.stat().st_mode & 0o044 == 0o044


def test_failure_while_writing_leaves_nothing_and_keeps_the_old_file(tmp_path, photo, monkeypatch):
    target = tmp_path / "q.png"
    target.write_bytes(b"old")

    def disk_full(fd):
        # Reached after every byte went to the temporary file: the disk fills on flushing.
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ImageSaveError) as err:
        save_quantized(quantize(photo, 4), target, overwrite=True)
    assert "disk is full" in str(err.value) and "q.png" in str(err.value)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["q.png"]


def test_missing_folder_is_a_clear_error(tmp_path, photo):
    with pytest.raises(ImageSaveError, match="does not exist"):
        save_quantized(quantize(photo, 4), tmp_path / "no" / "such" / "q.png")


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nothing can be written to: by permissions, or for root a read-only mount."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    # root ignores permission bits; a read-only tmpfs stops it too.
    mount = ["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(folder)]
    if subprocess.run(mount, capture_output=True, check=False).returncode:
        pytest.skip("running as root without permission to mount a read-only file system")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_read_only_folder_is_a_clear_error_and_leaves_nothing(read_only_folder, photo):
    with pytest.raises(ImageSaveError) as err:
        save_quantized(quantize(photo, 4), read_only_folder / "q.png")
    message = str(err.value)
    assert "cannot write to the folder" in message and str(read_only_folder) in message
    assert "read-only" in message or "permission denied" in message
    assert list(read_only_folder.iterdir()) == []


def test_refused_temporary_file_is_a_clear_error(tmp_path, photo, monkeypatch):
    # What a read-only or foreign folder does on any machine, whoever runs the tests.
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.raises(ImageSaveError, match="permission denied"):
        save_quantized(quantize(photo, 4), tmp_path / "q.png")
    assert list(tmp_path.iterdir()) == []


# ----- size estimate --------------------------------------------------------------------------


def test_estimate_is_exact_for_small_images(tmp_path, photo):
    result = quantize(photo, 16)
    saved = save_quantized(result, tmp_path / "q.png")
    assert estimate_png_size(result) == saved.size


def test_estimate_of_a_large_image_is_close(tmp_path):
    from sklearn.datasets import load_sample_image

    result = quantize(load_sample_image("flower.jpg"), 16)
    saved = save_quantized(result, tmp_path / "q.png")
    # 60,000 of 273,280 pixels are encoded, in bands spread over the image.
    estimate = estimate_png_size(result, max_pixels=60_000)
    assert abs(estimate - saved.size) / saved.size < 0.1


def rgba_with_256_colours(transparent: np.ndarray) -> np.ndarray:
    """16 x 256 pixels, each column its own colour, alpha 0 where ``transparent`` is True."""
    i = np.arange(256)
    colours = np.stack([i, (i * 7) % 256, (i * 13) % 256], axis=1).astype(np.uint8)
    rgb = np.repeat(colours[None], 16, axis=0)
    return np.dstack([rgb, np.where(transparent, 0, 255).astype(np.uint8)])


def test_gif_with_256_entries_keeps_transparency_on_its_own_entry(tmp_path):
    clear = np.zeros((16, 256), bool)
    clear[:4, :64] = True
    result = quantize(rgba_with_256_colours(clear), 256)
    assert result.palette.shape[0] == 256 and result.transparent_index is not None
    saved = save_quantized(result, tmp_path / "t.gif")
    assert saved.notes == ()
    with Image.open(saved.path) as im:
        assert im.info["transparency"] == result.transparent_index
        assert len(im.getpalette()) == 3 * 256
    np.testing.assert_array_equal(read_back(saved.path, "RGBA")[..., 3] == 0, clear)


def test_gif_with_256_rgba_entries_keeps_binary_transparency(tmp_path):
    # Half-transparent pixels get entries of their own in an RGBA palette (k=256 holds them):
    # GIF makes the faint ones (alpha < 128) its transparent index, without a 257th entry.
    pixels = rgba_with_256_colours(np.zeros((16, 256), bool))
    pixels[:4, :, 3] = 100
    result = quantize(pixels, 256)
    assert result.palette.shape == (256, 4)
    saved = save_quantized(result, tmp_path / "t.gif")
    assert len(saved.notes) == 1 and "partial transparency" in saved.notes[0]
    with Image.open(saved.path) as im:
        assert "transparency" in im.info
        back = np.asarray(im.convert("RGBA"))
    faint = result.image[..., 3] < 128
    assert faint[:4].all() and not faint[4:].any()
    assert (back[faint, 3] == 0).all() and (back[~faint, 3] == 255).all()
    np.testing.assert_array_equal(back[~faint, :3], result.image[~faint, :3])

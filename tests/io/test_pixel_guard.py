"""Pillow's bomb guard while a file loads: our limit, scoped, restored, shared by threads;
and failures: Pillow's are a refusal, our own bugs propagate."""

from __future__ import annotations

import struct
import threading
from pathlib import Path

import numpy as np
import pytest
from _images import encode, png_header_only
from PIL import Image, ImageFile

from kquant_gui.image_io import ImageLoadError, load_image
from kquant_gui.image_io import load as load_module

#: Safety net for the thread tests: a wait that long means a deadlock, not slowness.
DEADLOCK_S = 60


@pytest.fixture
def png(tmp_path, photo) -> Path:
    path = tmp_path / "a.png"
    path.write_bytes(encode(photo, "PNG"))
    return path


@pytest.fixture
def guard_seen(monkeypatch) -> list[int | None]:
    """Pillow's guard as each Image.open call sees it."""
    seen: list[int | None] = []
    real_open = Image.open

    def spy(*args, **kwargs):
        seen.append(Image.MAX_IMAGE_PIXELS)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    return seen


def test_pillow_guard_holds_our_limit_while_loading_and_is_restored(png, guard_seen):
    before = Image.MAX_IMAGE_PIXELS
    load_image(png, max_pixels=1_000_000)
    load_image(png, max_pixels=3_000_001)
    # Pillow refuses above twice its value: half our limit (rounded up) refuses what we refuse.
    assert guard_seen == [500_000, 1_500_001]
    assert before == Image.MAX_IMAGE_PIXELS


def test_pillow_guard_is_restored_after_a_refusal(tmp_path, png, guard_seen):
    before = Image.MAX_IMAGE_PIXELS
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_header_only(3000, 3000))
    text = tmp_path / "text.png"
    text.write_bytes(b"not an image at all\n" * 10)
    for path, max_pixels in ((huge, 1_000_000), (text, 1_000_000), (png, 100)):
        with pytest.raises(ImageLoadError):
            load_image(path, max_pixels=max_pixels)
        assert before == Image.MAX_IMAGE_PIXELS
    assert guard_seen == [500_000, 500_000, 50]


def test_pillow_guard_is_never_switched_off_while_loading(png, guard_seen, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # someone else switched it off
    load_image(png)
    assert guard_seen == [100_000_000]
    assert Image.MAX_IMAGE_PIXELS is None  # and theirs is put back


def blocking_open(monkeypatch, block: str):
    """Patch Image.open so opening a file named ``block`` waits; returns (entered, release,
    seen) where seen maps file names to the guard their open saw on entry and on leaving."""
    entered, release = threading.Event(), threading.Event()
    seen: dict[str, tuple[int | None, int | None]] = {}
    real_open = Image.open

    def spy(fp, *args, **kwargs):
        name = Path(fp).name
        on_entry = Image.MAX_IMAGE_PIXELS
        if name == block:
            entered.set()
            assert release.wait(DEADLOCK_S)
        seen[name] = (on_entry, Image.MAX_IMAGE_PIXELS)
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    return entered, release, seen


def test_two_threads_with_the_same_limit_share_the_guard(tmp_path, photo, monkeypatch):
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(encode(photo, "PNG"))
    before = Image.MAX_IMAGE_PIXELS
    entered, release, seen = blocking_open(monkeypatch, "a.png")
    results: dict[str, object] = {}

    def load(name: str) -> None:
        try:
            results[name] = load_image(tmp_path / name, max_pixels=2_000_000)
        except BaseException as exc:  # reported by the assertions below
            results[name] = exc

    a = threading.Thread(target=load, args=("a.png",))
    a.start()
    assert entered.wait(DEADLOCK_S)
    load("b.png")  # in this thread, while a.png is still being opened
    # b.png's load is over, a.png's is not: the guard must still hold the limit for a.png.
    assert Image.MAX_IMAGE_PIXELS == 1_000_000
    release.set()
    a.join(DEADLOCK_S)
    assert not a.is_alive()
    assert seen == {"a.png": (1_000_000, 1_000_000), "b.png": (1_000_000, 1_000_000)}
    for name in ("a.png", "b.png"):
        np.testing.assert_array_equal(results[name].pixels, photo)
    assert before == Image.MAX_IMAGE_PIXELS


def test_a_thread_with_another_limit_waits_for_the_guard(tmp_path, photo, monkeypatch):
    for name in ("a.png", "c.png"):
        (tmp_path / name).write_bytes(encode(photo, "PNG"))
    before = Image.MAX_IMAGE_PIXELS
    entered, release, seen = blocking_open(monkeypatch, "a.png")
    errors: list[BaseException] = []

    def load(name: str, max_pixels: int) -> None:
        try:
            load_image(tmp_path / name, max_pixels=max_pixels)
        except BaseException as exc:
            errors.append(exc)

    a = threading.Thread(target=load, args=("a.png", 2_000_000))
    c = threading.Thread(target=load, args=("c.png", 8_000_000))
    a.start()
    assert entered.wait(DEADLOCK_S)
    c.start()
    release.set()
    for t in (a, c):
        t.join(DEADLOCK_S)
        assert not t.is_alive()
    assert errors == []
    # Each open saw its own limit from start to end: c.png never changed a.png's guard.
    assert seen == {"a.png": (1_000_000, 1_000_000), "c.png": (4_000_000, 4_000_000)}
    assert before == Image.MAX_IMAGE_PIXELS


def ico_holding(png_data: bytes, side: int = 256) -> bytes:
    """An ICO file whose one ``side`` x ``side`` entry is the PNG ``png_data`` (whatever size
    that claims)."""
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", side % 256, side % 256, 0, 0, 1, 32, len(png_data), 22)
    return header + entry + png_data


def test_an_icon_holding_a_huge_image_is_refused_before_decoding_it(tmp_path, monkeypatch):
    # The ICO says 256 x 256; the PNG inside claims 3000 x 3000. Pillow decodes it inside
    # Image.open, before our own check sees any size: its guard must hold our limit then.
    path = tmp_path / "bomb.ico"
    path.write_bytes(ico_holding(png_header_only(3000, 3000)))
    decoded: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def spy(self):
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    refused = r"too large: .*9 megapixels, more than the limit of 1"
    with pytest.raises(ImageLoadError, match=refused):
        load_image(path, max_pixels=1_000_000)
    assert (3000, 3000) not in decoded


def test_an_icon_within_the_limit_loads(tmp_path):
    icon = np.zeros((32, 32, 4), np.uint8)
    icon[8:24, 8:24] = (200, 30, 60, 255)
    path = tmp_path / "ok.ico"
    path.write_bytes(ico_holding(encode(icon, "PNG"), side=32))
    np.testing.assert_array_equal(load_image(path).pixels, icon)


@pytest.mark.parametrize("bug", [TypeError, IndexError, ValueError, OSError])
def test_our_own_bug_propagates_rather_than_blaming_the_file(png, monkeypatch, bug):
    def broken(im):
        raise bug("a bug of ours")

    monkeypatch.setattr(load_module, "to_uint8", broken)
    with pytest.raises(bug, match="a bug of ours"):
        load_image(png)


@pytest.mark.parametrize("raised", [TypeError, IndexError, KeyError])
def test_what_pillow_raises_for_a_bad_file_is_a_refusal(png, monkeypatch, raised):
    # A decoder that trips over damaged data, raising from inside Pillow's own code.
    pillow = {"__name__": "PIL.ImageFile", "raised": raised}
    exec("def load(self):\n    raise raised('tile extends beyond the data')", pillow)
    monkeypatch.setattr(ImageFile.ImageFile, "load", pillow["load"])
    with pytest.raises(ImageLoadError, match="damaged"):
        load_image(png)


def test_a_refusal_is_logged_for_maintainers(tmp_path, caplog):
    path = tmp_path / "text.png"
    path.write_bytes(b"not an image at all\n" * 10)
    with (
        caplog.at_level("DEBUG", logger="kquant_gui.image_io.load"),
        pytest.raises(ImageLoadError),
    ):
        load_image(path)
    (record,) = caplog.records
    assert str(path) in record.getMessage() and "UnidentifiedImageError" in record.getMessage()

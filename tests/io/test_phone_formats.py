"""Photos as phones and browsers write them: HEIC read through pi-heif (written here by
pillow-heif), AVIF through Pillow, and the Open dialog offering only what really opens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

from kquant_gui.image_io import load_image, readable_extensions


def _photo() -> np.ndarray:
    y, x = np.mgrid[0:48, 0:64]
    return np.dstack([x * 4, y * 5, np.full_like(x, 120)]).astype(np.uint8)


def test_a_heic_written_by_pillow_heif_opens(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pixels = _photo()
    path = tmp_path / "IMG_0001.HEIC"
    pillow_heif.from_pillow(Image.fromarray(pixels)).save(path, quality=95)
    loaded = load_image(path)
    assert loaded.pixels.shape == (48, 64, 3)
    # Lossy, but the same picture: close on average.
    assert np.abs(loaded.pixels.astype(int) - pixels).mean() < 4


def test_an_avif_opens_when_pillow_has_libavif(tmp_path: Path) -> None:
    if not features.check("avif"):
        pytest.skip("this Pillow was built without libavif")
    pixels = _photo()
    path = tmp_path / "photo.avif"
    Image.fromarray(pixels).save(path, quality=95)
    loaded = load_image(path)
    assert loaded.pixels.shape == (48, 64, 3)
    assert np.abs(loaded.pixels.astype(int) - pixels).mean() < 4


def test_heic_is_offered_only_when_it_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pillow_heif")
    assert {".heic", ".heif", ".png", ".jpg"} <= readable_extensions()
    from kquant_gui.gui import file_formats  # Qt-free module

    monkeypatch.setattr(file_formats, "readable_extensions", lambda: frozenset({".png"}))
    assert file_formats.open_filter() == "Images (*.png);;All files (*)"


def test_avif_is_offered_only_with_its_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    real_check = features.check
    monkeypatch.setattr(
        features, "check", lambda name: False if name == "avif" else real_check(name)
    )
    assert ".avif" not in readable_extensions()
    monkeypatch.setattr(features, "check", real_check)
    assert (".avif" in readable_extensions()) == bool(real_check("avif"))


def test_without_pi_heif_heic_is_not_offered() -> None:
    # A fresh interpreter in which pi-heif cannot be imported (as when not installed).
    code = (
        "import sys; sys.modules['pi_heif'] = None\n"
        "from kquant_gui.image_io import readable_extensions\n"
        "exts = readable_extensions()\n"
        "print('.heic' in exts, '.png' in exts)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "True"]

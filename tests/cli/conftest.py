"""Fixtures of the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli import make_photo
from PIL import Image


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    """Three small photo-like images (PNG, JPEG, WebP) in a folder of their own."""
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for i, ext in enumerate(["png", "jpg", "webp"]):
        p = folder / f"img{i}.{ext}"
        Image.fromarray(make_photo(i)).save(p)
        paths.append(p)
    return paths

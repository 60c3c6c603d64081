"""The icon, the sample and the .desktop file that ship with the app."""

from __future__ import annotations

import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_RESOURCES = ROOT / "kquant_gui" / "resources"
DESKTOP_FILE = ROOT / "resources" / "kquant-gui.desktop"
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
#: The flat swatches drawn in icon.svg: what the icon is about, so every size must show them.
SWATCHES = np.array(
    [[0xFF, 0x5A, 0x5F], [0xFF, 0xB7, 0x03], [0x2E, 0xC4, 0xB6], [0x3A, 0x86, 0xFF]]
)


def _desktop_entry(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


def _closest_swatch_distance(rgba: np.ndarray) -> np.ndarray:
    """Per swatch, the RGB distance to the nearest opaque pixel of the icon."""
    opaque = rgba[rgba[..., 3] == 255][:, :3].astype(int)
    return np.sqrt(((opaque[None, :, :] - SWATCHES[:, None, :]) ** 2).sum(-1)).min(axis=1)


@pytest.mark.parametrize("size", PNG_SIZES)
def test_icon_png_is_the_square_tile_with_the_four_swatches(size: int) -> None:
    with Image.open(PACKAGE_RESOURCES / "icons" / f"kquant-gui-{size}.png") as im:
        assert im.format == "PNG"
        assert im.size == (size, size)
        rgba = np.asarray(im.convert("RGBA"))
    assert rgba[0, 0, 3] == 0, "the rounded corner must be transparent"
    assert rgba[size // 2, size // 2, 3] == 255, "the tile must be opaque"
    # Small sizes blend swatch edges into the tile; each colour must still be recognisable.
    assert _closest_swatch_distance(rgba).max() <= (40 if size < 32 else 3)


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="rsvg-convert not installed")
@pytest.mark.parametrize("size", [16, 64, 256])
def test_icon_pngs_are_current_renders_of_the_svg(size: int) -> None:
    """Editing icon.svg without re-running resources/render_icons.py fails here."""
    rendered = subprocess.run(
        ["rsvg-convert", "-w", str(size), "-h", str(size), str(PACKAGE_RESOURCES / "icon.svg")],
        check=True,
        capture_output=True,
    ).stdout
    fresh = np.asarray(Image.open(BytesIO(rendered)).convert("RGBA"), dtype=int)
    with Image.open(PACKAGE_RESOURCES / "icons" / f"kquant-gui-{size}.png") as im:
        committed = np.asarray(im.convert("RGBA"), dtype=int)
    assert np.abs(fresh - committed).max() <= 2


def test_windows_ico_and_macos_icns_hold_the_sizes_each_platform_picks() -> None:
    with Image.open(ROOT / "resources" / "kquant-gui.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(ROOT / "resources" / "kquant-gui.icns") as icns:
        assert {(16, 16, 2), (128, 128, 1), (512, 512, 2)} <= set(icns.info["sizes"])
        icns.size = (512, 512)
        icns.load()
        assert _closest_swatch_distance(np.asarray(icns.convert("RGBA"))).max() <= 3


def test_sample_is_a_colour_photo_the_app_can_open() -> None:
    from kquant_gui.image_io import load_image

    pixels = load_image(PACKAGE_RESOURCES / "sample.jpg").pixels
    assert pixels.shape == (512, 512, 3)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10_000


@pytest.mark.parametrize("name", ["icon.svg", "sample.jpg"])
def test_top_level_resources_point_at_the_packaged_files(name: str) -> None:
    pointer = ROOT / "resources" / name
    if not pointer.is_symlink():
        pytest.skip("checkout without symlinks (Windows core.symlinks=false)")
    assert pointer.resolve() == (PACKAGE_RESOURCES / name).resolve()


def test_desktop_entry_opens_images_with_the_app() -> None:
    entry = _desktop_entry(DESKTOP_FILE)
    assert entry["Type"] == "Application"
    assert entry["Icon"] == "kquant-gui"
    assert entry["Exec"].endswith(" %f"), "a double-clicked file must reach the app"
    mime_types = set(entry["MimeType"].rstrip(";").split(";"))
    assert {"image/png", "image/jpeg", "image/tiff", "image/webp", "image/gif"} <= mime_types
    assert "Graphics" in entry["Categories"].split(";")


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed"
)
def test_desktop_file_passes_desktop_file_validate() -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(DESKTOP_FILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""

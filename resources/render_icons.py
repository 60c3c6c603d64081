"""Render every icon file from the one SVG source.

Run from the repository root after editing ``kquant_gui/resources/icon.svg``::

    python resources/render_icons.py

It needs ``rsvg-convert`` (Debian/Ubuntu: ``apt-get install librsvg2-bin``; macOS:
``brew install librsvg``) and Pillow. The outputs are committed, so building or installing the
app never needs either tool.

Outputs
-------
kquant_gui/resources/icons/kquant-gui-<N>.png
    N x N PNGs for N in ``PNG_SIZES``: the window icon at runtime and the freedesktop hicolor
    theme icons that ``make install-desktop`` installs.
resources/kquant-gui.ico
    Windows executable icon (PyInstaller ``icon=``), holding the sizes in ``ICO_SIZES``.
resources/kquant-gui.icns
    macOS app bundle icon (PyInstaller ``BUNDLE(icon=...)``), sizes 16 to 1024.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "kquant_gui" / "resources" / "icon.svg"
PNG_DIR = ROOT / "kquant_gui" / "resources" / "icons"
ICO = ROOT / "resources" / "kquant-gui.ico"
ICNS = ROOT / "resources" / "kquant-gui.icns"

#: The hicolor theme's usual fixed sizes; 22 and 24 are what panels and menus ask for.
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
#: Windows Explorer picks from these; 256 is stored PNG-compressed by Pillow.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: Every size an .icns can carry (Pillow writes the retina variants from the same list).
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def render(size: int) -> Image.Image:
    """Rasterise the SVG at ``size`` x ``size`` with librsvg (not by scaling a large PNG).

    Rendering each size from the vector keeps edges sharp at 16 px, where a downscale blurs.
    """
    png = subprocess.run(
        ["rsvg-convert", "-w", str(size), "-h", str(size), str(SVG)],
        check=True,
        capture_output=True,
    ).stdout
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGBA")


def main() -> int:
    """Write all PNG sizes, the .ico and the .icns; print what was written."""
    if shutil.which("rsvg-convert") is None:
        print("render_icons: rsvg-convert not found; install librsvg2-bin", file=sys.stderr)
        return 1
    sizes = sorted(set(PNG_SIZES) | set(ICO_SIZES) | set(ICNS_SIZES))
    images = {size: render(size) for size in sizes}

    PNG_DIR.mkdir(parents=True, exist_ok=True)
    for stale in PNG_DIR.glob("kquant-gui-*.png"):
        stale.unlink()
    for size in PNG_SIZES:
        out = PNG_DIR / f"kquant-gui-{size}.png"
        images[size].save(out, optimize=True)
        print(f"wrote {out.relative_to(ROOT)}")

    # Pillow takes the first image as the largest and the rest through append_images, so each
    # size inside the container is the sharp render of that size, not a resample.
    ico_images = [images[s] for s in sorted(ICO_SIZES, reverse=True)]
    ico_images[0].save(ICO, sizes=[(s, s) for s in ICO_SIZES], append_images=ico_images[1:])
    print(f"wrote {ICO.relative_to(ROOT)}")
    icns_images = [images[s] for s in sorted(ICNS_SIZES, reverse=True)]
    icns_images[0].save(ICNS, append_images=icns_images[1:])
    print(f"wrote {ICNS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

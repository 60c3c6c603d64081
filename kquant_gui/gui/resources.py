"""Where the window finds its bundled files (sample image, icon).

The files ship inside the package (``kquant_gui/resources/``); a source checkout also has them
under the repository's ``resources/``. Only this module knows either location.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent / "resources"
_REPO_DIR = Path(__file__).resolve().parent.parent.parent / "resources"


def _find(*names: str) -> Path | None:
    for folder in (_PACKAGE_DIR, _REPO_DIR):
        for name in names:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def sample_image_path() -> Path | None:
    """The bundled sample photo, or None when neither location has it.

    Returns
    -------
    Path or None
    """
    return _find("sample.jpg")


def icon_path() -> Path | None:
    """The scalable app icon (SVG), or None when it is missing.

    Returns
    -------
    Path or None
    """
    return _find("icon.svg")


def icon_pngs() -> list[Path]:
    """Pre-rendered PNG sizes of the app icon, smallest first (empty when absent).

    Returns
    -------
    list of Path
    """
    for folder in (_PACKAGE_DIR / "icons", _REPO_DIR / "icons"):
        pngs = [p for p in folder.glob("kquant-gui-*.png") if p.stem.rsplit("-", 1)[-1].isdigit()]
        if pngs:
            return sorted(pngs, key=lambda p: int(p.stem.rsplit("-", 1)[-1]))
    return []

"""What the window remembers between runs, stored with QSettings.

All reads are typed and validated here, so a hand-edited or stale settings file can never put
a bad value (k = 900, an unknown colour space) into the window.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSize
from PySide6.QtGui import QScreen

from kquant_gui.engine import COLOR_SPACES, DITHERS, ENGINES, K_MAX, K_MIN

from .image_canvas import BACKGROUNDS
from .theme import THEMES

ORGANIZATION = "kquant-gui"
APPLICATION = "kquant-gui"
#: Entries kept in File > Open Recent.
RECENT_MAX = 10
DEFAULT_K = 8


def default_settings() -> QSettings:
    """The user's settings file, in INI format so that ``QSettings.setPath`` can redirect it."""
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


class Preferences:
    """Typed access to the persisted settings.

    Parameters
    ----------
    settings : QSettings, optional
        Defaults to :func:`default_settings`.
    """

    def __init__(self, settings: QSettings | None = None) -> None:
        self.store = settings if settings is not None else default_settings()

    def _str(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.store.value(key, default)
        return value if isinstance(value, str) and value in allowed else default

    @property
    def k(self) -> int:
        """k, clamped to 1..256 (default 8)."""
        try:
            value = int(self.store.value("k", DEFAULT_K))
        except (TypeError, ValueError):
            return DEFAULT_K
        return min(K_MAX, max(K_MIN, value))

    @k.setter
    def k(self, value: int) -> None:
        self.store.setValue("k", int(value))

    @property
    def color_space(self) -> str:
        """One of ``kquant_gui.COLOR_SPACES`` (default "lab")."""
        return self._str("colorSpace", "lab", COLOR_SPACES)

    @color_space.setter
    def color_space(self, value: str) -> None:
        self.store.setValue("colorSpace", value)

    @property
    def dither(self) -> str:
        """One of ``kquant_gui.DITHERS`` (default "none")."""
        return self._str("dither", "none", DITHERS)

    @dither.setter
    def dither(self, value: str) -> None:
        self.store.setValue("dither", value)

    @property
    def dither_strength(self) -> float:
        """Dithering strength, 0.0 to 1.0 (default 1.0)."""
        try:
            value = float(self.store.value("ditherStrength", 1.0))
        except (TypeError, ValueError):
            return 1.0
        return min(1.0, max(0.0, value)) if value == value else 1.0  # nan -> default

    @dither_strength.setter
    def dither_strength(self, value: float) -> None:
        self.store.setValue("ditherStrength", float(value))

    @property
    def engine(self) -> str:
        """One of ``kquant_gui.ENGINES`` (default "numpy")."""
        return self._str("engine", "numpy", ENGINES)

    @engine.setter
    def engine(self, value: str) -> None:
        self.store.setValue("engine", value)

    @property
    def theme(self) -> str:
        """One of :data:`.theme.THEMES` (default "system")."""
        return self._str("theme", "system", THEMES)

    @theme.setter
    def theme(self, value: str) -> None:
        self.store.setValue("theme", value)

    @property
    def background(self) -> str:
        """What transparent pixels are shown over: one of :data:`.image_canvas.BACKGROUNDS`."""
        return self._str("background", BACKGROUNDS[0], BACKGROUNDS)

    @background.setter
    def background(self, value: str) -> None:
        self.store.setValue("background", value)

    @property
    def last_folder(self) -> str:
        """Folder of the last opened or saved file, or "" (the dialogs' start folder)."""
        value = self.store.value("lastFolder", "")
        return value if isinstance(value, str) and Path(value).is_dir() else ""

    @last_folder.setter
    def last_folder(self, value: str | Path) -> None:
        self.store.setValue("lastFolder", str(value))

    @property
    def last_save_folder(self) -> str:
        """Folder of the last file saved, or "" (Save As then proposes the original's)."""
        value = self.store.value("lastSaveFolder", "")
        return value if isinstance(value, str) and Path(value).is_dir() else ""

    @last_save_folder.setter
    def last_save_folder(self, value: str | Path) -> None:
        self.store.setValue("lastSaveFolder", str(value))

    def recent_files(self) -> list[str]:
        """Recently opened files, newest first."""
        value = self.store.value("recentFiles", [])
        if isinstance(value, str):  # QSettings returns a bare string for one-element lists
            value = [value]
        if not isinstance(value, list):
            return []
        return [v for v in value if isinstance(v, str) and v][:RECENT_MAX]

    def add_recent_file(self, path: str | Path) -> None:
        """Put ``path`` first in the recent files."""
        text = str(Path(path).resolve())
        files = [text, *(f for f in self.recent_files() if f != text)]
        self.store.setValue("recentFiles", files[:RECENT_MAX])

    def clear_recent_files(self) -> None:
        """Forget every recent file."""
        self.store.setValue("recentFiles", [])

    def bytes(self, key: str) -> QByteArray | None:
        """A saved binary state (geometry, splitter), or None."""
        value = self.store.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_bytes(self, key: str, value: QByteArray) -> None:
        """Save a binary state."""
        self.store.setValue(key, value)

    def sync(self) -> None:
        """Write to disk now."""
        self.store.sync()


def first_run_size(screen: QScreen | None) -> QSize:
    """1200x800, or 90% of the screen where that is smaller (an 800x600 or 1024x768 display).

    Without this the first window overhangs a small screen and hides the quantized view, the
    palette and the status bar behind the screen's edge.
    """
    size = QSize(1200, 800)
    if screen is not None:
        available = screen.availableGeometry().size()
        size = size.boundedTo(QSize(int(available.width() * 0.9), int(available.height() * 0.9)))
    return size

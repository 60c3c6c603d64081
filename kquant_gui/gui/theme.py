"""Colours of the window: the light/dark choice and the matching figure colours."""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

#: Theme names kept in the settings; "system" leaves Qt's own choice alone.
THEMES = ("system", "light", "dark")


def figure_colors(palette: QPalette) -> tuple[str, str, str]:
    """Background, text and accent colours for matplotlib, taken from a widget palette.

    The figures sit on the panel colour (a shade off the window colour) so that a white or
    black image edge stays visible on either theme.

    Returns
    -------
    (background, foreground, accent) : tuple of str
        ``#rrggbb`` strings.
    """
    window = palette.color(QPalette.ColorRole.Window)
    dark = window.lightnessF() < 0.5
    background = window.lighter(118) if dark else window.darker(108)
    return (
        background.name(),
        palette.color(QPalette.ColorRole.WindowText).name(),
        palette.color(QPalette.ColorRole.Highlight).name(),
    )


def is_dark(palette: QPalette) -> bool:
    """True when the palette's window colour is dark."""
    return palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5


def dark_palette() -> QPalette:
    """A neutral dark palette for the Fusion style."""
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 48), QColor(222, 224, 227)
    disabled = QColor(120, 122, 126)
    p.setColor(role.Window, window)
    p.setColor(role.WindowText, text)
    p.setColor(role.Base, base)
    p.setColor(role.AlternateBase, QColor(50, 52, 56))
    p.setColor(role.ToolTipBase, QColor(60, 63, 65))
    p.setColor(role.ToolTipText, text)
    p.setColor(role.PlaceholderText, disabled)
    p.setColor(role.Text, text)
    # Buttons, spin-box arrow buttons and the slider groove (Fusion draws it from Button)
    # stand clearly off the window colour; with Button close to Window they vanished.
    p.setColor(role.Button, QColor(74, 77, 82))
    # A shade brighter than other text: the spin-box arrows drawn in it reach 4.5:1 on the
    # button colour (see .control_style).
    p.setColor(role.ButtonText, QColor(238, 240, 243))
    p.setColor(role.BrightText, QColor(255, 100, 100))
    p.setColor(role.Light, QColor(104, 107, 112))
    p.setColor(role.Midlight, QColor(88, 91, 96))
    p.setColor(role.Mid, QColor(36, 38, 41))
    p.setColor(role.Dark, QColor(25, 26, 28))
    p.setColor(role.Shadow, QColor(10, 10, 10))
    p.setColor(role.Link, QColor(90, 160, 255))
    p.setColor(role.Highlight, QColor(53, 132, 228))
    p.setColor(role.HighlightedText, QColor(255, 255, 255))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, disabled)
    return p


def apply_theme(name: str) -> None:
    """Switch the running application to ``name`` (one of :data:`THEMES`).

    "light" and "dark" use the Fusion style, which draws the same on every platform (with
    clearer spin-box arrows and slider track, see :mod:`.control_style`);
    "system" restores the style's own palette (dark when the desktop asks for it).
    """
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    if name not in THEMES:
        name = "system"
    if name == "system":
        app.setPalette(app.style().standardPalette())
        return
    from .control_style import ClearFusionStyle

    app.setStyle(ClearFusionStyle())
    app.setPalette(dark_palette() if name == "dark" else app.style().standardPalette())


def system_prefers_dark() -> bool:
    """True when the desktop asks for a dark colour scheme (Qt 6.5+)."""
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is None:
        return False
    from PySide6.QtCore import Qt

    return scheme() == Qt.ColorScheme.Dark

"""`kquant-gui IMAGE --theme T`: the entry point sets up the app, shows the window, opens IMAGE."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from qt_support import Messages

from kquant_gui import __version__
from kquant_gui.gui import app as app_module
from kquant_gui.gui.control_style import ClearFusionStyle
from kquant_gui.gui.main_window import MainWindow

TIMEOUT_MS = 20_000


@pytest.fixture
def restored_app(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch, messages: Messages
) -> Iterator[QApplication]:
    """The application as main() leaves it, put back afterwards: style, palette, icon, hook.

    Message boxes are recorded, not shown: main() installs a hook that reports an unexpected
    error in a modal box, which would block the test's event loop.
    """
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    style, palette, icon = qapp.style().name(), qapp.palette(), qapp.windowIcon()
    names = qapp.applicationName(), qapp.organizationName(), qapp.desktopFileName()
    yield qapp
    gc.unfreeze()  # main() leaves its start-up objects out of collections: not the suite's
    assert messages.warnings == []
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setWindowIcon(icon)
    qapp.setApplicationName(names[0])
    qapp.setOrganizationName(names[1])
    qapp.setDesktopFileName(names[2])


def _run_until_measured(
    app: QApplication, qtbot: object, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> tuple[int, dict[str, object]]:
    """Run main(argv); its event loop is qtbot's, left once the window shows a measured result.

    A real ``app.exec()`` ended by ``quit()`` would emit ``aboutToQuit`` for the whole session.
    """
    seen: dict[str, object] = {}

    def measured_windows() -> list[MainWindow]:
        return [
            w
            for w in app.topLevelWidgets()
            if isinstance(w, MainWindow) and w.isVisible() and w.measured is not None
        ]

    def exec_until_measured(_app: QApplication) -> int:
        # Closed only once measured too: nothing is left queued for a closed window.
        qtbot.waitUntil(lambda: bool(measured_windows()), timeout=TIMEOUT_MS)
        window = measured_windows()[0]
        seen.update(
            source=window.source.path if window.source is not None else None,
            theme=window.prefs.theme,
            hook=sys.excepthook,
            frozen=gc.get_freeze_count(),
        )
        window.close()
        window.deleteLater()
        return 0

    monkeypatch.setattr(type(app), "exec", exec_until_measured)
    return app_module.main(argv), seen


def test_main_shows_the_window_on_the_image_with_the_theme(
    restored_app, qtbot, monkeypatch, photo_file: Path
):
    argv = [str(photo_file), "--theme", "dark"]
    code, seen = _run_until_measured(restored_app, qtbot, monkeypatch, argv)
    assert code == 0
    assert seen["source"] == photo_file
    # Fusion, behind the proxy that draws its spin-box arrows and slider track clearly.
    assert seen["theme"] == "dark" and isinstance(restored_app.style(), ClearFusionStyle)
    assert restored_app.style().baseStyle().name().lower() == "fusion"
    assert seen["hook"] is app_module._show_unexpected
    # The window's start-up objects are out of the collector's way (see settle_startup_objects).
    assert seen["frozen"] > 10_000
    assert restored_app.applicationVersion() == __version__
    assert not restored_app.windowIcon().isNull()


def test_main_without_an_image_opens_the_bundled_sample(restored_app, qtbot, monkeypatch):
    from kquant_gui.gui.resources import sample_image_path

    code, seen = _run_until_measured(restored_app, qtbot, monkeypatch, [])
    assert code == 0 and seen["source"] == sample_image_path()

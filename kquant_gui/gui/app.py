"""The ``kquant-gui`` command: parse the arguments, set up Qt, show the window."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from kquant_gui import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kquant-gui",
        description="Reduce a photo to k colours with k-means and compare it with the original.",
    )
    parser.add_argument(
        "image",
        nargs="?",
        type=Path,
        help="image to open (default: the bundled sample photo)",
    )
    parser.add_argument(
        "--theme",
        choices=("system", "light", "dark"),
        help="colour theme for this and later runs (default: the last one chosen)",
    )
    parser.add_argument("--version", action="version", version=f"kquant-gui {__version__}")
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="check that the installed app starts, then exit (0 = ok)",
    )
    return parser


def _configure_logging() -> None:
    """Log to stderr at the level named by ``KQUANT_LOG`` (``debug``, ``info``; default
    ``warning``), so that a maintainer can see what the window does without a debugger."""
    name = os.environ.get("KQUANT_LOG", "warning").strip().upper()
    level = logging.getLevelName(name)
    logger = logging.getLogger("kquant_gui")
    logger.setLevel(level if isinstance(level, int) else logging.WARNING)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


def _show_unexpected(
    kind: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """Last-resort exception hook: print the traceback, tell the user, keep the window open."""
    traceback.print_exception(kind, exc, tb)
    if issubclass(kind, KeyboardInterrupt):
        return
    from PySide6.QtWidgets import QApplication, QMessageBox

    if QApplication.instance() is not None:
        QMessageBox.critical(
            None,
            "kquant-gui: unexpected error",
            f"Something went wrong: {exc}\n\nThe window stays usable; details are printed on "
            "the terminal.",
        )


def install_file_open_handler(app: object, open_path: Callable[[Path], object]) -> object:
    """Route ``QFileOpenEvent`` to ``open_path``.

    On macOS, an image opened from Finder or dropped on the Dock icon reaches a running app as
    a file-open event, not as a command-line argument.

    Returns
    -------
    QObject
        The event filter; keep a reference to it for as long as it should work.
    """
    from PySide6.QtCore import QEvent, QObject

    class FileOpenFilter(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.FileOpen:
                name = event.file()  # type: ignore[attr-defined]
                if name:
                    open_path(Path(name))
                    return True
            return super().eventFilter(watched, event)

    handler = FileOpenFilter(app)  # parented to the app, so Qt keeps it alive too
    app.installEventFilter(handler)  # type: ignore[attr-defined]
    return handler


def settle_startup_objects() -> None:
    """Leave the objects made at start-up out of later garbage collections.

    The window, its figures and the modules behind them are ~100,000 objects that live as
    long as the app. Python's full collections walk every object, on whichever thread
    allocates when one is due, most often the main thread: with the window built, one took
    ~105 ms, a visible stall; with those objects frozen (:func:`gc.freeze`), ~30 ms. The
    application's entry point owns its process, so it decides this there; the window itself
    and the engine leave the collector as they find it.
    """
    gc.collect()
    gc.freeze()


def main(argv: list[str] | None = None) -> int:
    """Run the window; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.
    """
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.smoke_test:
        from kquant_gui.gui.smoke import run_smoke_test

        return run_smoke_test()
    _configure_logging()

    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    from .resources import icon_path, icon_pngs, sample_image_path

    # Exact scale factors (1.25, 1.5) instead of rounding: crisp images on fractional HiDPI.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "kquant-gui"])
    app.setApplicationName("kquant-gui")
    app.setOrganizationName("kquant-gui")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("kquant-gui")
    icon = QIcon()
    for png in icon_pngs():
        icon.addFile(str(png))
    svg = icon_path()
    if svg is not None:
        icon.addFile(str(svg))
    if not icon.isNull():
        app.setWindowIcon(icon)
    sys.excepthook = _show_unexpected

    from .main_window import MainWindow

    window = MainWindow()
    if sys.platform == "darwin":
        # Only macOS sends file-open events; elsewhere an application-wide filter would only
        # cost a call into Python for every event of the window.
        install_file_open_handler(app, window.open_path)
    if args.theme:
        window.set_theme(args.theme)
    window.show()
    settle_startup_objects()
    image = args.image if args.image is not None else sample_image_path()
    if image is not None:
        window.open_path(image)
    return app.exec()

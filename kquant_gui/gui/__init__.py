"""The desktop window; the only package of kquant-gui that imports Qt.

``MainWindow`` is imported on first use, so that ``kquant-gui --version`` and the smoke test
do not pay for matplotlib and the widgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["MainWindow"]


def __getattr__(name: str) -> Any:
    if name == "MainWindow":
        from .main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

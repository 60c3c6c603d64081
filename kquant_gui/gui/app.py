"""Entry point of the ``kquant-gui`` window (minimal until the GUI issue lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Open the main window."""
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    label = QLabel("kquant-gui")
    label.show()
    return app.exec()

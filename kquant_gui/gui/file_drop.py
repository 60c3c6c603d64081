"""Files dropped on the window: a drag of local files is accepted, anything else refused.

An event filter rather than the window's own drag handlers, so that the window module keeps
to layout and wiring; the drop turns into a list of paths and one call (a thin handler).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget


def local_files(urls: list[QUrl]) -> list[Path]:
    """The local files among dragged ``urls``."""
    return [p for p in map(_local_path, urls) if p is not None]


def _local_path(url: QUrl) -> Path | None:
    """The file a dropped URL names, byte for byte.

    Qt decodes a URL's path as UTF-8 and replaces what is not: a file whose name is not UTF-8
    would become another name, of no file. On POSIX the percent-encoded bytes are decoded as
    the file system does (undecodable bytes kept as surrogates, shown escaped).
    """
    if not url.isLocalFile() or not url.toLocalFile():
        return None
    if os.name == "posix" and not url.host():
        encoded = url.path(QUrl.ComponentFormattingOption.FullyEncoded)
        return Path(os.fsdecode(urllib.parse.unquote_to_bytes(encoded)))
    return Path(url.toLocalFile())


class FileDrop(QObject):
    """Accept drags of local files onto ``target`` and pass dropped paths to ``open_paths``."""

    def __init__(self, target: QWidget, open_paths: Callable[[list[Path]], None]) -> None:
        super().__init__(target)
        self.open_paths = open_paths
        target.setAcceptDrops(True)
        target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, (QDragEnterEvent, QDragMoveEvent)):
            if local_files(event.mimeData().urls()):
                event.acceptProposedAction()
            else:
                event.ignore()
            return True
        if isinstance(event, QDropEvent) and event.type() == QEvent.Type.Drop:
            paths = local_files(event.mimeData().urls())
            event.acceptProposedAction()
            self.open_paths(paths)
            return True
        return False

"""The two error types of image I/O, and plain words for the operating system's errors.

:class:`ImageLoadError` and :class:`ImageSaveError` carry a message that names the file and gives
a human reason; callers show ``str(error)`` as is.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..names import printable_name

__all__ = ["ImageIOError", "ImageLoadError", "ImageSaveError", "os_reason"]


class ImageIOError(Exception):
    """A file could not be read or written; ``str()`` is a complete message for the user.

    Attributes
    ----------
    path : pathlib.Path
        The file concerned.
    reason : str
        Why, in plain words (no Pillow internals).
    """

    def __init__(self, path: os.PathLike[str] | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        # Escaped: a name that is not UTF-8, or holds control characters, prints as it is.
        super().__init__(f"{printable_name(self.path)}: {reason}")


class ImageLoadError(ImageIOError):
    """An image file could not be opened: missing, not an image, damaged or too large."""


class ImageSaveError(ImageIOError):
    """An image or palette file could not be written; nothing was left behind."""


def os_reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno == errno.ENOENT:
        return "no such file or folder"
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    if exc.errno == errno.EISDIR:
        return "is a folder"
    return (exc.strerror or str(exc)).rstrip(".").lower()

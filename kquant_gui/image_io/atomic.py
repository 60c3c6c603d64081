"""Writing a file atomically: a temporary file in the same folder, fsync, then rename.

A failure never leaves a partial file behind, and an existing target is unchanged. Used for
images (:mod:`.save`) and palette files alike.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .errors import ImageSaveError, os_reason

__all__ = ["write_atomically"]

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def write_atomically(
    path: os.PathLike[str] | str,
    write: Callable[[IO[bytes]], Any],
    *,
    overwrite: bool = False,
    protect: os.PathLike[str] | str | None = None,
) -> int:
    """Write a file through a temporary file in the same folder, then rename it into place.

    Parameters
    ----------
    path : str or os.PathLike
        Target file.
    write : callable(file)
        Writes the content to the open binary file it is given.
    overwrite : bool
        Replace an existing file (including ``protect``).
    protect : str or os.PathLike, optional
        A file that must not be replaced unless ``overwrite`` (the input image).

    Returns
    -------
    int
        Bytes written.

    Raises
    ------
    ImageSaveError
        The target exists (without ``overwrite``), is the protected input, or cannot be
        written; no temporary file is left behind and an existing target is unchanged.
    """
    p = Path(path)
    try:
        # These checks raise, rather than answer False, for a name longer than 255 bytes.
        if p.is_dir():
            raise ImageSaveError(p, "is a folder; give a file name")
        if not overwrite:
            if protect is not None and _same_file(p, Path(protect)):
                raise ImageSaveError(
                    p, "this is the input file; refusing to overwrite it unless forced"
                )
            if p.exists():
                raise ImageSaveError(p, "the file already exists; choose overwrite to replace it")
        folder = p.parent
        if not folder.is_dir():
            raise ImageSaveError(p, f"the folder {folder} does not exist")
    except OSError as exc:
        raise ImageSaveError(p, os_reason(exc)) from None
    # The temporary name adds about 16 bytes to the target's: a long but valid target name
    # must not fail for want of room, so then only its start is kept (30 characters are at
    # most 120 bytes in UTF-8).
    hint = p.name if len(os.fsencode(p.name)) <= 120 else p.name[:30]
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{hint}.", suffix=".part")
    except OSError as exc:
        raise ImageSaveError(p, f"cannot write to the folder {folder}: {os_reason(exc)}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            size = f.tell()
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the permissions any new file would get.
        mode = (p.stat().st_mode & 0o777) if p.exists() else (0o666 & ~_UMASK)
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ImageSaveError(p, f"cannot write the file: {os_reason(exc)}") from None
        if isinstance(exc, MemoryError):
            raise ImageSaveError(p, "not enough memory to encode the image") from None
        raise
    return size


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False

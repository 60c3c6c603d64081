"""Writing a file atomically: a temporary file in the same folder, fsync, then rename.

A failure never leaves a partial file behind, and an existing target is unchanged; without
``overwrite``, a target another program creates meanwhile is not replaced either (the rename
refuses to replace). Used for images (:mod:`.save`) and palette files alike.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .errors import ImageSaveError, os_reason

__all__ = ["discard_temp_files", "write_atomically"]

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
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=_temp_prefix(p), suffix=".part")
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
        if overwrite:
            os.replace(tmp, p)
        else:
            _publish_new(tmp, p)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise ImageSaveError(
                p, "the file already exists (written meanwhile by another program); not replaced"
            ) from None
        if isinstance(exc, OSError):
            raise ImageSaveError(p, f"cannot write the file: {os_reason(exc)}") from None
        if isinstance(exc, MemoryError):
            raise ImageSaveError(p, "not enough memory to encode the image") from None
        raise
    return size


def _temp_prefix(target: Path, pid: int | None = None) -> str:
    """Start of the temporary names for ``target`` written by process ``pid`` (default: this one).

    The writer's process id is in the name, so that a batch whose worker died can remove exactly
    what that worker left. The name adds about 25 bytes to the target's: a long but valid target
    name must not fail for want of room, so then only its start is kept (30 characters are at
    most 120 bytes in UTF-8).
    """
    hint = target.name if len(os.fsencode(target.name)) <= 120 else target.name[:30]
    return f".{hint}.{os.getpid() if pid is None else pid}."


def discard_temp_files(target: os.PathLike[str] | str, pid: int) -> None:
    """Remove the temporary files that process ``pid`` left while writing ``target``.

    For a process that was killed (SIGKILL leaves it no chance to clean up): the writer's
    temporary name is ``.<name>.<pid>.<random>.part`` beside the target.
    """
    p = Path(target)
    prefix = _temp_prefix(p, pid)
    try:
        with os.scandir(p.parent) as entries:
            for entry in entries:
                if entry.name.startswith(prefix) and entry.name.endswith(".part"):
                    Path(entry.path).unlink(missing_ok=True)
    except OSError:  # the folder is gone or unreadable: nothing of ours can be in it
        pass


def _rename_noreplace_linux() -> Callable[[Path, Path], None] | None:
    """``renameat2(RENAME_NOREPLACE)`` from the C library, or None where it is missing."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):  # glibc < 2.28, or another C library
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_noreplace = -100, 1

    def rename(src: Path, dst: Path) -> None:
        if func(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), rename_noreplace) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(src), None, str(dst))

    return rename


_renameat2 = _rename_noreplace_linux()
# Errors saying a file system cannot do a rename without replacing, or hard links.
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV}
_UNSUPPORTED |= {getattr(errno, "ENOTSUP", errno.EOPNOTSUPP), errno.EMLINK}


def _publish_new(tmp: Path, target: Path) -> None:
    """Give the finished ``tmp`` the name ``target``, failing if ``target`` now exists.

    The existence check made before writing is long past: another program (or a second
    kquant) may have created ``target`` meanwhile, and a plain rename would silently replace
    its file. Best first: an atomic rename that refuses to replace (Linux ``renameat2``;
    Windows' rename always refuses), then a hard link, which fails if the name is taken,
    followed by removing the temporary name; on file systems with neither (FAT, some network
    shares), a last check just before the rename.

    Raises
    ------
    FileExistsError
        ``target`` exists; ``tmp`` is left for the caller to remove.
    """
    if sys.platform == "win32":
        os.rename(tmp, target)  # raises FileExistsError if target exists
        return
    if _renameat2 is not None:
        try:
            _renameat2(tmp, target)
            return
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
            if exc.errno not in _UNSUPPORTED:
                raise
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
        if target.exists() or target.is_symlink():
            raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False

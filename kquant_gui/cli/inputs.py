"""The ``kquant`` command line's inputs: folders (``-r``), ``--glob`` and where outputs go.

A folder given as an input contributes its image files; with ``--recursive`` those of its
subfolders too, and each output keeps the file's folder relative to the input folder under
``--out-dir`` (``photos/2024/a.jpg`` -> ``out/2024/a-k64.png``). ``--glob`` patterns choose the
files of folders by name instead of by image extension. Files named on the command line are
always taken as they are.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from PIL import Image


@dataclass
class Expansion:
    """The files an invocation names, and the inputs that failed before any work.

    Attributes
    ----------
    files : list of Path
        Every file to process, in the order given (folders sorted by path).
    subfolders : dict of Path to PurePath
        For a file found inside a folder input, its folder relative to that input ('' when
        directly inside); files named on the command line are absent.
    empty : list of (Path, str)
        Folder inputs that gave no file, with the reason.
    any_folder : bool
        Whether some input was a folder.
    """

    files: list[Path] = field(default_factory=list)
    subfolders: dict[Path, PurePath] = field(default_factory=dict)
    empty: list[tuple[Path, str]] = field(default_factory=list)
    any_folder: bool = False


def image_extensions() -> set[str]:
    """The lower-case file extensions Pillow reads (``.jpg``, ``.png``, ...)."""
    Image.init()
    return {ext.lower() for ext in Image.registered_extensions()}


def _match_parts(parts: Sequence[str], pattern: Sequence[str]) -> bool:
    """Shell-style: each pattern part matches one path part, ``**`` any number of them."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_match_parts(parts[i:], pattern[1:]) for i in range(len(parts) + 1))
    return (
        bool(parts)
        and fnmatch.fnmatchcase(parts[0], pattern[0])
        and _match_parts(parts[1:], pattern[1:])
    )


def _matches(rel: PurePath, patterns: Sequence[str]) -> bool:
    # Case-insensitive, as file extensions are: '*.jpg' also takes a camera's IMG_0001.JPG. A
    # pattern with a '/' is matched against the path below the input folder ('*' stays within
    # one folder, '**' spans any number), else against the name alone.
    for pattern in patterns:
        parts = rel.as_posix().lower().split("/") if "/" in pattern else [rel.name.lower()]
        if _match_parts(parts, pattern.lower().strip("/").split("/")):
            return True
    return False


def _walk(folder: Path, recursive: bool, skip: Path | None) -> Iterator[Path]:
    """Files of ``folder`` (and of its subfolders when ``recursive``), sorted by path.

    Symbolic links to folders are not followed (a link back up would loop forever), and the
    folder ``skip`` (the output folder) is left out, so a second run does not take the first
    run's outputs as inputs.
    """
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.is_file():
                yield path
            elif recursive and entry.is_dir(follow_symlinks=False):
                if skip is not None and _same_folder(path, skip):
                    continue
                yield from _walk(path, recursive, skip)
        except OSError:  # vanished or unreadable while listing: not ours to report twice
            continue


def _is_dir(p: Path) -> bool:
    """Whether ``p`` is a folder; False when it cannot even be looked at (a name over 255
    bytes, a loop of links): then it is a file whose job reports the reason."""
    try:
        return p.is_dir()
    except OSError:
        return False


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def expand(
    inputs: Sequence[str],
    *,
    recursive: bool = False,
    patterns: Sequence[str] = (),
    out_dir: Path | None = None,
) -> Expansion:
    """The files behind the inputs: files as given, folders replaced by their image files.

    Parameters
    ----------
    inputs : sequence of str
        Files and folders from the command line.
    recursive : bool
        Also take the files of subfolders, at any depth.
    patterns : sequence of str
        Shell-style patterns (``*.jpg``, ``raw/*.tif``); when given, a folder's file is taken
        when it matches one, whatever its extension; else when Pillow reads its extension.
    out_dir : Path, optional
        The output folder, left out of the walk when it lies inside an input folder.

    Returns
    -------
    Expansion
    """
    exts = image_extensions()
    found = Expansion()
    for text in inputs:
        p = Path(text)
        if not _is_dir(p):
            found.files.append(p)
            continue
        found.any_folder = True
        n = 0
        for f in _walk(p, recursive, out_dir):
            rel = f.relative_to(p)
            if patterns:
                if not _matches(rel, patterns):
                    continue
            elif f.suffix.lower() not in exts:
                continue
            found.files.append(f)
            found.subfolders[f] = rel.parent
            n += 1
        if not n:
            where = "the folder and its subfolders hold" if recursive else "the folder holds"
            what = f"no file matching {' or '.join(patterns)}" if patterns else "no image files"
            found.empty.append((p, f"{p}: {where} {what}"))
    return found


def output_folder(file: Path, out_dir: Path | None, subfolders: dict[Path, PurePath]) -> Path:
    """Where the output of ``file`` goes: beside it, or under ``out_dir`` at its relative
    folder (found inside a folder input) or directly (named on the command line)."""
    if out_dir is None:
        return file.parent
    return out_dir / subfolders.get(file, PurePath())

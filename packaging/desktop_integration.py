"""Install or remove kquant-gui's freedesktop menu entry and icons for the current user.

Used by ``make install-desktop`` / ``make uninstall-desktop``; standard library only, so the
uninstall works even after the virtual environment is gone::

    python packaging/desktop_integration.py install --exec /abs/path/to/kquant-gui
    python packaging/desktop_integration.py uninstall

Files go under ``$XDG_DATA_HOME`` (default ``~/.local/share``):

- ``applications/kquant-gui.desktop`` with ``Exec`` set to the given absolute path: the menu
  entry and the "Open with" entry for image types;
- ``icons/hicolor/<N>x<N>/apps/kquant-gui.png`` and ``icons/hicolor/scalable/apps/
  kquant-gui.svg``.

Every file written, every directory created and every cache file the refresh created is listed
in ``kquant-gui/install-manifest.txt``; uninstall removes exactly those and refreshes the caches,
so the data folder is left as it was before the install.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESKTOP_SOURCE = ROOT / "resources" / "kquant-gui.desktop"
ICON_SVG = ROOT / "kquant_gui" / "resources" / "icon.svg"
ICON_PNG_DIR = ROOT / "kquant_gui" / "resources" / "icons"
APP_ID = "kquant-gui"
MANIFEST_NAME = Path(APP_ID) / "install-manifest.txt"

#: Generated indexes that desktops read; refreshed after each change. A cache is only created
#: where one is needed (applications) or refreshed where one already exists (icons): creating an
#: icon cache in a user folder would hide icons other apps add later without refreshing it.
DESKTOP_CACHE = Path("applications") / "mimeinfo.cache"
ICON_CACHE = Path("icons") / "hicolor" / "icon-theme.cache"


def data_home() -> Path:
    """``$XDG_DATA_HOME`` if it is set to an absolute path, else ``~/.local/share`` (XDG spec)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def exec_quote(path: str) -> str:
    """Quote ``path`` as one argument of a desktop entry ``Exec`` key.

    The desktop entry spec quotes arguments with reserved characters in double quotes and
    backslash-escapes ``"``, `````, ``$`` and ``\\`` inside them; the value is then escaped once
    more as a string value, which doubles every backslash.
    """
    if not re.search(r"[\s\"'\\><~|&;$*?#()`]", path):
        return path
    quoted = '"' + re.sub(r'(["`$\\])', r"\\\1", path) + '"'
    return quoted.replace("\\", "\\\\")


def desktop_entry(executable: Path) -> str:
    """The ``.desktop`` text from ``resources/`` with Exec and TryExec set to ``executable``."""
    text = DESKTOP_SOURCE.read_text(encoding="utf-8")
    exec_line = f"Exec={exec_quote(str(executable))} %f"
    text, n = re.subn(r"(?m)^Exec=.*$", lambda _: exec_line, text)
    if n != 1:
        raise SystemExit(f"{DESKTOP_SOURCE}: expected exactly one Exec= line, found {n}")
    # TryExec hides the entry if the executable is removed (e.g. the venv deleted) instead of
    # leaving a menu item that fails silently. The value is not a command line, so no quoting.
    try_exec = f"TryExec={str(executable).replace(chr(92), chr(92) * 2)}"
    return text.replace(exec_line, f"{try_exec}\n{exec_line}", 1)


def planned_files(executable: Path) -> dict[Path, bytes]:
    """Relative path under the data folder -> content, for everything ``install`` writes."""
    files: dict[Path, bytes] = {
        Path("applications") / f"{APP_ID}.desktop": desktop_entry(executable).encode("utf-8"),
        Path("icons/hicolor/scalable/apps") / f"{APP_ID}.svg": ICON_SVG.read_bytes(),
    }
    for png in sorted(ICON_PNG_DIR.glob(f"{APP_ID}-*.png")):
        size = png.stem.rsplit("-", 1)[1]
        files[Path(f"icons/hicolor/{size}x{size}/apps") / f"{APP_ID}.png"] = png.read_bytes()
    return files


def refresh_caches(home: Path) -> None:
    """Run the desktop and icon cache tools where they are installed; absence is fine."""
    applications = home / "applications"
    if applications.is_dir() and shutil.which("update-desktop-database"):
        subprocess.run(["update-desktop-database", "-q", str(applications)], check=False)
    icon_cache = home / ICON_CACHE
    if icon_cache.exists() and shutil.which("gtk-update-icon-cache"):
        subprocess.run(
            ["gtk-update-icon-cache", "-q", "-f", "-t", str(icon_cache.parent)], check=False
        )


def read_manifest(home: Path) -> list[tuple[str, Path]]:
    """Entries ``(kind, absolute path)`` of a previous install; empty if there was none."""
    manifest = home / MANIFEST_NAME
    if not manifest.is_file():
        return []
    entries = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        kind, _, path = line.partition(" ")
        # Only ever touch paths inside the data folder, whatever the manifest says.
        if kind in ("file", "dir", "cache") and Path(path).is_relative_to(home):
            entries.append((kind, Path(path)))
    return entries


def install(executable: Path, home: Path) -> list[Path]:
    """Install the menu entry and icons; return the files written.

    Re-installing is safe: the new manifest keeps what the previous install recorded (for
    example a directory it created), so uninstall still restores the original state.
    """
    executable = executable.absolute()  # the menu runs it from anywhere
    if not os.access(executable, os.X_OK):
        raise SystemExit(
            f"{executable} is not an executable file; run `make run` once or pass "
            "EXEC=/abs/path/to/kquant-gui"
        )
    previous = read_manifest(home)
    created_dirs = [p for kind, p in previous if kind == "dir"]
    created_caches = [p for kind, p in previous if kind == "cache"]
    caches_before = {home / DESKTOP_CACHE: (home / DESKTOP_CACHE).exists()}

    written = []
    files = planned_files(executable)
    files[MANIFEST_NAME] = b""  # placeholder so its folder is created (and recorded) too
    for rel, content in files.items():
        target = home / rel
        missing = [d for d in (target.parent, *target.parent.parents) if not d.exists()]
        created_dirs.extend(reversed(missing))  # outermost first, removal goes in reverse
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel != MANIFEST_NAME:
            target.write_bytes(content)
            written.append(target)

    refresh_caches(home)
    for cache, existed in caches_before.items():
        if not existed and cache.exists() and cache not in created_caches:
            created_caches.append(cache)

    lines = [f"file {p}" for p in written]
    lines += [f"cache {p}" for p in created_caches]
    lines += [f"dir {p}" for p in dict.fromkeys(created_dirs)]
    (home / MANIFEST_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def uninstall(home: Path) -> list[Path]:
    """Remove exactly what :func:`install` recorded; return the paths removed."""
    entries = read_manifest(home)
    manifest = home / MANIFEST_NAME
    removed = []
    for kind, path in entries:
        if kind == "file" and path.is_file():
            path.unlink()
            removed.append(path)
    if manifest.is_file():
        manifest.unlink()
        removed.append(manifest)
    refresh_caches(home)
    # A cache that exists only because of our install goes too; one that was there before was
    # just refreshed above and no longer lists kquant-gui.
    for kind, path in entries:
        if kind == "cache" and path.is_file():
            path.unlink()
            removed.append(path)
    for kind, path in reversed(entries):
        if kind == "dir" and path.is_dir() and not any(path.iterdir()):
            path.rmdir()
            removed.append(path)
    return removed


def main(argv: list[str] | None = None) -> int:
    """Command line: ``install --exec PATH`` or ``uninstall``, with optional ``--data-home``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("install", "uninstall"))
    parser.add_argument("--exec", dest="executable", type=Path, help="the kquant-gui to run")
    parser.add_argument("--data-home", type=Path, help="instead of $XDG_DATA_HOME")
    args = parser.parse_args(argv)
    home = args.data_home or data_home()
    if args.action == "install":
        if args.executable is None:
            parser.error("install needs --exec /abs/path/to/kquant-gui")
        written = install(args.executable, home)
        print(f"installed {len(written)} files under {home} (Exec={args.executable.absolute()})")
        print(f"manifest: {home / MANIFEST_NAME}; remove with `make uninstall-desktop`")
    else:
        removed = uninstall(home)
        if not removed:
            print(f"nothing to remove: no {home / MANIFEST_NAME}")
        else:
            print(f"removed {len(removed)} files and folders under {home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

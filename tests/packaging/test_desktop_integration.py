"""``make install-desktop`` / ``make uninstall-desktop`` into a temporary XDG_DATA_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "desktop_integration.py"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


@pytest.fixture
def fake_app(tmp_path: Path) -> Path:
    """An executable standing in for kquant-gui; TryExec and Exec must point at it."""
    app = tmp_path / "bin dir" / "kquant-gui"
    app.parent.mkdir()
    app.write_text("#!/bin/sh\nexit 0\n")
    app.chmod(0o755)
    return app


@pytest.fixture
def data_home(tmp_path: Path) -> Path:
    """A data folder that already holds another app's entry, as a real one would."""
    home = tmp_path / "share"
    (home / "applications").mkdir(parents=True)
    (home / "applications" / "other.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Other\nExec=other %f\nMimeType=image/png;\n"
    )
    (home / "applications" / "mimeinfo.cache").write_text(
        "[MIME Cache]\nimage/png=other.desktop;\n"
    )
    return home


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(home)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, check=True
    )


def _tree(home: Path) -> dict[str, bytes | None]:
    """Every path under ``home`` with its bytes (None for folders), generated caches aside."""
    return {
        str(p.relative_to(home)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(home.rglob("*"))
        if p.name != "mimeinfo.cache"
    }


def _isolated_xdg_env(home: Path, tmp_path: Path) -> dict[str, str]:
    """Only ``home`` holds applications: no system-wide defaults can answer for us."""
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "no-system-data").mkdir(exist_ok=True)
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(home),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_DIRS": str(tmp_path / "no-system-data"),
    }


def test_install_writes_the_entry_and_every_icon_size(fake_app: Path, data_home: Path) -> None:
    _run("install", "--exec", str(fake_app), home=data_home)

    entry = (data_home / "applications" / "kquant-gui.desktop").read_text()
    # The path has a space, so the spec wants it quoted inside Exec (not in TryExec).
    assert f'\nExec="{fake_app}" %f\n' in entry
    assert f"\nTryExec={fake_app}\n" in entry
    assert "\nIcon=kquant-gui\n" in entry
    for size in ICON_SIZES:
        assert (data_home / f"icons/hicolor/{size}x{size}/apps/kquant-gui.png").is_file()
    svg = data_home / "icons/hicolor/scalable/apps/kquant-gui.svg"
    assert svg.read_bytes() == (ROOT / "kquant_gui/resources/icon.svg").read_bytes()

    manifest = (data_home / "kquant-gui" / "install-manifest.txt").read_text().splitlines()
    files = {line[5:] for line in manifest if line.startswith("file ")}
    assert str(data_home / "applications" / "kquant-gui.desktop") in files
    assert len(files) == 2 + len(ICON_SIZES)


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed"
)
def test_installed_entry_with_quoted_exec_is_valid(fake_app: Path, data_home: Path) -> None:
    _run("install", "--exec", str(fake_app), home=data_home)
    installed = data_home / "applications" / "kquant-gui.desktop"
    result = subprocess.run(["desktop-file-validate", str(installed)], capture_output=True)
    assert result.returncode == 0 and not result.stdout, result.stdout


@pytest.mark.skipif(shutil.which("gio") is None, reason="gio (libglib2.0-bin) not installed")
def test_gio_offers_the_app_for_png_and_jpeg(
    fake_app: Path, data_home: Path, tmp_path: Path
) -> None:
    """What GNOME's "Open with" and a double-click go through (GLib's registry)."""
    _run("install", "--exec", str(fake_app), home=data_home)
    env = _isolated_xdg_env(data_home, tmp_path)
    for mime in ("image/png", "image/jpeg"):
        out = subprocess.run(
            ["gio", "mime", mime], env=env, capture_output=True, text=True, check=True
        ).stdout
        registered = out.split("Registered applications:")[1].split("Recommended")[0]
        assert "kquant-gui.desktop" in registered, out


@pytest.mark.skipif(shutil.which("xdg-mime") is None, reason="xdg-utils not installed")
def test_xdg_mime_finds_the_app_through_the_mime_cache(fake_app: Path, tmp_path: Path) -> None:
    """With no other image viewer, xdg-open's lookup lands on kquant-gui."""
    home = tmp_path / "fresh-share"
    _run("install", "--exec", str(fake_app), home=home)
    env = _isolated_xdg_env(home, tmp_path)
    out = subprocess.run(
        ["xdg-mime", "query", "default", "image/webp"], env=env, capture_output=True, text=True
    ).stdout
    assert out.strip() == "kquant-gui.desktop"


def test_uninstall_restores_the_data_folder_exactly(fake_app: Path, data_home: Path) -> None:
    before = _tree(data_home)
    _run("install", "--exec", str(fake_app), home=data_home)
    _run("install", "--exec", str(fake_app), home=data_home)  # re-install must not forget
    assert _tree(data_home) != before
    _run("uninstall", home=data_home)
    assert _tree(data_home) == before
    # The cache that was there before stays, refreshed: the other app without us.
    cache = (data_home / "applications" / "mimeinfo.cache").read_text()
    assert "other.desktop" in cache
    assert "kquant-gui" not in cache
    # Nothing left to remove: a second uninstall is a no-op that says so.
    assert "nothing to remove" in _run("uninstall", home=data_home).stdout


def test_uninstall_of_an_empty_data_home_removes_every_folder_it_created(
    fake_app: Path, tmp_path: Path
) -> None:
    home = tmp_path / "new-share"
    _run("install", "--exec", str(fake_app), home=home)
    _run("uninstall", home=home)
    assert not home.exists()


def test_install_refuses_a_missing_executable(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "install", "--exec", str(tmp_path / "nope")],
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "is not an executable file" in result.stderr
    assert not (tmp_path / "share").exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_targets_install_and_uninstall(fake_app: Path, data_home: Path) -> None:
    before = _tree(data_home)
    make = [
        "make",
        "-s",
        "-C",
        str(ROOT),
        f"XDG_DATA_HOME={data_home}",
        f"PYTHON={sys.executable}",
    ]
    subprocess.run([*make, "install-desktop", f"EXEC={fake_app}"], check=True, capture_output=True)
    assert str(fake_app) in (data_home / "applications" / "kquant-gui.desktop").read_text()
    subprocess.run([*make, "uninstall-desktop"], check=True, capture_output=True)
    assert _tree(data_home) == before

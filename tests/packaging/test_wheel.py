"""The wheel alone is enough: built, installed into a fresh venv, ``kquant-gui --smoke-test``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from kquant_gui import __version__

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def package_index() -> None:
    """Skip unless pip reaches a package index: building and installing fetch from one."""
    probe = [sys.executable, "-m", "pip", "index", "versions", "setuptools"]
    options = ["--disable-pip-version-check", "--timeout", "15", "--retries", "0"]
    try:
        run = subprocess.run(
            [*probe, *options], capture_output=True, text=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.skip("no package index reachable: pip index versions setuptools timed out")
    if run.returncode != 0:
        why = (run.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"no package index reachable: pip index versions setuptools says {why!r}")


@pytest.fixture(scope="module")
def wheel(package_index: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools reuses the checkout's build/lib, where a stale file (one
    # since deleted from the package) would slip into the wheel.
    source = out / "source"
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", ".*cache"),
    )
    # build's isolated environment fetches setuptools like any user's build would; the pip
    # configuration (index, find-links, cache) is inherited.
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("kquant_gui-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment (no system or project site-packages) with only the wheel."""
    home = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
    subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
    )
    return home


def _clean_env(tmp: Path) -> dict[str, str]:
    """No PYTHONPATH, no access to the checkout, headless."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {**env, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp)}


def test_wheel_carries_the_resources_and_no_tests(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "sample.jpg",
        "icon.svg",
        "icons/kquant-gui-32.png",
        "icons/kquant-gui-512.png",
    ):
        assert f"kquant_gui/resources/{needed}" in names
    assert "kquant_gui/gui/smoke.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "packaging/"))]


def test_wheel_metadata_has_the_one_version(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(zf.read(meta).decode())
    assert metadata["Name"] == "kquant-gui"
    assert metadata["Version"] == __version__


def test_installed_app_passes_its_smoke_test_from_the_packaged_files(
    venv: Path, tmp_path: Path
) -> None:
    env = _clean_env(tmp_path)
    result = subprocess.run(
        [str(venv / "bin" / "kquant-gui"), "--smoke-test"],
        cwd=tmp_path,  # not the checkout, so nothing can be imported from the source tree
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("kquant-gui smoke test ok: sample.jpg 512x512 -> 8 colours")
    # The sample and the package came from the venv, not from this checkout.
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import kquant_gui, kquant_gui.gui.resources as r;"
            "print(kquant_gui.__file__); print(r.sample_image_path())",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where


def test_installed_app_reports_the_one_version(venv: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [str(venv / "bin" / "kquant-gui"), "--version"],
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == f"kquant-gui {__version__}"

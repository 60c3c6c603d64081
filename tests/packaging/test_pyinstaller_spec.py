"""The PyInstaller spec, run with stand-ins for PyInstaller's classes on each platform.

Only Linux builds run here; this checks what the spec would hand PyInstaller on Windows and
macOS (the icon, the Info.plist document types, the version) without building.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from kquant_gui import __version__

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "kquant-gui.spec"


class _Recorder:
    """Stands in for one of PyInstaller's build classes; remembers how it was called."""

    calls: dict[str, dict[str, Any]]

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> types.SimpleNamespace:
        self.calls[self.name] = {"args": args, **kwargs}
        return types.SimpleNamespace(
            pure=[("kquant_gui", "x", "PYMODULE"), ("sklearn.tests.test_x", "y", "PYMODULE")],
            scripts=[],
            datas=[
                ("kquant_gui/resources/sample.jpg", "s", "DATA"),
                ("PySide6/Qt/translations/qtbase_de.qm", "t", "DATA"),
                ("scipy/io/tests/data/x.mat", "m", "DATA"),
            ],
            binaries=[
                ("PySide6/Qt/plugins/platforms/libqxcb.so", "p", "BINARY"),
                ("PySide6/Qt/plugins/tls/libqopensslbackend.so", "q", "BINARY"),
            ],
        )


def _run_spec(platform: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict:
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_submodules = lambda package: [package, f"{package}.gui.smoke"]
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "platform", platform)
    _Recorder.calls = {}
    namespace = {
        "SPECPATH": str(SPEC.parent),
        "workpath": str(tmp_path),
        **{name: _Recorder(name) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")},
    }
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), namespace)
    return {"calls": _Recorder.calls, "analysis": namespace["a"]}


def test_macos_bundle_declares_image_documents_icon_and_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = _run_spec("darwin", monkeypatch, tmp_path)["calls"]["BUNDLE"]
    assert bundle["name"] == "kquant-gui.app"
    assert Path(bundle["icon"]).suffix == ".icns" and Path(bundle["icon"]).is_file()
    plist = bundle["info_plist"]
    assert plist["CFBundleShortVersionString"] == __version__
    assert plist["NSHighResolutionCapable"] is True
    types_ = {uti for doc in plist["CFBundleDocumentTypes"] for uti in doc["LSItemContentTypes"]}
    assert {"public.png", "public.jpeg", "public.tiff", "com.compuserve.gif"} <= types_
    # "Alternate": offered under Open With without taking over the user's default viewer.
    assert {doc["LSHandlerRank"] for doc in plist["CFBundleDocumentTypes"]} == {"Alternate"}


def test_windows_exe_is_windowed_with_the_ico(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = _run_spec("win32", monkeypatch, tmp_path)["calls"]
    exe = calls["EXE"]
    assert exe["console"] is False
    assert exe["name"] == "kquant-gui"
    assert Path(exe["icon"]).suffix == ".ico" and Path(exe["icon"]).is_file()
    assert "BUNDLE" not in calls


def test_one_folder_build_ships_resources_and_drops_tests_translations_unused_plugins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = _run_spec("linux", monkeypatch, tmp_path)
    calls, analysis = result["calls"], result["analysis"]
    assert calls["EXE"]["exclude_binaries"] is True  # one folder, not one file
    assert (str(ROOT / "kquant_gui" / "resources"), "kquant_gui/resources") in calls["Analysis"][
        "datas"
    ]
    assert "kquant_gui.gui.smoke" in calls["Analysis"]["hiddenimports"]
    excluded = set(calls["Analysis"]["excludes"])
    assert {"PySide6.QtWebEngineCore", "PySide6.QtQml", "PySide6.Qt3DCore", "tkinter"} <= excluded
    assert {"distributed", "dask"} <= excluded  # kquant --cluster's extra stays out of the app
    assert [name for name, *_ in analysis.pure] == ["kquant_gui"]
    assert [dest for dest, *_ in analysis.datas] == ["kquant_gui/resources/sample.jpg"]
    assert [dest for dest, *_ in analysis.binaries] == ["PySide6/Qt/plugins/platforms/libqxcb.so"]

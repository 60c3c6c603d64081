"""Smaller parts of the window: the k slider, the palette grid, stored settings, the command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from kquant_gui import __version__
from kquant_gui.gui import app
from kquant_gui.gui.controls import k_to_slider, slider_to_k
from kquant_gui.gui.palette_canvas import grid_shape, text_color
from kquant_gui.gui.preferences import Preferences
from kquant_gui.gui.resources import icon_path, icon_pngs, sample_image_path


def test_slider_reaches_every_k_and_gives_small_k_room() -> None:
    assert [slider_to_k(k_to_slider(k)) for k in range(1, 257)] == list(range(1, 257))
    # k from 1 to 16 takes half of the travel, as much as 16 to 256.
    assert k_to_slider(16) - k_to_slider(1) == k_to_slider(256) - k_to_slider(16)


@pytest.mark.parametrize("n", [1, 2, 8, 16, 64, 256])
def test_palette_grid_fits_every_swatch(n: int) -> None:
    cols, rows = grid_shape(n, 1000, 150)
    assert cols * rows >= n
    assert (cols - 1) * rows < n or rows == 1  # no empty column


def test_small_palettes_get_one_row_with_room_for_text() -> None:
    assert grid_shape(12, 1400, 150) == (12, 1)


def test_swatch_text_contrasts_with_the_swatch() -> None:
    assert text_color(np.array([250, 250, 240])) == "#000000"
    assert text_color(np.array([20, 10, 60])) == "#ffffff"


def test_bad_stored_settings_fall_back_to_defaults(tmp_path: Path) -> None:
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("k", 900)
    store.setValue("colorSpace", "hsv")
    store.setValue("dither", 3)
    store.setValue("recentFiles", "/only/one.png")
    prefs = Preferences(store)
    assert prefs.k == 256
    assert prefs.color_space == "lab"
    assert prefs.dither == "none"
    assert prefs.recent_files() == ["/only/one.png"]


def test_bundled_files_are_found() -> None:
    sample, icon, pngs = sample_image_path(), icon_path(), icon_pngs()
    assert sample is not None and sample.is_file()
    # The app's icon ships with it: a missing icon is a packaging bug, not an option.
    assert icon is not None and icon.is_file() and icon.suffix == ".svg"
    sizes = [int(p.stem.rsplit("-", 1)[-1]) for p in pngs]
    assert sizes == sorted(sizes) and {16, 32, 256} <= set(sizes)


def test_a_missing_icon_is_reported_as_missing(monkeypatch, tmp_path: Path) -> None:
    from kquant_gui.gui import resources

    monkeypatch.setattr(resources, "_PACKAGE_DIR", tmp_path / "package")
    monkeypatch.setattr(resources, "_REPO_DIR", tmp_path / "repo")
    assert resources.icon_path() is None and resources.icon_pngs() == []


def test_version_flag(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        app.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"kquant-gui {__version__}"


def test_smoke_test_flag_runs_the_packaged_check(monkeypatch) -> None:
    import types

    fake = types.ModuleType("kquant_gui.gui.smoke")
    fake.run_smoke_test = lambda: 7
    monkeypatch.setitem(sys.modules, "kquant_gui.gui.smoke", fake)
    assert app.main(["--smoke-test"]) == 7


def test_window_module_does_not_import_scikit_learn() -> None:
    # scikit-learn takes about a second to import; the window must appear without it.
    code = (
        "import sys; from kquant_gui.gui.main_window import MainWindow; "
        "assert 'sklearn' not in sys.modules, 'sklearn imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_many_void_qt_calls_do_not_abort_the_interpreter() -> None:
    # PySide6 6.12.0 drops a reference to None on each void call; on Python 3.11 that aborts
    # the process after a few thousand calls. pyproject.toml excludes that release; this
    # guards the pin.
    code = (
        "from PySide6.QtCore import QObject\n"
        "o = QObject()\n"
        "for _ in range(200_000): o.setObjectName('x')\n"
        "print('alive')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "alive" in run.stdout, run.stderr


def test_pixel_readout_names_colours_alpha_and_entry() -> None:
    from types import SimpleNamespace

    from kquant_gui import quantize
    from kquant_gui.gui.status_text import pixel_summary

    pixels = np.zeros((2, 3, 4), dtype=np.uint8)
    pixels[0] = [(200, 30, 30, 255), (200, 30, 30, 128), (0, 0, 0, 0)]
    pixels[1] = [(30, 30, 200, 255), (30, 30, 200, 255), (0, 0, 0, 0)]
    result = quantize(pixels, 4)
    source = SimpleNamespace(pixels=pixels)
    shown = SimpleNamespace(result=result)
    entry = int(result.labels[0, 0]) + 1
    # Two lines: where and what, then what it became and how far that is (ΔE2000).
    assert pixel_summary(source, shown, 0.2, 0.7) == (
        f"x 0 y 0 · #c81e1e\n→ #c81e1e (entry {entry} of {result.n_colors}) · ΔE 0.0"
    )
    assert "#c81e1e α128\n→ #c81e1e α128" in pixel_summary(source, shown, 1.5, 0.5)
    # A transparent pixel shows no colour, so no colour difference either.
    assert pixel_summary(source, shown, 2.5, 1.5) == (
        f"x 2 y 1 · transparent\n→ transparent (entry {int(result.labels[1, 2]) + 1} of "
        f"{result.n_colors})"
    )
    assert pixel_summary(source, None, 1.0, 1.0) == "x 1 y 1 · #1e1ec8"  # no result yet
    assert pixel_summary(source, shown, 3.2, 0.0) is None  # beside the image


def test_test_helpers_put_settings_path_style_and_palette_back(qapp, tmp_path: Path) -> None:
    from PySide6.QtGui import QPalette
    from qt_support import application_look_kept, settings_in, user_settings_folder

    from kquant_gui.gui.theme import apply_theme

    folder, style = user_settings_folder(), qapp.style().name()
    window_colour = qapp.palette().color(QPalette.ColorRole.Window)
    with settings_in(tmp_path) as inside, application_look_kept():
        assert user_settings_folder() == inside
        apply_theme("dark")
        assert qapp.palette().color(QPalette.ColorRole.Window) != window_colour
    assert user_settings_folder() == folder
    assert qapp.style().name() == style
    assert qapp.palette().color(QPalette.ColorRole.Window) == window_colour


def test_pixel_readout_gives_the_pixels_colour_difference() -> None:
    from types import SimpleNamespace

    from kquant_gui.engine.colorspace import srgb8_to_lab
    from kquant_gui.engine.metrics import ciede2000
    from kquant_gui.gui.status_text import pixel_summary

    pixels = np.array([[[250, 10, 10], [10, 10, 250]]], dtype=np.uint8)
    image = np.array([[[128, 128, 128], [10, 10, 250]]], dtype=np.uint8)
    result = SimpleNamespace(
        labels=np.array([[0, 1]], dtype=np.uint8), image=image, n_colors=2, transparent_index=None
    )
    expected = float(ciede2000(srgb8_to_lab(pixels[0, :1]), srgb8_to_lab(image[0, :1]))[0])
    text = pixel_summary(SimpleNamespace(pixels=pixels), SimpleNamespace(result=result), 0, 0)
    assert text.endswith(f"· ΔE {expected:.1f}") and expected > 20
    assert pixel_summary(
        SimpleNamespace(pixels=pixels), SimpleNamespace(result=result), 1, 0
    ).endswith("· ΔE 0.0")

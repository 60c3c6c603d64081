"""Colours > Engine: the default numpy engine or scikit-learn's KMeans, the reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QMenu
from qt_support import TIMEOUT_MS

from kquant_gui.cli import main as cli_main
from kquant_gui.gui.main_window import MainWindow


def _choose(qtbot, window: MainWindow, engine: str) -> None:
    """Pick ``engine`` in Colours > Engine, as a click or Enter on the item does."""
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        window.controls.engine_actions[engine].trigger()


def test_the_colours_menu_offers_both_engines_by_keyboard(window: MainWindow) -> None:
    engine_menu = window.findChild(QMenu, "menuEngine")
    assert engine_menu is not None and engine_menu.menuAction() in window.colours_menu.actions()
    assert "&" in engine_menu.title()  # Alt+C, E
    actions = engine_menu.actions()
    assert [a.objectName() for a in actions] == ["actionEngineNumpy", "actionEngineSklearn"]
    letters = [a.text()[a.text().index("&") + 1].lower() for a in actions]
    assert len(set(letters)) == 2  # one mnemonic each
    assert actions[0].isChecked() and not actions[1].isChecked()
    tip = actions[1].statusTip()
    assert "scikit-learn" in tip and "KMeans" in tip and "slower" in tip


def test_reference_engine_runs_and_is_one_undoable_step(
    qtbot, opened: MainWindow, photo_file: Path
) -> None:
    before = opened.shown.result
    assert before.engine == "numpy"
    _choose(qtbot, opened, "sklearn")
    result = opened.shown.result
    assert result.engine == "sklearn" and result.k == before.k
    assert "scikit-learn KMeans" in opened.quantized_title.text()
    editor = opened.palette_editor
    assert editor.stack.undoText() == "Engine: scikit-learn KMeans"
    # Undo shows the default engine's result again (from the cache) and the menu follows.
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        editor.stack.undo()
    assert opened.shown.result is before
    assert opened.controls.engine_actions["numpy"].isChecked()
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        editor.stack.redo()
    assert opened.shown.result.engine == "sklearn"
    assert opened.controls.engine_actions["sklearn"].isChecked()


def test_recipe_export_carries_the_engine_to_the_cli(
    qtbot, opened: MainWindow, photo_file: Path, tmp_path: Path
) -> None:
    _choose(qtbot, opened, "sklearn")
    recipe = tmp_path / "look.json"
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        opened.export_palette_to(recipe)
    assert json.loads(recipe.read_text())["settings"]["engine"] == "sklearn"
    window_png = tmp_path / "window.png"
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        opened.save_to(window_png)
    cli_png = tmp_path / "cli.png"
    assert cli_main([str(photo_file), "--recipe", str(recipe), "-o", str(cli_png), "-q"]) == 0
    assert cli_png.read_bytes() == window_png.read_bytes()
    # Opening the recipe in the window picks the engine too.
    _choose(qtbot, opened, "numpy")
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        assert opened.palette_editor.open_recipe_from(recipe)
    assert opened.controls.engine_actions["sklearn"].isChecked()
    assert opened.shown.result.engine == "sklearn"


def test_engine_is_remembered(qtbot, make_window) -> None:
    first = make_window()
    first.controls.engine_actions["sklearn"].trigger()
    first.close()
    second = make_window()
    assert second.controls.engine == "sklearn"
    assert second.session.recipe.engine == "sklearn"


def test_locking_a_colour_returns_to_the_numpy_engine(qtbot, opened: MainWindow) -> None:
    _choose(qtbot, opened, "sklearn")
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.palette_editor.toggle_lock(0)
    # scikit-learn's KMeans cannot hold a centre still: the lock runs on ours, and says so.
    assert opened.session.recipe.fixed and opened.session.recipe.engine == "numpy"
    assert opened.controls.engine_actions["numpy"].isChecked()
    assert opened.shown.result.engine == "numpy"
    opened.engine_menu.aboutToShow.emit()
    assert not opened.controls.engine_actions["sklearn"].isEnabled()
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.palette_editor.stack.undo()  # the lock
    opened.engine_menu.aboutToShow.emit()
    assert opened.controls.engine_actions["sklearn"].isEnabled()
    assert opened.controls.engine_actions["sklearn"].isChecked()


def test_cancel_rolls_the_engine_back(qtbot, opened: MainWindow, noise_file: Path) -> None:
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.open_path(noise_file)
    with qtbot.waitSignal(opened.worker.worker.progress, timeout=TIMEOUT_MS):
        opened.controls.engine_actions["sklearn"].trigger()
    assert opened.is_busy()
    opened.action_cancel.trigger()
    qtbot.waitUntil(opened.worker.idle, timeout=TIMEOUT_MS)
    assert opened.controls.engine == "numpy" and opened.session.recipe.engine == "numpy"
    assert opened.shown.result.engine == "numpy"
    # The history agrees with the screen: the cancelled step is undone, and Redo runs it.
    stack = opened.palette_editor.stack
    assert stack.redoText() == "Engine: scikit-learn KMeans" and stack.undoText() == ""
    assert "Redo runs it again" in opened.statusBar().currentMessage()
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        stack.redo()
    assert opened.shown.result.engine == "sklearn"


def test_the_default_engine_never_imports_scikit_learn(photo_file: Path, tmp_path: Path) -> None:
    # A fresh interpreter: other tests of this run may have imported scikit-learn already.
    script = f"""
import sys
from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from kquant_gui.gui.main_window import MainWindow
window = MainWindow(QSettings({str(tmp_path / "s.ini")!r}, QSettings.Format.IniFormat))
window.show()
loop = QEventLoop()
window.resultShown.connect(lambda _id: loop.quit())
QTimer.singleShot({TIMEOUT_MS}, loop.quit)  # a safety net, not a wait: the result ends it
window.open_path({str(photo_file)!r})
loop.exec()
assert window.shown is not None, "no result"
assert window.shown.result.engine == "numpy"
assert "sklearn" not in sys.modules, "scikit-learn was imported"
window.close()
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, env=env)


def test_cancel_goes_back_to_the_recipe_shown_locks_included(
    qtbot, window: MainWindow, noise_file: Path, open_and_wait
) -> None:
    open_and_wait(window, noise_file)
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        window.palette_editor.toggle_lock(0)
    shown = window.session.recipe
    assert shown.fixed
    with qtbot.waitSignal(window.worker.worker.progress, timeout=TIMEOUT_MS):
        window.controls.k_spin.setValue(200)
    window.action_cancel.trigger()
    qtbot.waitUntil(window.worker.idle, timeout=TIMEOUT_MS)
    assert window.session.recipe == shown  # the lock too, not only k and the menus
    assert window.controls.k == shown.k

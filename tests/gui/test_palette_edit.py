"""Your colours in the window: lock, edit, delete, merge, palettes and recipes, undo/redo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor
from qt_support import TIMEOUT_MS

from kquant_gui import delete_color
from kquant_gui.cli import main as cli_main
from kquant_gui.gui.main_window import MainWindow
from kquant_gui.gui.palette_edit import hex_of


def _hexes(window: MainWindow) -> list[str]:
    return [hex_of(c) for c in window.shown.result.palette]


def _set_k(qtbot, window: MainWindow, k: int) -> None:
    c = window.controls
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        c.set_values(k, c.color_space_key, c.dither_key)


def _save(qtbot, window: MainWindow, path: Path) -> Path:
    with qtbot.waitSignal(window.saved, timeout=TIMEOUT_MS):
        assert window.save_to(path)
    return path


def test_a_lock_survives_k_space_and_dither_changes(qtbot, opened: MainWindow) -> None:
    editor = opened.palette_editor
    color = _hexes(opened)[3]
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        editor.toggle_lock(3)
    assert opened.session.recipe.fixed == (color,)
    for k in (3, 12):
        _set_k(qtbot, opened, k)
        assert color in _hexes(opened)
        locked = opened.palette_canvas.locked
        assert [_hexes(opened)[i] for i in locked] == [color]
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.controls.set_values(5, "oklab", "floyd-steinberg")
    assert color in _hexes(opened)


def test_swatch_menu_offers_the_edits(opened: MainWindow) -> None:
    menu = opened.palette_editor.swatch_menu(1)
    names = {a.objectName() for a in menu.actions()}
    assert {"swatchLock", "swatchEdit", "swatchDelete"} <= names
    merge = next(a.menu() for a in menu.actions() if a.objectName() == "" and a.menu())
    assert len(merge.actions()) == opened.shown.result.n_colors - 1


def test_right_click_on_a_swatch_asks_for_its_menu(qtbot, opened: MainWindow) -> None:
    canvas = opened.palette_canvas
    x, y = canvas.cell_center(2)
    with qtbot.waitSignal(canvas.swatchMenuRequested, timeout=TIMEOUT_MS) as blocker:
        from PySide6.QtGui import QContextMenuEvent

        event = QContextMenuEvent(
            QContextMenuEvent.Reason.Mouse, QPoint(int(x), int(y)), canvas.mapToGlobal(QPoint())
        )
        canvas.contextMenuEvent(event)
    assert blocker.args[0] == 2


def test_edit_delete_merge_change_the_view_and_the_saved_file(
    qtbot, opened: MainWindow, tmp_path: Path
) -> None:
    editor = opened.palette_editor
    n = opened.shown.result.n_colors
    editor.set_color(0, "#123456")
    assert _hexes(opened)[0] == "#123456"
    shown = opened.quantized_canvas
    assert shown is not None
    assert np.all(opened.shown.display.full[opened.shown.result.labels == 0] == (0x12, 0x34, 0x56))
    editor.delete(n - 1)
    assert opened.shown.result.n_colors == n - 1
    editor.merge([1, 2])
    assert opened.shown.result.n_colors == n - 2
    saved = _save(qtbot, opened, tmp_path / "edited.png")
    with Image.open(saved) as im:
        pal = np.array(im.getpalette()[: 3 * (n - 2)]).reshape(-1, 3)
        rgb = np.asarray(im.convert("RGB"))
    assert np.array_equal(pal, opened.shown.result.palette)
    assert np.array_equal(rgb, opened.shown.result.image[..., :3])


def test_undo_and_redo_restore_exactly_and_at_once(qtbot, opened: MainWindow) -> None:
    editor = opened.palette_editor
    states = [opened.shown.result.image.tobytes()]
    _set_k(qtbot, opened, 5)
    states.append(opened.shown.result.image.tobytes())
    editor.set_color(1, "#ff00ff")
    states.append(opened.shown.result.image.tobytes())
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        editor.toggle_lock(0)
    states.append(opened.shown.result.image.tobytes())
    assert editor.stack.count() == 3
    assert opened.findChild(type(editor.action_undo), "actionUndo").shortcut().toString() == (
        "Ctrl+Z"
    )
    for expected in reversed(states[:-1]):
        editor.action_undo.trigger()  # cached: on screen before the call returns
        assert opened.shown.result.image.tobytes() == expected
    assert opened.controls.k == 8
    for expected in states[1:]:
        editor.action_redo.trigger()
        assert opened.shown.result.image.tobytes() == expected
    assert opened.controls.k == 5
    # Jumping in the history panel shows that step.
    editor.stack.setIndex(1)
    assert opened.shown.result.image.tobytes() == states[1]


def test_delete_sends_each_pixel_to_its_own_entry_and_undo_restores(opened: MainWindow) -> None:
    editor = opened.palette_editor
    before = opened.shown.result
    expected = delete_color(before, 1)
    # The point of the edit: the deleted entry's pixels do not all go to one entry.
    assert np.unique(expected.labels[before.labels == 1]).size > 1
    editor.delete(1)
    assert opened.shown.result.image.tobytes() == expected.image.tobytes()
    assert np.array_equal(opened.palette_canvas.counts, expected.counts)
    editor.action_undo.trigger()  # cached: at once, exactly
    assert opened.shown.result is before
    editor.action_redo.trigger()
    assert opened.shown.result.image.tobytes() == expected.image.tobytes()


def test_undo_recomputes_what_the_cache_dropped(qtbot, opened: MainWindow) -> None:
    editor = opened.palette_editor
    first = opened.shown.result.image.tobytes()
    _set_k(qtbot, opened, 4)
    opened.session.cache.clear()
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        editor.action_undo.trigger()
    assert opened.shown.result.image.tobytes() == first


def test_colour_dialog_previews_live_and_cancel_restores(qtbot, opened: MainWindow) -> None:
    editor = opened.palette_editor
    before = opened.shown.result.image.tobytes()
    dialog = editor.edit_color(2)
    dialog.setCurrentColor(QColor("#00ff7f"))
    qtbot.waitUntil(lambda: _hexes(opened)[2] == "#00ff7f", timeout=TIMEOUT_MS)
    dialog.reject()
    assert opened.shown.result.image.tobytes() == before
    assert editor.stack.count() == 0
    dialog = editor.edit_color(2)
    dialog.setCurrentColor(QColor("#00ff7f"))
    dialog.accept()
    assert _hexes(opened)[2] == "#00ff7f" and editor.stack.count() == 1


def test_load_palette_maps_onto_the_file(qtbot, opened: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "brand.gpl"
    path.write_text("GIMP Palette\n200 16 46 red\n255 255 255 white\n0 0 0 black\n")
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        assert opened.palette_editor.load_palette_from(path)
    assert _hexes(opened) == ["#c8102e", "#ffffff", "#000000"]
    assert opened.controls.k == 3


def test_bad_palette_file_is_a_dialog(opened: MainWindow, messages, tmp_path: Path) -> None:
    path = tmp_path / "bad.gpl"
    path.write_text("not a palette")
    assert not opened.palette_editor.load_palette_from(path)
    assert str(path) in messages.warnings[-1][1]


def test_lock_current_palette_keeps_every_colour(qtbot, opened: MainWindow) -> None:
    colours = set(_hexes(opened))
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.palette_editor.action_lock_all.trigger()
    _set_k(qtbot, opened, 11)
    assert colours <= set(_hexes(opened))


@pytest.mark.slow
def test_window_recipe_gives_the_same_bytes_in_the_cli(
    qtbot, opened: MainWindow, photo_file: Path, tmp_path: Path
) -> None:
    editor = opened.palette_editor
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        editor.toggle_lock(1)
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.controls.set_values(6, "oklab", "ordered", 0.6)
    editor.set_color(2, "#336699")
    editor.merge([0, 3])
    editor.delete(1)  # each of its pixels to its own nearest entry, in the CLI too
    window_png = _save(qtbot, opened, tmp_path / "window.png")
    recipe = tmp_path / "look.json"
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        opened.export_palette_to(recipe)
    cli_png = tmp_path / "cli.png"
    assert cli_main([str(photo_file), "--recipe", str(recipe), "-o", str(cli_png), "-q"]) == 0
    assert cli_png.read_bytes() == window_png.read_bytes()
    assert json.loads(recipe.read_text())["settings"]["dither_strength"] == 0.6
    # And the window opens it again to the same result, strength included.
    editor.stack.setIndex(0)
    assert opened.controls.dither_strength.value() == 100
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        assert editor.open_recipe_from(recipe)
    assert opened.controls.dither_strength.value() == 60
    assert np.array_equal(
        np.asarray(Image.open(window_png).convert("RGB")), opened.shown.result.image[..., :3]
    )


def test_menu_key_opens_the_selected_swatch_menu(qtbot, opened: MainWindow) -> None:
    from PySide6.QtGui import QContextMenuEvent

    canvas = opened.palette_canvas
    canvas.set_selected(4)
    with qtbot.waitSignal(canvas.swatchMenuRequested, timeout=TIMEOUT_MS) as blocker:
        canvas.contextMenuEvent(QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, QPoint()))
    assert blocker.args[0] == 4


def test_ctrl_click_marks_swatches_to_merge(qtbot, opened: MainWindow) -> None:
    from PySide6.QtCore import Qt

    canvas = opened.palette_canvas
    for i in (1, 3):
        x, y = canvas.cell_center(i)
        with qtbot.waitSignal(canvas.markedChanged, timeout=TIMEOUT_MS):
            qtbot.mouseClick(
                canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                QPoint(int(x), int(y)),
            )  # fmt: skip
    assert canvas.marked == {1, 3}
    menu = opened.palette_editor.swatch_menu(1)
    merge = next(a for a in menu.actions() if a.objectName() == "swatchMergeMarked")
    n = opened.shown.result.n_colors
    merge.trigger()
    assert opened.shown.result.n_colors == n - 1 and canvas.marked == set()


def test_another_image_starts_a_new_history_without_edits(
    qtbot, opened: MainWindow, other_file: Path, open_and_wait
) -> None:
    editor = opened.palette_editor
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        editor.toggle_lock(0)
    locked = opened.session.recipe.fixed
    editor.delete(1)
    open_and_wait(opened, other_file)
    assert editor.stack.count() == 0
    assert opened.session.recipe.edits == () and opened.session.recipe.fixed == locked
    assert locked[0] in _hexes(opened)


def test_edits_wait_while_a_result_is_computed(qtbot, opened: MainWindow) -> None:
    c = opened.controls
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        c.set_values(5, c.color_space_key, c.dither_key)
        assert opened.is_busy()
        opened.palette_editor.delete(0)  # refused: the result shown is about to change
        assert opened.palette_editor.edit_color(0) is None
    assert opened.session.recipe.edits == () and opened.shown.result.n_colors == 5

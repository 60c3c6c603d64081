"""Palette edits of large results run in the background: same results, window responsive.

The threshold is lowered so that the small test photo takes the background path; the
results must be exactly those of the same edits made at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QColor
from qt_support import TIMEOUT_MS

from kquant_gui import delete_color, merge_colors, replace_color
from kquant_gui.engine import plan_delete, plan_replace
from kquant_gui.gui import color_preview, edit_runner, palette_edit
from kquant_gui.gui.main_window import MainWindow
from kquant_gui.gui.palette_edit import hex_of


@pytest.fixture
def background(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edit_runner, "BACKGROUND_PIXELS", 0)


def _hexes(window: MainWindow) -> list[str]:
    return [hex_of(c) for c in window.shown.result.palette]


def test_edit_reaches_the_view_and_the_saved_file(
    qtbot, opened: MainWindow, background: None, tmp_path: Path
) -> None:
    editor = opened.palette_editor
    before = opened.shown.result
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        editor.set_color(1, "#123456")
        assert editor.runner.busy()  # not edited on the main thread
        assert _hexes(opened)[1] != "#123456"
    expected = replace_color(before, 1, "#123456")
    assert np.array_equal(opened.shown.result.image, expected.image)
    # The view shows it: at this size, the drawn pixels are the image itself.
    drawn = opened.quantized_canvas.displayed_pixels()
    np.testing.assert_array_equal(drawn, expected.image)
    assert editor.stack.count() == 1
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        assert opened.save_to(tmp_path / "edited.png")
    with Image.open(tmp_path / "edited.png") as im:
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), expected.image)


def test_quick_edits_follow_each_other_in_order(
    qtbot, opened: MainWindow, background: None
) -> None:
    editor = opened.palette_editor
    before = opened.shown.result
    n = before.n_colors
    editor.set_color(0, "#c8102e")
    editor.delete(n - 1)  # asked for while the first one runs: applied to its result
    editor.merge([1, 2])
    qtbot.waitUntil(
        lambda: editor.stack.count() == 3 and not editor.runner.busy(), timeout=TIMEOUT_MS
    )
    expected = merge_colors(delete_color(replace_color(before, 0, "#c8102e"), n - 1), [1, 2])
    assert np.array_equal(opened.shown.result.image, expected.image)
    assert opened.session.recipe.edits == expected.edits
    # Undo walks back through each of them, from the cache.
    editor.action_undo.trigger()
    assert opened.shown.result.n_colors == n - 1


def test_an_undo_while_an_edit_runs_drops_the_edit(
    qtbot, opened: MainWindow, background: None
) -> None:
    editor = opened.palette_editor
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        editor.set_color(0, "#00ff00")
    first = opened.shown.result.image.tobytes()
    editor.set_color(0, "#0000ff")
    editor.action_undo.trigger()  # the user went back before the edit arrived
    # The edit's outcome arrives and is dropped in the same step.
    qtbot.waitUntil(lambda: not editor.runner.busy(), timeout=TIMEOUT_MS)
    assert editor.stack.count() == 1 and editor.stack.index() == 0
    assert opened.shown.result.image.tobytes() != first
    assert opened.session.recipe.edits == ()


def test_colour_dialog_previews_in_the_background_and_ok_keeps_it(
    qtbot, opened: MainWindow, background: None
) -> None:
    editor = opened.palette_editor
    before = opened.shown.result.image.tobytes()
    dialog = editor.edit_color(2)
    for name in ("#ff0000", "#00ff7f"):
        dialog.setCurrentColor(QColor(name))
    qtbot.waitUntil(lambda: _hexes(opened)[2] == "#00ff7f", timeout=TIMEOUT_MS)
    assert editor.stack.count() == 0  # a preview, not a step yet
    dialog.accept()  # the colour previewed last: committed at once, not computed again
    assert _hexes(opened)[2] == "#00ff7f" and editor.stack.count() == 1
    editor.action_undo.trigger()
    assert opened.shown.result.image.tobytes() == before


def test_colour_dialog_cancel_drops_a_preview_still_running(
    qtbot, opened: MainWindow, background: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The preview's edit is held in the edit thread until the dialog is cancelled, so it is
    # certainly still running then (a quick edit could otherwise end before the Cancel).
    started, release = threading.Event(), threading.Event()

    def held_replace(result, index, color):
        started.set()
        release.wait(TIMEOUT_MS / 1000)
        return plan_replace(result, index, color)

    monkeypatch.setattr(color_preview, "plan_replace", held_replace)
    editor = opened.palette_editor
    before = opened.shown.result.image.tobytes()
    dialog = editor.edit_color(2)
    dialog.setCurrentColor(QColor("#abcdef"))
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT_MS)
    assert editor.runner.busy()
    with qtbot.waitSignal(editor.runner.settled, timeout=TIMEOUT_MS):
        dialog.reject()
        release.set()
    assert opened.shown.result.image.tobytes() == before and editor.stack.count() == 0


@pytest.mark.parametrize("op", ["merge", "delete"])
def test_the_display_copy_comes_first_and_the_result_shows_the_same_pixels(
    qtbot, opened: MainWindow, background: None, tmp_path: Path, op: str
) -> None:
    editor = opened.palette_editor
    before = opened.shown.result
    seen: list[tuple[str, np.ndarray, object, str]] = []

    def record(what: str) -> None:
        drawn = opened.quantized_canvas.displayed_pixels().copy()
        seen.append((what, drawn, opened.shown.result, opened.palette_title.text()))

    editor.lookShown.connect(lambda _id: record("look"))
    opened.resultShown.connect(lambda _id: record("result"))
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        if op == "merge":
            editor.merge([0, 2])
        else:
            editor.delete(1)
    assert [s[0] for s in seen] == ["look", "result"]
    if op == "merge":
        expected = merge_colors(before, [0, 2])
    else:
        # Each pixel to its own nearest entry: the display copy comes from new labels.
        expected = delete_color(before, 1)
        assert np.unique(expected.labels[before.labels == 1]).size > 1
    assert f"{expected.n_colors} colours" in seen[0][3] and seen[0][3] == seen[1][3]
    # On screen before the full-size result is made; then the result shows the same.
    assert seen[0][2] is before
    np.testing.assert_array_equal(seen[0][1], expected.image)
    np.testing.assert_array_equal(seen[1][1], expected.image)
    assert np.array_equal(opened.shown.result.image, expected.image)
    np.testing.assert_array_equal(opened.palette_canvas.counts, expected.counts)
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        assert opened.save_to(tmp_path / f"{op}.png")
    with Image.open(tmp_path / f"{op}.png") as im:
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), expected.image)


def test_a_save_asked_for_while_an_edit_runs_writes_the_edit(
    qtbot, opened: MainWindow, background: None, tmp_path: Path
) -> None:
    editor = opened.palette_editor
    before = opened.shown.result
    editor.delete(1)
    assert editor.editing()  # its display copy may be on screen before the result lands
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        assert opened.save_to(tmp_path / "deleted.png")
    with Image.open(tmp_path / "deleted.png") as im:
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), delete_color(before, 1).image)


def test_a_save_waiting_for_edits_is_called_off_when_another_image_opens(
    qtbot,
    opened: MainWindow,
    background: None,
    tmp_path: Path,
    photo_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The edit is held in the edit thread until the next image has opened, so the save is
    # certainly still waiting then. Its edit is dropped with the old image: the save must not
    # write the old unedited result (or the new image) under the name chosen for the edit.
    started, release = threading.Event(), threading.Event()

    def held_delete(result, index):
        started.set()
        release.wait(TIMEOUT_MS / 1000)
        return plan_delete(result, index)

    monkeypatch.setattr(palette_edit, "plan_delete", held_delete)
    editor = opened.palette_editor
    editor.delete(1)
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT_MS)
    assert opened.save_to(tmp_path / "deleted.png")
    with qtbot.waitSignal(opened.imageLoaded, timeout=TIMEOUT_MS):
        opened.open_path(photo_file)
    assert "Save cancelled" in opened.statusBar().currentMessage()
    with qtbot.waitSignal(editor.runner.settled, timeout=TIMEOUT_MS):
        release.set()
    qtbot.waitUntil(lambda: opened.shown is not None and not editor.editing(), timeout=TIMEOUT_MS)
    assert not (tmp_path / "deleted.png").exists()


def test_colour_dialog_cancel_after_previews_restores_the_view_exactly(
    qtbot, opened: MainWindow, background: None
) -> None:
    editor = opened.palette_editor
    before = opened.quantized_canvas.displayed_pixels().copy()
    dialog = editor.edit_color(1)
    for name in ("#ff00ff", "#00ffff"):
        with qtbot.waitSignal(editor.lookShown, timeout=TIMEOUT_MS):
            dialog.setCurrentColor(QColor(name))
        shown = opened.quantized_canvas.displayed_pixels()
        assert not np.array_equal(shown, before)  # the view follows the dialog
    dialog.reject()
    qtbot.waitUntil(lambda: not editor.runner.busy(), timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(opened.quantized_canvas.displayed_pixels(), before)
    assert editor.stack.count() == 0


def test_a_dialog_step_followed_by_another_skips_its_full_size_repaint(
    qtbot, opened: MainWindow, background: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first step is held in the edit thread until the pointer has moved on.
    started, release = threading.Event(), threading.Event()

    def held_first(result, index, color):
        if not started.is_set():
            started.set()
            release.wait(TIMEOUT_MS / 1000)
        return plan_replace(result, index, color)

    monkeypatch.setattr(color_preview, "plan_replace", held_first)
    editor = opened.palette_editor
    looks, results = [], []
    editor.runner.displayed.connect(lambda look: looks.append(look.job.tag[1]))
    editor.runner.finished.connect(lambda edited: results.append(edited.job.tag[1]))
    dialog = editor.edit_color(1)
    dialog.setCurrentColor(QColor("#ff0000"))
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT_MS)
    dialog.setCurrentColor(QColor("#0000ff"))
    release.set()
    qtbot.waitUntil(lambda: _hexes(opened)[1] == "#0000ff", timeout=TIMEOUT_MS)
    assert looks == ["#ff0000", "#0000ff"]  # both shown ...
    assert results == ["#0000ff"]  # ... but only the last one made full size
    dialog.accept()
    assert _hexes(opened)[1] == "#0000ff" and editor.stack.count() == 1

"""File > Batch…: progress per file, cancel, a bad file in the middle, closing while it runs."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from qt_support import TIMEOUT_MS

from kquant_gui.cli import main as kquant
from kquant_gui.gui import batch_task
from kquant_gui.gui.batch_dialog import BatchDialog
from kquant_gui.gui.batch_table import BEFORE, DELTA_E, DETAIL, STATUS


def _photo(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:48, 0:64]
    base = np.stack([x * 4, y * 5, (x + y) * 2 + seed * 9], 2)
    return np.clip(base + rng.integers(-15, 16, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """in/ with a0..a2 and, in the middle by name, a broken file; b/ a subfolder."""
    root = tmp_path / "in"
    (root / "b").mkdir(parents=True)
    for i, name in enumerate(["a0.png", "a1.jpg", "a3.png", "b/c.png"]):
        Image.fromarray(_photo(i)).save(root / name)
    (root / "a2.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    return root


def _texts(dialog: BatchDialog, col: int) -> list[str]:
    return [dialog.table.item(r, col).text() for r in range(dialog.table.rowCount())]


def _batch(window, inputs: list[Path], out: Path, **choices) -> BatchDialog:
    window.findChild(type(window.action_batch), "actionBatch").trigger()
    dialog = window.batch_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.add_inputs(inputs)
    dialog.out_dir.setText(str(out))
    dialog.recursive.setChecked(choices.get("recursive", False))
    dialog.format.setCurrentIndex(dialog.format.findData(choices.get("format", "png")))
    return dialog


def test_a_batch_reports_each_file_and_a_bad_one_does_not_stop_the_rest(
    qtbot, window, folder, tmp_path
):
    window.controls.set_values(6, "oklab", "ordered")
    out = tmp_path / "out"
    dialog = _batch(window, [folder], out)
    assert dialog.settings_label.text().startswith("k = 6 · OKLab · dithering:")
    done: list[int] = []
    dialog.task.fileDone.connect(lambda i, _r: done.append(dialog.progress.value()))
    with qtbot.waitSignal(dialog.batchFinished, timeout=TIMEOUT_MS) as finished:
        assert dialog.start()
        assert dialog.is_running() and not dialog.start_button.isEnabled()
    assert finished.args == [False]
    assert done == [1, 2, 3, 4]  # the bar moved as each file completed
    assert dialog.progress.value() == dialog.progress.maximum() == 4
    assert _texts(dialog, STATUS) == ["Written", "Written", "Failed", "Written"]
    reason = dialog.table.item(2, DETAIL)
    assert reason.text().startswith("not an image file")  # the row names the file already
    assert reason.toolTip().startswith(f"{folder / 'a2.png'}: not an image file")
    assert all(t.endswith(("B", "kB")) for t in _texts(dialog, BEFORE)[:2])
    assert all(float(t) > 0 for i, t in enumerate(_texts(dialog, DELTA_E)) if i != 2)
    assert "3 of 4 written · 1 failed" in dialog.summary.text()
    dialog.only_failed.setChecked(True)  # failures listed alone, with their reasons
    shown = [r for r in range(4) if not dialog.table.isRowHidden(r)]
    assert shown == [2]
    assert dialog.summary.text().startswith("Finished: ")
    # The same bytes as the command line with the same settings.
    ref = tmp_path / "ref"
    args = ["-k", "6", "--space", "oklab", "--dither", "ordered", "--out-dir", str(ref)]
    assert kquant([str(folder), *args, "-q"]) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in ref.iterdir())
    for p in ref.iterdir():
        assert (out / p.name).read_bytes() == p.read_bytes()


def test_subfolders_keep_their_layout_and_a_format_applies(qtbot, window, folder, tmp_path):
    out = tmp_path / "out"
    dialog = _batch(window, [folder], out, recursive=True, format="gif")
    with qtbot.waitSignal(dialog.batchFinished, timeout=TIMEOUT_MS):
        dialog.start()
    assert (out / "b" / "c-k8.gif").is_file()
    assert len(_texts(dialog, STATUS)) == 5


def test_cancel_stops_after_the_file_running(qtbot, window, folder, tmp_path, monkeypatch):
    running, go_on = threading.Event(), threading.Event()
    real = batch_task.run_job

    def held(job, opts):
        running.set()
        go_on.wait(TIMEOUT_MS / 1000)  # the first file runs until the test has pressed Cancel
        return real(job, opts)

    monkeypatch.setattr(batch_task, "run_job", held)
    out = tmp_path / "out"
    dialog = _batch(window, [folder], out)
    with qtbot.waitSignal(dialog.batchFinished, timeout=TIMEOUT_MS) as finished:
        dialog.start()
        qtbot.waitUntil(running.is_set, timeout=TIMEOUT_MS)
        dialog.cancel_button.click()
        assert not dialog.cancel_button.isEnabled()
        assert dialog.cancel_button.text() == "Cancelling…"
        go_on.set()
    assert finished.args == [True]
    assert _texts(dialog, STATUS) == ["Written", "Not run", "Not run", "Not run"]
    assert [p.name for p in out.iterdir()] == ["a0-k8.png"]
    assert dialog.summary.text().startswith("Cancelled: 1 of 4 written")
    assert dialog.start_button.isEnabled()  # ready for another go


def test_closing_the_window_asks_while_a_batch_runs(
    qtbot, window, folder, tmp_path, messages, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    go_on = threading.Event()
    real = batch_task.run_job

    def held(job, opts):
        go_on.wait(TIMEOUT_MS / 1000)
        return real(job, opts)

    monkeypatch.setattr(batch_task, "run_job", held)
    dialog = _batch(window, [folder], tmp_path / "out")
    dialog.start()
    messages.answer = QMessageBox.StandardButton.No
    assert not window.close()  # asked, and the user let the batch run on
    assert messages.questions and "A batch is running (0 of 4 files done)" in messages.questions[0]
    assert window.isVisible() and dialog.is_running()
    messages.answer = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(dialog.batchFinished, timeout=TIMEOUT_MS) as finished:
        go_on.set()
        assert window.close()
    assert finished.args == [True]
    assert dialog.task.thread is None  # stopped and waited for


def test_a_batch_stopped_as_it_starts_ends_once_when_shutdown_returns(
    qtbot, window, folder, tmp_path, monkeypatch
):
    """Closing the window right after Start: the batch thread may not even have taken the
    batch yet (its loop then quits without it). Either way shutdown() returns with the batch
    over, cancelled, announced once, and a file that ran has its result in the table."""
    from PySide6.QtCore import QCoreApplication

    real = batch_task.run_job
    dialog = _batch(window, [folder], tmp_path / "out")

    def held(job, opts):
        dialog.task._cancel.wait(TIMEOUT_MS / 1000)  # runs on until shutdown cancels
        return real(job, opts)

    monkeypatch.setattr(batch_task, "run_job", held)
    heard: list[bool] = []
    dialog.batchFinished.connect(heard.append)
    dialog.start()
    dialog.shutdown()
    assert heard == [True]
    assert not dialog.is_running() and dialog.start_button.isEnabled()
    statuses = _texts(dialog, STATUS)
    assert statuses[1:] == ["Not run"] * 3
    assert statuses[0] in ("Written", "Not run")  # taken and finished, or never taken
    QCoreApplication.processEvents()
    assert heard == [True]  # the runner's own word, if any, was not heard twice


def test_a_batch_that_cannot_start_says_why(qtbot, window, folder, tmp_path, messages):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    dialog = _batch(window, [folder], blocker)
    assert not dialog.start()
    assert messages.warnings and "is a file, not a folder" in messages.warnings[0][1]
    assert not dialog.is_running()


def _same_files(out: Path, ref: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in ref.iterdir())
    for p in ref.iterdir():
        assert (out / p.name).read_bytes() == p.read_bytes(), p.name


def test_the_locked_colours_dithering_strength_apply_as_kquant_fixed(
    qtbot, opened, folder, tmp_path
):
    editor = opened.palette_editor
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.controls.set_values(5, "oklab", "floyd-steinberg", 0.5)
    for _ in range(2):  # lock two swatches (the palette's order changes with each result)
        free = editor.locked_indices() ^ set(range(opened.shown.result.n_colors))
        with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
            editor.toggle_lock(min(free))
    locked = opened.session.recipe.fixed
    assert len(locked) == 2
    # A palette edit of the open image is not replayed on the others.
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        editor.set_color(4, "#123456")
    assert opened.session.recipe.edits
    out = tmp_path / "out"
    dialog = _batch(opened, [folder], out)
    text = dialog.settings_label.text()
    assert text.startswith("k = 5 · OKLab · dithering:") and " at 50%" in text
    assert f"locked {locked[0]}, {locked[1]}" in text and "edits are not replayed" in text
    with qtbot.waitSignal(dialog.batchFinished, timeout=TIMEOUT_MS):
        assert dialog.start()
    assert _texts(dialog, STATUS) == ["Written", "Written", "Failed", "Written"]
    ref = tmp_path / "ref"
    args = ["-k", "5", "--space", "oklab", "--dither", "floyd-steinberg"]
    args += ["--dither-strength", "0.5", "--fixed", ",".join(locked), "--out-dir", str(ref)]
    assert kquant([str(folder), *args, "-q"]) == 1
    _same_files(out, ref)


def test_a_recipe_file_applies_as_kquant_recipe(qtbot, window, folder, tmp_path, messages):
    from kquant_gui import quantize
    from kquant_gui.engine import apply_edits
    from kquant_gui.palettes import write_palette

    # A recipe as File > Export Recipe writes it: a seed, a locked colour and an edit.
    result = quantize(_photo(7), 6, color_space="rgb", seed=7, fixed=["#c8102e"])
    result = apply_edits(result, [{"op": "delete", "index": 3}])
    recipe_file = tmp_path / "recipe.json"
    write_palette(result, recipe_file)
    settings = json.loads(recipe_file.read_text())["settings"]
    assert settings["seed"] == 7 and settings["edits"] and settings["fixed"] == ["#c8102e"]
    out = tmp_path / "out"
    dialog = _batch(window, [folder], out)
    dialog.use_recipe_file(recipe_file)
    text = dialog.settings_label.text()
    assert text.startswith("k = 6 · sRGB") and "seed 7" in text
    assert "locked #c8102e" in text and "1 palette edit replayed" in text
    assert text.endswith("(from recipe.json)")
    with qtbot.waitSignal(dialog.batchFinished, timeout=TIMEOUT_MS):
        assert dialog.start()
    ref = tmp_path / "ref"
    assert kquant([str(folder), "--recipe", str(recipe_file), "--out-dir", str(ref), "-q"]) == 1
    _same_files(out, ref)


def test_a_recipe_file_that_cannot_be_read_is_named_with_the_reason(
    qtbot, window, folder, tmp_path, messages
):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    dialog = _batch(window, [folder], tmp_path / "out")
    dialog.use_recipe.setChecked(True)
    assert not dialog.start_button.isEnabled()  # no file chosen yet
    dialog.use_recipe_file(bad)
    assert dialog.settings_label.text().startswith(f"Cannot use the recipe: {bad}: ")
    assert not dialog.start()
    assert messages.warnings and messages.warnings[0][1].startswith(f"{bad}: ")
    assert not (tmp_path / "out").exists() and not dialog.is_running()


def test_the_close_button_closes_and_asks_first_while_a_batch_runs(
    qtbot, window, folder, tmp_path, messages, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    dialog = _batch(window, [folder], tmp_path / "out")
    dialog.close_button.click()  # nothing running: closes without asking
    assert not dialog.isVisible() and not messages.questions
    go_on = threading.Event()
    real = batch_task.run_job

    def held(job, opts):
        go_on.wait(TIMEOUT_MS / 1000)
        return real(job, opts)

    monkeypatch.setattr(batch_task, "run_job", held)
    dialog = _batch(window, [folder], tmp_path / "out")
    dialog.start()
    messages.answer = QMessageBox.StandardButton.No
    dialog.close_button.click()
    assert len(messages.questions) == 1 and dialog.isVisible() and dialog.is_running()
    messages.answer = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(dialog.batchFinished, timeout=TIMEOUT_MS) as finished:
        dialog.close_button.click()
        assert len(messages.questions) == 2 and not dialog.isVisible()
        go_on.set()
    assert finished.args == [True]


def test_the_windows_engine_and_seed_apply_as_kquant_engine(qtbot, opened, folder, tmp_path):
    # A seed from a recipe opened in the window, then Colours > Engine > scikit-learn's KMeans.
    from kquant_gui import quantize
    from kquant_gui.palettes import write_palette

    recipe_file = tmp_path / "seed.json"
    write_palette(quantize(_photo(5), 4, color_space="rgb", seed=2), recipe_file)
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        assert opened.palette_editor.open_recipe_from(recipe_file)
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.controls.engine_actions["sklearn"].trigger()
    assert opened.session.recipe.engine == "sklearn" and opened.session.recipe.seed == 2
    out = tmp_path / "out"
    dialog = _batch(opened, [folder], out)
    text = dialog.settings_label.text()
    assert "seed 2" in text and "engine: scikit-learn's KMeans" in text
    with qtbot.waitSignal(dialog.batchFinished, timeout=TIMEOUT_MS):
        assert dialog.start()
    ref = tmp_path / "ref"
    args = ["-k", "4", "--space", "rgb", "--seed", "2", "--engine", "sklearn"]
    assert kquant([str(folder), *args, "--out-dir", str(ref), "-q"]) == 1
    _same_files(out, ref)

"""What a new user ran into, each driven as they did it: keys where focus really is, Esc in
the middle of a job, long names in the status bar, the dialogs' start folders, the menus."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QToolButton
from qt_support import TIMEOUT_MS

from kquant_gui.gui import MainWindow
from kquant_gui.gui.progress_words import JobProgress, stage_words
from kquant_gui.gui.resources import sample_image_path
from kquant_gui.gui.status_notes import fit_note
from kquant_gui.gui.view_tools import zoom_text
from kquant_gui.gui.window_parts import DROP_HINT


def test_plus_and_minus_step_k_while_the_spin_box_has_focus(qtbot, window: MainWindow) -> None:
    spin = window.controls.k_spin
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    qtbot.keyClick(spin, Qt.Key.Key_Plus)
    assert spin.value() == 9 and spin.text() == "9"
    qtbot.keyClick(spin, Qt.Key.Key_Equal)
    qtbot.keyClick(spin, Qt.Key.Key_Minus)
    qtbot.keyClick(spin, Qt.Key.Key_Minus)
    assert spin.value() == 8 and spin.text() == "8"


def test_esc_in_the_spin_box_restores_its_value(qtbot, window: MainWindow) -> None:
    spin = window.controls.k_spin
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "123")
    assert spin.text() == "123" and spin.value() == 8  # typed, not committed
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Escape)
    assert spin.text() == "8" and spin.value() == 8


def test_ctrl_equals_zooms_in_like_ctrl_plus(window: MainWindow) -> None:
    keys = [k.toString() for k in window.action_zoom_in.shortcuts()]
    assert "Ctrl+=" in keys and "Ctrl++" in keys


def test_ctrl_equals_pressed_zooms_in(qtbot, opened: MainWindow) -> None:
    opened.quantized_canvas.setFocus()
    qtbot.keyClick(opened, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert not opened.view.fit
    assert opened.zoom_label.text().endswith("%") and "Fit" not in opened.zoom_label.text()


def test_esc_mid_job_rolls_the_controls_back_to_the_result_shown(
    qtbot, opened: MainWindow, noise_file: Path, open_and_wait
) -> None:
    open_and_wait(opened, noise_file)
    shown = opened.shown.result
    with qtbot.waitSignal(opened.worker.worker.progress, timeout=TIMEOUT_MS):
        opened.controls.set_values(200, "oklab", "floyd-steinberg")
    assert opened.is_busy()
    with qtbot.waitSignal(opened.session.cancelled, timeout=TIMEOUT_MS):
        opened.action_cancel.trigger()
    c = opened.controls
    assert (c.k, c.color_space_key, c.dither_key) == (shown.k, shown.color_space, shown.dither)
    assert opened.session.recipe.k == shown.k
    assert not opened.is_busy()  # rolling back started no new job
    assert "settings back" in opened.statusBar().currentMessage()


def test_loading_says_which_file_instead_of_the_drop_hint(
    qtbot, window: MainWindow, photo_file: Path
) -> None:
    assert window.original_canvas.message.get_text() == DROP_HINT
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        window.open_path(photo_file)
        assert window.original_canvas.message.get_text() == "Loading photo.png…"
    assert not window.original_canvas.message.get_visible()


def test_a_file_that_fails_to_load_brings_the_drop_hint_back(
    qtbot, window: MainWindow, bad_file: Path, messages
) -> None:
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
        window.open_path(bad_file)
    assert window.original_canvas.message.get_text() == DROP_HINT


def test_a_long_name_is_shortened_in_its_middle_and_the_warning_stays(qapp) -> None:
    metrics = QFontMetrics(QApplication.font())
    name = "holiday-" + "very-" * 30 + "long-name.jpg"
    text = f"Saved image {name} (1.2 MB) — JPEG cannot keep the exact palette"
    room = metrics.horizontalAdvance(text.replace(name, "")) + 120
    fitted = fit_note(text, name, metrics, room)
    assert metrics.horizontalAdvance(fitted) <= room
    assert fitted.startswith("Saved image holiday-")
    assert fitted.endswith("(1.2 MB) — JPEG cannot keep the exact palette")
    assert "…" in fitted and fitted.count(".jpg") == 1
    assert fit_note("short", "short", metrics, 400) == "short"
    # Too narrow even for the rest: the whole note is shortened in its middle.
    tight = fit_note(text, name, metrics, 150)
    assert metrics.horizontalAdvance(tight) <= 150 and tight.endswith("palette")


def test_a_saved_note_clears_when_another_image_opens(
    qtbot, opened: MainWindow, other_file: Path, tmp_path: Path, open_and_wait
) -> None:
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        opened.save_to(tmp_path / "out.png")
    assert "Saved image out.png" in opened.statusBar().currentMessage()
    open_and_wait(opened, other_file)
    assert opened.statusBar().currentMessage() == ""
    assert opened.stats_label.isVisible()


def test_the_progress_bar_speaks_in_words_and_never_goes_back() -> None:
    assert stage_words("clustering", 16) == "Choosing 16 colours"
    assert stage_words("clustering", 1) == "Choosing 1 colour"
    assert stage_words("histogram", 8) == "Counting colours"
    assert stage_words("mapping", 8, "floyd-steinberg") == "Dithering"
    job = JobProgress()
    assert [job.report(f) for f in (0.1, 0.5, 0.3, 0.9)] == [0.1, 0.5, 0.5, 0.9]
    job.start()
    assert job.report(0.2) == 0.2


def test_progress_shown_for_a_job_uses_words(
    qtbot, opened: MainWindow, noise_file: Path, open_and_wait
) -> None:
    open_and_wait(opened, noise_file)
    with qtbot.waitSignal(opened.session.progress, timeout=TIMEOUT_MS):
        opened.controls.k_spin.setValue(64)
    text = opened.progress_bar.format()
    assert text.split("…")[0] in {"Counting colours", "Choosing 64 colours", "Painting pixels"}
    assert "histogram" not in text and "mapping" not in text
    opened.action_cancel.trigger()


def test_the_progress_bar_says_what_runs_on_one_line(
    qtbot, window: MainWindow, noise_file: Path
) -> None:
    window.open_path(noise_file)
    # Shown (a busy bar shows no text at all), and wide enough for its longest words.
    assert window.progress_bar.text() == f"Opening {noise_file.name}…"
    bar = window.progress_bar
    assert bar.width() >= bar.fontMetrics().horizontalAdvance("Choosing 256 colours… 100%")
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        pass


def test_at_800_px_the_zoom_readout_stays_in_view(
    qtbot, make_window, photo_file, open_and_wait
) -> None:
    window = make_window((800, 560))
    open_and_wait(window, photo_file)
    fit = window.findChild(QToolButton, "fitButton")
    # The buttons keep their icons and drop their words, so that the readout still fits
    # (before, it went into the toolbar's overflow menu).
    qtbot.waitUntil(lambda: fit.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly)
    assert window.zoom_label.isVisible() and window.zoom_label.text().startswith("Fit ")
    window.resize(1400, 800)
    qtbot.waitUntil(lambda: fit.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon)


def test_fit_and_one_to_one_are_buttons_with_icons_and_a_zoom_readout(opened: MainWindow) -> None:
    for name in ("fitButton", "oneToOneButton"):
        button = opened.findChild(QToolButton, name)
        assert button is not None and not button.icon().isNull()
        assert button.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        assert button.toolTip()
    assert opened.zoom_label.text().startswith("Fit ")
    opened.action_one_to_one.trigger()
    assert opened.zoom_label.text() == "100 %"
    assert zoom_text(0.05, True) == "Fit 5.0 %"


def test_colours_menu_sets_colour_space_and_dithering(opened: MainWindow) -> None:
    titles = [a.text() for a in opened.colours_menu.actions()]
    assert "Colour &Space" in titles and "&Dithering" in titles
    oklab = opened.findChild(type(opened.action_fit), "actionSpaceOklab")
    fs = opened.findChild(type(opened.action_fit), "actionDitherFloydSteinberg")
    oklab.trigger()
    fs.trigger()
    assert opened.controls.color_space_key == "oklab"
    assert opened.controls.dither_key == "floyd-steinberg"
    opened.controls.color_space.setCurrentIndex(0)
    assert opened.findChild(type(opened.action_fit), "actionSpaceLab").isChecked()


def test_save_as_offers_the_folder_last_saved_to(
    qtbot, opened: MainWindow, tmp_path: Path, save_dialog
) -> None:
    elsewhere = tmp_path / "exports"
    elsewhere.mkdir()
    calls = save_dialog(elsewhere / "first.png")
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        opened.action_save_as.trigger()
    opened.action_save_as.trigger()
    assert Path(calls[0][1]).parent == opened.source.path.parent  # first: beside the original
    assert Path(calls[1][1]).parent == elsewhere
    qtbot.waitUntil(lambda: not opened.session._save_ids)


def test_open_starts_in_the_last_folder_and_recent_leaves_out_the_sample(
    qtbot, window: MainWindow, photo_file: Path, monkeypatch: pytest.MonkeyPatch, open_and_wait
) -> None:
    open_and_wait(window, photo_file)
    sample = sample_image_path()
    assert sample is not None
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        window.open_sample()
    assert window.prefs.recent_files() == [str(photo_file.resolve())]
    starts: list[str] = []

    def get_open(parent, title, folder, filters, *args, **kwargs):
        starts.append(folder)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(get_open))
    window.action_open.trigger()
    assert Path(starts[0]) == photo_file.parent
    window._fill_recent_menu()
    entries = [a.text() for a in window.recent_menu.actions() if a.text()]
    assert "photo.png" in entries[0] and str(photo_file.parent.name) in entries[0]
    assert not any(sample.name in e for e in entries)


def test_open_dialog_key_is_the_standard_one(window: MainWindow) -> None:
    assert window.action_open.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)


def test_ctrl_s_asks_the_first_time_then_saves_to_the_same_file(
    qtbot, opened: MainWindow, tmp_path: Path, save_dialog, messages
) -> None:
    target = tmp_path / "mine.png"
    calls = save_dialog(target)
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        opened.action_save.trigger()
    assert len(calls) == 1 and target.exists()
    first = target.stat().st_mtime_ns
    opened.controls.k_spin.setValue(4)
    qtbot.waitUntil(lambda: opened.shown.result.k == 4, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        opened.action_save.trigger()
    assert len(calls) == 1  # no second dialog, no "replace?" question
    assert messages.questions == []
    assert target.stat().st_mtime_ns >= first
    from PIL import Image

    with Image.open(target) as saved:
        assert len(saved.getcolors()) <= 4


def test_the_palette_pane_is_sized_to_its_swatches(qtbot, opened: MainWindow) -> None:
    palette = opened.palette_canvas
    views = opened.images_splitter
    row = opened.main_splitter.widget(1)  # the palette and what sits beside it
    # One row of swatches (46 px) plus the title, unless the curve beside it needs more.
    floor = max(46 + 30, row.minimumSizeHint().height()) + 2
    # k=8 in a 1000 px wide window: one row of swatches, the views take the rest.
    assert row.height() <= floor
    assert views.height() > 3 * row.height()
    # The swatches fill the width: no gap at the right.
    x, _, w, _ = palette._cells[-1]
    assert x + w >= palette.figure.bbox.width - 2 * palette.device_pixel_ratio * 3
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.controls.k_spin.setValue(2)
    assert row.height() <= floor
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.controls.k_spin.setValue(64)
    assert palette.height() > 3 * 46 - 10  # more rows, more room
    assert palette.height() <= 0.45 * opened.main_splitter.height()


def test_an_iphone_heic_opens_in_the_window(
    qtbot, window: MainWindow, tmp_path: Path, photo, open_and_wait
) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    path = tmp_path / "IMG_0042.HEIC"
    pillow_heif.from_pillow(Image.fromarray(photo)).save(path, quality=90)
    open_and_wait(window, path)
    assert window.source.path == path
    assert window.source.pixels.shape == photo.shape
    from kquant_gui.gui.file_formats import open_filter

    assert "*.heic" in open_filter()


def test_plus_steps_k_from_any_spin_box_and_esc_keeps_a_prefixed_value(
    qtbot, window: MainWindow
) -> None:
    from PySide6.QtWidgets import QDoubleSpinBox

    others = [s for s in window.findChildren(QDoubleSpinBox) if s.isVisibleTo(window)]
    if not others:
        pytest.skip("no other spin box in this window")
    box = others[0]
    before = box.text()
    box.setFocus()
    qtbot.waitUntil(box.hasFocus)
    qtbot.keyClick(box, Qt.Key.Key_Plus)
    assert window.controls.k == 9 and box.text() == before  # k moved, nothing typed
    qtbot.keyClick(box, Qt.Key.Key_Minus)
    assert window.controls.k == 8

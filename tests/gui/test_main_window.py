"""The main window, driven as a user would: open, change k, cancel, close, drop, click."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backend_bases import MouseEvent
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from PIL import Image
from PySide6 import QtGui
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QTextDocument
from PySide6.QtWidgets import QApplication, QFileDialog, QSlider, QSpinBox
from qt_support import TIMEOUT_MS, drop_files

from kquant_gui import __version__
from kquant_gui.gui import MainWindow
from kquant_gui.gui.controls import k_to_slider
from kquant_gui.gui.image_canvas import CHECKER_LIGHT_THEME
from kquant_gui.gui.palette_canvas import hex_code


def unique_colors(pixels: np.ndarray) -> int:
    return int(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0).shape[0])


def test_window_exposes_the_named_widgets_and_shortcuts(window: MainWindow) -> None:
    spin = window.findChild(QSpinBox, "kSpinBox")
    assert (spin.minimum(), spin.maximum(), spin.value()) == (1, 256, 8)
    for name in ("originalCanvas", "quantizedCanvas", "paletteCanvas"):
        assert isinstance(window.findChild(FigureCanvasQTAgg, name), FigureCanvasQTAgg), name
    shortcuts = {a.objectName(): a.shortcut() for a in window.actions()}
    assert shortcuts["actionOpen"] == QKeySequence("Ctrl+O")
    assert shortcuts["actionSaveAs"] == QKeySequence("Ctrl+Shift+S")
    assert shortcuts["actionQuit"] == QKeySequence("Ctrl+Q")
    assert shortcuts["actionCancel"] == QKeySequence("Esc")
    assert "actionExportPalette" in shortcuts
    # Nothing to save before there is a result.
    assert not window.action_save_as.isEnabled()
    # The slider beside the spin box drives the same k.
    slider = window.findChild(QSlider, "kSlider")
    slider.setValue(k_to_slider(20))
    assert spin.value() == 20


def test_open_through_the_file_dialog_shows_both_images(
    qtbot, window: MainWindow, photo_file: Path, photo: np.ndarray, monkeypatch
) -> None:
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(photo_file), ""))
    )
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        window.findChild(type(window.action_open), "actionOpen").trigger()
    # Small images are drawn from the full-resolution pixels.
    np.testing.assert_array_equal(window.original_canvas.displayed_pixels(), photo)
    shown = window.shown.result
    np.testing.assert_array_equal(window.quantized_canvas.displayed_pixels(), shown.image)
    assert shown.k == 8 and shown.n_colors <= 8
    assert "photo.png" in window.windowTitle()
    assert "128×96" in window.stats_label.text()
    assert window.action_save_as.isEnabled()
    assert window.prefs.recent_files()[0] == str(photo_file.resolve())


def test_k_change_requantizes_with_at_most_k_colours(qtbot, opened: MainWindow) -> None:
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.controls.k_spin.setValue(3)
    assert opened.shown.result.k == 3
    assert unique_colors(opened.quantized_canvas.displayed_pixels()) <= 3
    assert len(opened.palette_canvas.palette_rgb) == opened.shown.result.n_colors <= 3
    # The + and - actions step k by one.
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.action_k_up.trigger()
    assert opened.shown.result.k == 4


def test_twenty_quick_k_changes_show_only_the_last_result(
    qtbot, window: MainWindow, noise_file: Path, open_and_wait
) -> None:
    # The noise image takes long enough that every superseded job is still running (or
    # queued) when the next change arrives, on however loaded a machine.
    open_and_wait(window, noise_file)
    shown_k: list[int] = []
    cancelled: list[int] = []
    window.resultShown.connect(lambda _id: shown_k.append(window.shown.result.k))
    window.worker.worker.cancelled.connect(cancelled.append)
    for k in range(9, 29):
        window.controls.k_spin.setValue(k)
        QApplication.processEvents()  # let the worker start (and be cancelled) in between
    qtbot.waitUntil(lambda: bool(shown_k) and window.worker.idle(), timeout=TIMEOUT_MS)
    assert shown_k == [28]
    assert window.shown.result.k == 28
    assert cancelled  # the leading job was stopped, not left to finish


def test_cancel_keeps_the_previous_result(
    qtbot, opened: MainWindow, noise_file: Path, open_and_wait
) -> None:
    open_and_wait(opened, noise_file)
    before = opened.shown
    shown: list[int] = []
    finished: list[int] = []
    opened.resultShown.connect(shown.append)
    opened.worker.worker.quantized.connect(lambda outcome: finished.append(outcome.job_id))
    with qtbot.waitSignal(opened.worker.worker.progress, timeout=TIMEOUT_MS):
        opened.controls.k_spin.setValue(200)
    assert opened.is_busy() and opened.cancel_button.isVisibleTo(opened)
    opened.action_cancel.trigger()  # Esc, while the engine is working
    assert not opened.is_busy() and not opened.progress_bar.isVisibleTo(opened)
    qtbot.waitUntil(opened.worker.idle, timeout=TIMEOUT_MS)
    assert shown == [] and finished == []  # the engine stopped, nothing was shown
    assert opened.shown is before and opened.shown.result.k == 8
    assert "Cancelled" in opened.statusBar().currentMessage()


def test_closing_while_working_stops_the_thread(qtbot, make_window, noise_file: Path) -> None:
    window = make_window()
    with qtbot.waitSignal(window.worker.worker.progress, timeout=TIMEOUT_MS):
        window.open_path(noise_file)  # opens, then starts quantizing
    assert window.is_busy()
    window.close()
    assert not window.worker.thread.isRunning()


def test_bad_file_shows_a_message_and_keeps_the_image(
    qtbot, opened: MainWindow, bad_file: Path, messages, photo: np.ndarray
) -> None:
    with qtbot.waitSignal(opened.errorShown, timeout=TIMEOUT_MS):
        opened.open_path(bad_file)
    title, text = messages.warnings[-1]
    assert title == "Could not open image" and bad_file.name in text
    assert "Traceback" not in text
    assert opened.source.path.name == "photo.png"
    np.testing.assert_array_equal(opened.original_canvas.displayed_pixels(), photo)
    # Still usable afterwards.
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.controls.k_spin.setValue(5)


def test_a_file_name_that_looks_like_html_is_shown_as_written(
    qtbot, window: MainWindow, tmp_path: Path, messages
) -> None:
    path = tmp_path / "<b>x.png"
    path.write_bytes(b"not an image")
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
        window.open_path(path)
    _, text = messages.warnings[-1]
    # Qt takes this text for HTML (as it would the bare name); rendered, it reads as written.
    assert QtGui.Qt.mightBeRichText(text)
    doc = QTextDocument()
    doc.setHtml(text)
    assert "<b>x.png" in doc.toPlainText()


def test_a_worker_error_becomes_a_message_naming_the_file(
    qtbot, opened: MainWindow, messages, monkeypatch
) -> None:
    from kquant_gui.gui import tasks

    def broken(*args, **kwargs):
        raise MemoryError("out of memory while clustering")

    monkeypatch.setattr(tasks, "quantize", broken)
    with qtbot.waitSignal(opened.errorShown, timeout=TIMEOUT_MS):
        opened.controls.k_spin.setValue(6)
    title, text = messages.warnings[-1]
    assert title == "Could not quantize"
    assert "photo.png" in text and "out of memory" in text
    assert not opened.is_busy()
    monkeypatch.undo()
    with qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS):
        opened.controls.k_spin.setValue(7)


def test_a_bug_in_the_worker_is_an_internal_error_naming_the_task(
    qtbot, opened: MainWindow, messages, monkeypatch, caplog
) -> None:
    from kquant_gui.gui import tasks

    def broken(*args, **kwargs):
        raise IndexError("index 9 is out of bounds")

    monkeypatch.setattr(tasks, "quantize", broken)
    with (
        caplog.at_level("ERROR", logger="kquant_gui.gui.worker"),
        qtbot.waitSignal(opened.errorShown, timeout=TIMEOUT_MS),
    ):
        opened.controls.k_spin.setValue(6)
    title, text = messages.warnings[-1]
    assert title == "Internal error"
    assert "while quantizing to k=6" in text and "IndexError" in text and "bug" in text
    assert "Traceback" not in text and not opened.is_busy()
    assert [r.exc_info[0] for r in caplog.records] == [IndexError]  # the traceback is logged
    assert opened.shown.result.k == 8  # the result before is still shown


def test_dragging_something_that_is_not_a_file_is_refused(window: MainWindow) -> None:
    assert not drop_files(window, [])


def test_dropping_several_files_opens_the_first_and_says_so(
    qtbot, opened: MainWindow, other_file: Path, photo_file: Path
) -> None:
    with qtbot.waitSignal(opened.imageLoaded, timeout=TIMEOUT_MS):
        assert drop_files(opened, [other_file, photo_file])
    assert "2 files dropped" in opened.statusBar().currentMessage()
    qtbot.waitSignal(opened.resultShown, timeout=TIMEOUT_MS).wait()
    assert opened.source.path == other_file
    assert opened.shown.result.n_colors == 6  # the stripes' own six colours, kept exactly
    assert opened.stats_label.text().startswith("80×64 px · 6 colours")


def test_dropping_a_non_image_keeps_the_current_image(
    qtbot, opened: MainWindow, tmp_path: Path, messages
) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    with qtbot.waitSignal(opened.errorShown, timeout=TIMEOUT_MS):
        assert drop_files(opened, [text_file])
    assert "notes.txt" in messages.warnings[-1][1]
    assert opened.source.path.name == "photo.png"


def test_swatch_click_copies_hex_and_highlights_its_pixels(qtbot, opened: MainWindow) -> None:
    result = opened.shown.result
    index = 2
    x, y = opened.palette_canvas.cell_center(index)
    qtbot.mouseClick(opened.palette_canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(y)))
    code = hex_code(result.palette[index])
    assert QGuiApplication.clipboard().text() == code
    assert code in opened.statusBar().currentMessage()
    drawn = opened.quantized_canvas.displayed_pixels()
    mine = result.labels == index
    np.testing.assert_array_equal(drawn[~mine], result.image[~mine])
    assert (drawn[mine] != result.image[mine]).any()
    # Esc with nothing running clears the highlight.
    opened.action_cancel.trigger()
    np.testing.assert_array_equal(opened.quantized_canvas.displayed_pixels(), result.image)


def test_views_share_zoom_and_pan(opened: MainWindow) -> None:
    orig, quant = opened.original_canvas, opened.quantized_canvas
    opened.action_zoom_in.trigger()
    opened.action_zoom_in.trigger()
    assert orig.ax.get_xlim() == quant.ax.get_xlim()
    assert orig.ax.get_ylim() == quant.ax.get_ylim()
    x0, x1 = quant.ax.get_xlim()
    assert x1 - x0 < quant.device_size()[0] / quant.fit_scale()  # zoomed in
    opened.action_one_to_one.trigger()
    x0, x1 = quant.ax.get_xlim()
    assert abs((x1 - x0) - quant.device_size()[0]) < 1e-6  # one image pixel per screen pixel
    opened.action_fit.trigger()
    x0, x1 = quant.ax.get_xlim()
    y1, y0 = quant.ax.get_ylim()
    assert x0 <= 0 and x1 >= 128 and y0 <= 0 and y1 >= 96  # the whole image


def test_about_names_the_version(opened: MainWindow, messages) -> None:
    opened.action_about.trigger()
    assert __version__ in messages.abouts[-1]


def test_settings_persist_across_restarts(
    qtbot, make_window, photo_file: Path, open_and_wait
) -> None:
    first = make_window()
    open_and_wait(first, photo_file)
    first.controls.set_values(5, "oklab", "ordered")
    first.resize(700, 520)  # the offscreen screen is 800x600
    first.close()

    second = make_window(size=None)
    assert second.controls.k == 5
    assert second.controls.color_space_key == "oklab"
    assert second.controls.dither_key == "ordered"
    assert (second.width(), second.height()) == (700, 520)
    assert second.prefs.recent_files() == [str(photo_file.resolve())]
    assert second.prefs.last_folder == str(photo_file.parent.resolve())
    second._fill_recent_menu()
    entry = next(a for a in second.recent_menu.actions() if "photo.png" in a.text())
    with qtbot.waitSignal(second.resultShown, timeout=TIMEOUT_MS):
        entry.trigger()  # File > Open Recent > photo.png
    assert second.source.path == photo_file.resolve()
    assert second.shown.result.k == 5  # opened with the remembered settings


def test_dark_theme_recolours_the_figures(window: MainWindow) -> None:
    try:
        window.set_theme("dark")
        face = window.quantized_canvas.figure.get_facecolor()
        assert sum(face[:3]) / 3 < 0.4
        assert window.prefs.theme == "dark"
    finally:
        window.set_theme("light")
    assert sum(window.quantized_canvas.figure.get_facecolor()[:3]) / 3 > 0.6


def test_results_reach_the_views_on_the_main_thread(
    qtbot, window: MainWindow, photo_file: Path, open_and_wait, monkeypatch
) -> None:
    import threading

    from kquant_gui.gui.image_canvas import ImageCanvas

    threads: list[bool] = []
    original = ImageCanvas.set_image

    def spy(self, *args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ImageCanvas, "set_image", spy)
    open_and_wait(window, photo_file)
    assert threads and all(threads)


def test_transparent_pixels_get_their_own_swatch_and_no_colour_difference(
    qtbot, window: MainWindow, tmp_path: Path, open_and_wait
) -> None:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (40, 60, 4), dtype=np.uint8)
    img[..., 3] = 0  # invisible noise: its colours must not count
    colors = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200], [240, 240, 240]], np.uint8)
    img[10:30, 10:50, :3] = colors[(np.arange(40) // 10)][None, :, :]
    img[10:30, 10:50, 3] = 255
    path = tmp_path / "sticker.png"
    Image.fromarray(img).save(path)
    open_and_wait(window, path)
    result = window.shown.result
    assert result.transparent_index is not None
    assert window.palette_canvas.describe(result.transparent_index).startswith("transparent")
    qtbot.waitUntil(lambda: window.measured is not None, timeout=TIMEOUT_MS)
    assert window.measured.mean_delta_e == 0.0  # the four visible colours are kept exactly
    assert "mean ΔE2000 0.00" in window.stats_label.text()


def test_transparent_pixels_show_a_checkerboard_not_the_background(
    window: MainWindow, tmp_path: Path, open_and_wait
) -> None:
    img = np.zeros((60, 80, 4), dtype=np.uint8)
    img[:, 40:] = (220, 20, 20, 255)  # left half fully transparent, right half opaque red
    path = tmp_path / "half.png"
    Image.fromarray(img).save(path)
    open_and_wait(window, path)
    light, dark = CHECKER_LIGHT_THEME
    for canvas in (window.original_canvas, window.quantized_canvas):
        assert canvas.checker_artist.get_visible()
        canvas.draw()
        buffer = np.asarray(canvas.buffer_rgba())[..., :3]
        height = buffer.shape[0]

        def drawn(x: float, y: float, canvas=canvas, buffer=buffer, height=height):
            # Image coordinates -> device pixels; matplotlib's y axis points up.
            dx, dy = canvas.ax.transData.transform((x, y))
            return tuple(int(v) for v in buffer[height - 1 - int(dy), int(dx)])

        seen = {drawn(x + 0.5, y + 0.5) for x in range(2, 38, 2) for y in range(2, 58, 2)}
        assert seen == {light, dark}, seen
        assert drawn(60.5, 30.5) == (220, 20, 20)


def test_transparency_background_can_be_white_or_black_and_is_remembered(
    make_window, tmp_path: Path, open_and_wait
) -> None:
    img = np.zeros((60, 80, 4), dtype=np.uint8)
    img[:, 40:] = (220, 20, 20, 255)
    path = tmp_path / "half.png"
    Image.fromarray(img).save(path)
    window = make_window()
    open_and_wait(window, path)
    canvas = window.quantized_canvas
    for name, rgb in (("black", (0, 0, 0)), ("white", (255, 255, 255))):
        window.findChild(QAction, f"actionBackground{name.capitalize()}").trigger()
        canvas.draw()
        buffer = np.asarray(canvas.buffer_rgba())[..., :3]
        dx, dy = canvas.ax.transData.transform((10.5, 30.5))
        assert tuple(int(v) for v in buffer[buffer.shape[0] - 1 - int(dy), int(dx)]) == rgb
    window.close()
    again = make_window()
    assert again.prefs.background == "white"
    assert again.quantized_canvas.background == "white"
    assert again.background_actions["white"].isChecked()


def test_hovering_shows_the_pixel_under_the_pointer(opened: MainWindow, photo: np.ndarray) -> None:
    canvas = opened.quantized_canvas
    canvas.draw()
    result = opened.shown.result

    def move_to(x: float, y: float) -> None:
        # Image coordinates -> device pixels, then a real matplotlib motion event.
        dx, dy = canvas.ax.transData.transform((x, y))
        MouseEvent("motion_notify_event", canvas, dx, dy)._process()

    move_to(10.5, 20.5)
    text = opened.pixel_label.text()
    assert opened.pixel_label.isVisibleTo(opened)
    entry = int(result.labels[20, 10])
    assert text.startswith("x 10 y 20 · " + hex_code(photo[20, 10]))
    assert f"→ {hex_code(result.palette[entry])} (entry {entry + 1} of {result.n_colors})" in text
    move_to(-5.0, 20.5)  # beside the image
    assert not opened.pixel_label.isVisibleTo(opened)


def test_an_unexpected_exception_becomes_a_message(messages) -> None:
    from kquant_gui.gui.app import _show_unexpected

    try:
        raise RuntimeError("something odd")
    except RuntimeError as exc:
        _show_unexpected(type(exc), exc, exc.__traceback__)
    assert "something odd" in messages.warnings[-1][1]


def test_opening_and_quantizing_do_not_resize_the_views(
    qtbot, make_window, photo_file: Path, open_and_wait
) -> None:
    # The status bar's figures take a second line once a result is measured, and the
    # progress bar and Cancel show while a job runs; were the bar to grow for either, every
    # view would shrink by a few pixels and be fitted and drawn again.
    first = make_window()  # past the first use's hints, which go with the first image
    open_and_wait(first, photo_file)
    first.close()
    window = make_window()
    QApplication.processEvents()  # laid out
    views = (window.original_canvas, window.quantized_canvas)
    sizes = [c.size() for c in views]
    height = window.statusBar().height()
    open_and_wait(window, photo_file)
    qtbot.waitUntil(lambda: window.measured is not None, timeout=TIMEOUT_MS)
    assert "\n" in window.stats_label.text()  # both lines of figures
    assert window.statusBar().height() == height
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT_MS):
        window.controls.k_spin.setValue(5)
        qtbot.waitUntil(window.progress_bar.isVisible, timeout=TIMEOUT_MS)
        assert window.statusBar().height() == height
    assert window.statusBar().height() == height
    assert [c.size() for c in views] == sizes

"""The main window: open or drop an image, choose k, watch it quantize, compare, save.

The window wires its parts together and draws what happens. What is open, shown and running
lives in its :class:`.session.Session` (which hands the heavy work to the background thread
and drops superseded outcomes); the views, actions, menus and toolbar are built by
:mod:`.window_parts`, the modal questions asked by :mod:`.dialogs`. Event handlers stay thin:
each turns its event into a path or a setting and calls one method.
"""

from __future__ import annotations

import math
import os
import urllib.parse
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
)
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QSplitter,
    QToolBar,
    QToolButton,
    QWidget,
)

from ..names import printable_name
from . import dialogs, file_formats, tasks
from . import window_parts as parts
from .controls import QuantizeControls
from .curve_panel import CurveBinding, CurvePanel
from .elided_label import ElidedLabel
from .image_canvas import ImageCanvas, ViewState
from .palette_canvas import PaletteCanvas, hex_code
from .palette_edit import PaletteEditor
from .preferences import Preferences, first_run_size
from .session import Recipe, Session
from .status_text import (
    image_summary,
    pixel_summary,
    result_summary,
    result_titles,
    selection_note,
)
from .theme import apply_theme
from .worker import BackgroundWorker

#: How long transient status messages stay.
MESSAGE_MS = 6000


class MainWindow(QMainWindow):
    """The kquant-gui window.

    Parameters
    ----------
    settings : QSettings, optional
        Where settings persist; defaults to the user's INI file.

    Signals
    -------
    imageLoaded(str)
        A newly opened image is on screen (its path).
    resultShown(int)
        A quantization result is on screen (its job id).
    errorShown(str)
        An error message was shown to the user.
    saved(str)
        A file was written (its path).
    """

    imageLoaded = Signal(str)
    resultShown = Signal(int)
    errorShown = Signal(str)
    saved = Signal(str)

    # Built by .window_parts (as Qt Designer's setupUi would).
    view: ViewState
    original_canvas: ImageCanvas
    quantized_canvas: ImageCanvas
    palette_canvas: PaletteCanvas
    original_title: ElidedLabel
    quantized_title: ElidedLabel
    palette_title: ElidedLabel
    images_splitter: QSplitter
    main_splitter: QSplitter
    bottom_splitter: QSplitter
    curve_panel: CurvePanel
    action_open: QAction
    action_open_sample: QAction
    action_save_as: QAction
    action_export_palette: QAction
    action_quit: QAction
    action_k_up: QAction
    action_k_down: QAction
    action_suggest_k: QAction
    action_cancel: QAction
    action_fit: QAction
    action_one_to_one: QAction
    action_zoom_in: QAction
    action_zoom_out: QAction
    action_about: QAction
    background_actions: dict[str, QAction]
    theme_actions: dict[str, QAction]
    recent_menu: QMenu
    file_menu: QMenu
    colours_menu: QMenu
    view_menu: QMenu
    controls: QuantizeControls
    settings_toolbar: QToolBar
    stats_label: ElidedLabel
    pixel_label: QLabel
    progress_bar: QProgressBar
    cancel_button: QToolButton

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle("kquant-gui")
        self.setAcceptDrops(True)
        self.setMinimumSize(640, 420)
        self.prefs = Preferences(settings)
        self._closed = False

        parts.build_views(self)
        parts.build_actions(self)
        parts.build_menus(self)
        self._fill_recent_menu()
        parts.build_toolbar(self)
        parts.build_status_bar(self)
        self._set_busy("")
        # Started last: if building the widgets failed, no thread would be left running.
        self.worker = BackgroundWorker(self)
        for canvas in (self.original_canvas, self.quantized_canvas, self.palette_canvas):
            canvas.draw_gate = self.worker.gate
        self.session = Session(self.worker, self)
        # The quality curve: its own thread, fed by the session's outcomes.
        self.curve = CurveBinding(self, self.curve_panel, self.action_suggest_k)
        self.palette_editor = PaletteEditor(self)
        self.palette_editor.add_to_menus(self.file_menu, self.colours_menu, self.view_menu)
        self._connect()
        self._restore()
        self._update_actions()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # == what the session holds ===============================================================
    @property
    def source(self) -> tasks.Loaded | None:
        """The image open now."""
        return self.session.source

    @property
    def shown(self) -> tasks.Quantized | None:
        """The result on screen."""
        return self.session.shown

    @property
    def measured(self) -> tasks.Measured | None:
        """The status-bar figures of the result on screen, once measured."""
        return self.session.measurement

    def is_busy(self) -> bool:
        """True while an image is being opened or quantized."""
        return self.session.is_busy()

    # == construction =========================================================================
    def _connect(self) -> None:
        self.quantized_canvas.clicked.connect(self._quantized_clicked)
        self.original_canvas.hovered.connect(self._hovered)
        self.quantized_canvas.hovered.connect(self._hovered)
        self.palette_canvas.swatchClicked.connect(self.select_swatch)
        self.controls.changed.connect(self._settings_changed)
        s = self.session
        s.busyChanged.connect(self._set_busy)
        s.progress.connect(self._on_progress)
        s.loaded.connect(self._on_loaded)
        s.resultReady.connect(self._on_result)
        s.measured.connect(self._update_stats)
        s.saved.connect(self._on_saved)
        s.failed.connect(self._on_failed)
        s.cancelled.connect(self._note_cancelled)

    def _restore(self) -> None:
        p = self.prefs
        self.controls.set_values(p.k, p.color_space, p.dither, p.dither_strength)
        self.session.set_recipe(self._recipe())
        self.theme_actions[p.theme].setChecked(True)
        if p.theme != "system":
            apply_theme(p.theme)
        self.set_background(p.background)
        geometry = p.bytes("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(first_run_size(self.screen()))
        for key, splitter in (
            ("mainSplitter", self.main_splitter),
            ("imagesSplitter", self.images_splitter),
            ("bottomSplitter", self.bottom_splitter),
        ):
            state = p.bytes(key)
            if state is not None:
                splitter.restoreState(state)
        if p.bytes("mainSplitter") is None:
            self.main_splitter.setSizes([600, 190])

    def _save_settings(self) -> None:
        p = self.prefs
        p.k = self.controls.k
        p.color_space = self.controls.color_space_key
        p.dither = self.controls.dither_key
        p.dither_strength = self.controls.dither_strength_value
        p.set_bytes("geometry", self.saveGeometry())
        p.set_bytes("mainSplitter", self.main_splitter.saveState())
        p.set_bytes("imagesSplitter", self.images_splitter.saveState())
        p.set_bytes("bottomSplitter", self.bottom_splitter.saveState())
        p.sync()

    # == opening ==============================================================================
    @Slot()
    def open_dialog(self) -> None:
        """File > Open…: ask for an image and open it."""
        path = dialogs.ask_open_path(self, self.prefs.last_folder)
        if path is not None:
            self.open_path(path)

    @Slot()
    def open_sample(self) -> None:
        """Open the bundled sample photo."""
        from .resources import sample_image_path

        sample = sample_image_path()
        if sample is None:
            self._error("Sample image missing", "The bundled sample image was not found.")
            return
        self.open_path(sample)

    def open_paths(self, paths: list[str | Path]) -> None:
        """Open the first of ``paths`` (a drop of several files), saying so when there are more."""
        if not paths:
            self._error("Nothing to open", "Only image files can be opened here.")
            return
        self.open_path(paths[0])
        if len(paths) > 1:
            first = printable_name(Path(paths[0]).name)
            self.statusBar().showMessage(
                f"{len(paths)} files dropped: opening {first}, the first one "
                "(one image at a time)",
                MESSAGE_MS,
            )

    def open_path(self, path: str | Path) -> None:
        """Decode ``path`` in the background; the current image stays until it succeeds."""
        self.session.open(Path(path))

    @Slot(object)
    def _on_loaded(self, outcome: tasks.Loaded) -> None:
        self.prefs.add_recent_file(outcome.path)
        self.prefs.last_folder = outcome.path.resolve().parent
        self.setWindowTitle(f"{printable_name(outcome.path.name)} — kquant-gui")
        # Old images out first, then the new view: resetting the view redraws every canvas,
        # and with the old pictures still in, that meant resampling them once more for nothing
        # on the main thread.
        self.quantized_canvas.set_image(None, "Quantizing…")
        self.original_canvas.set_image(None)
        self.view.reset(outcome.display.width, outcome.display.height)
        self.original_canvas.set_image(outcome.display)
        name, shown = printable_name(outcome.path.name), outcome.display
        self.original_title.setText(f"Original · {name} · {shown.width}×{shown.height}")
        self.quantized_title.setText("Quantized")
        self.palette_canvas.clear("")
        self.palette_title.setText("Palette")
        self._update_stats()
        self._update_actions()
        self.imageLoaded.emit(str(outcome.path))

    # == quantizing ===========================================================================
    @Slot()
    def _settings_changed(self) -> None:
        # One undoable step, which keeps locked colours (see palette_edit).
        c = self.controls
        self.palette_editor.settings_changed(
            c.k, c.color_space_key, c.dither_key, c.dither_strength_value
        )

    def _recipe(self) -> Recipe:
        c = self.controls
        return Recipe(c.k, c.color_space_key, c.dither_key, c.dither_strength_value)

    @Slot(float, str)
    def _on_progress(self, fraction: float, stage: str) -> None:
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(int(fraction * 1000))
        self.progress_bar.setFormat(f"{stage} %p%")

    @Slot(object)
    def _on_result(self, outcome: tasks.Quantized) -> None:
        result = outcome.result
        self.quantized_canvas.set_image(outcome.display)
        self.palette_canvas.set_palette(result.palette, result.counts, result.transparent_index)
        self.original_canvas.set_highlight(None)
        quantized, palette = result_titles(result)
        self.quantized_title.setText(quantized)
        self.palette_title.setText(palette)
        self._update_stats()
        self._update_actions()
        self.resultShown.emit(outcome.job_id)

    @Slot()
    def cancel(self) -> None:
        """Esc: stop the running work; with nothing running, clear the swatch highlight."""
        if not self.session.cancel():
            self.select_swatch(None)

    @Slot()
    def _note_cancelled(self) -> None:
        if self.shown is not None:
            note = f"Cancelled; still showing the k={self.shown.result.k} result"
        else:
            note = "Cancelled"
        self.statusBar().showMessage(note, MESSAGE_MS)

    # == palette and highlight ================================================================
    @Slot(int)
    def select_swatch(self, index: int | None) -> None:
        """Highlight the pixels of palette entry ``index`` and copy its hex code (None: clear)."""
        if self.shown is None or index is None or index == self.palette_canvas.selected:
            self.palette_canvas.set_selected(None)
            self.quantized_canvas.set_highlight(None)
            return
        result = self.shown.result
        if not 0 <= index < result.n_colors:
            return
        self.palette_canvas.set_selected(index)
        self.quantized_canvas.set_highlight(index)
        if index != result.transparent_index:
            QGuiApplication.clipboard().setText(hex_code(result.palette[index]))
        self.statusBar().showMessage(selection_note(result, index), MESSAGE_MS)

    @Slot(float, float)
    def _hovered(self, x: float, y: float) -> None:
        text = None
        if self.source is not None and not (math.isnan(x) or math.isnan(y)):
            text = pixel_summary(self.source, self.shown, x, y)
        self.pixel_label.setText(text or "")
        self.pixel_label.setVisible(text is not None)

    def _quantized_clicked(self, x: float, y: float) -> None:
        if self.shown is None:
            return
        labels = self.shown.result.labels
        col, row = int(x), int(y)
        if 0 <= row < labels.shape[0] and 0 <= col < labels.shape[1]:
            self.select_swatch(int(labels[row, col]))
        else:
            self.select_swatch(None)

    # == saving ===============================================================================
    @Slot()
    def save_as_dialog(self) -> None:
        """File > Save As…: choose where to save the quantized image shown."""
        path = self._ask_target("Save Quantized Image", ".png", file_formats.save_filter())
        if path is not None:
            self.save_to(path)

    @Slot()
    def export_palette_dialog(self) -> None:
        """File > Export Palette…: choose a palette file to write."""
        path = self._ask_target("Export Palette", ".gpl", file_formats.palette_filter())
        if path is not None:
            self.export_palette_to(path)

    def _ask_target(self, title: str, suffix: str, filters: str) -> Path | None:
        """Save dialog proposing ``<stem>-k<K><suffix>`` beside the original."""
        if self.shown is None or self.source is None:
            return None
        src = self.source.path
        default = src.with_name(f"{src.stem}-k{self.shown.result.k}{suffix}")
        return dialogs.ask_save_path(self, title, default, suffix, filters)

    def save_to(self, path: str | Path) -> bool:
        """Save the result shown to ``path`` (format from the extension), asking before
        replacing a file. Returns True when a save was started."""
        return self._write(Path(path), "image")

    def export_palette_to(self, path: str | Path) -> bool:
        """Write the palette shown to ``path``; returns True when the export was started."""
        return self._write(Path(path), "palette")

    def _write(self, path: Path, kind: str) -> bool:
        if self.shown is None or self.source is None:
            return False
        problem = file_formats.check_suffix(path, kind)
        if problem:
            self._error("Cannot save", problem)
            return False
        overwrite = dialogs.confirm_target(self, path, self.source.path)
        if overwrite is None:
            return False
        self.prefs.last_folder = path.resolve().parent
        self.session.save(path, kind, overwrite=overwrite)
        self.statusBar().showMessage(f"Saving {printable_name(path.name)}…")
        return True

    @Slot(object)
    def _on_saved(self, outcome: tasks.Saved) -> None:
        what = "palette" if outcome.kind == "palette" else "image"
        notes = "".join(f" — {note}" for note in outcome.notes)
        self.statusBar().showMessage(
            f"Saved {what} {printable_name(outcome.path.name)} "
            f"({file_formats.human_size(outcome.size)}){notes}",
            2 * MESSAGE_MS,
        )
        self.saved.emit(str(outcome.path))

    # == errors ===============================================================================
    @Slot(object)
    def _on_failed(self, failure: tasks.Failed) -> None:
        if isinstance(failure, tasks.MeasureFailed):
            # Only the status-bar figures are missing; the result itself is fine.
            self.statusBar().showMessage(f"Could not measure the result: {failure.message}")
            return
        if isinstance(failure, tasks.SaveFailed):
            self.statusBar().clearMessage()
        self._error(*dialogs.failure_text(failure, self.source.path if self.source else None))

    def _error(self, title: str, message: str) -> None:
        self.statusBar().showMessage(message.splitlines()[0], MESSAGE_MS)
        dialogs.warn(self, title, message)
        self.errorShown.emit(message)

    # == status ===============================================================================
    @Slot(str)
    def _set_busy(self, text: str) -> None:
        """Show what runs (``text``) in the progress bar, or hide it when ``text`` is ""."""
        busy = bool(text)
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.action_cancel.setEnabled(True)
        if busy:
            # Said in the progress bar, not as a status message, so that a note shown just
            # before (several files dropped, saved as…) stays readable.
            self.progress_bar.setRange(0, 0)  # indeterminate until the first progress report
            self.progress_bar.setFormat(text)

    @Slot()
    def _update_stats(self) -> None:
        parts = []
        if self.source is not None:
            parts.append(image_summary(self.source))
        if self.shown is not None and self.source is not None:
            parts.append(result_summary(self.shown, self.measured, self.source.file_size))
        self.stats_label.setText("  │  ".join(parts))
        self.stats_label.setToolTip("\n".join(parts))

    def _update_actions(self) -> None:
        has_result = self.shown is not None
        self.action_save_as.setEnabled(has_result)
        self.action_export_palette.setEnabled(has_result)
        self.palette_editor.update_actions()

    # == recent files, theme, about ===========================================================
    def _fill_recent_menu(self) -> None:
        parts.fill_recent_menu(self.recent_menu, self.prefs, self.open_path)

    def set_theme(self, name: str) -> None:
        """Switch the theme ("system", "light" or "dark") and remember it."""
        self.prefs.theme = name
        self.theme_actions[name].setChecked(True)
        apply_theme(name)
        self._recolor_figures()

    def set_background(self, name: str) -> None:
        """Show transparent pixels over a checkerboard, white or black, and remember it."""
        self.prefs.background = name
        self.background_actions[name].setChecked(True)
        for canvas in (self.original_canvas, self.quantized_canvas):
            canvas.set_background(name)

    def _recolor_figures(self) -> None:
        for canvas in (
            self.original_canvas,
            self.quantized_canvas,
            self.palette_canvas,
            self.curve_panel.canvas,
        ):
            canvas.apply_theme()

    @Slot()
    def show_about(self) -> None:
        """Help > About: name, version and what it is built on."""
        dialogs.show_about(self)

    # == Qt events ============================================================================
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_files(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if _local_files(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_files(event.mimeData().urls())
        event.acceptProposedAction()
        self.open_paths(paths)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # The desktop switched between light and dark: the figures follow.
        palette_events = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
        if event.type() in palette_events and hasattr(self, "palette_canvas"):
            self._recolor_figures()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_settings()
        self.shutdown()
        super().closeEvent(event)

    @Slot()
    def shutdown(self) -> None:
        """Cancel, quit and wait for the worker thread (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        self.session.shutdown()
        self.curve.shutdown()
        self.worker.shutdown()


def _local_files(urls: list[QUrl]) -> list[Path]:
    return [p for p in map(_local_path, urls) if p is not None]


def _local_path(url: QUrl) -> Path | None:
    """The file a dropped URL names, byte for byte.

    Qt decodes a URL's path as UTF-8 and replaces what is not: a file whose name is not UTF-8
    would become another name, of no file. On POSIX the percent-encoded bytes are decoded as
    the file system does (undecodable bytes kept as surrogates, shown escaped).
    """
    if not url.isLocalFile() or not url.toLocalFile():
        return None
    if os.name == "posix" and not url.host():
        encoded = url.path(QUrl.ComponentFormattingOption.FullyEncoded)
        return Path(os.fsdecode(urllib.parse.unquote_to_bytes(encoded)))
    return Path(url.toLocalFile())

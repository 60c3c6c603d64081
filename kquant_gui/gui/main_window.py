"""The main window: open or drop an image, choose k, watch it quantize, compare, save.

The window wires its parts together and draws what happens. What is open, shown and running
lives in its :class:`.session.Session` (which hands the heavy work to the background thread
and drops superseded outcomes); the views, actions, menus and toolbar are built by
:mod:`.window_parts`, the modal questions asked by :mod:`.dialogs`. Event handlers stay thin:
each turns its event into a path or a setting and calls one method.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
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
from . import dialogs, tasks, view_tools
from . import window_parts as parts
from .batch_dialog import BatchDialog
from .clipboard import add_clipboard_actions
from .compare_views import CompareViews
from .controls import QuantizeControls
from .curve_panel import CurveBinding, CurvePanel
from .elided_label import ElidedLabel
from .file_drop import FileDrop
from .help_dialog import STATS_TOOLTIP
from .image_canvas import ImageCanvas, ViewState
from .job_feedback import JobFeedback
from .key_routing import route_step_keys
from .palette_canvas import PaletteCanvas, hex_code
from .palette_edit import PaletteEditor
from .preferences import Preferences, first_run_size
from .resources import sample_image_path
from .save_flow import SaveFlow
from .session import Recipe, Session
from .space_canvas import SpaceView
from .status_notes import show_note
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
    action_save: QAction
    action_save_as: QAction
    action_export_palette: QAction
    action_batch: QAction
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
    engine_menu: QMenu
    view_menu: QMenu
    zoom_label: QLabel
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
        FileDrop(self, self.open_paths)
        self.setMinimumSize(640, 420)
        self.prefs = Preferences(settings)
        self._closed = False
        self.batch_dialog: BatchDialog | None = None
        self.saving = SaveFlow(self)

        parts.build_views(self)
        parts.build_actions(self)
        parts.build_menus(self)
        self._fill_recent_menu()
        parts.build_toolbar(self)
        parts.build_status_bar(self)
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
        self.jobs = JobFeedback(self)  # progress bar, Cancel, roll-back after a cancel
        self.compare = CompareViews(self)  # after _connect: it redraws after the window does
        self.space_view = SpaceView(self)
        self.compare.add_to_menu(self.view_menu, self.space_view.action)
        add_clipboard_actions(self)
        route_step_keys(self, self.controls.step_k)  # + and − step k from any spin box
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
        s.loaded.connect(self._on_loaded)
        s.resultReady.connect(self._on_result)
        s.measured.connect(self._update_stats)
        s.saved.connect(self._on_saved)
        s.failed.connect(self._on_failed)

    def _restore(self) -> None:
        p = self.prefs
        self.controls.set_values(p.k, p.color_space, p.dither, p.dither_strength, p.engine)
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
        p.engine = self.controls.engine
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
            name = printable_name(Path(paths[0]).name)
            self._note(
                f"{len(paths)} files dropped: opening {name}, the first one (one image at a time)",
                name=name,
            )

    def open_path(self, path: str | Path) -> None:
        """Decode ``path`` in the background; the current image stays until it succeeds."""
        path = Path(path)
        # A note about the previous image (saved as…) would hide the next one's figures.
        self.statusBar().clearMessage()
        if self.source is None and not path.is_dir():
            # Not the drop hint while a file named on the command line (or the sample) loads.
            self.original_canvas.set_message(f"Loading {printable_name(path.name)}…")
            self.original_canvas.draw_idle()
        self.session.open(path)

    @Slot(object)
    def _on_loaded(self, outcome: tasks.Loaded) -> None:
        if outcome.path.resolve() != (sample_image_path() or Path()).resolve():
            # The sample is one menu item away; Open and Recent are for the user's own files.
            self.prefs.add_recent_file(outcome.path)
            self.prefs.last_folder = outcome.path.resolve().parent
        self.saving.image_changed()
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
            c.k, c.color_space_key, c.dither_key, c.dither_strength_value, c.engine
        )

    def _recipe(self) -> Recipe:
        c = self.controls
        return Recipe(
            c.k, c.color_space_key, c.dither_key, c.dither_strength_value, engine=c.engine
        )

    @Slot(object)
    def _on_result(self, outcome: tasks.Quantized) -> None:
        result = outcome.result
        self.quantized_canvas.set_image(outcome.display)
        self.palette_canvas.set_palette(result.palette, result.counts, result.transparent_index)
        parts.fit_palette_pane(self, result.n_colors)
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
        self._note(selection_note(result, index))

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

    # == saving (see .save_flow) ============================================================
    @Slot()
    def save_as_dialog(self) -> None:
        """File > Save As…: choose where to save the quantized image shown."""
        self.saving.save_as()

    @Slot()
    def save(self) -> None:
        """File > Save (Ctrl+S): to the last Save As target, asking the first time."""
        self.saving.save()

    @Slot()
    def export_palette_dialog(self) -> None:
        """File > Export Palette…: choose a palette file to write."""
        self.saving.export_palette()

    def save_to(self, path: str | Path) -> bool:
        """Save the result shown to ``path`` (format from the extension), asking before
        replacing a file. Returns True when a save was started."""
        return self.saving.write(Path(path), "image")

    def export_palette_to(self, path: str | Path) -> bool:
        """Write the palette shown to ``path``; returns True when the export was started."""
        return self.saving.write(Path(path), "palette")

    @Slot(object)
    def _on_saved(self, outcome: tasks.Saved) -> None:
        self._note(
            self.saving.saved_note(outcome), 2 * MESSAGE_MS, printable_name(outcome.path.name)
        )
        self.saved.emit(str(outcome.path))

    # == batch ================================================================================
    @Slot()
    def open_batch(self) -> BatchDialog:
        """File > Batch…: the batch window (one per main window), with the current settings."""
        if self.batch_dialog is None:
            # The session's recipe: the controls' settings with the locks, palette and seed.
            self.batch_dialog = BatchDialog(
                lambda: self.session.recipe, self.prefs.last_folder, self
            )
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        self.batch_dialog.activateWindow()
        return self.batch_dialog

    # == errors ===============================================================================
    @Slot(object)
    def _on_failed(self, failure: tasks.Failed) -> None:
        if isinstance(failure, tasks.MeasureFailed):
            # Only the status-bar figures are missing; the result itself is fine.
            self._note(f"Could not measure the result: {failure.message}", 0)
            return
        if isinstance(failure, tasks.LoadFailed) and self.source is None:
            self.original_canvas.set_message(parts.DROP_HINT)
        if isinstance(failure, tasks.SaveFailed):
            self.statusBar().clearMessage()
        self._error(*dialogs.failure_text(failure, self.source.path if self.source else None))

    def _error(self, title: str, message: str) -> None:
        self._note(message.splitlines()[0])
        dialogs.warn(self, title, message)
        self.errorShown.emit(message)

    # == status ===============================================================================
    def _note(self, text: str, timeout_ms: int = MESSAGE_MS, name: str | None = None) -> None:
        """A status-bar note, shortened in the middle of ``name`` (a part of it) to fit."""
        beside = (self.pixel_label, self.progress_bar, self.cancel_button)
        show_note(self.statusBar(), text, timeout_ms, name, beside)

    @Slot()
    def _update_stats(self) -> None:
        parts = []
        if self.source is not None:
            parts.append(image_summary(self.source))
        if self.shown is not None and self.source is not None:
            parts.append(result_summary(self.shown, self.measured, self.source.file_size))
        # One line each, so that a narrow window elides the ends of both, not the result.
        self.stats_label.setText("\n".join(parts))
        self.stats_label.setToolTip("\n".join([*parts, "", STATS_TOOLTIP]))

    def _update_actions(self) -> None:
        has_result = self.shown is not None
        self.action_save.setEnabled(has_result)
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
        view_tools.recolor_zoom_icons(self)

    @Slot()
    def show_about(self) -> None:
        """Help > About: name, version and what it is built on."""
        dialogs.show_about(self)

    # == Qt events ============================================================================
    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # The desktop switched between light and dark: the figures follow.
        palette_events = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
        if event.type() in palette_events and hasattr(self, "palette_canvas"):
            self._recolor_figures()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.batch_dialog is not None and not self.batch_dialog.ask_to_stop():
            event.ignore()  # the user chose to let the batch run on
            return
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
        self.palette_editor.shutdown()
        self.curve.shutdown()
        self.worker.shutdown()
        if self.batch_dialog is not None:
            self.batch_dialog.shutdown()

"""The main window: open or drop an image, choose k, watch it quantize, compare, save.

Event handlers stay thin: each turns its event into a path or a setting and calls one method.
All heavy work goes to the :class:`.worker.BackgroundWorker` as job snapshots; outcomes come
back by signal and are applied here, on the main thread, only if their id is still awaited.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from PySide6 import QtGui
from PySide6.QtCore import QEvent, QSettings, QSize, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QScreen,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kquant_gui import __version__

from . import file_formats, tasks
from .controls import COLOR_SPACE_LABELS, DITHER_LABELS, QuantizeControls
from .elided_label import ElidedLabel
from .image_canvas import BACKGROUNDS, ZOOM_STEP, ImageCanvas, ViewState
from .palette_canvas import PaletteCanvas, hex_code
from .preferences import Preferences
from .status_text import image_summary, pixel_summary, result_summary
from .theme import THEMES, apply_theme
from .worker import BackgroundWorker


def shown_literally(text: str) -> str:
    """``text`` for a message box, so that it appears exactly as written.

    Qt renders message-box text as HTML when it looks like HTML, so a file named
    ``<b>x</b>.png`` would appear as a bold "x.png". Such text is escaped into HTML that
    shows the original characters; anything else is left alone.
    """
    if not QtGui.Qt.mightBeRichText(text):  # Qt's own guess, in the QtGui namespace
        return text
    return "<p>" + html.escape(text, quote=False).replace("\n", "<br>") + "</p>"


#: Quiet time after the last settings change before the trailing re-quantization starts.
DEBOUNCE_MS = 150
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

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle("kquant-gui")
        self.setAcceptDrops(True)
        self.setMinimumSize(640, 420)
        self.prefs = Preferences(settings)
        self.source: tasks.Loaded | None = None
        self.shown: tasks.Quantized | None = None
        self.measured: tasks.Measured | None = None
        self._load_id: int | None = None
        self._quantize_id: int | None = None
        self._measure_id: int | None = None
        self._closed = False
        self._trailing = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._debounce_elapsed)

        self._build_central()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        # Started last: if building the widgets failed, no thread would be left running.
        self.worker = BackgroundWorker(self)
        for canvas in (self.original_canvas, self.quantized_canvas, self.palette_canvas):
            canvas.draw_gate = self.worker.gate
        self._connect_worker()
        self._restore()
        self._update_actions()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # == construction =========================================================================
    def _build_central(self) -> None:
        self.view = ViewState(self)
        self.original_canvas = ImageCanvas(
            self.view, "Drop an image here\nor press Ctrl+O to open one"
        )
        self.original_canvas.setObjectName("originalCanvas")
        self.quantized_canvas = ImageCanvas(self.view, "")
        self.quantized_canvas.setObjectName("quantizedCanvas")
        self.palette_canvas = PaletteCanvas()
        self.palette_canvas.setObjectName("paletteCanvas")
        self.original_title = ElidedLabel("Original")
        self.quantized_title = ElidedLabel("Quantized")
        self.palette_title = ElidedLabel("Palette")
        for label in (self.original_title, self.quantized_title, self.palette_title):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

        self.images_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.images_splitter.setObjectName("imagesSplitter")
        self.images_splitter.addWidget(_titled(self.original_title, self.original_canvas))
        self.images_splitter.addWidget(_titled(self.quantized_title, self.quantized_canvas))
        self.images_splitter.setChildrenCollapsible(False)
        self.main_splitter = QSplitter(Qt.Orientation.Vertical)
        self.main_splitter.setObjectName("mainSplitter")
        self.main_splitter.addWidget(self.images_splitter)
        self.main_splitter.addWidget(_titled(self.palette_title, self.palette_canvas))
        self.main_splitter.setStretchFactor(0, 5)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.main_splitter)

        self.quantized_canvas.clicked.connect(self._quantized_clicked)
        self.original_canvas.hovered.connect(self._hovered)
        self.quantized_canvas.hovered.connect(self._hovered)
        self.palette_canvas.swatchClicked.connect(self.select_swatch)
        self.palette_canvas.clear("The palette appears here")

    def _action(
        self, text: str, slot, shortcut=None, name: str | None = None, tip: str | None = None
    ) -> QAction:
        action = QAction(text, self)
        if name:
            action.setObjectName(name)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_actions(self) -> None:
        seq = QKeySequence.StandardKey
        self.action_open = self._action(
            "&Open…", self.open_dialog, seq.Open, "actionOpen", "Open an image file"
        )
        self.action_open_sample = self._action(
            "Open &Sample Image", self.open_sample, None, "actionOpenSample"
        )
        self.action_save_as = self._action(
            "Save &As…",
            self.save_as_dialog,
            "Ctrl+Shift+S",
            "actionSaveAs",
            "Save the quantized image (indexed PNG, GIF, WebP, TIFF, BMP or JPEG)",
        )
        self.action_export_palette = self._action(
            "&Export Palette…",
            self.export_palette_dialog,
            "Ctrl+E",
            "actionExportPalette",
            "Save the palette (GIMP .gpl, JSON, CSS, hex text, …)",
        )
        self.action_quit = self._action("&Quit", self.close, "Ctrl+Q", "actionQuit")
        self.action_quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.action_k_up = self._action(
            "&More Colours (k + 1)",
            lambda: self.controls.step_k(1),
            ["+", "="],
            "actionMoreColors",
        )
        self.action_k_down = self._action(
            "&Fewer Colours (k − 1)", lambda: self.controls.step_k(-1), "-", "actionFewerColors"
        )
        self.action_cancel = self._action(
            "&Cancel", self.cancel, "Esc", "actionCancel", "Stop the running quantization"
        )
        self.action_fit = self._action("&Fit to Window", self.view.set_fit, "Ctrl+0", "actionFit")
        self.action_one_to_one = self._action(
            "&Actual Pixels (1:1)", self.quantized_canvas.one_to_one, "Ctrl+1", "actionOneToOne"
        )
        self.action_zoom_in = self._action(
            "Zoom &In", lambda: self.quantized_canvas.zoom(ZOOM_STEP), seq.ZoomIn, "actionZoomIn"
        )
        self.action_zoom_out = self._action(
            "Zoom &Out",
            lambda: self.quantized_canvas.zoom(1 / ZOOM_STEP),
            seq.ZoomOut,
            "actionZoomOut",
        )
        self.action_about = self._action("&About kquant-gui", self.show_about, None, "actionAbout")
        self.action_about.setMenuRole(QAction.MenuRole.AboutRole)
        self.background_actions = self._choices("Background", BACKGROUNDS, self.set_background)
        self.theme_actions = self._choices("Theme", THEMES, self.set_theme)

    def _choices(self, kind: str, names: tuple[str, ...], choose) -> dict[str, QAction]:
        """One checkable action per name, exclusive within their group (``actionThemeDark``)."""
        group = QActionGroup(self)
        actions: dict[str, QAction] = {}
        for name in names:
            action = QAction(name.capitalize(), self, checkable=True)
            action.setObjectName(f"action{kind}{name.capitalize()}")
            action.triggered.connect(lambda _=False, n=name: choose(n))
            group.addAction(action)
            actions[name] = action
        return actions

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.action_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("menuOpenRecent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.action_open_sample)
        file_menu.addSeparator()
        file_menu.addAction(self.action_save_as)
        file_menu.addAction(self.action_export_palette)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        edit_menu = bar.addMenu("&Colours")
        edit_menu.addAction(self.action_k_up)
        edit_menu.addAction(self.action_k_down)
        edit_menu.addSeparator()
        edit_menu.addAction(self.action_cancel)
        view_menu = bar.addMenu("&View")
        for action in (
            self.action_fit,
            self.action_one_to_one,
            self.action_zoom_in,
            self.action_zoom_out,
        ):
            view_menu.addAction(action)
        view_menu.addSeparator()
        background_menu = view_menu.addMenu("Transparency &Background")
        for action in self.background_actions.values():
            background_menu.addAction(action)
        theme_menu = view_menu.addMenu("&Theme")
        for action in self.theme_actions.values():
            theme_menu.addAction(action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.action_about)
        self._fill_recent_menu()

    def _build_toolbar(self) -> None:
        bar = QToolBar("Settings", self)
        bar.setObjectName("settingsToolBar")
        bar.setMovable(False)
        bar.setFloatable(False)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.controls = QuantizeControls(self)
        k_label = QLabel(" Colours k ")
        k_label.setBuddy(self.controls.k_spin)
        bar.addWidget(k_label)
        bar.addWidget(self.controls.k_spin)
        bar.addWidget(self.controls.k_slider)
        bar.addSeparator()
        bar.addWidget(QLabel(" Colour space "))
        bar.addWidget(self.controls.color_space)
        bar.addWidget(QLabel(" Dithering "))
        bar.addWidget(self.controls.dither)
        bar.addSeparator()
        bar.addAction(self.action_fit)
        bar.addAction(self.action_one_to_one)
        self.action_fit.setIconText("Fit")
        self.action_one_to_one.setIconText("1:1")
        self.controls.changed.connect(self._settings_changed)
        self.settings_toolbar = bar

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.stats_label = ElidedLabel("")
        self.stats_label.setObjectName("statsLabel")
        status.addWidget(self.stats_label, 1)
        # The colour under the pointer, while it is over an image.
        self.pixel_label = QLabel("")
        self.pixel_label.setObjectName("pixelLabel")
        self.pixel_label.setTextFormat(Qt.TextFormat.PlainText)
        self.pixel_label.setVisible(False)
        status.addPermanentWidget(self.pixel_label)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(200)
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setDefaultAction(self.action_cancel)
        self.cancel_button.setToolTip("Cancel (Esc)")
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.cancel_button)
        self._set_busy(None)

    def _connect_worker(self) -> None:
        w = self.worker.worker
        w.loaded.connect(self._on_loaded)
        w.quantized.connect(self._on_quantized)
        w.measured.connect(self._on_measured)
        w.saved.connect(self._on_saved)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        w.progress.connect(self._on_progress)

    def _restore(self) -> None:
        p = self.prefs
        self.controls.set_values(p.k, p.color_space, p.dither)
        self.theme_actions[p.theme].setChecked(True)
        if p.theme != "system":
            apply_theme(p.theme)
        self.set_background(p.background)
        geometry = p.bytes("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(_first_run_size(self.screen()))
        for key, splitter in (
            ("mainSplitter", self.main_splitter),
            ("imagesSplitter", self.images_splitter),
        ):
            state = p.bytes(key)
            if state is not None:
                splitter.restoreState(state)
        if p.bytes("mainSplitter") is None:
            self.main_splitter.setSizes([620, 150])

    def _save_settings(self) -> None:
        p = self.prefs
        p.k = self.controls.k
        p.color_space = self.controls.color_space_key
        p.dither = self.controls.dither_key
        p.set_bytes("geometry", self.saveGeometry())
        p.set_bytes("mainSplitter", self.main_splitter.saveState())
        p.set_bytes("imagesSplitter", self.images_splitter.saveState())
        p.sync()

    # == opening ==============================================================================
    @Slot()
    def open_dialog(self) -> None:
        """File > Open…: ask for an image and open it."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open Image", self.prefs.last_folder, file_formats.open_filter()
        )
        if path:
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
            self.statusBar().showMessage(
                f"{len(paths)} files dropped: opening {Path(paths[0]).name}, the first one "
                "(one image at a time)",
                MESSAGE_MS,
            )

    def open_path(self, path: str | Path) -> None:
        """Decode ``path`` in the background; the current image stays until it succeeds."""
        path = Path(path)
        if path.is_dir():
            self._error("Could not open image", f"{path.name}: is a folder, not an image file.")
            return
        self.worker.cancel_all()
        self._quantize_id = None
        self._load_id = self.worker.new_id()
        self.worker.submit(tasks.LoadJob(self._load_id, path))
        self._set_busy(f"Opening {path.name}…")

    @Slot(object)
    def _on_loaded(self, outcome: tasks.Loaded) -> None:
        if outcome.job_id != self._load_id:
            return
        self._load_id = None
        self.source = outcome
        self.shown = None
        self.measured = None
        self.prefs.add_recent_file(outcome.path)
        self.prefs.last_folder = outcome.path.resolve().parent
        self.setWindowTitle(f"{outcome.path.name} — kquant-gui")
        # Old images out first, then the new view: resetting the view redraws every canvas,
        # and with the old pictures still in, that meant resampling them once more for nothing
        # on the main thread.
        self.quantized_canvas.set_image(None, "Quantizing…")
        self.original_canvas.set_image(None)
        self.view.reset(outcome.display.width, outcome.display.height)
        self.original_canvas.set_image(outcome.display)
        self.original_title.setText(
            f"Original · {outcome.path.name} · {outcome.display.width}×{outcome.display.height}"
        )
        self.quantized_title.setText("Quantized")
        self.palette_canvas.clear("")
        self.palette_title.setText("Palette")
        self._update_stats()
        self._update_actions()
        self.imageLoaded.emit(str(outcome.path))
        self._start_quantize()

    # == quantizing ===========================================================================
    @Slot()
    def _settings_changed(self) -> None:
        # Whatever runs now answers an outdated question: stop it and never show it.
        self.worker.cancel_all()
        self._quantize_id = None
        if self._debounce.isActive():
            # Inside a burst (slider drag, key repeat): wait for a quiet moment.
            self._trailing = True
            self._debounce.start()
            return
        # First change after a quiet moment: start at once, then hold later ones back.
        self._debounce.start()
        self._start_quantize()

    @Slot()
    def _debounce_elapsed(self) -> None:
        if self._trailing:
            self._trailing = False
            self._start_quantize()

    def _start_quantize(self) -> None:
        """Queue a quantization of the current image with the current settings."""
        if self.source is None or self._load_id is not None:
            # No image yet, or one still opening: its arrival starts the quantization.
            return
        self.worker.cancel_all()
        job = tasks.QuantizeJob(
            self.worker.new_id(),
            self.source.pixels,
            self.controls.k,
            self.controls.color_space_key,
            self.controls.dither_key,
        )
        self._quantize_id = job.job_id
        self.worker.submit(job)
        self._set_busy(f"Quantizing to k={job.k}…")

    @Slot(int, float, str)
    def _on_progress(self, job_id: int, fraction: float, stage: str) -> None:
        if job_id == self._quantize_id:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(fraction * 1000))
            self.progress_bar.setFormat(f"{stage} %p%")

    @Slot(object)
    def _on_quantized(self, outcome: tasks.Quantized) -> None:
        if outcome.job_id != self._quantize_id:
            return  # superseded: a newer job (or a cancel) came after it
        self._quantize_id = None
        self.shown = outcome
        self.measured = None
        result = outcome.result
        self.quantized_canvas.set_image(outcome.display)
        self.palette_canvas.set_palette(result.palette, result.counts, result.transparent_index)
        self.original_canvas.set_highlight(None)
        space = COLOR_SPACE_LABELS.get(result.color_space, result.color_space)
        dither = DITHER_LABELS.get(result.dither, result.dither)
        self.quantized_title.setText(
            f"Quantized · k={result.k} · {space} · dithering {dither.lower()}"
        )
        exhausted = f" — {result.summary()}" if result.exhausted else ""
        self.palette_title.setText(
            f"Palette · {result.n_colors} colours{exhausted} · click a swatch to copy its hex "
            "code and highlight its pixels"
        )
        self._set_busy(None)
        self._update_stats()
        self._update_actions()
        self.resultShown.emit(outcome.job_id)
        # Measured only after the views are drawn (draw_idle's timer fires first), so that
        # the worker does not compete with the drawing for the interpreter.
        QTimer.singleShot(0, self._start_measure)

    def _start_measure(self) -> None:
        if self.shown is None or self.source is None or self._quantize_id is not None:
            return
        job = tasks.MeasureJob(self.worker.new_id(), self.source.pixels, self.shown.result)
        self._measure_id = job.job_id
        self.worker.submit(job)

    @Slot(object)
    def _on_measured(self, outcome: tasks.Measured) -> None:
        if outcome.job_id == self._measure_id:
            self.measured = outcome
            self._update_stats()

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        if job_id == self._quantize_id:
            self._quantize_id = None
            self._set_busy(None)
            self._note_cancelled()

    @Slot()
    def cancel(self) -> None:
        """Esc: stop the running work; with nothing running, clear the swatch highlight."""
        if self._quantize_id is None and self._load_id is None:
            self.select_swatch(None)
            return
        self.worker.cancel_all()
        self._quantize_id = None
        self._trailing = False
        self._debounce.stop()
        if self._load_id is not None:
            # Decoding cannot be interrupted; its result is simply ignored.
            self._load_id = None
        self._set_busy(None)
        self._note_cancelled()

    def _note_cancelled(self) -> None:
        if self.shown is not None:
            note = f"Cancelled; still showing the k={self.shown.result.k} result"
        else:
            note = "Cancelled"
        self.statusBar().showMessage(note, MESSAGE_MS)

    def is_busy(self) -> bool:
        """True while an image is being opened or quantized."""
        return self._load_id is not None or self._quantize_id is not None

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
        if index == result.transparent_index:
            self.statusBar().showMessage("Fully transparent pixels (Esc clears)", MESSAGE_MS)
            return
        code = hex_code(result.palette[index])
        QGuiApplication.clipboard().setText(code)
        share = 100.0 * float(result.shares[index])
        self.statusBar().showMessage(
            f"Copied {code} — its {int(result.counts[index]):,} pixels ({share:.1f} %) are "
            "highlighted (Esc clears)",
            MESSAGE_MS,
        )

    @Slot(float, float)
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
        # Overwriting is confirmed by _write, once, whatever dialog (or test) chose the path.
        path, chosen = QFileDialog.getSaveFileName(
            self,
            title,
            str(default),
            filters,
            filters.split(";;")[0],
            QFileDialog.Option.DontConfirmOverwrite,
        )
        return file_formats.with_default_suffix(path, chosen, suffix) if path else None

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
        overwrite = False
        try:
            exists = path.exists()
        except OSError:
            # E.g. a name too long for the file system: the save itself then says why.
            exists = False
        if exists:
            is_source = _same_file(path, self.source.path)
            if is_source:
                question = (
                    f"{path.name} is the original image. Replace the original with the "
                    "quantized version? This cannot be undone."
                )
            else:
                question = f"{path.name} already exists. Replace it?"
            answer = QMessageBox.question(
                self,
                "Replace file?",
                shown_literally(question),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
            overwrite = True
        self.prefs.last_folder = path.resolve().parent
        self.worker.submit(
            tasks.SaveJob(
                self.worker.new_id(), self.shown.result, path, kind, self.source.image, overwrite
            )
        )
        self.statusBar().showMessage(f"Saving {path.name}…")
        return True

    @Slot(object)
    def _on_saved(self, outcome: tasks.Saved) -> None:
        what = "palette" if outcome.kind == "palette" else "image"
        notes = "".join(f" — {note}" for note in outcome.notes)
        self.statusBar().showMessage(
            f"Saved {what} {outcome.path.name} ({file_formats.human_size(outcome.size)}){notes}",
            2 * MESSAGE_MS,
        )
        self.saved.emit(str(outcome.path))

    # == errors ===============================================================================
    @Slot(object)
    def _on_failed(self, failure: tasks.Failed) -> None:
        if failure.kind == "load":
            if failure.job_id != self._load_id:
                return
            self._load_id = None
            self._set_busy(None)
            self._error("Could not open image", failure.message)
        elif failure.kind == "quantize":
            if failure.job_id != self._quantize_id:
                return
            self._quantize_id = None
            self._set_busy(None)
            name = self.source.path.name if self.source else "the image"
            self._error("Could not quantize", f"{name}: {failure.message}")
        elif failure.kind == "measure":
            # Only the status-bar figures are missing; the result itself is fine.
            self.statusBar().showMessage(f"Could not measure the result: {failure.message}")
        else:
            self.statusBar().clearMessage()
            self._error("Could not save", failure.message)

    def _error(self, title: str, message: str) -> None:
        self.statusBar().showMessage(message.splitlines()[0], MESSAGE_MS)
        QMessageBox.warning(self, title, shown_literally(message))
        self.errorShown.emit(message)

    # == status ===============================================================================
    def _set_busy(self, text: str | None) -> None:
        busy = text is not None
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.action_cancel.setEnabled(True)
        if busy:
            # Said in the progress bar, not as a status message, so that a note shown just
            # before (several files dropped, saved as…) stays readable.
            self.progress_bar.setRange(0, 0)  # indeterminate until the first progress report
            self.progress_bar.setFormat(text)

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

    # == recent files, theme, about ===========================================================
    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = self.prefs.recent_files()
        for i, name in enumerate(files, 1):
            action = menu.addAction(f"&{i % 10}  {Path(name).name}")
            action.setToolTip(name)
            action.setStatusTip(name)
            action.triggered.connect(lambda _=False, n=name: self.open_path(n))
        if not files:
            menu.addAction("No recent files").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("&Clear Menu")
        clear.setEnabled(bool(files))
        clear.triggered.connect(self.prefs.clear_recent_files)

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
        for canvas in (self.original_canvas, self.quantized_canvas, self.palette_canvas):
            canvas.apply_theme()

    @Slot()
    def show_about(self) -> None:
        """Help > About: name, version and what it is built on."""
        import matplotlib
        import numpy
        import PySide6
        from PySide6.QtCore import qVersion

        QMessageBox.about(
            self,
            "About kquant-gui",
            f"<h3>kquant-gui {__version__}</h3>"
            "<p>Reduce a photo to k colours with k-means clustering, compare it with the "
            "original and save exactly what you see.</p>"
            f"<p>Qt {qVersion()} · PySide6 {PySide6.__version__} · "
            f"matplotlib {matplotlib.__version__} · NumPy {numpy.__version__}</p>"
            "<p>MIT licence.</p>",
        )

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
        self._debounce.stop()
        self.worker.shutdown()


def _titled(title: QLabel, body: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(2, 2, 2, 2)
    layout.setSpacing(2)
    layout.addWidget(title)
    layout.addWidget(body, 1)
    return box


def _local_files(urls: list[QUrl]) -> list[Path]:
    return [Path(u.toLocalFile()) for u in urls if u.isLocalFile() and u.toLocalFile()]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or a.samefile(b)
    except OSError:
        return False


def _first_run_size(screen: QScreen | None) -> QSize:
    """1200x800, or 90% of the screen where that is smaller (an 800x600 or 1024x768 display).

    Without this the first window overhangs a small screen and hides the quantized view, the
    palette and the status bar behind the screen's edge.
    """
    size = QSize(1200, 800)
    if screen is not None:
        available = screen.availableGeometry().size()
        size = size.boundedTo(QSize(int(available.width() * 0.9), int(available.height() * 0.9)))
    return size

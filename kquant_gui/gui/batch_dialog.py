"""File > Batch…: the window's settings over many files or a folder, with a table of results.

The dialog collects files and folders (subfolders optional), an output folder and format, and
the settings: the main window's at the moment Start is pressed (k, colour space, dithering and
its strength, the locked colours or the palette loaded, the seed and the engine), or a recipe
file, replayed as ``kquant --recipe`` does. Each file's row shows its status, size before and
after and mean ΔE2000 as it completes; failures keep their reason and do not stop the rest.
The work runs in a :class:`.batch_task.BatchTask`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from kquant_gui.cli.args import FORMAT_EXT, UsageError
from kquant_gui.cli.jobs import Job, JobResult
from kquant_gui.palette_read import PaletteReadError
from kquant_gui.recipe import Recipe as EngineRecipe
from kquant_gui.recipe import read_recipe

from .batch_table import STATUS, BatchTable, summary_text
from .batch_task import BatchRequest, BatchTask, options, plan
from .controls import COLOR_SPACE_LABELS, DITHER_LABELS
from .session import Recipe

FORMAT_LABELS = {
    "png": "PNG (indexed)",
    "gif": "GIF",
    "webp": "WebP (lossless)",
    "tiff": "TIFF",
    "bmp": "BMP",
    "jpg": "JPEG (lossy)",
}
ENGINE_LABELS = {"sklearn": "scikit-learn's KMeans"}


def recipe_text(recipe: EngineRecipe) -> str:
    """``k = 16 · CIELAB · dithering: none``, then what else the recipe holds: the locked
    colours (or the palette mapped onto), the seed, the engine, palette edits."""
    dither = DITHER_LABELS.get(recipe.dither, recipe.dither)
    if recipe.dither != "none" and recipe.dither_strength < 1.0:
        dither += f" at {recipe.dither_strength:.0%}"
    space = COLOR_SPACE_LABELS.get(recipe.color_space, recipe.color_space)
    parts = [f"k = {recipe.k}", space, f"dithering: {dither}"]
    if recipe.remap:
        parts.append(f"mapped onto a palette of {len(recipe.fixed)} colours")
    elif recipe.fixed:
        shown = ", ".join(recipe.fixed[:4])
        more = f" and {len(recipe.fixed) - 4} more" if len(recipe.fixed) > 4 else ""
        parts.append(f"locked {shown}{more}")
    if recipe.seed:
        parts.append(f"seed {recipe.seed}")
    if recipe.engine:
        parts.append(f"engine: {ENGINE_LABELS.get(recipe.engine, recipe.engine)}")
    if recipe.edits:
        n = len(recipe.edits)
        parts.append(f"{n} palette edit{'s' if n != 1 else ''} replayed")
    return " · ".join(parts)


class BatchDialog(QDialog):
    """The batch window: inputs, output, a table of results, progress and Cancel.

    Parameters
    ----------
    recipe : callable() -> Recipe
        The main window's recipe (its settings, locks, loaded palette, seed and engine), read
        when a batch starts; its palette edits, made on the open image's palette, are not
        replayed on other images.
    folder : str
        Where the file choosers open first.

    Signals
    -------
    batchFinished(bool)
        A batch ended (True when cancelled); its results are in the table.
    """

    batchFinished = Signal(bool)

    def __init__(
        self, recipe: Callable[[], Recipe], folder: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("BatchDialog")
        self.setWindowTitle("Batch — kquant-gui")
        self._recipe = recipe
        self._folder = folder
        self.task = BatchTask(self)
        self.task.fileDone.connect(self._on_file_done)
        self.task.finished.connect(self._on_finished)
        self.jobs: list[Job] = []
        self.results: list[JobResult | None] = []
        self._offset = 0  # rows of inputs that failed while planning come first
        self._build()
        self._set_running(False)
        room = self.screen().availableGeometry()
        self.resize(min(900, room.width()), min(600, room.height()))

    # == layout ===============================================================================
    def _build(self) -> None:
        self.inputs = QListWidget()
        self.inputs.setObjectName("batchInputs")
        self.inputs.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.inputs.setMaximumHeight(110)
        add_files = QPushButton("Add &Files…")
        add_files.clicked.connect(self._ask_files)
        add_folder = QPushButton("Add F&older…")
        add_folder.clicked.connect(self._ask_folder)
        remove = QPushButton("&Remove")
        remove.clicked.connect(self._remove_selected)
        self.recursive = QCheckBox("&Include subfolders (the layout is kept in the output)")
        self.recursive.setObjectName("batchRecursive")
        self.out_dir = QLineEdit()
        self.out_dir.setObjectName("batchOutDir")
        self.out_dir.setPlaceholderText("Folder for the quantized files")
        self.out_dir.textChanged.connect(self._update_start)
        choose_out = QPushButton("&Choose…")
        choose_out.clicked.connect(self._ask_out_dir)
        self.format = QComboBox()
        self.format.setObjectName("batchFormat")
        for key in FORMAT_EXT:  # the command line's --format choices
            self.format.addItem(FORMAT_LABELS.get(key, key.upper()), key)
        self.overwrite = QCheckBox("Replace &existing files")
        self.use_window = QRadioButton("The &window's")
        self.use_window.setObjectName("batchUseWindow")
        self.use_window.setChecked(True)
        self.use_recipe = QRadioButton("Reci&pe file:")
        self.use_recipe.setObjectName("batchUseRecipe")
        self.recipe_path = QLineEdit()
        self.recipe_path.setObjectName("batchRecipe")
        self.recipe_path.setPlaceholderText("A JSON palette saved with File > Export Recipe")
        choose_recipe = QPushButton("C&hoose…")
        choose_recipe.clicked.connect(self._ask_recipe)
        for signal in (self.use_window.toggled, self.recipe_path.textChanged):
            signal.connect(self._update_settings)
        self.settings_label = QLabel()
        self.settings_label.setObjectName("batchSettings")
        self.settings_label.setWordWrap(True)
        self.settings_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        grid = QGridLayout()
        grid.addWidget(QLabel("Inputs:"), 0, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.inputs, 0, 1)
        buttons = QVBoxLayout()
        for b in (add_files, add_folder, remove):
            buttons.addWidget(b)
        buttons.addStretch(1)
        grid.addLayout(buttons, 0, 2)
        grid.addWidget(self.recursive, 1, 1, 1, 2)
        grid.addWidget(QLabel("Output folder:"), 2, 0)
        grid.addWidget(self.out_dir, 2, 1)
        grid.addWidget(choose_out, 2, 2)
        row = QHBoxLayout()
        row.addWidget(self.format)
        row.addWidget(self.overwrite)
        row.addStretch(1)
        grid.addWidget(QLabel("Format:"), 3, 0)
        grid.addLayout(row, 3, 1, 1, 2)
        source = QHBoxLayout()
        source.addWidget(self.use_window)
        source.addSpacing(12)
        source.addWidget(self.use_recipe)
        source.addWidget(self.recipe_path, 1)
        grid.addWidget(QLabel("Settings:"), 4, 0)
        grid.addLayout(source, 4, 1)
        grid.addWidget(choose_recipe, 4, 2)
        grid.addWidget(self.settings_label, 5, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        self._setup_widgets = [self.inputs, add_files, add_folder, remove, self.recursive]
        self._setup_widgets += [self.out_dir, choose_out, self.format, self.overwrite]
        self._setup_widgets += [self.use_window, self.use_recipe, self.recipe_path, choose_recipe]

        self.table = BatchTable()

        self.progress = QProgressBar()
        self.progress.setObjectName("batchProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")  # no count before there is a batch
        self.summary = QLabel()
        self.summary.setObjectName("batchSummary")
        self.summary.setWordWrap(True)
        self.only_failed = QCheckBox("Show only fail&ures")
        self.only_failed.setObjectName("batchOnlyFailed")
        self.only_failed.toggled.connect(self._filter_rows)

        box = QDialogButtonBox()
        self.start_button = box.addButton("&Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("batchStart")
        self.cancel_button = box.addButton("Cancel", QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button.setObjectName("batchCancel")
        self.close_button = box.addButton(QDialogButtonBox.StandardButton.Close)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.progress)
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        bottom.addWidget(self.only_failed)
        layout.addLayout(bottom)
        layout.addWidget(box)

    # == choosing =============================================================================
    def add_inputs(self, paths: list[str | Path]) -> None:
        """Add files or folders to the inputs (each once)."""
        present = {self.inputs.item(i).text() for i in range(self.inputs.count())}
        for p in paths:
            text = str(p)
            if text and text not in present:
                self.inputs.addItem(text)
                present.add(text)
        if paths and not self.out_dir.text():
            first = Path(paths[0])
            base = first if first.is_dir() else first.parent
            self.out_dir.setText(str(base.parent / f"{base.name}-quantized"))
        self._update_start()

    def input_paths(self) -> list[Path]:
        return [Path(self.inputs.item(i).text()) for i in range(self.inputs.count())]

    @Slot()
    def _ask_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Add Images", self._folder)
        self.add_inputs(names)

    @Slot()
    def _ask_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Add Folder", self._folder)
        if name:
            self.add_inputs([name])

    @Slot()
    def _ask_out_dir(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Output Folder", self.out_dir.text())
        if name:
            self.out_dir.setText(name)

    @Slot()
    def _remove_selected(self) -> None:
        for item in self.inputs.selectedItems():
            self.inputs.takeItem(self.inputs.row(item))
        self._update_start()

    @Slot()
    def _ask_recipe(self) -> None:
        start = self.recipe_path.text() or self._folder
        name, _ = QFileDialog.getOpenFileName(self, "Recipe", start, "Recipe (*.json)")
        if name:
            self.use_recipe_file(name)

    def use_recipe_file(self, path: str | Path) -> None:
        """Run the batch with the recipe stored in ``path`` (a JSON palette file)."""
        self.recipe_path.setText(str(path))
        self.use_recipe.setChecked(True)

    def batch_recipe(self) -> EngineRecipe:
        """The recipe a batch started now would run on every file.

        Raises
        ------
        PaletteReadError
            The recipe file chosen cannot be read or holds no usable settings.
        UsageError
            "Recipe file" is chosen without a file.
        """
        if self.use_recipe.isChecked():
            path = self.recipe_path.text().strip()
            if not path:
                raise UsageError("choose the recipe file first")
            return read_recipe(path)
        # Edits name entries of the open image's palette: on other images they would change
        # other colours. Locked colours are kept; lock an edited colour to keep it.
        return replace(self._recipe().to_engine(), edits=())

    @Slot()
    def _update_settings(self) -> None:
        """The settings line: what the batch will run, or why the recipe file cannot be used."""
        try:
            text = recipe_text(self.batch_recipe())
        except (PaletteReadError, UsageError) as exc:
            self.settings_label.setText(f"Cannot use the recipe: {exc}")
        else:
            if self.use_recipe.isChecked():
                self.settings_label.setText(f"{text} (from {Path(self.recipe_path.text()).name})")
            else:
                edits = self._recipe().edits
                note = " (from the main window"
                if edits:
                    note += "; its palette edits are not replayed: lock a colour to keep it"
                self.settings_label.setText(f"{text}{note})")
        self._update_start()

    def showEvent(self, event) -> None:
        self._update_settings()
        super().showEvent(event)

    # == running ==============================================================================
    def is_running(self) -> bool:
        return self.task.is_running()

    @Slot()
    def start(self) -> bool:
        """Plan the batch and start it; False (with the reason shown) when it cannot start."""
        if self.is_running() or not self.inputs.count() or not self.out_dir.text().strip():
            return False
        self._update_settings()
        try:
            request = BatchRequest(
                inputs=tuple(self.input_paths()),
                out_dir=Path(self.out_dir.text().strip()),
                format=self.format.currentData(),
                recipe=self.batch_recipe(),
                recursive=self.recursive.isChecked(),
                overwrite=self.overwrite.isChecked(),
            )
            jobs, failed = plan(request)
        except (UsageError, PaletteReadError) as exc:
            QMessageBox.warning(self, "Cannot start the batch", str(exc))
            return False
        self.jobs = [r.job for r in failed] + jobs
        self.results = [*failed, *([None] * len(jobs))]
        self._fill_table()
        self._filter_rows()
        self.progress.setRange(0, max(1, len(self.results)))
        self.progress.setFormat("%v / %m files")
        self.progress.setValue(len(failed))
        self._update_summary()
        if not jobs:
            self._on_finished(False)
            return True
        self._offset = len(failed)
        self.task.start(jobs, options(request))
        self._set_running(True)
        return True

    @Slot()
    def cancel(self) -> None:
        """Stop after the file running now."""
        if self.is_running():
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.cancel_button.setText("Cancelling…")

    @Slot(int, object)
    def _on_file_done(self, index: int, result: JobResult) -> None:
        row = self._offset + index
        self.results[row] = result
        self.table.show_result(row, result)
        self.progress.setValue(sum(r is not None for r in self.results))
        self._update_summary()

    @Slot(bool)
    def _on_finished(self, cancelled: bool) -> None:
        for row, r in enumerate(self.results):
            if r is None:
                self.table.set_cell(row, STATUS, "Not run" if cancelled else "")
        self._set_running(False)
        self._update_summary(finished=True, cancelled=cancelled)
        self.batchFinished.emit(cancelled)

    # == showing ==============================================================================
    def _fill_table(self) -> None:
        self.table.fill(self.jobs, self.results)

    @Slot()
    def _filter_rows(self) -> None:
        self.table.filter(self.results, self.only_failed.isChecked())

    def _update_summary(self, finished: bool = False, cancelled: bool = False) -> None:
        self.summary.setText(summary_text(self.results, finished, cancelled))

    def _set_running(self, running: bool) -> None:
        for w in self._setup_widgets:
            w.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.cancel_button.setText("Cancel")
        self._update_start()

    @Slot()
    def _update_start(self) -> None:
        ready = self.inputs.count() > 0 and bool(self.out_dir.text().strip())
        ready = ready and (self.use_window.isChecked() or bool(self.recipe_path.text().strip()))
        self.start_button.setEnabled(ready and not self.is_running())

    # == closing ==============================================================================
    def ask_to_stop(self) -> bool:
        """While a batch runs, ask whether to stop it; True when it may stop (or none runs)."""
        if not self.is_running():
            return True
        n = sum(r is not None for r in self.results)
        answer = QMessageBox.question(
            self,
            "Stop the batch?",
            f"A batch is running ({n} of {len(self.results)} files done). Stop it? Files "
            "already written are kept.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.cancel()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.ask_to_stop():
            event.ignore()
            return
        event.accept()
        # QDialog's own closeEvent would call reject(), which is close() here: Qt refuses a
        # close inside a close, and the dialog stayed open. Hide it as a rejected dialog.
        QDialog.reject(self)

    def reject(self) -> None:
        # Esc closes the dialog like its Close button: through closeEvent, which asks first.
        self.close()

    def shutdown(self) -> None:
        """Stop the batch thread and wait for it (the file running now finishes first)."""
        self.task.shutdown()

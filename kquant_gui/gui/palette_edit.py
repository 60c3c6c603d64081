"""Your colours: the swatch menu (lock, edit, delete, merge), palettes and recipes from files,
and the undo history over all of it.

:class:`PaletteEditor` belongs to one window. Every change the user makes (k, colour space,
dithering, a lock, an edit, a palette loaded) becomes a new :class:`.session.Recipe`, pushed
as one step on a ``QUndoStack``; the session shows a step's result from its cache at once, or
computes it again. Edits run on the main thread through the engine's label-only functions
(no re-clustering), so a colour dialog's live preview follows the pointer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QPoint, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QColor, QKeySequence, QUndoStack
from PySide6.QtWidgets import QColorDialog, QDockWidget, QFileDialog, QMenu, QUndoView

from kquant_gui.engine import Quantization, delete_color, merge_colors, replace_color
from kquant_gui.palettes import PaletteReadError, read_palette
from kquant_gui.recipe import read_recipe

from .history import RecipeCommand, describe_change
from .session import Recipe

if TYPE_CHECKING:
    from .main_window import MainWindow

PALETTE_FILTER = (
    "Palettes (*.gpl *.ase *.json *.css *.txt *.hex *.png);;GIMP palette (*.gpl);;"
    "Adobe Swatch Exchange (*.ase);;JSON (*.json);;CSS (*.css);;Hex text (*.txt *.hex);;"
    "Swatch strip (*.png)"
)
#: Width of the History panel when it opens, in logical pixels.
HISTORY_WIDTH = 200
#: Undo steps kept; their results live in the session's cache, bounded by memory.
UNDO_LIMIT = 200


def hex_of(rgb: np.ndarray) -> str:
    """``#rrggbb`` of a (3,) uint8 colour."""
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb[:3]))


class PaletteEditor(QObject):
    """The window's palette editing, palette/recipe files and undo history.

    Attributes
    ----------
    stack : QUndoStack
    action_undo, action_redo, action_history, action_load_palette, action_lock_all,
    action_export_recipe, action_open_recipe : QAction
    color_dialog : QColorDialog or None
        The colour dialog while one is open (tests drive it).
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.session = window.session
        self.stack = QUndoStack(self)
        self.stack.setUndoLimit(UNDO_LIMIT)
        self.color_dialog: QColorDialog | None = None
        self._edit_base: Quantization | None = None
        self._pending_color: QColor | None = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(0)
        self._preview_timer.timeout.connect(self._apply_preview)
        self._build_actions()
        self._build_history_dock()
        canvas = window.palette_canvas
        canvas.swatchMenuRequested.connect(self.show_swatch_menu)
        self.session.resultReady.connect(self._mark_locks)
        self.session.loaded.connect(self._new_image)

    # == actions ==============================================================================
    def _build_actions(self) -> None:
        w = self.w
        self.action_undo = self.stack.createUndoAction(w, "&Undo")
        self.action_undo.setObjectName("actionUndo")
        self.action_undo.setShortcut(QKeySequence("Ctrl+Z"))
        self.action_redo = self.stack.createRedoAction(w, "&Redo")
        self.action_redo.setObjectName("actionRedo")
        self.action_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])

        def action(text: str, slot: Callable[[], None], name: str, tip: str = "") -> QAction:
            a = QAction(text, w)
            a.setObjectName(name)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            return a

        self.action_load_palette = action(
            "&Load Palette…",
            self.load_palette_dialog,
            "actionLoadPalette",
            "Map the image onto the colours of a palette file",
        )
        self.action_lock_all = action(
            "Loc&k Current Palette",
            self.lock_all,
            "actionLockPalette",
            "Keep every colour shown when k, colour space or dithering change",
        )
        self.action_unlock_all = action("&Unlock All Colours", self.unlock_all, "actionUnlockAll")
        self.action_export_recipe = action(
            "Export &Recipe…",
            self.export_recipe_dialog,
            "actionExportRecipe",
            "Save the settings, locks and edits as JSON for kquant --recipe",
        )
        self.action_open_recipe = action(
            "Open Re&cipe…", self.open_recipe_dialog, "actionOpenRecipe"
        )
        for a in (self.action_undo, self.action_redo):
            w.addAction(a)

    def _build_history_dock(self) -> None:
        dock = QDockWidget("History", self.w)
        dock.setObjectName("historyDock")
        view = QUndoView(self.stack, dock)
        view.setObjectName("historyView")
        view.setEmptyLabel("Original settings")
        dock.setWidget(view)
        self.w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.hide()
        self.history_dock = dock
        self.history_view = view
        self.action_history = dock.toggleViewAction()
        self.action_history.setText("&History")
        self.action_history.setObjectName("actionHistory")
        self.action_history.setShortcut(QKeySequence("Ctrl+H"))
        # Narrow: the images need the width more than the list of steps.
        dock.visibilityChanged.connect(
            lambda shown: (
                shown and self.w.resizeDocks([dock], [HISTORY_WIDTH], Qt.Orientation.Horizontal)
            )
        )

    def add_to_menus(self, file_menu: QMenu, colours_menu: QMenu, view_menu: QMenu) -> None:
        """Put the actions in the window's menus."""
        first = colours_menu.actions()[0] if colours_menu.actions() else None
        for a in (self.action_undo, self.action_redo):
            colours_menu.insertAction(first, a)
        colours_menu.insertSeparator(first)
        colours_menu.addSeparator()
        for a in (self.action_load_palette, self.action_lock_all, self.action_unlock_all):
            colours_menu.addAction(a)
        before = file_menu.actions()[-2] if len(file_menu.actions()) >= 2 else None
        file_menu.insertAction(before, self.action_open_recipe)
        file_menu.insertAction(before, self.action_export_recipe)
        view_menu.addSeparator()
        view_menu.addAction(self.action_history)

    def update_actions(self) -> None:
        """Enable what makes sense for the result shown."""
        has = self.session.shown is not None
        for a in (self.action_lock_all, self.action_export_recipe):
            a.setEnabled(has)
        self.action_unlock_all.setEnabled(bool(self.session.recipe.fixed))
        loaded = self.session.source is not None
        self.action_load_palette.setEnabled(loaded)
        self.action_open_recipe.setEnabled(loaded)

    # == steps ================================================================================
    def push(self, after: Recipe, text: str | None = None) -> None:
        """Make ``after`` current as one undoable step."""
        before = self.session.recipe
        if after == before:
            return
        self.stack.push(
            RecipeCommand(text or describe_change(before, after), before, after, self._apply)
        )

    def settings_changed(self, *settings: object) -> None:
        """The controls changed (``settings`` as :meth:`.session.Recipe.with_settings` takes
        them: k, colour space, dithering, strength, engine): a step that keeps the locks."""
        self.push(self.session.recipe.with_settings(*settings))  # type: ignore[arg-type]

    def _apply(self, recipe: Recipe) -> None:
        """Make ``recipe`` current: controls show it, the session shows its result."""
        c = self.w.controls
        c.blockSignals(True)
        try:
            c.set_values(
                recipe.k, recipe.color_space, recipe.dither, recipe.dither_strength, recipe.engine
            )
        finally:
            c.blockSignals(False)
        self.session.change_recipe(recipe)
        self._mark_locks()
        self.update_actions()

    @Slot(object)
    def _new_image(self, _outcome: object) -> None:
        """Another image: a history of its own. Locks and a loaded palette carry over (a
        brand palette is for every image); edits, made on the old result, do not."""
        self.stack.clear()
        recipe = self.session.recipe
        if recipe.edits:
            # Runs before the session starts quantizing the new image.
            self.session.set_recipe(replace(recipe, edits=()))

    def _ready_to_edit(self) -> bool:
        """Edits apply to the result shown; while a newer one is computed they would land on
        the wrong one, so they wait (the status bar says so)."""
        if self.session.shown is None:
            return False
        if self.session.is_busy():
            self.w.statusBar().showMessage(
                "Wait for the new result before editing its colours", 4000
            )
            return False
        return True

    # == locks ================================================================================
    def locked_indices(self) -> set[int]:
        """Swatches of the result shown whose colour is locked."""
        shown, recipe = self.session.shown, self.session.recipe
        if shown is None or recipe.remap or not recipe.fixed:
            return set()
        fixed = set(recipe.fixed)
        return {i for i, c in enumerate(shown.result.palette) if hex_of(c) in fixed}

    @Slot()
    def _mark_locks(self, *_: object) -> None:
        self.w.palette_canvas.set_locked(self.locked_indices())
        self.update_actions()

    def toggle_lock(self, index: int) -> None:
        """Lock swatch ``index`` (kept exactly when k, space or dithering change), or unlock."""
        shown = self.session.shown
        if shown is None:
            return
        color = hex_of(shown.result.palette[index])
        recipe = self.session.recipe
        fixed = () if recipe.remap else recipe.fixed
        fixed = tuple(c for c in fixed if c != color) if color in fixed else (*fixed, color)
        k = max(recipe.k, len(fixed))
        self.push(replace(recipe, k=k, fixed=fixed, remap=False, edits=()))

    @Slot()
    def lock_all(self) -> None:
        """Colours > Lock Current Palette: every colour shown becomes a locked one."""
        shown = self.session.shown
        if shown is None:
            return
        r = shown.result
        fixed = tuple(
            dict.fromkeys(hex_of(c) for i, c in enumerate(r.palette) if i != r.transparent_index)
        )
        recipe = self.session.recipe
        k = max(recipe.k, len(fixed) + (r.transparent_index is not None))
        self.push(replace(recipe, k=k, fixed=fixed, remap=False, edits=()), "Lock current palette")

    @Slot()
    def unlock_all(self) -> None:
        """Colours > Unlock All Colours."""
        recipe = self.session.recipe
        self.push(replace(recipe, fixed=(), remap=False, edits=()))

    # == edits ================================================================================
    def _commit_edit(self, result: Quantization, seconds: float) -> None:
        """Push the edited ``result`` as a step (its last edit extends the recipe)."""
        recipe = self.session.recipe
        after = replace(recipe, edits=(*recipe.edits, result.edits[-1]))
        self.session.show_edited(after, self.session.new_outcome(result, seconds))
        self.push(after)

    def _edit(self, fn: Callable[[Quantization], Quantization]) -> None:
        if not self._ready_to_edit():
            return
        shown = self.session.shown
        assert shown is not None
        start = time.perf_counter()
        try:
            result = fn(shown.result)
        except ValueError as exc:
            self.w._error("Cannot edit the palette", str(exc))
            return
        self._commit_edit(result, time.perf_counter() - start)

    def delete(self, index: int) -> None:
        """Delete swatch ``index``; its pixels go to the nearest remaining colour."""
        self._edit(lambda r: delete_color(r, index))

    def merge(self, indices: list[int]) -> None:
        """Merge swatches ``indices`` into their pixel-weighted mean."""
        self._edit(lambda r: merge_colors(r, indices))
        self.w.palette_canvas.marked = set()

    def set_color(self, index: int, color: str) -> None:
        """Give swatch ``index`` the colour ``color`` (``#rrggbb``) as one step."""
        self._edit(lambda r: replace_color(r, index, color))

    def edit_color(self, index: int) -> QColorDialog | None:
        """Open the colour dialog for swatch ``index``: the image follows the colour live;
        OK makes it a step, Cancel restores the result; None while a result is computed."""
        if not self._ready_to_edit():
            return None
        shown = self.session.shown
        assert shown is not None
        self._edit_base = shown.result
        self._edit_index = index
        rgb = shown.result.palette[index]
        dialog = QColorDialog(QColor(int(rgb[0]), int(rgb[1]), int(rgb[2])), self.w)
        dialog.setObjectName("swatchColorDialog")
        dialog.setWindowTitle(f"Colour {index + 1} ({hex_of(rgb)})")
        dialog.setOption(QColorDialog.ColorDialogOption.DontUseNativeDialog, True)
        dialog.currentColorChanged.connect(self._color_moved)
        dialog.accepted.connect(self._color_accepted)
        dialog.rejected.connect(self._color_rejected)
        dialog.finished.connect(dialog.deleteLater)
        # Keys (Ctrl+Z) go to the window again, not nowhere, once the dialog is gone.
        dialog.finished.connect(self.w.activateWindow)
        self.color_dialog = dialog
        dialog.open()
        return dialog

    @Slot(QColor)
    def _color_moved(self, color: QColor) -> None:
        # Coalesced: while the pointer drags, only the latest colour is painted.
        self._pending_color = color
        self._preview_timer.start()

    @Slot()
    def _apply_preview(self) -> None:
        if self._edit_base is None or self._pending_color is None:
            return
        start = time.perf_counter()
        result = replace_color(self._edit_base, self._edit_index, self._pending_color.name())
        self.session.preview(self.session.new_outcome(result, time.perf_counter() - start))

    @Slot()
    def _color_accepted(self) -> None:
        base, dialog = self._edit_base, self.color_dialog
        self._preview_timer.stop()
        self._edit_base, self.color_dialog = None, None
        if base is None or dialog is None:
            return
        color = dialog.currentColor().name()
        if color == hex_of(base.palette[self._edit_index]):
            self.session.restore_shown()
            return
        start = time.perf_counter()
        result = replace_color(base, self._edit_index, color)
        self._commit_edit(result, time.perf_counter() - start)

    @Slot()
    def _color_rejected(self) -> None:
        self._preview_timer.stop()
        self._edit_base, self.color_dialog = None, None
        self.session.restore_shown()

    # == the swatch menu ======================================================================
    @Slot(int, QPoint)
    def show_swatch_menu(self, index: int, at: QPoint) -> None:
        """Right click on swatch ``index``: lock, edit, delete, merge."""
        menu = self.swatch_menu(index)
        menu.popup(at)

    def swatch_menu(self, index: int) -> QMenu:
        """The context menu of swatch ``index`` (built anew each time)."""
        menu = QMenu(self.w)
        menu.setObjectName("swatchMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        shown = self.session.shown
        if shown is None:
            return menu
        r = shown.result
        transparent = index == r.transparent_index
        locked = index in self.locked_indices()
        lock = menu.addAction("Unlock" if locked else "Lock", lambda: self.toggle_lock(index))
        lock.setObjectName("swatchLock")
        lock.setEnabled(not transparent)
        edit = menu.addAction("Edit Colour…", lambda: self.edit_color(index))
        edit.setObjectName("swatchEdit")
        delete = menu.addAction("Delete", lambda: self.delete(index))
        delete.setObjectName("swatchDelete")
        visible = [i for i in range(r.n_colors) if i != r.transparent_index]
        delete.setEnabled(not transparent and len(visible) > 1)
        merge_menu = menu.addMenu("Merge With")
        merge_menu.setObjectName("swatchMergeMenu")
        merge_menu.setEnabled(not transparent and len(visible) > 1)
        for j in visible:
            if j != index:
                act = merge_menu.addAction(
                    f"{j + 1}: {hex_of(r.palette[j])}", lambda j=j: self.merge([index, j])
                )
                act.setObjectName(f"swatchMergeWith{j}")
        marked = sorted((self.w.palette_canvas.marked | {index}) - {r.transparent_index})
        if len(marked) >= 2:
            act = menu.addAction(f"Merge {len(marked)} Selected", lambda: self.merge(marked))
            act.setObjectName("swatchMergeMarked")
        return menu

    # == files ================================================================================
    @Slot()
    def load_palette_dialog(self) -> None:
        """Colours > Load Palette…: choose a palette file and map the image onto it."""
        path, _ = QFileDialog.getOpenFileName(
            self.w, "Load Palette", str(self.w.prefs.last_folder or ""), PALETTE_FILTER
        )
        if path:
            self.load_palette_from(path)

    def load_palette_from(self, path: str | Path) -> bool:
        """Map the image onto the colours of ``path``; an unreadable file gets a dialog."""
        try:
            colors = read_palette(path)
        except PaletteReadError as exc:
            self.w._error("Cannot load the palette", str(exc))
            return False
        hexes = tuple(hex_of(c) for c in colors)
        r = self.session.recipe
        self.push(replace(r, k=len(hexes), fixed=hexes, remap=True, edits=()))
        return True

    @Slot()
    def open_recipe_dialog(self) -> None:
        """File > Open Recipe…: settings, locks and edits from a JSON palette file."""
        path, _ = QFileDialog.getOpenFileName(
            self.w, "Open Recipe", str(self.w.prefs.last_folder or ""), "Recipe (*.json)"
        )
        if path:
            self.open_recipe_from(path)

    def open_recipe_from(self, path: str | Path) -> bool:
        """Apply the recipe stored in ``path`` as one step."""
        try:
            recipe = read_recipe(path)
        except PaletteReadError as exc:
            self.w._error("Cannot open the recipe", str(exc))
            return False
        self.push(Recipe.from_engine(recipe), f"Recipe {Path(path).name}")
        return True

    @Slot()
    def export_recipe_dialog(self) -> None:
        """File > Export Recipe…: the JSON palette file, which stores the recipe."""
        path = self.w._ask_target("Export Recipe", ".json", "Recipe (*.json)")
        if path is not None:
            self.w.export_palette_to(path.with_suffix(".json"))

"""Your colours: the swatch menu (lock, edit, delete, merge), palettes and recipes from files,
and the undo history over all of it.

:class:`PaletteEditor` belongs to one window. Every change the user makes (k, colour space,
dithering, a lock, an edit, a palette loaded) becomes a new :class:`.session.Recipe`, pushed
as one step on a ``QUndoStack``; the session shows a step's result from its cache at once, or
computes it again. Edits use the engine's label-only functions
(no re-clustering), so a colour dialog's live preview follows the pointer; on a large result
they run in the background (:mod:`.edit_runner`) and the window stays responsive meanwhile:
the display-sized copy is shown first, the full-size result (saved, measured) follows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QColorDialog, QDockWidget, QFileDialog, QMenu, QUndoView

from kquant_gui.engine import (
    EditPlan,
    Quantization,
    apply_plan,
    plan_delete,
    plan_merge,
    plan_replace,
)
from kquant_gui.palettes import PaletteReadError, read_palette
from kquant_gui.recipe import read_recipe

from . import tasks
from .color_preview import ColorPreview, hex_of
from .edit_runner import Edited, EditRunner, FirstLook, runs_in_background, show_first_look
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


class PaletteEditor(QObject):
    """The window's palette editing, palette/recipe files and undo history.

    Signals
    -------
    lookShown(int)
        The display copy of a background edit (its job id) is on screen; the edited result
        itself, and the window's ``resultShown``, follow.

    Attributes
    ----------
    stack : QUndoStack
    action_undo, action_redo, action_history, action_load_palette, action_lock_all,
    action_export_recipe, action_open_recipe : QAction
    color_dialog : QColorDialog or None
        The colour dialog while one is open (tests drive it).
    """

    lookShown = Signal(int)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.session = window.session
        self.stack = QUndoStack(self)
        self.stack.setUndoLimit(UNDO_LIMIT)
        self._stepping_back = False  # see step_back_to
        #: Edits asked for while another one runs in the background, applied after it.
        self._queue: list[Callable[[Quantization], EditPlan]] = []
        self.runner = EditRunner(self)
        self.runner.displayed.connect(self._on_first_look)
        self.runner.finished.connect(self._on_edited)
        self.color_preview = ColorPreview(self)
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
        """Make ``recipe`` current: controls show it, the session shows its result (or only
        takes it, while :meth:`step_back_to` walks the history back after a cancel)."""
        c = self.w.controls
        c.blockSignals(True)
        try:
            c.set_values(
                recipe.k, recipe.color_space, recipe.dither, recipe.dither_strength, recipe.engine
            )
        finally:
            c.blockSignals(False)
        if self._stepping_back:
            self.session.set_recipe(recipe)
        else:
            self.session.change_recipe(recipe)
        self._mark_locks()
        self.update_actions()

    def step_back_to(self, recipe: Recipe) -> None:
        """Esc cancelled the steps that lead away from ``recipe`` (the result shown): undo
        them without computing anything, so that the history agrees with the screen and
        Redo runs the cancelled step again."""
        self._stepping_back = True
        try:
            while self.session.recipe != recipe and self.stack.canUndo():
                step = self.stack.command(self.stack.index() - 1)
                if not isinstance(step, RecipeCommand) or step.after != self.session.recipe:
                    break
                self.stack.undo()
        finally:
            self._stepping_back = False

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
    def _commit(self, outcome: tasks.Quantized) -> None:
        """Push the edited result ``outcome`` as a step (its last edit extends the recipe)."""
        recipe = self.session.recipe
        after = replace(recipe, edits=(*recipe.edits, outcome.result.edits[-1]))
        self.session.show_edited(after, outcome)
        self.push(after)

    def _edit_now(
        self, fn: Callable[[Quantization], EditPlan], base: tasks.Quantized
    ) -> tasks.Quantized | None:
        """The edit planned by ``fn`` applied to ``base`` on this thread (a small result);
        None if refused."""
        start = time.perf_counter()
        try:
            result = apply_plan(base.result, fn(base.result))
        except ValueError as exc:
            self.w._error("Cannot edit the palette", str(exc))
            return None
        return self.session.new_outcome(result, time.perf_counter() - start)

    def _edit(self, fn: Callable[[Quantization], EditPlan]) -> None:
        if not self._ready_to_edit():
            return
        if self.runner.busy() or self._queue:
            # Applied to the result of the edit running now, once it is there.
            self._queue.append(fn)
            return
        self._start(fn)

    def editing(self) -> bool:
        """True while edits asked for have not all landed in the session."""
        return self.runner.busy() or bool(self._queue)

    def _start(self, fn: Callable[[Quantization], EditPlan]) -> None:
        shown = self.session.shown
        assert shown is not None
        if runs_in_background(shown.result):
            tag = ("commit", self.session.recipe, self.session.source)
            self.runner.submit(shown, fn, tag)
            return
        outcome = self._edit_now(fn, shown)
        if outcome is not None:
            self._commit(outcome)

    def _still_current(self, tag: tuple) -> bool:
        """True when a commit job's tag names the recipe and image shown now."""
        _kind, recipe, source = tag
        return self.session.recipe == recipe and self.session.source is source

    @Slot(object)
    def _on_first_look(self, look: FirstLook) -> None:
        """The display copy of an edit running in the background: shown at once; its
        full-size result follows (:meth:`_on_edited`)."""
        tag = look.job.tag
        if tag[0] == "preview":
            self.color_preview.on_first_look(look)
        elif self._still_current(tag):
            self.show_look(look)

    def show_look(self, look: FirstLook) -> None:
        """Put an edit's display copy on screen ahead of its full-size result."""
        show_first_look(self.w, look)
        self.lookShown.emit(look.job.job_id)

    @Slot(object)
    def _on_edited(self, edited: Edited) -> None:
        """An edit made in the background: show it, if it still applies to what is shown."""
        kind, *about = edited.job.tag
        if kind == "preview":
            self.color_preview.on_preview(edited, about[0])
            return
        current = self._still_current(edited.job.tag)
        if edited.error is not None or not current:
            # Refused, or the user moved on meanwhile (undo, other settings, another image):
            # the edits that were to follow this one are dropped with it.
            self._queue.clear()
            if edited.error is not None and current:
                self.w._error("Cannot edit the palette", edited.error)
            return
        assert edited.result is not None
        self._commit(self._outcome(edited))
        if self._queue:
            self._start(self._queue.pop(0))

    def _outcome(self, edited: Edited) -> tasks.Quantized:
        assert edited.result is not None
        return self.session.new_outcome(edited.result, edited.seconds, edited.display)

    def delete(self, index: int) -> None:
        """Delete swatch ``index``; each pixel goes to its own nearest remaining colour."""
        self._edit(lambda r: plan_delete(r, index))

    def merge(self, indices: list[int]) -> None:
        """Merge swatches ``indices`` into their pixel-weighted mean."""
        self._edit(lambda r: plan_merge(r, indices))
        self.w.palette_canvas.marked = set()

    def set_color(self, index: int, color: str) -> None:
        """Give swatch ``index`` the colour ``color`` (``#rrggbb``) as one step."""
        self._edit(lambda r: plan_replace(r, index, color))

    def edit_color(self, index: int) -> QColorDialog | None:
        """Open the colour dialog for swatch ``index`` (see :class:`.color_preview.ColorPreview`);
        None while a result is computed or an edit runs."""
        if not self._ready_to_edit() or self.runner.busy() or self._queue:
            return None
        return self.color_preview.open(index)

    @property
    def color_dialog(self) -> QColorDialog | None:
        """The colour dialog while one is open (tests drive it)."""
        return self.color_preview.dialog

    def shutdown(self) -> None:
        """Stop the edit thread (the window is closing)."""
        self.runner.shutdown()

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

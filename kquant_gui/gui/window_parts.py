"""The window's parts: views and splitters, actions, menus, settings toolbar and status bar.

Like the ``setupUi`` code Qt Designer generates, these functions give the window its
``*_canvas``, ``action_*``, ``controls``, ``recent_menu``, ``progress_bar``… attributes and
connect each action to one of the window's slots, so that the window module keeps the wiring
and the behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMenu,
    QProgressBar,
    QSizePolicy,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .colour_menus import add_setting_menus
from .controls import QuantizeControls
from .curve_panel import CurvePanel, suggest_action
from .elided_label import ElidedLabel
from .help_dialog import show_numbers_help
from .image_canvas import BACKGROUNDS, ZOOM_STEP, ImageCanvas, ViewState
from .palette_canvas import PaletteCanvas, content_height
from .theme import THEMES
from .view_tools import add_zoom_tools

if TYPE_CHECKING:
    from .main_window import MainWindow
    from .preferences import Preferences


#: What the original view says while there is no image.
DROP_HINT = "Drop an image here\nor press Ctrl+O to open one"


def build_views(w: MainWindow) -> None:
    """The original and quantized views side by side above the palette, each with a title."""
    w.view = ViewState(w)
    w.original_canvas = ImageCanvas(w.view, DROP_HINT)
    w.original_canvas.setObjectName("originalCanvas")
    w.quantized_canvas = ImageCanvas(w.view, "")
    w.quantized_canvas.setObjectName("quantizedCanvas")
    w.palette_canvas = PaletteCanvas()
    w.palette_canvas.setObjectName("paletteCanvas")
    w.original_title = ElidedLabel("Original")
    w.quantized_title = ElidedLabel("Quantized")
    w.palette_title = ElidedLabel("Palette")
    for label in (w.original_title, w.quantized_title, w.palette_title):
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    w.images_splitter = QSplitter(Qt.Orientation.Horizontal)
    w.images_splitter.setObjectName("imagesSplitter")
    w.images_splitter.addWidget(_titled(w.original_title, w.original_canvas))
    w.images_splitter.addWidget(_titled(w.quantized_title, w.quantized_canvas))
    w.images_splitter.setChildrenCollapsible(False)
    w.main_splitter = QSplitter(Qt.Orientation.Vertical)
    w.main_splitter.setObjectName("mainSplitter")
    w.main_splitter.addWidget(w.images_splitter)
    # The palette and, beside it, the quality curve.
    w.curve_panel = CurvePanel()
    w.bottom_splitter = QSplitter(Qt.Orientation.Horizontal)
    w.bottom_splitter.setObjectName("bottomSplitter")
    w.bottom_splitter.addWidget(_titled(w.palette_title, w.palette_canvas))
    w.bottom_splitter.addWidget(w.curve_panel)
    w.bottom_splitter.setStretchFactor(0, 3)
    w.bottom_splitter.setStretchFactor(1, 2)
    w.bottom_splitter.setChildrenCollapsible(False)
    w.main_splitter.addWidget(w.bottom_splitter)
    w.main_splitter.setStretchFactor(0, 5)
    w.main_splitter.setStretchFactor(1, 1)
    w.main_splitter.setChildrenCollapsible(False)
    # Dragged by the user: from then on the palette pane keeps the height they chose.
    w.main_splitter.splitterMoved.connect(
        lambda *_: w.main_splitter.setProperty("userSized", True)
    )
    w.setCentralWidget(w.main_splitter)
    w.palette_canvas.clear("The palette appears here")


def fit_palette_pane(w: MainWindow, n_colors: int) -> None:
    """Give the palette pane the height its swatches need (at most 40 % of the window) and
    the image views the rest; left alone once the user has dragged the splitter."""
    if w.main_splitter.property("userSized"):
        return
    sizes = w.main_splitter.sizes()
    total = sum(sizes)
    if total <= 0:
        return
    pane = w.palette_canvas.parentWidget()
    extra = pane.height() - w.palette_canvas.height() if pane is not None else 0
    needed = content_height(n_colors, w.palette_canvas.width(), 0.4 * total) + extra
    # Neighbours of the palette in its row (the quality curve) keep their own minimum.
    row = w.main_splitter.widget(1)
    needed = int(
        max(needed, w.palette_canvas.minimumHeight() + extra, row.minimumSizeHint().height())
    )
    w.main_splitter.setSizes([total - needed, needed, *([0] * (len(sizes) - 2))])


def _titled(title: QLabel, body: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(2, 2, 2, 2)
    layout.setSpacing(2)
    layout.addWidget(title)
    layout.addWidget(body, 1)
    return box


def _action(
    window: MainWindow,
    text: str,
    slot: Callable[..., object],
    shortcut: str | QKeySequence.StandardKey | list[str] | None = None,
    name: str | None = None,
    tip: str | None = None,
) -> QAction:
    action = QAction(text, window)
    if name:
        action.setObjectName(name)
    if shortcut is not None:
        keys = shortcut if isinstance(shortcut, list) else [shortcut]
        action.setShortcuts([QKeySequence(k) for k in keys])
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(slot)
    window.addAction(action)  # shortcuts work even when the menu bar is hidden
    return action


def _choices(
    window: MainWindow, kind: str, names: tuple[str, ...], choose: Callable[[str], None]
) -> dict[str, QAction]:
    """One checkable action per name, exclusive within their group (``actionThemeDark``)."""
    group = QActionGroup(window)
    actions: dict[str, QAction] = {}
    for name in names:
        # A mnemonic each (View > Theme > D for dark), as every other menu item has.
        action = QAction("&" + name.capitalize(), window, checkable=True)
        action.setObjectName(f"action{kind}{name.capitalize()}")
        action.triggered.connect(lambda _=False, n=name: choose(n))
        group.addAction(action)
        actions[name] = action
    return actions


def build_actions(w: MainWindow) -> None:
    """Every command of the window as a named ``QAction`` with its shortcut.

    Needs ``w.view`` and ``w.quantized_canvas``; the k steps reach ``w.controls`` when
    triggered, so they may be built before the toolbar.
    """
    seq = QKeySequence.StandardKey
    w.action_open = _action(
        w, "&Open…", w.open_dialog, seq.Open, "actionOpen", "Open an image file"
    )
    w.action_open_sample = _action(
        w, "Open &Sample Image", w.open_sample, None, "actionOpenSample"
    )
    w.action_save = _action(
        w,
        "&Save",
        w.save,
        seq.Save,
        "actionSave",
        "Save the quantized image to the file of the last Save As (asks the first time)",
    )
    w.action_save_as = _action(
        w,
        "Save &As…",
        w.save_as_dialog,
        "Ctrl+Shift+S",
        "actionSaveAs",
        "Save the quantized image (indexed PNG, GIF, WebP, TIFF, BMP or JPEG)",
    )
    w.action_export_palette = _action(
        w,
        "&Export Palette…",
        w.export_palette_dialog,
        "Ctrl+E",
        "actionExportPalette",
        "Save the palette (GIMP .gpl, JSON, CSS, hex text, …)",
    )
    w.action_batch = _action(
        w,
        "&Batch…",
        w.open_batch,
        "Ctrl+B",
        "actionBatch",
        "Quantize many files or a folder with the current settings",
    )
    w.action_quit = _action(w, "&Quit", w.close, "Ctrl+Q", "actionQuit")
    w.action_quit.setMenuRole(QAction.MenuRole.QuitRole)
    w.action_k_up = _action(
        w, "&More Colours (k + 1)", lambda: w.controls.step_k(1), ["+", "="], "actionMoreColors"
    )
    w.action_k_down = _action(
        w, "&Fewer Colours (k − 1)", lambda: w.controls.step_k(-1), "-", "actionFewerColors"
    )
    w.action_suggest_k = suggest_action(w)
    w.curve_panel.set_suggest_action(w.action_suggest_k)
    w.action_cancel = _action(
        w, "&Cancel", w.cancel, "Esc", "actionCancel", "Stop the running quantization"
    )
    w.action_fit = _action(w, "&Fit to Window", w.view.set_fit, "Ctrl+0", "actionFit")
    w.action_one_to_one = _action(
        w, "&Actual Pixels (1:1)", w.quantized_canvas.one_to_one, "Ctrl+1", "actionOneToOne"
    )
    w.action_zoom_in = _action(
        w,
        "Zoom &In",
        lambda: w.quantized_canvas.zoom(ZOOM_STEP),
        # Ctrl+= too: on most keyboards "+" needs Shift, and users press Ctrl and the key.
        ["Ctrl++", "Ctrl+="],
        "actionZoomIn",
    )
    w.action_zoom_out = _action(
        w,
        "Zoom &Out",
        lambda: w.quantized_canvas.zoom(1 / ZOOM_STEP),
        seq.ZoomOut,
        "actionZoomOut",
    )
    w.action_about = _action(w, "&About kquant-gui", w.show_about, None, "actionAbout")
    w.action_about.setMenuRole(QAction.MenuRole.AboutRole)
    w.background_actions = _choices(w, "Background", BACKGROUNDS, w.set_background)
    w.theme_actions = _choices(w, "Theme", THEMES, w.set_theme)


def build_menus(w: MainWindow) -> None:
    """File, Colours, View and Help, from the actions of :func:`build_actions`."""
    bar = w.menuBar()
    file_menu = w.file_menu = bar.addMenu("&File")
    file_menu.addAction(w.action_open)
    w.recent_menu = file_menu.addMenu("Open &Recent")
    w.recent_menu.setObjectName("menuOpenRecent")
    w.recent_menu.aboutToShow.connect(w._fill_recent_menu)
    file_menu.addAction(w.action_open_sample)
    file_menu.addSeparator()
    file_menu.addAction(w.action_save)
    file_menu.addAction(w.action_save_as)
    file_menu.addAction(w.action_export_palette)
    file_menu.addSeparator()
    file_menu.addAction(w.action_batch)
    file_menu.addSeparator()
    file_menu.addAction(w.action_quit)
    edit_menu = w.colours_menu = bar.addMenu("&Colours")
    edit_menu.addAction(w.action_k_up)
    edit_menu.addAction(w.action_k_down)
    edit_menu.addAction(w.action_suggest_k)
    edit_menu.addSeparator()
    edit_menu.addAction(w.action_cancel)
    view_menu = w.view_menu = bar.addMenu("&View")
    for action in (w.action_fit, w.action_one_to_one, w.action_zoom_in, w.action_zoom_out):
        view_menu.addAction(action)
    view_menu.addSeparator()
    background_menu = view_menu.addMenu("Transparency &Background")
    for action in w.background_actions.values():
        background_menu.addAction(action)
    theme_menu = view_menu.addMenu("&Theme")
    for action in w.theme_actions.values():
        theme_menu.addAction(action)
    help_menu = bar.addMenu("&Help")
    numbers = help_menu.addAction("&What the Numbers Mean")
    numbers.setObjectName("actionNumbersHelp")
    numbers.triggered.connect(lambda: show_numbers_help(w))
    help_menu.addSeparator()
    help_menu.addAction(w.action_about)


def fill_recent_menu(menu: QMenu, prefs: Preferences, open_path: Callable[[str], None]) -> None:
    """Refill File > Open Recent from ``prefs`` (numbered, newest first, then Clear Menu)."""
    menu.clear()
    files = prefs.recent_files()
    for i, name in enumerate(files, 1):
        # The folder beside the name: two "photo.jpg" from different folders are told apart.
        folder = _short_folder(Path(name).parent)
        action = menu.addAction(f"&{i % 10}  {Path(name).name}  —  {folder}")
        action.setToolTip(name)
        action.setStatusTip(name)
        action.triggered.connect(lambda _=False, n=name: open_path(n))
    if not files:
        menu.addAction("No recent files").setEnabled(False)
    menu.addSeparator()
    clear = menu.addAction("&Clear Menu")
    clear.setEnabled(bool(files))
    clear.triggered.connect(prefs.clear_recent_files)


def _short_folder(folder: Path) -> str:
    """``~/Pictures/trip`` for a folder in the home folder, else the folder as it is."""
    try:
        return str(Path("~") / folder.relative_to(Path.home()))
    except ValueError:
        return str(folder)


def build_toolbar(w: MainWindow) -> None:
    """The settings toolbar: k (spin box and slider), colour space, dithering and its strength,
    Fit and 1:1."""
    bar = QToolBar("Settings", w)
    bar.setObjectName("settingsToolBar")
    bar.setMovable(False)
    bar.setFloatable(False)
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    w.controls = QuantizeControls(w)
    k_label = QLabel(" Colours k ")
    k_label.setBuddy(w.controls.k_spin)
    bar.addWidget(k_label)
    bar.addWidget(w.controls.k_spin)
    bar.addWidget(w.controls.k_slider)
    bar.addSeparator()
    bar.addWidget(QLabel(" Colour space "))
    bar.addWidget(w.controls.color_space)
    bar.addWidget(QLabel(" Dithering "))
    bar.addWidget(w.controls.dither)
    bar.addWidget(w.controls.dither_strength)
    add_zoom_tools(w, bar)
    w.settings_toolbar = bar
    w.engine_menu = add_setting_menus(
        w,
        w.colours_menu,
        w.action_cancel,
        w.controls.color_space,
        w.controls.dither,
        w.controls.engine_actions,
    )
    # scikit-learn's KMeans cannot hold a locked colour still: offered only without locks.
    reference = w.controls.engine_actions["sklearn"]
    w.engine_menu.aboutToShow.connect(
        lambda: reference.setEnabled(not w.session.recipe.fixed or reference.isChecked())
    )


def build_status_bar(w: MainWindow) -> None:
    """Figures of the image and result, the pixel under the pointer, progress and Cancel."""
    status = w.statusBar()
    w.stats_label = ElidedLabel("")
    w.stats_label.setObjectName("statsLabel")
    status.addWidget(w.stats_label, 1)
    # The colour under the pointer, while it is over an image.
    w.pixel_label = QLabel("")
    w.pixel_label.setObjectName("pixelLabel")
    w.pixel_label.setTextFormat(Qt.TextFormat.PlainText)
    w.pixel_label.setVisible(False)
    status.addPermanentWidget(w.pixel_label)
    w.progress_bar = QProgressBar()
    w.progress_bar.setObjectName("progressBar")
    w.progress_bar.setRange(0, 1000)
    # Room for its longest words on one line: squeezed by the figures beside it, the bar
    # wrapped "Dithering… 72%" onto two clipped lines.
    room = w.progress_bar.fontMetrics().horizontalAdvance("Choosing 256 colours… 100%") + 24
    w.progress_bar.setMinimumWidth(room)
    w.progress_bar.setMaximumWidth(room + 60)
    w.progress_bar.setTextVisible(True)
    w.cancel_button = QToolButton()
    w.cancel_button.setObjectName("cancelButton")
    w.cancel_button.setDefaultAction(w.action_cancel)
    w.cancel_button.setToolTip("Cancel (Esc)")
    status.addPermanentWidget(w.progress_bar)
    status.addPermanentWidget(w.cancel_button)
    # Room for both lines of figures from the start: the bar grew by a line when a result's
    # figures came in, shrinking the views by a few pixels, each drawn again for it (~10 ms
    # of the main thread apiece, on every opened image).
    w.stats_label.setText("\n")
    w.stats_label.setMinimumHeight(w.stats_label.sizeHint().height())
    w.stats_label.setText("")

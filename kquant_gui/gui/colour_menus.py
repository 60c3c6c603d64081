"""Colours > Colour Space, Dithering and Engine: the settings, from the keyboard.

Each entry of a toolbar combo box gets a checkable menu action (with a mnemonic, so that
Alt+C, S, L picks CIELAB); choosing one sets the combo box, which stays the one owner of the
setting, and the menu follows whatever the combo box shows. The engine has no combo box: its
two actions (owned by the controls) go into the menu as they are.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QComboBox, QMenu, QWidget

#: Menu text of each choice (the mnemonic letter after "&").
SPACE_MENU_TEXT = {"lab": "CIE&LAB", "oklab": "&OKLab", "rgb": "s&RGB"}
DITHER_MENU_TEXT = {"none": "&None", "floyd-steinberg": "&Floyd–Steinberg", "ordered": "&Ordered"}


def mirror_combo(
    owner: QWidget, menu: QMenu, combo: QComboBox, texts: dict[str, str], prefix: str
) -> dict[str, QAction]:
    """Fill ``menu`` with one exclusive checkable action per item of ``combo``.

    Returns
    -------
    dict of str to QAction
        By the item's data (the engine's name); objectNames ``<prefix><Key>``.
    """
    group = QActionGroup(owner)
    actions: dict[str, QAction] = {}
    for i in range(combo.count()):
        key = str(combo.itemData(i))
        action = QAction(texts.get(key, combo.itemText(i)), owner, checkable=True)
        action.setObjectName(prefix + "".join(p.capitalize() for p in key.split("-")))
        action.triggered.connect(lambda _=False, index=i: combo.setCurrentIndex(index))
        group.addAction(action)
        menu.addAction(action)
        actions[key] = action

    def follow(index: int) -> None:
        chosen = actions.get(str(combo.itemData(index)))
        if chosen is not None:
            chosen.setChecked(True)

    combo.currentIndexChanged.connect(follow)
    follow(combo.currentIndex())
    return actions


def add_setting_menus(
    owner: QWidget,
    menu: QMenu,
    before: QAction,
    space: QComboBox,
    dither: QComboBox,
    engines: dict[str, QAction],
) -> QMenu:
    """Colours > Colour Space and Colours > Dithering (placed above ``before``), mirroring
    the toolbar's combo boxes, and Colours > Engine holding ``engines``.

    Returns
    -------
    QMenu
        The Engine menu (objectName ``menuEngine``).
    """
    for title, name, combo, texts, prefix in (
        ("Colour &Space", "menuColorSpace", space, SPACE_MENU_TEXT, "actionSpace"),
        ("&Dithering", "menuDithering", dither, DITHER_MENU_TEXT, "actionDither"),
    ):
        sub = QMenu(title, menu)
        sub.setObjectName(name)
        mirror_combo(owner, sub, combo, texts, prefix)
        menu.insertMenu(before, sub)
    engine_menu = QMenu("&Engine", menu)
    engine_menu.setObjectName("menuEngine")
    engine_menu.setToolTipsVisible(True)
    engine_menu.addActions(list(engines.values()))
    menu.insertMenu(before, engine_menu)
    return engine_menu

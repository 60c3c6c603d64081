"""The toolbar's view tools: Fit and 1:1 as real buttons with icons, and the zoom readout.

The icons are drawn here (no image files to ship) in the toolbar's own text colour, and
redrawn when the theme changes. The readout says the scale of the views in percent of
actual pixels (100 % = one image pixel per screen pixel), "Fit" included, so that a user
knows what the views show without zooming to find out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolBar, QToolButton, QWidget

if TYPE_CHECKING:
    from .main_window import MainWindow

#: Side of the drawn icons, in logical pixels (drawn at 2x for high-density screens).
ICON_SIDE = 20


def _canvas(draw) -> QIcon:
    pixmap = QPixmap(ICON_SIDE * 2, ICON_SIDE * 2)
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    draw(painter)
    painter.end()
    return QIcon(pixmap)


def fit_icon(color) -> QIcon:
    """Four corners pointing out: "the whole image"."""

    def draw(p: QPainter) -> None:
        p.setPen(QPen(color, 1.8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        s, a, b = ICON_SIDE, 3.0, 8.0
        for x, dx in ((a, 1), (s - a, -1)):
            for y, dy in ((a, 1), (s - a, -1)):
                p.drawLine(QPointF(x, y), QPointF(x + dx * (b - a), y))
                p.drawLine(QPointF(x, y), QPointF(x, y + dy * (b - a)))
        p.drawRect(QRectF(7.0, 7.0, s - 14.0, s - 14.0))

    return _canvas(draw)


def actual_pixels_icon(color) -> QIcon:
    """ "1:1" in a frame: "actual pixels"."""

    def draw(p: QPainter) -> None:
        p.setPen(QPen(color, 1.4))
        p.drawRoundedRect(QRectF(1.5, 3.5, ICON_SIDE - 3.0, ICON_SIDE - 7.0), 2.0, 2.0)
        font = QFont()
        font.setPixelSize(9)
        font.setBold(True)
        p.setFont(font)
        p.drawText(QRectF(0, 0, ICON_SIDE, ICON_SIDE), Qt.AlignmentFlag.AlignCenter, "1:1")

    return _canvas(draw)


def add_zoom_tools(w: MainWindow, bar: QToolBar) -> None:
    """Fit and 1:1 buttons and the zoom readout, pushed to the right end of ``bar``.

    Gives ``w`` its ``zoom_label`` (objectName ``zoomLabel``).
    """
    spacer = QWidget()
    spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    bar.addWidget(spacer)
    w.action_fit.setIconText("Fit")
    w.action_fit.setToolTip("Fit the whole image in the views (Ctrl+0, or double-click a view)")
    w.action_one_to_one.setIconText("1:1")
    w.action_one_to_one.setToolTip("Actual pixels: one image pixel per screen pixel (Ctrl+1)")
    buttons = []
    for action, name in ((w.action_fit, "fitButton"), (w.action_one_to_one, "oneToOneButton")):
        button = QToolButton()
        button.setObjectName(name)
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setAutoRaise(False)  # looks like a button, not a label
        bar.addWidget(button)
        buttons.append(button)
    w.zoom_label = QLabel("")
    w.zoom_label.setObjectName("zoomLabel")
    w.zoom_label.setToolTip("Scale of the views: 100 % shows one image pixel per screen pixel")
    w.zoom_label.setMinimumWidth(w.zoom_label.fontMetrics().horizontalAdvance("Fit 3200 % "))
    w.zoom_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    bar.addWidget(w.zoom_label)
    recolor_zoom_icons(w)
    w.view.changed.connect(lambda: update_zoom_label(w))
    CompactButtons(bar, buttons)


class CompactButtons(QObject):
    """Drops the text of ``buttons`` (icons and tooltips stay) while ``bar`` is too narrow
    for it: at 800 px the zoom readout went into the toolbar's overflow menu, unseen."""

    def __init__(self, bar: QToolBar, buttons: list[QToolButton]) -> None:
        super().__init__(bar)
        self.bar, self.buttons = bar, buttons
        styles = Qt.ToolButtonStyle
        widths = {}
        for style in (styles.ToolButtonIconOnly, styles.ToolButtonTextBesideIcon):
            for b in buttons:
                b.setToolButtonStyle(style)
            widths[style] = sum(b.sizeHint().width() for b in buttons)
        #: What the text adds to the bar's width.
        self.text_width = (
            widths[styles.ToolButtonTextBesideIcon] - widths[styles.ToolButtonIconOnly]
        )
        bar.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.bar and event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def fit(self) -> None:
        """Text beside the icons when the whole bar fits with it, else icons only."""
        styles = Qt.ToolButtonStyle
        with_text = self.buttons[0].toolButtonStyle() == styles.ToolButtonTextBesideIcon
        needed = self.bar.sizeHint().width() + (0 if with_text else self.text_width)
        style = (
            styles.ToolButtonTextBesideIcon
            if needed <= self.bar.width()
            else styles.ToolButtonIconOnly
        )
        for b in self.buttons:
            b.setToolButtonStyle(style)


def recolor_zoom_icons(w: MainWindow) -> None:
    """Draw the icons in the current theme's text colour."""
    color = w.palette().color(QPalette.ColorRole.ButtonText)
    w.action_fit.setIcon(fit_icon(color))
    w.action_one_to_one.setIcon(actual_pixels_icon(color))


def zoom_text(scale: float, fit: bool) -> str:
    """``Fit 43 %`` or ``250 %``: device pixels per image pixel as a percentage."""
    percent = f"{scale * 100:.0f} %" if scale >= 0.1 else f"{scale * 100:.1f} %"
    return f"Fit {percent}" if fit else percent


def update_zoom_label(w: MainWindow) -> None:
    """Show the current scale of the views (empty while there is no image)."""
    if w.view.image_size == (0, 0):
        w.zoom_label.setText("")
        return
    scale, _ = w.quantized_canvas.effective_view()
    w.zoom_label.setText(zoom_text(scale, w.view.fit))

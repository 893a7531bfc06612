"""Colours and fonts of the window: a light, calm theme for projectors.

The heat maps' colours come from :mod:`visualconv.engine.palette`, numbers from
:mod:`visualconv.engine.numbers`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QBrush, QColor, QFont, QFontDatabase, QIcon, QPainter, QPixmap, QPolygonF

from ..engine import palette
from ..i18n import N_
from ..samples import resource_dir

# The diverging map centred on zero (see visualconv.engine.palette).
DIVERGING_STOPS = palette.SCREEN_STOPS
DIVERGING_COLOURS = palette.SCREEN_COLOURS

BACKGROUND = "#fbfbf8"
PANEL_BACKGROUND = "#ffffff"
TEXT = "#1f2328"
MUTED = "#6b7280"
GRID = "#d0d4da"
WINDOW_OUTLINE = "#111827"  # the current overlay's window / element
CHANGED_OUTLINE = "#f59e0b"  # cells the current step changed (amber)
ARGMAX_OUTLINE = "#059669"  # the chosen maximum of a pooling window (green)
PADDING_FILL = "#d1d5db"
PADDING_TEXT = "#4b5563"

# Numbers are drawn in cells only up to this size per tile.
MAX_NUMBERED_CELLS = 12


def diverging_colormap() -> pg.ColorMap:
    """The heat maps' colour map (use with levels symmetric about zero)."""
    return pg.ColorMap(np.array(DIVERGING_STOPS), np.array(DIVERGING_COLOURS, dtype=np.ubyte))


_LUT: np.ndarray | None = None


def diverging_lut() -> np.ndarray:
    """A 256-entry RGB lookup table of :func:`diverging_colormap` (computed once)."""
    global _LUT
    if _LUT is None:
        _LUT = diverging_colormap().getLookupTable(nPts=256, alpha=False)
    return _LUT


nice_level = palette.nice_level


_INDEX_LUTS: dict[str, np.ndarray] = {}
_LIGHT_TEXT: dict[str, np.ndarray] = {}


def index_lut(key: str = "rdbu") -> np.ndarray:
    """RGBA lookup table of colour indices: 0 is transparent (blank), 1..255 run from -level to +level.

    ``key`` names one of :data:`visualconv.engine.palette.PALETTES` (the default: red–blue).
    """
    lut = _INDEX_LUTS.get(key)
    if lut is None:
        chosen = palette.PALETTES[key]
        lut = np.zeros((256, 4), dtype=np.ubyte)
        lut[1:, :3] = pg.ColorMap(
            np.array(chosen.stops), np.array(chosen.colours, dtype=np.ubyte)
        ).getLookupTable(nPts=255, alpha=False)
        lut[1:, 3] = 255
        _INDEX_LUTS[key] = lut
    return lut


def light_text(key: str = "rdbu") -> np.ndarray:
    """Per colour index (256): whether the number drawn on that colour is white (else dark).

    Red–blue: white on the saturated ends (above 62 % of the level); the sequential maps:
    white where the colour is dark (relative luminance below 0.18).
    """
    table = _LIGHT_TEXT.get(key)
    if table is None:
        if palette.PALETTES[key].diverging:
            fraction = np.abs(np.arange(256) - 128.0) / 127.0
            table = fraction > 0.62
        else:
            lut = index_lut(key)
            table = np.array(
                [palette.luminance(tuple(int(c) for c in lut[i, :3])) < 0.18 for i in range(256)]
            )
        table[0] = False
        _LIGHT_TEXT[key] = table
    return table


def colour_index(values: np.ndarray, level: float) -> np.ndarray:
    """Colour indices of values for a range [-level, level] centred on zero (NaN: 0, blank)."""
    with np.errstate(invalid="ignore"):
        index = np.rint((np.asarray(values) / level + 1.0) * 127.0) + 1.0
    np.clip(index, 1, 255, out=index)
    nan = np.isnan(values)
    if nan.any():
        index[nan] = 0
    return index.astype(np.uint8)


def symmetric_level(max_abs: float) -> float:
    """The half-width of a colour range centred on zero for values up to ``max_abs``."""
    if not math.isfinite(max_abs) or max_abs <= 0:
        return 1.0
    return float(max_abs)


def monospace_font(point_size: float = 11.0) -> QFont:
    """The fixed-width font of the equation panel."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(point_size)
    return font


def contrast_text(fraction: float) -> QColor:
    """Dark text on pale cells, white text on saturated ones (``fraction`` = |v| / level)."""
    return QColor("#ffffff") if fraction > 0.62 else QColor(TEXT)


@dataclass(frozen=True, slots=True)
class Theme:
    """The window's colours (View ▸ Theme): light, dark or high contrast.

    The heat maps' own colours are the palette's (View ▸ Palette); a theme colours
    everything around them: backgrounds, text, the cell grid and the outlines.
    """

    key: str
    title: str
    background: str = BACKGROUND
    panel_background: str = PANEL_BACKGROUND
    text: str = TEXT
    muted: str = MUTED
    grid: str = GRID
    window_outline: str = WINDOW_OUTLINE
    changed_outline: str = CHANGED_OUTLINE
    argmax_outline: str = ARGMAX_OUTLINE
    link: str = "#7c3aed"  # linked cells (hover, pin): violet
    padding_fill: str = PADDING_FILL
    padding_text: str = PADDING_TEXT
    field_background: str = "#ffffff"
    cell_text: str = TEXT  # numbers on the heat maps' (mostly pale) cells, in every theme
    line_scale: float = 1.0  # outlines and grid lines this much wider
    window_colours: bool = False  # the whole window (docks, menus, fields) in these colours
    control_images: str = ""  # resources/<this>/: spin-box arrows, check marks and dots in its colours
    accent: str = "#1d4ed8"  # the training plot's epoch loss

    @property
    def disabled_text(self) -> str:
        """Text and icons of a control that cannot be used.

        The theme's muted colour, or half-way from text to background where the two are one
        colour (high contrast).
        """
        if QColor(self.muted) != QColor(self.text):
            return self.muted
        a, b = QColor(self.text), QColor(self.background)
        return QColor(
            (a.red() + b.red()) // 2, (a.green() + b.green()) // 2, (a.blue() + b.blue()) // 2
        ).name()

    def _controls_style(self) -> str:
        """Spin-box buttons, check boxes and radio buttons drawn in the theme's colours.

        Under a style sheet Qt draws their arrows and frames in its own dark colours, which
        vanish on a dark background; these rules give them the theme's text colour (images in
        ``resources/<control_images>/``), a disabled or exhausted one in its muted colour.
        """
        folder = resource_dir()
        if not self.control_images or folder is None:
            return ""
        images = (folder / self.control_images).as_posix()
        return f"""
QAbstractSpinBox {{ padding-right: 18px; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{
    subcontrol-origin: border; width: 18px; background-color: {self.panel_background};
    border-left: 1px solid {self.grid}; }}
QAbstractSpinBox::up-button {{ subcontrol-position: top right; }}
QAbstractSpinBox::down-button {{ subcontrol-position: bottom right; border-top: 1px solid {self.grid}; }}
QAbstractSpinBox::up-button:hover, QAbstractSpinBox::down-button:hover {{ background-color: {self.grid}; }}
QAbstractSpinBox::up-arrow {{ image: url("{images}/up.svg"); width: 10px; height: 10px; }}
QAbstractSpinBox::down-arrow {{ image: url("{images}/down.svg"); width: 10px; height: 10px; }}
QAbstractSpinBox::up-arrow:disabled, QAbstractSpinBox::up-arrow:off {{ image: url("{images}/up-off.svg"); }}
QAbstractSpinBox::down-arrow:disabled, QAbstractSpinBox::down-arrow:off {{
    image: url("{images}/down-off.svg"); }}
QCheckBox::indicator, QRadioButton::indicator {{
    width: 14px; height: 14px; border: 1px solid {self.muted}; background-color: {self.field_background}; }}
QRadioButton::indicator {{ border-radius: 8px; }}
QCheckBox::indicator:hover, QRadioButton::indicator:hover {{ border-color: {self.text}; }}
QCheckBox::indicator:checked {{ image: url("{images}/check.svg"); }}
QRadioButton::indicator:checked {{ image: url("{images}/dot.svg"); }}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{ border-color: {self.grid}; }}
QCheckBox::indicator:checked:disabled {{ image: url("{images}/check-off.svg"); }}
QRadioButton::indicator:checked:disabled {{ image: url("{images}/dot-off.svg"); }}
QSlider::groove:horizontal {{ height: 4px; background-color: {self.grid}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background-color: {self.accent}; border-radius: 2px; }}
QSlider::handle:horizontal {{
    width: 12px; margin: -5px 0; border-radius: 6px; background-color: {self.text};
    border: 1px solid {self.muted}; }}
QSlider::sub-page:horizontal:disabled {{ background-color: {self.grid}; }}
QSlider::handle:horizontal:disabled {{ background-color: {self.muted}; }}
"""

    def style_sheet(self) -> str:
        """The window's style sheet in these colours."""
        whole = ""
        if self.window_colours:  # a style sheet, not a QPalette: Qt ignores palettes under style sheets
            whole = f"""
QWidget {{ color: {self.text}; background-color: {self.background}; }}
QLineEdit, QPlainTextEdit, QTextEdit, QTableView, QTreeView, QListView, QComboBox, QAbstractSpinBox {{
    background-color: {self.field_background}; color: {self.text}; border: 1px solid {self.grid}; }}
QPushButton, QToolButton {{
    background-color: {self.panel_background}; color: {self.text}; border: 1px solid {self.grid};
    padding: 3px 8px; }}
QPushButton:disabled, QToolButton:disabled {{ color: {self.muted}; }}
QHeaderView::section, QTabBar::tab {{
    background-color: {self.panel_background}; color: {self.text}; border: 1px solid {self.grid};
    padding: 3px 6px; }}
QTabBar::tab:selected {{ background-color: {self.background}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background-color: {self.grid}; }}
QTreeView, QListView {{ alternate-background-color: {self.background}; }}
QTableView {{ color: {self.cell_text}; background-color: #f3f4f6; gridline-color: {self.grid}; }}
""" + self._controls_style()
        return (
            whole
            + f"""
QMainWindow, QWidget#central, QScrollArea#zoomArea > QWidget#qt_scrollarea_viewport {{
    background: {self.background}; }}
QLabel#panelTitle, QLabel#equationsHeading {{ color: {self.text}; font-weight: 600; }}
QLabel#muted {{ color: {self.muted}; }}
QLabel#stepCounter {{ font-weight: 600; }}
QPlainTextEdit#equations {{
    background: {self.field_background}; border: 1px solid {self.grid}; color: {self.text}; }}
QTreeWidget {{ background: {self.field_background}; }}
"""
        )


THEMES: dict[str, Theme] = {
    t.key: t
    for t in (
        Theme("light", N_("&Light")),
        Theme(
            "dark",
            N_("&Dark"),
            background="#15181d",
            panel_background="#1f232a",
            text="#e6e8eb",
            muted="#a0a7b1",
            grid="#3b424d",
            window_outline="#f9fafb",
            padding_fill="#4b5563",
            padding_text="#111827",
            field_background="#1f232a",
            window_colours=True,
            control_images="dark",
            accent="#60a5fa",
        ),
        Theme(
            "contrast",
            N_("&High contrast"),
            background="#ffffff",
            panel_background="#ffffff",
            text="#000000",
            muted="#000000",
            grid="#000000",
            window_outline="#000000",
            changed_outline="#d97706",
            argmax_outline="#047857",
            link="#6d28d9",
            padding_text="#000000",
            cell_text="#000000",
            line_scale=1.6,
        ),
    )
}
"""The themes by key (View ▸ Theme); ``light`` is the default."""
LIGHT = THEMES["light"]

# The step bar's icons in a 16 x 16 box: triangles (three corners) and bars (x, y, width, height).
_RIGHT = ((0.0, 3.0), (6.0, 8.0), (0.0, 13.0))
STEP_ICON_SHAPES: dict[str, tuple[tuple[str, tuple[float, ...]], ...]] = {
    "first": (("bar", (2.0, 3.0, 2.0, 10.0)), ("left", (4.0,)), ("left", (9.0,))),
    "previous": (("left", (2.0,)), ("left", (8.0,))),
    "play": (("triangle", (4.0, 2.0, 13.0, 8.0, 4.0, 14.0)),),
    "pause": (("bar", (4.0, 3.0, 3.0, 10.0)), ("bar", (9.0, 3.0, 3.0, 10.0))),
    "next": (("right", (2.0,)), ("right", (8.0,))),
    "last": (("right", (1.0,)), ("right", (6.0,)), ("bar", (12.0, 3.0, 2.0, 10.0))),
}
"""What each step-bar icon is made of (a pointing triangle is 6 wide, placed at its left edge)."""


def _shape_icon_pixmap(kind: str, colour: str, scale: int) -> QPixmap:
    pixmap = QPixmap(16 * scale, 16 * scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(scale, scale)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(QColor(colour)))
    for shape, numbers in STEP_ICON_SHAPES[kind]:
        if shape == "bar":
            painter.drawRect(QRectF(*numbers))
        elif shape == "triangle":
            x = numbers
            painter.drawPolygon(QPolygonF([QPointF(x[0], x[1]), QPointF(x[2], x[3]), QPointF(x[4], x[5])]))
        else:
            left = numbers[0]
            points = [QPointF(left + (6.0 - x if shape == "left" else x), y) for x, y in _RIGHT]
            painter.drawPolygon(QPolygonF(points))
    painter.end()
    pixmap.setDevicePixelRatio(scale)
    return pixmap


def step_icon(kind: str, theme: Theme) -> QIcon:
    """A step-bar icon (``STEP_ICON_SHAPES``) in the theme's text colour, muted when disabled.

    The style's own media icons are dark whatever the theme (invisible on the dark one).
    """
    icon = QIcon()
    for scale in (1, 2):
        icon.addPixmap(_shape_icon_pixmap(kind, theme.text, scale), QIcon.Mode.Normal)
        icon.addPixmap(_shape_icon_pixmap(kind, theme.disabled_text, scale), QIcon.Mode.Disabled)
    return icon


STYLE_SHEET = LIGHT.style_sheet()

# Presentation mode (F5): titles and labels at projector size, read from the back of a room.
PRESENTATION_STYLE = """
QLabel#panelTitle { font-size: 18px; }
QLabel#muted { font-size: 15px; }
QLabel#equationsHeading { font-size: 18px; }
"""

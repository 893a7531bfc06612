"""Colours and fonts of the window: a light, calm theme for projectors.

The heat maps' colours come from :mod:`visualconv.engine.palette`, numbers from
:mod:`visualconv.engine.numbers`.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6.QtGui import QColor, QFont, QFontDatabase

from ..engine import palette

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


_INDEX_LUT: np.ndarray | None = None


def index_lut() -> np.ndarray:
    """RGBA lookup table of colour indices: 0 is transparent (blank), 1..255 run from -level to +level."""
    global _INDEX_LUT
    if _INDEX_LUT is None:
        lut = np.zeros((256, 4), dtype=np.ubyte)
        lut[1:, :3] = diverging_colormap().getLookupTable(nPts=255, alpha=False)
        lut[1:, 3] = 255
        _INDEX_LUT = lut
    return _INDEX_LUT


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


STYLE_SHEET = f"""
QMainWindow, QWidget#central {{ background: {BACKGROUND}; }}
QLabel#panelTitle, QLabel#equationsHeading {{ color: {TEXT}; font-weight: 600; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#stepCounter {{ font-weight: 600; }}
QPlainTextEdit#equations {{ background: #ffffff; border: 1px solid {GRID}; color: {TEXT}; }}
QTreeWidget {{ background: #ffffff; }}
"""

# Presentation mode (F5): titles and labels at projector size, read from the back of a room.
PRESENTATION_STYLE = """
QLabel#panelTitle { font-size: 18px; }
QLabel#muted { font-size: 15px; }
QLabel#equationsHeading { font-size: 18px; }
"""

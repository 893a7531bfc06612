"""A heat map of one tensor: one tile per channel, numbers in small cells, outlines.

Every tile sits in one image (:class:`MosaicItem`, one data unit per cell) in one
``ViewBox``; numbers are drawn by a single painter item in device pixels, so they stay
legible at any zoom. Items are created when the tile geometry changes (a new layer or
model) and only updated where a step changes them: a step rewrites the colours of the
cells it changed and asks Qt to repaint just their rectangle, outlines are one item per
tile and kind (a window that moves repaints its old and new box, not the panel), and
numbers are repainted per tile. :attr:`TensorPanel.counts` counts what was updated
(cells recoloured, tiles renumbered, outline items changed, cells asked to repaint),
which the tests read: what a step costs, independent of the machine's speed.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6 import sip
from PyQt6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, pyqtSignal, pyqtSlot
from PyQt6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QShowEvent,
    QWheelEvent,
)
from PyQt6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QMenu,
    QStyleOptionGraphicsItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ...engine import palette
from ...engine.numbers import DEFAULT, NumberFormat
from ...engine.scene import border_sides
from ...i18n import _
from .. import theme
from .elided import ElidedLabel

# Outline kinds, drawn in this order (later on top): (colour, width in px, inset in cells)
OUTLINE_STYLES: dict[str, tuple[str, float, float]] = {
    "changed": (theme.CHANGED_OUTLINE, 3.0, 0.0),
    "window": (theme.WINDOW_OUTLINE, 2.5, 0.0),
    "argmax": (theme.ARGMAX_OUTLINE, 3.0, 0.14),
}

Cell = tuple[int, int, int]  # (tile, row, col)

PRESENTATION_PIXELS = 24.0  # numbers in a presentation are at least this tall, or fewer digits are shown
PRESENTATION_SHARE = 0.56  # of the cell height: the digits (about 3/4 of it) stay clear of the corner mark

# The recorded maximum of a pooling window: a filled triangle in the cell's top-right corner, this
# many cells along each side (as printed figures mark it, ◥). Numbers are centred and at most
# PRESENTATION_SHARE of a cell tall, so the mark never crosses a digit.
MARK_SIZE = 0.28

LINK_COLOUR = theme.LIGHT.link  # linked cells: a violet outline inside the cell, never a fill over its digits


CAPTION_POINTS = (8, 7)
"""Font sizes of the tile captions, tried largest first (see TensorPanel._fit_captions)."""


def caption_variants(text: str) -> list[str]:
    """A tile caption and its shorter forms, longest first: ``channel 3``, ``c3``; ``W[0, 1]``, ``[0, 1]``."""
    variants = [text]
    if text.startswith("channel "):
        variants.append("c" + text[len("channel ") :])
    elif "[" in text:
        variants.append(text[text.index("[") :].replace(", ", ","))
    return variants


@dataclass(frozen=True, slots=True)
class TileGeometry:
    """Where the tiles of a panel sit in its view (data coordinates, one unit per cell).

    Attributes
    ----------
    count : int
        Number of tiles T.
    shape : (int, int)
        Cells per tile (H, W).
    grid : (int, int)
        Tile rows and columns of the layout.
    gap : int
        Space between tiles, in cells.
    label_space : int
        Space for the captions above each row of tiles, in cells (0 without captions);
        between rows, captions share the gap.
    """

    count: int
    shape: tuple[int, int]
    grid: tuple[int, int]
    gap: int
    label_space: int

    @property
    def row_gap(self) -> int:
        """Space between two rows of tiles (room for the captions of the lower row)."""
        return max(self.gap, self.label_space)

    def origin(self, t: int) -> tuple[int, int]:
        """Top-left corner (x, y) of tile t (whole cells)."""
        row, col = divmod(t, self.grid[1])
        h, w = self.shape
        return col * (w + self.gap), self.label_space + row * (h + self.row_gap)

    def rect(self, t: int) -> QRectF:
        """The rectangle of tile t."""
        x, y = self.origin(t)
        return QRectF(x, y, self.shape[1], self.shape[0])

    def mosaic_shape(self) -> tuple[int, int]:
        """Rows and columns of the one image that holds every tile (and the caption space)."""
        h, w = self.shape
        rows, cols = self.grid
        return self.label_space + rows * h + (rows - 1) * self.row_gap, cols * w + (cols - 1) * self.gap

    def bounds(self) -> QRectF:
        """The rectangle around every tile and caption."""
        height, width = self.mosaic_shape()
        return QRectF(0, 0, width, height)

    def locate(self, x: float, y: float) -> Cell | None:
        """The (tile, row, col) under data point (x, y), or None between tiles."""
        h, w = self.shape
        col_t = math.floor(x / (w + self.gap))
        row_t = math.floor((y - self.label_space) / (h + self.row_gap))
        if not (0 <= col_t < self.grid[1] and 0 <= row_t < self.grid[0]):
            return None
        t = row_t * self.grid[1] + col_t
        if t >= self.count:
            return None
        x0, y0 = self.origin(t)
        c, r = math.floor(x - x0), math.floor(y - y0)
        if 0 <= r < h and 0 <= c < w:
            return t, r, c
        return None


def auto_grid(count: int, shape: tuple[int, int]) -> tuple[int, int]:
    """Tile rows and columns that keep a panel roughly 4:3 (1-D strips stack vertically)."""
    h, w = shape
    if count <= 1:
        return 1, 1
    if h == 1:
        return count, 1
    best = (count, 1)
    best_score = math.inf
    for cols in range(1, count + 1):
        rows = -(-count // cols)
        aspect = (cols * w) / (rows * h)
        score = abs(math.log(aspect / 1.4)) + 0.05 * (rows * cols - count)
        if score < best_score:
            best, best_score = (rows, cols), score
    return best


def cells_differ(values: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Where two arrays of one shape differ (bool, their shape); NaN against NaN is no change.

    Float64 arrays in C order are compared bit for bit, as 64-bit integers: one pass, and
    the engine's blank (NaN) cells are equal to themselves. (0.0 against -0.0 then counts
    as a change: its cell is only drawn again in the same colour.)
    """
    if values.dtype == old.dtype == np.float64 and values.flags.c_contiguous and old.flags.c_contiguous:
        return np.asarray(values.view(np.int64) != old.view(np.int64))
    return ~((values == old) | (np.isnan(values) & np.isnan(old)))


def tiles_that_differ(values: np.ndarray, old: np.ndarray) -> np.ndarray:
    """The tiles (indices, ascending) where two (T, H, W) arrays differ, as :func:`cells_differ` says.

    A few cells of every tile are compared first: a tile they show changed is not read in
    full (after a jump every tile of a large plane differs, and most cells of it need no
    comparing to tell). Only the tiles whose sampled cells agree are compared cell by cell.
    """
    count = values.shape[0]
    if count == 0:
        return np.zeros(0, dtype=np.intp)
    new_flat, old_flat = values.reshape(count, -1), old.reshape(count, -1)
    stride = new_flat.shape[1] // 61
    if stride <= 1:  # small tiles: every cell at once
        return np.flatnonzero(cells_differ(new_flat, old_flat).any(axis=1))
    # a sampled cell that differs by value (not NaN against NaN) differs bit for bit too
    differs = cells_differ(new_flat[:, ::stride], old_flat[:, ::stride]).any(axis=1)
    rest = np.flatnonzero(~differs)
    if len(rest):
        differs[rest] = cells_differ(new_flat[rest], old_flat[rest]).any(axis=1)
    return np.flatnonzero(differs)


def _cell_places(
    geometry: TileGeometry, ys: np.ndarray, xs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where mosaic rows ``ys`` and columns ``xs`` fall among the tiles of ``geometry``.

    Returns the tile (intp, (len(ys), len(xs))), the row in its tile (len(ys),), the column
    in its tile (len(xs),) and which pixels show a cell (bool, (len(ys), len(xs))).
    """
    h, w = geometry.shape
    tile_row, r = np.divmod(np.asarray(ys, dtype=np.intp) - geometry.label_space, h + geometry.row_gap)
    tile_col, c = np.divmod(np.asarray(xs, dtype=np.intp), w + geometry.gap)
    tiles = tile_row[:, None] * geometry.grid[1] + tile_col[None, :]
    inside = ((tile_row >= 0) & (r < h))[:, None] & (c < w)[None, :] & (tiles < geometry.count)
    return tiles, r, c, inside


def argb_table(lut: np.ndarray) -> np.ndarray:
    """A (256, 4) RGBA lookup table as 256 premultiplied 32-bit ARGB pixels (index 0 transparent)."""
    rgba = np.asarray(lut, dtype=np.uint32)
    alpha = rgba[:, 3]
    rgb = rgba[:, :3] * alpha[:, None] // 255  # premultiplied
    return (alpha << 24) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]


BlockSource = Callable[[int, int, int, int], "np.ndarray | None"]
"""Colour indices of the picture's device rows r0:r1 and columns c0:c1 (None: ask the CellSource)."""

_IndexCache = tuple[TileGeometry, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]
"""What TensorPanel._cell_index keeps: the geometry, the rows and columns asked, the answer."""

CellSource = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Colour indices (uint8, (len(ys), len(xs))) of the cells at mosaic rows ys and columns xs."""


class MosaicItem(QGraphicsItem):
    """Every tile as one image, coloured only where it is seen and repainted only where it changes.

    Level of detail: the item keeps no picture of every cell. What is drawn is a picture
    of the visible part at the current zoom, one ARGB pixel per device pixel, each the
    colour of the cell under its centre, asked of the panel (a :data:`CellSource`) only
    for the cells that some device pixel shows; it is made when the zoom, the view or its
    size changes. A 512x512 plane in a 150-pixel tile costs 150x150 colour look-ups, not
    262144. :meth:`changed` says a block of cells changed: its device pixels are asked
    again and Qt repaints only that block. Painting is a plain copy of device pixels, so
    a repaint of any part lands exactly where a full repaint puts it.
    """

    def __init__(self, source: CellSource, block_source: BlockSource | None = None) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._source = source
        self._block_source = block_source
        self.lut = np.array(theme.index_lut(), copy=True)  # the RGBA table, as pyqtgraph's ImageItem.lut
        self._table = argb_table(self.lut)
        self._shape = (0, 0)
        self._bounds = QRectF()
        # The picture: its transform and device size, its origin, and which cell each of its
        # device rows and columns shows.
        self._key: tuple[float, ...] | None = None
        self._origin = (0, 0)
        self._rows = np.zeros(0, dtype=np.intp)
        self._cols = np.zeros(0, dtype=np.intp)
        self._device = np.zeros((0, 0), dtype=np.uint32)
        self._device_image = QImage()
        self.sampled = 0  # cells whose colour the last pictures asked for (tests read it)

    def set_lookup_table(self, lut: np.ndarray) -> None:
        """New colours for the indices (an RGBA (256, 4) table); repaints everything."""
        self.lut = np.array(lut, copy=True)
        self._table = argb_table(lut)
        self.refresh()

    setLookupTable = set_lookup_table  # the name pyqtgraph's ImageItem gives it

    def set_shape(self, height: int, width: int) -> None:
        """The mosaic's size in cells (a new layout); everything is asked again."""
        if self._shape != (height, width):
            self.prepareGeometryChange()
            self._shape = (height, width)
            self._bounds = QRectF(0, 0, width, height)
        self.refresh()

    def changed(self, y0: int, x0: int, h: int, w: int) -> None:
        """The cells of the block at (y0, x0), h x w, changed: redo their pixels and repaint only them."""
        if not h or not w:
            return
        if self._key is not None:
            r0, r1 = np.searchsorted(self._rows, (y0, y0 + h))
            c0, c1 = np.searchsorted(self._cols, (x0, x0 + w))
            if r1 > r0 and c1 > c0:
                r0, r1, c0, c1 = int(r0), int(r1), int(c0), int(c1)
                colours = None if self._block_source is None else self._block_source(r0, r1, c0, c1)
                if colours is None:
                    colours = self._source(self._rows[r0:r1], self._cols[c0:c1])
                self._device[r0:r1, c0:c1] = self._table[colours]
                self.sampled += int((r1 - r0) * (c1 - c0))
        self.update(QRectF(x0, y0, w, h))

    def refresh(self) -> None:
        """Every cell may have changed: the picture is made again at the next paint."""
        self._key = None
        self.update()

    @property
    def rows(self) -> np.ndarray:
        """The mosaic row of each device row of the picture (what the whole picture asks for)."""
        return self._rows

    @property
    def cols(self) -> np.ndarray:
        """The mosaic column of each device column of the picture."""
        return self._cols

    def boundingRect(self) -> QRectF:  # noqa: D102 - Qt API
        return self._bounds

    def _picture(self, sx: float, sy: float, tx: float, ty: float, width: int, height: int) -> None:
        """The picture for x -> sx*x + tx, y -> sy*y + ty, on a device of width x height pixels."""
        h, w = self._shape
        # device pixels the cells cover, within the device
        left, top = max(math.floor(tx), 0), max(math.floor(ty), 0)
        right, bottom = min(math.ceil(tx + sx * w), width), min(math.ceil(ty + sy * h), height)
        cols = np.floor((np.arange(left, max(right, left)) + 0.5 - tx) / sx).astype(np.intp)
        rows = np.floor((np.arange(top, max(bottom, top)) + 0.5 - ty) / sy).astype(np.intp)
        keep_c, keep_r = (cols >= 0) & (cols < w), (rows >= 0) & (rows < h)
        self._origin = (
            left + int(np.argmax(keep_c)) if keep_c.any() else left,
            top + int(np.argmax(keep_r)) if keep_r.any() else top,
        )
        self._rows, self._cols = rows[keep_r], cols[keep_c]
        self._device = np.ascontiguousarray(self._table[self._source(self._rows, self._cols)])
        self.sampled += int(self._device.size)
        dh, dw = self._device.shape
        self._device_image = QImage(
            sip.voidptr(self._device.ctypes.data), dw, dh, 4 * dw, QImage.Format.Format_ARGB32_Premultiplied
        )

    def paint(  # noqa: D102 - Qt API
        self,
        painter: QPainter | None,
        option: QStyleOptionGraphicsItem | None,
        widget: QWidget | None = None,
    ) -> None:
        if painter is None or not self._shape[0] or not self._shape[1]:
            return
        if option is not None and not option.exposedRect.intersects(self._bounds):
            return
        transform = painter.worldTransform()
        device = painter.device()
        if (
            device is None
            or transform.m12()
            or transform.m21()
            or transform.m11() <= 0
            or transform.m22() <= 0
        ):
            # rotated or mirrored (never in the window): let Qt scale a picture of every cell
            h, w = self._shape
            cells = np.ascontiguousarray(self._table[self._source(np.arange(h), np.arange(w))])
            image = QImage(
                sip.voidptr(cells.ctypes.data), w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied
            )
            painter.drawImage(self._bounds, image)
            return
        key = (
            transform.m11(),
            transform.m22(),
            transform.dx(),
            transform.dy(),
            device.width(),
            device.height(),
        )
        if key != self._key:
            self._picture(*key[:4], int(key[4]), int(key[5]))
            self._key = key
        if self._device_image.isNull():
            return
        painter.save()
        painter.resetTransform()
        painter.drawImage(QPointF(*self._origin), self._device_image)
        painter.restore()


class OutlineItem(QGraphicsPathItem):
    """A path with a cosmetic pen whose bounding rectangle covers the pen's pixels.

    Qt measures a cosmetic pen in item units, which is far too little when a cell is a
    pixel or less: an outline that moves would leave its old edge on the screen.
    :attr:`margin` (data units, kept by the panel at a few device pixels) is added on
    every side.
    """

    def __init__(self) -> None:
        super().__init__()
        self.margin = 0.0
        # Qt asks for the rectangle many times a paint (a few hundred calls a step): it is kept
        # until the path, the pen or the margin changes, each of which forgets it.
        self._bounds: QRectF | None = None

    def set_margin(self, margin: float) -> None:
        """Grow the bounding rectangle by ``margin`` data units on each side."""
        if margin != self.margin:
            self.prepareGeometryChange()
            self.margin = margin
            self._bounds = None

    def setPath(self, path: QPainterPath) -> None:
        """A new outline (its rectangle is measured again)."""
        self._bounds = None  # while Qt reads the old rectangle, it is measured from the old path
        super().setPath(path)
        self._bounds = None

    def setPen(self, pen: QPen | Qt.PenStyle | QColor) -> None:
        """A new pen (its width is part of the rectangle)."""
        self._bounds = None
        super().setPen(pen)
        self._bounds = None

    def boundingRect(self) -> QRectF:  # noqa: D102 - Qt API
        bounds = self._bounds
        if bounds is None:
            rect = super().boundingRect()
            m = self.margin
            bounds = self._bounds = rect if rect.isEmpty() else rect.adjusted(-m, -m, m, m)
        return QRectF(bounds)


class OutlineSet(dict[int, OutlineItem]):
    """The outline items of one kind, by tile, read and styled as if they were one item."""

    def __init__(
        self,
        on_pen: Callable[[QPen], None],
        on_brush: Callable[[QBrush], None],
        current_pen: Callable[[], QPen],
    ) -> None:
        super().__init__()
        self._on_pen = on_pen
        self._on_brush = on_brush
        self._current_pen = current_pen

    def pen(self) -> QPen:
        """The pen the outlines of this kind are drawn with."""
        return self._current_pen()

    def path(self) -> QPainterPath:
        """Every tile's outline of this kind as one path."""
        path = QPainterPath()
        for item in self.values():
            path.addPath(item.path())
        return path

    def setPen(self, pen: QPen) -> None:  # the name QGraphicsPathItem gives it
        """Draw every tile's outline of this kind, and those made later, with ``pen``."""
        self._on_pen(pen)

    def setBrush(self, brush: QBrush) -> None:  # the name QGraphicsPathItem gives it
        """Fill every tile's outline of this kind, and those made later, with ``brush``."""
        self._on_brush(brush)


class CellNumbers(QGraphicsItem):
    """Draws every tile's numbers in its cells, in device pixels (one item per panel).

    Each tile has its numbers at the panel's precision (four significant digits for its
    largest value) and shorter variants (one and two digits less); the first that fits
    the cells is drawn. The font size is chosen from the widest number of the whole pass
    (:meth:`set_widest`), so it stays the same while stepping.

    Attributes
    ----------
    max_pixels, min_pixels : float
        The largest and smallest font size drawn, in pixels (the zoom scales them).
    height_share : float
        The largest font size as a share of the cell height.
    drawn_pixels : int
        The pixel size of the font drawn last (0: no numbers were drawn).
    """

    VARIANTS = 3
    MIN_PIXELS = 8.0
    MAX_PIXELS = 22.0
    HEIGHT_SHARE = 0.42

    def __init__(self, numbers: NumberFormat = DEFAULT) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.numbers = numbers
        self._geometry: TileGeometry | None = None
        self._texts: list[tuple[list[str], ...] | None] = []
        self._pending: dict[int, tuple[np.ndarray, int]] = {}  # tiles whose strings are not made yet
        self._light: list[np.ndarray | None] = []  # per tile: bool (H, W), white text on dark cells
        self.colours = (
            QColor(theme.TEXT),
            QColor("#ffffff"),
            QColor(theme.PADDING_TEXT),
        )  # dark, light, muted
        self._muted: np.ndarray | None = None  # bool (H, W) mask of padding cells
        self._bounds = QRectF()
        self._font = QFont()
        self.font = self._font  # the font drawn last (read by tests and the presentation check)
        reference = QFont(self._font)
        reference.setPixelSize(100)
        self._metrics = QFontMetricsF(reference)  # widths at 100 px, scaled to the cells
        self._advances: dict[str, float] = {}
        self.variant = 0  # 0: full precision, 1 and 2: shorter; the one drawn last
        self.max_pixels = self.MAX_PIXELS
        self.min_pixels = self.MIN_PIXELS
        self.height_share = self.HEIGHT_SHARE
        self.drawn_pixels = 0
        self._widest: tuple[str, ...] = ()  # the pass's widest number, per variant

    def set_widest(self, values: Sequence[float] | None, decimals: int) -> None:
        """The pass's widest numbers, one per variant (written with ``decimals``, one, two ... fewer).

        The font size is chosen from them.
        """
        cell = self.numbers.window_cell
        if not values:
            self._widest = ()
        else:  # a variant without its own widest value uses the last one given
            chosen = [values[min(k, len(values) - 1)] for k in range(self.VARIANTS)]
            self._widest = tuple(cell(v, max(decimals - k, 0)) for k, v in enumerate(chosen))
        self.update()

    def set_sizes(self, max_pixels: float, min_pixels: float, height_share: float) -> None:
        """The font size limits, in pixels, and the largest font size as a share of the cell height."""
        self.max_pixels, self.min_pixels, self.height_share = max_pixels, min_pixels, height_share
        self.update()

    def set_geometry(self, geometry: TileGeometry, muted: np.ndarray | None) -> None:
        """New tile layout; clears the numbers."""
        self.prepareGeometryChange()
        self._geometry = geometry
        self._bounds = geometry.bounds()
        self._texts = [None] * geometry.count
        self._pending = {}
        self._light = [None] * geometry.count
        self._muted = muted
        self.update()

    def set_tile(self, t: int, texts: tuple[list[str], ...] | None, light: np.ndarray | None) -> None:
        """Numbers of tile t (row-major strings, one list per variant) and where they are white (bool)."""
        if texts is None and self._texts[t] is None and t not in self._pending:
            return  # no numbers before or after: nothing to repaint
        self._texts[t] = texts
        self._pending.pop(t, None)
        self._light[t] = light
        self._update_tile(t)

    def set_values(self, t: int, tile: np.ndarray, decimals: int, light: np.ndarray) -> None:
        """Numbers of tile t from its values; the strings are made when first drawn or read.

        Stepping through a large layer changes many small tiles whose cells are often too
        small for text: making their strings only when they are shown keeps steps cheap.
        """
        self._texts[t] = None
        self._pending[t] = (tile, decimals)
        self._light[t] = light
        self._update_tile(t)

    def set_many(self, tiles: Sequence[int], values: np.ndarray, decimals: int, light: np.ndarray) -> None:
        """:meth:`set_values` of many tiles, one repaint (``values``, ``light``: an (H, W) block per tile)."""
        for index, t in enumerate(tiles):
            self._texts[t] = None
            self._pending[t] = (values[index], decimals)
            self._light[t] = light[index]
        self.update()

    def _update_tile(self, t: int) -> None:
        """Repaint the numbers of tile t only."""
        if self._geometry is not None:
            self.update(self._geometry.rect(t))

    def _entry(self, t: int) -> tuple[list[str], ...] | None:
        pending = self._pending.pop(t, None)
        if pending is not None:
            tile, decimals = pending
            numbers = tile.ravel().tolist()
            cell = self.numbers.window_cell
            self._texts[t] = tuple(
                ["" if math.isnan(v) else cell(v, max(decimals - less, 0)) for v in numbers]
                for less in range(self.VARIANTS)
            )
        return self._texts[t]

    def texts(self, t: int, variant: int | None = None) -> list[str] | None:
        """The strings of tile t (row-major; default: the variant drawn last), None without numbers."""
        entry = self._entry(t) if 0 <= t < len(self._texts) else None
        return None if entry is None else entry[self.variant if variant is None else variant]

    def boundingRect(self) -> QRectF:  # noqa: D102 - Qt API
        return self._bounds

    def _advance(self, text: str) -> float:
        advance = self._advances.get(text)
        if advance is None:
            advance = self._advances[text] = self._metrics.horizontalAdvance(text)
        return advance

    def _font_size(self, cell_w: float, cell_h: float, variant: int) -> float:
        shown = False
        widest = self._advance(self._widest[variant]) if self._widest else 0.0
        for t in range(len(self._texts)):
            entry = self._entry(t)
            if entry:
                shown = True
                for text in set(entry[variant]):  # the pass's widest, unless a step shows a wider one
                    widest = max(widest, self._advance(text))
        if not widest or not shown:
            return 0.0
        return min(self.height_share * cell_h, 0.94 * cell_w * 100 / widest, self.max_pixels)

    def paint(  # noqa: D102 - Qt API
        self,
        painter: QPainter | None,
        option: QStyleOptionGraphicsItem | None,
        widget: QWidget | None = None,
    ) -> None:
        geometry = self._geometry
        if painter is None or geometry is None:
            return
        transform = painter.worldTransform()
        cell_w = math.hypot(transform.m11(), transform.m12())
        cell_h = math.hypot(transform.m21(), transform.m22())
        self.drawn_pixels = 0
        if self.height_share * cell_h < self.min_pixels:
            return  # no variant's text fits cells this small (see _font_size)
        for variant in range(self.VARIANTS):
            size = self._font_size(cell_w, cell_h, variant)
            if size >= self.min_pixels:
                break
        else:
            return
        self.variant = variant
        self.drawn_pixels = max(1, int(size))
        w = geometry.shape[1]
        self._font.setPixelSize(max(1, int(size)))
        painter.save()
        painter.resetTransform()
        painter.setFont(self._font)
        dark, light, muted = self.colours
        align = Qt.AlignmentFlag.AlignCenter
        exposed = self._bounds if option is None else option.exposedRect
        for t in range(len(self._texts)):
            if not exposed.intersects(geometry.rect(t)):
                continue  # a repaint elsewhere: this tile's numbers are on the screen already
            entry = self._entry(t)
            if not entry:
                continue
            texts = entry[variant]
            white = self._light[t]
            x0, y0 = geometry.origin(t)
            for index, text in enumerate(texts):
                if not text:
                    continue
                r, c = divmod(index, w)
                rect = transform.mapRect(QRectF(x0 + c, y0 + r, 1.0, 1.0))
                if self._muted is not None and self._muted[r, c]:
                    painter.setPen(muted)  # padding: lightened by its shading, so dark text
                elif white is not None and white[r, c]:
                    painter.setPen(light)
                else:
                    painter.setPen(dark)
                painter.drawText(rect, align, text)
        painter.restore()


class _View(pg.GraphicsLayoutWidget):
    """The pyqtgraph canvas of a panel: one ViewBox, no mouse zoom (it always fits)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(theme.PANEL_BACKGROUND)
        self.ci.setContentsMargins(4, 4, 4, 2)
        self.ci.setSpacing(2)
        self.viewbox = self.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.viewbox.setDefaultPadding(0.0)
        self.viewbox.setMouseEnabled(x=False, y=False)

    def wheelEvent(self, event: QWheelEvent | None) -> None:
        """The wheel is not the panel's (it always fits): it goes on to the zoom area (scroll, Ctrl: zoom)."""
        if event is not None:
            event.ignore()


class ColorBar(QWidget):
    """A horizontal colour bar of the diverging map with ticks at -level, -level/2, 0, level/2, level.

    Drawn with a painter (cheap to redraw when the level changes while stepping).
    """

    def __init__(self, parent: QWidget | None = None, numbers: NumberFormat = DEFAULT) -> None:
        super().__init__(parent)
        self.numbers = numbers
        self.levels = (-1.0, 1.0)
        self.setFixedHeight(30)
        self._frame, self._text = QColor(theme.GRID), QColor(theme.MUTED)
        self.set_palette("rdbu")
        font = QFont(self.font())
        font.setPointSizeF(8)
        self.setFont(font)

    def set_palette(self, key: str) -> None:
        """The colours of the palette ``key``."""
        chosen = palette.PALETTES[key]
        self._gradient_stops = [
            (pos, QColor(*rgb)) for pos, rgb in zip(chosen.stops, chosen.colours, strict=True)
        ]
        self.update()

    def set_colours(self, frame: str, text: str) -> None:
        """The frame and tick colours (the theme's)."""
        self._frame, self._text = QColor(frame), QColor(text)
        self.update()

    def setLevels(self, values: tuple[float, float]) -> None:
        """Show the colour range ``(low, high)``."""
        self.levels = (float(values[0]), float(values[1]))
        self.update()

    TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)
    MARGIN = 24

    def tick_texts(self, fractions: tuple[float, ...] = TICKS) -> list[str]:
        """The tick labels at ``fractions`` of the bar, left to right."""
        low, high = self.levels
        return [self.numbers.scale(low + (high - low) * f) for f in fractions]

    def _bar(self) -> QRectF:
        return QRectF(self.MARGIN, 2, max(10, self.width() - 2 * self.MARGIN), 10)

    def labels(self) -> list[tuple[float, QRectF, str]]:
        """Each shown tick's x, its label's rectangle (exactly the text's width) and text.

        Five ticks where their labels fit side by side, else three (the ends and the
        middle), else the two ends, else the top end alone: a narrow panel (a loss column,
        a dZ column) would otherwise print its labels over each other (``-0.50.250 0.250.5``).
        A label is centred under its tick and kept inside the widget.
        """
        metrics = self.fontMetrics()
        bar = self._bar()
        top, height = bar.bottom() + 3, 14.0
        for fractions in (self.TICKS, (0.0, 0.5, 1.0), (0.0, 1.0), (1.0,)):
            placed = []
            for f, text in zip(fractions, self.tick_texts(fractions), strict=True):
                x = bar.left() + f * bar.width()
                width = float(metrics.horizontalAdvance(text))
                left = min(max(0.0, x - width / 2), max(0.0, self.width() - width))
                placed.append((x, QRectF(left, top, width, height), text))
            if all(a.right() + 4 <= b.left() for (_, a, _), (_, b, _) in itertools.pairwise(placed)):
                return placed
        return placed

    def paintEvent(self, event: object) -> None:  # noqa: D102 - Qt API
        painter = QPainter(self)
        bar = self._bar()
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for pos, colour in self._gradient_stops:
            gradient.setColorAt(pos, colour)
        painter.fillRect(bar, QBrush(gradient))
        painter.setPen(QPen(self._frame))
        painter.drawRect(bar)
        painter.setPen(QPen(self._text))
        for x, rect, text in self.labels():
            painter.drawLine(QPointF(x, bar.bottom()), QPointF(x, bar.bottom() + 3))
            painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextDontClip, text)
        painter.end()


class TensorPanel(QFrame):
    """One tensor as heat-map tiles with a title, a colour bar, numbers and outlines.

    Signals
    -------
    sigCellHovered(object)
        (tile, row, col) under the mouse, or None when it leaves the cells.
    sigCellClicked(object)
        (tile, row, col) clicked, or None for a click between the cells.
    sigEnlargeRequested(str)
        The panel (its name) was double-clicked: show it large, or back to the grid.
    sigZoomRequested(int)
        Ctrl+wheel over the panel: +1 to zoom in, -1 to zoom out.
    """

    sigCellHovered = pyqtSignal(object)
    sigCellClicked = pyqtSignal(object)
    sigEnlargeRequested = pyqtSignal(str)
    sigZoomRequested = pyqtSignal(int)

    # A change to more tiles than this is drawn in one pass over every cell (cheaper than
    # tile by tile for the 256 small tiles of a 16 -> 16 kernel gradient).
    BULK_TILES = 8

    def __init__(self, name: str, parent: QWidget | None = None, numbers: NumberFormat = DEFAULT) -> None:
        super().__init__(parent)
        self.name = name
        self.numbers = numbers
        self.setObjectName(f"panel-{name}")
        self.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(1)
        # Long titles never widen the window: cut at a word with an ellipsis, whole in the tooltip.
        self.title = ElidedLabel(name)
        self.title.setObjectName("panelTitle")
        self.subtitle = ElidedLabel("")
        self.subtitle.setObjectName("muted")
        self.view = _View(self)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.view, 1)
        self.colorbar = ColorBar(self, numbers)
        layout.addWidget(self.colorbar)
        self.viewbox: pg.ViewBox = self.view.viewbox

        self.geometry: TileGeometry | None = None
        self.values: np.ndarray | None = None  # (T, H, W) as last shown
        self.level = 1.0
        self.show_numbers = True
        self.presentation = False
        self._padding: tuple[int, ...] = (0, 0)
        # What updates cost (see the module docstring); tests read it, nothing resets it but them.
        self.counts: Counter[str] = Counter()
        # Every tile in one image, one data unit per cell, coloured where it is seen.
        self._image = MosaicItem(self._cell_colours, self._block_colours)
        self.palette_key = "rdbu"
        self.theme = theme.LIGHT
        self._light_text = theme.light_text(self.palette_key)
        self._image.setLookupTable(theme.index_lut(self.palette_key))
        # One caption item per tile, made when its caption is first shown (most are hidden:
        # tiles too small on screen), so a layer of hundreds of tiles builds none it never shows.
        self._caption_items: list[pg.TextItem | None] = []
        self._caption_texts: list[str] = []
        self._numbered = False
        self._tile_values: list[np.ndarray | None] = []
        self._source: object = None
        # the last rows and columns of cells the image asked for, with their flat indices (_cell_index)
        self._index_cache: _IndexCache | None = None
        self._prefix_source: object = None  # the array a prefix panel fills up from (set_prefix)
        self._prefix = 0
        self._decimals: int | None = None  # the pass's decimals (set_pass_numbers); None: from the level
        self._numbers = CellNumbers(numbers)
        self._numbers.setZValue(10)
        self._grid_item = QGraphicsPathItem()
        self._grid_item.setZValue(5)
        self._padding_item = QGraphicsPathItem()
        self._padding_item.setZValue(4)
        self._frame_item = QGraphicsRectItem()  # invisible: what auto-range fits
        self._frame_item.setPen(QPen(Qt.PenStyle.NoPen))
        # Outlines: one path item per kind and tile, made when first used, so that a window
        # moving in one tile repaints that tile's old and new box only.
        self._outlines: dict[str, OutlineSet] = {
            kind: OutlineSet(
                functools.partial(self.set_outline_pen, kind),
                functools.partial(self.set_outline_brush, kind),
                functools.partial(self.outline_pen, kind),
            )
            for kind in OUTLINE_STYLES
        }
        self._outline_margin = 0.0
        self._outline_pens: dict[str, QPen] = {}
        self._outline_brushes: dict[str, QBrush] = {"argmax": QBrush(QColor(OUTLINE_STYLES["argmax"][0]))}
        self.viewbox.sigTransformChanged.connect(self._on_viewbox_transform_changed)
        self._outline_cells: dict[str, tuple[Cell, ...]] = {}
        self._outline_tiles: dict[str, dict[int, tuple[tuple[int, int], ...]]] = {
            kind: {} for kind in OUTLINE_STYLES
        }
        self._index_text: Callable[[int, int, int], str] = lambda t, r, c: f"[{t}, {r}, {c}]"
        for item in (self._numbers, self._grid_item, self._padding_item):
            self.viewbox.addItem(item, ignoreBounds=True)
        self.viewbox.addItem(self._image, ignoreBounds=True)
        self.viewbox.addItem(self._frame_item)
        self.viewbox.sigTransformChanged.connect(self._fit_captions)  # resized or refitted: captions again
        self.view.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.view.installEventFilter(self)  # the pointer leaving the panel ends its hover
        self.view.viewport().installEventFilter(self)  # a double-click enlarges the panel
        self.view.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        self._links_item = QGraphicsPathItem()  # linked highlighting (editors): a violet outline
        pen = QPen(QColor(LINK_COLOUR), 3.0)  # an outline only: a fill over the cell would hide its digits
        pen.setCosmetic(True)
        self._links_item.setPen(pen)
        self._links_item.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self._links_item.setZValue(9)  # under the numbers (10): the digits stay on top
        self.viewbox.addItem(self._links_item, ignoreBounds=True)
        self._link_cells: tuple[Cell, ...] = ()
        # Right-click on a cell: Copy value (the exact value, all its digits).
        self.menu = QMenu(self)
        copy_action = self.menu.addAction("&Copy value")
        assert copy_action is not None
        self.copy_action: QAction = copy_action
        self.copy_action.triggered.connect(self._on_copy_value_triggered)
        self._menu_cell: Cell | None = None

    # ------------------------------------------------------------ configuration

    def configure(
        self,
        title: str,
        count: int,
        shape: tuple[int, int],
        *,
        grid: tuple[int, int] | None = None,
        captions: Sequence[str] = (),
        padding: tuple[int, ...] = (0, 0),
        subtitle: str = "",
        index_text: Callable[[int, int, int], str] | None = None,
    ) -> None:
        """Lay out ``count`` tiles of ``shape`` cells; keeps the items when nothing changed."""
        self.title.setText(title)
        self.subtitle.setText(subtitle)
        self.subtitle.setVisible(bool(subtitle) and not self.presentation)
        if index_text is not None:
            self._index_text = index_text
        h, w = shape
        grid = grid or auto_grid(count, shape)
        big = max(h, w)
        # Whole cells, so that every tile sits in one mosaic image.
        gap = max(1, round(0.08 * big)) if count > 1 else 0
        # room for a caption line above each row of tiles: tiles of many cells have small cells
        label_space = max(1 if big < 6 else 2, round(0.1 * big)) if captions else 0
        geometry = TileGeometry(count, (h, w), grid, gap, label_space)
        same = geometry == self.geometry and padding == self._padding
        self.geometry = geometry
        self._padding = padding
        if not same:
            self._rebuild(geometry, captions)
        else:
            self._caption_texts = list(captions[: geometry.count])
            missing = len(self._caption_texts) - len(self._caption_items)
            self._caption_items += [None] * max(0, missing)
            self._fit_captions()
            self._tile_values = [None] * geometry.count
            self.values = None
            self._source = None
        self._prefix_source = None
        self._prefix = 0
        for kind in self._outlines:
            self.set_outline(kind, ())

    def _rebuild(self, geometry: TileGeometry, captions: Sequence[str]) -> None:
        vb = self.viewbox
        # One image for every tile (blank between tiles): one render per step.
        self._image.set_shape(*geometry.mosaic_shape())
        for caption in self._captions:
            vb.removeItem(caption)
        self._caption_texts = list(captions[: geometry.count])
        self._caption_items = [None] * len(self._caption_texts)
        self._fit_captions()
        h, w = geometry.shape
        self._numbered = h <= theme.MAX_NUMBERED_CELLS and w <= theme.MAX_NUMBERED_CELLS
        top, bottom, left, right = border_sides(self._padding)
        muted = None
        if top or bottom or left or right:
            muted = np.ones((h, w), dtype=bool)
            muted[top : h - bottom, left : w - right] = False
        self._numbers.set_geometry(geometry, muted)
        self._tile_values = [None] * geometry.count
        self.values = None
        self._source = None
        # Cell grid (small tiles), tile borders, padding shading.
        grid_path = QPainterPath()
        pad_path = QPainterPath()
        for t in range(geometry.count):
            rect = geometry.rect(t)
            grid_path.addRect(rect)
            x0, y0 = rect.x(), rect.y()
            if self._numbered:
                for r in range(1, h):
                    grid_path.moveTo(x0, y0 + r)
                    grid_path.lineTo(x0 + w, y0 + r)
                for c in range(1, w):
                    grid_path.moveTo(x0 + c, y0)
                    grid_path.lineTo(x0 + c, y0 + h)
            if muted is not None:
                outer = QPainterPath()
                outer.addRect(rect)
                inner = QPainterPath()
                inner.addRect(QRectF(x0 + left, y0 + top, w - left - right, h - top - bottom))
                pad_path.addPath(outer.subtracted(inner))
        grid_pen = QPen(QColor(self.theme.grid), 1.0 * self.theme.line_scale)
        grid_pen.setCosmetic(True)
        self._grid_item.setPen(grid_pen)
        self._grid_item.setPath(grid_path)
        pad_colour = QColor(theme.PADDING_FILL)
        pad_colour.setAlpha(175)
        self._padding_item.setBrush(QBrush(pad_colour, Qt.BrushStyle.SolidPattern))
        self._padding_item.setPen(QPen(Qt.PenStyle.NoPen))
        self._padding_item.setPath(pad_path)
        self.reset_view()

    def set_palette(self, key: str) -> None:
        """Colour the cells with the palette ``key`` (:data:`visualconv.engine.palette.PALETTES`).

        The values are drawn again from the next ones shown.
        """
        self.palette_key = key
        self._light_text = theme.light_text(key)
        self._image.setLookupTable(theme.index_lut(key))
        self.colorbar.set_palette(key)

    def set_theme(self, chosen: theme.Theme) -> None:
        """Draw the panel's background, grid, outlines and text in the colours of ``chosen``."""
        self.theme = chosen
        self.view.setBackground(chosen.panel_background)
        scale = chosen.line_scale
        grid_pen = QPen(QColor(chosen.grid), 1.0 * scale)
        grid_pen.setCosmetic(True)
        self._grid_item.setPen(grid_pen)
        colours = {
            "changed": chosen.changed_outline,
            "window": chosen.window_outline,
            "argmax": chosen.argmax_outline,
        }
        for kind, item in self._outlines.items():
            if kind == "argmax":  # the filled corner mark, with a white edge
                item.setBrush(QBrush(QColor(colours[kind])))
                edge = QPen(QColor("#ffffff"), 1.0)
                edge.setCosmetic(True)
                item.setPen(edge)
                continue
            pen = QPen(QColor(colours[kind]), OUTLINE_STYLES[kind][1] * scale)
            pen.setCosmetic(True)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            item.setPen(pen)
        link = QPen(QColor(chosen.link), 3.0 * scale)
        link.setCosmetic(True)
        self._links_item.setPen(link)
        self._numbers.colours = (QColor(chosen.cell_text), QColor("#ffffff"), QColor(chosen.padding_text))
        self._numbers.update()
        self.colorbar.set_colours(chosen.grid, chosen.muted)
        for caption in self._captions:
            caption.setColor(chosen.muted)

    def set_numbers(self, numbers: NumberFormat) -> None:
        """Write cells, tooltips and the colour bar with ``numbers`` (from the next values shown)."""
        self.numbers = numbers
        self._numbers.numbers = numbers
        self.colorbar.numbers = numbers
        self.colorbar.update()

    @property
    def _captions(self) -> list[pg.TextItem]:
        """The caption items made so far (a tile's is made when its caption is first shown)."""
        return [item for item in self._caption_items if item is not None]

    def _caption_item(self, t: int, points: int) -> pg.TextItem:
        """Tile ``t``'s caption item, made on first use."""
        item = self._caption_items[t]
        if item is None:
            assert self.geometry is not None
            item = pg.TextItem("", color=self.theme.muted, anchor=(0, 1))
            item.setFont(QFont(self.font().family(), points))
            document = item.textItem.document()
            if document is not None:
                document.setDocumentMargin(0)  # the text itself sits in the room above its tile
            x, y = self.geometry.origin(t)
            item.setPos(x, y)
            self.viewbox.addItem(item, ignoreBounds=True)
            self._caption_items[t] = item
        return item

    def _fit_captions(self, *args: object) -> None:
        """Each tile caption in the room above its tile, shortened or hidden, never over a neighbour.

        ``channel 3`` becomes ``c3`` and then is hidden when the tiles are too small on screen
        for it (the cells' tooltips still name every index).
        """
        geometry = self.geometry
        if geometry is None or not self._caption_items or self.isHidden():
            return  # a hidden panel's view has no size of its own yet: fitted when shown
        per_pixel = self.viewbox.viewPixelSize()  # data units per screen pixel (x, y)
        if not per_pixel[0] or not per_pixel[1]:
            return
        room_w = (geometry.shape[1] + geometry.gap) / per_pixel[0] - 2
        room_h = max(geometry.label_space, 1) / per_pixel[1]
        family = self.font().family()
        metrics = {points: QFontMetricsF(QFont(family, points)) for points in CAPTION_POINTS}
        fits = [points for points in CAPTION_POINTS if metrics[points].height() <= room_h]
        for t, item in enumerate(self._caption_items):
            text = self._caption_texts[t] if t < len(self._caption_texts) else ""
            shown, size = "", CAPTION_POINTS[0]
            for points in fits:  # the largest font, then the longest text, that fits
                advance = metrics[points].horizontalAdvance
                fitting = [v for v in caption_variants(text) if advance(v) <= room_w]
                if fitting:
                    shown, size = fitting[0], points
                    break
            if not shown:
                if item is not None:
                    item.setVisible(False)
                continue
            item = self._caption_item(t, size)
            if item.textItem.font().pointSize() != size:
                item.setFont(QFont(family, size))
            if item.toPlainText() != shown:
                item.setText(shown)
            item.setVisible(True)

    def caption_texts(self) -> list[str]:
        """The tile captions as shown ("" for a hidden one)."""
        items = self._caption_items
        return [item.toPlainText() if item is not None and item.isVisible() else "" for item in items]

    def set_pass_numbers(self, decimals: int | None, widest: Sequence[float] | None) -> None:
        """The decimals of every cell of the pass and its widest numbers, per variant (they size the font).

        Set once per pass (after :meth:`configure`), so the numbers keep their digits and
        their size while stepping. ``decimals`` None: from each step's colour level.
        """
        self._decimals = decimals
        self._numbers.set_widest(widest, decimals if decimals is not None else 0)

    def set_text_scale(self, scale: float, presentation: bool = False) -> None:
        """Scale the numbers' largest size (the zoom: 0.5 .. 4); a presentation draws them large.

        In a presentation the cells fill the panel (wider than tall, as numbers are) and the
        colour bar and the shape line make room for them.
        """
        self.viewbox.setAspectLocked(not presentation)
        self.colorbar.setVisible(not presentation)
        self.subtitle.setVisible(bool(self.subtitle.text()) and not presentation)
        self.presentation = presentation
        if presentation:
            self._numbers.set_sizes(
                CellNumbers.MAX_PIXELS * 4 * scale, PRESENTATION_PIXELS, PRESENTATION_SHARE
            )
        else:
            numbers = CellNumbers
            self._numbers.set_sizes(numbers.MAX_PIXELS * scale, numbers.MIN_PIXELS, numbers.HEIGHT_SHARE)

    def number_pixels(self) -> int:
        """The pixel size of the numbers as drawn last (0: none drawn)."""
        return self._numbers.drawn_pixels

    def number_font(self) -> QFont:
        """The font of the numbers as drawn last."""
        return QFont(self._numbers.font)

    def showEvent(self, event: QShowEvent | None) -> None:
        """Fit the captions to the size the panel is shown at (they wait while it is hidden)."""
        super().showEvent(event)
        self._fit_captions()

    def reset_view(self) -> None:
        """Fit every tile, with room for the outlines around edge cells (kept on resize)."""
        if self.geometry is None:
            return
        bounds = self.geometry.bounds()
        margin = max(0.1, 0.015 * max(bounds.width(), bounds.height()))
        self._frame_item.setRect(bounds.adjusted(-margin, -margin, margin, margin))
        self.viewbox.enableAutoRange(enable=True)
        self.viewbox.autoRange(padding=0)

    # ------------------------------------------------------------ values

    def set_values(
        self,
        values: np.ndarray,
        level: float,
        source: object = None,
        tiles: dict[int, tuple[int, int, int, int]] | None = None,
    ) -> None:
        """Show ``values`` of shape (T, H, W) with the colour range [-level, level].

        Only tiles whose values or level changed are redrawn; NaN cells stay blank.
        ``source`` is the array ``values`` was made from: the same (read-only) source
        object as last time means nothing changed. ``tiles``, when given, maps the only
        tiles that can differ from the values shown to the (row0, row1, col0, col1) box
        of their cells that can differ (a hint from a one-overlay step).
        """
        geometry = self.geometry
        if geometry is None:
            return
        level = theme.nice_level(level)
        level_changed = level != self.level
        if not level_changed and (values is self.values or (source is not None and source is self._source)):
            return
        self._source = source
        self.level = level
        decimals = self._decimals if self._decimals is not None else self.numbers.decimals_for(level)
        previous = self._tile_values
        old_values, self.values = self.values, values  # the image reads the new values as it repaints
        hinted = None
        if (
            tiles is not None
            and not level_changed
            and old_values is not None
            and all(old is not None for old in previous)
        ):
            hinted = tiles
        compared: set[int] | None = None  # the tiles that differ from old_values (None: not compared)
        if hinted is None:
            if not level_changed and old_values is not None and old_values.shape == values.shape:
                # Which tiles differ (a tile's cells are compared only as far as it takes to tell).
                changed = tiles_that_differ(values, old_values)
                compared = set(changed.tolist())
            else:
                changed = np.arange(geometry.count)
            if len(changed) > self.BULK_TILES:
                # Many tiles (a jump, a new level): every cell in one pass, one repaint.
                self._write_all(values, level)
                for t in changed.tolist():
                    previous[t] = values[t]
                self._set_many_numbers(changed, values, level, decimals)
                self.values = values
                if level_changed:
                    self.colorbar.setLevels(values=(-level, level))
                return
        for t in range(geometry.count):
            tile = values[t]
            old = previous[t]
            if hinted is not None:
                box = hinted.get(t)
                previous[t] = tile
                if box is None:
                    continue
                r0, r1, c0, c1 = box
                self._write_cells(t, r0, c0, tile[r0:r1, c0:c1], level)
                if self._numbered:
                    self._set_numbers(t, tile, level, decimals)
                continue
            if compared is not None and old_values is not None and old is not None:
                if t not in compared:
                    continue
                # Only the rows and columns that differ (a prefix filling up, one window).
                differ = cells_differ(tile, old_values[t])
                rows, cols = np.flatnonzero(differ.any(axis=1)), np.flatnonzero(differ.any(axis=0))
                r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
                self._write_cells(t, r0, c0, tile[r0:r1, c0:c1], level)
            else:
                self._write_cells(t, 0, 0, tile, level)
            previous[t] = tile
            self._set_numbers(t, tile, level, decimals)
        self.values = values
        if level_changed:
            self.colorbar.setLevels(values=(-level, level))

    def set_prefix(self, full: np.ndarray, prefix: int, level: float, source: object = None) -> None:
        """Show the first ``prefix`` elements (row-major) of ``full`` (T, H, W); the rest blank.

        Stepping from k to k+1 touches one cell: only the tiles between the old and the new
        prefix are redrawn, so a large output fills up without copying it every step.
        """
        geometry = self.geometry
        if geometry is None:
            return
        source = full if source is None else source
        if source is not self._prefix_source or self.values is None or self.values.shape != full.shape:
            self._prefix_source = source
            self._prefix = 0
            self._source = None
            self.values = np.full(full.shape, np.nan)
            self._tile_values = [None] * geometry.count
            self._write_tiles(range(geometry.count), self.level, force=True)
        level = theme.nice_level(level)
        old = self._prefix
        lo, hi = min(old, prefix), max(old, prefix)
        shown = self.values.reshape(-1)
        if prefix > old:
            shown[lo:hi] = full.reshape(-1)[lo:hi]
        else:
            shown[lo:hi] = np.nan
        self._prefix = prefix
        if level != self.level:
            self.level = level
            self._write_tiles(range(geometry.count), level, force=True)
            self.colorbar.setLevels(values=(-level, level))
        elif hi > lo:
            self._write_range(lo, hi, level)

    def _write_range(self, lo: int, hi: int, level: float) -> None:
        """Redraw the elements lo..hi-1 (row-major over every tile) of :attr:`values`: their rows only."""
        geometry = self.geometry
        assert geometry is not None and self.values is not None
        h, w = geometry.shape
        per_tile = h * w
        decimals = self._decimals if self._decimals is not None else self.numbers.decimals_for(level)
        for t in range(lo // per_tile, (hi - 1) // per_tile + 1):
            first = max(lo - t * per_tile, 0)
            last = min(hi - t * per_tile, per_tile) - 1
            r0, r1 = first // w, last // w + 1
            c0, c1 = (first % w, last % w + 1) if r1 - r0 == 1 else (0, w)  # one row: its changed cells
            tile = self.values[t]
            self._write_cells(t, r0, c0, tile[r0:r1, c0:c1], level)
            self._set_numbers(t, tile, level, decimals)

    def _write_tiles(self, tiles: Iterable[int], level: float, force: bool = False) -> None:
        """Copy tiles of :attr:`values` into the image and the numbers (prefix mode)."""
        geometry = self.geometry
        assert geometry is not None and self.values is not None
        decimals = self._decimals if self._decimals is not None else self.numbers.decimals_for(level)
        for t in tiles:
            tile = self.values[t]
            self._write_cells(t, 0, 0, tile, level)
            self._set_numbers(t, tile, level, decimals)

    def _write_all(self, values: np.ndarray, level: float) -> None:
        """Every cell of ``values`` (T, H, W) is new: the whole image is coloured again where seen."""
        self.counts["recoloured cells"] += int(values.size)
        self._image.refresh()

    def _write_cells(self, t: int, r0: int, c0: int, block: np.ndarray, level: float) -> None:
        """The cells of tile t from (r0, c0) on, ``block``'s shape, changed: only they repaint."""
        geometry = self.geometry
        assert geometry is not None
        x0, y0 = geometry.origin(t)
        h, w = block.shape
        self.counts["recoloured cells"] += h * w
        self._image.changed(y0 + r0, x0 + c0, h, w)

    def _cell_colours(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Colour indices of the cells at mosaic rows ``ys`` and columns ``xs`` (0: blank)."""
        out = np.zeros((len(ys), len(xs)), dtype=np.uint8)
        geometry, values = self.geometry, self.values
        if geometry is None or values is None or not len(ys) or not len(xs):
            return out
        if values.flags.c_contiguous and values.shape == (geometry.count, *geometry.shape):
            # The cells' places in the values, taken flat: one look-up per pixel (kept for the
            # whole picture, whose rows and columns stay until the zoom or the layout changes).
            flat, inside = self._cell_index(geometry, ys, xs)
            if inside is None:
                return out
            index = theme.colour_index(np.take(values.reshape(-1), flat), self.level)
            index[~inside] = 0
            return index
        tiles, r, c, inside_cells = _cell_places(geometry, ys, xs)
        if inside_cells.any():
            rows, cols = np.nonzero(inside_cells)
            picked = values[tiles[rows, cols], r[rows], c[cols]]
            out[rows, cols] = theme.colour_index(picked, self.level)
        return out

    def _block_colours(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray | None:
        """Colour indices of the picture's device rows r0:r1 and columns c0:c1 (a changed block).

        From the cell indices kept for the whole picture, when they are the picture's; None
        otherwise (the image then asks :meth:`_cell_colours` for the block's cells).
        """
        cached, geometry, values = self._index_cache, self.geometry, self.values
        if (
            cached is None
            or geometry is None
            or values is None
            or cached[0] != geometry
            or not values.flags.c_contiguous
            or values.shape != (geometry.count, *geometry.shape)
            or not np.array_equal(cached[1], self._image.rows)
            or not np.array_equal(cached[2], self._image.cols)
        ):
            return None
        inside = cached[4]
        if inside is None:
            return np.zeros((r1 - r0, c1 - c0), dtype=np.uint8)
        index = theme.colour_index(np.take(values.reshape(-1), cached[3][r0:r1, c0:c1]), self.level)
        index[~inside[r0:r1, c0:c1]] = 0
        return index

    def _cell_index(
        self, geometry: TileGeometry, ys: np.ndarray, xs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The flat index in (T, H, W) values of the cell at each of mosaic rows ``ys`` and columns ``xs``.

        Returns the indices (intp, (len(ys), len(xs)); 0 between tiles) and which of them are
        cells (bool, the same shape; None when none is). The whole picture's answer is kept: a
        picture coloured again for new values asks the same rows and columns (a jump recolours
        every cell of a large plane); a changed block's is not.
        """
        cached = self._index_cache
        if (
            cached is not None
            and cached[0] == geometry
            and np.array_equal(cached[1], ys)
            and np.array_equal(cached[2], xs)
        ):
            return cached[3], cached[4]
        h, w = geometry.shape
        tiles, r, c, inside = _cell_places(geometry, ys, xs)
        flat = tiles * (h * w) + (r * w)[:, None] + c[None, :]
        flat[~inside] = 0
        shown = inside if inside.any() else None
        if ys is self._image.rows and xs is self._image.cols:  # the whole picture's, not a block's
            self._index_cache = (geometry, np.array(ys, copy=True), np.array(xs, copy=True), flat, shown)
        return flat, shown

    def _set_many_numbers(self, tiles: np.ndarray, values: np.ndarray, level: float, decimals: int) -> None:
        """:meth:`_set_numbers` of the tiles ``tiles`` of ``values`` (T, H, W) at once, one repaint."""
        if not len(tiles):
            return
        if self._numbered and self.show_numbers:
            self.counts["renumbered tiles"] += len(tiles)
            chosen = np.array(values[tiles], copy=True)  # (len(tiles), H, W)
            light = self._light_text[theme.colour_index(chosen, level)]  # white on the palette's dark colours
            self._numbers.set_many(tiles.tolist(), chosen, decimals, light)
        else:
            for t in tiles.tolist():
                self._numbers.set_tile(t, None, None)

    def _set_numbers(self, t: int, tile: np.ndarray, level: float, decimals: int) -> None:
        if self._numbered and self.show_numbers:
            self.counts["renumbered tiles"] += 1
            light = self._light_text[theme.colour_index(tile, level)]  # white on the palette's dark colours
            self._numbers.set_values(t, np.array(tile, copy=True), decimals, light)
        else:
            self._numbers.set_tile(t, None, None)

    def set_show_numbers(self, show: bool) -> None:
        """Show or hide the numbers in cells (only small tiles have them)."""
        if show != self.show_numbers:
            self.show_numbers = show
            if self._prefix_source is not None and self.values is not None:
                self._write_tiles(range(len(self._tile_values)), self.level)
                return
            values, self.values = self.values, None
            self._source = None
            self._tile_values = [None] * len(self._tile_values)
            if values is not None:
                self.set_values(values, self.level)

    # ------------------------------------------------------------ outlines

    def set_outline(self, kind: str, cells: Iterable[Cell]) -> None:
        """Outline the given cells (their union per tile) in the style of ``kind``."""
        cells = tuple(cells)
        if self._outline_cells.get(kind) == cells:
            return
        self._outline_cells[kind] = cells
        geometry = self.geometry
        by_tile: dict[int, list[tuple[int, int]]] = {}
        if geometry is not None:
            for t, r, c in cells:
                if 0 <= t < geometry.count:
                    by_tile.setdefault(t, []).append((r, c))
        shown = self._outline_tiles[kind]
        new = {t: tuple(rc) for t, rc in by_tile.items()}
        # The same cells in many tiles (a window across every input channel): one path, moved.
        paths: dict[tuple[tuple[int, int], ...], QPainterPath] = {}
        for t in set(shown) | set(new):
            tile_cells = new.get(t, ())
            if shown.get(t, ()) == tile_cells:
                continue  # this tile's outline stays: it is not repainted
            self.counts["outline items"] += 1
            item = self._outline_item(kind, t)
            if not tile_cells:
                # An empty outline is hidden: Qt then skips it in every paint of the view (a panel
                # of many tiles keeps an item for each tile a step has outlined so far).
                item.setVisible(False)
                item.setPath(QPainterPath())
                continue
            relative = paths.get(tile_cells)
            if relative is None:
                relative = paths[tile_cells] = self._outline_path(kind, 0, tile_cells, origin=(0, 0))
            x0, y0 = geometry.origin(t) if geometry is not None else (0, 0)
            item.setPath(relative.translated(x0, y0))
            item.setVisible(True)
        self._outline_tiles[kind] = new

    def _on_viewbox_transform_changed(self) -> None:
        # The outlines' pens are a few pixels wide: their bounding rectangles follow the zoom.
        self._outline_margin = 4.0 * max(self.viewbox.viewPixelSize())
        for items in self._outlines.values():
            for item in items.values():
                item.set_margin(self._outline_margin)

    def outline_pen(self, kind: str) -> QPen:
        """The pen of the outlines of ``kind`` (cosmetic: its width in pixels)."""
        pen = self._outline_pens.get(kind)
        if pen is None:
            colour, width, _inset = OUTLINE_STYLES[kind]
            if kind == "argmax":  # a filled corner mark, edged white: stands out on a dark cell too
                pen = QPen(QColor("#ffffff"), 1.0)
            else:
                pen = QPen(QColor(colour), width)
                pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            pen.setCosmetic(True)
            self._outline_pens[kind] = pen
        return pen

    def set_outline_pen(self, kind: str, pen: QPen) -> None:
        """Draw the outlines of ``kind`` with ``pen`` (every tile's, and those made later)."""
        self._outline_pens[kind] = QPen(pen)
        for item in self._outlines[kind].values():
            item.setPen(pen)

    def set_outline_brush(self, kind: str, brush: QBrush) -> None:
        """Fill the outlines of ``kind`` with ``brush`` (the max-pool corner mark)."""
        self._outline_brushes[kind] = QBrush(brush)
        for item in self._outlines[kind].values():
            item.setBrush(brush)

    def _outline_item(self, kind: str, t: int) -> OutlineItem:
        item = self._outlines[kind].get(t)
        if item is None:
            item = OutlineItem()
            item.set_margin(self._outline_margin)
            item.setPen(self.outline_pen(kind))
            brush = self._outline_brushes.get(kind)
            if brush is not None:
                item.setBrush(brush)
            item.setZValue(20 + list(OUTLINE_STYLES).index(kind))
            self.viewbox.addItem(item, ignoreBounds=True)
            self._outlines[kind][t] = item
        return item

    def _outline_path(
        self, kind: str, t: int, cells: Sequence[tuple[int, int]], origin: tuple[int, int] | None = None
    ) -> QPainterPath:
        """The outline of ``cells`` (row, col) of tile t: their union, or inset boxes.

        ``origin``: the tile's top-left corner to draw from (default: tile t's in the panel).
        """
        path = QPainterPath()
        if not cells or self.geometry is None:
            return path
        inset = OUTLINE_STYLES[kind][2]
        x0, y0 = self.geometry.origin(t) if origin is None else origin
        if kind == "argmax":  # a corner mark, clear of the centred number
            for r, c in cells:
                right, top = x0 + c + 1, y0 + r
                path.addPolygon(
                    QPolygonF(
                        [
                            QPointF(right - MARK_SIZE, top),
                            QPointF(right, top),
                            QPointF(right, top + MARK_SIZE),
                        ]
                    )
                )
                path.closeSubpath()
            return path
        if inset == 0:
            rows, cols = [r for r, _ in cells], [c for _, c in cells]
            r0, r1, c0, c1 = min(rows), max(rows) + 1, min(cols), max(cols) + 1
            if (r1 - r0) * (c1 - c0) == len(set(cells)):  # a full block (a window): its border
                path.addRect(QRectF(x0 + c0, y0 + r0, c1 - c0, r1 - r0))
                return path
        for r, c in cells:
            path.addRect(QRectF(x0 + c + inset, y0 + r + inset, 1 - 2 * inset, 1 - 2 * inset))
        return path.simplified() if inset == 0 else path

    def outline(self, kind: str) -> tuple[Cell, ...]:
        """The cells outlined in the style of ``kind``."""
        return self._outline_cells.get(kind, ())

    def set_links(self, cells: Iterable[Cell]) -> None:
        """Highlight the cells linked to a hovered or clicked cell (an empty list clears them)."""
        cells = tuple(cells)
        if cells == self._link_cells:
            return
        self._link_cells = cells
        path = QPainterPath()
        if self.geometry is not None:
            for t, r, c in cells:
                if 0 <= t < self.geometry.count:
                    x0, y0 = self.geometry.origin(t)
                    path.addRect(QRectF(x0 + c + 0.02, y0 + r + 0.02, 0.96, 0.96))  # along the cell's edge
        self._links_item.setPath(path)

    def links(self) -> tuple[Cell, ...]:
        """The cells highlighted by :meth:`set_links`."""
        return self._link_cells

    # ------------------------------------------------------------ reading back (tests, tooltips)

    def value(self, t: int, r: int, c: int) -> float:
        """The value shown in a cell (NaN for a blank one)."""
        assert self.values is not None
        return float(self.values[t, r, c])

    def cell_text(self, t: int, r: int, c: int, variant: int | None = 0) -> str | None:
        """The number of a cell at the panel's precision (``variant=None``: as drawn last).

        None when the tile shows no numbers.
        """
        texts = self._numbers.texts(t, variant)
        if texts is None or self.geometry is None:
            return None
        return texts[r * self.geometry.shape[1] + c]

    @property
    def sampled_cells(self) -> int:
        """How many cell colours the image has asked for so far (about the pixels it covers)."""
        return self._image.sampled

    def tile_colours(self, t: int) -> np.ndarray:
        """The colour indices drawn for tile t (0: blank; 1..255 from -level to +level)."""
        assert self.geometry is not None
        if self.values is None:
            return np.zeros(self.geometry.shape, dtype=np.uint8)
        return theme.colour_index(self.values[t], self.level)

    def tile_texts(self, t: int, variant: int | None = 0) -> list[str] | None:
        """Every number of tile t, row-major (``variant=None``: as drawn last)."""
        return self._numbers.texts(t, variant)

    def describe(self, cell: Cell) -> str:
        """Tooltip text of a cell: its index and value (six significant digits)."""
        t, r, c = cell
        if self.values is None:
            return ""
        value = float(self.values[t, r, c])
        shown = _("not computed yet") if math.isnan(value) else self.numbers.value(value)
        top, bottom, left, right = border_sides(self._padding)
        h, w = self.geometry.shape if self.geometry else (0, 0)
        inside = top <= r < h - bottom and left <= c < w - right
        pad = " " + _("(padding)") if (top or bottom or left or right) and not inside else ""
        return f"{self.title.text().split(' ')[0]}{self._index_text(t, r, c)} = {shown}{pad}"

    def value_text(self, cell: Cell) -> str | None:
        """The exact value of a cell, as Python writes it back (``0.30000000000000004``); None if blank."""
        if self.values is None or self.geometry is None:
            return None
        value = float(self.values[cell])
        return None if math.isnan(value) else repr(value)

    def copy_value(self, cell: Cell) -> bool:
        """Put the exact value of a cell on the clipboard; False for a blank cell."""
        text = self.value_text(cell)
        clipboard = QGuiApplication.clipboard()
        if text is None or clipboard is None:
            return False
        clipboard.setText(text)
        return True

    def context_menu(self, cell: Cell | None) -> QMenu:
        """The cell's context menu (Copy value), for ``cell``."""
        self._menu_cell = cell
        self.copy_action.setEnabled(cell is not None and self.value_text(cell) is not None)
        return self.menu

    @pyqtSlot()
    def _on_copy_value_triggered(self) -> None:
        if self._menu_cell is not None:
            self.copy_value(self._menu_cell)

    def _on_scene_mouse_clicked(self, event: object) -> None:
        if self.geometry is None or self.values is None:
            return
        point = self.viewbox.mapSceneToView(event.scenePos())  # type: ignore[attr-defined]
        if event.button() == Qt.MouseButton.RightButton:  # type: ignore[attr-defined]
            cell = self.geometry.locate(point.x(), point.y())
            if cell is not None:
                self.context_menu(cell).popup(event.screenPos().toPoint())  # type: ignore[attr-defined]
            return
        self.sigCellClicked.emit(self.geometry.locate(point.x(), point.y()))

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:  # noqa: D102 - Qt API
        if watched is self.view and event is not None and event.type() == QEvent.Type.Leave:
            QToolTip.hideText()
            self.sigCellHovered.emit(None)
        elif (
            watched is self.view.viewport()
            and event is not None
            and event.type() == QEvent.Type.MouseButtonDblClick
        ):
            self.sigEnlargeRequested.emit(self.name)
        elif watched is self.view.viewport() and event is not None and event.type() == QEvent.Type.Wheel:
            assert isinstance(event, QWheelEvent)
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier and event.angleDelta().y():
                self.sigZoomRequested.emit(1 if event.angleDelta().y() > 0 else -1)
                event.accept()
                return True
        return super().eventFilter(watched, event)

    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        geometry = self.geometry
        if geometry is None or self.values is None:
            return
        point = self.viewbox.mapSceneToView(pos)
        cell = geometry.locate(point.x(), point.y())
        self.sigCellHovered.emit(cell)
        if cell is None:
            QToolTip.hideText()
            return
        global_pos = self.view.mapToGlobal(self.view.mapFromScene(pos))
        QToolTip.showText(global_pos, self.describe(cell), self.view)

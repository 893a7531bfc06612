"""A tensor as editable tables: one small table per channel (per kernel slice).

The last two axes of the tensor are a table's rows and columns; every axis before
them picks a tile (a vector is one row). Typing in a cell is checked as typed: the
grid says what is wrong before the edit is committed, and a committed edit goes to
the owner (:attr:`TensorGrid.sigCellEdited`), which applies it to the model or
refuses it. The grid never changes values on its own; :meth:`TensorGrid.set_array`
shows what the model holds.
"""

from __future__ import annotations

import math

import numpy as np
from PyQt6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QScrollArea,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...editing import parse_number
from ...engine.errors import ModelError, localized
from ...engine.explain import fmt
from ...i18n import _
from .. import theme

# Tensors with more values are not laid out cell by cell (fills and paste still work).
MAX_GRID_VALUES = 4096
MAX_TILES = 64
CELL_WIDTH = 58
CELL_HEIGHT = 24

Index = tuple[int, ...]


def split_index(shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, int]]:
    """The tile axes and the table shape (rows, columns) of a tensor of ``shape``."""
    if len(shape) == 1:
        return (), (1, shape[0])
    return tuple(shape[:-2]), (shape[-2], shape[-1])


def tile_leads(shape: tuple[int, ...]) -> list[Index]:
    """The leading index of every tile, in order."""
    leads, _ = split_index(shape)
    return [tuple(int(i) for i in lead) for lead in np.ndindex(*leads)] if leads else [()]


def cell_index(shape: tuple[int, ...], lead: Index, row: int, col: int) -> Index:
    """The tensor index of a table cell."""
    return (col,) if len(shape) == 1 else (*lead, row, col)


def cell_colour(value: float, level: float, key: str = "rdbu") -> QColor:
    """The heat-map colour of a value: red–blue pale enough for dark text, else the palette's own."""
    if key == "rdbu":
        lut = theme.diverging_lut()
        fraction = 0.5 + 0.5 * max(-1.0, min(1.0, value / level)) * 0.6 if level > 0 else 0.5
        r, g, b = (int(v) for v in lut[min(255, int(fraction * 255))][:3])
        return QColor(r, g, b)
    r, g, b = (int(v) for v in theme.index_lut(key)[cell_index_of(value, level)][:3])
    return QColor(r, g, b)


def cell_ink(value: float, level: float, key: str = "rdbu") -> QColor | None:
    """The text colour on :func:`cell_colour`: white on a palette's dark colours (None: the table's own)."""
    if key == "rdbu" or not theme.light_text(key)[cell_index_of(value, level)]:
        return None
    return QColor("#ffffff")


def cell_index_of(value: float, level: float) -> int:
    """The colour index (1..255) of one value on [-level, level]."""
    return int(theme.colour_index(np.array([value]), level if level > 0 else 1.0)[0] or 128)


class CellDelegate(QStyledItemDelegate):
    """Line editors that check the text as it is typed.

    Signals
    -------
    sigTyping(str)
        The text being typed is not a number: what is wrong ("" once it is one again).
    sigCommitted(object, str)
        Enter was pressed in cell (row, col) with this text (checked or not: the owner decides).
    """

    sigTyping = pyqtSignal(str)
    sigCommitted = pyqtSignal(object, str)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name

    def createEditor(  # noqa: D102 - Qt API
        self, parent: QWidget | None, option: QStyleOptionViewItem, index: QModelIndex
    ) -> QWidget | None:
        editor = QLineEdit(parent)
        editor.setObjectName("cellEditor")
        editor.textEdited.connect(lambda text, e=editor: self._on_editor_text_edited(e, text))
        return editor

    def _on_editor_text_edited(self, editor: QLineEdit, text: str) -> None:
        try:
            parse_number(text, self.name)
        except ModelError as exc:
            editor.setStyleSheet("QLineEdit { background: #fde8e8; border: 1px solid #dc2626; }")
            self.sigTyping.emit(localized(exc.message))
            return
        editor.setStyleSheet("")
        self.sigTyping.emit("")

    def setModelData(  # noqa: D102 - Qt API
        self,
        editor: QWidget | None,
        model: QAbstractItemModel | None,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        assert isinstance(editor, QLineEdit)
        old = index.data(Qt.ItemDataRole.EditRole)
        if editor.text() != old:
            self.sigCommitted.emit((index.row(), index.column()), editor.text())


class TensorGrid(QWidget):
    """Editable tables of one tensor, one per tile, in a scroll area.

    Signals
    -------
    sigCellEdited(object, str)
        The user committed text for tensor index (tuple); the owner applies or refuses it.
    sigTyping(str)
        Live check of the text being typed ("" when it is a number).
    sigCurrentChanged(object)
        The selected cell's tensor index (tuple), or None.
    sigEditingDone()
        Enter or Escape closed a cell's editor (Tab to the next cell does not): typing is over.
    """

    sigCellEdited = pyqtSignal(object, str)
    sigTyping = pyqtSignal(str)
    sigCurrentChanged = pyqtSignal(object)
    sigEditingDone = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = ""
        self.shape: tuple[int, ...] = ()
        self.array: np.ndarray | None = None
        self.tables: list[QTableWidget] = []
        self.leads: list[Index] = []
        self.current: Index | None = None
        self.current_lead: Index = ()
        self._captions: list[QLabel] = []
        self.palette_key = "rdbu"  # View ▸ Palette
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout.addWidget(self.scroll)
        self._body = QWidget()
        self._grid = QGridLayout(self._body)
        self._grid.setContentsMargins(2, 2, 2, 2)
        self._grid.setHorizontalSpacing(10)
        self._grid.setVerticalSpacing(2)
        self.scroll.setWidget(self._body)
        self.too_large = QLabel("")
        self.too_large.setObjectName("muted")
        self.too_large.setWordWrap(True)

    # ------------------------------------------------------------ layout

    def show_tensor(self, name: str, array: np.ndarray, captions: list[str] | None = None) -> None:
        """Show tensor ``name``; rebuilds the tables when its shape changed."""
        shape = tuple(int(s) for s in array.shape)
        if name != self.name or shape != self.shape:
            self._rebuild(name, shape, captions or [])
        self.set_array(array)

    def _rebuild(self, name: str, shape: tuple[int, ...], captions: list[str]) -> None:
        self.name, self.shape = name, shape
        for widget in (*self.tables, *self._captions):
            self._grid.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        self.tables, self._captions = [], []
        self._grid.removeWidget(self.too_large)
        self.too_large.hide()
        for r in range(self._grid.rowCount()):  # stretches of the last tensor's layout
            self._grid.setRowStretch(r, 0)
        for c in range(self._grid.columnCount()):
            self._grid.setColumnStretch(c, 0)
        self.current = None
        self.leads = tile_leads(shape)
        self.current_lead = self.leads[0]
        if math.prod(shape) > MAX_GRID_VALUES or len(self.leads) > MAX_TILES:
            self.too_large.setText(
                _(
                    "{name} has {n} values in {tiles} tiles: too many to edit cell by cell here. "
                    "Use the fills or paste a matrix; each channel can be pasted on its own."
                ).format(name=name, n=math.prod(shape), tiles=len(self.leads))
            )
            self._grid.addWidget(self.too_large, 0, 0)
            self.too_large.show()
            return
        _leads, (rows, cols) = split_index(shape)
        width = cols * CELL_WIDTH + 30
        per_row = max(1, min(len(self.leads), 330 // max(width, 1)))
        for t, lead in enumerate(self.leads):
            caption = QLabel(captions[t] if t < len(captions) else "")
            caption.setObjectName("muted")
            table = QTableWidget(rows, cols)
            table.setObjectName(f"grid-{t}")
            delegate = CellDelegate(name, table)
            delegate.sigTyping.connect(self.sigTyping)
            delegate.sigCommitted.connect(
                lambda rc, text, lead=lead: self._on_delegate_committed(lead, rc, text)
            )
            delegate.closeEditor.connect(self._on_delegate_close_editor)
            table.setItemDelegate(delegate)
            table.setHorizontalHeaderLabels([str(c) for c in range(cols)])
            table.setVerticalHeaderLabels([str(r) for r in range(rows)])
            table.setEditTriggers(
                QAbstractItemView.EditTrigger.DoubleClicked
                | QAbstractItemView.EditTrigger.EditKeyPressed
                | QAbstractItemView.EditTrigger.AnyKeyPressed
            )
            table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
            for header, size in (
                (table.horizontalHeader(), CELL_WIDTH),
                (table.verticalHeader(), CELL_HEIGHT),
            ):
                assert header is not None
                header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
                header.setDefaultSectionSize(size)
                header.setMinimumSectionSize(10)
            vertical = table.verticalHeader()
            assert vertical is not None
            if len(shape) == 1:
                vertical.hide()
            table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            frame = 2 * table.frameWidth()
            table.setFixedSize(
                cols * CELL_WIDTH + (vertical.sizeHint().width() if not vertical.isHidden() else 0) + frame,
                rows * CELL_HEIGHT + (table.horizontalHeader().sizeHint().height()) + frame,  # type: ignore[union-attr]
            )
            table.currentCellChanged.connect(
                lambda r, c, _r, _c, lead=lead: self._on_table_current_changed(lead, r, c)
            )
            row, col = divmod(t, per_row)
            self._grid.addWidget(caption, 2 * row, col)
            self._grid.addWidget(
                table, 2 * row + 1, col, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
            )
            self.tables.append(table)
            self._captions.append(caption)
        self._grid.setRowStretch(2 * ((len(self.leads) - 1) // per_row) + 2, 1)
        self._grid.setColumnStretch(per_row, 1)

    def set_palette(self, key: str) -> None:
        """Colour the cells with the palette ``key`` (View ▸ Palette)."""
        if key != self.palette_key:
            self.palette_key = key
            if self.tables and self.array is not None:
                self.set_array(self.array)

    def set_array(self, array: np.ndarray) -> None:
        """Show the values of ``array`` (same shape as the tables)."""
        # A model's arrays are read-only: kept as they are (a copy of a 512x512x16 input would
        # be 32 MiB of fresh memory on every model shown); a writable one is copied.
        self.array = array if not array.flags.writeable else np.array(array)
        if not self.tables:
            return
        level = float(np.max(np.abs(array))) if array.size else 0.0
        level = level if level > 0 else 1.0
        for table, lead in zip(self.tables, self.leads, strict=True):
            tile = array[lead] if lead else array
            tile = np.atleast_2d(tile)
            table.blockSignals(True)
            for r in range(tile.shape[0]):
                for c in range(tile.shape[1]):
                    value = float(tile[r, c])
                    item = table.item(r, c)
                    if item is None:
                        item = QTableWidgetItem()
                        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                        table.setItem(r, c, item)
                    item.setText(fmt(value))
                    item.setToolTip(f"{self.name}{list(cell_index(self.shape, lead, r, c))} = {value!r}")
                    item.setBackground(cell_colour(value, level, self.palette_key))
                    ink = cell_ink(value, level, self.palette_key)
                    if ink is not None:
                        item.setForeground(ink)
                    else:
                        item.setData(Qt.ItemDataRole.ForegroundRole, None)
            table.blockSignals(False)

    # ------------------------------------------------------------ cells

    def table_for(self, index: Index) -> tuple[QTableWidget, int, int] | None:
        """The table, row and column of a tensor index (None without tables)."""
        if not self.tables:
            return None
        if len(self.shape) == 1:
            return self.tables[0], 0, index[0]
        lead = tuple(index[:-2])
        return self.tables[self.leads.index(lead)], index[-2], index[-1]

    def select(self, index: Index) -> None:
        """Make tensor cell ``index`` the current cell (e.g. clicked in a heat map)."""
        found = self.table_for(index)
        if found is None:
            self.current = tuple(index)
            self.sigCurrentChanged.emit(self.current)
            return
        table, r, c = found
        table.setCurrentCell(r, c)
        self._on_table_current_changed(tuple(index[:-2]) if len(self.shape) > 1 else (), r, c)

    def _on_table_current_changed(self, lead: Index, row: int, col: int) -> None:
        if row < 0 or col < 0:
            return
        self.current_lead = lead
        self.current = cell_index(self.shape, lead, row, col)
        for table, other in zip(self.tables, self.leads, strict=True):
            if other != lead:
                table.blockSignals(True)
                table.clearSelection()
                table.setCurrentCell(-1, -1)
                table.blockSignals(False)
        self.sigCurrentChanged.emit(self.current)

    def _on_delegate_close_editor(self, editor: QWidget | None, hint: object) -> None:
        Hint = QAbstractItemDelegate.EndEditHint
        if hint in (Hint.SubmitModelCache, Hint.RevertModelCache):  # Enter or Escape, not Tab
            QTimer.singleShot(0, self._emit_editing_done)

    def _emit_editing_done(self) -> None:
        editing = QAbstractItemView.State.EditingState
        if not any(table.state() == editing for table in self.tables):  # not when a new cell is open
            self.sigEditingDone.emit()

    def _on_delegate_committed(self, lead: Index, rc: tuple[int, int], text: str) -> None:
        self.sigCellEdited.emit(cell_index(self.shape, lead, *rc), text)

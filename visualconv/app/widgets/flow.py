"""A row of widgets that breaks into more rows when it is narrower than the widgets side by side."""

from __future__ import annotations

from PyQt6 import sip
from PyQt6.QtCore import QPoint, QRect, QSize, Qt, QTimer
from PyQt6.QtWidgets import QLayout, QLayoutItem, QSizePolicy, QWidget


class FlowRow(QLayout):
    """Widgets left to right at their preferred widths, a new row when the next does not fit.

    Its least width is its widest widget's, so a row of buttons never widens a narrow dock.
    Its height is that of the rows at the width it was given last: no height-for-width, which
    would make a scroll area size the whole panel from preferred heights. With
    ``stretch_after`` set, the widgets after that index sit at the right end of the last row
    (a checkbox beside a button).
    """

    def __init__(self, parent: QWidget | None = None, stretch_after: int | None = None) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._stretch_after = stretch_after
        self._height = 0  # of the rows at the width given last
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem | None) -> None:
        """Qt's hook for ``addWidget``."""
        if item is not None:
            self._items.append(item)

    def count(self) -> int:
        """How many widgets the row holds."""
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        """The ``index``-th item, or None."""
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        """Remove and return the ``index``-th item."""
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        """Grows in neither direction of its own."""
        return Qt.Orientation(0)

    def setGeometry(self, rect: QRect) -> None:
        """Place the widgets in ``rect``; more or fewer rows ask the parent layout again."""
        super().setGeometry(rect)
        height = self._place(rect, move=True)
        if height != self._height:
            self._height = height
            QTimer.singleShot(0, self._ask_again)

    def _ask_again(self) -> None:
        if not sip.isdeleted(self):
            self.invalidate()

    def sizeHint(self) -> QSize:
        """All widgets in one row."""
        shown = self._shown()
        spacing = self._spacing()
        width = sum(item.sizeHint().width() for item in shown) + spacing * max(len(shown) - 1, 0)
        height = max((item.sizeHint().height() for item in shown), default=0)
        left, top, right, bottom = self.getContentsMargins()
        return QSize(width + left + right, max(height + top + bottom, self._height))

    def minimumSize(self) -> QSize:
        """The widest widget's least width (one a row)."""
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        left, top, right, bottom = self.getContentsMargins()
        size += QSize(left + right, top + bottom)
        return QSize(size.width(), max(size.height(), self._height))

    def _spacing(self) -> int:
        spacing = self.spacing()
        if spacing >= 0:
            return spacing
        parent = self.parentWidget()
        style = parent.style() if parent is not None else None
        if style is None:
            return 6
        return style.layoutSpacing(
            QSizePolicy.ControlType.PushButton, QSizePolicy.ControlType.PushButton, Qt.Orientation.Horizontal
        )

    def _shown(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _place(self, rect: QRect, move: bool) -> int:
        """Lay the widgets out in rows across ``rect`` (moving them if ``move``); the rows' height."""
        left, top, right, bottom = self.getContentsMargins()
        area = rect.adjusted(left, top, -right, -bottom)
        spacing = self._spacing()
        rows: list[list[tuple[QLayoutItem, QSize]]] = [[]]
        used = 0
        for item in self._shown():
            hint = item.sizeHint()  # no wider than the row, no narrower than the widget's least width
            size = QSize(min(hint.width(), max(area.width(), item.minimumSize().width())), hint.height())
            extra = size.width() if not rows[-1] else spacing + size.width()
            if rows[-1] and used + extra > area.width():
                rows.append([])
                used, extra = 0, size.width()
            rows[-1].append((item, size))
            used += extra
        y = area.y()
        for number, row in enumerate(rows):
            height = max((size.height() for _item, size in row), default=0)
            x = area.x()
            if self._stretch_after is not None and number == len(rows) - 1:
                tail = [p for p in row if self._items.index(p[0]) > self._stretch_after]
                tail_width = sum(size.width() for _item, size in tail) + spacing * max(len(tail) - 1, 0)
            else:
                tail, tail_width = [], 0
            for item, size in row:
                if tail and item is tail[0][0]:
                    x = max(x, area.right() + 1 - tail_width)
                if move:
                    item.setGeometry(QRect(QPoint(x, y + (height - size.height()) // 2), size))
                x += size.width() + spacing
            y += height + (spacing if number < len(rows) - 1 else 0)
        return y - area.y() + top + bottom

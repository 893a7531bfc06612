"""A line of text that changes every step without laying the window out again."""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, QSize
from PyQt6.QtGui import QResizeEvent
from PyQt6.QtWidgets import QLabel, QSizePolicy, QWidget


class SteadyLine(QWidget):
    """Holds a one-line label whose new text repaints the label and nothing else.

    ``QLabel.setText`` asks for a new layout (it calls ``updateGeometry``), and Qt then
    redoes every layout from the label's up to the window's, the main window's docks
    included: on every step of the debugger. Here the label sits in a holder without a
    layout, so the request stops at the holder. The holder is one line of the label's
    font tall (measured again when the label's font or style changes) and asks for no
    width of its own: give it a label that elides (:class:`~.elided.ElidedLabel`).
    """

    def __init__(self, label: QLabel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        label.setParent(self)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._height = label.sizeHint().height()
        label.installEventFilter(self)

    def sizeHint(self) -> QSize:
        """No width of its own; one line of the label's font."""
        return QSize(0, self._height)

    def minimumSizeHint(self) -> QSize:
        """No width of its own; one line of the label's font."""
        return QSize(0, self._height)

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        """The label fills the holder."""
        super().resizeEvent(event)
        self.label.setGeometry(self.rect())

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:  # noqa: D102 - Qt API
        if (
            watched is self.label
            and event is not None
            and event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange, QEvent.Type.Polish)
        ):
            height = self.label.sizeHint().height()
            if height != self._height:
                self._height = height
                self.updateGeometry()  # a new font (presentation mode): one new layout, not one per step
        return super().eventFilter(watched, event)

"""A one-line label that never widens its column: cut at a word with an ellipsis, whole in its tooltip."""

from __future__ import annotations

from PyQt6 import sip
from PyQt6.QtCore import QEvent, QSize, Qt
from PyQt6.QtGui import QFontMetrics, QResizeEvent
from PyQt6.QtWidgets import QLabel, QSizePolicy, QWidget

ELLIPSIS = "…"


def elide_words(text: str, metrics: QFontMetrics, width: int) -> str:
    """``text`` if it fits ``width`` pixels, else its longest run of whole words and an ellipsis.

    When not even the first word fits, the first word is cut (Qt's elision, which ends in an
    ellipsis too), so a shown text never ends inside a word without one.
    """
    if metrics.horizontalAdvance(text) <= width:
        return text
    words = text.split(" ")
    for count in range(len(words) - 1, 0, -1):
        head = " ".join(words[:count]).rstrip(" ,;:(")
        if head and metrics.horizontalAdvance(head + ELLIPSIS) <= width:
            return head + ELLIPSIS
    return metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(width, 0))


class ElidedLabel(QLabel):
    """A QLabel of one line of plain text shown in the room it gets (:func:`elide_words`).

    ``text()`` is the whole text and ``shown_text()`` what the label shows; while it shows
    less, its tooltip starts with the whole text (then its own tooltip, if it has one). It
    asks for no width of its own (a long title never widens a column or the window). Qt
    paints it as any label: nothing of Python runs in a paint, so a label whose window is
    being destroyed is never called back.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._whole = ""
        self._tip = ""  # a tooltip of its own (what the panel shows), kept under the whole text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def text(self) -> str:
        """The whole text."""
        return self._whole

    def shown_text(self) -> str:
        """What the label shows now (the text, or its words that fit and an ellipsis)."""
        return super().text()

    def setToolTip(self, tip: str | None) -> None:
        """The label's own tooltip; while the text is cut, the whole text comes first."""
        self._tip = tip or ""
        self._fit()

    def minimumSizeHint(self) -> QSize:
        """Any width; one line's height."""
        return QSize(0, super().minimumSizeHint().height())

    def setText(self, text: str | None) -> None:
        """Set the whole text (shown elided when it does not fit)."""
        self._whole = text or ""
        self._fit()

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        """Elide again for the new width."""
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event: QEvent | None) -> None:
        """A new font (presentation mode's style sheet) elides again."""
        super().changeEvent(event)
        if event is not None and event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit()

    def _fit(self) -> None:
        if sip.isdeleted(self):
            return
        whole = self._whole
        shown = (
            elide_words(whole, self.fontMetrics(), self.contentsRect().width()) if self.width() > 0 else whole
        )
        if shown != super().text():
            super().setText(shown)
        tip = self._tip
        if shown != whole:
            tip = f"{whole}\n{tip}" if tip else whole
        if tip != self.toolTip():
            super().setToolTip(tip)

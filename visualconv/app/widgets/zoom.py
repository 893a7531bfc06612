"""The zoom of the heat maps: a scroll area whose content is the layer view at 50-400 %.

At 100 % the layer view fills the area, as it always did; at 200 % it is twice as wide
and tall (cells and numbers twice the size) and the area scrolls; below 100 % it is
smaller than the area. Ctrl+wheel zooms; the window's Ctrl+plus / Ctrl+minus / Ctrl+0
call :meth:`ZoomArea.zoom_in`, :meth:`ZoomArea.zoom_out` and :meth:`ZoomArea.reset_zoom`.
"""

from __future__ import annotations

from PyQt6.QtCore import QSize, Qt, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QResizeEvent, QWheelEvent
from PyQt6.QtWidgets import QFrame, QScrollArea, QWidget

ZOOM_STEPS = (50, 67, 80, 90, 100, 110, 125, 150, 175, 200, 250, 300, 400)
"""The zoom levels Ctrl+plus and Ctrl+minus step through, in percent."""
MIN_ZOOM, MAX_ZOOM = ZOOM_STEPS[0], ZOOM_STEPS[-1]


class ZoomArea(QScrollArea):
    """Shows ``content`` at a zoom of :data:`MIN_ZOOM` to :data:`MAX_ZOOM` percent of the area.

    Signals
    -------
    sigZoomChanged(int)
        The zoom, in percent, after it changed.
    """

    sigZoomChanged = pyqtSignal(int)

    def __init__(self, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("zoomArea")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setWidget(content)
        self.percent = 100

    def set_zoom(self, percent: int) -> None:
        """Show the content at ``percent`` (clamped to 50..400) of the area's size."""
        percent = int(min(max(int(percent), MIN_ZOOM), MAX_ZOOM))
        if percent != self.percent:
            self.percent = percent
            self._fit()
            self.sigZoomChanged.emit(percent)

    @pyqtSlot()
    def zoom_in(self) -> None:
        """The next larger zoom step."""
        self.set_zoom(next((z for z in ZOOM_STEPS if z > self.percent), MAX_ZOOM))

    @pyqtSlot()
    def zoom_out(self) -> None:
        """The next smaller zoom step."""
        self.set_zoom(next((z for z in reversed(ZOOM_STEPS) if z < self.percent), MIN_ZOOM))

    @pyqtSlot(int)
    def zoom_step(self, steps: int) -> None:
        """Zoom in (``steps`` > 0) or out (< 0) by one step."""
        if steps > 0:
            self.zoom_in()
        elif steps < 0:
            self.zoom_out()

    @pyqtSlot()
    def reset_zoom(self) -> None:
        """100 %: the content fills the area."""
        self.set_zoom(100)

    def _fit(self) -> None:
        content = self.widget()
        if content is None:
            return
        if self.percent == 100:
            content.setMinimumSize(0, 0)
            content.setMaximumSize(QSize(16777215, 16777215))
            return
        area = self.maximumViewportSize()  # without scroll bars, so showing them changes nothing
        size = QSize(round(area.width() * self.percent / 100), round(area.height() * self.percent / 100))
        if self.percent > 100:
            content.setMaximumSize(QSize(16777215, 16777215))
            content.setMinimumSize(size)
        else:
            content.setMinimumSize(0, 0)
            content.setMaximumSize(size)

    def resizeEvent(self, event: QResizeEvent | None) -> None:  # noqa: D102 - Qt API
        super().resizeEvent(event)
        self._fit()

    def wheelEvent(self, event: QWheelEvent | None) -> None:
        """Ctrl+wheel zooms (from anywhere over the heat maps); the wheel alone scrolls."""
        if event is not None and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_step(event.angleDelta().y())
            event.accept()
            return
        super().wheelEvent(event)

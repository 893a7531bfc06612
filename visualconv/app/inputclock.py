"""When the user last gave input, so background work can step aside for the window.

The training worker and the training panel's live redraws consult it: while keys are
pressed or the mouse moves, they wait a little, and the window answers input first.
"""

from __future__ import annotations

import time

from PyQt6.QtCore import QCoreApplication, QEvent, QObject

# While the user types or moves the mouse, live redraws wait this long after the last
# input event, so the window answers input first and the curves catch up after.
INPUT_QUIET_SECONDS = 0.15


class InputClock(QObject):
    """When the user last pressed a key or moved the mouse (an application event filter)."""

    _instance: InputClock | None = None
    INPUT_EVENTS = frozenset(
        {
            # Keys bound to shortcuts (the stepper's arrows) arrive as these two only.
            QEvent.Type.ShortcutOverride,
            QEvent.Type.Shortcut,
            QEvent.Type.KeyPress,
            QEvent.Type.KeyRelease,
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseMove,
            QEvent.Type.Wheel,
        }
    )

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.last_input = 0.0
        app.installEventFilter(self)

    @classmethod
    def instance(cls) -> InputClock | None:
        """The clock of the running application (installed on first use)."""
        app = QCoreApplication.instance()
        if app is None:
            return None
        if cls._instance is None or cls._instance.parent() is not app:
            cls._instance = cls(app)
        return cls._instance

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        """Note the time of every input event; never consumes one."""
        if event is not None and event.type() in self.INPUT_EVENTS:
            self.last_input = time.monotonic()
        return False

    def busy(self) -> bool:
        """Whether the user gave input within the last :data:`INPUT_QUIET_SECONDS`."""
        return time.monotonic() - self.last_input < INPUT_QUIET_SECONDS

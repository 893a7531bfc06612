"""The stepper: first / previous / next / last, play and pause, speed, scrub slider."""

from __future__ import annotations

from PyQt6.QtCore import QMetaObject, QSignalBlocker, Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from ...i18n import _
from .. import theme
from ..session import Session

# Overlays per second offered by the speed control.
SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
DEFAULT_SPEED = 2.0


class Stepper(QWidget):
    """Controls of the session's step.

    Signals
    -------
    sigPlayingChanged(bool)
        Play started or stopped.
    """

    sigPlayingChanged = pyqtSignal(bool)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(4)

        def button(text: str, tip: str) -> QToolButton:
            b = QToolButton(self)
            b.setText(text)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            b.setToolTip(tip)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setMinimumWidth(30)
            layout.addWidget(b)
            return b

        self._play_shows = "play"  # the play button's icon: "pause" while playing
        self.first_button = button(_("First"), _("First step (Home)"))
        self.previous_button = button(_("Previous"), _("Previous overlay (Left)"))
        self.play_button = button(_("Play"), _("Play / pause (Space)"))
        self.next_button = button(_("Next"), _("Next overlay (Right)"))
        self.last_button = button(_("Last"), _("Last step (End)"))
        self.set_theme(theme.LIGHT)

        self.speed = QComboBox(self)
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed.setToolTip(_("Playback speed"))
        for s in SPEEDS:
            self.speed.addItem(_("{speed} / s").format(speed=f"{s:g}"), s)
        self.speed.setCurrentIndex(SPEEDS.index(DEFAULT_SPEED))
        layout.addWidget(self.speed)

        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setToolTip(_("Scrub through the overlays"))
        self.slider.setMinimumWidth(40)  # the bar fits a 1024-pixel screen beside the docks
        layout.addWidget(self.slider, 1)

        self.counter = QLabel(_("overlay {k} of {n}").format(k=0, n=0), self)
        self.counter.setObjectName("stepCounter")
        self._fit_counter(0)
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.counter)

        self.timer = QTimer(self)
        self.timer.setInterval(self._interval())
        # Scrubbing is coalesced: the slider may move faster than steps can be drawn. A move asks
        # for the step as a posted call (one for any number of moves before the event loop gets to
        # it), which runs ahead of the repaints Qt posts: the slider's new place is painted with the
        # step's panels, in one repaint, not on its own before them.
        self._scrub_pending = False

        self.first_button.clicked.connect(self._on_first_clicked)
        self.previous_button.clicked.connect(self._on_previous_clicked)
        self.next_button.clicked.connect(self._on_next_clicked)
        self.last_button.clicked.connect(self._on_last_clicked)
        self.play_button.clicked.connect(self.toggle_play)
        self.speed.currentIndexChanged.connect(self._on_speed_changed)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.timer.timeout.connect(self._on_timer_timeout)
        session.sigTraceChanged.connect(self._on_session_trace_changed)
        session.sigStepChanged.connect(self._on_session_step_changed)
        self._on_session_trace_changed(session.trace)

    # ------------------------------------------------------------ play

    @property
    def playing(self) -> bool:
        """Whether the stepper advances by itself."""
        return self.timer.isActive()

    def play(self) -> None:
        """Advance one overlay per tick until the last step (from step 0 when at the end)."""
        if self.playing or self.session.n == 0:
            return
        if self.session.step >= self.session.n:
            self.session.first()
        self.timer.start()
        self.play_button.setText(_("Pause"))
        self._play_shows = "pause"
        self.play_button.setIcon(self._icons["pause"])
        self.sigPlayingChanged.emit(True)

    def pause(self) -> None:
        """Stop advancing."""
        if not self.playing:
            return
        self.timer.stop()
        self.play_button.setText(_("Play"))
        self._play_shows = "play"
        self.play_button.setIcon(self._icons["play"])
        self.sigPlayingChanged.emit(False)

    def toggle_play(self) -> None:
        """Play when paused, pause when playing."""
        if self.playing:
            self.pause()
        else:
            self.play()

    def set_speed(self, per_second: float) -> None:
        """Overlays per second (the nearest offered speed)."""
        index = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - per_second))
        self.speed.setCurrentIndex(index)

    def _interval(self) -> int:
        speed = float(self.speed.currentData() or DEFAULT_SPEED)
        return max(1, round(1000 / speed))

    # ------------------------------------------------------------ handlers

    def _on_first_clicked(self) -> None:
        self.session.first()

    def _on_previous_clicked(self) -> None:
        self.session.previous()

    def _on_next_clicked(self) -> None:
        self.session.next()

    def _on_last_clicked(self) -> None:
        self.session.last()

    def _on_speed_changed(self, index: int) -> None:
        self.timer.setInterval(self._interval())

    def _on_timer_timeout(self) -> None:
        if not self.session.next() or self.session.step >= self.session.n:
            self.pause()

    def _on_slider_value_changed(self, value: int) -> None:
        if not self._scrub_pending:
            self._scrub_pending = True
            QMetaObject.invokeMethod(self, "_apply_scrub", Qt.ConnectionType.QueuedConnection)

    @pyqtSlot()
    def _apply_scrub(self) -> None:
        """Go to the slider's step (the last of the moves since the call was posted)."""
        if self._scrub_pending:
            self._scrub_pending = False
            self.session.set_step(self.slider.value())

    def set_theme(self, chosen: theme.Theme) -> None:
        """Draw the buttons' icons in the theme's text colour (View ▸ Theme)."""
        self._icons = {kind: theme.step_icon(kind, chosen) for kind in theme.STEP_ICON_SHAPES}
        for kind, b in (
            ("first", self.first_button),
            ("previous", self.previous_button),
            ("next", self.next_button),
            ("last", self.last_button),
        ):
            b.setIcon(self._icons[kind])
        self.play_button.setIcon(self._icons[self._play_shows])

    def _fit_counter(self, n: int) -> None:
        """Room for the counter's widest text in a pass of ``n`` overlays (it never jitters).

        Its size is fixed: a label of fixed size changes its text without asking the window
        for a new layout (any other label's ``setText`` redoes every layout up to the main
        window's, on every step).
        """
        digits = "8" * len(str(n))
        widest = _("overlay {k} of {n}").format(k=digits, n=digits)
        self.counter.setFixedSize(
            self.counter.fontMetrics().horizontalAdvance(widest) + 6, self.counter.sizeHint().height()
        )

    def _on_session_trace_changed(self, trace: object) -> None:
        self.pause()
        n = self.session.n
        self._fit_counter(n)
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, n)
            self.slider.setPageStep(max(1, n // 10))
        enabled = trace is not None
        for w in (
            self.first_button,
            self.previous_button,
            self.play_button,
            self.next_button,
            self.last_button,
            self.slider,
        ):
            w.setEnabled(enabled)
        self._on_session_step_changed(self.session.step)

    def _on_session_step_changed(self, k: int) -> None:
        n = self.session.n
        self._scrub_pending = False  # the step is set: a move not yet applied is dropped
        with QSignalBlocker(self.slider):
            self.slider.setValue(k)
        self.counter.setText(_("overlay {k} of {n}").format(k=k, n=n))
        self.first_button.setEnabled(k > 0)
        self.previous_button.setEnabled(k > 0)
        self.next_button.setEnabled(k < n)
        self.last_button.setEnabled(k < n)

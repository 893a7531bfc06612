"""The equation panel: the current overlay's arithmetic with its numbers."""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from ...engine.numbers import DEFAULT, NumberFormat
from ...engine.scene import pass_scene
from ...engine.trace import LayerTrace
from ...i18n import _
from .. import theme
from ..session import Session


class EquationPanel(QWidget):
    """Shows the equation lines of the scene of the session's current step (the engine's text)."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(2)
        self.heading = QLabel("")
        self.heading.setObjectName("equationsHeading")
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("equations")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(theme.monospace_font(11.5))
        layout.addWidget(self.heading)
        layout.addWidget(self.text, 1)
        self._note: list[str] = []
        self.numbers: NumberFormat = DEFAULT
        self._context = ""
        session.sigTraceChanged.connect(self._on_session_trace_changed)
        session.sigStepChanged.connect(self._on_session_step_changed)

    def set_numbers(self, numbers: NumberFormat) -> None:
        """Write the step's numbers with ``numbers`` (View ▸ Numbers)."""
        self.numbers = numbers
        self._on_session_step_changed(self.session.step)

    def set_presentation(self, on: bool) -> None:
        """The step text at projector size (presentation mode) or as usual."""
        self.text.setFont(theme.monospace_font(15.0 if on else 11.5))

    def set_note(self, lines: list[str]) -> None:
        """Lines shown under the step's arithmetic (e.g. a training iteration's SGD update)."""
        if lines != self._note:
            self._note = list(lines)
            self._on_session_step_changed(self.session.step)

    def set_context(self, text: str) -> None:
        """A sentence after the heading saying what the view shows (e.g. W before a training update)."""
        if text != self._context:
            self._context = text
            self._on_session_step_changed(self.session.step)

    def lines(self) -> list[str]:
        """The lines shown."""
        text = self.text.toPlainText()
        return text.split("\n") if text else []

    def _on_session_trace_changed(self, trace: LayerTrace | None) -> None:
        if trace is None:
            self.heading.setText("")
            self.text.setPlainText(self.session.trace_error)

    def _on_session_step_changed(self, k: int) -> None:
        trace = self.session.trace
        if trace is None:
            return
        layer = self.session.layer_index
        where = _("overlay {k} of {n}").format(k=k, n=trace.n)
        heading = (
            _("{layer} {kind}, forward pass — {where}")
            if trace.pass_name == "forward"
            else _("{layer} {kind}, backward pass — {where}")
        ).format(layer=f"layers[{layer}]", kind=trace.layer_type, where=where)
        self.heading.setText(f"{heading} — {self._context}" if self._context else heading)  # i18n: ok
        lines = list(pass_scene(trace, self.numbers).step(k).lines)
        if self._note:
            lines = [*lines, "", *self._note]
        self.text.setPlainText("\n".join(lines))

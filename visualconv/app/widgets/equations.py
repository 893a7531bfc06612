"""The equation panel: the current overlay's arithmetic with its numbers."""

from __future__ import annotations

import math

from PyQt6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from ...engine.numbers import DEFAULT, NumberFormat
from ...engine.scene import pass_scene
from ...engine.trace import LayerTrace
from ...i18n import _
from .. import theme
from ..session import Session
from .elided import ElidedLabel
from .steady import SteadyLine

PRESENTATION_SIZES = (15.0, 14.0, 13.0, 12.0, 11.5)
"""The step text's font sizes in presentation mode, largest first: the largest whose lines fit."""


class EquationPanel(QWidget):
    """Shows the equation lines of the scene of the session's current step (the engine's text)."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(2)
        # The heading changes every step: in a holder, so it never lays the window out again.
        self.heading = ElidedLabel("")
        self.heading.setObjectName("equationsHeading")
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("equations")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(theme.monospace_font(11.5))
        layout.addWidget(SteadyLine(self.heading, self))
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

    def needed_height(self) -> int:
        """The panel's height that shows every line of the current step without scrolling.

        The text box's own line layout at its width and font (a visible scroll bar narrows it:
        the answer errs on the tall side), plus the heading, margins and frame (what
        presentation mode sizes the step text by).
        """
        text = self.text
        block = text.document().firstBlock()
        lines = 0.0
        while block.isValid():
            lines += text.blockBoundingRect(block).height()
            block = block.next()
        inside = math.ceil(lines + 2 * text.document().documentMargin()) + 2 * text.frameWidth() + 2
        layout = self.layout()
        around = 0
        if layout is not None:
            margins = layout.contentsMargins()
            around = margins.top() + margins.bottom() + layout.spacing()
        return inside + self.heading.sizeHint().height() + around

    def set_presentation(self, on: bool) -> None:
        """The step text at projector size (presentation mode) or as usual."""
        self.set_text_size(PRESENTATION_SIZES[0] if on else 11.5)

    def set_text_size(self, points: float) -> None:
        """The step text's font size in points."""
        if self.text.font().pointSizeF() != points:
            self.text.setFont(theme.monospace_font(points))

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

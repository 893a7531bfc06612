"""Joins the Training panel to the window's session: models both ways, and the SGD update note."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QObject, pyqtSlot
from PyQt6.QtWidgets import QStatusBar

from ...engine.explain import sgd_update_lines
from ...engine.model import Model
from ...i18n import _
from ..editors.history import EditHistory
from ..session import Session
from ..widgets.equations import EquationPanel
from .panel import TrainingPanel


class TrainingLink(QObject):
    """A model shown in the window is the one the panel trains; a chosen iteration is shown.

    Bound slots on a QObject (not loose functions), so nothing runs on a half-destroyed
    window: PyQt disconnects the slots when this object goes.

    Parameters
    ----------
    session : Session
    panel : TrainingPanel
    equations : EquationPanel
        Shows the SGD update of the iteration on view (backward pass).
    parent : QObject, optional
    """

    def __init__(
        self,
        session: Session,
        panel: TrainingPanel,
        equations: EquationPanel,
        parent: QObject | None = None,
        *,
        history: EditHistory | None = None,
        status: QStatusBar | None = None,
    ) -> None:
        super().__init__(parent)
        self.session, self.panel, self.equations = session, panel, equations
        self.history, self.status = history, status
        self.record: Any = None  # the training iteration shown in the stepper, if any
        self.opening = False
        session.sigModelChanged.connect(self._on_session_model_changed)
        session.sigTraceChanged.connect(self._on_session_trace_changed)
        panel.sigIterationSelected.connect(self._on_panel_iteration_selected)
        panel.sigModelTrained.connect(self._on_panel_model_trained)
        panel.sigApplyRequested.connect(self._on_panel_apply_requested)
        if session.model is not None:
            panel.set_model(session.model)

    def open_in_stepper(self, model: Model, record: Any) -> None:
        """Show a model from the panel as an edit of the shown one, with its SGD update."""
        self.opening = True
        try:
            self.record = record
            self.session.replace_model(model)
        finally:
            self.opening = False
        self.update_note()

    def update_note(self) -> None:
        """The equation panel's SGD-update lines for the shown iteration and layer."""
        record, session = self.record, self.session
        backward = session.pass_name == "backward"
        lines = sgd_update_lines(record, session.layer_index) if record is not None and backward else []
        self.equations.set_note(lines)
        self.equations.set_context(
            ""
            if record is None
            else _(
                "training iteration {k}: W before its update (the Training panel shows W after it)"
            ).format(k=record.iteration)
        )

    @pyqtSlot(object)
    def _on_session_model_changed(self, model: Model) -> None:
        if self.opening:
            return  # the model came from the panel: its history stays
        self.record = None  # another model: no training iteration is shown any more
        self.panel.set_model(model)

    @pyqtSlot(object)
    def _on_session_trace_changed(self, trace: object) -> None:
        self.update_note()

    @pyqtSlot(object)
    def _on_panel_iteration_selected(self, model: Model) -> None:
        self.open_in_stepper(model, self.panel.selected_record())

    @pyqtSlot(object)
    def _on_panel_model_trained(self, model: Model) -> None:
        # The run trained a copy: the model stays as it was (not modified) until Apply.
        if self.status is not None:
            self.status.showMessage(
                _("Training finished on a copy; the model is unchanged until Apply trained weights"), 8000
            )

    @pyqtSlot(object)
    def _on_panel_apply_requested(self, model: Model) -> None:
        """The trained parameters become the model: one edit, undone by Edit ▸ Undo."""
        self.opening = True  # the panel keeps its history: the model is the one it trained
        try:
            if self.history is not None:
                self.history.apply(_("Apply trained weights"), _Replace(model))
            else:
                self.session.replace_model(model)
        finally:
            self.opening = False
        self.record = None
        self.update_note()


class _Replace:
    """The edit "this model instead" (an edit is a function from the old model to the new)."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def __call__(self, old: Model) -> Model:
        return self.model

"""Undo and redo of model edits: a QUndoStack of immutable model snapshots.

Every edit the editors make goes through :meth:`EditHistory.apply`: the edit is a
function Model -> Model (see :mod:`visualconv.editing`); a refused edit (it raises
:class:`ModelError`) changes nothing and is reported with :attr:`sigEditRefused`; an
accepted one is pushed on the undo stack and shown with ``Session.replace_model``,
so everything downstream recomputes and the stepper keeps its place. Models are
immutable, so undo shows the previous model object itself: exactly what was there.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtGui import QUndoCommand, QUndoStack

from ...engine.errors import ModelError, said
from ...engine.model import Model, run
from ...i18n import _
from ..session import Session

# What an edit function may raise besides ModelError (bad shapes in NumPy, huge sizes).
REFUSED = (ModelError, ValueError, IndexError, TypeError, OverflowError, MemoryError)


def refusal_text(exc: BaseException) -> str:
    """The user's message for a refused edit (place: what was expected)."""
    if isinstance(exc, ModelError):
        return exc.localized()
    if isinstance(exc, MemoryError):
        return _("that model would need more memory than this computer has")
    return said(exc) or type(exc).__name__


def check_finite(model: Model) -> None:
    """Run the model once; refuse values that make its outputs or gradients overflow.

    Raises
    ------
    ModelError
        When a forward or backward value is not finite.
    """
    with np.errstate(all="ignore"):
        result = run(model)
    arrays = [r.output for r in result.records]
    if result.grads is not None:
        arrays += [g.grad_input for g in result.grads]
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ModelError(
            _("these values make the outputs or gradients overflow to infinity; pick smaller ones")
        )


class ModelEdit(QUndoCommand):
    """One edit: the model before and after (and the file, for a new empty model)."""

    def __init__(
        self,
        history: EditHistory,
        before: Model,
        after: Model,
        text: str,
        paths: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(text)
        self.history = history
        self.before = before
        self.after = after
        self.paths = paths

    def redo(self) -> None:  # noqa: D102 - Qt API
        self.history._show(self.after, None if self.paths is None else self.paths[1], self.text())

    def undo(self) -> None:  # noqa: D102 - Qt API
        self.history._show(
            self.before, None if self.paths is None else self.paths[0], f"undone: {self.text()}"
        )


class EditHistory(QObject):
    """The undo stack of a session's model edits.

    Signals
    -------
    sigEditRefused(str)
        An edit was refused; the argument says why (the model shown is unchanged).
    sigEditApplied(str)
        An edit, an undo or a redo changed the model; the argument names it.
    """

    sigEditRefused = pyqtSignal(str)
    sigEditApplied = pyqtSignal(str)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.stack = QUndoStack(self)
        self._showing: Model | None = None
        session.sigModelChanged.connect(self._on_session_model_changed)

    def apply(self, text: str, edit: Callable[[Model], Model]) -> bool:
        """Apply ``edit`` to the model shown; True when it was accepted."""
        model = self.session.model
        if model is None:
            self.sigEditRefused.emit(_("open or create a model first"))
            return False
        try:
            new = edit(model)
            check_finite(new)
        except REFUSED as exc:
            self.sigEditRefused.emit(refusal_text(exc))
            return False
        self.stack.push(ModelEdit(self, model, new, text))
        return True

    def replace_all(self, text: str, model: Model) -> None:
        """Show a new model with no file (e.g. an empty one); undo brings the old one and its file back."""
        before = self.session.model
        if before is None:
            self.session.set_model(model, "", dirty=True)
            return
        self.stack.push(ModelEdit(self, before, model, text, (self.session.path, "")))

    def _show(self, model: Model, path: str | None, text: str) -> None:
        self._showing = model
        try:
            if path is None:
                self.session.replace_model(model)
            else:
                s = self.session
                s.set_model(model, path, dirty=True, layer=s.layer_index, pass_name=s.pass_name, step=s.step)
        finally:
            self._showing = None
        self.sigEditApplied.emit(text)

    def _on_session_model_changed(self, model: Model) -> None:
        if self._showing is None:
            # A model opened from a file (or built elsewhere): its edits start afresh.
            self.stack.clear()

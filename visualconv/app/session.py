"""The window's state: the model shown, the layer, the pass and the step.

The session owns no widgets. Views subscribe to its signals and read its properties;
user actions call its methods. The model is immutable: an edit replaces it
(:meth:`Session.replace_model`), which keeps undo, autosave and "the last valid model"
simple for the editors and recovery code that build on this class.

Every change goes through one place, :meth:`Session._apply`: it compares the old
:class:`SessionState` with the new one, sets the new state with the session's signals
blocked (no view reads a half-made state), and then emits only the signals of what
changed, in a fixed order (model, path, dirty, trace, step). A view that listens to
``sigStepChanged`` therefore repaints once per step and never for a change that did not
happen.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import QObject, QSignalBlocker, pyqtSignal

from ..engine.errors import ModelError
from ..engine.model import Model
from ..engine.trace import PASSES, LayerTrace, Step, trace_layer


@dataclass(frozen=True, slots=True, eq=False)
class SessionState:
    """What a session shows, as one value (compared old against new by :meth:`Session._apply`).

    Attributes
    ----------
    model : Model or None
    path : str
        The model's file ("" when none).
    dirty : bool
    layer : int
    pass_name : str
    step : int
        0..n of ``trace``.
    trace : LayerTrace or None
    trace_error : str
        Why there is no trace ("" when there is one).
    """

    model: Model | None = None
    path: str = ""
    dirty: bool = False
    layer: int = 0
    pass_name: str = "forward"
    step: int = 0
    trace: LayerTrace | None = None
    trace_error: str = ""


@dataclass(frozen=True, slots=True)
class SessionChanges:
    """Which parts of the state a change touched (what :meth:`Session._apply` emitted)."""

    model: bool
    path: bool
    dirty: bool
    trace: bool
    step: bool

    def __bool__(self) -> bool:
        return self.model or self.path or self.dirty or self.trace or self.step


class Session(QObject):
    """Model, file, layer, pass and step of one window, with change signals.

    Signals
    -------
    sigModelChanged(object)
        A new model is shown (opened or replaced); the argument is the Model.
    sigPathChanged(str)
        The file the model belongs to ("" when none).
    sigDirtyChanged(bool)
        Unsaved changes appeared or were saved.
    sigTraceChanged(object)
        The layer, the pass or the model changed; the argument is the new LayerTrace
        or None when the selected pass does not exist (no upstream or target).
    sigStepChanged(int)
        The step k (0..n) of the current trace changed.
    """

    sigModelChanged = pyqtSignal(object)
    sigPathChanged = pyqtSignal(str)
    sigDirtyChanged = pyqtSignal(bool)
    sigTraceChanged = pyqtSignal(object)
    sigStepChanged = pyqtSignal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = SessionState()
        self.last_changes = SessionChanges(False, False, False, False, False)

    # ------------------------------------------------------------ properties

    @property
    def model(self) -> Model | None:
        """The model shown, or None before the first one."""
        return self._state.model

    @property
    def path(self) -> str:
        """The model's file ("" for an unsaved or built model)."""
        return self._state.path

    @property
    def dirty(self) -> bool:
        """Whether the model has changes that are not saved."""
        return self._state.dirty

    @property
    def layer_index(self) -> int:
        """Index of the selected layer."""
        return self._state.layer

    @property
    def pass_name(self) -> str:
        """``"forward"`` or ``"backward"``."""
        return self._state.pass_name

    @property
    def step(self) -> int:
        """The current step k, 0..n."""
        return self._state.step

    @property
    def trace(self) -> LayerTrace | None:
        """The overlay trace of the selected layer and pass (None if there is none)."""
        return self._state.trace

    @property
    def trace_error(self) -> str:
        """Why there is no trace, in words for the user ("" when there is one)."""
        return self._state.trace_error

    @property
    def n(self) -> int:
        """Number of overlays of the current trace (0 without one)."""
        trace = self._state.trace
        return 0 if trace is None else trace.n

    @property
    def state(self) -> SessionState:
        """Everything the session shows, as one frozen value."""
        return self._state

    def current_step(self) -> Step | None:
        """The engine's Step for the current k (computed on demand, cached by the trace)."""
        trace = self._state.trace
        return None if trace is None else trace.step(self._state.step)

    # ------------------------------------------------------------ the one place state changes

    def _apply(self, new: SessionState, *, reopened: bool = False, edited: bool = False) -> SessionChanges:
        """Make ``new`` the state and announce only what differs from the old one.

        The state is set inside a signal blocker, so nothing connected to the session
        runs while it is half made; then the signals of the changed parts are emitted,
        model first and step last. A new trace always announces its step (the step of
        another trace is another step, even at the same k). ``reopened``: a model opened
        anew announces its file even under the same name (views forget the last file's
        pins and messages); ``edited``: an edit announces its model even when it is the
        same value.
        """
        old = self._state
        changes = SessionChanges(
            model=edited or new.model is not old.model,
            path=new.path != old.path or (reopened and new.model is not old.model),
            dirty=new.dirty != old.dirty,
            trace=new.trace is not old.trace or new.trace_error != old.trace_error,
            step=new.trace is not old.trace or new.step != old.step,
        )
        with QSignalBlocker(self):
            self._state = new
        self.last_changes = changes
        if changes.model:
            self.sigModelChanged.emit(new.model)
        if changes.path:
            self.sigPathChanged.emit(new.path)
        if changes.dirty:
            self.sigDirtyChanged.emit(new.dirty)
        if changes.trace:
            self.sigTraceChanged.emit(new.trace)
        if changes.step:
            self.sigStepChanged.emit(new.step)
        return changes

    # ------------------------------------------------------------ model and file

    def open(self, path: str | os.PathLike[str]) -> Model:
        """Load a model file and show it.

        Raises
        ------
        ModelError
            When the file cannot be used; the current model stays.
        """
        from ..modelfile import load_model

        model = load_model(path)
        model.shapes()
        self.set_model(model, str(Path(path)), dirty=False)
        return model

    def set_model(
        self,
        model: Model,
        path: str = "",
        *,
        dirty: bool = False,
        layer: int = 0,
        pass_name: str | None = None,
        step: int = 0,
    ) -> None:
        """Show a (new) model from a file or built in code; selects a layer, pass and step."""
        state = dataclasses.replace(self._state, model=model, path=path, dirty=dirty)
        self._apply(self._selected(state, layer, pass_name, step), reopened=True)

    def replace_model(self, model: Model) -> None:
        """Show an edited model: marks it unsaved and keeps layer, pass and step where they still exist."""
        old = self._state
        state = dataclasses.replace(old, model=model, dirty=True)
        self._apply(self._selected(state, old.layer, old.pass_name, old.step), edited=True)

    def save(self, path: str | os.PathLike[str] | None = None) -> str:
        """Write the model to ``path`` (default: its own file) and mark it saved.

        Raises
        ------
        OSError, ModelError
            When the file cannot be written.
        ValueError
            When there is no model or no path.
        """
        from ..modelfile import save_model

        model = self._state.model
        if model is None:
            raise ValueError("there is no model to save")
        target = str(path) if path is not None else self._state.path
        if not target:
            raise ValueError("the model has no file yet; choose one with Save As")
        save_model(model, target, follow_symlinks=True)  # the file the user opened or chose
        self._apply(dataclasses.replace(self._state, path=target, dirty=False))
        return target

    # ------------------------------------------------------------ layer, pass, step

    def set_layer(self, index: int) -> None:
        """Select layer ``index`` (the pass stays; the step goes back to 0)."""
        if index != self._state.layer:
            self._select(index, self._state.pass_name, 0)

    def set_pass(self, pass_name: str) -> None:
        """Select ``"forward"`` or ``"backward"`` (the step goes back to 0)."""
        if pass_name not in PASSES:
            raise ValueError(f"pass must be one of {PASSES}, got {pass_name!r}")
        if pass_name != self._state.pass_name:
            self._select(self._state.layer, pass_name, 0)

    def select(self, layer: int, pass_name: str, step: int = 0) -> None:
        """Select a layer, a pass and a step at once: one new trace, announced even when they are the same."""
        self._select(layer, pass_name, step, retrace=True)

    def _select(self, layer: int, pass_name: str | None, step: int, *, retrace: bool = False) -> None:
        if self._state.model is not None:
            self._apply(self._selected(self._state, layer, pass_name, step, retrace=retrace))

    def _selected(
        self, state: SessionState, layer: int, pass_name: str | None, step: int, *, retrace: bool = False
    ) -> SessionState:
        """``state`` with a layer, pass and step selected in its model.

        The trace is new unless the model, layer and pass are those shown (then it is kept),
        or ``retrace`` asks for a new one.
        """
        current = self._state if self._state.model is not None and not retrace else None
        model = state.model
        if model is None:
            return state
        layer = min(max(layer, 0), len(model.layers) - 1)
        if pass_name is None:
            pass_name = "backward" if model.has_backward else "forward"
        trace: LayerTrace | None = None
        error = ""
        if (
            current is not None
            and current.model is model
            and (current.layer, current.pass_name)
            == (
                layer,
                pass_name,
            )
        ):
            trace, error = current.trace, current.trace_error  # the same model, layer and pass
        else:
            try:
                trace = trace_layer(model, layer, pass_name)
            except (ModelError, ValueError) as exc:
                error = exc.localized() if isinstance(exc, ModelError) else str(exc)
        n = 0 if trace is None else trace.n
        return dataclasses.replace(
            state,
            layer=layer,
            pass_name=pass_name,
            trace=trace,
            trace_error=error,
            step=min(max(step, 0), n),
        )

    def set_step(self, k: int) -> None:
        """Go to step k (clamped to 0..n)."""
        k = min(max(int(k), 0), self.n)
        if k != self._state.step:
            self._apply(dataclasses.replace(self._state, step=k))

    def next(self) -> bool:
        """One step on; False at the last step."""
        if self._state.step >= self.n:
            return False
        self.set_step(self._state.step + 1)
        return True

    def previous(self) -> bool:
        """One step back; False at step 0."""
        if self._state.step <= 0:
            return False
        self.set_step(self._state.step - 1)
        return True

    def first(self) -> None:
        """Go to step 0 (before the first overlay)."""
        self.set_step(0)

    def last(self) -> None:
        """Go to the last step n."""
        self.set_step(self.n)

    def refresh(self) -> None:
        """Tell every view to draw the current trace and step again (a language switch: new words)."""
        state = self._state
        if state.model is not None:
            self.sigTraceChanged.emit(state.trace)
            self.sigStepChanged.emit(state.step)

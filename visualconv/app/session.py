"""The window's state: the model shown, the layer, the pass and the step.

The session owns no widgets. Views subscribe to its signals and read its properties;
user actions call its methods. The model is immutable: an edit replaces it
(:meth:`Session.replace_model`), which keeps undo, autosave and "the last valid model"
simple for the editors and recovery code that build on this class.
"""

from __future__ import annotations

import os
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from ..engine.errors import ModelError
from ..engine.model import Model
from ..engine.trace import PASSES, LayerTrace, Step, trace_layer


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
        self._model: Model | None = None
        self._path = ""
        self._dirty = False
        self._layer = 0
        self._pass = "forward"
        self._step = 0
        self._trace: LayerTrace | None = None
        self._trace_error = ""

    # ------------------------------------------------------------ properties

    @property
    def model(self) -> Model | None:
        """The model shown, or None before the first one."""
        return self._model

    @property
    def path(self) -> str:
        """The model's file ("" for an unsaved or built model)."""
        return self._path

    @property
    def dirty(self) -> bool:
        """Whether the model has changes that are not saved."""
        return self._dirty

    @property
    def layer_index(self) -> int:
        """Index of the selected layer."""
        return self._layer

    @property
    def pass_name(self) -> str:
        """``"forward"`` or ``"backward"``."""
        return self._pass

    @property
    def step(self) -> int:
        """The current step k, 0..n."""
        return self._step

    @property
    def trace(self) -> LayerTrace | None:
        """The overlay trace of the selected layer and pass (None if there is none)."""
        return self._trace

    @property
    def trace_error(self) -> str:
        """Why there is no trace, in words for the user ("" when there is one)."""
        return self._trace_error

    @property
    def n(self) -> int:
        """Number of overlays of the current trace (0 without one)."""
        return 0 if self._trace is None else self._trace.n

    def current_step(self) -> Step | None:
        """The engine's Step for the current k (computed on demand, cached by the trace)."""
        return None if self._trace is None else self._trace.step(self._step)

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
        self._model = model
        self._path = path
        self.sigModelChanged.emit(model)
        self.sigPathChanged.emit(path)
        self._set_dirty(dirty)
        self._select(layer, pass_name, step)

    def replace_model(self, model: Model) -> None:
        """Show an edited model: marks it unsaved and keeps layer, pass and step where they still exist."""
        self._model = model
        self.sigModelChanged.emit(model)
        self._set_dirty(True)
        self._select(self._layer, self._pass, self._step)

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

        if self._model is None:
            raise ValueError("there is no model to save")
        target = str(path) if path is not None else self._path
        if not target:
            raise ValueError("the model has no file yet; choose one with Save As")
        save_model(self._model, target, follow_symlinks=True)  # the file the user opened or chose
        if target != self._path:
            self._path = target
            self.sigPathChanged.emit(target)
        self._set_dirty(False)
        return target

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.sigDirtyChanged.emit(dirty)

    # ------------------------------------------------------------ layer, pass, step

    def set_layer(self, index: int) -> None:
        """Select layer ``index`` (the pass stays; the step goes back to 0)."""
        if index != self._layer:
            self._select(index, self._pass, 0)

    def set_pass(self, pass_name: str) -> None:
        """Select ``"forward"`` or ``"backward"`` (the step goes back to 0)."""
        if pass_name not in PASSES:
            raise ValueError(f"pass must be one of {PASSES}, got {pass_name!r}")
        if pass_name != self._pass:
            self._select(self._layer, pass_name, 0)

    def select(self, layer: int, pass_name: str, step: int = 0) -> None:
        """Select a layer, a pass and a step at once (one trace change)."""
        self._select(layer, pass_name, step)

    def _select(self, layer: int, pass_name: str | None, step: int) -> None:
        model = self._model
        if model is None:
            return
        count = len(model.layers)
        self._layer = min(max(layer, 0), count - 1)
        if pass_name is None:
            pass_name = "backward" if model.has_backward else "forward"
        self._pass = pass_name
        self._trace = None
        self._trace_error = ""
        try:
            self._trace = trace_layer(model, self._layer, pass_name)
        except (ModelError, ValueError) as exc:
            self._trace_error = str(exc)
        self._step = min(max(step, 0), self.n)
        self.sigTraceChanged.emit(self._trace)
        self.sigStepChanged.emit(self._step)

    def set_step(self, k: int) -> None:
        """Go to step k (clamped to 0..n)."""
        k = min(max(int(k), 0), self.n)
        if k != self._step:
            self._step = k
            self.sigStepChanged.emit(k)

    def next(self) -> bool:
        """One step on; False at the last step."""
        if self._step >= self.n:
            return False
        self.set_step(self._step + 1)
        return True

    def previous(self) -> bool:
        """One step back; False at step 0."""
        if self._step <= 0:
            return False
        self.set_step(self._step - 1)
        return True

    def first(self) -> None:
        """Go to step 0 (before the first overlay)."""
        self.set_step(0)

    def last(self) -> None:
        """Go to the last step n."""
        self.set_step(self.n)

    def refresh(self) -> None:
        """Tell every view to draw the current trace and step again (a language switch: new words)."""
        if self._model is not None:
            self.sigTraceChanged.emit(self._trace)
            self.sigStepChanged.emit(self._step)

"""The Training panel: SGD settings, run controls, live loss curve, kernels, history.

The panel is self-contained: give it a model with :meth:`TrainingPanel.set_model`;
it trains a copy off the GUI thread, on the window's one kind of background worker
(:class:`~visualconv.app.worker.Worker` running :func:`.worker.training_run`: pause,
step and stop as every background job), and reports through its signals. It never
changes the model it was given.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QCoreApplication, QSize, Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QCloseEvent, QFontMetrics, QStandardItemModel
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGraphicsItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...engine import datasets
from ...engine.errors import ModelError, localized
from ...engine.kinds import CONV
from ...engine.kinds.base import frozen_array
from ...engine.model import Model, TrainingSpec
from ...engine.numbers import DEFAULT
from ...engine.train import Iteration, TrainingDiverged
from ...i18n import N_, _
from .. import theme
from ..inputclock import InputClock
from ..widgets.elided import elide_words
from ..widgets.flow import FlowRow
from ..worker import Worker, owned
from .maps import KernelMaps
from .worker import RunStarted, training_run

REDRAW_MS = 250
# Epoch points get a marker while there are few of them; thousands of markers would
# make every redraw slow (full-batch runs have an epoch per iteration).
MAX_MARKERS = 200


SPEEDS = (
    (N_("as fast as possible"), 0),
    (N_("50 iterations/s"), 20),
    (N_("10 iterations/s"), 100),
    (N_("2 iterations/s"), 500),
)
SHAPE_CLASSES_BY_COUNT = {
    2: ["bar", "square"],
    3: ["bar", "cross", "square"],
    4: ["hbar", "vbar", "cross", "square"],
    5: ["hbar", "vbar", "bar", "cross", "square"],
}
LOSS_PEN = pg.mkPen("#93a3b8", width=1)
EPOCH_PEN = pg.mkPen("#1d4ed8", width=2)
ACCURACY_PEN = pg.mkPen("#059669", width=2)
SELECTED_PEN = pg.mkPen("#f59e0b", width=2)


@dataclasses.dataclass(frozen=True)
class DatasetChoice:
    """One entry of the dataset list: its text, its description, and why it is disabled.

    ``dataset`` is ``spec`` checked against the model (None when it cannot be used).
    """

    text: str
    spec: dict[str, Any]
    problem: str | None = None
    dataset: datasets.Dataset | None = None


def dataset_choices(model: Model) -> list[DatasetChoice]:
    """The datasets the panel offers for ``model`` (unusable ones carry their reason)."""
    choices: list[DatasetChoice] = []
    if model.loss is None:
        return choices
    if model.training is not None and model.training.dataset is not None:
        checked = model.training.dataset
        spec = checked.document()
        choices.append(
            DatasetChoice(
                _("from the file: {dataset}").format(dataset=datasets.describe(spec)), spec, dataset=checked
            )
        )
    if model.target is not None:
        target = model.target if isinstance(model.target, int) else np.asarray(model.target).tolist()
        own = {"kind": "inline", "inputs": [np.asarray(model.input).tolist()], "targets": [target]}
        own_dataset, own_problem = None, None
        try:
            own_dataset = datasets.validate(own, model, model.shapes(), model.loss, "dataset")
        except ModelError as exc:
            own_dataset, own_problem = None, localized(exc.message)
        choices.append(
            DatasetChoice(_("this model's own example (1 example)"), own, own_problem, own_dataset)
        )
    outputs = math.prod(model.shapes()[-1])
    candidates: list[tuple[str, dict[str, Any]]] = []
    if any(layer.kind is CONV for layer in model.layers):
        candidates += [
            (_("teacher kernel [1, -1] (32 random images)"), {"kind": "teacher", "kernel": "edge"}),
            (_("teacher kernel Sobel x (32 random images)"), {"kind": "teacher", "kernel": "sobel_x"}),
        ]
    classes = SHAPE_CLASSES_BY_COUNT.get(outputs, ["bar", "cross", "square"])
    shapes = _("shapes: {classes} (60 images)").format(classes=", ".join(classes))
    candidates.append((shapes, {"kind": "shapes", "classes": classes}))
    digits = list(range(min(max(outputs, 2), 10)))
    candidates.append(
        (
            _("8x8 digits {first}-{last}").format(first=digits[0], last=digits[-1]),
            {"kind": "digits", "digits": digits},
        )
    )
    for text, spec in candidates:
        problem = datasets.available(spec["kind"])
        checked = None
        if problem is None:
            try:
                checked = datasets.validate(spec, model, model.shapes(), model.loss, "dataset")
            except ModelError as exc:
                problem = localized(exc.message)
        if spec["kind"] == "digits" and datasets.available("digits") is not None:
            text += " — " + _("needs scikit-learn: pip install scikit-learn")
        choices.append(DatasetChoice(text, spec, problem, checked))
    return choices


class _TightButton(QPushButton):
    """A button as wide as its text in the language in use (below the style's 80-pixel least width)."""

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(min(hint.width(), self.fontMetrics().horizontalAdvance(self.text()) + 20), hint.height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()


class _StatusLabel(QLabel):
    """A wrapped label of four lines whose height does not follow its width.

    A wrapped QLabel asks for height-for-width, and a scroll area then sizes the whole
    panel from its children's preferred heights (well over a 720-pixel screen); four lines
    are kept for this text anyway, so the panel's height comes from minimum sizes only.
    """

    def hasHeightForWidth(self) -> bool:
        return False


def _no_loss_text() -> str:
    return _(
        "this model has no 'target' and 'loss', so there is nothing to minimise; "
        "give it a target and a loss to train it"
    )


class TrainingPanel(QWidget):
    """SGD training of a model, watched live and kept for scrubbing back.

    What the user sees: learning rate, momentum, epochs, batch size, dataset, shuffle
    and speed; Start / Pause / Step / Stop / Reset; the loss per iteration (thin) and
    per epoch (thick) and, for classification, the accuracy; every conv and dense
    weight with the gradient of the shown iteration as heat maps; a slider over the
    history (0 = before training) that shows any past iteration.

    Signals
    -------
    sigIterationSelected(object)
        The user chose an iteration in the history. The argument is a Model with the
        parameters that iteration's backward pass used (before its update), its first
        batch example as ``input`` and ``target``, and the run's settings as
        ``training`` — open it in the stepper to see that backward pass; the update
        is ``-learning_rate * gradient`` (:meth:`selected_record` has the gradients).
    sigModelTrained(object)
        A run ended (all epochs, Stop, or divergence); the argument is the Model with
        the trained (or last finite) parameters and the run's settings. The run trained
        a copy: the model itself changes only through sigApplyRequested.
    sigApplyRequested(object)
        The user pressed "Apply trained weights": the argument is that trained Model,
        to become the model (as one edit that can be undone).
    sigRecordsAdded(int)
        New iterations arrived; the argument is the history's length.
    sigStateChanged(str)
        ``idle``, ``running``, ``paused``, ``finished``, ``stopped``, ``diverged`` or
        ``failed``.
    """

    sigIterationSelected = pyqtSignal(object)
    sigModelTrained = pyqtSignal(object)
    sigApplyRequested = pyqtSignal(object)
    sigRecordsAdded = pyqtSignal(int)
    sigStateChanged = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model: Model | None = None
        self._records: list[Iteration] = []
        self._series: dict[str, list[float]] = {}
        self._data: tuple[Any, Any] | None = None
        self._run_spec: TrainingSpec | None = None
        self._run_model: Model | None = None
        self._total = 0
        self._state = "idle"
        self._selected: int | None = None  # None: follow the newest iteration
        self._message = ""
        self._worker: Worker | None = None  # the current run's; what older workers send is dropped
        self._workers: list[Worker] = []  # every worker whose thread may still run
        self._pausing = False  # a pause (or a step) was asked and the worker has not held yet
        self._emitted: Model | None = None
        self._trained: Model | None = None  # the last run's result, until applied or forgotten
        self._choices: list[DatasetChoice] = []
        self._left_labels: dict[pg.PlotWidget, str] = {}  # each plot's whole y-axis name

        self._clear_history()
        self._build()
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_MS)
        self._redraw_timer.timeout.connect(self._redraw)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._update_controls()

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
        self.learning_rate = QDoubleSpinBox(decimals=6, minimum=1e-6, maximum=100.0, value=0.03)
        self.learning_rate.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        self.learning_rate.setToolTip(_("η: every weight and bias p becomes p − η·v"))
        self.momentum = QDoubleSpinBox(decimals=3, minimum=0.0, maximum=0.999, singleStep=0.1, value=0.0)
        self.momentum.setToolTip(_("m: v = m·v + g (the first v is g); 0 is plain SGD"))
        self.epochs = QSpinBox(minimum=1, maximum=100000, value=10)
        self.batch_size = QSpinBox(minimum=0, maximum=100000, value=0)
        self.batch_size.setSpecialValueText(_("full"))
        self.batch_size.setToolTip(_("examples per SGD step; 'full' (0) is the whole dataset"))
        self.dataset = QComboBox()
        self.dataset.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.dataset.setMinimumContentsLength(10)
        self.shuffle = QCheckBox(_("shuffle each epoch"))
        self.speed = QComboBox()
        self.speed.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # in any language
        for text, ms in SPEEDS:
            self.speed.addItem(_(text), ms)

        # One setting a row: the dock fits beside the window's area on a 1024-pixel screen.
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        for row, (label, field) in enumerate(
            (
                (_("Learning rate"), self.learning_rate),
                (_("Momentum"), self.momentum),
                (_("Epochs"), self.epochs),
                (_("Batch size"), self.batch_size),
                (_("Dataset"), self.dataset),
            )
        ):
            grid.addWidget(QLabel(label), row, 0)
            grid.addWidget(field, row, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        pace = FlowRow(stretch_after=0)  # the speed under the checkbox when the dock is narrow
        pace.addWidget(self.shuffle)
        pace.addWidget(self.speed)

        self.start_button = _TightButton(_("Start"))
        self.pause_button = _TightButton(_("Pause"))
        self.start_button.setToolTip(_("a new run from the model's own parameters (Resume when paused)"))
        self.pause_button.setToolTip(_("pause after the current iteration"))
        self.step_button = _TightButton(_("Step"))
        self.step_button.setToolTip(_("run one SGD iteration"))
        self.stop_button = _TightButton(_("Stop"))
        self.stop_button.setToolTip(_("end the run; its history stays"))
        self.reset_button = _TightButton(_("Reset"))
        self.reset_button.setToolTip(_("forget the history and go back to the model's own parameters"))
        self.apply_button = QPushButton(_("Apply trained weights"))
        self.apply_button.setObjectName("applyTrained")
        self.apply_button.setToolTip(
            _("make the trained parameters the model's own (the run trained a copy; Edit ▸ Undo undoes it)")
        )
        buttons = FlowRow()  # in more rows when the dock is narrower than the buttons side by side
        for button in (
            self.start_button,
            self.pause_button,
            self.step_button,
            self.stop_button,
            self.reset_button,
        ):
            buttons.addWidget(button)

        self.status = _StatusLabel("")
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(self.status.fontMetrics().lineSpacing() * 4)
        self.status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.loss_plot = pg.PlotWidget(background="#ffffff")
        self._set_left_label(self.loss_plot, _("loss"))
        self.loss_plot.setLabel("bottom", _("iteration"))
        self.loss_plot.showGrid(x=True, y=True, alpha=0.25)
        self.loss_plot.setMinimumHeight(150)
        self.loss_plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.iteration_curve = self.loss_plot.plot([], [], pen=LOSS_PEN, name=_("batch loss"))
        for curve in (self.iteration_curve,):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        self.epoch_curve = self.loss_plot.plot(
            [], [], pen=EPOCH_PEN, symbol="o", symbolSize=5, symbolBrush="#1d4ed8", name=_("epoch loss")
        )
        self.loss_plot.getPlotItem().getViewBox().setLimits(xMin=0)
        self.loss_plot.getPlotItem().getViewBox().sigRangeChangedManually.connect(
            self._on_plot_range_changed_manually
        )
        self._follow_ranges()
        self.selected_line = pg.InfiniteLine(angle=90, movable=True, pen=SELECTED_PEN)
        self.selected_line.setVisible(False)
        self.loss_plot.addItem(self.selected_line)
        self.log_scale = QCheckBox(_("log scale"))

        self.accuracy_plot = pg.PlotWidget(background="#ffffff")
        self._set_left_label(self.accuracy_plot, _("accuracy"))
        self.accuracy_plot.setLabel("bottom", _("iteration"))
        self.accuracy_plot.setYRange(0, 1.02, padding=0)
        self.accuracy_plot.showGrid(x=True, y=True, alpha=0.25)
        self.accuracy_plot.setMinimumHeight(132)  # room for "Genauigkeit" along the axis
        self.accuracy_plot.setMaximumHeight(160)
        self.accuracy_curve = self.accuracy_plot.plot(
            [], [], pen=ACCURACY_PEN, symbol="o", symbolSize=5, symbolBrush="#059669"
        )
        # Axes (with their grid) repaint with every new curve point; cached as pixmaps
        # they are redrawn only when their ticks change, which keeps redraws short.
        for plot in (self.loss_plot, self.accuracy_plot):
            for side in ("left", "bottom"):
                plot.getPlotItem().getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.accuracy_plot.setXLink(self.loss_plot)
        # pyqtgraph makes its plot menus without a parent: owned by Python, a garbage collection
        # would delete them (and their children) at any moment. The panel owns them instead.
        for plot in (self.loss_plot, self.accuracy_plot):
            item = plot.getPlotItem()
            for menu in (item.getViewBox().menu, item.ctrlMenu):
                if menu is not None and menu.parent() is None:
                    menu.setParent(self, menu.windowFlags())

        self.history = QSlider(Qt.Orientation.Horizontal)
        self.history.setRange(0, 0)
        self.history.setToolTip(_("scrub through the history: 0 is before training"))
        self.history_label = QLabel(_("iteration {k}").format(k=0))
        self.history_label.setMinimumWidth(110)
        scrub = QHBoxLayout()
        scrub.addWidget(QLabel(_("History")))
        scrub.addWidget(self.history, 1)
        scrub.addWidget(self.history_label)

        self.maps = KernelMaps()
        self.theme = theme.LIGHT  # View ▸ Theme
        self.maps.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        apply_row = FlowRow(stretch_after=0)  # the checkbox at the right, under the button when narrow
        apply_row.addWidget(self.apply_button)
        apply_row.addWidget(self.log_scale)

        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addLayout(pace)
        layout.addLayout(buttons)
        layout.addLayout(apply_row)
        layout.addWidget(self.status)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.accuracy_plot, 1)
        layout.addLayout(scrub)
        layout.addWidget(self.maps, 3)

        self.start_button.clicked.connect(self._on_start_clicked)
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.step_button.clicked.connect(self._on_step_clicked)
        self.stop_button.clicked.connect(self._on_stop_clicked)
        self.reset_button.clicked.connect(self.reset)
        self.apply_button.clicked.connect(self.apply_trained)
        self.history.valueChanged.connect(self._on_history_value_changed)
        self.selected_line.sigDragged.connect(self._on_selected_line_dragged)
        self.log_scale.toggled.connect(self._on_log_scale_toggled)
        self.speed.currentIndexChanged.connect(self._on_speed_changed)
        self.loss_plot.scene().sigMouseClicked.connect(self._on_loss_plot_clicked)

    def _set_left_label(self, plot: pg.PlotWidget, text: str) -> None:
        """Name ``plot``'s y axis: whole when it fits the axis' height, else cut, whole in its tooltip."""
        if plot not in self._left_labels:
            plot.getPlotItem().getAxis("left").geometryChanged.connect(
                functools.partial(self._fit_left_label, plot)
            )
        self._left_labels[plot] = text
        self._fit_left_label(plot)

    def _fit_left_label(self, plot: pg.PlotWidget) -> None:
        axis = plot.getPlotItem().getAxis("left")
        whole = self._left_labels[plot]
        # A vertical name is centred on the axis and may run into the plot's margins above and
        # below; pyqtgraph draws it with a space after it.
        centre = axis.mapToScene(0.0, axis.height() / 2).y()
        metrics = QFontMetrics(axis.label.font())
        room = int(2 * min(centre, plot.viewport().height() - centre)) - metrics.horizontalAdvance(" ") - 2
        shown = elide_words(whole, metrics, room) if room > 0 and axis.height() > 0 else whole
        if shown != axis.labelText:
            axis.setLabel(shown)
        axis.setToolTip(whole if shown != whole else "")

    # ------------------------------------------------------------ public API

    @property
    def state(self) -> str:
        """``idle``, ``running``, ``paused``, ``finished``, ``stopped``, ``diverged`` or ``failed``."""
        return self._state

    @property
    def records(self) -> list[Iteration]:
        """The history of the current (or last) run, oldest first (a copy)."""
        return list(self._records)

    def set_model(self, model: Model | None) -> None:
        """Train this model next (its parameters are the starting point).

        Any run is stopped and the history is cleared, except when ``model`` is the
        one this panel just emitted (so docking code can pass it back harmlessly).
        """
        if model is not None and model is self._emitted:
            return
        self._stop_run(emit=False)
        self._model = model
        self._trained = None
        self._clear_history()
        # The stopped run belonged to the previous model; its layers may differ.
        self._run_spec = None
        self._run_model = None
        self._selected = None
        self._message = ""
        self._load_settings(model)
        self.maps.set_model(model) if model is not None else self.maps.remove_maps()
        self._set_state("idle")
        self._redraw()

    def select_iteration(self, iteration: int) -> None:
        """Show iteration ``iteration`` (0 = before training) and emit sigIterationSelected."""
        if not 0 <= iteration <= len(self._records):
            raise ValueError(f"iteration {iteration} is not in the history 0..{len(self._records)}")
        self._selected = iteration
        self.history.blockSignals(True)
        self.history.setValue(iteration)
        self.history.blockSignals(False)
        self._redraw()
        self.sigIterationSelected.emit(self.model_at(iteration))

    def selected_record(self) -> Iteration | None:
        """The record of the shown iteration (None at 0, before training)."""
        k = self._shown_iteration()
        return self._records[k - 1] if k >= 1 else None

    def model_at(self, iteration: int) -> Model:
        """The model as iteration ``iteration`` ran it (see sigIterationSelected)."""
        assert self._model is not None
        base = self._run_model or self._model
        if iteration == 0:
            params = tuple(layer.parameters() for layer in base.layers)
            example = int(self._records[0].batch[0]) if self._records else 0
        else:
            record = self._records[iteration - 1]
            params, example = record.parameters_before, int(record.batch[0])
        model = base.with_parameters(params)
        if self._data is not None and model.loss is not None:
            inputs, targets = self._data
            target: Any = int(targets[example]) if model.loss.classifies else frozen_array(targets[example])
            model = dataclasses.replace(
                model, input=frozen_array(inputs[example]), target=target, upstream=None
            )
        if self._run_spec is not None:
            model = dataclasses.replace(model, training=self._run_spec)
        return model

    def training_spec(self) -> TrainingSpec:
        """The settings the controls describe."""
        choice = self._choices[self.dataset.currentIndex()] if self._choices else None
        base = self._model.training if self._model is not None and self._model.training else TrainingSpec()
        return dataclasses.replace(
            base,
            learning_rate=float(self.learning_rate.value()),
            momentum=float(self.momentum.value()),
            epochs=int(self.epochs.value()),
            batch_size=None if self.batch_size.value() == 0 else int(self.batch_size.value()),
            shuffle=self.shuffle.isChecked(),
            dataset=choice.dataset if choice is not None else None,
        )

    def start(self) -> None:
        """Start a new run (or resume a paused one)."""
        if self._worker is not None and (self._state == "paused" or self._pausing):
            self._pausing = False
            self._worker.resume()
            self._set_state("running")
            return
        self._begin(paused=False)

    def pause(self) -> None:
        """Pause the run after its current iteration (the state follows when the worker holds)."""
        if self._state == "running" and self._worker is not None:
            self._pausing = True
            self._worker.pause()

    def step(self) -> None:
        """Run one iteration (starting a paused run when none is active)."""
        if self._state == "running" and not self._pausing:
            return
        if self._state not in ("running", "paused"):
            self._begin(paused=True)
        if self._worker is not None:
            self._pausing = True
            self._worker.step()

    def stop(self) -> None:
        """End the run; its history stays and the trained model is emitted."""
        self._stop_run(emit=True)

    def trained_model(self) -> Model | None:
        """The last run's trained model while it is not applied (None otherwise)."""
        return self._trained

    def apply_trained(self) -> None:
        """Ask for the last run's trained parameters to become the model's (sigApplyRequested)."""
        model = self._trained
        if model is None:
            return
        self._trained = None
        self._message = ""
        self._update_controls()
        self.sigApplyRequested.emit(model)
        self._redraw()

    def reset(self) -> None:
        """Stop, forget the history and return to the model's own parameters."""
        self._trained = None
        self._stop_run(emit=False)
        self._clear_history()
        self._run_spec = None
        self._run_model = None
        self._selected = None
        self._message = ""
        if self._model is not None:
            self.maps.set_model(self._model)
        self._set_state("idle")
        self._redraw()

    @property
    def has_untaken_weights(self) -> bool:
        """Whether a run is under way (running or paused) with trained weights nobody has yet."""
        return self._state in ("running", "paused") and bool(self._records)

    def set_theme(self, chosen: theme.Theme) -> None:
        """Draw the plots and the maps in the theme's colours (View ▸ Theme): background, axes, text."""
        self.theme = chosen
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setBackground(chosen.panel_background)
            item = plot.getPlotItem()
            for side in ("left", "bottom"):
                axis = item.getAxis(side)
                axis.setPen(chosen.muted)
                axis.setTextPen(chosen.text)
        legend = self.loss_plot.getPlotItem().legend
        if legend is not None:
            legend.setLabelTextColor(chosen.text)
            for _sample, label in legend.items:
                label.setText(label.text, color=chosen.text)
        accent = pg.mkPen(chosen.accent, width=2)
        self.epoch_curve.setPen(accent)
        self.epoch_curve.setSymbolBrush(chosen.accent)
        self.epoch_curve.setSymbolPen(accent)
        self.maps.set_theme(chosen)
        self._redraw()

    def retranslate(self) -> None:
        """Rewrite the texts made of words and numbers (plot axes, controls, status) after a switch."""
        if self._model is not None and self._model.loss is None:
            self._message = _no_loss_text()  # a model without a loss cannot train: no other message
        if self._model is not None:
            for index, choice in enumerate(dataset_choices(self._model)[: self.dataset.count()]):
                self.dataset.setItemText(index, choice.text)
        self._set_left_label(self.loss_plot, _("log10 loss") if self.log_scale.isChecked() else _("loss"))
        self.loss_plot.setLabel("bottom", _("iteration"))
        self._set_left_label(self.accuracy_plot, _("accuracy"))
        self.accuracy_plot.setLabel("bottom", _("iteration"))
        legend = self.loss_plot.getPlotItem().legend
        for curve, name in ((self.iteration_curve, _("batch loss")), (self.epoch_curve, _("epoch loss"))):
            curve.opts["name"] = name
            label = legend.getLabel(curve) if legend is not None else None
            if label is not None:
                label.setText(name)
        self.maps.retranslate()
        self._update_controls()
        self._redraw()

    def shutdown(self) -> None:
        """Stop the run and join every worker thread (on close and when the application quits).

        Waits until the threads have ended: a QThread destroyed while running aborts the process.
        """
        self._stop_run(emit=False)
        workers, self._workers, self._worker = self._workers, [], None
        for worker in workers:
            worker.stop()

    def closeEvent(self, event: QCloseEvent | None) -> None:
        """Stop training before the panel goes away."""
        self.shutdown()
        super().closeEvent(event)

    # ------------------------------------------------------------ run control

    def _begin(self, paused: bool) -> None:
        if self._model is None or self._model.loss is None:
            return
        self._clear_history()
        self._trained = None
        self._selected = None
        self._message = ""
        self._run_spec = self.training_spec()
        self._run_model = self._model
        self.maps.set_model(self._model)
        self._set_state("paused" if paused else "running")
        self._pausing = False
        self._cancel_worker()
        work = functools.partial(training_run, self._model, self._run_spec)  # made on the worker's thread
        worker = owned(Worker(work, name="visualconv-training", paused=paused), self)
        worker.set_interval(self._interval_seconds())
        worker.sigYielded.connect(self._on_worker_yielded)
        worker.sigPaused.connect(self._on_worker_paused)
        worker.sigReturned.connect(self._on_worker_returned)
        worker.sigErrored.connect(self._on_worker_errored)
        worker.sigFinished.connect(self._on_worker_finished)
        self._worker = worker
        self._workers.append(worker)
        worker.start()
        self._redraw()

    def _interval_seconds(self) -> float:
        return int(self.speed.currentData() or 0) / 1000.0

    def _cancel_worker(self) -> None:
        """Let the current worker go: cancelled, it ends at its next item; its late signals are dropped."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()

    def _clear_history(self) -> None:
        self._follow_ranges()
        self._records = []
        self._series = {"loss": [], "ex": [], "ey": [], "acc": []}  # curve data, appended as records come
        self._data = None

    def _stop_run(self, emit: bool) -> None:
        if self._state in ("running", "paused"):
            self._cancel_worker()
            self._pausing = False
            self._set_state("stopped")
            if emit:
                self._emit_trained()

    def _emit_trained(self, model: Model | None = None) -> None:
        if model is None:
            if not self._records or self._run_model is None:
                return
            model = self._run_model.with_parameters(self._records[-1].parameters)
        if self._run_spec is not None:
            model = dataclasses.replace(model, training=self._run_spec)
        self._emitted = model
        self._trained = model
        self._update_controls()
        self.sigModelTrained.emit(model)

    # ------------------------------------------------------------ worker signals

    def _current(self) -> bool:
        """Whether the signal being handled comes from the current run's worker."""
        return self._worker is not None and self.sender() is self._worker

    @pyqtSlot(object)
    def _on_worker_yielded(self, items: list[Any]) -> None:
        if not self._current() or self._state not in ("running", "paused"):
            return  # records of a run the user already stopped
        batch: list[Iteration] = []
        for item in items:
            if isinstance(item, RunStarted):
                self._data = item.data
                self._total = item.total
                if item.first is not None:
                    batch.append(item.first)
            else:
                batch.append(item)
        if batch:
            self._add_records(batch)
        if self._total and len(self._records) >= self._total:
            self._finish()  # the last iteration: finished now, not when a paused worker is pulled again
        self._schedule_redraw()

    def _add_records(self, batch: list[Iteration]) -> None:
        self._records.extend(batch)
        for r in batch:
            self._series["loss"].append(r.loss)
            if r.epoch_loss is not None:
                self._series["ex"].append(float(r.iteration))
                self._series["ey"].append(r.epoch_loss)
                self._series["acc"].append(np.nan if r.epoch_accuracy is None else r.epoch_accuracy)
        self.sigRecordsAdded.emit(len(self._records))

    @pyqtSlot(bool)
    def _on_worker_paused(self, held: bool) -> None:
        if not self._current() or not held or not self._pausing:
            return  # a resume sets the state itself; a hold nobody waits for any more is stale
        self._pausing = False
        if self._state == "running":
            self._set_state("paused")

    def _finish(self) -> None:
        if self._state not in ("running", "paused"):
            return
        self._cancel_worker()
        self._pausing = False
        self._set_state("finished")
        self._emit_trained()
        self._redraw()

    @pyqtSlot(object)
    def _on_worker_returned(self, value: object) -> None:
        if self._current():
            self._finish()

    @pyqtSlot(object)
    def _on_worker_errored(self, exc: object) -> None:
        if not self._current() or self._state not in ("running", "paused"):
            return
        self._worker = None
        self._pausing = False
        if isinstance(exc, TrainingDiverged):
            self._message = localized(exc.message)
            self._set_state("diverged")
            if self._records:
                self._emit_trained(exc.model)
        elif isinstance(exc, ModelError):
            self._message = exc.localized()
            self._set_state("failed")
        else:
            self._set_state("failed")
            self._redraw()
            if isinstance(exc, BaseException):
                raise exc  # a fault: the window's exception hook shows it
        self._redraw()

    @pyqtSlot()
    def _on_worker_finished(self) -> None:
        """A worker's last signal: it is no longer this panel's."""
        worker = self.sender()
        if isinstance(worker, Worker) and worker in self._workers:
            self._workers.remove(worker)  # the keeper joins and deletes it
            if worker is self._worker:
                self._worker = None

    # ------------------------------------------------------------ user actions

    def _on_start_clicked(self) -> None:
        self.start()

    def _on_pause_clicked(self) -> None:
        self.pause()

    def _on_step_clicked(self) -> None:
        self.step()

    def _on_stop_clicked(self) -> None:
        self.stop()

    def _on_history_value_changed(self, value: int) -> None:
        self.select_iteration(value)

    def _on_selected_line_dragged(self, line: pg.InfiniteLine) -> None:
        if self._records:
            k = round(min(max(line.value(), 0), len(self._records)))
            if k != self._shown_iteration():
                self.select_iteration(k)

    def _on_loss_plot_clicked(self, event: Any) -> None:
        if not self._records or event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.loss_plot.getPlotItem().vb.mapSceneToView(event.scenePos())
        self.select_iteration(round(min(max(point.x(), 0), len(self._records))))

    def _on_log_scale_toggled(self, checked: bool) -> None:
        self._set_left_label(self.loss_plot, _("log10 loss") if checked else _("loss"))
        self._follow_ranges()
        self._redraw()

    def _follow_ranges(self) -> None:
        """Let the plots fit the curves again (after a reset, a new model or a scale change)."""
        self._following = True
        self._ranges: tuple[float, float, float, float] | None = None

    def _on_plot_range_changed_manually(self, *args: object) -> None:
        self._following = False  # the user zoomed or panned: leave the view alone

    def _fit_ranges(self, n: int, values: np.ndarray) -> None:
        """Fit the loss and accuracy plots in coarse steps, so their axes rarely change.

        While a run adds points, x grows in powers of two and y in 1, 1.2, 1.5, 2...
        steps (whole decades on a log scale): axes repaint only when their ticks change,
        which keeps redraws short. A run that is not running fits x exactly.
        """
        if not self._following:
            return
        if self._state == "running":
            x_max = float(max(8, 1 << max(n - 1, 1).bit_length()))
        else:
            x_max = float(max(n, 1))  # a finished or paused run fills the plot
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            y_lo, y_hi = 0.0, 1.0
        elif self.log_scale.isChecked():
            y_lo, y_hi = math.floor(float(finite.min())), math.ceil(float(finite.max()))
            y_hi = max(y_hi, y_lo + 1)
        else:
            top, bottom = float(finite.max()), float(finite.min())
            y_hi = theme.nice_level(top) if top > 0 else 0.0
            y_lo = -theme.nice_level(-bottom) if bottom < 0 else 0.0
            y_hi = max(y_hi, y_lo + 1e-12)
        ranges = (0.0, x_max, float(y_lo), float(y_hi))
        if ranges != self._ranges:
            self._ranges = ranges
            # The accuracy plot follows through its x link. Setting its range too would come back
            # through the link aligned by pixels (its axis is narrower) and cut the loss plot's range.
            self.loss_plot.setRange(xRange=(0, x_max), yRange=(y_lo, y_hi), padding=0.02)

    def _on_speed_changed(self, index: int) -> None:
        if self._worker is not None:
            self._worker.set_interval(int(self.speed.itemData(index) or 0) / 1000.0)

    # ------------------------------------------------------------ drawing

    def _set_state(self, state: str) -> None:
        if state != self._state:
            leaving_run = self._state == "running"
            self._state = state
            self.sigStateChanged.emit(state)
            if leaving_run:
                self._redraw_timer.start()  # refit the plots to the run's length
        self._update_controls()

    def _update_controls(self) -> None:
        trainable = self._model is not None and self._model.loss is not None
        active = self._state in ("running", "paused")
        for widget in (
            self.learning_rate,
            self.momentum,
            self.epochs,
            self.batch_size,
            self.dataset,
            self.shuffle,
        ):
            widget.setEnabled(trainable and not active)
        choice_ok = bool(self._choices) and self._choices[self.dataset.currentIndex()].problem is None
        self.start_button.setEnabled(trainable and choice_ok and self._state != "running")
        self.start_button.setText(_("Resume") if self._state == "paused" else _("Start"))
        self.pause_button.setEnabled(self._state == "running")
        self.step_button.setEnabled(trainable and choice_ok and self._state != "running")
        self.stop_button.setEnabled(active)
        self.reset_button.setEnabled(self._model is not None)
        self.apply_button.setEnabled(self._trained is not None and not active)

    def _load_settings(self, model: Model | None) -> None:
        spec = model.training if model is not None and model.training is not None else TrainingSpec()
        self.learning_rate.setValue(spec.learning_rate)
        self.momentum.setValue(spec.momentum)
        self.epochs.setValue(spec.epochs)
        self.batch_size.setValue(0 if spec.batch_size is None else spec.batch_size)
        self.shuffle.setChecked(spec.shuffle)
        self._choices = dataset_choices(model) if model is not None else []
        self.dataset.blockSignals(True)
        self.dataset.clear()
        item_model = self.dataset.model()
        assert isinstance(item_model, QStandardItemModel)
        for index, choice in enumerate(self._choices):
            self.dataset.addItem(choice.text)
            item = item_model.item(index)
            if choice.problem is not None and item is not None:
                item.setEnabled(False)
                item.setToolTip(choice.problem)
        self.dataset.blockSignals(False)
        if model is not None and model.loss is None:
            self._message = _no_loss_text()
        self._update_controls()

    def _schedule_redraw(self) -> None:
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _shown_iteration(self) -> int:
        n = len(self._records)
        return n if self._selected is None else min(self._selected, n)

    def _redraw(self) -> None:
        clock = InputClock.instance()
        if self._state == "running" and clock is not None and clock.busy():
            self._redraw_timer.start()  # the user is busy with the window: redraw a little later
            return
        self._redraw_timer.stop()
        records = self._records
        n = len(records)
        x = np.arange(1, n + 1, dtype=np.float64)
        losses = np.asarray(self._series["loss"], dtype=np.float64)
        ex = np.asarray(self._series["ex"], dtype=np.float64)
        ey = np.asarray(self._series["ey"], dtype=np.float64)
        if self.log_scale.isChecked():
            losses = np.log10(np.maximum(losses, 1e-300))
            ey = np.log10(np.maximum(ey, 1e-300))
        self.iteration_curve.setData(x, losses)
        self._fit_ranges(n, losses)
        self.epoch_curve.setData(ex, ey, symbol="o" if len(ex) <= MAX_MARKERS else None)
        classify = self._model is not None and self._model.loss is not None and self._model.loss.classifies
        if classify != self.accuracy_plot.isVisibleTo(self):
            # Linked only while shown: a hidden plot's width would scale the loss plot's x range.
            self.accuracy_plot.setXLink(self.loss_plot if classify else None)
            self._ranges = None  # refit
            self._fit_ranges(n, losses)
        self.accuracy_plot.setVisible(classify)
        if classify:
            self.accuracy_curve.setData(
                ex,
                np.asarray(self._series["acc"], dtype=np.float64),
                symbol="o" if len(ex) <= MAX_MARKERS else None,
            )

        following = self._selected is None
        self.history.blockSignals(True)
        self.history.setRange(0, n)
        self.history.setValue(n if following else min(self._selected or 0, n))
        self.history.blockSignals(False)
        k = self._shown_iteration()
        self.history_label.setText(
            _("iteration {k} of {n}").format(k=k, n=n) if n else _("iteration {k}").format(k=k)
        )
        self.selected_line.setVisible(n > 0)
        self.selected_line.blockSignals(True)
        self.selected_line.setValue(k)
        self.selected_line.blockSignals(False)

        if self._model is not None:
            if k == 0:
                base = self._run_model or self._model
                self.maps.show_parameters(tuple(layer.parameters() for layer in base.layers), None, 0)
            else:
                record = records[k - 1]
                self.maps.show_parameters(record.parameters, record.gradients, k)
        self.status.setText(self._status_text(k))

    def _status_text(self, k: int) -> str:
        if self._model is None:
            return _("No model.")
        words = {
            "idle": _("Ready."),
            "running": _("Training..."),
            "paused": _("Paused."),
            "finished": _("Finished."),
            "stopped": _("Stopped."),
            "diverged": _("Diverged."),
            "failed": _("Cannot train."),
        }
        parts = [words[self._state]]
        if self._records:
            parts.append(
                _("{done} of {total} iterations.").format(done=len(self._records), total=self._total)
                if self._total
                else _("{done} iterations.").format(done=len(self._records))
            )
        if k >= 1:
            r = self._records[k - 1]
            text = _("Iteration {iteration} (epoch {epoch}, batch {batch}): batch loss {loss}").format(
                iteration=r.iteration, epoch=r.epoch, batch=r.batch_index, loss=DEFAULT.value(r.loss)
            )
            if r.accuracy is not None:
                text += ", " + _("accuracy {accuracy}").format(accuracy=f"{r.accuracy:.0%}")
            if r.epoch_loss is not None:
                text += "; " + _("epoch loss {loss}").format(loss=DEFAULT.value(r.epoch_loss))
                if r.epoch_accuracy is not None:
                    text += ", " + _("epoch accuracy {accuracy}").format(accuracy=f"{r.epoch_accuracy:.1%}")
            update = "v = g" if r.momentum == 0 else f"v = {r.momentum:g}·v + g"
            parts.append(
                text
                + ". "
                + _("Update: {update}, W ← W − {rate}·v.").format(update=update, rate=f"{r.learning_rate:g}")
            )
        elif self._state == "idle" and not self._message:
            parts.append(_("Start trains a copy of the model; the history keeps every iteration."))
        if self._message:
            colour = (
                "#b91c1c"
                if self._state in ("diverged", "failed") or self._model.loss is None
                else self.theme.text
            )
            return f"{' '.join(parts)}<br><span style='color:{colour}'>{self._message}</span>"
        return " ".join(parts)

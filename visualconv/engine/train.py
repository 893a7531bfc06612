"""Built-in SGD training: a generator of iteration records.

The window, the command line and the tests consume the same records::

    for record in iterate(model):          # one Iteration per SGD step
        print(record.iteration, record.loss)

One step, exactly as the model format describes it (and as ``torch.optim.SGD`` with
``dampening=0``, ``nesterov=False`` and no weight decay computes it): the batch loss
is the mean over the batch's examples of each example's loss; g is its gradient; with
momentum m > 0 the velocity is v = m*v + g (the first v is g), else v = g; every
weight and bias p becomes p - learning_rate * v. Layers whose ``bias`` is null have
no bias term, so nothing is trained there.

An epoch is one pass over the dataset in batches of ``batch_size`` (the last batch
may be smaller; ``None`` means the whole dataset). With ``shuffle`` the order is
``numpy.random.default_rng(seed).permutation(N)``, drawn anew at the start of each
epoch from one generator created when the run starts.

A loss, gradient or parameter that becomes NaN or infinite stops the run with
:class:`TrainingDiverged`, which names the iteration, suggests a smaller learning
rate and carries the model with the last finite parameters.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import datasets
from .errors import ModelError
from .kinds.base import Layer, frozen_array
from .model import LossSpec, Model, TrainingSpec, backward, batch_loss, forward
from .windows import FloatArray

Parameters = tuple[dict[str, FloatArray], ...]
"""One dict per layer (empty for pool and flatten): ``weight`` and, when present, ``bias``."""


@dataclass(frozen=True, slots=True)
class Iteration:
    """One SGD step.

    Attributes
    ----------
    epoch : int
        1-based.
    iteration : int
        1-based, counted over the whole run.
    batch_index : int
        1-based position of this batch within its epoch.
    batch : ndarray of shape (B,), int
        Indices of the batch's examples in the dataset.
    loss : float
        The batch loss (mean of the examples' losses), computed before the update.
    accuracy : float or None
        Fraction of the batch classified right before the update (cross-entropy only).
    parameters_before : tuple of dict
        The parameters the batch was run with (the previous record's ``parameters``).
    gradients : tuple of dict
        d(batch loss)/d(parameter), same keys and shapes as ``parameters``.
    parameters : tuple of dict
        The parameters after the update (read-only arrays).
    learning_rate, momentum : float
    epoch_loss : float or None
        At the last iteration of an epoch: the mean of that epoch's batch losses.
    epoch_accuracy : float or None
        At the last iteration of an epoch (cross-entropy only): the fraction of the
        epoch's examples classified right, each before its batch's update.
    """

    epoch: int
    iteration: int
    batch_index: int
    batch: NDArray[np.int64] = field(repr=False)
    loss: float
    accuracy: float | None
    parameters_before: Parameters = field(repr=False)
    gradients: Parameters = field(repr=False)
    parameters: Parameters = field(repr=False)
    learning_rate: float
    momentum: float
    epoch_loss: float | None = None
    epoch_accuracy: float | None = None

    @property
    def epoch_end(self) -> bool:
        """Whether this is the last iteration of its epoch."""
        return self.epoch_loss is not None


@dataclass(frozen=True, slots=True)
class TrainResult:
    """A finished run.

    Attributes
    ----------
    history : tuple of Iteration
    model : Model
        The model with the trained parameters.
    """

    history: tuple[Iteration, ...] = field(repr=False)
    model: Model

    @property
    def epoch_losses(self) -> list[float]:
        """Each epoch's mean batch loss, in order."""
        return [r.epoch_loss for r in self.history if r.epoch_loss is not None]


class TrainingDiverged(ModelError):
    """The loss, a gradient or a parameter became NaN or infinite.

    Attributes
    ----------
    iteration, epoch : int
        Where it happened (1-based).
    model : Model
        The model with the last finite parameters (those before that iteration).
    """

    def __init__(self, message: str, iteration: int, epoch: int, model: Model) -> None:
        super().__init__(message, "training.learning_rate")
        self.iteration = iteration
        self.epoch = epoch
        self.model = model

    def in_file(self, file: str) -> TrainingDiverged:
        """Return the same error attributed to ``file``."""
        error = TrainingDiverged(self.message, self.iteration, self.epoch, self.model)
        error.file = file
        return error

    def __reduce__(self) -> Any:
        return (TrainingDiverged, (self.message, self.iteration, self.epoch, self.model))


def training_spec(
    model: Model, training: TrainingSpec | None = None, epochs: int | None = None
) -> TrainingSpec:
    """The training settings to run: ``training`` or the model's, with ``epochs`` overriding.

    Raises
    ------
    ModelError
        When there is no training section, no loss, or a setting is out of range.
    """
    spec = training if training is not None else model.training
    if spec is None:
        raise ModelError("the model has no 'training' section; add one to train it", "training")
    if model.loss is None:
        raise ModelError("training needs a 'target' and 'loss' in the model to know what to minimise", "loss")
    if epochs is not None:
        spec = dataclasses.replace(spec, epochs=epochs)
    if spec.optimizer != "sgd":
        raise ModelError(f'expected "sgd", got {spec.optimizer!r}', "training.optimizer")
    if not (math.isfinite(spec.learning_rate) and spec.learning_rate > 0):
        raise ModelError(f"expected a number > 0, got {spec.learning_rate}", "training.learning_rate")
    if not 0 <= spec.momentum < 1:
        raise ModelError(
            f"expected a number from 0 up to (not including) 1, got {spec.momentum}", "training.momentum"
        )
    if spec.epochs < 1:
        raise ModelError(f"expected at least 1 epoch, got {spec.epochs}", "training.epochs")
    if spec.batch_size is not None and spec.batch_size < 1:
        raise ModelError(
            f'expected a positive integer or "full", got {spec.batch_size}', "training.batch_size"
        )
    return spec


def iterate(
    model: Model,
    epochs: int | None = None,
    *,
    training: TrainingSpec | None = None,
    data: tuple[FloatArray, NDArray[Any]] | None = None,
) -> Iterator[Iteration]:
    """Run SGD on the model's training dataset, one record per iteration.

    Settings and dataset are checked and the dataset is built before this returns,
    so errors surface at the call, not at the first ``next``.

    Parameters
    ----------
    model : Model
        Its parameters are the starting point; it needs ``loss``.
    epochs : int, optional
        Overrides the number of epochs.
    training : TrainingSpec, optional
        Settings to use instead of ``model.training``.
    data : (inputs, targets), optional
        An already built dataset: inputs of shape (N, C, ...) and targets of shape
        (N, *output_shape) for mse or (N,) class indices for cross-entropy.
        Default: ``datasets.materialise(training.dataset, model)``.

    Returns
    -------
    iterator of Iteration

    Raises
    ------
    ModelError
        For missing or bad settings or dataset (raised by the call).
    TrainingDiverged
        Raised by the iterator when the run diverges.
    """
    spec = training_spec(model, training, epochs)
    assert model.loss is not None
    inputs, targets = data if data is not None else datasets.materialise(spec.dataset, model)
    inputs = np.asarray(inputs, dtype=np.float64)
    if len(inputs) == 0 or len(inputs) != len(targets):
        raise ModelError(
            f"expected as many targets as inputs, got {len(targets)} and {len(inputs)}", "training.dataset"
        )
    return _run(model, spec, model.loss, inputs, targets)


def train(
    model: Model,
    epochs: int | None = None,
    *,
    training: TrainingSpec | None = None,
    data: tuple[FloatArray, NDArray[Any]] | None = None,
) -> TrainResult:
    """Run the whole training and return its history and the trained model.

    Parameters are those of :func:`iterate`.

    Raises
    ------
    ModelError
        For bad settings or dataset.
    TrainingDiverged
        When the run diverges (its ``model`` holds the last finite parameters).
    """
    history = list(iterate(model, epochs, training=training, data=data))
    return TrainResult(tuple(history), model.with_parameters(history[-1].parameters))


def with_parameters(model: Model, parameters: Sequence[dict[str, FloatArray]]) -> Model:
    """``model`` with the given parameters (e.g. a record's ``parameters_before``)."""
    return model.with_parameters(parameters)


def _finite(arrays: Parameters) -> bool:
    """Whether every value is finite: one sum per array, an exact check only if a sum is not."""
    with np.errstate(over="ignore", invalid="ignore"):
        for params in arrays:
            for a in params.values():
                if not math.isfinite(float(np.add.reduce(a, axis=None))) and not np.isfinite(a).all():
                    return False  # a finite array can still sum to inf: hence the exact check
    return True


def _frozen(params: dict[str, FloatArray]) -> dict[str, FloatArray]:
    return {k: frozen_array(v) for k, v in params.items()}


def _diverged(
    what: str, iteration: int, epoch: int, spec: TrainingSpec, model: Model, last: Parameters
) -> TrainingDiverged:
    kept = "the starting parameters" if iteration == 1 else f"the parameters after iteration {iteration - 1}"
    message = (
        f"training diverged at iteration {iteration} (epoch {epoch}): {what} became NaN or infinite; "
        f"try a smaller learning rate than {spec.learning_rate:g}. The last finite parameters "
        f"({kept}) are kept"
    )
    return TrainingDiverged(message, iteration, epoch, model.with_parameters(last))


def _gradients(
    layers: tuple[Layer, ...], x: FloatArray, targets: NDArray[Any], loss: LossSpec
) -> tuple[float, FloatArray, Parameters]:
    """Batch loss, last output (N, ...) and the gradients of every parameter."""
    records = forward(layers, x)
    output = records[-1].output
    value, grad_last = batch_loss(output, targets, loss)
    grads = backward(layers, records, grad_last)
    per_layer: list[dict[str, FloatArray]] = []
    for layer, g in zip(layers, grads, strict=True):
        names = layer.parameters()
        entry: dict[str, FloatArray] = {}
        if "weight" in names and g.grad_weight is not None:
            entry["weight"] = frozen_array(g.grad_weight)
        if "bias" in names and g.grad_bias is not None:
            entry["bias"] = frozen_array(g.grad_bias)
        per_layer.append(entry)
    return value, output, tuple(per_layer)


def _run(
    model: Model, spec: TrainingSpec, loss: LossSpec, inputs: FloatArray, targets: NDArray[Any]
) -> Iterator[Iteration]:
    n = len(inputs)
    size = n if spec.batch_size is None else min(spec.batch_size, n)
    rng = np.random.default_rng(spec.seed)
    lr, momentum = spec.learning_rate, spec.momentum
    classify = loss.classifies
    layers = model.layers
    params: Parameters = tuple(_frozen(layer.parameters()) for layer in layers)
    velocity: list[dict[str, FloatArray]] | None = None
    iteration = 0
    for epoch in range(1, spec.epochs + 1):
        order = rng.permutation(n) if spec.shuffle else np.arange(n)
        batch_losses: list[float] = []
        correct = 0
        for batch_index, start in enumerate(range(0, n, size), start=1):
            iteration += 1
            batch = order[start : start + size]
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                value, output, grads = _gradients(layers, inputs[batch], targets[batch], loss)
                if not math.isfinite(value):
                    raise _diverged("the loss", iteration, epoch, spec, model, params)
                if momentum > 0:
                    if velocity is None:
                        velocity = [{k: g.copy() for k, g in layer_grads.items()} for layer_grads in grads]
                    else:
                        velocity = [
                            {k: momentum * v[k] + g for k, g in layer_grads.items()}
                            for v, layer_grads in zip(velocity, grads, strict=True)
                        ]
                    steps: Sequence[dict[str, FloatArray]] = velocity
                else:
                    steps = grads
                new_params = tuple(
                    _frozen({k: p[k] - lr * s[k] for k in p}) for p, s in zip(params, steps, strict=True)
                )
                # A non-finite gradient makes a non-finite parameter: one check covers both.
                if not _finite(new_params):
                    what = "a parameter" if _finite(grads) else "a gradient"
                    raise _diverged(what, iteration, epoch, spec, model, params)
            accuracy = None
            if classify:
                hits = int(np.sum(np.argmax(output.reshape(len(batch), -1), axis=1) == targets[batch]))
                correct += hits
                accuracy = hits / len(batch)
            batch_losses.append(value)
            last = start + size >= n
            record = Iteration(
                epoch=epoch,
                iteration=iteration,
                batch_index=batch_index,
                batch=batch.astype(np.int64),
                loss=value,
                accuracy=accuracy,
                parameters_before=params,
                gradients=grads,
                parameters=new_params,
                learning_rate=lr,
                momentum=momentum,
                epoch_loss=float(np.mean(batch_losses)) if last else None,
                epoch_accuracy=correct / n if last and classify else None,
            )
            params = new_params
            layers = tuple(
                layer.with_parameters(**p) if p else layer for layer, p in zip(layers, params, strict=True)
            )
            yield record

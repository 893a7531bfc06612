"""A model: one worked example pushed through a stack of layers.

:func:`forward` and :func:`backward` run the whole stack on a batch and return
per-layer records; :func:`gradients` gives the single-example result the command
line prints (``grad --json``) and the window shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .datasets import Dataset
from .errors import Message, ModelError
from .kinds.base import Layer, LayerGrads, Shape, frozen_array, walk_shapes
from .kinds.loss import NO_BACKWARD, LossSpec, batch_loss, has_backward, start_backward
from .windows import FloatArray

__all__ = [
    "LayerRecord",
    "LossSpec",
    "Model",
    "Pass",
    "TrainingSpec",
    "backward",
    "batch_loss",
    "forward",
    "gradients",
    "make_model",
    "run",
]


@dataclass(frozen=True, slots=True)
class TrainingSpec:
    """The ``training`` section of a model file (see the format documentation).

    Attributes
    ----------
    learning_rate, momentum : float
    epochs : int
    batch_size : int or None
        None means the full dataset in one batch.
    shuffle : bool
    seed : int
    dataset : Dataset or None
        The dataset, checked against the model once (:func:`.datasets.validate`);
        its ``written`` is the section as written in the file.
    optimizer : str
    """

    learning_rate: float = 0.03
    momentum: float = 0.0
    epochs: int = 10
    batch_size: int | None = None
    shuffle: bool = False
    seed: int = 0
    dataset: Dataset | None = field(default=None, repr=False)
    optimizer: str = "sgd"


@dataclass(frozen=True, slots=True)
class Model:
    """One worked example: an input, a layer stack and what starts the backward pass.

    Attributes
    ----------
    name : str
    dims : {1, 2}
    input : ndarray of shape (C, L) or (C, H, W)
    layers : tuple of layers
    description : str
    upstream : ndarray of the last output's shape, or None
        dL/d(output of the last layer).
    target : ndarray of the last output's shape, int (class index), or None
    loss : LossSpec or None
    training : TrainingSpec or None
    """

    name: str
    dims: int
    input: FloatArray = field(repr=False)
    layers: tuple[Layer, ...]
    description: str = ""
    upstream: FloatArray | None = field(default=None, repr=False)
    target: FloatArray | int | None = field(default=None, repr=False)
    loss: LossSpec | None = None
    training: TrainingSpec | None = None

    def shapes(self) -> list[Shape]:
        """Shapes of the input and of every layer's output (no batch axis).

        Raises
        ------
        ModelError
            With the place of the first layer that does not fit its input.
        """
        return walk_shapes(tuple(self.input.shape), self.layers)

    @property
    def has_backward(self) -> bool:
        """Whether a backward pass can start (upstream or target and loss given)."""
        return has_backward(self.upstream, self.target, self.loss)

    def with_layer(self, index: int, layer: Layer) -> Model:
        """A copy with layer ``index`` replaced."""
        layers = list(self.layers)
        layers[index] = layer
        return dataclasses.replace(self, layers=tuple(layers))

    def with_parameters(self, parameters: Sequence[dict[str, FloatArray]]) -> Model:
        """A copy whose layers take the given parameter arrays (one dict per layer)."""
        layers = tuple(
            layer.with_parameters(**params) if params else layer
            for layer, params in zip(self.layers, parameters, strict=True)
        )
        return dataclasses.replace(self, layers=layers)

    def parameters(self) -> list[dict[str, FloatArray]]:
        """Every layer's trainable arrays, one dict per layer."""
        return [layer.parameters() for layer in self.layers]


@dataclass(frozen=True, slots=True)
class LayerRecord:
    """One layer's forward values for a batch.

    Attributes
    ----------
    input : ndarray of shape (N, ...)
    pre_activation : ndarray of shape (N, ...)
        Z; the same array as ``output`` for pool and flatten.
    output : ndarray of shape (N, ...)
        A = f(Z).
    """

    input: FloatArray = field(repr=False)
    pre_activation: FloatArray = field(repr=False)
    output: FloatArray = field(repr=False)


def forward(layers: Sequence[Layer], x: FloatArray) -> list[LayerRecord]:
    """Run a batch through the layers.

    Parameters
    ----------
    layers : sequence of layers
    x : ndarray of shape (N, ...) — the first layer's input

    Returns
    -------
    list of LayerRecord, one per layer
    """
    records = []
    for layer in layers:
        z, a = layer.forward(x)
        records.append(LayerRecord(x, z, a))
        x = a
    return records


def backward(
    layers: Sequence[Layer], records: Sequence[LayerRecord], grad_output: FloatArray
) -> list[LayerGrads]:
    """Backpropagate dL/d(last output) of shape (N, ...) through the layers.

    Returns
    -------
    list of LayerGrads, one per layer, in layer order
    """
    grads: list[LayerGrads] = []
    for layer, record in zip(reversed(layers), reversed(records), strict=True):
        g = layer.backward(grad_output, record.input, record.pre_activation, record.output)
        grads.append(g)
        grad_output = g.grad_input
    grads.reverse()
    return grads


@dataclass(frozen=True, slots=True)
class Pass:
    """Forward and backward values of the model's own example (batch of one).

    Attributes
    ----------
    records : list of LayerRecord
    grads : list of LayerGrads, or None when the model has no upstream or target
    loss : float or None
        None when the backward pass starts from ``upstream``.
    grad_last : ndarray or None
        dL/d(last output), shape (1, ...).
    """

    records: list[LayerRecord] = field(repr=False)
    grads: list[LayerGrads] | None = field(repr=False)
    loss: float | None
    grad_last: FloatArray | None = field(repr=False)


def run(model: Model) -> Pass:
    """Forward and (when possible) backward pass of the model's example."""
    model.shapes()  # raises a placed ModelError on a mismatch
    records = forward(model.layers, model.input[None])
    start = start_backward(model.upstream, model.target, model.loss, records[-1].output)
    if start is None:
        return Pass(records, None, None, None)
    loss_value, grad_last = start
    grads = backward(model.layers, records, grad_last)
    return Pass(records, grads, loss_value, grad_last)


def gradients(model: Model) -> dict[str, Any]:
    """Every layer's values and gradients, keyed as ``visualconv grad --json``.

    Raises
    ------
    ModelError
        When the model has neither ``upstream`` nor ``target`` with ``loss``.
    """
    result = run(model)
    if result.grads is None:
        raise ModelError(
            Message(
                "{sentence}, so there is no backward pass; add one of them to compute gradients",
                sentence=Message(NO_BACKWARD),
            )
        )
    layers_out = []
    for index, (layer, record, g) in enumerate(zip(model.layers, result.records, result.grads, strict=True)):
        grad_output = (
            result.grad_last if index == len(model.layers) - 1 else result.grads[index + 1].grad_input
        )
        assert grad_output is not None
        entry: dict[str, Any] = {"index": index, "type": layer.type}
        reports_z = layer.kind.has_activation
        if reports_z:
            entry["pre_activation"] = record.pre_activation[0]
        entry["output"] = record.output[0]
        entry["grad_output"] = grad_output[0]
        if reports_z:
            assert g.grad_pre_activation is not None
            entry["grad_pre_activation"] = g.grad_pre_activation[0]
            entry["grad_weight"] = g.grad_weight
            entry["grad_bias"] = g.grad_bias
        entry["grad_input"] = g.grad_input[0]
        layers_out.append(entry)
    return {"format": "visualconv.grad/1", "loss": result.loss, "layers": layers_out}


def make_model(
    name: str,
    input: Any,
    layers: Sequence[Layer],
    *,
    dims: int = 2,
    upstream: Any = None,
    target: Any = None,
    loss: LossSpec | None = None,
    description: str = "",
    training: TrainingSpec | None = None,
) -> Model:
    """Build a :class:`Model` from plain values (arrays are copied and frozen)."""
    tgt: FloatArray | int | None
    if target is None or isinstance(target, (int, np.integer)):
        tgt = None if target is None else int(target)
    else:
        tgt = frozen_array(target)
    return Model(
        name=name,
        dims=dims,
        input=frozen_array(input),
        layers=tuple(layers),
        description=description,
        upstream=None if upstream is None else frozen_array(upstream),
        target=tgt,
        loss=loss,
        training=training,
    )

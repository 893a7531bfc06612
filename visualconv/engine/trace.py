"""Overlay traces: the debugger's view of one layer's forward or backward pass.

A pass is a sequence of overlays, one per output element, in row-major order over
(channel, i, j). Step k (1-based) is the state after the k-th overlay; step 0 is the
state before the first. Steps are computed on demand from the layer's values, never
stored as n copies, so any step of a large layer is cheap to reach.

Each layer kind (:mod:`visualconv.engine.kinds`) owns the trace classes of its passes and
the typed fields of their steps; ``LayerTrace(layer, pass, ...)`` and :func:`trace_layer`
build the right one. Windowed layers (conv, pool) are traced in their 2-D view: a 1-D
layer has height 1. Every array in a step is read-only.
"""

from __future__ import annotations

import numpy as np

from .kinds.base import PASSES, AnyStep, Fields, ForwardState, LayerTrace, Overlay, Step, as_dict
from .kinds.conv import ClosedForm, conv_closed_form
from .kinds.loss import NO_BACKWARD, loss_start, start_backward
from .model import Model, forward

__all__ = [
    "PASSES",
    "AnyStep",
    "ClosedForm",
    "Fields",
    "ForwardState",
    "LayerTrace",
    "Overlay",
    "Step",
    "as_dict",
    "conv_closed_form",
    "trace_layer",
    "unflatten_position",
]


def trace_layer(model: Model, index: int, pass_name: str) -> LayerTrace:
    """The overlay trace of layer ``index`` of ``model`` for the given pass.

    Runs the model's forward pass and, for a backward trace, the backward pass from
    the last layer down to layer ``index + 1`` only (what the trace needs). The last
    layer's backward trace of a model with a target carries the loss that starts the
    pass (``trace.loss_start``, a :class:`~visualconv.engine.kinds.loss.LossStart`).

    Raises
    ------
    ValueError
        For a backward pass of a model that has no upstream or target.
    """
    if not 0 <= index < len(model.layers):
        raise IndexError(f"layer {index} is outside 0..{len(model.layers) - 1}")
    model.shapes()  # raises a placed ModelError on a mismatch
    records = forward(model.layers, model.input[None])
    start = start_backward(model.upstream, model.target, model.loss, records[-1].output)
    grad_output = None
    if pass_name == "backward":
        if start is None:
            raise ValueError(f"{NO_BACKWARD}: there is no backward pass")
        grad = start[1]
        for layer, record in zip(model.layers[:index:-1], records[:index:-1], strict=True):
            grad = layer.backward(grad, record.input, record.pre_activation, record.output).grad_input
        grad_output = grad[0]
    record = records[index]
    trace = LayerTrace(
        model.layers[index],
        pass_name,
        record.input[0],
        record.pre_activation[0],
        record.output[0],
        grad_output,
    )
    if pass_name == "backward" and index == len(model.layers) - 1:
        # The backward pass starts at the last layer: from a target, its loss is the first step.
        trace.loss_start = loss_start(
            model.upstream, model.target, model.loss, records[-1].output, model.dims
        )
    return trace


def unflatten_position(shape: tuple[int, ...], flat: int) -> tuple[int, ...]:
    """Row-major multi-index of ``flat`` in ``shape``."""
    return tuple(int(v) for v in np.unravel_index(flat, shape))

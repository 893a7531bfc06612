"""Each layer type's part of the format: a layer object to a typed layer, and back.

Each layer kind reads and writes its own object (``Kind.from_document``,
``Kind.to_document`` in :mod:`visualconv.engine.kinds`); this module holds the format's
reading of values (arrays with shorthand, pairs, the bias) that it hands to the kind.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import kinds
from ..engine.errors import Message, ModelError
from ..engine.kinds import Layer
from ..engine.kinds.base import frozen_array
from ..engine.windows import FloatArray, IntPair
from ..i18n import N_
from .arrays import canonical, to_array
from .messages import describe

MAX_SETTING = 2**31 - 1
"""Largest size, stride, padding or dilation (the schema's maximum)."""


def _pair(value: Any, dims: int, default: int, place: str) -> IntPair:
    """A size/stride/padding/dilation as a 2-D (rows, cols) pair."""
    if value is None:
        return (1, default) if dims == 1 else (default, default)
    items = [value] if isinstance(value, int) else list(value)
    for i, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, int):
            where = place if isinstance(value, int) else f"{place}[{i}]"
            raise ModelError(Message("expected an integer, got {got}", got=describe(item)), where)
    if dims == 1:
        if len(items) != 1:
            raise ModelError(
                Message(
                    "expected one integer in a 1-D model (it sets the length axis), got {got}",
                    got=describe(value),
                ),
                place,
            )
        return 1, int(items[0])
    if len(items) == 1:
        items = items * 2
    if len(items) != 2:
        raise ModelError(
            Message("expected an integer or a pair of integers, got {got}", got=describe(value)), place
        )
    return int(items[0]), int(items[1])


def _bias(value: Any, c_out: int, place: str, present: bool) -> FloatArray | None:
    if not present:
        return frozen_array(np.zeros(c_out))
    if value is None:
        return None
    bias = to_array(value, place, 1)
    if bias.ndim == 0:
        bias = bias.reshape(1)
    if bias.shape != (c_out,):
        text = (
            N_("expected {n} bias value, one per output channel of the weight, got {got}")
            if c_out == 1
            else N_("expected {n} bias values, one per output channel of the weight, got {got}")
        )
        raise ModelError(Message(text, n=c_out, got=bias.size), place)
    return frozen_array(bias)


class _Reader:
    """The file format's reading of a layer object's values, handed to the layer's kind."""

    def array(self, value: Any, place: str, ndim: int, what: str) -> FloatArray:
        return frozen_array(canonical(to_array(value, place, ndim), ndim, place, what))

    def pair(self, value: Any, dims: int, default: int, place: str) -> IntPair:
        return _pair(value, dims, default, place)

    def bias(self, value: Any, c_out: int, place: str, present: bool) -> FloatArray | None:
        return _bias(value, c_out, place, present)


_READER = _Reader()


def build_layer(spec: dict[str, Any], dims: int, place: str) -> Layer:
    """The typed layer of one checked layer object of the file, at ``place`` (for messages)."""
    layer: Layer = kinds.by_type(spec["type"]).from_document(spec, dims, place, _READER)
    return layer


def layer_document(layer: Layer, dims: int) -> dict[str, Any]:
    """One layer as a model-file object (canonical shapes)."""
    return layer.kind.to_document(layer, dims)

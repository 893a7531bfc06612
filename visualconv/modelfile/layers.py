"""A layer object of the file to a typed layer, and back: each layer kind reads and writes its own.

The kinds (``Kind.from_document`` / ``Kind.to_document``) parse their settings with the
readers here, which know the format's shorthand and its messages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import kinds
from ..engine.errors import ModelError
from ..engine.layers import Layer, frozen_array
from ..engine.windows import FloatArray, IntPair
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
            raise ModelError(f"expected an integer, got {describe(item)}", where)
    if dims == 1:
        if len(items) != 1:
            raise ModelError(
                f"expected one integer in a 1-D model (it sets the length axis), got {describe(value)}",
                place,
            )
        return 1, int(items[0])
    if len(items) == 1:
        items = items * 2
    if len(items) != 2:
        raise ModelError(f"expected an integer or a pair of integers, got {describe(value)}", place)
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
        raise ModelError(
            f"expected {c_out} bias value{'s' if c_out != 1 else ''}, one per output channel of the weight, "
            f"got {bias.size}",
            place,
        )
    return frozen_array(bias)


class _Reader:
    """The format's readers the layer kinds parse their settings with (``kinds.document.DocumentReader``)."""

    @staticmethod
    def pair(value: Any, dims: int, default: int, place: str) -> IntPair:
        return _pair(value, dims, default, place)

    @staticmethod
    def bias(value: Any, c_out: int, place: str, present: bool) -> FloatArray | None:
        return _bias(value, c_out, place, present)

    @staticmethod
    def weight(value: Any, axes: int, place: str, what: str) -> FloatArray:
        return frozen_array(canonical(to_array(value, place, axes), axes, place, what))

    @staticmethod
    def describe(value: Any) -> str:
        return describe(value)


def build_layer(spec: dict[str, Any], dims: int, place: str) -> Layer:
    """The typed layer of one checked layer object of the file (``place`` for messages): its kind reads it."""
    layer: Layer = kinds.by_type(spec["type"]).from_document(spec, dims, place, _Reader())
    return layer


def array_out(array: FloatArray) -> Any:
    """An array as nested lists for the file."""
    return np.asarray(array).tolist()


def layer_document(layer: Layer, dims: int) -> dict[str, Any]:
    """One layer as a model-file object (canonical shapes): its kind writes it."""
    document: dict[str, Any] = layer.kind.to_document(layer, dims)
    return document

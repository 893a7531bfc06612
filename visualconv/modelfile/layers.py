"""Each layer type's part of the format: a layer object to a typed layer, and back.

Everything that depends on a layer's ``type`` in the file format lives here, so that
a layer kind can take over its own piece.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.errors import ModelError
from ..engine.layers import ConvLayer, DenseLayer, FlattenLayer, Layer, PoolLayer, frozen_array
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


def build_layer(spec: dict[str, Any], dims: int, place: str) -> Layer:
    """The typed layer of one checked layer object of the file, at ``place`` (for messages)."""
    kind = spec["type"]
    if kind == "conv":
        layout = "(C_out, C_in, K)" if dims == 1 else "(C_out, C_in, kH, kW)"
        raw = to_array(spec["weight"], f"{place}.weight", dims + 2)
        weight = frozen_array(canonical(raw, dims + 2, f"{place}.weight", f"a weight {layout}"))
        padding = _pair(spec.get("padding"), dims, 0, f"{place}.padding")
        if dims == 1:
            padding = (0, padding[1])
        return ConvLayer(
            weight=weight,
            bias=_bias(spec.get("bias"), weight.shape[0], f"{place}.bias", "bias" in spec),
            stride=_pair(spec.get("stride"), dims, 1, f"{place}.stride"),
            padding=padding,
            dilation=_pair(spec.get("dilation"), dims, 1, f"{place}.dilation"),
            activation=spec.get("activation", "identity"),
            dims=dims,
        )
    if kind == "pool":
        size = _pair(spec["size"], dims, 1, f"{place}.size")
        stride = size if spec.get("stride") is None else _pair(spec["stride"], dims, 1, f"{place}.stride")
        return PoolLayer(mode=spec["mode"], size=size, stride=stride, dims=dims)
    if kind == "flatten":
        return FlattenLayer()
    raw = to_array(spec["weight"], f"{place}.weight", 2)
    weight = frozen_array(canonical(raw, 2, f"{place}.weight", "a weight (out, in)"))
    return DenseLayer(
        weight=weight,
        bias=_bias(spec.get("bias"), weight.shape[0], f"{place}.bias", "bias" in spec),
        activation=spec.get("activation", "identity"),
    )


def array_out(array: FloatArray) -> Any:
    """An array as nested lists for the file."""
    return np.asarray(array).tolist()


def _pair_out(pair: IntPair, dims: int) -> int | list[int]:
    if dims == 1:
        return pair[1]
    return pair[0] if pair[0] == pair[1] else [pair[0], pair[1]]


def layer_document(layer: Layer, dims: int) -> dict[str, Any]:
    """One layer as a model-file object (canonical shapes)."""
    if isinstance(layer, ConvLayer):
        doc: dict[str, Any] = {"type": "conv", "weight": array_out(layer.weight)}
        doc["bias"] = None if layer.bias is None else array_out(layer.bias)
        doc["stride"] = _pair_out(layer.stride, dims)
        doc["padding"] = _pair_out(layer.padding, dims)
        doc["dilation"] = _pair_out(layer.dilation, dims)
        doc["activation"] = layer.activation
        return doc
    if isinstance(layer, PoolLayer):
        return {
            "type": "pool",
            "mode": layer.mode,
            "size": _pair_out(layer.size, dims),
            "stride": _pair_out(layer.stride, dims),
        }
    if isinstance(layer, FlattenLayer):
        return {"type": "flatten"}
    assert isinstance(layer, DenseLayer)
    return {
        "type": "dense",
        "weight": array_out(layer.weight),
        "bias": None if layer.bias is None else array_out(layer.bias),
        "activation": layer.activation,
    }

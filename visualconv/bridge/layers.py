"""Layer objects of the model format from PyTorch-style settings (shared by the torch readers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine.errors import Message, ModelError
from .chain import pair_value


def per_axis(value: Any, dims: int, where: str, what: str) -> list[int]:
    """An int or a sequence of ints as one int per spatial axis."""
    if isinstance(value, (int, np.integer)):
        return [int(value)] * dims
    items = [int(v) for v in value]
    if len(items) == 1:
        return items * dims
    if len(items) != dims:
        raise ModelError(
            Message("expected {dims} value(s) for {what}, got {items}", dims=dims, what=what, items=items),
            where,
        )
    return items


def floats(array: Any) -> Any:
    """An array as nested lists of float64 numbers."""
    return np.asarray(array, dtype=np.float64).tolist()


def conv_layer(
    weight: np.ndarray,
    bias: np.ndarray | None,
    *,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    padding_mode: str,
    dims: int,
    where: str,
) -> dict[str, Any]:
    """A ``conv`` layer object as ``torch.nn.functional.conv1d/2d`` takes its settings."""
    if weight.ndim != dims + 2:
        raise ModelError(
            Message(
                "expected a {dims}-D convolution for this {dims}-D input, got weight {shape}",
                dims=dims,
                shape=weight.shape,
            ),
            where,
        )
    layer: dict[str, Any] = {
        "type": "conv",
        "weight": floats(weight),
        "bias": None if bias is None else floats(np.asarray(bias).reshape(-1)),
        "stride": pair_value(per_axis(stride, dims, where, "stride"), dims),
        "padding": padding
        if isinstance(padding, str)
        else pair_value(per_axis(padding, dims, where, "padding"), dims),
        "dilation": pair_value(per_axis(dilation, dims, where, "dilation"), dims),
    }
    if int(groups) != 1:
        layer["groups"] = int(groups)
    if padding_mode != "zeros":
        layer["padding_mode"] = padding_mode
    return layer


def conv_transpose_layer(
    weight: np.ndarray,
    bias: np.ndarray | None,
    *,
    stride: Any,
    padding: Any,
    output_padding: Any,
    dilation: Any,
    groups: int,
    dims: int,
    where: str,
) -> dict[str, Any]:
    """A ``conv_transpose`` layer object as ``conv_transpose1d/2d`` takes its settings."""
    if weight.ndim != dims + 2:
        raise ModelError(
            Message(
                "expected a {dims}-D convolution for this {dims}-D input, got weight {shape}",
                dims=dims,
                shape=weight.shape,
            ),
            where,
        )
    layer: dict[str, Any] = {
        "type": "conv_transpose",
        "weight": floats(weight),
        "bias": None if bias is None else floats(np.asarray(bias).reshape(-1)),
        "stride": pair_value(per_axis(stride, dims, where, "stride"), dims),
        "padding": pair_value(per_axis(padding, dims, where, "padding"), dims),
    }
    extra = per_axis(output_padding, dims, where, "output_padding")
    if any(extra):
        layer["output_padding"] = pair_value(extra, dims)
    layer["dilation"] = pair_value(per_axis(dilation, dims, where, "dilation"), dims)
    if int(groups) != 1:
        layer["groups"] = int(groups)
    return layer


def pool_layer(
    mode: str,
    size: Any,
    stride: Any,
    padding: Any,
    *,
    dims: int,
    where: str,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Any = None,
) -> dict[str, Any]:
    """A ``pool`` layer object as ``max_pool1d/2d`` or ``avg_pool1d/2d`` take their settings."""
    if ceil_mode:
        raise ModelError(Message("ceil_mode=True is not supported; expected ceil_mode=False"), where)
    if any(d != 1 for d in per_axis(dilation, dims, where, "dilation")):
        raise ModelError(Message("pooling with a dilation is not supported; expected dilation 1"), where)
    if divisor_override is not None:
        raise ModelError(Message("divisor_override is not supported; expected None"), where)
    sizes = per_axis(size, dims, where, "kernel_size")
    strides = (
        sizes
        if stride is None or (isinstance(stride, Sequence) and not stride)
        else per_axis(stride, dims, where, "stride")
    )
    pads = per_axis(padding, dims, where, "padding")
    if mode == "avg" and any(pads) and not count_include_pad:
        raise ModelError(
            Message(
                "average pooling that leaves the padded zeros out of the average "
                "(count_include_pad=False) is not supported; expected count_include_pad=True"
            ),
            where,
        )
    return pool_object(mode, sizes, strides, pads, dims)


def pool_object(
    mode: str, sizes: Sequence[int], strides: Sequence[int], pads: Sequence[int], dims: int
) -> dict[str, Any]:
    """A ``pool`` layer object from per-axis sizes, strides and paddings (padding only when set)."""
    layer: dict[str, Any] = {
        "type": "pool",
        "mode": mode,
        "size": pair_value(sizes, dims),
        "stride": pair_value(strides, dims),
    }
    if any(pads):
        layer["padding"] = pair_value(pads, dims)
    return layer


def global_pool(mode: str) -> dict[str, Any]:
    """A global ``pool`` layer object (max or avg over each whole plane)."""
    return {"type": "pool", "mode": mode, "size": "global"}


def flatten_layer() -> dict[str, Any]:
    """A ``flatten`` layer object."""
    return {"type": "flatten"}


def dense_layer(weight: np.ndarray, bias: np.ndarray | None) -> dict[str, Any]:
    """A ``dense`` layer object from a Linear's weight (out, in) and bias."""
    return {
        "type": "dense",
        "weight": floats(weight),
        "bias": None if bias is None else floats(np.asarray(bias).reshape(-1)),
    }

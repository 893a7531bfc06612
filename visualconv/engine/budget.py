"""Shapes and memory of a layer stack: the walk that refuses a model before anything is allocated.

From an input shape and the layers, :func:`walk` computes every layer's output shape
and the bytes one forward and backward pass would need, with Python integers only
(absurd settings cannot overflow and nothing is allocated). A layer that does not fit
its input, or a stack over :data:`MEMORY_BUDGET_BYTES`, is refused with a placed
:class:`~visualconv.engine.errors.ModelError`.

Used by the model-file reader (on load) and by the editors (before building arrays).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import ModelError
from .layers import ConvLayer, DenseLayer, FlattenLayer, Layer, PoolLayer
from .windows import output_length

if TYPE_CHECKING:
    from .model import Model

MEMORY_BUDGET_BYTES = 2 * 1024**3
"""Tensors and window copies of one forward and backward pass may not need more."""

Shape = tuple[int, ...]


def sized(shape: Sequence[int]) -> str:
    """A shape as ``(2, 3, 3)`` for messages."""
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _spatial_words(shape: Sequence[int]) -> str:
    return " x ".join(str(s) for s in shape)


def _axes_words(pair: Sequence[int], dims: int) -> str:
    """A (rows, cols) pair in words: the length alone in 1-D."""
    return _spatial_words(pair[1:2] if dims == 1 else pair[0:2])


def _from_words(index: int, layers: Sequence[Layer]) -> str:
    return (
        "the model's input" if index == 0 else f"the output of layers[{index - 1}] ({layers[index - 1].type})"
    )


def _layer_step(
    layer: Layer, shape: Shape, index: int, layers: Sequence[Layer]
) -> tuple[Shape, int, str, str]:
    """One layer's output shape and memory need, or a placed ModelError.

    Returns
    -------
    out_shape : tuple of int
    elements : int
        float64 values one forward and backward pass of this layer keeps or copies:
        three of its input and output (values, gradients, a temporary), the padded
        input and its gradient, and window-sized (im2col) copies: two for conv (the
        matrix products and the overlay trace's partial sums), one for pool.
    setting : str
        The key that makes the layer large ("padding") or "".
    reason : str
        Words for the memory message.
    """
    place = f"layers[{index}]"
    source = _from_words(index, layers)
    n_in = math.prod(shape)
    if isinstance(layer, (ConvLayer, PoolLayer)):
        dims = layer.dims
        if len(shape) != dims + 1:
            expected = "(C, L)" if dims == 1 else "(C, H, W)"
            raise ModelError(
                f"expected a {expected} input for this {layer.type} layer, got a vector of {shape[0]} values "
                f"from {source}; put {layer.type} layers before any flatten or dense layer",
                place,
            )
        spatial = (1, shape[1]) if dims == 1 else (shape[1], shape[2])
        channels = shape[0]
    if isinstance(layer, ConvLayer):
        c_out, c_in = layer.weight.shape[0], layer.weight.shape[1]
        if channels != c_in:
            raise ModelError(
                f"expected a weight with {channels} input channel{'s' if channels != 1 else ''} "
                f"(axis 1 of {'(C_out, C_in, K)' if dims == 1 else '(C_out, C_in, kH, kW)'}) to match "
                f"{source}, got shape {sized(layer.weight.shape)}",
                f"{place}.weight",
            )
        kernel = layer.kernel_size
        out = tuple(
            output_length(spatial[a], kernel[a], layer.stride[a], layer.padding[a], layer.dilation[a])
            for a in (0, 1)
        )
        padded = (spatial[0] + 2 * layer.padding[0], spatial[1] + 2 * layer.padding[1])
        if min(out) < 1:
            span = tuple(layer.dilation[a] * (kernel[a] - 1) + 1 for a in (0, 1))
            fits_undilated = all(kernel[a] <= padded[a] for a in (0, 1))
            setting = "dilation" if fits_undilated and max(layer.dilation) > 1 else "weight"
            dilated = (
                f" with dilation {_axes_words(layer.dilation, dims)}, spanning {_axes_words(span, dims)}"
                if max(layer.dilation) > 1
                else ""
            )
            raise ModelError(
                f"expected a kernel that fits the padded input of {_axes_words(padded, dims)}, "
                "got a kernel of "
                f"{_axes_words(kernel, dims)}{dilated}",
                f"{place}.{setting}",
            )
        out_shape: Shape = (c_out, out[1]) if dims == 1 else (c_out, out[0], out[1])
        n_out = math.prod(out_shape)
        n_padded = channels * padded[0] * padded[1]
        n_cols = c_in * kernel[0] * kernel[1] * out[0] * out[1]
        elements = 3 * n_in + 3 * n_padded + 2 * n_cols + 5 * n_out + 3 * layer.weight.size
        big_padding = max(layer.padding) > 0 and n_padded > 4 * n_in
        reason = (
            f"padding {_spatial_words(layer.padding[1:] if dims == 1 else layer.padding)} makes a padded "
            f"input of {channels} x {_spatial_words(padded[1:] if dims == 1 else padded)}"
            if big_padding
            else f"its {c_out} output channel{'s' if c_out != 1 else ''} of "
            f"{_spatial_words(out[1:] if dims == 1 else out)} and its window copies"
        )
        return out_shape, elements, "padding" if big_padding else "", reason
    if isinstance(layer, PoolLayer):
        out = tuple(output_length(spatial[a], layer.size[a], layer.stride[a], 0, 1) for a in (0, 1))
        if min(out) < 1:
            raise ModelError(
                f"expected a pool window that fits the input of {_axes_words(spatial, dims)} ({source}), "
                f"got size {_axes_words(layer.size, dims)}",
                f"{place}.size",
            )
        out_shape = (channels, out[1]) if dims == 1 else (channels, out[0], out[1])
        n_out = math.prod(out_shape)
        elements = 3 * n_in + 3 * n_out + n_out * layer.size[0] * layer.size[1]
        return out_shape, elements, "", "its windows"
    if isinstance(layer, FlattenLayer):
        return (n_in,), 2 * n_in, "", "its input"
    assert isinstance(layer, DenseLayer)
    if len(shape) != 1:
        raise ModelError(
            f"expected a vector input for this dense layer, got shape {sized(shape)} from {source}; "
            "put a flatten layer before it",
            place,
        )
    if shape[0] != layer.weight.shape[1]:
        raise ModelError(
            f"expected a weight (out, in) with {shape[0]} columns, one per value of {source}, "
            f"got shape {sized(layer.weight.shape)}",
            f"{place}.weight",
        )
    n_out = layer.weight.shape[0]
    return (n_out,), 3 * (n_in + n_out) + 3 * layer.weight.size, "", "its weight"


def format_bytes(n: float) -> str:
    """A byte count for messages: ``512 B``, ``1.5 KB``, ``2.0 GB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB" if n < 10**6 else f"{n:.2g} TB"


def walk(
    input_shape: Shape, layers: Sequence[Layer], budget: int | None = MEMORY_BUDGET_BYTES
) -> tuple[list[Shape], int]:
    """Shapes of the input and every layer's output, and the bytes one pass needs.

    Uses Python integers only, so absurd settings cannot overflow, and allocates
    nothing. With a ``budget``, refuses (placed) as soon as the running total
    exceeds it.

    Raises
    ------
    ModelError
        A layer that does not fit its input, or a model over the budget.
    """
    shapes = [tuple(int(s) for s in input_shape)]
    total = 0
    costs: list[tuple[int, int, str, str]] = []
    for index, layer in enumerate(layers):
        out_shape, elements, setting, reason = _layer_step(layer, shapes[-1], index, layers)
        shapes.append(out_shape)
        total += 8 * elements
        costs.append((8 * elements, index, setting, reason))
        if budget is not None and total > budget:
            worst, at, setting, reason = max(costs)
            place = f"layers[{at}]" + (f".{setting}" if setting else "")
            more = " or more" if index < len(layers) - 1 else ""
            raise ModelError(
                f"this model would need about {format_bytes(total)}{more} of memory for one forward and "
                f"backward pass, more than the {format_bytes(budget)} visualconv allows; layers[{at}] alone "
                f"needs {format_bytes(worst)} ({reason}); expected smaller sizes, channels or padding",
                place,
            )
    return shapes, total


def estimated_bytes(model: Model) -> int:
    """Memory that one forward and backward pass of the model's example needs, roughly.

    Counts, for every layer, its input and output with their gradients, the padded
    input with its gradient, and the window (im2col) copies the matrix products
    make. Computed with Python integers from the shapes alone: it allocates nothing
    and cannot overflow.

    Raises
    ------
    ModelError
        With the place of a layer that does not fit its input.
    """
    return walk(model.input.shape, model.layers, None)[1]


def check_layers(input_shape: Sequence[int], layers: Sequence[Layer]) -> list[Shape]:
    """Shapes of the input and of every layer's output, refusing a stack over the memory budget.

    For editors: call it with a proposed input shape and layers *before* building
    arrays for them (upstream, target); it computes with Python integers only and
    allocates nothing.

    Raises
    ------
    ModelError
        Placed at the layer that does not fit its input, or that needs most memory.
    """
    return walk(tuple(input_shape), layers)[0]


def check_memory(model: Model) -> None:
    """Refuse, before anything is allocated, a model too large for this tool.

    Raises
    ------
    ModelError
        Giving the memory the model would need and the layer that needs most.
    """
    walk(model.input.shape, model.layers)


def check_training_memory(
    layers: Sequence[Layer],
    example_shape: Shape,
    count: int,
    batch_size: int | None,
    budget: int = MEMORY_BUDGET_BYTES,
) -> int:
    """Refuse, before the dataset is built, a training run that would not fit in memory.

    Counts the dataset (its examples and targets, and the shuffled copy of an epoch) and
    one batch's forward and backward pass (:func:`walk` of one example times the batch
    size), with Python integers only.

    Parameters
    ----------
    layers : sequence of Layer
    example_shape : tuple of int
        One example's shape, (C, L) or (C, H, W).
    count : int
        Examples in the dataset.
    batch_size : int or None
        None for the full dataset in one batch.
    budget : int
        Bytes allowed.

    Returns
    -------
    int
        The bytes estimated.

    Raises
    ------
    ModelError
        Placed at ``training.dataset.count`` when the dataset is the larger part, else at
        ``training.batch_size``; the message gives both parts.
    """
    shapes, per_example = walk(example_shape, layers, None)
    batch = count if batch_size is None else min(batch_size, count)
    data = 8 * count * (2 * math.prod(shapes[0]) + math.prod(shapes[-1]))
    passes = per_example * batch
    total = data + passes
    if total > budget:
        place = "training.dataset.count" if data >= passes else "training.batch_size"
        batch_words = "the full dataset" if batch_size is None else f"{batch} examples"
        raise ModelError(
            f"training would need about {format_bytes(total)} of memory, more than the "
            f"{format_bytes(budget)} visualconv allows: {format_bytes(data)} for the {count:,} examples "
            f"of {sized(shapes[0])} and {format_bytes(passes)} for one batch of {batch_words} "
            f"({format_bytes(per_example)} each); "
            "expected a smaller dataset count or size, or a smaller batch_size",
            place,
        )
    return total

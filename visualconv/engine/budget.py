"""Shapes and memory of a layer stack: the walk that refuses a model before anything is allocated.

From an input shape and the layers, :func:`walk` computes every layer's output shape
and the bytes one forward and backward pass would need (each layer's kind checks its
input and counts its memory: ``Kind.check_shape``), with Python integers only
(absurd settings cannot overflow and nothing is allocated). A layer that does not fit
its input, or a stack over :data:`MEMORY_BUDGET_BYTES`, is refused with a placed
:class:`~visualconv.engine.errors.ModelError`.

Used by the model-file reader (on load) and by the editors (before building arrays).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import Message, ModelError

if TYPE_CHECKING:
    from .kinds.base import Layer
    from .model import Model

MEMORY_BUDGET_BYTES = 2 * 1024**3
"""Tensors and window copies of one forward and backward pass may not need more."""

Shape = tuple[int, ...]


def sized(shape: Sequence[int]) -> str:
    """A shape as ``(2, 3, 3)`` for messages."""
    return "(" + ", ".join(str(s) for s in shape) + ")"


def spatial_words(shape: Sequence[int]) -> str:
    """Spatial sizes in words: ``3 x 4``."""
    return " x ".join(str(s) for s in shape)


def axes_words(pair: Sequence[int], dims: int) -> str:
    """A (rows, cols) pair in words: the length alone in 1-D."""
    return spatial_words(pair[1:2] if dims == 1 else pair[0:2])


def _layer(index: int) -> str:
    return f"layers[{index}]"


def _from_words(index: int, layers: Sequence[Layer]) -> str:
    if index == 0:
        return Message("the model's input")
    return Message("the output of {layer} ({type})", layer=_layer(index - 1), type=layers[index - 1].type)


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
        place, source = f"layers[{index}]", _from_words(index, layers)
        out_shape, elements, setting, reason = layer.kind.check_shape(layer, shapes[-1], place, source)
        shapes.append(out_shape)
        total += 8 * elements
        costs.append((8 * elements, index, setting, reason))
        if budget is not None and total > budget:
            worst, at, setting, reason = max(costs)
            place = f"layers[{at}]" + (f".{setting}" if setting else "")
            more = Message(" or more") if index < len(layers) - 1 else ""
            raise ModelError(
                Message(
                    "this model would need about {total}{more} of memory for one forward and backward pass, "
                    "more than the {budget} visualconv allows; {layer} alone needs {worst} ({reason}); "
                    "expected smaller sizes, channels or padding",
                    total=format_bytes(total),
                    more=more,
                    budget=format_bytes(budget),
                    layer=_layer(at),
                    worst=format_bytes(worst),
                    reason=reason,
                ),
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
        batch_words = Message("the full dataset") if batch_size is None else Message("{n} examples", n=batch)
        raise ModelError(
            Message(
                "training would need about {total} of memory, more than the {budget} visualconv allows: "
                "{data} for the {count} examples of {shape} and {passes} for one batch of {batch} "
                "({each} each); expected a smaller dataset count or size, or a smaller batch_size",
                total=format_bytes(total),
                budget=format_bytes(budget),
                data=format_bytes(data),
                count=format(count, ","),
                shape=sized(shapes[0]),
                passes=format_bytes(passes),
                batch=batch_words,
                each=format_bytes(per_example),
            ),
            place,
        )
    return total

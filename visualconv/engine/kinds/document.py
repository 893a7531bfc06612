"""What the kinds share to read and write their part of the file format, and to check an input.

Each kind turns its layer object of the file into its layer (``Kind.from_document``) and
back (``Kind.to_document``), and checks the input that reaches it with the file's
places and the memory it needs (``Kind.check_input``). The model-file package supplies
the readers (:class:`DocumentReader`), which know the format's shorthand and messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..windows import FloatArray, IntPair

Shape = tuple[int, ...]


class DocumentReader(Protocol):
    """The file format's readers, as the model-file package implements them (errors are placed)."""

    def pair(self, value: Any, dims: int, default: int, place: str) -> IntPair:
        """A size/stride/padding/dilation as a (rows, cols) pair; a 1-D layer's rows are 1."""

    def bias(self, value: Any, c_out: int, place: str, present: bool) -> FloatArray | None:
        """One value per output channel (zeros when absent, None for ``null``)."""

    def weight(self, value: Any, axes: int, place: str, what: str) -> FloatArray:
        """An array in canonical shape of ``axes`` axes (leading size-1 axes filled in), read-only."""

    def describe(self, value: Any) -> str:
        """A value as the messages quote it."""


@dataclass(frozen=True, slots=True)
class InputCheck:
    """What a layer makes of the input that reaches it, for the shape and memory walk.

    Attributes
    ----------
    out_shape : tuple of int
    elements : int
        float64 values one forward and backward pass of the layer keeps or copies.
    setting : str
        The key that makes the layer large ("padding") or "".
    reason : str
        Words for the memory message.
    """

    out_shape: Shape
    elements: int
    setting: str
    reason: str


def array_out(array: FloatArray) -> Any:
    """An array as nested lists for the file."""
    return np.asarray(array).tolist()


def pair_out(pair: IntPair, dims: int) -> int | list[int]:
    """A (rows, cols) pair as the file writes it: one int in 1-D or when both agree."""
    if dims == 1:
        return pair[1]
    return pair[0] if pair[0] == pair[1] else [pair[0], pair[1]]


def words(shape: Any) -> str:
    """``3 x 4``: a spatial size in messages."""
    return " x ".join(str(s) for s in shape)


def sized(shape: Any) -> str:
    """``(2, 3, 4)``: a shape in messages."""
    return "(" + ", ".join(str(s) for s in shape) + ")"


def expect_image(layer: Any, shape: Shape, place: str, source: str) -> tuple[IntPair, int]:
    """The (H, W) view (1-D: (1, L)) and channels of a windowed layer's input, or a placed error."""
    from ..errors import ModelError

    dims = layer.dims
    if len(shape) != dims + 1:
        expected = "(C, L)" if dims == 1 else "(C, H, W)"
        raise ModelError(
            f"expected a {expected} input for this {layer.type} layer, got a vector of {shape[0]} values "
            f"from {source}; put {layer.type} layers before any flatten or dense layer",
            place,
        )
    spatial = (1, shape[1]) if dims == 1 else (shape[1], shape[2])
    return spatial, shape[0]

"""The array shorthand of the format: nested lists to float64 arrays, leading size-1 axes implied."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..engine.budget import sized
from ..engine.errors import Message, ModelError
from ..engine.windows import FloatArray
from .messages import describe
from .read import NUMBER_TYPES

MAX_AXES = 6


def to_array(value: Any, place: str, max_axes: int) -> FloatArray:
    """Turn nested lists into a float64 array, naming the place of any problem.

    Parameters
    ----------
    value : number or nested list of numbers
    place : str
        Where ``value`` stands in the file (for messages).
    max_axes : int
        The canonical number of axes; more is an error.

    Returns
    -------
    ndarray with at most ``max_axes`` axes (not yet padded to canonical shape)
    """
    shape = _shape_of(value, place, 0, max_axes)
    if 0 in shape:
        raise ModelError(Message("expected a non-empty list of numbers"), place + "[0]" * shape.index(0))
    try:
        array = np.array(value, dtype=np.float64).reshape(shape)
    except OverflowError:
        raise ModelError(
            Message("expected finite numbers, got a number too large for float64"), place
        ) from None
    if not np.isfinite(array).all():
        raise ModelError(Message("expected finite numbers, got a number too large for float64"), place)
    return array


def _regular_shape(value: Any, max_axes: int) -> tuple[int, ...] | None:
    """The shape of a regular nest of lists of numbers, level by level at C speed; None otherwise."""
    shape: list[int] = []
    level = [value]
    while True:
        kinds = set(map(type, level))
        if kinds <= NUMBER_TYPES:
            return tuple(shape)
        if kinds != {list} or len(shape) >= max_axes:
            return None
        lengths = set(map(len, level))
        if len(lengths) != 1:
            return None
        size = lengths.pop()
        shape.append(size)
        if size == 0:
            return tuple(shape)
        level = list(itertools.chain.from_iterable(level))


def _shape_of(value: Any, place: str, depth: int, max_axes: int) -> tuple[int, ...]:
    if depth == 0:
        shape = _regular_shape(value, max_axes)
        if shape is not None:
            return shape
    kind = type(value)
    if kind is int or kind is float:
        return ()
    if kind is not list:
        raise ModelError(Message("expected a number, got {got}", got=describe(value)), place)
    if depth >= max_axes:
        raise ModelError(
            Message("expected at most {n} nested list levels here, got a list one level deeper", n=max_axes),
            place,
        )
    if not value:
        return (0,)
    kinds = set(map(type, value))
    if kinds <= NUMBER_TYPES:
        return (len(value),)
    if kinds == {list}:
        first = _shape_of(value[0], f"{place}[0]", depth + 1, max_axes)
        for i in range(1, len(value)):
            shape = _shape_of(value[i], f"{place}[{i}]", depth + 1, max_axes)
            if shape != first:
                raise ModelError(
                    Message(
                        "ragged array: expected {expected} like {first}, got {got}",
                        expected=_shape_words(first),
                        first=place + "[0]",
                        got=_shape_words(shape),
                    ),
                    f"{place}[{i}]",
                )
        return (len(value), *first)
    # A mixture of numbers and lists, or something that is neither.
    for i, item in enumerate(value):
        if type(item) not in NUMBER_TYPES and type(item) is not list:
            raise ModelError(Message("expected a number, got {got}", got=describe(item)), f"{place}[{i}]")
    first_is_list = type(value[0]) is list
    i = next(i for i, item in enumerate(value) if (type(item) is list) != first_is_list)
    first = _shape_of(value[0], f"{place}[0]", depth + 1, max_axes)
    raise ModelError(
        Message(
            "ragged array: expected {expected} like {first}, got {got}",
            expected=_shape_words(first),
            first=place + "[0]",
            got=describe(value[i]),
        ),
        f"{place}[{i}]",
    )


def _shape_words(shape: tuple[int, ...]) -> str:
    if not shape:
        return Message("a number")
    if len(shape) == 1:
        if shape[0] == 1:
            return Message("a list of {n} number", n=shape[0])
        return Message("a list of {n} numbers", n=shape[0])
    return Message("an array of shape {shape}", shape="x".join(str(s) for s in shape))


def canonical(array: FloatArray, axes: int, place: str, what: str) -> FloatArray:
    """Prepend size-1 axes up to ``axes`` (the shorthand of the format)."""
    if array.ndim > axes:
        raise ModelError(
            Message(
                "expected {what} with at most {axes} axes, got shape {shape}",
                what=what,
                axes=axes,
                shape=sized(array.shape),
            ),
            place,
        )
    return array.reshape((1,) * (axes - array.ndim) + array.shape)

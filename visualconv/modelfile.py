"""Load, validate and save model files (format ``visualconv/1``).

Validation runs in stages, each of which names the place of the first problem:

1. reading: the file must be a regular file of at most :data:`MAX_FILE_BYTES`,
   in UTF-8;
2. parsing: valid JSON, no NaN/Infinity or numbers beyond float64, no duplicate
   keys, no nesting deeper than :data:`MAX_DEPTH`;
3. structure: the JSON Schema shipped in the package (keys, types, enums);
4. meaning: ragged arrays, shapes, layer-to-layer fit, the loss target, and the
   memory one forward and backward pass would need — refused before anything of
   that size is allocated.

Every problem is raised as one :class:`ModelError` naming the file, the place and
what was expected; :func:`load_model` and :func:`loads` raise nothing else.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .engine import datasets, kinds
from .engine.errors import ModelError
from .engine.layers import DenseLayer, FlattenLayer, Layer, frozen_array
from .engine.model import LossSpec, Model, TrainingSpec
from .engine.windows import FloatArray, IntPair

FORMAT = "visualconv/1"
MAX_FILE_BYTES = 64 * 1024 * 1024
"""Model files larger than this are refused without being read."""
MAX_AXES = 6
MAX_DEPTH = 32
"""Lists and objects nested deeper than this are refused (a model needs about 8)."""
MAX_LAYERS = 1000
MAX_CONTAINERS = 4_000_000
"""More lists and objects than this (a 16 x 4096 x 4096 image has 65536) are refused."""
MAX_SETTING = 2**31 - 1
"""Largest size, stride, padding or dilation (the schema's maximum)."""
MEMORY_BUDGET_BYTES = 2 * 1024**3
"""Tensors and window copies of one forward and backward pass may not need more."""
INTERNAL_ERROR = "unexpected problem while checking the model"
"""Start of the message of a ModelError that wraps an error in visualconv itself."""

_FLOAT_MAX = float(np.finfo(np.float64).max)
Shape = tuple[int, ...]


def place_of(path: Iterable[str | int]) -> str:
    """Format a JSON path as ``layers[1].stride``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = _key_text(part)
            text += f".{key}" if text else key
    return text


def _key_text(key: str) -> str:
    """A key as it may appear in a one-line message: escaped and at most 40 characters."""
    text = json.dumps(key, ensure_ascii=False)[1:-1]
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------- the schema


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the model format, as shipped in the package."""
    text = resources.files("visualconv").joinpath("schema/model.schema.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


def schema_path() -> Path:
    """Where the JSON Schema file lies in the installed package (for editors)."""
    return Path(str(resources.files("visualconv").joinpath("schema/model.schema.json")))


def _is_integer(checker: Any, instance: Any) -> bool:
    # JSON Schema counts 2.0 as an integer; a model file may not: sizes, strides,
    # dims and class indices are written without a decimal point, as in PyTorch.
    return isinstance(instance, int) and not isinstance(instance, bool)


@cache
def _validator() -> Any:
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine("integer", _is_integer)
    strict = jsonschema.validators.extend(base, type_checker=checker)
    return strict(schema())


# ---------------------------------------------------------------- messages


class _NonFinite:
    """Placeholder for NaN/Infinity tokens so the checker can name their place."""

    def __init__(self, token: str) -> None:
        self.token = token


def _describe(value: Any) -> str:
    """A short rendering of a JSON value for 'got ...' (at most 40 characters)."""
    if isinstance(value, _NonFinite):
        return value.token
    if isinstance(value, float) and not math.isfinite(value):
        return "a number too large for float64"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        return f"{float(value):.3g}" if abs(value) <= _FLOAT_MAX else "a number too large for float64"
    if isinstance(value, list) and len(value) > 12:
        inner = "lists" if value and isinstance(value[0], list) else "items"
        return f"a list of {len(value)} {inner}"
    if isinstance(value, dict) and len(value) > 6:
        return f"an object with {len(value)} keys"
    try:
        text = json.dumps(value, ensure_ascii=False, default=lambda v: f"<{type(v).__name__}>")
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, _NonFinite)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "a list",
    "object": "an object",
    "boolean": "true or false",
    "null": "null",
}


def _schema_message(error: Any) -> tuple[str, list[str | int]]:
    """Turn one jsonschema error into ('expected ..., got ...', path)."""
    path: list[str | int] = list(error.absolute_path)
    validator = error.validator
    got = _describe(error.instance)
    if validator == "required":
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        missing = next((k for k in error.validator_value if k not in error.instance), "?")
        sub = known.get(missing, {}) if isinstance(known, dict) else {}
        what = _expected_of(sub) or "a value"
        return f"missing required key '{_key_text(missing)}'; expected {what} here", [*path, missing]
    if validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in known)
        key = extra[0] if extra else "?"
        owner = error.instance.get("type") if isinstance(error.instance, dict) else None
        kind = (
            f"a {owner} layer" if isinstance(owner, str) and path and path[0] == "layers" else "this object"
        )
        return (
            f"unknown key '{_key_text(key)}'; expected only the keys of {kind}: {', '.join(known)}",
            [*path, key],
        )
    expected = _expected_of(error.schema)
    if expected:
        return f"expected {expected}, got {got}", path
    if validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        return f"expected {words}, got {got}", path
    if validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
        return f"expected a number {words[validator]} {error.validator_value}, got {got}", path
    if validator == "minItems":
        return f"expected at least {error.validator_value} item(s), got {got}", path
    if validator == "maxItems":
        return (
            f"expected at most {error.validator_value} item(s), got {_describe_count(error.instance)}",
            path,
        )
    if validator == "minLength":
        return "expected a non-empty string", path
    # Fallback for a validator without its own wording: keep it short and on one line.
    text = " ".join(str(error.message).split())
    return (text if len(text) <= 120 else text[:117] + "..."), path


def _describe_count(value: Any) -> str:
    return f"{len(value)}" if isinstance(value, list) else _describe(value)


def _expected_of(sub: Any) -> str:
    """What a (sub)schema expects, in words, when it says so or is a simple enum."""
    if not isinstance(sub, dict):
        return ""
    ref = sub.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and "x-expected" not in sub:
        sub = schema()["$defs"].get(ref[len("#/$defs/") :], {})
    if "x-expected" in sub:
        return str(sub["x-expected"])
    if "const" in sub:
        return json.dumps(sub["const"])
    if "enum" in sub:
        options = [json.dumps(o) for o in sub["enum"]]
        return "one of " + ", ".join(options) if len(options) > 2 else " or ".join(options)
    return ""


def _leaves(error: Any) -> list[Any]:
    """The innermost errors under a oneOf/anyOf error (or the error itself)."""
    if not error.context:
        return [error]
    result = []
    for sub in error.context:
        result.extend(_leaves(sub))
    return result


def _best_error(errors: Sequence[Any]) -> tuple[str, str]:
    """Pick the most useful schema error and phrase it: (message, place).

    The deepest place wins (``layers[1].stride[0]`` over ``layers[1]``); the words
    come from the nearest schema on the way up that says what it expects at that
    same place (its ``x-expected``), so a oneOf of 'an int or a pair' reads as one
    expectation rather than as the first branch that failed.
    """
    leaves = [leaf for error in errors for leaf in _leaves(error)]

    def rank(leaf: Any) -> tuple[int, int, int]:
        # Deeper first; then a missing or unknown key (whose place gets one level
        # deeper); then errors that are not a bare type mismatch of a oneOf branch.
        key_error = leaf.validator in ("required", "additionalProperties")
        return (len(leaf.absolute_path) + key_error, int(key_error), int(leaf.validator != "type"))

    leaf = max(leaves, key=rank)
    path = list(leaf.absolute_path)
    if leaf.validator not in ("required", "additionalProperties"):
        node = leaf
        while node is not None:
            if list(node.absolute_path) != path:
                break
            if isinstance(node.schema, dict) and "x-expected" in node.schema:
                got = _describe(node.instance)
                return f"expected {node.schema['x-expected']}, got {got}", place_of(path)
            node = node.parent
    message, where = _schema_message(leaf)
    return message, place_of(where)


# ---------------------------------------------------------------- parsing


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


def _check_text(value: str, path: list[str | int]) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        raise ModelError(
            f"expected valid Unicode text, got a lone surrogate escape \\u{code:04x}", place_of(path)
        ) from None


_NUMBER_TYPES = frozenset({int, float})


def _plain_numbers(value: list[Any], depth: int) -> bool:
    """Whether ``value`` is a (possibly ragged) nest of lists of finite float64 numbers.

    Works level by level with C-speed iteration (no Python call per element), so a
    large array is checked quickly; anything else is left to the slow, placed walk.
    """
    level = value
    while True:
        if depth >= MAX_DEPTH:
            return False
        kinds = set(map(type, level))
        if kinds <= _NUMBER_TYPES:
            try:
                return all(map(math.isfinite, level))
            except OverflowError:  # an integer beyond float64
                return False
        if kinds != {list}:
            return False
        level = list(itertools.chain.from_iterable(level))
        depth += 1


def _scan(value: Any, path: list[str | int], duplicates: dict[int, str]) -> None:
    """Refuse NaN/Infinity, numbers beyond float64, duplicate keys, bad text, deep nesting."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            got = "NaN" if math.isnan(value) else "a number too large for float64"
            raise ModelError(f"expected a finite number, got {got}", place_of(path))
    elif kind is int:
        if abs(value) > _FLOAT_MAX:
            raise ModelError("expected a finite number, got a number too large for float64", place_of(path))
    elif kind is _NonFinite:
        raise ModelError(f"expected a finite number, got {value.token}", place_of(path))
    elif kind is str:
        _check_text(value, path)
    elif kind is list or kind is dict:
        if len(path) >= MAX_DEPTH:
            raise ModelError(
                f"nested too deeply: expected at most {MAX_DEPTH} levels of lists and objects", place_of(path)
            )
        if kind is list:
            if not value or _plain_numbers(value, len(path)):
                return
            for index, item in enumerate(value):
                _scan(item, [*path, index], duplicates)
        else:
            if id(value) in duplicates:
                key = duplicates[id(value)]
                raise ModelError(
                    f"duplicate key '{_key_text(key)}'; expected each key at most once",
                    place_of([*path, key]),
                )
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ModelError(f"expected text keys, got the key {_describe(key)}", place_of(path))
                _check_text(key, path)
                _scan(item, [*path, key], duplicates)


def _json_complaint(text: str, exc: json.JSONDecodeError) -> str:
    """Python's JSON error message in the 'expected ..., got ...' style of the others."""
    message = exc.msg
    if message.startswith("Expecting "):
        what = message[len("Expecting ") :]
        what = {"value": "a value", "',' delimiter": "',' before the next item"}.get(what, what)
        expected = f"expected {what}"
    elif message == "Extra data":
        expected = "expected the end of the file after the model object, got more text"
    else:
        expected = f"expected well-formed JSON, got: {message[0].lower()}{message[1:]}"
    if not text[exc.pos :].strip() and exc.pos > 0:
        return f"the text ends too early, {expected}; is the file cut short?"
    return expected


def _decode(text: str) -> Any:
    nul = text.find("\x00")
    if nul >= 0:
        # Never valid in JSON; UTF-16 text without a byte-order mark is full of them.
        hint = " (is the file UTF-16? save it as UTF-8)" if text.count("\x00") * 4 > len(text) else ""
        raise ModelError(f"expected UTF-8 JSON text, got a NUL character{hint}", _position(text, nul))
    containers = text.count("[") + text.count("{")
    if containers > MAX_CONTAINERS:
        # Each list costs the parser far more than a number; refuse before parsing.
        raise ModelError(
            f"expected at most {MAX_CONTAINERS} lists and objects in a model file, got {containers}; "
            "expected a smaller model"
        )
    duplicates: dict[int, str] = {}

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    duplicates[id(result)] = key
                    break
                seen.add(key)
        return result

    try:
        document = json.loads(text, parse_constant=_NonFinite, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as exc:
        raise ModelError(f"not valid JSON: {_json_complaint(text, exc)}", _position(text, exc.pos)) from None
    except RecursionError:
        raise ModelError(
            f"nested too deeply: expected at most {MAX_DEPTH} levels of lists and objects"
        ) from None
    except ValueError as exc:
        # Integers longer than Python's digit limit (4300 digits).
        match = re.search(r"\d{400,}", text)
        where = _position(text, match.start()) if match else ""
        digits = re.search(r"has (\d+) digits", str(exc))
        count = f" with {digits.group(1)} digits" if digits else " with too many digits"
        raise ModelError(f"expected a number that fits float64, got an integer{count}", where) from None
    _scan(document, [], duplicates)
    return document


def parse_document(text: str) -> dict[str, Any]:
    """Parse JSON text into a document and check it against the schema.

    Raises
    ------
    ModelError
        For bad JSON, non-finite numbers or a structural error, with its place.
    """
    if not text.strip():
        raise ModelError("the file is empty; expected a JSON model object")
    return _check_structure(_decode(text), scanned=True)


# ---------------------------------------------------------------- arrays


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
        raise ModelError("expected a non-empty list of numbers", place + "[0]" * shape.index(0))
    try:
        array = np.array(value, dtype=np.float64).reshape(shape)
    except OverflowError:
        raise ModelError("expected finite numbers, got a number too large for float64", place) from None
    if not np.isfinite(array).all():
        raise ModelError("expected finite numbers, got a number too large for float64", place)
    return array


def _regular_shape(value: Any, max_axes: int) -> tuple[int, ...] | None:
    """The shape of a regular nest of lists of numbers, level by level at C speed; None otherwise."""
    shape: list[int] = []
    level = [value]
    while True:
        kinds = set(map(type, level))
        if kinds <= _NUMBER_TYPES:
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
        raise ModelError(f"expected a number, got {_describe(value)}", place)
    if depth >= max_axes:
        raise ModelError(
            f"expected at most {max_axes} nested list levels here, got a list one level deeper", place
        )
    if not value:
        return (0,)
    kinds = set(map(type, value))
    if kinds <= _NUMBER_TYPES:
        return (len(value),)
    if kinds == {list}:
        first = _shape_of(value[0], f"{place}[0]", depth + 1, max_axes)
        for i in range(1, len(value)):
            shape = _shape_of(value[i], f"{place}[{i}]", depth + 1, max_axes)
            if shape != first:
                raise ModelError(
                    f"ragged array: expected {_shape_words(first)} like {place}[0], "
                    f"got {_shape_words(shape)}",
                    f"{place}[{i}]",
                )
        return (len(value), *first)
    # A mixture of numbers and lists, or something that is neither.
    for i, item in enumerate(value):
        if type(item) not in _NUMBER_TYPES and type(item) is not list:
            raise ModelError(f"expected a number, got {_describe(item)}", f"{place}[{i}]")
    first_is_list = type(value[0]) is list
    i = next(i for i, item in enumerate(value) if (type(item) is list) != first_is_list)
    first = _shape_of(value[0], f"{place}[0]", depth + 1, max_axes)
    raise ModelError(
        f"ragged array: expected {_shape_words(first)} like {place}[0], got {_describe(value[i])}",
        f"{place}[{i}]",
    )


def _shape_words(shape: tuple[int, ...]) -> str:
    if not shape:
        return "a number"
    if len(shape) == 1:
        return f"a list of {shape[0]} number{'s' if shape[0] != 1 else ''}"
    return "an array of shape " + "x".join(str(s) for s in shape)


def canonical(array: FloatArray, axes: int, place: str, what: str) -> FloatArray:
    """Prepend size-1 axes up to ``axes`` (the shorthand of the format)."""
    if array.ndim > axes:
        raise ModelError(f"expected {what} with at most {axes} axes, got shape {_sized(array.shape)}", place)
    return array.reshape((1,) * (axes - array.ndim) + array.shape)


def _sized(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


# ---------------------------------------------------------------- layers


def _pair(value: Any, dims: int, default: int, place: str) -> IntPair:
    """A size/stride/padding/dilation as a 2-D (rows, cols) pair."""
    if value is None:
        return (1, default) if dims == 1 else (default, default)
    items = [value] if isinstance(value, int) else list(value)
    for i, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, int):
            where = place if isinstance(value, int) else f"{place}[{i}]"
            raise ModelError(f"expected an integer, got {_describe(item)}", where)
    if dims == 1:
        if len(items) != 1:
            raise ModelError(
                f"expected one integer in a 1-D model (it sets the length axis), got {_describe(value)}",
                place,
            )
        return 1, int(items[0])
    if len(items) == 1:
        items = items * 2
    if len(items) != 2:
        raise ModelError(f"expected an integer or a pair of integers, got {_describe(value)}", place)
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
    """The format's readers the layer kinds parse their settings with (:class:`DocumentReader`)."""

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
        return _describe(value)


def _layer(spec: dict[str, Any], dims: int, place: str) -> Layer:
    """The layer of one schema-checked layer object: its kind reads it."""
    layer: Layer = kinds.by_type(spec["type"]).from_document(spec, dims, place, _Reader())
    return layer


# ---------------------------------------------------------------- shapes and memory


def _spatial_words(shape: Sequence[int]) -> str:
    return " x ".join(str(s) for s in shape)


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
    checked = layer.kind.check_input(layer, shape, place, source)
    if checked is not None:
        return checked.out_shape, checked.elements, checked.setting, checked.reason
    n_in = math.prod(shape)
    if isinstance(layer, FlattenLayer):
        return (n_in,), 2 * n_in, "", "its input"
    assert isinstance(layer, DenseLayer)
    if len(shape) != 1:
        raise ModelError(
            f"expected a vector input for this dense layer, got shape {_sized(shape)} from {source}; "
            "put a flatten layer before it",
            place,
        )
    if shape[0] != layer.weight.shape[1]:
        raise ModelError(
            f"expected a weight (out, in) with {shape[0]} columns, one per value of {source}, "
            f"got shape {_sized(layer.weight.shape)}",
            f"{place}.weight",
        )
    n_out = layer.weight.shape[0]
    return (n_out,), 3 * (n_in + n_out) + 3 * layer.weight.size, "", "its weight"


def _format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB" if n < 10**6 else f"{n:.2g} TB"


def _walk(
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
                f"this model would need about {_format_bytes(total)}{more} of memory for one forward and "
                f"backward pass, more than the {_format_bytes(budget)} visualconv allows; layers[{at}] alone "
                f"needs {_format_bytes(worst)} ({reason}); expected smaller sizes, channels or padding",
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
    return _walk(model.input.shape, model.layers, None)[1]


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
    return _walk(tuple(input_shape), layers)[0]


def check_memory(model: Model) -> None:
    """Refuse, before anything is allocated, a model too large for this tool.

    Raises
    ------
    ModelError
        Giving the memory the model would need and the layer that needs most.
    """
    _walk(model.input.shape, model.layers)


# ---------------------------------------------------------------- the model


def _infer_dims(raw_input: Any) -> int:
    return 1 if isinstance(raw_input, list) and all(not isinstance(v, list) for v in raw_input) else 2


def _check_structure(document: Any, scanned: bool = False) -> dict[str, Any]:
    """Steps 2 (unless ``scanned``) and 3 for a parsed document."""
    if not scanned:
        _scan(document, [], {})
    if not isinstance(document, dict):
        raise ModelError(f"expected a JSON object {{...}} at the top level, got {_json_type(document)}")
    if "format" in document and document["format"] != FORMAT:
        hint = (
            {
                "visualconv.grad/1": "; this is the output of 'visualconv grad', not a model file",
                "visualconv.train/1": "; this is the output of 'visualconv train': its 'model' key is one",
            }.get(document["format"], "")
            if isinstance(document["format"], str)
            else ""
        )
        raise ModelError(
            f'expected "{FORMAT}" (the only format version this visualconv reads), '
            f"got {_describe(document['format'])}{hint}",
            "format",
        )
    layers = document.get("layers")
    if isinstance(layers, list) and len(layers) > MAX_LAYERS:
        raise ModelError(f"expected at most {MAX_LAYERS} layers, got {len(layers)}", "layers")
    errors = list(_validator().iter_errors(document))
    if errors:
        message, place = _best_error(errors)
        raise ModelError(message, place)
    return document


def model_from_document(document: dict[str, Any]) -> Model:
    """Build and validate a :class:`Model` from a parsed document.

    The document is checked in full (structure, then meaning), so it may come from
    anywhere, not only from :func:`parse_document`.

    Raises
    ------
    ModelError
        Naming the place of the first problem.
    """
    return _guarded(lambda: _build(_check_structure(document)))


def _build(document: dict[str, Any]) -> Model:
    raw_input = document["input"]
    dims = document.get("dims")
    if dims is None:
        dims = _infer_dims(raw_input)
    layout = "(C, L)" if dims == 1 else "(C, H, W)"
    x = canonical(to_array(raw_input, "input", dims + 1), dims + 1, "input", f"an input {layout}")
    layers = tuple(_layer(spec, dims, f"layers[{i}]") for i, spec in enumerate(document["layers"]))
    if "upstream" in document and "target" in document:
        raise ModelError(
            "expected either 'upstream' or 'target' with 'loss', not both: 'upstream' starts the backward "
            "pass itself, a 'target' starts it from the loss",
            "upstream",
        )
    if "target" in document and "loss" not in document:
        raise ModelError(
            "missing 'loss': a 'target' needs one; expected for example {\"type\": \"mse\"}", "loss"
        )
    if "loss" in document and "target" not in document and "training" not in document:
        # With a training section the dataset brings the targets; the example itself
        # then has a forward pass only (unless 'upstream' is given).
        raise ModelError(
            "missing 'target': expected a target to compare the output with, since 'loss' is given", "target"
        )
    loss = None
    if "loss" in document:
        spec = document["loss"]
        if spec["type"] == "cross_entropy" and "reduction" in spec:
            raise ModelError(
                "unknown key 'reduction' for cross_entropy; "
                "expected only 'type' ('reduction' applies to mse)",
                "loss.reduction",
            )
        loss = LossSpec(spec["type"], spec.get("reduction", "half_sum"))
    shapes, _ = _walk(x.shape, layers)
    model = Model(
        name=document["name"],
        dims=dims,
        input=frozen_array(x),
        layers=layers,
        description=document.get("description", ""),
        loss=loss,
    )
    out_shape = shapes[-1]
    upstream = None
    if "upstream" in document:
        upstream = _shaped(document["upstream"], out_shape, "upstream", "upstream deltas")
    target: FloatArray | int | None = None
    if loss is not None and "target" in document:
        target = parse_target(document["target"], out_shape, loss, "target")
    training = None
    if "training" in document and loss is None:
        raise ModelError("expected a 'loss' in the model for training, to know what to minimise", "training")
    if "training" in document:
        training = _training(document["training"], model, shapes, loss)
    return Model(
        name=model.name,
        dims=dims,
        input=model.input,
        layers=layers,
        description=model.description,
        upstream=upstream,
        target=target,
        loss=loss,
        training=training,
    )


def _shaped(value: Any, shape: tuple[int, ...], place: str, what: str) -> FloatArray:
    array = to_array(value, place, len(shape))
    array = canonical(array, len(shape), place, what)
    if array.shape != shape:
        raise ModelError(
            f"expected {what} of shape {_sized(shape)} (the last layer's output), got {_sized(array.shape)}",
            place,
        )
    return frozen_array(array)


def parse_target(value: Any, out_shape: tuple[int, ...], loss: LossSpec, place: str) -> FloatArray | int:
    """A loss target: a class index for cross-entropy, an array for mse.

    Raises
    ------
    ModelError
        A class index that is not an integer from 0 to classes - 1, or an mse
        target whose shape is not the last output's.
    """
    if loss.type == "cross_entropy":
        classes = math.prod(out_shape)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModelError(
                f"expected a class index (an integer from 0 to {classes - 1}), got {_describe(value)}", place
            )
        if not 0 <= value < classes:
            raise ModelError(
                f"expected a class index from 0 to {classes - 1} (the last output has {classes} values), "
                f"got {_describe(value)}",
                place,
            )
        return int(value)
    return _shaped(value, out_shape, place, "a target")


def _training(
    spec: dict[str, Any], model: Model, shapes: list[tuple[int, ...]], loss: LossSpec | None
) -> TrainingSpec:
    if loss is None:
        raise ModelError(
            "training needs a 'target' and 'loss' in the model to know what to minimise", "training"
        )
    batch = spec.get("batch_size", "full")
    dataset = spec["dataset"]
    datasets.validate(dataset, model, shapes, loss, "training.dataset")
    return TrainingSpec(
        learning_rate=float(spec.get("learning_rate", 0.03)),
        momentum=float(spec.get("momentum", 0.0)),
        epochs=int(spec.get("epochs", 10)),
        batch_size=None if batch == "full" else int(batch),
        shuffle=bool(spec.get("shuffle", False)),
        seed=int(spec.get("seed", 0)),
        dataset=dict(dataset),
        optimizer=spec.get("optimizer", "sgd"),
    )


def _guarded(work: Any) -> Any:
    """Run ``work()``; anything but a ModelError becomes one (the API raises nothing else)."""
    try:
        return work()
    except ModelError:
        raise
    except RecursionError:
        raise ModelError(
            f"nested too deeply: expected at most {MAX_DEPTH} levels of lists and objects"
        ) from None
    except MemoryError:
        raise ModelError("not enough memory to load this model; expected a smaller model") from None
    except Exception as exc:  # a bug in visualconv: still one clear error for the user
        text = " ".join(str(exc).split())[:120]
        raise ModelError(f"{INTERNAL_ERROR} ({type(exc).__name__}: {text}); please report this") from exc


def loads(text: str | bytes, file: str = "") -> Model:
    """Parse and validate model-file text (bytes are read as UTF-8).

    Raises
    ------
    ModelError
        Naming ``file``, the place and what was expected.
    """
    try:
        if isinstance(text, (bytes, bytearray)):
            text = _decode_bytes(bytes(text))
        return _guarded(lambda: _build(parse_document(text)))
    except ModelError as exc:
        raise exc.in_file(file) from None


def _decode_bytes(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "UTF-32" if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) else "UTF-16"
        raise ModelError(
            f"expected UTF-8 text, got {encoding} (the file starts with a {encoding} byte-order mark); "
            "save it as UTF-8"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = (
            "UTF-16 without a byte-order mark?"
            if byte == 0 or b"\x00" in data[:64]
            else "Latin-1 or Windows-1252?"
        )
        raise ModelError(
            f"expected UTF-8 text, got the byte 0x{byte:02x}, which is not UTF-8 ({hint}); "
            "save the file as UTF-8",
            f"line {line}, column {column}",
        ) from None


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read and validate a model file.

    Raises
    ------
    ModelError
        For an unreadable file or any problem in it, naming the file and the place.
    """
    name = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    try:
        data = _read(path)
        text = _decode_bytes(data)
    except ModelError as exc:
        raise exc.in_file(name) from None
    return loads(text, name)


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ModelError("expected a model file, got a directory")
        if not stat.S_ISREG(info.st_mode):
            raise ModelError("expected a model file, got a device, pipe or socket")
        if info.st_size > MAX_FILE_BYTES:
            raise ModelError(_too_large(info.st_size))
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except ModelError:
        raise
    except OSError as exc:
        raise ModelError(f"cannot read the file: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:  # a NUL character in the name, a name that is no path
        raise ModelError(f"cannot read the file: {exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ModelError(_too_large(len(data)))
    return data


def _too_large(size: int) -> str:
    return (
        f"the file is {_format_bytes(size)}; expected a model file of at most {_format_bytes(MAX_FILE_BYTES)}"
    )


# ---------------------------------------------------------------- saving


def _array_out(array: FloatArray) -> Any:
    return np.asarray(array).tolist()


def _pair_out(pair: IntPair, dims: int) -> int | list[int]:
    if dims == 1:
        return pair[1]
    return pair[0] if pair[0] == pair[1] else [pair[0], pair[1]]


def layer_document(layer: Layer, dims: int) -> dict[str, Any]:
    """One layer as a model-file object (canonical shapes): its kind writes it."""
    document: dict[str, Any] = layer.kind.to_document(layer, dims)
    return document


def model_document(model: Model) -> dict[str, Any]:
    """The model as a model-file document (canonical shapes, round-trips)."""
    doc: dict[str, Any] = {"format": FORMAT, "name": model.name}
    if model.description:
        doc["description"] = model.description
    doc["dims"] = model.dims
    doc["input"] = _array_out(model.input)
    doc["layers"] = [layer_document(layer, model.dims) for layer in model.layers]
    if model.upstream is not None:
        doc["upstream"] = _array_out(model.upstream)
    if model.target is not None and model.loss is not None:
        doc["target"] = model.target if isinstance(model.target, int) else _array_out(model.target)
    if model.loss is not None and (model.target is not None or model.training is not None):
        loss: dict[str, Any] = {"type": model.loss.type}
        if model.loss.type == "mse":
            loss["reduction"] = model.loss.reduction
        doc["loss"] = loss
    if model.training is not None:
        t = model.training
        doc["training"] = {
            "optimizer": t.optimizer,
            "learning_rate": t.learning_rate,
            "momentum": t.momentum,
            "epochs": t.epochs,
            "batch_size": "full" if t.batch_size is None else t.batch_size,
            "shuffle": t.shuffle,
            "seed": t.seed,
            "dataset": t.dataset,
        }
    return doc


def dumps(document: Any, indent: int = 2) -> str:
    """JSON text with innermost number lists kept on one line (readable matrices)."""

    def render(value: Any, level: int) -> str:
        pad = " " * (indent * (level + 1))
        end = " " * (indent * level)
        if isinstance(value, dict):
            if not value:
                return "{}"
            items = [f"{pad}{json.dumps(k)}: {render(v, level + 1)}" for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + end + "}"
        if isinstance(value, list):
            if all(not isinstance(v, (list, dict)) for v in value):
                return "[" + ", ".join(json.dumps(v) for v in value) + "]"
            items = [pad + render(v, level + 1) for v in value]
            return "[\n" + ",\n".join(items) + "\n" + end + "]"
        return json.dumps(value, allow_nan=False)

    return render(document, 0) + "\n"


def _umask() -> int:
    """The process's umask, read without changing it (Linux); 0o022 elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A failure mid-write leaves the old file untouched. A file that is replaced
    keeps its permissions (a symbolic link: the file it points to is replaced).
    """
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model: Model, path: str | os.PathLike[str]) -> None:
    """Write ``model`` as a model file, atomically."""
    atomic_write_text(path, dumps(model_document(model)))

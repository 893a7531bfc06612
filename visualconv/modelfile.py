"""Load, validate and save model files (format ``visualconv/1``).

Validation runs in two stages: the JSON Schema shipped in the package checks the
structure (keys, types, enums), then :func:`model_from_document` checks what a
schema cannot (ragged arrays, shapes, layer-to-layer fit, memory). Every problem is
raised as one :class:`ModelError` naming the file, the place and what was expected.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .engine import datasets
from .engine.errors import ModelError
from .engine.layers import ConvLayer, DenseLayer, FlattenLayer, Layer, PoolLayer, frozen_array
from .engine.model import LossSpec, Model, TrainingSpec
from .engine.windows import FloatArray, IntPair

FORMAT = "visualconv/1"
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_AXES = 6
# Tensors and sliding-window copies of one example may not need more than this.
MEMORY_BUDGET_BYTES = 2 * 1024**3


def place_of(path: Iterable[str | int]) -> str:
    """Format a JSON path as ``layers[1].stride``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the model format, as shipped in the package."""
    text = resources.files("visualconv").joinpath("schema/model.schema.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(schema())


def _describe(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, _NonFinite) else value.token
    return text if len(text) <= 40 else text[:37] + "..."


def _schema_error_message(error: Any) -> str:
    """Turn a jsonschema error into 'expected ..., got ...'."""
    expected = error.schema.get("x-expected") if isinstance(error.schema, dict) else None
    validator = error.validator
    got = _describe(error.instance)
    if expected:
        return f"expected {expected}, got {got}"
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"missing required key '{missing}'"
    if validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        return f"unknown key {', '.join(repr(e) for e in extra)}; expected one of {', '.join(known)}"
    if validator in ("enum", "const"):
        options = error.validator_value if validator == "enum" else [error.validator_value]
        return f"expected one of {', '.join(json.dumps(o) for o in options)}, got {got}"
    if validator == "type":
        types = error.validator_value
        types = " or ".join(types) if isinstance(types, list) else types
        return f"expected {types}, got {got}"
    if validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {
            "minimum": ">=",
            "exclusiveMinimum": ">",
            "maximum": "<=",
            "exclusiveMaximum": "<",
        }
        return f"expected a number {words[validator]} {error.validator_value}, got {got}"
    if validator == "minItems":
        return f"expected at least {error.validator_value} item(s), got {got}"
    if validator == "minLength":
        return "expected a non-empty string"
    return error.message


class _NonFinite:
    """Placeholder for NaN/Infinity tokens so the checker can name their place."""

    def __init__(self, token: str) -> None:
        self.token = token


def _find_non_finite(value: Any, path: list[str | int]) -> None:
    if isinstance(value, _NonFinite) or (isinstance(value, float) and not math.isfinite(value)):
        token = value.token if isinstance(value, _NonFinite) else "a number too large for float64"
        raise ModelError(f"expected a finite number, got {token}", place_of(path))
    if isinstance(value, dict):
        for key, item in value.items():
            _find_non_finite(item, [*path, key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _find_non_finite(item, [*path, i])


def parse_document(text: str) -> dict[str, Any]:
    """Parse JSON text into a document and check it against the schema.

    Raises
    ------
    ModelError
        For bad JSON, non-finite numbers or a structural error, with its place.
    """
    try:
        document = json.loads(text, parse_constant=_NonFinite)
    except json.JSONDecodeError as exc:
        raise ModelError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ModelError("the JSON is nested too deeply to be a model") from None
    if not isinstance(document, dict):
        raise ModelError(f"expected a JSON object at the top level, got {type(document).__name__}")
    try:
        _find_non_finite(document, [])
    except RecursionError:
        raise ModelError("the JSON is nested too deeply to be a model") from None
    if "format" in document and document["format"] != FORMAT:
        raise ModelError(f"expected \"{FORMAT}\", got {_describe(document['format'])}", "format")
    errors = sorted(_validator().iter_errors(document), key=lambda e: (-len(e.absolute_path), str(e.absolute_path)))
    if errors:
        # The deepest error is the most specific one; jsonschema's own ranking prefers
        # shallow errors from if/then branches.
        import jsonschema

        error = jsonschema.exceptions.best_match(errors)
        error = _most_specific(error)
        raise ModelError(_schema_error_message(error), place_of(error.absolute_path))
    return document


def _most_specific(error: Any) -> Any:
    # For oneOf/anyOf with our own 'x-expected' text, stop here; else descend.
    while error.context and not (isinstance(error.schema, dict) and "x-expected" in error.schema):
        import jsonschema

        error = jsonschema.exceptions.best_match(error.context)
    return error


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
        raise ModelError("expected a non-empty array", place)
    return np.array(value, dtype=np.float64).reshape(shape)


def _shape_of(value: Any, place: str, depth: int, max_axes: int) -> tuple[int, ...]:
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        raise ModelError(f"expected a number, got {_describe(value)}", place)
    if not isinstance(value, list):
        return ()
    if depth >= max_axes:
        raise ModelError(f"expected at most {max_axes} nested list levels", place)
    if not value:
        return (0,)
    first = _shape_of(value[0], f"{place}[0]", depth + 1, max_axes)
    for i, item in enumerate(value[1:], start=1):
        shape = _shape_of(item, f"{place}[{i}]", depth + 1, max_axes)
        if shape != first:
            raise ModelError(
                f"ragged array: expected {_shape_words(first)} like {place}[0], got {_shape_words(shape)}",
                f"{place}[{i}]",
            )
    return (len(value), *first)


def _shape_words(shape: tuple[int, ...]) -> str:
    if not shape:
        return "a number"
    if len(shape) == 1:
        return f"a list of {shape[0]} numbers"
    return "an array of shape " + "x".join(str(s) for s in shape)


def canonical(array: FloatArray, axes: int, place: str, what: str) -> FloatArray:
    """Prepend size-1 axes up to ``axes`` (the shorthand of the format)."""
    if array.ndim > axes:
        raise ModelError(f"expected {what} with at most {axes} axes, got shape {array.shape}", place)
    return array.reshape((1,) * (axes - array.ndim) + array.shape)


def _pair(value: Any, dims: int, default: int, place: str) -> IntPair:
    """A size/stride/padding/dilation as a 2-D (rows, cols) pair."""
    if value is None:
        return (1, default) if dims == 1 else (default, default)
    items = [value] if isinstance(value, int) else list(value)
    if dims == 1:
        if len(items) != 1:
            raise ModelError(f"expected one integer in a 1-D model, got {_describe(value)}", place)
        return 1, int(items[0])
    if len(items) == 1:
        items = items * 2
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
        raise ModelError(f"expected {c_out} bias value(s), one per output channel, got {bias.size}", place)
    return frozen_array(bias)


def _layer(spec: dict[str, Any], dims: int, place: str) -> Layer:
    kind = spec["type"]
    if kind == "conv":
        weight = canonical(to_array(spec["weight"], f"{place}.weight", dims + 2), dims + 2, f"{place}.weight", "a weight")
        weight = frozen_array(weight)
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
    weight = frozen_array(canonical(to_array(spec["weight"], f"{place}.weight", 2), 2, f"{place}.weight", "a weight"))
    return DenseLayer(
        weight=weight,
        bias=_bias(spec.get("bias"), weight.shape[0], f"{place}.bias", "bias" in spec),
        activation=spec.get("activation", "identity"),
    )


def estimated_bytes(model: Model) -> int:
    """Memory that one forward and backward pass of the example needs, roughly.

    Counts every activation and gradient and the window copies that the matrix
    products make (input channels x kernel cells x output positions).
    """
    shapes = model.shapes()
    total = 0
    for layer, in_shape, out_shape in zip(model.layers, shapes, shapes[1:], strict=False):
        total += 3 * (math.prod(in_shape) + math.prod(out_shape))
        if isinstance(layer, ConvLayer):
            kh, kw = layer.kernel_size
            total += 2 * in_shape[0] * kh * kw * math.prod(out_shape[1:])
            total += 2 * layer.weight.size
        elif isinstance(layer, PoolLayer):
            total += 2 * layer.size[0] * layer.size[1] * math.prod(out_shape)
        elif isinstance(layer, DenseLayer):
            total += 2 * layer.weight.size
    return 8 * total


def _format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def check_memory(model: Model) -> None:
    """Refuse, before anything is allocated, a model too large for this tool."""
    needed = estimated_bytes(model)
    if needed > MEMORY_BUDGET_BYTES:
        raise ModelError(
            f"this model would need about {_format_bytes(needed)} of memory, more than the "
            f"{_format_bytes(MEMORY_BUDGET_BYTES)} visualconv allows; make the input, channels or "
            "padding smaller"
        )


def _sized(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def model_from_document(document: dict[str, Any]) -> Model:
    """Build and validate a :class:`Model` from a parsed, schema-checked document."""
    raw_input = document["input"]
    dims = document.get("dims")
    if dims is None:
        dims = 1 if isinstance(raw_input, list) and all(not isinstance(v, list) for v in raw_input) else 2
    x = canonical(to_array(raw_input, "input", dims + 1), dims + 1, "input", "an input")
    layers = tuple(_layer(spec, dims, f"layers[{i}]") for i, spec in enumerate(document["layers"]))
    if "upstream" in document and "target" in document:
        raise ModelError("give either 'upstream' or 'target' with 'loss', not both", "upstream")
    if "target" in document and "loss" not in document:
        raise ModelError("a 'target' needs a 'loss' (for example {\"type\": \"mse\"})", "loss")
    if "loss" in document and "target" not in document:
        raise ModelError("a 'loss' needs a 'target' to compare the output with", "target")
    loss = None
    if "loss" in document:
        spec = document["loss"]
        if spec["type"] == "cross_entropy" and "reduction" in spec:
            raise ModelError("'reduction' applies to mse only", "loss.reduction")
        loss = LossSpec(spec["type"], spec.get("reduction", "half_sum"))
    model = Model(
        name=document["name"],
        dims=dims,
        input=frozen_array(x),
        layers=layers,
        description=document.get("description", ""),
        loss=loss,
    )
    shapes = model.shapes()
    check_memory(model)
    out_shape = shapes[-1]
    upstream = None
    if "upstream" in document:
        upstream = _shaped(document["upstream"], out_shape, "upstream", "upstream deltas")
    target: FloatArray | int | None = None
    if loss is not None:
        target = parse_target(document["target"], out_shape, loss, "target")
    training = None
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
    array = canonical(to_array(value, place, len(shape)), len(shape), place, what)
    if array.shape != shape:
        raise ModelError(
            f"expected {what} of shape {_sized(shape)} (the last layer's output), got {_sized(array.shape)}",
            place,
        )
    return frozen_array(array)


def parse_target(value: Any, out_shape: tuple[int, ...], loss: LossSpec, place: str) -> FloatArray | int:
    """A loss target: a class index for cross-entropy, an array for mse."""
    if loss.type == "cross_entropy":
        classes = math.prod(out_shape)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise ModelError(f"expected a class index (an integer from 0 to {classes - 1}), got {_describe(value)}", place)
        if not 0 <= int(value) < classes:
            raise ModelError(f"expected a class index from 0 to {classes - 1}, got {int(value)}", place)
        return int(value)
    return _shaped(value, out_shape, place, "a target")


def _training(spec: dict[str, Any], model: Model, shapes: list[tuple[int, ...]], loss: LossSpec | None) -> TrainingSpec:
    if loss is None:
        raise ModelError("training needs a 'target' and 'loss' in the model to know what to minimise", "training")
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


def loads(text: str, file: str = "") -> Model:
    """Parse and validate model-file text.

    Raises
    ------
    ModelError
        Naming ``file``, the place and what was expected.
    """
    try:
        return model_from_document(parse_document(text))
    except ModelError as exc:
        raise exc.in_file(file) from None


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read and validate a model file.

    Raises
    ------
    ModelError
        For an unreadable file or any problem in it, naming the file and the place.
    """
    name = str(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise ModelError(f"the file is {size / 1e6:.0f} MB; model files are limited to {MAX_FILE_BYTES // 2**20} MB", "", name)
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ModelError(f"cannot read the file: {exc.strerror or exc}", "", name) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ModelError(f"expected UTF-8 text, found byte 0x{data[exc.start]:02x} at offset {exc.start}", "", name) from None
    if not text.strip():
        raise ModelError("the file is empty; expected a JSON model", "", name)
    return loads(text, name)


# ---------------------------------------------------------------- saving


def _array_out(array: FloatArray) -> Any:
    return np.asarray(array).tolist()


def _pair_out(pair: IntPair, dims: int) -> int | list[int]:
    if dims == 1:
        return pair[1]
    return pair[0] if pair[0] == pair[1] else [pair[0], pair[1]]


def layer_document(layer: Layer, dims: int) -> dict[str, Any]:
    """One layer as a model-file object (canonical shapes)."""
    if isinstance(layer, ConvLayer):
        doc: dict[str, Any] = {"type": "conv", "weight": _array_out(layer.weight)}
        doc["bias"] = None if layer.bias is None else _array_out(layer.bias)
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
    return {
        "type": "dense",
        "weight": _array_out(layer.weight),
        "bias": None if layer.bias is None else _array_out(layer.bias),
        "activation": layer.activation,
    }


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


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A failure mid-write leaves the old file untouched.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model: Model, path: str | os.PathLike[str]) -> None:
    """Write ``model`` as a model file, atomically."""
    atomic_write_text(path, dumps(model_document(model)))

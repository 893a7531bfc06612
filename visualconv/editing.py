"""Edits of a model as pure functions: each takes a Model and returns a new one.

The window's editors call these; every function either returns a valid model or
raises :class:`ModelError` saying what was wrong, so the window can keep showing the
last valid model. Tensors are named by their place in the model file (``input``,
``layers[0].weight``, ``layers[0].bias``, ``upstream``, ``target``), the same names
the error messages use.

Changing a layer's size or channels resizes everything that depends on it (the next
layer's weights, a dense layer after a flatten, the upstream deltas or the target),
keeping the values that still fit and filling the rest with zeros.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any

import numpy as np

from .engine import kinds
from .engine.budget import MEMORY_BUDGET_BYTES, check_layers, check_memory
from .engine.errors import Message, ModelError
from .engine.kinds import CONV, Layer
from .engine.kinds.base import frozen_array
from .engine.model import LossSpec, Model
from .engine.windows import FloatArray

_LAYER_TENSOR = re.compile(r"^layers\[(\d+)\]\.(weight|bias)$")

SETTINGS = ("stride", "padding", "dilation", "activation", "mode", "size", "kernel_size", "out_channels")


def tensor_names(model: Model) -> list[str]:
    """Every editable tensor of the model, in file order."""
    names = ["input"]
    for i, layer in enumerate(model.layers):
        for name in layer.parameters():
            names.append(f"layers[{i}].{name}")
    if model.upstream is not None:
        names.append("upstream")
    if model.target is not None and not isinstance(model.target, int):
        names.append("target")
    return names


def get_tensor(model: Model, name: str) -> FloatArray:
    """The array named ``name`` (canonical shape; conv weights in their file shape)."""
    if name == "input":
        return model.input
    if name == "upstream" and model.upstream is not None:
        return model.upstream
    if name == "target" and model.target is not None and not isinstance(model.target, int):
        return model.target
    match = _LAYER_TENSOR.match(name)
    if match:
        index, attr = int(match.group(1)), match.group(2)
        if index < len(model.layers):
            params = model.layers[index].parameters()
            if attr in params:
                return params[attr]
    raise ModelError(Message("the model has no tensor named {name!r}", name=name), name)


def _validated(model: Model, dataset: dict[str, Any] | None = None) -> Model:
    """``model`` if it is consistent; its dataset (or ``dataset``, a section as written) checked anew.

    The dataset is checked against the edited model again because what it means (the
    shapes of its images, the teacher layer) depends on the model.
    """
    shapes = model.shapes()
    check_memory(model)
    training = model.training
    if training is not None and dataset is None and training.dataset is not None:
        dataset = training.dataset.document()
    if training is not None and model.loss is not None and dataset is not None:
        from .engine import datasets

        checked = datasets.validate(dataset, model, shapes, model.loss, "training.dataset")
        model = dataclasses.replace(model, training=dataclasses.replace(training, dataset=checked))
    out = shapes[-1]
    if model.upstream is not None and model.upstream.shape != out:
        raise ModelError(
            Message("expected shape {out}, got {shape}", out=out, shape=model.upstream.shape), "upstream"
        )
    if isinstance(model.target, np.ndarray) and model.target.shape != out:
        raise ModelError(
            Message("expected shape {out}, got {shape}", out=out, shape=model.target.shape), "target"
        )
    if isinstance(model.target, int) and not 0 <= model.target < math.prod(out):
        raise ModelError(
            Message("expected a class index from 0 to {count}", count=math.prod(out) - 1), "target"
        )
    return model


def _finite(array: FloatArray, name: str) -> FloatArray:
    if not np.all(np.isfinite(array)):
        raise ModelError(Message("expected finite numbers; NaN and infinity are not allowed"), name)
    return frozen_array(array)


def with_tensor(model: Model, name: str, values: Any) -> Model:
    """A copy of ``model`` with tensor ``name`` replaced by ``values`` of the same shape."""
    current = get_tensor(model, name)
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError(Message("expected numbers"), name) from None
    if array.shape != current.shape:
        raise ModelError(
            Message("expected shape {expected}, got {shape}", expected=current.shape, shape=array.shape), name
        )
    array = _finite(array, name)
    if name == "input":
        return _validated(dataclasses.replace(model, input=array))
    if name == "upstream":
        return _validated(dataclasses.replace(model, upstream=array))
    if name == "target":
        return _validated(dataclasses.replace(model, target=array))
    match = _LAYER_TENSOR.match(name)
    assert match is not None
    index = int(match.group(1))
    layer = model.layers[index].with_parameters(**{match.group(2): array})
    return _validated(model.with_layer(index, layer))


def parse_number(text: str, name: str = "") -> float:
    """A number typed by a user: ``1.5``, ``-2``, ``1e-3`` (comma decimal accepted).

    Raises
    ------
    ModelError
        For anything that is not a finite number.
    """
    cleaned = text.strip().replace("\u2212", "-")
    if re.fullmatch(r"[+-]?\d+,\d+", cleaned):
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise ModelError(Message("expected a number, got {text!r}", text=text.strip()), name) from None
    if not math.isfinite(value):
        raise ModelError(Message("expected a finite number, got {text!r}", text=text.strip()), name)
    return value


def set_cell(model: Model, name: str, index: tuple[int, ...], value: float | str) -> Model:
    """A copy with one cell of tensor ``name`` set (text is parsed with :func:`parse_number`)."""
    number = parse_number(value, name) if isinstance(value, str) else float(value)
    if not math.isfinite(number):
        raise ModelError(Message("expected a finite number, got {number}", number=number), name)
    array = np.array(get_tensor(model, name))
    try:
        array[index] = number
    except IndexError:
        raise ModelError(
            Message("cell {index} is outside the shape {shape}", index=index, shape=array.shape), name
        ) from None
    return with_tensor(model, name, array)


def fill(model: Model, name: str, kind: str, *, seed: int = 0, index: tuple[int, ...] | None = None) -> Model:
    """Fill tensor ``name`` with a pattern.

    ``zeros``, ``ones``, ``random`` (seeded, two decimals), ``identity`` (see
    :func:`_identity`) or ``impulse`` (one-hot at ``index``: an impulse dZ isolates
    one output's contribution).
    """
    shape = get_tensor(model, name).shape
    if kind == "zeros":
        array = np.zeros(shape)
    elif kind == "ones":
        array = np.ones(shape)
    elif kind == "random":
        array = np.round(np.random.default_rng(seed).uniform(-1, 1, shape), 2)
    elif kind == "identity":
        array = _identity(name, shape)
    elif kind == "impulse":
        if index is None:
            raise ModelError(Message("an impulse needs the cell to put the 1 in"), name)
        array = np.zeros(shape)
        try:
            array[index] = 1.0
        except IndexError:
            raise ModelError(
                Message("cell {index} is outside the shape {shape}", index=index, shape=shape), name
            ) from None
    else:
        raise ModelError(
            Message("unknown fill {kind!r}; expected zeros, ones, random, identity or impulse", kind=kind),
            name,
        )
    return with_tensor(model, name, array)


def _identity(name: str, shape: tuple[int, ...]) -> FloatArray:
    """The tensor that passes its input through unchanged.

    A conv weight gets a 1 at the kernel's centre where output channel == input
    channel; a dense weight is the identity matrix; any other tensor gets a 1 at
    the centre of each channel.
    """
    array = np.zeros(shape)
    if name.endswith(".weight") and len(shape) >= 3:
        centre = tuple(s // 2 for s in shape[2:])
        for f in range(min(shape[0], shape[1])):
            array[(f, f, *centre)] = 1.0
    elif name.endswith(".weight") and len(shape) == 2:
        array = np.eye(shape[0], shape[1])
    else:
        centre = tuple(s // 2 for s in shape[1:])
        for c in range(shape[0]):
            array[(c, *centre)] = 1.0
    return array


def parse_matrix(text: str, name: str = "") -> FloatArray:
    """Parse pasted text: a JSON/NumPy-style nested list or CSV (commas, tabs, spaces, ;).

    Returns
    -------
    ndarray
        1-D for one row, 2-D for several rows, or as nested for a list.
    """
    stripped = text.strip()
    if not stripped:
        raise ModelError(Message("nothing to paste: the clipboard is empty"), name)
    if stripped.startswith("["):
        body = re.sub(r"^(np\.)?array\(|\)$", "", stripped)
        try:
            value = json.loads(body.replace("'", '"'))
            array = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError):
            raise ModelError(
                Message("expected a nested list of numbers like [[1, 2], [3, 4]]"), name
            ) from None
    else:
        if stripped.startswith(("array(", "np.array(")):
            return parse_matrix(re.sub(r"^(np\.)?array\(|\)$", "", stripped), name)
        rows = []
        for line_no, line in enumerate(stripped.splitlines(), start=1):
            if not line.strip():
                continue
            cells = [c for c in re.split(r"[,;\t ]+", line.strip()) if c]
            try:
                rows.append([parse_number(c, name) for c in cells])
            except ModelError as exc:
                raise ModelError(
                    Message("line {line_no}: {message}", line_no=line_no, message=exc.message), name
                ) from None
        if len({len(r) for r in rows}) != 1:
            raise ModelError(Message("every pasted row needs the same number of values"), name)
        array = np.asarray(rows, dtype=np.float64)
        if array.shape[0] == 1:
            array = array[0]
    if not np.all(np.isfinite(array)):
        raise ModelError(Message("expected finite numbers; NaN and infinity are not allowed"), name)
    return array


def paste(model: Model, name: str, text: str, lead: tuple[int, ...] = ()) -> Model:
    """Paste text into tensor ``name``, or into its slice ``lead`` (e.g. one channel's tile).

    The pasted block must have the shape of that slice (size-1 axes may be left out).
    """
    block = parse_matrix(text, name)
    array = np.array(get_tensor(model, name))
    target = array[lead] if lead else array
    squeezed_target = tuple(s for s in target.shape if s != 1)
    squeezed_block = tuple(s for s in block.shape if s != 1)
    if squeezed_block != squeezed_target:
        raise ModelError(
            Message(
                "pasted values have shape {shape}; expected {expected}",
                shape=block.shape,
                expected=target.shape,
            ),
            name,
        )
    if lead:
        array[lead] = block.reshape(target.shape)
    else:
        array = block.reshape(target.shape)
    return with_tensor(model, name, array)


def to_csv(array: FloatArray) -> str:
    """A 1-D or 2-D array as CSV text (numbers round-trip)."""
    arr = np.atleast_2d(np.asarray(array, dtype=np.float64))
    if arr.ndim != 2:
        raise ValueError("CSV holds one matrix at a time; pick a channel")
    return "\n".join(",".join(repr(float(v)) for v in row) for row in arr) + "\n"


# ------------------------------------------------------------ settings


def _fit(array: FloatArray, shape: tuple[int, ...]) -> FloatArray:
    """``array`` cropped or zero-padded (at the end of each axis) to ``shape``.

    Refuses, before allocating, an array larger than the memory budget.
    """
    if 8 * math.prod(shape) > MEMORY_BUDGET_BYTES:
        size = 8 * math.prod(shape) / 2**30
        raise ModelError(
            Message(
                "an array of shape {shape} would need {size:.1f} GB, more than visualconv "
                "allows; choose smaller sizes",
                shape=shape,
                size=size,
            )
        )
    out = np.zeros(shape)
    if array.ndim != len(shape):
        return out
    region = tuple(slice(0, min(a, b)) for a, b in zip(array.shape, shape, strict=True))
    out[region] = array[region]
    return out


def _reconnect(model: Model, layers: list[Layer]) -> Model:
    """Adapt every layer after a change to the shape its input now has."""
    shape = tuple(model.input.shape)
    fixed: list[Layer] = []
    for i, layer in enumerate(layers):
        fitted = layer.kind.fitted_weight_shape(layer, shape)
        weight = layer.parameters().get("weight")
        if fitted is not None and weight is not None and weight.shape != fitted:
            layer = layer.with_parameters(weight=_fit(weight, fitted))
        fixed.append(layer)
        try:
            shape = layer.output_shape(shape)
        except ValueError as exc:
            raise ModelError(str(exc), f"layers[{i}]") from None
    # Shapes and the memory budget first, with integers only: nothing big is built
    # for a stack that will be refused.
    check_layers(model.input.shape, fixed)
    upstream = model.upstream
    if upstream is not None and upstream.shape != shape:
        upstream = frozen_array(_fit(upstream, shape))
    target = model.target
    if isinstance(target, np.ndarray) and target.shape != shape:
        target = frozen_array(_fit(target, shape))
    if isinstance(target, int) and target >= math.prod(shape):
        target = 0
    dataset = _refit_dataset(model, shape)
    return _validated(
        dataclasses.replace(model, layers=tuple(fixed), upstream=upstream, target=target), dataset
    )


def _refit_dataset(model: Model, out_shape: tuple[int, ...]) -> dict[str, Any] | None:
    """An inline dataset section with its examples resized like the model's own example (None otherwise).

    Inline inputs take the model's input shape and inline targets the last output's
    shape (values kept where they fit, zeros elsewhere), so an edited model still
    loads and trains. Class indices out of range become 0.
    """
    training = model.training
    if training is None or training.dataset is None or training.dataset.kind != "inline":
        return None
    dataset = training.dataset.document()
    in_shape = tuple(model.input.shape)
    inputs = [np.asarray(x, dtype=np.float64) for x in dataset.get("inputs", [])]
    dataset["inputs"] = [
        _fit(x.reshape((1,) * (len(in_shape) - x.ndim) + x.shape), in_shape).tolist()
        if x.ndim <= len(in_shape)
        else x.tolist()
        for x in inputs
    ]
    targets = dataset.get("targets", [])
    if model.loss is not None and model.loss.classifies:
        classes = math.prod(out_shape)
        dataset["targets"] = [t if isinstance(t, int) and 0 <= t < classes else 0 for t in targets]
    else:
        fitted = []
        for t in targets:
            arr = np.asarray(t, dtype=np.float64)
            if arr.ndim <= len(out_shape):
                arr = _fit(arr.reshape((1,) * (len(out_shape) - arr.ndim) + arr.shape), out_shape)
            fitted.append(arr.tolist())
        dataset["targets"] = fitted
    return dataset


def set_layer_setting(model: Model, index: int, key: str, value: Any) -> Model:
    """A copy with one setting of layer ``index`` changed, downstream shapes adapted.

    Keys: ``stride``, ``padding``, ``dilation``, ``activation``, ``mode``, ``size``
    (pool), ``kernel_size`` and ``out_channels`` (conv; dense: ``out_channels`` is the
    number of outputs). Values may be typed text (``"2"``, ``"2, 1"``).
    """
    if not 0 <= index < len(model.layers):
        raise ModelError(Message("there is no layer {index}", index=index), "layers")
    layer = model.layers[index]
    place = f"layers[{index}].{key}"
    new = layer.kind.with_setting(layer, key, value, model.dims, place, _fit)
    layers = list(model.layers)
    layers[index] = new
    return _reconnect(model, layers)


def set_input_shape(model: Model, shape: Any) -> Model:
    """A copy whose input has a new (C, L) or (C, H, W) shape; values kept where they fit."""
    try:
        dims_shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ModelError(
            Message("expected a shape of integers, got {shape!r}", shape=shape), "input"
        ) from None
    if len(dims_shape) != model.dims + 1 or min(dims_shape) < 1:
        raise ModelError(
            Message(
                "expected {count} positive sizes (channels first), got {shape!r}",
                count=model.dims + 1,
                shape=shape,
            ),
            "input",
        )
    if math.prod(dims_shape) > 16_777_216:
        raise ModelError(
            Message(
                "an input of {count} values is more than visualconv handles", count=math.prod(dims_shape)
            ),
            "input",
        )
    check_layers(dims_shape, model.layers)
    resized = dataclasses.replace(model, input=frozen_array(_fit(model.input, dims_shape)))
    return _reconnect(resized, list(model.layers))


def empty_model(dims: int = 2) -> Model:
    """The smallest model: a 1x1 input, a 1x1 conv kernel and a 1x1 upstream delta."""
    shape = (1, 1) if dims == 1 else (1, 1, 1)
    layer = CONV.new_layer(shape, dims)
    return Model(
        name="Untitled",
        dims=dims,
        input=frozen_array(np.zeros(shape)),
        layers=(layer,),
        upstream=frozen_array(np.zeros(shape)),
    )


def use_loss(model: Model, loss: LossSpec | None, target: Any = None) -> Model:
    """Switch between upstream deltas (``loss=None``) and a target with a loss."""
    out = model.shapes()[-1]
    if loss is None:
        return _validated(
            dataclasses.replace(model, loss=None, target=None, upstream=frozen_array(np.zeros(out)))
        )
    if loss.classifies:
        tgt: Any = 0 if target is None else int(target)
    else:
        tgt = frozen_array(np.zeros(out) if target is None else _fit(np.asarray(target, dtype=float), out))
    return _validated(dataclasses.replace(model, loss=loss, target=tgt, upstream=None))


def add_layer(model: Model, kind: str) -> Model:
    """A copy with a new layer of ``kind`` (conv, pool, flatten, dense) at the end."""
    out = model.shapes()[-1]
    if kind not in kinds.REGISTRY:
        raise ModelError(Message("unknown layer type {kind!r}", kind=kind), "layers")
    layer = kinds.by_type(kind).new_layer(out, model.dims)
    return _reconnect(model, [*model.layers, layer])


def remove_layer(model: Model, index: int) -> Model:
    """A copy without layer ``index`` (a model keeps at least one layer)."""
    if len(model.layers) == 1:
        raise ModelError(Message("a model needs at least one layer"), "layers")
    layers = [layer for i, layer in enumerate(model.layers) if i != index]
    return _reconnect(model, layers)

"""Training datasets: validation and materialisation of a ``training.dataset`` section.

Four kinds:

``inline``
    ``{"kind": "inline", "inputs": [...], "targets": [...]}`` — the examples written
    out. Each input follows the shorthand of the model's ``input`` and each target
    that of its ``target`` (a class index for cross-entropy).
``teacher``
    Random images (values uniform in [0, 1)) and the targets a hidden *teacher*
    produces: the model itself with one conv layer's weight replaced by the teacher
    kernel. Fields ``kernel`` (a name from :data:`NAMED_KERNELS` or an array with the
    layer's weight shorthand; required), ``bias`` (default 0), ``layer`` (index of
    the conv layer; default the first), ``count`` (default 32), ``size`` (image
    size, an int or [H, W]; default the model's input size), ``noise`` (standard
    deviation of Gaussian noise added to the targets; default 0), ``seed``.
``shapes``
    Small noisy images of bars, crosses and squares with class labels. Fields
    ``classes`` (names from :data:`SHAPE_CLASSES`; default bar, cross, square),
    ``count`` (default 60), ``size`` (default the model's input size), ``noise``
    (standard deviation of Gaussian pixel noise; default 0.1), ``seed``.
``digits``
    The 8x8 handwritten digits that scikit-learn ships (values scaled to [0, 1]),
    when scikit-learn is installed (``pip install scikit-learn``, or the ``digits``
    extra of visualconv). Fields ``digits`` (which digits to keep, default 0..9;
    class k is the k-th of them), ``count`` (default all).

Every problem raises :class:`ModelError` placed inside the dataset section, for
example ``training.dataset.inputs[3]``.

:func:`validate` checks a section against the model it trains, once, and returns a
typed, frozen :class:`Dataset` (one class per kind) holding what the checks found
(the inline arrays, the teacher layer, the image shapes, counts and seeds) and the
section as written (:attr:`Dataset.written`, written back unchanged).
:func:`materialise` builds the examples from it without checking again.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..i18n import _
from .errors import Message, ModelError
from .kinds import CONV, ConvLayer, Layer
from .kinds.base import LayerDoesNotFit, output_shapes
from .windows import FloatArray

Shape = tuple[int, ...]

KINDS = ("inline", "teacher", "shapes", "digits")

NAMED_KERNELS: dict[str, list[Any]] = {
    "edge": [1.0, -1.0],
    "sobel_x": [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]],
    "sobel_y": [[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]],
    "laplace": [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]],
    "blur": [[1 / 9] * 3] * 3,
}
"""Teacher kernels by name (written in the weight shorthand)."""

SHAPE_CLASSES = ("bar", "hbar", "vbar", "cross", "square")
"""Shape names: a horizontal or vertical bar, only horizontal, only vertical, a plus
sign, a square outline."""

DEFAULT_SHAPE_CLASSES = ("bar", "cross", "square")

_FIELDS: dict[str, tuple[str, ...]] = {
    "inline": ("kind", "inputs", "targets"),
    "teacher": ("kind", "kernel", "bias", "layer", "count", "size", "noise", "seed"),
    "shapes": ("kind", "classes", "count", "size", "noise", "seed"),
    "digits": ("kind", "digits", "count"),
}

MAX_EXAMPLES = 100_000
MAX_DATASET_VALUES = 50_000_000
DIGITS_HINT = (
    "the 'digits' dataset needs scikit-learn, which is not installed; "
    "install it with 'pip install scikit-learn' (or 'pip install visualconv[digits]')"
)


# ----------------------------------------------------------------- typed datasets


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset section checked against its model (one subclass per kind).

    Attributes
    ----------
    kind : str
        ``inline``, ``teacher``, ``shapes`` or ``digits``.
    written : Mapping
        The section as written in the file (read-only), for writing it back unchanged.
    """

    kind: str
    written: Mapping[str, Any]

    def __eq__(self, other: object) -> bool:
        """Two datasets are equal when they are of one kind and written alike."""
        if not isinstance(other, Dataset):
            return NotImplemented
        return type(self) is type(other) and dict(self.written) == dict(other.written)

    __hash__ = None  # type: ignore[assignment]  # equal by value, as the dict it replaces

    def document(self) -> dict[str, Any]:
        """The section as a model-file object, as it was written."""
        return dict(self.written)


@dataclass(frozen=True, eq=False)
class InlineDataset(Dataset):
    """The examples written out: ``inputs`` (N, *input shape); ``targets`` (N, *output) or (N,) int64."""

    inputs: FloatArray
    targets: NDArray[Any]


@dataclass(frozen=True, eq=False)
class TeacherDataset(Dataset):
    """Random images and the targets the model gives with layer ``layer`` replaced by ``teacher``."""

    layer: int
    teacher: ConvLayer
    in_shape: Shape
    count: int
    noise: float
    seed: int


@dataclass(frozen=True, eq=False)
class ShapesDataset(Dataset):
    """Noisy images of the shape ``classes`` of ``in_shape``; the model's output has ``out_shape``."""

    classes: tuple[str, ...]
    in_shape: Shape
    out_shape: Shape
    count: int
    noise: float
    seed: int


@dataclass(frozen=True, eq=False)
class DigitsDataset(Dataset):
    """scikit-learn's 8x8 digits ``digits`` (class k is the k-th), the first ``count`` (None: all)."""

    digits: tuple[int, ...]
    count: int | None


# ----------------------------------------------------------------- public API


def available(kind: str) -> str | None:
    """Why a dataset kind cannot be used here, or None when it can.

    Parameters
    ----------
    kind : str

    Returns
    -------
    str or None
        For ``digits`` without scikit-learn: how to install it.
    """
    if kind == "digits" and importlib.util.find_spec("sklearn") is None:
        return DIGITS_HINT
    return None


def validate(spec: Any, model: Any, shapes: list[Shape], loss: Any, place: str) -> Dataset:
    """Check a dataset description against the model it trains; the typed dataset.

    Parameters
    ----------
    spec : dict
        The ``dataset`` object as written in the file.
    model : Model
        The model (its layers and input are used).
    shapes : list of tuple of int
        The model's input shape and every layer's output shape (no batch axis).
    loss : LossSpec
    place : str
        Where ``spec`` stands in the file, e.g. ``training.dataset``.

    Returns
    -------
    Dataset
        The subclass of the kind, with ``written`` a read-only copy of ``spec``.

    Raises
    ------
    ModelError
        With the place inside the dataset section. A missing optional library
        (scikit-learn for ``digits``) is not an error here; :func:`materialise`
        reports it.
    """
    return _check(spec, model, shapes, loss, place)


def extent(spec: Dataset | Mapping[str, Any] | None, model: Any) -> tuple[int, Shape]:
    """How many examples a dataset has and the shape of one, without building it.

    Parameters
    ----------
    spec : Dataset, or a dataset object as written
        A :class:`Dataset` is used as it is; a section as written is validated here.
    model : Model
        A model with ``loss`` set.

    Returns
    -------
    count : int
    shape : tuple of int
        One example's shape (no batch axis).

    Raises
    ------
    ModelError
        As :func:`validate`.
    """
    dataset = (
        spec
        if isinstance(spec, Dataset)
        else _check(spec, model, model.shapes(), model.loss, "training.dataset")
    )
    if isinstance(dataset, InlineDataset):
        return int(dataset.inputs.shape[0]), tuple(int(s) for s in dataset.inputs.shape[1:])
    if isinstance(dataset, DigitsDataset):
        count = dataset.count if dataset.count is not None else 1797
        return int(count), (1, 8, 8)
    assert isinstance(dataset, (TeacherDataset, ShapesDataset))
    return int(dataset.count), tuple(int(s) for s in dataset.in_shape)


def materialise(spec: Dataset | Mapping[str, Any] | None, model: Any) -> tuple[FloatArray, NDArray[Any]]:
    """Build the examples of a dataset.

    Parameters
    ----------
    spec : Dataset, or a dataset object as written
        A :class:`Dataset` (from :func:`validate`, for this model) is used as it is; a
        section as written is validated first.
    model : Model
        A model with ``loss`` set.

    Returns
    -------
    inputs : ndarray of shape (N, C, H, W) or (N, C, L), float64
    targets : ndarray of shape (N, *output_shape) float64 for mse, or (N,) int64 class indices

    Raises
    ------
    ModelError
        Placed under ``training.dataset`` for a bad description, or when an optional
        library the kind needs is missing.
    """
    place = "training.dataset"
    dataset = spec if isinstance(spec, Dataset) else _check(spec, model, model.shapes(), model.loss, place)
    if isinstance(dataset, InlineDataset):
        return dataset.inputs, dataset.targets
    if isinstance(dataset, TeacherDataset):
        return _teacher(dataset, model)
    if isinstance(dataset, ShapesDataset):
        return _shapes(dataset, model)
    assert isinstance(dataset, DigitsDataset)
    return _digits(dataset, model, place)


def describe(spec: Dataset | Mapping[str, Any]) -> str:
    """A one-line human description of a dataset section (for the window)."""
    if isinstance(spec, Dataset):
        spec = spec.written
    kind = spec.get("kind")
    if kind == "inline":
        return _("inline: {n} example(s)").format(n=len(spec.get("inputs", [])))
    if kind == "teacher":
        kernel = spec.get("kernel")
        name = kernel if isinstance(kernel, str) else _("a given kernel")
        return _("teacher kernel {name}: {n} random images").format(name=name, n=spec.get("count", 32))
    if kind == "shapes":
        classes = spec.get("classes", list(DEFAULT_SHAPE_CLASSES))
        return _("shapes ({classes}): {n} images").format(
            classes=", ".join(map(str, classes)), n=spec.get("count", 60)
        )
    if kind == "digits":
        return _("8x8 digits {digits}").format(digits=spec.get("digits", list(range(10))))
    return str(kind)


# ----------------------------------------------------------------- validation


def _check(spec: Any, model: Any, shapes: list[Shape], loss: Any, place: str) -> Dataset:
    if not isinstance(spec, Mapping):
        raise ModelError(Message("expected an object with a 'kind'"), place)
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ModelError(
            Message(
                "expected one of {options}, got {got}",
                options=", ".join(repr(k) for k in KINDS),
                got=repr(kind),
            ),
            f"{place}.kind",
        )
    allowed = _FIELDS[kind]
    extra = sorted(set(spec) - set(allowed))
    if extra:
        raise ModelError(
            Message(
                "unknown key {keys} for a {kind} dataset; expected one of {allowed}",
                keys=", ".join(repr(e) for e in extra),
                kind=kind,
                allowed=", ".join(allowed),
            ),
            place,
        )
    if loss is None:
        raise ModelError(Message("a dataset needs the model's 'loss' to know what its targets are"), place)
    checker: Callable[..., Dataset] = {
        "inline": _check_inline,
        "teacher": _check_teacher,
        "shapes": _check_shapes,
        "digits": _check_digits,
    }[kind]
    return checker(spec, model, shapes, loss, place)


def _int_field(spec: Mapping[str, Any], key: str, default: int, place: str, low: int, high: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ModelError(
            Message(
                "expected an integer from {low} to {high}, got {got}", low=low, high=high, got=repr(value)
            ),
            f"{place}.{key}",
        )
    return value


def _float_field(spec: Mapping[str, Any], key: str, default: float, place: str) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ModelError(Message("expected a number >= 0, got {got}", got=repr(value)), f"{place}.{key}")
    return float(value)


def _size_field(spec: Mapping[str, Any], model: Any, place: str, minimum: int = 1) -> Shape:
    """The image's spatial size: (L,) in 1-D, (H, W) in 2-D."""
    default = tuple(model.input.shape[1:])
    if "size" not in spec:
        size: Shape = default
    else:
        value = spec["size"]
        items = [value] if isinstance(value, int) else value
        lengths = (1,) if model.dims == 1 else (1, 2)
        ok = isinstance(items, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in items)
        if isinstance(value, bool) or not ok or len(items) not in lengths:
            expected = "an integer" if model.dims == 1 else "an integer or [height, width]"
            raise ModelError(f"expected {expected}, got {value!r}", f"{place}.size")
        size = tuple(items) if len(items) == model.dims else (items[0], items[0])
    if min(size) < minimum or max(size) > 512:
        raise ModelError(
            Message("expected sizes from {minimum} to 512, got {got}", minimum=minimum, got=list(size)),
            f"{place}.size",
        )
    return size


def _walk(layers: tuple[Layer, ...], shape: Shape, place: str) -> Shape:
    """The output shape of ``layers`` for an input of ``shape``."""
    try:
        return output_shapes(shape, layers)[-1]
    except LayerDoesNotFit as exc:
        message = f"images of shape {exc.shape} do not fit layers[{exc.index}]: {exc.reason}"
        raise ModelError(message, place) from None


def _check_count(spec: Mapping[str, Any], default: int, place: str, values_per_example: int) -> int:
    count = _int_field(spec, "count", default, place, 1, MAX_EXAMPLES)
    if count * values_per_example > MAX_DATASET_VALUES:
        raise ModelError(
            f"{count} examples of {values_per_example} values are too many (at most "
            f"{MAX_DATASET_VALUES:,} values); make 'count' or 'size' smaller",
            f"{place}.count",
        )
    return count


def _array(value: Any, place: str, max_axes: int) -> FloatArray:
    """Nested lists to a float64 array, naming the place of a ragged or bad entry."""
    shape = _shape_of(value, place, 0, max_axes)
    if 0 in shape:
        raise ModelError("expected a non-empty array", place)
    return np.array(value, dtype=np.float64).reshape(shape)


def _shape_of(value: Any, place: str, depth: int, max_axes: int) -> Shape:
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        raise ModelError(f"expected a number, got {value!r}", place)
    if not isinstance(value, list):
        if not math.isfinite(value):
            raise ModelError(f"expected a finite number, got {value!r}", place)
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
                f"ragged array: expected the shape of {place}[0], {first}, got {shape}", f"{place}[{i}]"
            )
    return (len(value), *first)


def _shaped(value: Any, shape: Shape, place: str, what: str) -> FloatArray:
    """An array in the shorthand (leading size-1 axes may be left out) of ``shape``."""
    array = _array(value, place, len(shape))
    array = array.reshape((1,) * (len(shape) - array.ndim) + array.shape)
    if array.shape != shape:
        raise ModelError(f"expected {what} of shape {shape}, got {array.shape}", place)
    return array


def _class_index(value: Any, classes: int, place: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ModelError(f"expected a class index (an integer from 0 to {classes - 1}), got {value!r}", place)
    if not 0 <= int(value) < classes:
        raise ModelError(
            Message("expected a class index from 0 to {last}, got {got}", last=classes - 1, got=int(value)),
            place,
        )
    return int(value)


def _written(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(spec))


def _check_inline(
    spec: Mapping[str, Any], model: Any, shapes: list[Shape], loss: Any, place: str
) -> InlineDataset:
    for key in ("inputs", "targets"):
        if key not in spec:
            raise ModelError(
                Message("missing required key '{key}' (a list with one entry per example)", key=key), place
            )
        if not isinstance(spec[key], list) or not spec[key]:
            raise ModelError(
                Message("expected a non-empty list with one entry per example"), f"{place}.{key}"
            )
    raw_inputs, raw_targets = spec["inputs"], spec["targets"]
    if len(raw_targets) != len(raw_inputs):
        raise ModelError(
            Message(
                "expected one target per input ({n}), got {got}", n=len(raw_inputs), got=len(raw_targets)
            ),
            f"{place}.targets",
        )
    if len(raw_inputs) > MAX_EXAMPLES:
        raise ModelError(
            Message("expected at most {limit} examples, got {got}", limit=MAX_EXAMPLES, got=len(raw_inputs)),
            f"{place}.inputs",
        )
    in_shape, out_shape = shapes[0], shapes[-1]
    inputs = np.stack(
        [
            _shaped(x, in_shape, f"{place}.inputs[{i}]", "an input (like the model's input)")
            for i, x in enumerate(raw_inputs)
        ]
    )
    targets: NDArray[Any]
    if loss.classifies:
        classes = math.prod(out_shape)
        targets = np.array(
            [_class_index(t, classes, f"{place}.targets[{i}]") for i, t in enumerate(raw_targets)],
            dtype=np.int64,
        )
    else:
        targets = np.stack(
            [_shaped(t, out_shape, f"{place}.targets[{i}]", "a target") for i, t in enumerate(raw_targets)]
        )
    inputs.flags.writeable = False
    targets.flags.writeable = False
    return InlineDataset("inline", _written(spec), inputs, targets)


def _conv_index(spec: Mapping[str, Any], model: Any, place: str) -> int:
    convs = [i for i, layer in enumerate(model.layers) if layer.kind is CONV]
    if not convs:
        raise ModelError("a teacher dataset needs a conv layer to hold the teacher kernel", place)
    if "layer" not in spec:
        return convs[0]
    index = spec["layer"]
    if isinstance(index, bool) or not isinstance(index, int) or index not in convs:
        raise ModelError(
            f"expected the index of a conv layer ({', '.join(map(str, convs))}), got {index!r}",
            f"{place}.layer",
        )
    return index


def _check_teacher(
    spec: Mapping[str, Any], model: Any, shapes: list[Shape], loss: Any, place: str
) -> TeacherDataset:
    if loss.classifies:
        raise ModelError(Message("a teacher dataset makes real-valued targets; use an mse loss"), place)
    index = _conv_index(spec, model, place)
    layer: ConvLayer = model.layers[index]
    if "kernel" not in spec:
        raise ModelError(
            f"missing required key 'kernel' (a name: {', '.join(NAMED_KERNELS)}; or an array)", place
        )
    raw = spec["kernel"]
    if isinstance(raw, str):
        if raw not in NAMED_KERNELS:
            raise ModelError(
                f"expected one of {', '.join(NAMED_KERNELS)} or an array, got {raw!r}", f"{place}.kernel"
            )
        raw = NAMED_KERNELS[raw]
    kernel = _shaped(
        raw, tuple(layer.weight.shape), f"{place}.kernel", f"a kernel like layers[{index}].weight"
    )
    bias: FloatArray | None = None
    if layer.bias is not None:
        value = spec.get("bias", 0.0)
        b = _array(value, f"{place}.bias", 1)
        bias = np.broadcast_to(b, layer.bias.shape).copy() if b.size in (1, layer.bias.size) else None
        if bias is None:
            raise ModelError(f"expected {layer.bias.size} bias value(s)", f"{place}.bias")
    elif "bias" in spec:
        raise ModelError(
            f"layers[{index}] has no bias term (bias null), so the teacher cannot have one", f"{place}.bias"
        )
    size = _size_field(spec, model, place)
    in_shape = (shapes[0][0], *size)
    out_shape = _walk(model.layers, in_shape, f"{place}.size")
    count = _check_count(spec, 32, place, math.prod(in_shape) + math.prod(out_shape))
    noise = _float_field(spec, "noise", 0.0, place)
    seed = _int_field(spec, "seed", 0, place, 0, 2**63 - 1)
    teacher = layer.with_parameters(weight=kernel, **({} if bias is None else {"bias": bias}))
    return TeacherDataset("teacher", _written(spec), index, teacher, in_shape, count, noise, seed)


def _check_classes(model: Any, shapes_out: Shape, loss: Any, classes: int, place: str) -> None:
    outputs = math.prod(shapes_out)
    if outputs != classes:
        raise ModelError(
            Message(
                "the dataset has {classes} classes but the model's last layer gives {outputs} outputs; "
                "make the last layer give {classes}",
                classes=classes,
                outputs=outputs,
            ),
            place,
        )


def _check_shapes(
    spec: Mapping[str, Any], model: Any, shapes: list[Shape], loss: Any, place: str
) -> ShapesDataset:
    if model.dims != 2:
        raise ModelError(Message("the shapes dataset draws 2-D images; it needs a model with dims 2"), place)
    classes = spec.get("classes", list(DEFAULT_SHAPE_CLASSES))
    if not isinstance(classes, list) or len(classes) < 2:
        raise ModelError(f"expected a list of at least two of {', '.join(SHAPE_CLASSES)}", f"{place}.classes")
    for i, name in enumerate(classes):
        if name not in SHAPE_CLASSES:
            raise ModelError(
                f"expected one of {', '.join(SHAPE_CLASSES)}, got {name!r}", f"{place}.classes[{i}]"
            )
    if len(set(classes)) != len(classes):
        raise ModelError("expected different class names", f"{place}.classes")
    size = _size_field(spec, model, place, minimum=4)
    in_shape = (shapes[0][0], *size)
    out_shape = _walk(model.layers, in_shape, f"{place}.size")
    _check_classes(model, out_shape, loss, len(classes), place)
    count = _check_count(spec, 60, place, math.prod(in_shape))
    noise = _float_field(spec, "noise", 0.1, place)
    seed = _int_field(spec, "seed", 0, place, 0, 2**63 - 1)
    return ShapesDataset("shapes", _written(spec), tuple(classes), in_shape, out_shape, count, noise, seed)


def _check_digits(
    spec: Mapping[str, Any], model: Any, shapes: list[Shape], loss: Any, place: str
) -> DigitsDataset:
    if model.dims != 2 or shapes[0][1:] != (8, 8):
        raise ModelError(
            f"the digits are 8x8 images; the model's input must be (C, 8, 8), got {shapes[0]}", place
        )
    digits = spec.get("digits", list(range(10)))
    ok = (
        isinstance(digits, list)
        and len(digits) >= 2
        and all(d in range(10) and not isinstance(d, bool) for d in digits)
    )
    if not ok or len(set(digits)) != len(digits):
        raise ModelError(
            f"expected a list of at least two different digits 0..9, got {digits!r}", f"{place}.digits"
        )
    _check_classes(model, shapes[-1], loss, len(digits), place)
    count = _int_field(spec, "count", 1797, place, 1, 1797) if "count" in spec else None
    return DigitsDataset("digits", _written(spec), tuple(digits), count)


# ----------------------------------------------------------------- generators


def _targets_for(labels: NDArray[np.int64], classes: int, out_shape: Shape, loss: Any) -> NDArray[Any]:
    """Class indices for cross-entropy, one-hot arrays of the output's shape for mse."""
    if loss.classifies:
        return labels.astype(np.int64)
    onehot = np.zeros((labels.size, classes))
    onehot[np.arange(labels.size), labels] = 1.0
    return onehot.reshape((labels.size, *out_shape))


def _teacher(dataset: TeacherDataset, model: Any) -> tuple[FloatArray, NDArray[Any]]:
    rng = np.random.default_rng(dataset.seed)
    inputs = rng.random((dataset.count, *dataset.in_shape))
    layers = list(model.layers)
    layers[dataset.layer] = dataset.teacher
    x = inputs
    for layer in layers:
        _, x = layer.forward(x)
    noise = dataset.noise
    targets = x + noise * rng.standard_normal(x.shape) if noise else x
    return inputs, np.ascontiguousarray(targets, dtype=np.float64)


def _draw(name: str, height: int, width: int, rng: np.random.Generator) -> FloatArray:
    """One clean image (1.0 on the shape, 0.0 elsewhere) of a shape class."""
    image = np.zeros((height, width))
    if name == "bar":
        name = "hbar" if rng.random() < 0.5 else "vbar"
    if name in ("hbar", "vbar"):
        long_side, short_side = (width, height) if name == "hbar" else (height, width)
        length = int(rng.integers(max(3, (long_side + 1) // 2), long_side + 1))
        start = int(rng.integers(0, long_side - length + 1))
        line = int(rng.integers(0, short_side))
        if name == "hbar":
            image[line, start : start + length] = 1.0
        else:
            image[start : start + length, line] = 1.0
    elif name == "cross":
        arm = int(rng.integers(1, max(1, (min(height, width) - 1) // 2) + 1))
        r = int(rng.integers(arm, height - arm))
        c = int(rng.integers(arm, width - arm))
        image[r, c - arm : c + arm + 1] = 1.0
        image[r - arm : r + arm + 1, c] = 1.0
    else:  # square outline
        side = int(rng.integers(3, min(height, width) + 1))
        r = int(rng.integers(0, height - side + 1))
        c = int(rng.integers(0, width - side + 1))
        image[r : r + side, c : c + side] = 1.0
        image[r + 1 : r + side - 1, c + 1 : c + side - 1] = 0.0
    return image


def _shapes(dataset: ShapesDataset, model: Any) -> tuple[FloatArray, NDArray[Any]]:
    rng = np.random.default_rng(dataset.seed)
    classes = dataset.classes
    count = dataset.count
    channels, height, width = dataset.in_shape
    labels = rng.permutation(np.arange(count) % len(classes)).astype(np.int64)
    images = np.stack([_draw(classes[k], height, width, rng) for k in labels])
    noise = dataset.noise
    inputs = np.repeat(images[:, None], channels, axis=1)
    if noise:
        inputs = inputs + noise * rng.standard_normal(inputs.shape)
    return inputs, _targets_for(labels, len(classes), dataset.out_shape, model.loss)


def _digits(dataset: DigitsDataset, model: Any, place: str) -> tuple[FloatArray, NDArray[Any]]:
    reason = available("digits")
    if reason is not None:
        raise ModelError(reason, f"{place}.kind")
    from sklearn.datasets import load_digits  # optional extra

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / 16.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    digits = dataset.digits
    keep = np.isin(labels, digits)
    images, labels = images[keep], labels[keep]
    if dataset.count is not None:
        images, labels = images[: dataset.count], labels[: dataset.count]
    mapped = np.array([digits.index(int(d)) for d in labels], dtype=np.int64)
    channels = model.input.shape[0]
    inputs = np.repeat(images[:, None], channels, axis=1)
    return inputs, _targets_for(mapped, len(digits), tuple(model.shapes()[-1]), model.loss)

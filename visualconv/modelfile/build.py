"""Stage 4 of reading: a checked document to a typed :class:`~visualconv.engine.model.Model`.

Ragged arrays, shapes, layer-to-layer fit, the loss target, the training section and
the memory one forward and backward pass would need are checked here, and the model
is refused before anything of that size is allocated. :func:`load_model` and
:func:`loads` run every stage and raise nothing but :class:`ModelError`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any, TypeVar

from ..engine import datasets
from ..engine.budget import sized, walk
from ..engine.errors import Message, ModelError
from ..engine.kinds.base import frozen_array
from ..engine.model import LossSpec, Model, TrainingSpec
from ..engine.windows import FloatArray
from .arrays import canonical, to_array
from .layers import build_layer
from .messages import describe
from .read import MAX_DEPTH, decode_bytes, read_bytes
from .schema import check_structure, parse_document

T = TypeVar("T")

INTERNAL_ERROR = "unexpected problem while checking the model"
"""Start of the message of a ModelError that wraps an error in visualconv itself."""


def _infer_dims(raw_input: Any) -> int:
    return 1 if isinstance(raw_input, list) and all(not isinstance(v, list) for v in raw_input) else 2


def model_from_document(document: dict[str, Any]) -> Model:
    """Build and validate a :class:`Model` from a parsed document.

    The document is checked in full (structure, then meaning), so it may come from
    anywhere, not only from :func:`parse_document`.

    Raises
    ------
    ModelError
        Naming the place of the first problem.
    """
    return guarded(lambda: build_model(check_structure(document)))


def build_model(document: dict[str, Any]) -> Model:
    """Stage 4: the typed model of a document that passed the schema (placed ModelError otherwise)."""
    raw_input = document["input"]
    dims = document.get("dims")
    if dims is None:
        dims = _infer_dims(raw_input)
    layout = "(C, L)" if dims == 1 else "(C, H, W)"
    x = canonical(
        to_array(raw_input, "input", dims + 1), dims + 1, "input", Message("an input {layout}", layout=layout)
    )
    layers = tuple(build_layer(spec, dims, f"layers[{i}]") for i, spec in enumerate(document["layers"]))
    if "upstream" in document and "target" in document:
        raise ModelError(
            Message(
                "expected either 'upstream' or 'target' with 'loss', not both: 'upstream' starts the "
                "backward pass itself, a 'target' starts it from the loss"
            ),
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
            Message("missing 'target': expected a target to compare the output with, since 'loss' is given"),
            "target",
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
    shapes, _ = walk(x.shape, layers)
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
        upstream = _shaped(document["upstream"], out_shape, "upstream", Message("upstream deltas"))
    target: FloatArray | int | None = None
    if loss is not None and "target" in document:
        target = parse_target(document["target"], out_shape, loss, "target")
    training = None
    if "training" in document and loss is None:
        raise ModelError(
            Message("expected a 'loss' in the model for training, to know what to minimise"), "training"
        )
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
            Message(
                "expected {what} of shape {shape} (the last layer's output), got {got}",
                what=what,
                shape=sized(shape),
                got=sized(array.shape),
            ),
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
    if loss.classifies:
        classes = math.prod(out_shape)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModelError(
                Message(
                    "expected a class index (an integer from 0 to {last}), got {got}",
                    last=classes - 1,
                    got=describe(value),
                ),
                place,
            )
        if not 0 <= value < classes:
            raise ModelError(
                Message(
                    "expected a class index from 0 to {last} (the last output has {n} values), got {got}",
                    last=classes - 1,
                    n=classes,
                    got=describe(value),
                ),
                place,
            )
        return int(value)
    return _shaped(value, out_shape, place, Message("a target"))


def _training(
    spec: dict[str, Any], model: Model, shapes: list[tuple[int, ...]], loss: LossSpec | None
) -> TrainingSpec:
    if loss is None:
        raise ModelError(
            Message("training needs a 'target' and 'loss' in the model to know what to minimise"), "training"
        )
    batch = spec.get("batch_size", "full")
    dataset = datasets.validate(spec["dataset"], model, shapes, loss, "training.dataset")
    return TrainingSpec(
        learning_rate=float(spec.get("learning_rate", 0.03)),
        momentum=float(spec.get("momentum", 0.0)),
        epochs=int(spec.get("epochs", 10)),
        batch_size=None if batch == "full" else int(batch),
        shuffle=bool(spec.get("shuffle", False)),
        seed=int(spec.get("seed", 0)),
        dataset=dataset,
        optimizer=spec.get("optimizer", "sgd"),
    )


def guarded(work: Callable[[], T]) -> T:
    """Run ``work()``; anything but a ModelError becomes one (the API raises nothing else)."""
    try:
        return work()
    except ModelError:
        raise
    except RecursionError:
        raise ModelError(
            Message(
                "nested too deeply: expected at most {depth} levels of lists and objects", depth=MAX_DEPTH
            )
        ) from None
    except MemoryError:
        raise ModelError(Message("not enough memory to load this model; expected a smaller model")) from None
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
            text = decode_bytes(bytes(text))
        return guarded(lambda: build_model(parse_document(text)))
    except ModelError as exc:
        raise exc.in_file(file) from None


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read and validate a model file.

    Raises
    ------
    ModelError
        For an unreadable file or any problem in it, naming the file and the place.
    """
    name = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    try:
        data = read_bytes(path)
        text = decode_bytes(data)
    except ModelError as exc:
        raise exc.in_file(name) from None
    return loads(text, name)

"""A chain of imported operations made into a visualconv model document.

The ONNX and PyTorch readers turn a network into a list of :class:`Op`, one per node
they understand, each already in the model format's words (a layer object, an
activation, or a node that disappears). :func:`assemble` then folds each activation
into the conv, conv_transpose or dense layer before it, drops a trailing softmax
(offering the cross-entropy loss instead), adds the example input and what starts the
backward pass, and returns the document. The normal loader validates it, so every
check of a model file applies to an imported network too.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import kinds
from ..engine.errors import Message, ModelError

FORMAT = "visualconv/1"
INPUT_SEED = 0
"""Seed of the random example input drawn when none is given."""
UPSTREAM_SEED = 1
"""Seed of the random upstream drawn when neither upstream nor target is given."""
DEFAULT_SLOPE = 0.01
"""Layer types that carry an activation."""
LOSSES = ("mse", "cross_entropy")


@dataclass(frozen=True)
class Op:
    """One imported node in the model format's words.

    Attributes
    ----------
    kind : {"layer", "activation", "softmax", "skip"}
        A layer object, an activation to fold into the layer before it, a softmax (only
        allowed last), or a node without effect at inference (Identity, Dropout).
    where : str
        How the node is named in messages, e.g. ``node 'conv1' (Conv)``.
    layer : dict or None
        The layer object (``kind == "layer"``).
    activation : str
        The activation's name in the model format (``kind == "activation"``).
    negative_slope : float
        Of a leaky_relu.
    """

    kind: str
    where: str
    layer: dict[str, Any] | None = field(default=None, repr=False)
    activation: str = "identity"
    negative_slope: float = DEFAULT_SLOPE


def short_float(value: float) -> float:
    """A float32 attribute (such as 0.01 stored as 0.009999999776) as its shortest decimal."""
    return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))


def pair_value(values: Sequence[int], dims: int) -> int | list[int]:
    """Spatial settings per axis as the format writes them: one int when the axes agree."""
    items = [int(v) for v in values]
    if dims == 1:
        return items[-1]
    return items[0] if items[0] == items[1] else items


def fold(ops: Sequence[Op]) -> tuple[list[dict[str, Any]], bool, str]:
    """Layer objects of the chain, activations folded in.

    Returns
    -------
    layers : list of dict
    softmax : bool
        Whether the chain ended in a softmax (dropped; cross-entropy is offered).
    softmax_where : str
        Which node that was ("" without one).

    Raises
    ------
    ModelError
        An activation with no conv, conv_transpose or dense layer right before it (or after
        one that already has an activation), or a softmax that is not the last node.
    """
    layers: list[dict[str, Any]] = []
    previous = ""
    softmax_where = ""
    for op in ops:
        if softmax_where and op.kind != "skip":
            raise ModelError(
                Message(
                    "a softmax is only imported as the network's last node (it becomes the "
                    "cross-entropy loss); expected nothing after it, got {where}",
                    where=op.where,
                ),
                softmax_where,
            )
        if op.kind == "skip":
            continue
        if op.kind == "softmax":
            softmax_where = op.where
            continue
        if op.kind == "layer":
            assert op.layer is not None
            layers.append(dict(op.layer))
            previous = op.where
            continue
        last = layers[-1] if layers else None
        if last is None or not kinds.by_type(last["type"]).has_activation:
            after = (
                Message("it follows {previous}", previous=previous)
                if previous
                else Message("it is the first node")
            )
            raise ModelError(
                Message(
                    "an activation cannot stand alone in visualconv: it folds into the conv, "
                    "conv_transpose or dense layer right before it, but {after}; expected the "
                    "activation directly after a Conv, ConvTranspose, Gemm, MatMul or Linear",
                    after=after,
                ),
                op.where,
            )
        if last.get("activation", "identity") != "identity":
            raise ModelError(
                Message(
                    "an activation cannot fold into {previous}, which already has the activation "
                    "'{last}'; expected one activation per layer",
                    previous=previous,
                    last=last["activation"],
                ),
                op.where,
            )
        last["activation"] = op.activation
        if op.activation == "leaky_relu" and op.negative_slope != DEFAULT_SLOPE:
            last["negative_slope"] = op.negative_slope
        previous = op.where
    if not layers:
        raise ModelError(
            Message("the network has no layer visualconv can show; expected at least one"), "graph"
        )
    return layers, bool(softmax_where), softmax_where


def random_array(shape: Sequence[int], seed: int) -> np.ndarray:
    """A reproducible example: uniform in [-1, 1), two decimals (legible in the window)."""
    rng = np.random.default_rng(seed)
    return np.round(rng.uniform(-1.0, 1.0, size=tuple(shape)), 2)


def example_input(
    given: np.ndarray | None, declared: Sequence[int | None] | None, where: str
) -> tuple[np.ndarray, int, bool]:
    """The example fed to the first layer, without its batch axis.

    Parameters
    ----------
    given : ndarray or None
        From ``--input``: (C, ...) or (1, C, ...).
    declared : sequence of int or None, or None
        The network's declared input shape, batch axis first (None for an unknown size).
    where : str
        The place named in messages.

    Returns
    -------
    x : ndarray of shape (C, L), (C, H, W), or (1, F) for a vector input
    dims : {1, 2}
    vector : bool
        Whether the network takes a vector (N, F): a flatten layer then comes first.
    """
    if given is None:
        if declared is None:
            raise ModelError(Message("the network does not declare its input shape; expected --input"), where)
        sizes = list(declared)
        if sizes and sizes[0] is None:
            sizes[0] = 1
        unknown = [i for i, s in enumerate(sizes) if s is None]
        if unknown:
            raise ModelError(
                Message(
                    "the input's axis {unknown} has no fixed size; expected --input with an example",
                    unknown=unknown[0],
                ),
                where,
            )
        if sizes[0] != 1:
            raise ModelError(
                Message("expected an input with a batch of 1, got shape {sizes}", sizes=tuple(sizes)), where
            )
        array = random_array([int(s or 0) for s in sizes[1:]], INPUT_SEED)
    else:
        array = np.asarray(given, dtype=np.float64)
        rank = len(declared) if declared is not None else None
        if rank is not None and array.ndim == rank:
            if array.shape[0] != 1:
                raise ModelError(
                    Message(
                        "expected one example (a batch of 1), got a batch of {shape}", shape=array.shape[0]
                    ),
                    "--input",
                )
            array = array[0]
        elif rank is None and array.ndim == 4 and array.shape[0] == 1:
            array = array[0]
        if rank is not None and array.ndim < rank - 1:
            # the model format's shorthand: leading axes of size 1 may be left out
            array = array.reshape((1,) * (rank - 1 - array.ndim) + array.shape)
        if rank is not None and array.ndim != rank - 1:
            raise ModelError(
                Message(
                    "expected an input of {count} axes (the network's input without the batch axis), "
                    "got shape {shape}",
                    count=rank - 1,
                    shape=array.shape,
                ),
                "--input",
            )
        if declared is not None:
            for axis, (got, want) in enumerate(zip(array.shape, declared[1:], strict=True)):
                if want is not None and got != want:
                    raise ModelError(
                        Message(
                            "expected an input of shape {declared} (axis {axis} of size {want}), got {shape}",
                            declared=tuple(declared[1:]),
                            axis=axis,
                            want=want,
                            shape=array.shape,
                        ),
                        "--input",
                    )
    if array.ndim == 1:
        return array[None], 1, True
    if array.ndim == 2:
        return array, 1, False
    if array.ndim == 3:
        return array, 2, False
    raise ModelError(
        Message(
            "expected an input (C, L), (C, H, W) or a vector, got {ndim} axes {shape}",
            ndim=array.ndim,
            shape=array.shape,
        ),
        where,
    )


def assemble(
    ops: Sequence[Op],
    x: np.ndarray,
    dims: int,
    vector: bool,
    *,
    name: str,
    description: str,
    upstream: np.ndarray | None = None,
    target: Any = None,
    loss: str | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The model document of an imported chain.

    Parameters
    ----------
    ops : sequence of Op
    x : ndarray of shape (C, L) or (C, H, W)
        The example input (no batch axis).
    dims : {1, 2}
    vector : bool
        The network takes a vector: a flatten layer is put first.
    name, description : str
    upstream : ndarray or None
        dL/d(last output), with or without a batch axis of 1.
    target : ndarray, int or None
        With ``loss``; a class index for cross-entropy.
    loss : str, dict or None
        ``"mse"``, ``"cross_entropy"`` or a loss object. A trailing softmax makes
        cross-entropy the default. Without upstream and target the document gets a
        seeded random upstream (or, after a softmax, cross-entropy with class 0) so the
        backward pass can be stepped; the description says so.

    Raises
    ------
    ModelError
        For a chain that cannot be a visualconv model or conflicting options.
    """
    layers, softmax, softmax_where = fold(ops)
    if vector:
        layers.insert(0, {"type": "flatten"})
        description += " The network takes a vector: a flatten layer comes first."
    loss_doc = _loss_document(loss)
    if upstream is not None and (target is not None or loss_doc is not None):
        raise ModelError(
            Message("expected either --upstream or --target with --loss, not both"), "--upstream"
        )
    if softmax and loss_doc is not None and loss_doc["type"] != "cross_entropy":
        raise ModelError(
            Message(
                "the network ends in a softmax ({softmax_where}), which visualconv imports as "
                "the cross-entropy loss; expected --loss cross_entropy (or none), got {loss}",
                softmax_where=softmax_where,
                loss=loss_doc["type"],
            ),
            "--loss",
        )
    if softmax and loss_doc is None and upstream is None:
        loss_doc = {"type": "cross_entropy"}
    if softmax:
        description += f" Its final softmax ({softmax_where}) is the cross-entropy loss here."
    document: dict[str, Any] = {"format": FORMAT, "name": name, "description": description.strip()}
    document["dims"] = dims
    document["input"] = x.tolist()
    document["layers"] = layers
    if upstream is not None:
        up = np.asarray(upstream, dtype=np.float64)
        document["upstream"] = (up[0] if up.ndim and up.shape[0] == 1 and up.ndim > 1 else up).tolist()
    elif target is not None:
        if loss_doc is None:
            raise ModelError(Message("expected --loss mse or --loss cross_entropy with --target"), "--loss")
        document["target"] = _target_value(target, loss_doc["type"])
        document["loss"] = loss_doc
    elif loss_doc is not None and loss_doc["type"] == "cross_entropy" and softmax:
        document["target"] = 0
        document["loss"] = loss_doc
        document["description"] += " Class 0 is the target until you give one."
    elif loss_doc is not None:
        raise ModelError(Message("expected --target with --loss {loss}", loss=loss_doc["type"]), "--target")
    else:
        shape = _output_shape(document)
        if shape is not None:
            document["upstream"] = random_array(shape, UPSTREAM_SEED).tolist()
            document["description"] += " The upstream is random (seed 1) until you give one."
    return document


def check_network_file(path: str | os.PathLike[str], what: str, limit: int) -> None:
    """Refuse what is not a regular file of at most ``limit`` bytes (``what``: "an ONNX file", ...).

    Raises
    ------
    ModelError
        For a file that cannot be read, is not a regular file, or is larger than ``limit``.
    """
    import stat

    try:
        info = os.stat(path)
    except OSError as exc:
        raise ModelError(Message("cannot read the file: {error}", error=exc.strerror or exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise ModelError(
            Message(
                "expected {what}, got a directory, device, pipe or socket",
                what=what.replace(" archive", " file"),
            )
        )
    if info.st_size > limit:
        raise ModelError(
            Message(
                "the file is {size} bytes; expected {what} of at most {count} MiB",
                size=info.st_size,
                what=what,
                count=limit // 2**20,
            )
        )


def read_nodes(read: Callable[[Any, int], None], nodes: Iterable[Any]) -> None:
    """``read(node, index)`` for each node of a graph; a node malformed for its operation is a ModelError.

    Raises
    ------
    ModelError
        What ``read`` raised, or "a malformed node" placed at ``node #index``.
    """
    for index, node in enumerate(nodes):
        try:
            read(node, index)
        except ModelError:
            raise
        except (IndexError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(
                Message(
                    "a malformed node ({kind}); expected the inputs and attributes its operation takes",
                    kind=type(exc).__name__,
                ),
                Message("node #{index}", index=index),
            ) from None


def imported(
    ops: Sequence[Op],
    x: np.ndarray,
    dims: int,
    vector: bool,
    path: str | os.PathLike[str],
    description: str,
    given_input: np.ndarray | None,
    upstream: np.ndarray | None,
    target: Any,
    loss: str | dict[str, Any] | None,
) -> dict[str, Any]:
    """:func:`assemble` for a network read from the file ``path``, named by its stem.

    The description says when the input is the seeded random one (``given_input`` None).
    """
    if given_input is None:
        description += " The input is random (seed 0) until you give one."
    return assemble(
        ops,
        x,
        dims,
        vector,
        name=Path(path).stem,
        description=description,
        upstream=upstream,
        target=target,
        loss=loss,
    )


def _loss_document(loss: str | dict[str, Any] | None) -> dict[str, Any] | None:
    if loss is None:
        return None
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ModelError(
                Message("expected the loss mse or cross_entropy, got {loss!r}", loss=loss), "--loss"
            )
        return {"type": "mse", "reduction": "half_sum"} if loss == "mse" else {"type": "cross_entropy"}
    if isinstance(loss, dict) and loss.get("type") in LOSSES:
        return dict(loss)
    raise ModelError(
        Message("expected a loss 'mse', 'cross_entropy' or an object such as {'type': 'mse'}"), "loss"
    )


def _target_value(target: Any, loss_type: str) -> Any:
    if loss_type == "cross_entropy":
        array = np.asarray(target)
        if array.size != 1 or not np.issubdtype(array.dtype, np.number):
            raise ModelError(
                Message("expected a class index for cross_entropy, got {shape}", shape=array.shape),
                "--target",
            )
        value = float(array.reshape(-1)[0])
        if not value.is_integer():
            raise ModelError(Message("expected an integer class index, got {value}", value=value), "--target")
        return int(value)
    array = np.asarray(target, dtype=np.float64)
    if array.ndim > 1 and array.shape[0] == 1:
        array = array[0]
    return array.tolist()


def _output_shape(document: dict[str, Any]) -> tuple[int, ...] | None:
    """The last layer's output shape, from the loader's own shape arithmetic (None if it fails)."""
    from ..modelfile import model_from_document

    try:
        model = model_from_document(document)
    except ModelError:
        return None  # the caller's validation reports the problem with its place
    return tuple(model.shapes()[-1])


def element_count(shape: Sequence[int]) -> int:
    """Number of elements of ``shape`` (exact for large sizes)."""
    return math.prod(int(s) for s in shape)

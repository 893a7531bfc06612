"""A PyTorch module as a visualconv model: :func:`from_torch`.

The module is traced with ``torch.fx`` (an ``nn.Sequential`` always traces); every node
of the trace must be one of the supported modules, functions or tensor methods, in a
chain. The weights are read as float64.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..engine.errors import Message, ModelError
from ..engine.model import Model
from .chain import Op, assemble, example_input
from .layers import conv_layer, conv_transpose_layer, dense_layer, flatten_layer, global_pool, pool_layer

SUPPORTED_MODULES = (
    "Conv1d",
    "Conv2d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d(1)",
    "AdaptiveAvgPool2d(1)",
    "AdaptiveMaxPool1d(1)",
    "AdaptiveMaxPool2d(1)",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Flatten",
    "Linear",
    "Identity",
    "Dropout",
    "Softmax",
    "LogSoftmax",
)
_SUPPORTED_TEXT = ", ".join(SUPPORTED_MODULES)


def _require_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ModelError(
            Message("this needs PyTorch; expected it installed: pip install 'visualconv[torch]'")
        ) from None
    return torch


def _numpy(tensor: Any) -> np.ndarray:
    return np.array(tensor.detach().cpu().double().numpy(), dtype=np.float64)


def _optional(tensor: Any) -> np.ndarray | None:
    return None if tensor is None else _numpy(tensor)


def module_op(module: Any, where: str, dims: int) -> Op:
    """The :class:`Op` of one ``torch.nn`` module.

    Raises
    ------
    ModelError
        For a module that is not supported (or a setting that is not), naming it.
    """
    from torch import nn

    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        padding = module.padding if isinstance(module.padding, str) else list(module.padding)
        layer = conv_layer(
            _numpy(module.weight),
            _optional(module.bias),
            stride=list(module.stride),
            padding=padding,
            dilation=list(module.dilation),
            groups=module.groups,
            padding_mode=module.padding_mode,
            dims=dims,
            where=where,
        )
        return Op("layer", where, layer)
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
        if module.padding_mode != "zeros":
            raise ModelError(
                Message("a transposed convolution pads with zeros only; expected padding_mode='zeros'"), where
            )
        layer = conv_transpose_layer(
            _numpy(module.weight),
            _optional(module.bias),
            stride=list(module.stride),
            padding=list(module.padding),
            output_padding=list(module.output_padding),
            dilation=list(module.dilation),
            groups=module.groups,
            dims=dims,
            where=where,
        )
        return Op("layer", where, layer)
    if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)):
        if module.return_indices:
            raise ModelError(Message("return_indices=True is not supported; expected False"), where)
        layer = pool_layer(
            "max",
            module.kernel_size,
            module.stride,
            module.padding,
            dims=dims,
            where=where,
            dilation=module.dilation,
            ceil_mode=module.ceil_mode,
        )
        return Op("layer", where, layer)
    if isinstance(module, (nn.AvgPool1d, nn.AvgPool2d)):
        layer = pool_layer(
            "avg",
            module.kernel_size,
            module.stride,
            module.padding,
            dims=dims,
            where=where,
            ceil_mode=module.ceil_mode,
            count_include_pad=module.count_include_pad,
            divisor_override=getattr(module, "divisor_override", None),
        )
        return Op("layer", where, layer)
    adaptive = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)
    if isinstance(module, adaptive):
        size = module.output_size
        sizes = [size] if isinstance(size, int) or size is None else list(size)
        if any(s != 1 for s in sizes):
            raise ModelError(
                Message(
                    "adaptive pooling to {size} is not supported; expected an output size of 1 "
                    "(global pooling)",
                    size=size,
                ),
                where,
            )
        if getattr(module, "return_indices", False):
            raise ModelError(Message("return_indices=True is not supported; expected False"), where)
        mode = "max" if isinstance(module, (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)) else "avg"
        return Op("layer", where, global_pool(mode))
    if isinstance(module, nn.ReLU):
        return Op("activation", where, activation="relu")
    if isinstance(module, nn.LeakyReLU):
        return Op("activation", where, activation="leaky_relu", negative_slope=float(module.negative_slope))
    if isinstance(module, nn.Sigmoid):
        return Op("activation", where, activation="sigmoid")
    if isinstance(module, nn.Tanh):
        return Op("activation", where, activation="tanh")
    if isinstance(module, nn.Flatten):
        if module.start_dim != 1 or module.end_dim != -1:
            raise ModelError(
                Message(
                    "Flatten(start_dim={start_dim}, end_dim={end_dim}) is not supported; expected "
                    "Flatten() (start_dim=1, end_dim=-1)",
                    start_dim=module.start_dim,
                    end_dim=module.end_dim,
                ),
                where,
            )
        return Op("layer", where, flatten_layer())
    if isinstance(module, nn.Linear):
        return Op("layer", where, dense_layer(_numpy(module.weight), _optional(module.bias)))
    if isinstance(module, (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)):
        return Op("skip", where)
    if isinstance(module, (nn.Softmax, nn.LogSoftmax)):
        if module.dim not in (1, -1):
            raise ModelError(
                Message("a softmax over dim {dim} is not supported; expected dim=1 (or -1)", dim=module.dim),
                where,
            )
        return Op("softmax", where)
    raise ModelError(
        Message(
            "unsupported module {kind}; expected one of {supported}",
            kind=type(module).__name__,
            supported=_SUPPORTED_TEXT,
        ),
        where,
    )


def _function_op(node: Any, where: str) -> Op | None:
    """The :class:`Op` of a traced function or tensor method (None: not one of ours)."""
    import torch
    import torch.nn.functional as F

    target = node.target
    name = target if isinstance(target, str) else getattr(target, "__name__", "")
    activations = {
        "relu": "relu",
        "relu_": "relu",
        "sigmoid": "sigmoid",
        "tanh": "tanh",
    }
    functions = {torch.relu, F.relu, torch.sigmoid, F.sigmoid, torch.tanh, F.tanh}
    if (node.op == "call_method" and name in activations) or (
        node.op == "call_function" and target in functions
    ):
        return Op("activation", where, activation=activations[name.rstrip("_")])
    if (node.op == "call_function" and target is F.leaky_relu) or (
        node.op == "call_method" and name == "leaky_relu"
    ):
        slope = node.args[1] if len(node.args) > 1 else node.kwargs.get("negative_slope", 0.01)
        return Op("activation", where, activation="leaky_relu", negative_slope=float(slope))
    if (node.op == "call_function" and target is torch.flatten) or (
        node.op == "call_method" and name == "flatten"
    ):
        start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
        end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
        if start != 1 or end != -1:
            raise ModelError(
                Message(
                    "flatten({start}, {end}) is not supported; expected flatten(x, 1)", start=start, end=end
                ),
                where,
            )
        return Op("layer", where, flatten_layer())
    if node.op == "call_method" and name in ("view", "reshape"):
        shape = list(node.args[1:])
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = list(shape[0])
        first_ok = len(shape) == 2 and (shape[0] in (1, -1) or _is_batch_size(shape[0]))
        if first_ok and (shape[1] == -1 or isinstance(shape[1], int)) and shape != [-1, -1]:
            return Op("layer", where, flatten_layer())
        raise ModelError(
            Message(
                "{name} to {shape} is not supported; expected a reshape to a vector, such as (1, -1)",
                name=name,
                shape=shape,
            ),
            where,
        )
    if (node.op == "call_function" and target in (F.dropout, torch.dropout)) or (
        node.op == "call_method" and name == "contiguous"
    ):
        return Op("skip", where)
    if (
        node.op == "call_function" and target in (F.softmax, F.log_softmax, torch.softmax, torch.log_softmax)
    ) or (node.op == "call_method" and name in ("softmax", "log_softmax")):
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
        if dim not in (1, -1):
            raise ModelError(
                Message("a softmax over dim {dim} is not supported; expected dim=1 (or -1)", dim=dim), where
            )
        return Op("softmax", where)
    return None


def _is_batch_size(value: Any) -> bool:
    """Whether ``value`` is a traced ``x.size(0)`` / ``x.shape[0]``."""
    if not hasattr(value, "op"):
        return False
    if value.op == "call_method" and value.target == "size":
        return bool(value.args[1:2] == (0,))
    if value.op == "call_function" and value.target is operator.getitem:
        return bool(value.args[1] == 0)
    return False


def _shape_helper(node: Any) -> bool:
    """``x.size(...)``, ``x.shape``, ``x.shape[0]``: shape queries that feed a reshape, not layers."""
    if node.op == "call_method" and node.target in ("size", "dim"):
        return True
    if node.op == "call_function" and node.target is getattr:
        return bool(node.args[1:2] == ("shape",))
    return bool(
        node.op == "call_function" and node.target is operator.getitem and _shape_helper(node.args[0])
    )


def trace_ops(module: Any, dims: int) -> list[Op]:
    """The chain of :class:`Op` of a module, from its ``torch.fx`` trace.

    Raises
    ------
    ModelError
        A module that cannot be traced, an unsupported node, or nodes that do not form a chain.
    """
    import torch.fx

    try:
        traced = torch.fx.symbolic_trace(module)
    except Exception as exc:
        text = " ".join(str(exc).split())[:160]
        raise ModelError(
            Message(
                "torch.fx cannot trace this module ({kind}: {text}); expected an nn.Sequential "
                "or a module whose forward has no data-dependent control flow",
                kind=type(exc).__name__,
                text=text,
            ),
            "module",
        ) from None
    ops: list[Op] = []
    current: Any = None
    for node in traced.graph.nodes:
        if node.op == "placeholder":
            if current is not None:
                raise ModelError(Message("expected a module with one input"), f"argument '{node.target}'")
            current = node
            continue
        if node.op == "output":
            result = node.args[0]
            if result is not current:
                raise ModelError(
                    Message("expected the module to return the output of its last layer (one tensor)"),
                    "forward",
                )
            continue
        where = _where(node, traced)
        if _shape_helper(node):
            continue
        inputs = [a for a in node.all_input_nodes if not _shape_helper(a)]
        if inputs != [current]:
            raise ModelError(
                Message(
                    "visualconv imports a chain of layers, each taking the output of the one before; "
                    "this node takes other inputs (a branch, a residual connection or a computed "
                    "tensor)"
                ),
                where,
            )
        if node.op == "call_module":
            op = module_op(traced.get_submodule(node.target), where, dims)
        elif node.op in ("call_function", "call_method"):
            found = _function_op(node, where)
            if found is None:
                raise ModelError(
                    Message(
                        "unsupported operation; expected the modules {supported} (or their functions)",
                        supported=_SUPPORTED_TEXT,
                    ),
                    where,
                )
            op = found
        else:
            raise ModelError(Message("unsupported {op} node; expected layers only", op=node.op), where)
        ops.append(op)
        current = node
    return ops


def _where(node: Any, traced: Any) -> str:
    if node.op == "call_module":
        return Message(
            "module '{name}' ({kind})",
            name=node.target,
            kind=type(traced.get_submodule(node.target)).__name__,
        )
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
    return Message("node '{name}' ({op})", name=node.name, op=name)


def from_torch(
    module: Any,
    example_input: Any,
    *,
    upstream: Any = None,
    target: Any = None,
    loss: str | dict[str, Any] | None = None,
    name: str | None = None,
) -> Model:
    """A visualconv model of a PyTorch module and one example.

    Parameters
    ----------
    module : torch.nn.Module
        An ``nn.Sequential`` or a ``torch.fx``-traceable module made of Conv1d/2d,
        ConvTranspose1d/2d, MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool/AdaptiveMaxPool to 1,
        ReLU, LeakyReLU, Sigmoid, Tanh, Flatten, Linear (Identity and Dropout are skipped,
        a final Softmax or LogSoftmax becomes the cross-entropy loss).
    example_input : tensor or ndarray of shape (1, C, L), (1, C, H, W) or (1, F)
        One example as the module takes it (a batch of one).
    upstream : tensor or ndarray, optional
        dL/d(output), the module's output shape (with or without the batch axis).
    target : int, tensor or ndarray, optional
        With ``loss``: a class index (cross-entropy) or an array of the output's shape (mse).
    loss : "mse", "cross_entropy" or a loss object such as ``{"type": "mse", "reduction": "sum"}``
    name : str, optional
        The model's name (default: the module's class name).

    Returns
    -------
    Model
        Validated as a model file is. Without upstream and target it gets a seeded random
        upstream (or cross-entropy with class 0 after a softmax).

    Raises
    ------
    ModelError
        Naming the module or node that cannot be imported, and what is supported.
    """
    torch = _require_torch()
    from ..modelfile import model_from_document

    x = np.asarray(
        _numpy(example_input) if isinstance(example_input, torch.Tensor) else example_input, dtype=np.float64
    )
    if x.ndim not in (2, 3, 4) or x.shape[0] != 1:
        raise ModelError(
            Message(
                "expected one example with its batch axis, (1, C, L), (1, C, H, W) or (1, F), "
                "got shape {shape}",
                shape=x.shape,
            ),
            "example_input",
        )
    array, dims, vector = example_input_of(x)
    ops = trace_ops(module, dims)

    def plain(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return _numpy(value) if value.is_floating_point() else value.detach().cpu().numpy()
        return value

    title = name if name is not None else type(module).__name__
    document = assemble(
        ops,
        array,
        dims,
        vector,
        name=title,
        description=f"Imported from the PyTorch module {type(module).__name__}.",
        upstream=None if upstream is None else np.asarray(plain(upstream), dtype=np.float64),
        target=plain(target),
        loss=loss,
    )
    return model_from_document(document)


def example_input_of(x: np.ndarray) -> tuple[np.ndarray, int, bool]:
    """(example without batch axis, dims, vector) of a batch of one."""
    return example_input(x, list(x.shape), "example_input")

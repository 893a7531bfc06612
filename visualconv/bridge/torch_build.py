"""A visualconv model as PyTorch: an ``nn.Module`` (:func:`to_torch`) or a standalone script.

Both are built from the model's document (the model-file format), one visualconv layer
after the other: a conv, conv_transpose or dense layer becomes its module followed by
the module of its activation (none for identity); pool, flatten become one module each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.errors import ModelError
from ..engine.model import Model

PARAMETRIC = ("conv", "conv_transpose", "dense")


@dataclass(frozen=True)
class ModuleSpec:
    """One ``torch.nn`` module to build.

    Attributes
    ----------
    cls : str
        The class name in ``torch.nn``.
    args : tuple
        Positional constructor arguments.
    kwargs : dict
        Keyword constructor arguments, in the order written.
    params : dict of str to ndarray
        Values of its parameters (``weight``, ``bias``).
    """

    cls: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class LayerSpec:
    """The modules of one visualconv layer: its transformation, then its activation if any."""

    type: str
    modules: tuple[ModuleSpec, ...]


def _axes(value: Any, dims: int, default: int) -> Any:
    """A spatial setting of the format as PyTorch takes it: an int (1-D) or a pair (2-D)."""
    if value is None:
        value = default
    if isinstance(value, str):
        return value
    if dims == 1:
        return int(value[-1]) if isinstance(value, list) else int(value)
    if isinstance(value, list):
        return (int(value[0]), int(value[1]))
    return (int(value), int(value))


def _activation(layer: dict[str, Any]) -> tuple[ModuleSpec, ...]:
    name = layer.get("activation", "identity")
    if name == "identity":
        return ()
    if name == "relu":
        return (ModuleSpec("ReLU"),)
    if name == "leaky_relu":
        return (ModuleSpec("LeakyReLU", (float(layer.get("negative_slope", 0.01)),)),)
    if name == "sigmoid":
        return (ModuleSpec("Sigmoid"),)
    if name == "tanh":
        return (ModuleSpec("Tanh"),)
    raise ModelError(f"no PyTorch module for the activation {name!r}", "activation")


def _params(layer: dict[str, Any]) -> dict[str, np.ndarray]:
    params = {"weight": np.asarray(layer["weight"], dtype=np.float64)}
    if layer.get("bias") is not None:
        params["bias"] = np.asarray(layer["bias"], dtype=np.float64).reshape(-1)
    return params


def layer_specs(document: dict[str, Any]) -> list[LayerSpec]:
    """The modules of every layer of a model document (canonical shapes, as saved).

    Raises
    ------
    ModelError
        For a layer type without a PyTorch twin.
    """
    dims = int(document["dims"])
    specs = []
    for index, layer in enumerate(document["layers"]):
        kind = layer["type"]
        try:
            specs.append(LayerSpec(kind, _modules(layer, dims)))
        except ModelError as exc:
            raise exc.under(f"layers[{index}]") from None
    return specs


def _modules(layer: dict[str, Any], dims: int) -> tuple[ModuleSpec, ...]:
    kind = layer["type"]
    if kind == "conv":
        params = _params(layer)
        weight = params["weight"]
        groups = int(layer.get("groups", 1))
        kwargs: dict[str, Any] = {
            "kernel_size": _axes(list(weight.shape[2:]), dims, 1),
            "stride": _axes(layer.get("stride"), dims, 1),
            "padding": _axes(layer.get("padding"), dims, 0),
        }
        if _axes(layer.get("dilation"), dims, 1) != _axes(1, dims, 1):
            kwargs["dilation"] = _axes(layer.get("dilation"), dims, 1)
        if groups != 1:
            kwargs["groups"] = groups
        if "bias" not in params:
            kwargs["bias"] = False
        if layer.get("padding_mode", "zeros") != "zeros":
            kwargs["padding_mode"] = layer["padding_mode"]
        conv = ModuleSpec(
            f"Conv{dims}d", (int(weight.shape[1]) * groups, int(weight.shape[0])), kwargs, params
        )
        return (conv, *_activation(layer))
    if kind == "conv_transpose":
        params = _params(layer)
        weight = params["weight"]
        groups = int(layer.get("groups", 1))
        kwargs = {
            "kernel_size": _axes(list(weight.shape[2:]), dims, 1),
            "stride": _axes(layer.get("stride"), dims, 1),
            "padding": _axes(layer.get("padding"), dims, 0),
        }
        if _axes(layer.get("output_padding"), dims, 0) != _axes(0, dims, 0):
            kwargs["output_padding"] = _axes(layer.get("output_padding"), dims, 0)
        if groups != 1:
            kwargs["groups"] = groups
        if "bias" not in params:
            kwargs["bias"] = False
        if _axes(layer.get("dilation"), dims, 1) != _axes(1, dims, 1):
            kwargs["dilation"] = _axes(layer.get("dilation"), dims, 1)
        conv = ModuleSpec(
            f"ConvTranspose{dims}d", (int(weight.shape[0]), int(weight.shape[1]) * groups), kwargs, params
        )
        return (conv, *_activation(layer))
    if kind == "pool":
        mode = layer["mode"]
        if layer.get("size") == "global":
            cls = f"Adaptive{'Max' if mode == 'max' else 'Avg'}Pool{dims}d"
            return (ModuleSpec(cls, (1,)),)
        cls = f"{'Max' if mode == 'max' else 'Avg'}Pool{dims}d"
        kwargs = {
            "kernel_size": _axes(layer["size"], dims, 1),
            "stride": _axes(layer.get("stride", layer["size"]), dims, 1),
        }
        if layer.get("padding") not in (None, 0, [0, 0]):
            kwargs["padding"] = _axes(layer["padding"], dims, 0)
        return (ModuleSpec(cls, (), kwargs),)
    if kind == "flatten":
        return (ModuleSpec("Flatten"),)
    if kind == "dense":
        params = _params(layer)
        weight = params["weight"]
        kwargs = {} if "bias" in params else {"bias": False}
        linear = ModuleSpec("Linear", (int(weight.shape[1]), int(weight.shape[0])), kwargs, params)
        return (linear, *_activation(layer))
    raise ModelError(f"no PyTorch module for the layer type {kind!r}", "type")


def _document(model: Model | dict[str, Any]) -> dict[str, Any]:
    from ..modelfile import model_document, model_from_document

    if isinstance(model, dict):
        model = model_from_document(model)
    return model_document(model)


def _require_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ModelError(
            "this needs PyTorch; expected it installed: pip install 'visualconv[torch]'"
        ) from None
    return torch


def to_torch(model: Model | dict[str, Any]) -> Any:
    """The model's network as a ``torch.nn.Sequential`` in float64, weights set.

    Each conv, conv_transpose or dense layer is its module followed by its activation's
    module (none for identity); pool and flatten are one module each. The module takes
    a batch (N, C, ...) as the model's layers do.

    Raises
    ------
    ModelError
        Without PyTorch, or for a layer it has no module for.
    """
    torch = _require_torch()
    from torch import nn

    modules = []
    for spec in layer_specs(_document(model)):
        for module_spec in spec.modules:
            module = getattr(nn, module_spec.cls)(*module_spec.args, **module_spec.kwargs)
            modules.append((module, module_spec.params))
    net = nn.Sequential(*(m for m, _ in modules)).to(torch.float64)
    with torch.no_grad():
        for module, params in modules:
            for key, value in params.items():
                getattr(module, key).copy_(torch.from_numpy(np.array(value, dtype=np.float64)))
    return net


def layer_slices(model: Model | dict[str, Any]) -> list[tuple[str, int, int]]:
    """For each visualconv layer: its type and the slice ``start:stop`` of :func:`to_torch`'s modules."""
    result = []
    start = 0
    for spec in layer_specs(_document(model)):
        result.append((spec.type, start, start + len(spec.modules)))
        start += len(spec.modules)
    return result


# ---------------------------------------------------------------- the script


def _literal(value: Any) -> str:
    """Python source of a number, a tuple, a string (repr: escaped, never executed) or a bool."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(float(value))


def _call(spec: ModuleSpec) -> str:
    parts = [_literal(a) for a in spec.args] + [f"{k}={_literal(v)}" for k, v in spec.kwargs.items()]
    return f"nn.{spec.cls}({', '.join(parts)})"


def _tensor(array: Any, indent: str) -> str:
    """``torch.tensor(...)`` source of an array; numbers printed so they round-trip."""
    values = np.asarray(array, dtype=np.float64)
    text = json.dumps(values.tolist(), allow_nan=False)
    if len(text) <= 80:
        return f"torch.tensor({text})"
    inner = indent + "    "
    return f"torch.tensor(\n{inner}{_nested(values, len(inner))}\n{indent})"


def _nested(array: np.ndarray, column: int) -> str:
    """Nested-list source of an array, one innermost row per line, brackets as NumPy prints them."""
    if array.ndim <= 1:
        return json.dumps(array.tolist(), allow_nan=False)
    gap = "\n" * min(array.ndim - 1, 2)
    separator = "," + gap + " " * (column + 1)
    return "[" + separator.join(_nested(sub, column + 1) for sub in array) + "]"


_HEADER = '''\
"""A visualconv model as a standalone PyTorch script.

Written by `visualconv export MODEL --torch SCRIPT` (visualconv {version}). It builds the
network with torch.nn, sets the model file's weights and example, runs the forward and the
backward pass with autograd in float64 and prints every layer's values and gradients in
the visualconv.grad/1 JSON layout, so that its output and `visualconv grad MODEL --json`
hold the same numbers. It needs only PyTorch and the Python standard library.
"""

import json

import torch
import torch.nn.functional as F
from torch import nn

torch.set_default_dtype(torch.float64)

# The model's name and description, as text.
NAME = {name}
DESCRIPTION = {description}
'''

_RUN = '''


def values(t):
    """A tensor of one example without its batch axis, as nested lists of floats."""
    return t.detach()[0].tolist()


def main():
    # Forward: keep each layer's input h, pre-activation z and output a.
    records = []
    h = x
    for kind, start, stop in LAYERS:
        z = net[start](h)
        a = net[start + 1](z) if stop - start == 2 else z
        z.retain_grad()
        a.retain_grad()
        records.append((h, z, a))
        h = a
    output = h

{backward}

    layers = []
    for index, ((kind, start, stop), (h, z, a)) in enumerate(zip(LAYERS, records)):
        entry = {{"index": index, "type": kind}}
        if kind in ("conv", "conv_transpose", "dense"):
            entry["pre_activation"] = values(z)
        entry["output"] = values(a)
        entry["grad_output"] = values(a.grad)
        if kind in ("conv", "conv_transpose", "dense"):
            module = net[start]
            entry["grad_pre_activation"] = values(z.grad)
            entry["grad_weight"] = module.weight.grad.tolist()
            entry["grad_bias"] = None if module.bias is None else module.bias.grad.tolist()
        entry["grad_input"] = values(h.grad)
        layers.append(entry)
    result = {{
        "format": "visualconv.grad/1",
        "loss": None if loss is None else loss.item(),
        "layers": layers,
    }}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
'''


def torch_script(model: Model | dict[str, Any]) -> str:
    """Source of a standalone PyTorch script that prints the model's ``grad --json``.

    Text from the model (its name and description) is written as Python string
    literals (``repr``), never as code.

    Raises
    ------
    ModelError
        When the model has no backward pass (neither upstream nor target with loss), or a
        layer without a PyTorch twin.
    """
    from .. import __version__

    document = _document(model)
    if "upstream" not in document and "target" not in document:
        raise ModelError(
            "the model has no 'upstream' and no 'target' with 'loss', so there is no backward pass to "
            "write; expected one of them",
            "upstream",
        )
    specs = layer_specs(document)
    lines = [
        _HEADER.format(
            version=__version__,
            name=repr(str(document.get("name", ""))),
            description=repr(str(document.get("description", ""))),
        )
    ]
    lines.append("# The network: each module's comment names the visualconv layer it belongs to.")
    lines.append("net = nn.Sequential(")
    slices = []
    position = 0
    for index, spec in enumerate(specs):
        for number, module in enumerate(spec.modules):
            role = spec.type if number == 0 else "activation"
            lines.append(f"    {_call(module)},  # net[{position + number}]: layers[{index}] {role}")
        slices.append((spec.type, position, position + len(spec.modules)))
        position += len(spec.modules)
    lines.append(")")
    lines.append("")
    lines.append("# Each visualconv layer: its type and the modules net[start:stop] that compute it")
    lines.append("# (a layer with an activation is its transformation, then the activation).")
    lines.append("LAYERS = [")
    lines.extend(f"    ({kind!r}, {start}, {stop})," for kind, start, stop in slices)
    lines.append("]")
    lines.append("")
    lines.append("# The weights of the model file.")
    lines.append("with torch.no_grad():")
    wrote = False
    for spec, (_, start, _) in zip(specs, slices, strict=True):
        for key, value in spec.modules[0].params.items():
            lines.append(f"    net[{start}].{key}.copy_({_tensor(value, '    ')})")
            wrote = True
    if not wrote:
        lines.append("    pass  # this network has no weights")
    lines.append("")
    lines.append("# The example, with a batch axis of one.")
    lines.append(f"x = {_tensor(document['input'], '')}.unsqueeze(0).requires_grad_(True)")
    lines.append("")
    if "upstream" in document:
        lines.append("# The backward pass starts from the model's upstream dL/d(output of the last layer).")
        lines.append(f"UPSTREAM = {_tensor(document['upstream'], '')}.unsqueeze(0)")
        backward = "    loss = None\n    output.backward(UPSTREAM)"
    else:
        loss = document["loss"]
        if loss["type"] == "cross_entropy":
            lines.append(
                "# The backward pass starts from the cross-entropy loss (softmax over the flattened output)."
            )
            lines.append(f"TARGET = {int(document['target'])}  # the index of the true class")
            backward = (
                "    loss = F.cross_entropy(output.reshape(1, -1), torch.tensor([TARGET]))\n"
                "    loss.backward()"
            )
        else:
            reduction = loss.get("reduction", "half_sum")
            lines.append(f"# The backward pass starts from the squared-error loss (reduction {reduction!r}).")
            lines.append(f"TARGET = {_tensor(document['target'], '')}.unsqueeze(0)")
            if reduction == "half_sum":
                formula = "0.5 * ((output - TARGET) ** 2).sum()"
            else:
                formula = f"F.mse_loss(output, TARGET, reduction={reduction!r})"
            backward = f"    loss = {formula}\n    loss.backward()"
    return "\n".join(lines) + _RUN.format(backward=backward)

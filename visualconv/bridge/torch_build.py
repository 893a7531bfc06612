"""A visualconv model as PyTorch: an ``nn.Module`` (:func:`to_torch`) or a standalone script.

Both are built from the model's document (the model-file format), one visualconv layer
after the other; each layer's kind says which modules compute it
(``Kind.torch_modules``: a layer with an activation is its transformation followed by the
activation's module, none for identity). PyTorch is imported only when a module is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import kinds
from ..engine.errors import Message, ModelError
from ..engine.kinds.torch_twin import ModuleSpec
from ..engine.model import Model


@dataclass(frozen=True)
class LayerSpec:
    """The modules of one visualconv layer: its transformation, then its activation if any.

    Attributes
    ----------
    type : str
        The layer's ``type`` in the file (written into the script and its output).
    modules : tuple of ModuleSpec
    weighted : bool
        The layer has a weight (its kind's ``has_weights``): the script reports its
        pre-activation and its parameters' gradients.
    """

    type: str
    modules: tuple[ModuleSpec, ...]
    weighted: bool = False


def layer_specs(document: dict[str, Any]) -> list[LayerSpec]:
    """The modules of every layer of a model document (canonical shapes, as saved); each kind says its own.

    Raises
    ------
    ModelError
        For a layer type without a PyTorch twin.
    """
    dims = int(document["dims"])
    specs = []
    for index, layer in enumerate(document["layers"]):
        kind = kinds.by_type(layer["type"])
        try:
            specs.append(LayerSpec(kind.type, kind.torch_modules(layer, dims), kind.has_weights))
        except ModelError as exc:
            raise exc.under(f"layers[{index}]") from None
    return specs


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
            Message("this needs PyTorch; expected it installed: pip install 'visualconv[torch]'")
        ) from None
    return torch


def to_torch(model: Model | dict[str, Any]) -> Any:
    """The model's network as a ``torch.nn.Sequential`` in float64, weights set.

    Each layer is the modules its kind names (``Kind.torch_modules``): a layer with an
    activation is its module followed by the activation's (none for identity). The
    network takes a batch (N, C, ...) as the model's layers do.

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
    for kind, start, stop, weighted in LAYERS:
        z = net[start](h)
        a = net[start + 1](z) if stop - start == 2 else z
        z.retain_grad()
        a.retain_grad()
        records.append((h, z, a))
        h = a
    output = h

{backward}

    layers = []
    for index, ((kind, start, stop, weighted), (h, z, a)) in enumerate(zip(LAYERS, records)):
        entry = {{"index": index, "type": kind}}
        if weighted:
            entry["pre_activation"] = values(z)
        entry["output"] = values(a)
        entry["grad_output"] = values(a.grad)
        if weighted:
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
            Message(
                "the model has no 'upstream' and no 'target' with 'loss', so there is no "
                "backward pass to write; expected one of them"
            ),
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
        slices.append((spec.type, position, position + len(spec.modules), spec.weighted))
        position += len(spec.modules)
    lines.append(")")
    lines.append("")
    lines.append("# Each visualconv layer: its type, the modules net[start:stop] that compute it")
    lines.append("# (a layer with an activation is its transformation, then the activation) and")
    lines.append("# whether it has weights (its pre-activation and parameter gradients are reported).")
    lines.append("LAYERS = [")
    lines.extend(f"    ({kind!r}, {start}, {stop}, {weighted})," for kind, start, stop, weighted in slices)
    lines.append("]")
    lines.append("")
    lines.append("# The weights of the model file.")
    lines.append("with torch.no_grad():")
    wrote = False
    for spec, (_, start, _, _) in zip(specs, slices, strict=True):
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

"""visualconv: a visual debugger for backpropagation through convolution and pooling.

The public API (stable; see docs/model-format.md)::

    model = load_model("file.json")
    result = grad(model)
    save_model(model, "out.json")
    conv2d_forward / conv2d_backward / conv1d_forward / conv1d_backward   (groups=, padding_mode=, "same")
    conv_transpose2d_forward / conv_transpose2d_backward
    conv_transpose1d_forward / conv_transpose1d_backward
    pool2d_forward / pool2d_backward / pool1d_forward / pool1d_backward   (padding=, size="global")
    model = from_torch(module, example_input, upstream=dz)   # PyTorch (optional extra)
    module = to_torch(model)

Importing this package never imports Qt.
"""

from __future__ import annotations

from typing import Any

from .engine.conv import conv1d_backward, conv1d_forward, conv2d_backward, conv2d_forward
from .engine.conv_transpose import (
    conv_transpose1d_backward,
    conv_transpose1d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)
from .engine.errors import ModelError
from .engine.model import Model
from .engine.pool import pool1d_backward, pool1d_forward, pool2d_backward, pool2d_forward
from .modelfile import load_model, save_model

__version__ = "0.1.0"


def grad(model: Model) -> dict[str, Any]:
    """Values and gradients of every layer, as ``visualconv grad --json`` prints them.

    Returns a dict with keys ``format``, ``loss`` and ``layers``; arrays are NumPy
    float64 in canonical shape.
    """
    from .engine.model import gradients

    return gradients(model)


def from_torch(module: Any, example_input: Any, **options: Any) -> Model:
    """A model of a PyTorch module and one example (see :func:`visualconv.bridge.torch_import.from_torch`).

    ``options``: ``upstream=`` or ``target=`` with ``loss=``, and ``name=``. Needs PyTorch.
    """
    from .bridge.torch_import import from_torch as convert

    model: Model = convert(module, example_input, **options)
    return model


def to_torch(model: Model) -> Any:
    """The model's network as a float64 ``torch.nn.Sequential`` with the weights set. Needs PyTorch."""
    from .bridge.torch_build import to_torch as convert

    return convert(model)


__all__ = [
    "Model",
    "ModelError",
    "__version__",
    "conv1d_backward",
    "conv1d_forward",
    "conv2d_backward",
    "conv2d_forward",
    "conv_transpose1d_backward",
    "conv_transpose1d_forward",
    "conv_transpose2d_backward",
    "conv_transpose2d_forward",
    "from_torch",
    "grad",
    "load_model",
    "pool1d_backward",
    "pool1d_forward",
    "pool2d_backward",
    "pool2d_forward",
    "save_model",
    "to_torch",
]

"""The PyTorch twin of a layer, as data: which ``torch.nn`` modules compute it.

Each kind answers :meth:`Kind.torch_modules` with :class:`ModuleSpec` records built from its
layer object of the file (canonical shapes, as saved). Nothing here imports PyTorch: the
bridge (``visualconv.bridge.torch_build``) turns the records into modules or script text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ModelError


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


def axes(value: Any, dims: int, default: int) -> Any:
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


def activation(spec: dict[str, Any]) -> tuple[ModuleSpec, ...]:
    """The module of a layer object's activation (none for identity)."""
    name = spec.get("activation", "identity")
    if name == "identity":
        return ()
    if name == "relu":
        return (ModuleSpec("ReLU"),)
    if name == "leaky_relu":
        return (ModuleSpec("LeakyReLU", (float(spec.get("negative_slope", 0.01)),)),)
    if name == "sigmoid":
        return (ModuleSpec("Sigmoid"),)
    if name == "tanh":
        return (ModuleSpec("Tanh"),)
    raise ModelError(f"no PyTorch module for the activation {name!r}", "activation")


def params(spec: dict[str, Any]) -> dict[str, np.ndarray]:
    """The weight and (if any) the flat bias of a layer object, float64."""
    result = {"weight": np.asarray(spec["weight"], dtype=np.float64)}
    if spec.get("bias") is not None:
        result["bias"] = np.asarray(spec["bias"], dtype=np.float64).reshape(-1)
    return result


def convolution_kwargs(spec: dict[str, Any], dims: int, weight: np.ndarray) -> dict[str, Any]:
    """kernel_size, stride and padding of a (transposed) convolution's layer object."""
    return {
        "kernel_size": axes(list(weight.shape[2:]), dims, 1),
        "stride": axes(spec.get("stride"), dims, 1),
        "padding": axes(spec.get("padding"), dims, 0),
    }


def set_unless(kwargs: dict[str, Any], key: str, value: Any, default: Any) -> None:
    """Write ``kwargs[key] = value`` only when it differs from PyTorch's default."""
    if value != default:
        kwargs[key] = value

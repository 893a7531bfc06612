"""Elementwise activations and their derivatives, as PyTorch defines them.

At kinks PyTorch picks one side: relu'(0) = 0 and leaky_relu'(0) = slope.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .windows import FloatArray

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh")
LEAKY_SLOPE = 0.01

# Formulas for the equation panel and exports.
DERIVATIVE_TEXT = {
    "identity": "f'(z) = 1",
    "relu": "f'(z) = 1 if z > 0 else 0",
    "leaky_relu": "f'(z) = 1 if z > 0 else 0.01",
    "sigmoid": "f'(z) = s(z)(1 - s(z))",
    "tanh": "f'(z) = 1 - tanh(z)^2",
}


def _sigmoid(z: FloatArray) -> FloatArray:
    # Split by sign so exp never overflows.
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    exp_z = np.exp(z[~positive])
    out[~positive] = exp_z / (1.0 + exp_z)
    return out


_FORWARD: dict[str, Callable[[FloatArray], FloatArray]] = {
    "identity": lambda z: z.copy(),
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
}


def derivative_text(name: str, negative_slope: float = LEAKY_SLOPE) -> str:
    """The derivative's formula for the equation panel and exports (leaky_relu with its slope)."""
    if name == "leaky_relu":
        return f"f'(z) = 1 if z > 0 else {negative_slope:g}"
    return DERIVATIVE_TEXT[name]


def activate(name: str, z: FloatArray, negative_slope: float = LEAKY_SLOPE) -> FloatArray:
    """Apply activation ``name`` elementwise; returns an array of ``z``'s shape.

    ``negative_slope`` is leaky_relu's slope for z < 0 (PyTorch's default 0.01).
    """
    if name == "leaky_relu":
        z = np.asarray(z, dtype=np.float64)
        return np.where(z > 0, z, negative_slope * z)
    if name not in _FORWARD:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}")
    return _FORWARD[name](np.asarray(z, dtype=np.float64))


def derivative(
    name: str, z: FloatArray, a: FloatArray | None = None, negative_slope: float = LEAKY_SLOPE
) -> FloatArray:
    """Return f'(z) elementwise.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.
    z : ndarray
        Pre-activation.
    a : ndarray or None
        ``f(z)`` if already known (sigmoid and tanh reuse it, as PyTorch does).

    Returns
    -------
    ndarray of ``z``'s shape
    """
    z = np.asarray(z, dtype=np.float64)
    if name == "identity":
        return np.ones_like(z)
    if name == "relu":
        return (z > 0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, negative_slope)
    if name == "sigmoid":
        s = activate("sigmoid", z) if a is None else a
        return s * (1.0 - s)
    if name == "tanh":
        t = np.tanh(z) if a is None else a
        return 1.0 - t * t
    raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}")


def kinks(name: str, z: FloatArray, tolerance: float) -> np.ndarray:
    """Boolean mask of points within ``tolerance`` of a non-differentiable point."""
    z = np.asarray(z, dtype=np.float64)
    if name in ("relu", "leaky_relu"):
        return np.abs(z) <= tolerance
    return np.zeros(z.shape, dtype=bool)

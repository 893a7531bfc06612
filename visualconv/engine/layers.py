"""Layers as immutable values: conv, pool, flatten, dense.

A layer holds its parameters and settings and nothing else. ``forward`` returns
values, ``backward`` takes them back: no per-call cache is stored on the layer, so a
debugger can step back and forth freely.

Arrays carry a batch axis first. One-dimensional conv and pool layers keep their
canonical 1-D shapes (weight (C_out, C_in, K), activations (N, C, L)) and run as
2-D layers with height 1.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from . import activations
from .conv import conv2d_backward, conv2d_forward
from .pool import pool2d_backward, pool2d_forward
from .windows import FloatArray, IntPair, output_shape

Shape = tuple[int, ...]


def frozen_array(values: Any) -> FloatArray:
    """Return ``values`` as a read-only float64 array (a copy)."""
    array = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True)
class LayerGrads:
    """Gradients of one layer for one backward pass.

    Attributes
    ----------
    grad_input : ndarray of the layer input's shape (N, ...)
    grad_pre_activation : ndarray of the output's shape, or None for pool/flatten
        dL/dZ = grad_output * f'(Z).
    grad_weight : ndarray of the weight's shape, or None
    grad_bias : ndarray of shape (C_out,), or None (no bias term, or no parameters)
    """

    grad_input: FloatArray = field(repr=False)
    grad_pre_activation: FloatArray | None = field(repr=False, default=None)
    grad_weight: FloatArray | None = field(repr=False, default=None)
    grad_bias: FloatArray | None = field(repr=False, default=None)


def _weight_and_bias(weight: FloatArray, bias: FloatArray | None) -> dict[str, FloatArray]:
    """The trainable arrays of a conv or dense layer, by name (no bias entry without a bias)."""
    return {"weight": weight} if bias is None else {"weight": weight, "bias": bias}


def _replaced(
    weight: FloatArray, bias: FloatArray | None, arrays: dict[str, FloatArray]
) -> tuple[FloatArray, FloatArray | None]:
    """``weight`` and ``bias`` with the given replacements (copied and frozen)."""
    unknown = set(arrays) - {"weight", "bias"}
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)}")
    return (
        frozen_array(arrays["weight"]) if "weight" in arrays else weight,
        frozen_array(arrays["bias"]) if "bias" in arrays else bias,
    )


def _to_4d(x: FloatArray, dims: int) -> FloatArray:
    """(N, C, L) as (N, C, 1, L) for 1-D layers; 2-D input unchanged."""
    return x[:, :, None, :] if dims == 1 else x


def _from_4d(x: FloatArray, dims: int) -> FloatArray:
    return x[:, :, 0, :] if dims == 1 else x


@dataclass(frozen=True, slots=True)
class ConvLayer:
    """Convolution (cross-correlation) with an optional bias and an activation.

    Attributes
    ----------
    weight : ndarray of shape (C_out, C_in, kH, kW), or (C_out, C_in, K) when dims == 1
    bias : ndarray of shape (C_out,) or None
        None means no bias term at all (PyTorch's ``bias=False``).
    stride, padding, dilation : (int, int)
        Per (rows, cols); a 1-D layer has rows (1, 1, 0 for padding).
    activation : str
    dims : {1, 2}
    """

    weight: FloatArray = field(repr=False)
    bias: FloatArray | None = field(repr=False, default=None)
    stride: IntPair = (1, 1)
    padding: IntPair = (0, 0)
    dilation: IntPair = (1, 1)
    activation: str = "identity"
    dims: int = 2
    type: Literal["conv"] = "conv"

    @property
    def weight_4d(self) -> FloatArray:
        """The weight as (C_out, C_in, kH, kW), kH = 1 for 1-D."""
        return self.weight[:, :, None, :] if self.dims == 1 else self.weight

    @property
    def kernel_size(self) -> IntPair:
        """(kH, kW) of the 2-D view."""
        w = self.weight_4d
        return w.shape[2], w.shape[3]

    def output_shape(self, input_shape: Shape) -> Shape:
        """Output shape (C_out, ...) for an input of shape (C_in, ...) (no batch)."""
        c_in = self.weight.shape[1]
        if len(input_shape) != self.dims + 1:
            raise ValueError(f"expects a {self.dims + 1}-axis input, got shape {input_shape}")
        if input_shape[0] != c_in:
            raise ValueError(f"expects {c_in} input channels, got {input_shape[0]}")
        spatial = (1, input_shape[1]) if self.dims == 1 else (input_shape[1], input_shape[2])
        out = output_shape(spatial, self.kernel_size, self.stride, self.padding, self.dilation)
        if min(out) < 1:
            padded = (spatial[0] + 2 * self.padding[0], spatial[1] + 2 * self.padding[1])
            shown = padded[1:] if self.dims == 1 else padded
            raise ValueError(
                f"kernel {self.weight.shape[2:]} (dilation {self.dilation[2 - self.dims :]}) "
                f"is larger than the padded input {shown}"
            )
        c_out = self.weight.shape[0]
        return (c_out, out[1]) if self.dims == 1 else (c_out, *out)

    def forward(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Return (Z, A) for a batch ``x`` of shape (N, C_in, ...)."""
        z4 = conv2d_forward(
            _to_4d(x, self.dims), self.weight_4d, self.bias, self.stride, self.padding, self.dilation
        )
        z = _from_4d(z4, self.dims)
        return z, activations.activate(self.activation, z)

    def backward(self, grad_output: FloatArray, x: FloatArray, z: FloatArray, a: FloatArray) -> LayerGrads:
        """Gradients given dL/dA of shape (N, C_out, ...) and the forward values."""
        dz = grad_output * activations.derivative(self.activation, z, a)
        dx4, dw4, db = conv2d_backward(
            _to_4d(dz, self.dims),
            _to_4d(x, self.dims),
            self.weight_4d,
            self.stride,
            self.padding,
            self.dilation,
        )
        dw = dw4[:, :, 0, :] if self.dims == 1 else dw4
        return LayerGrads(_from_4d(dx4, self.dims), dz, dw, None if self.bias is None else db)

    def parameters(self) -> dict[str, FloatArray]:
        """Trainable arrays by name."""
        return _weight_and_bias(self.weight, self.bias)

    def with_parameters(self, **arrays: FloatArray) -> ConvLayer:
        """A copy with some parameters replaced."""
        weight, bias = _replaced(self.weight, self.bias, arrays)
        return dataclasses.replace(self, weight=weight, bias=bias)


@dataclass(frozen=True, slots=True)
class PoolLayer:
    """Max or average pooling without padding.

    Attributes
    ----------
    mode : {"max", "avg"}
    size, stride : (int, int)
        A 1-D layer has rows (1, 1).
    dims : {1, 2}
    """

    mode: str = "max"
    size: IntPair = (2, 2)
    stride: IntPair = (2, 2)
    dims: int = 2
    type: Literal["pool"] = "pool"

    def output_shape(self, input_shape: Shape) -> Shape:
        """Output shape (C, ...) for an input of shape (C, ...)."""
        if len(input_shape) != self.dims + 1:
            raise ValueError(f"expects a {self.dims + 1}-axis input, got shape {input_shape}")
        spatial = (1, input_shape[1]) if self.dims == 1 else (input_shape[1], input_shape[2])
        out = output_shape(spatial, self.size, self.stride, (0, 0), (1, 1))
        if min(out) < 1:
            size = self.size[1:] if self.dims == 1 else self.size
            raise ValueError(f"pool window {size} is larger than the input {input_shape[1:]}")
        return (input_shape[0], out[1]) if self.dims == 1 else (input_shape[0], *out)

    def forward(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Return (Y, Y) for a batch ``x`` of shape (N, C, ...)."""
        y = _from_4d(pool2d_forward(_to_4d(x, self.dims), self.mode, self.size, self.stride), self.dims)
        return y, y

    def backward(self, grad_output: FloatArray, x: FloatArray, z: FloatArray, a: FloatArray) -> LayerGrads:
        """Route dL/dY of shape (N, C, ...) back to the input."""
        dx = pool2d_backward(
            _to_4d(grad_output, self.dims), _to_4d(x, self.dims), self.mode, self.size, self.stride
        )
        return LayerGrads(_from_4d(dx, self.dims))

    def parameters(self) -> dict[str, FloatArray]:
        """Pooling has no parameters."""
        return {}

    def with_parameters(self, **arrays: FloatArray) -> PoolLayer:
        """Pooling has no parameters: returns itself."""
        return self


@dataclass(frozen=True, slots=True)
class FlattenLayer:
    """Flatten (C, H, W) or (C, L) to a vector, row-major."""

    type: Literal["flatten"] = "flatten"

    def output_shape(self, input_shape: Shape) -> Shape:
        """(prod(input_shape),)."""
        return (math.prod(input_shape),)  # exact: np.prod wraps around silently

    def forward(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Return (Y, Y), Y of shape (N, prod(...))."""
        y = x.reshape(x.shape[0], -1)
        return y, y

    def backward(self, grad_output: FloatArray, x: FloatArray, z: FloatArray, a: FloatArray) -> LayerGrads:
        """Reshape the gradient back to the input's shape."""
        return LayerGrads(grad_output.reshape(x.shape))

    def parameters(self) -> dict[str, FloatArray]:
        """Flatten has no parameters."""
        return {}

    def with_parameters(self, **arrays: FloatArray) -> FlattenLayer:
        """Flatten has no parameters: returns itself."""
        return self


@dataclass(frozen=True, slots=True)
class DenseLayer:
    """Fully connected layer ``z = W x + b`` with an activation.

    Attributes
    ----------
    weight : ndarray of shape (out, in)
    bias : ndarray of shape (out,) or None
    activation : str
    """

    weight: FloatArray = field(repr=False)
    bias: FloatArray | None = field(repr=False, default=None)
    activation: str = "identity"
    type: Literal["dense"] = "dense"

    def output_shape(self, input_shape: Shape) -> Shape:
        """(out,) for an input of shape (in,)."""
        if len(input_shape) != 1:
            raise ValueError(
                f"expects a vector input, got shape {input_shape}; put a flatten layer before it"
            )
        if input_shape[0] != self.weight.shape[1]:
            raise ValueError(f"expects {self.weight.shape[1]} inputs, got {input_shape[0]}")
        return (self.weight.shape[0],)

    def forward(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Return (Z, A) for ``x`` of shape (N, in); both (N, out)."""
        z = x @ self.weight.T
        if self.bias is not None:
            z = z + self.bias
        return z, activations.activate(self.activation, z)

    def backward(self, grad_output: FloatArray, x: FloatArray, z: FloatArray, a: FloatArray) -> LayerGrads:
        """Gradients given dL/dA of shape (N, out)."""
        dz = grad_output * activations.derivative(self.activation, z, a)
        dw = dz.T @ x
        db = dz.sum(axis=0)
        return LayerGrads(dz @ self.weight, dz, dw, None if self.bias is None else db)

    def parameters(self) -> dict[str, FloatArray]:
        """Trainable arrays by name."""
        return _weight_and_bias(self.weight, self.bias)

    def with_parameters(self, **arrays: FloatArray) -> DenseLayer:
        """A copy with some parameters replaced."""
        weight, bias = _replaced(self.weight, self.bias, arrays)
        return dataclasses.replace(self, weight=weight, bias=bias)


Layer = ConvLayer | PoolLayer | FlattenLayer | DenseLayer

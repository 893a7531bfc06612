"""The dense kind: a fully connected layer ``z = W x + b`` with an activation.

Owns :class:`DenseLayer` and the traces of its two passes with their typed steps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .. import activations
from ..scene import PanelSpec, Printed, StepPanels, TileMap, gradient_specs, put_outputs, shape_of
from ..windows import FloatArray
from .base import (
    Fields,
    ForwardState,
    Kind,
    LayerGrads,
    LayerTrace,
    Shape,
    Step,
    TraceClass,
    frozen,
    replaced,
    weight_and_bias,
)


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

    @property
    def kind(self) -> DenseKind:
        """The dense kind."""
        return DENSE

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
        return weight_and_bias(self.weight, self.bias)

    def with_parameters(self, **arrays: FloatArray) -> DenseLayer:
        """A copy with some parameters replaced."""
        weight, bias = replaced(self.weight, self.bias, arrays)
        return dataclasses.replace(self, weight=weight, bias=bias)


# ----------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class DenseForwardOperands(Fields):
    """What a forward overlay multiplies: the input x (n,), the row W[o] (n,) and their products."""

    input_slice: FloatArray = field(repr=False)
    kernel: FloatArray = field(repr=False)
    products: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class DenseForwardValues(Fields):
    """Scalars of a forward overlay: the bias (0 without one), z and a = f(z)."""

    bias: float
    z: float
    a: float


@dataclass(frozen=True, slots=True)
class DenseBackwardOperands(Fields):
    """What a backward overlay multiplies by its delta: x and W[o] (n,), and both products."""

    input_slice: FloatArray = field(repr=False)
    kernel: FloatArray = field(repr=False)
    dw_contribution: FloatArray = field(repr=False)
    dx_contribution: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class DenseBackwardValues(Fields):
    """Scalars of a backward overlay: its delta dZ[o], which is also its share of db."""

    delta: float
    db_contribution: float


@dataclass(frozen=True, slots=True)
class DenseBackwardState(Fields):
    """The backward pass after k overlays.

    Attributes
    ----------
    dz : ndarray of shape (out,)
    done : ndarray of bool, shape (out,)
    dw : ndarray of shape (out, n)
    db : ndarray of shape (out,)
    dx_padded, dx : ndarray of shape (n,)
        dA_prev (the same array).
    """

    dz: FloatArray = field(repr=False)
    done: FloatArray = field(repr=False)
    dw: FloatArray = field(repr=False)
    db: FloatArray = field(repr=False)
    dx_padded: FloatArray = field(repr=False)
    dx: FloatArray = field(repr=False)


DenseForwardStep = Step[DenseForwardOperands, DenseForwardValues, ForwardState]
DenseBackwardStep = Step[DenseBackwardOperands, DenseBackwardValues, DenseBackwardState]


# ----------------------------------------------------------------------------- traces


class DenseTrace(LayerTrace):
    """What both passes of a dense layer share: f'(Z) and dZ."""

    layer: DenseLayer

    def _setup(self) -> None:
        layer = self.layer
        self.derivative = frozen(activations.derivative(layer.activation, self.z, self.a))
        if self.grad_output is not None:
            self.grad_pre_activation = frozen(self.grad_output * self.derivative)


class DenseForwardTrace(DenseTrace):
    """The forward pass of a dense layer: overlay o computes z[o] = W[o] x + b[o]."""

    def step(self, k: int) -> DenseForwardStep:
        """The state after k overlays, 0 <= k <= n."""
        return super().step(k)

    def _compute(self, k: int) -> DenseForwardStep:
        layer = self.layer
        ov = self.overlay(k) if k else None
        operands = values = None
        if ov is not None:
            c = ov.channel
            row = frozen(layer.weight[c])
            operands = DenseForwardOperands(self.x, row, frozen(self.x * row))
            bias = 0.0 if layer.bias is None else float(layer.bias[c])
            values = DenseForwardValues(bias, float(self.z[c]), float(self.a[c]))
        return Step("dense", "forward", k, self.n, ov, operands, values, self._forward_state(k))


class DenseBackwardTrace(DenseTrace):
    """The backward pass of a dense layer: overlay o adds dZ[o] x to dW[o] and dZ[o] W[o] to dA_prev."""

    def step(self, k: int) -> DenseBackwardStep:
        """The state after k overlays, 0 <= k <= n."""
        return super().step(k)

    def _compute(self, k: int) -> DenseBackwardStep:
        layer = self.layer
        assert self.grad_pre_activation is not None
        dz = self.grad_pre_activation[:k]
        dw = np.zeros(layer.weight.shape)
        dw[:k] = np.outer(dz, self.x)
        db = np.zeros(layer.weight.shape[0])
        db[:k] = dz
        dx = frozen(dz @ layer.weight[:k])
        operands = values = None
        ov = self.overlay(k) if k else None
        if ov is not None:
            delta = float(self.grad_pre_activation[ov.channel])
            kernel = frozen(layer.weight[ov.channel])
            operands = DenseBackwardOperands(self.x, kernel, frozen(self.x * delta), frozen(kernel * delta))
            values = DenseBackwardValues(delta, delta)
        state = DenseBackwardState(
            self.grad_pre_activation, self._done_mask(k), frozen(dw), frozen(db), dx, dx
        )
        return Step("dense", "backward", k, self.n, ov, operands, values, state)


# ----------------------------------------------------------------------------- the kind


class DenseKind(Kind):
    """Dense layers: weights and an activation, no windows."""

    type = "dense"
    has_weights = True
    has_activation = True

    def trace_class(self, pass_name: str) -> TraceClass:
        """:class:`DenseForwardTrace` or :class:`DenseBackwardTrace`."""
        return DenseForwardTrace if pass_name == "forward" else DenseBackwardTrace

    # --- the scene

    def panels(self, trace: Any) -> list[PanelSpec]:
        """Input vector, weight matrix, bias and outputs; backward dZ, dA_prev, dW, db."""
        layer = trace.layer
        bias = layer.bias is not None
        x_map = TileMap(shape_of(trace.x))
        w_map = TileMap(shape_of(layer.weight))
        z_map = TileMap(shape_of(trace.z))
        b_map = TileMap(shape_of(layer.bias)) if bias else None
        x_printed = Printed("x = A_prev", 0, 0, key="x")
        specs = [
            PanelSpec("input", "x  (input)", x_map, 0, 0, x_printed, subtitle=x_map.shape_text()),
            PanelSpec(
                "kernel",
                "W  (weights)",
                w_map,
                0,
                1,
                Printed("W", 0, 1, key="w"),
                subtitle=w_map.shape_text(),
            ),
        ]
        activation = layer.activation
        if trace.pass_name == "forward":
            if b_map is not None:
                specs.append(PanelSpec("bias", "b  (bias)", b_map, 0, 2, Printed("b", 0, 2, key="b")))
            z_printed = Printed("z = W x" + (" + b" if bias else ""), 1, 0)
            specs.append(PanelSpec("z", "Z = W x + b" if bias else "Z = W x", z_map, 1, 0, z_printed))
            if activation != "identity":
                a_printed = Printed(f"a = {activation}(z)", 1, 1)
                specs.append(PanelSpec("a", f"A = {activation}(Z)", z_map, 1, 1, a_printed))
            return specs
        dz_printed = Printed(f"dZ = dA ⊙ {activation}'(z)" if activation != "identity" else "dZ", 0, 2)
        specs.append(PanelSpec("dz", "dZ  (upstream delta)", z_map, 0, 2, dz_printed))
        specs.append(PanelSpec("dx", "dA_prev", x_map, 1, 0, Printed("dA_prev", 1, 2)))
        return specs + gradient_specs(w_map, b_map)

    def fill_panels(self, trace: Any, step: Any, out: StepPanels) -> None:
        """The overlay's row of W, its output unit; backward every input gets a share."""
        layer = trace.layer
        maps = out.maps
        ov = step.overlay
        o = ov.channel if ov is not None else -1
        n_in = trace.x.shape[0]
        row = [] if ov is None else [(0, o, q) for q in range(n_in)]
        forward = trace.pass_name == "forward"
        element = [] if ov is None else [maps["z" if forward else "dz"].cell((o,))]
        out.put("input", trace.x)
        out.put("kernel", layer.weight, window=row)
        if forward:
            put_outputs(out, trace, step.k, layer.bias, None if ov is None else o, element)
            return
        state = step.state
        out.put("dz", state.dz, window=element)
        every = [] if ov is None else [maps["dx"].cell((q,)) for q in range(n_in)]
        out.put("dx", state.dx, changed=every, printed_outline=())  # print: no outline on dA_prev
        out.put("dw", state.dw, changed=row)
        if layer.bias is not None:
            out.put("db", state.db, changed=[] if ov is None else [maps["db"].cell((o,))])


DENSE = DenseKind()

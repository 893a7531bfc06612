"""The dense kind: a fully connected layer ``z = W x + b`` with an activation.

Owns :class:`DenseLayer` and the traces of its two passes with their typed steps.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ...i18n import N_, _
from .. import activations, links
from ..scene import PanelSpec, Printed, StepPanels, TileMap, gradient_specs, put_outputs, shape_of
from ..windows import FloatArray
from . import torch_twin
from .base import (
    AffineValues,
    DeltaOperands,
    DeltaValues,
    DocumentReader,
    Fit,
    ForwardState,
    Kind,
    LayerGrads,
    LayerTrace,
    ProductOperands,
    Shape,
    Step,
    TraceClass,
    WeightedBackwardState,
    WeightedLayer,
    frozen,
    frozen_array,
    parse_pair,
    slope_out,
    weights_out,
    with_activation,
)
from .text import MAX_TERMS, fmt, overlay_text, products
from .torch_twin import ModuleSpec


@dataclass(frozen=True, slots=True)
class DenseLayer(WeightedLayer):
    """Fully connected layer ``z = W x + b`` with an activation.

    Attributes
    ----------
    weight : ndarray of shape (out, in)
    bias : ndarray of shape (out,) or None
    activation : str
    negative_slope : float
        leaky_relu's slope for z < 0.
    """

    weight: FloatArray = field(repr=False)
    bias: FloatArray | None = field(repr=False, default=None)
    activation: str = "identity"
    negative_slope: float = activations.LEAKY_SLOPE
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
        return z, activations.activate(self.activation, z, self.negative_slope)

    def backward(self, grad_output: FloatArray, x: FloatArray, z: FloatArray, a: FloatArray) -> LayerGrads:
        """Gradients given dL/dA of shape (N, out)."""
        dz = grad_output * activations.derivative(self.activation, z, a, self.negative_slope)
        dw = dz.T @ x
        db = dz.sum(axis=0)
        return LayerGrads(dz @ self.weight, dz, dw, None if self.bias is None else db)


# ----------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class DenseForwardOperands(ProductOperands):
    """What a forward overlay multiplies: the input x (n,), the row W[o] (n,) and their products."""


@dataclass(frozen=True, slots=True)
class DenseForwardValues(AffineValues):
    """Scalars of a forward overlay: the bias (0 without one), z and a = f(z)."""


@dataclass(frozen=True, slots=True)
class DenseBackwardOperands(DeltaOperands):
    """What a backward overlay multiplies by its delta: x and W[o] (n,), and both products."""


@dataclass(frozen=True, slots=True)
class DenseBackwardValues(DeltaValues):
    """Scalars of a backward overlay: its delta dZ[o], which is also its share of db."""


@dataclass(frozen=True, slots=True)
class DenseBackwardState(WeightedBackwardState):
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


DenseForwardStep = Step[DenseForwardOperands, DenseForwardValues, ForwardState]
DenseBackwardStep = Step[DenseBackwardOperands, DenseBackwardValues, DenseBackwardState]


# ----------------------------------------------------------------------------- traces


class DenseTrace(LayerTrace):
    """What both passes of a dense layer share: W, b, f'(Z) and dZ.

    Attributes
    ----------
    weight : ndarray of shape (out, n)
    bias : ndarray of shape (out,) or None
    """

    layer: DenseLayer

    def _setup(self) -> None:
        layer = self.layer
        self.weight = layer.weight
        self.bias = layer.bias


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


# ----------------------------------------------------------------------------- step text


def _dense_forward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    layer = trace.layer
    x, w = step.operands.input_slice, step.operands.kernel
    if x.size <= MAX_TERMS:
        body = " + ".join(f"{fmt(a)}*{fmt(b)}" for a, b in zip(x, w, strict=True))
    else:
        body = f"sum(x ⊙ W[{ov.channel}, :]) " + _("[{n} products]").format(n=x.size)
    bias = f" + {fmt(step.values.bias)}" if layer.bias is not None else ""
    lines = [overlay_text(step.k, f"z[{ov.channel}] = {body}{bias} = {fmt(step.values.z)}")]
    if layer.activation != "identity":
        lines.append(f"  a[{ov.channel}] = {layer.activation}({fmt(step.values.z)}) = {fmt(step.values.a)}")
    return lines


def _dense_backward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    layer = trace.layer
    o, delta = ov.channel, step.values.delta
    x = step.operands.input_slice
    lines = [
        overlay_text(
            step.k,
            f"dW[{o}, :] += "
            + (products(x, delta) if x.size <= MAX_TERMS else f"x * {fmt(delta)}")
            + f"  (dZ[{o}] = {fmt(delta)})",
        )
    ]
    if layer.bias is not None:
        lines.append(f"  db[{o}] += {fmt(delta)}")
    lines.append(f"  dA_prev += W[{o}, :] * {fmt(delta)}")
    return lines


# ----------------------------------------------------------------------------- links


def _dense_links(
    trace: Any, layer: DenseLayer, role: str, index: links.Index, backward: bool
) -> links.CellLinks | None:
    x, w = trace.x, layer.weight
    out, n = w.shape
    name = links.name_of(trace, role, index)
    if backward and role in ("dw", "dx", "db", "dz"):
        dz = trace.grad_pre_activation
        assert dz is not None
        if role == "dw":
            o, q = index
            terms = [links.Term((float(x[q]), float(dz[o])), (("input", (q,)), ("dz", (o,))), o + 1)]
        elif role == "dx":
            (q,) = index
            terms = [
                links.Term((float(w[o, q]), float(dz[o])), (("kernel", (o, q)), ("dz", (o,))), o + 1)
                for o in range(out)
            ]
        elif role == "db":
            (o,) = index
            terms = [links.Term((float(dz[o]),), (("dz", (o,)),), o + 1)]
        else:
            (o,) = index
            extra: dict[str, list[links.Index]] = {
                "kernel": [(o, q) for q in range(n)],
                "dw": [(o, q) for q in range(n)],
                "dx": [(q,) for q in range(n)],
            }
            value = float(dz[o])
            return links.CellLinks(
                role,
                index,
                links.linked_cells([], extra),
                (),
                value,
                f"{name} = {fmt(value)}; overlay {o + 1}",
            )
        value = links.total(terms)
        return links.CellLinks(
            role, index, links.linked_cells(terms), tuple(terms), value, links.sum_text(name, terms, value)
        )
    if not backward and role in ("z", "a"):
        (o,) = index
        terms = [
            links.Term((float(w[o, q]), float(x[q])), (("kernel", (o, q)), ("input", (q,)))) for q in range(n)
        ]
        bias = 0.0 if layer.bias is None else float(layer.bias[o])
        value = links.total(terms) + bias
        extra = {"bias": [(o,)]} if layer.bias is not None else {}
        text = links.sum_text(
            links.name_of(trace, "z", index),
            terms,
            value,
            f" + {fmt(bias)}" if layer.bias is not None else "",
        )
        if layer.activation != "identity":
            text += f"; a = {layer.activation}(z) = {fmt(float(trace.a[o]))}"
        return links.CellLinks(role, index, links.linked_cells(terms, extra), tuple(terms), value, text)
    return None


# ----------------------------------------------------------------------------- the kind


# The kind's object in the file format's JSON Schema ($defs/dense of visualconv/schema/model.schema.json).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "weight"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "dense"},
        "weight": {"$ref": "#/$defs/array", "description": "(out, in); a flat list is one output row."},
        "bias": {
            "$ref": "#/$defs/bias",
            "description": "One value per output; default zeros; null for no bias term.",
        },
        "activation": {"$ref": "#/$defs/activation", "description": "Default identity."},
        "negative_slope": {"$ref": "#/$defs/negative_slope"},
    },
}


class DenseKind(Kind):
    """Dense layers: weights and an activation, no windows."""

    type = "dense"
    schema = SCHEMA
    has_weights = True
    has_activation = True

    # --- the file format

    def from_document(self, spec: dict[str, Any], dims: int, place: str, read: DocumentReader) -> DenseLayer:
        """Weight (out, in), bias, activation, negative_slope."""
        weight = read.array(spec["weight"], f"{place}.weight", 2, "a weight (out, in)")
        return DenseLayer(
            weight=weight,
            bias=read.bias(spec.get("bias"), weight.shape[0], f"{place}.bias", "bias" in spec),
            activation=spec.get("activation", "identity"),
            negative_slope=float(spec.get("negative_slope", activations.LEAKY_SLOPE)),
        )

    def to_document(self, layer: DenseLayer, dims: int) -> dict[str, Any]:
        """The dense layer object; negative_slope only when not the default."""
        doc = weights_out(layer)
        doc["activation"] = layer.activation
        return slope_out(doc, layer)

    def trace_class(self, pass_name: str) -> TraceClass:
        """:class:`DenseForwardTrace` or :class:`DenseBackwardTrace`."""
        return DenseForwardTrace if pass_name == "forward" else DenseBackwardTrace

    def summary(self, layer: DenseLayer, dims: int) -> tuple[str, str]:
        """``dense 8→3, identity`` (``, no bias``)."""
        out, n_in = layer.weight.shape
        return f"dense {n_in}→{out}, {layer.activation}" + (
            ", " + _("no bias") if layer.bias is None else ""
        ), ""

    def check_shape(
        self, layer: DenseLayer, shape: Shape, place: str, source: str
    ) -> tuple[Shape, int, str, str]:
        """A vector input with one weight column per value."""
        from ..budget import sized
        from ..errors import Message, ModelError

        n_in = math.prod(shape)
        if len(shape) != 1:
            raise ModelError(
                f"expected a vector input for this dense layer, got shape {sized(shape)} from {source}; "
                "put a flatten layer before it",
                place,
            )
        if shape[0] != layer.weight.shape[1]:
            raise ModelError(
                f"expected a weight (out, in) with {shape[0]} columns, one per value of {source}, "
                f"got shape {sized(layer.weight.shape)}",
                f"{place}.weight",
            )
        n_out = layer.weight.shape[0]
        return (n_out,), 3 * (n_in + n_out) + 3 * layer.weight.size, "", Message("its weight")

    def new_layer(self, input_shape: Shape, dims: int) -> DenseLayer:
        """A dense layer with one output, zero weight and bias."""
        from ..errors import ModelError

        if len(input_shape) != 1:
            raise ModelError("a dense layer needs a vector input; add a flatten layer first", "layers")
        return DenseLayer(frozen_array(np.zeros((1, input_shape[0]))), frozen_array(np.zeros(1)))

    def fitted_weight_shape(self, layer: DenseLayer, input_shape: Shape) -> Shape | None:
        """One weight column per input value (None for an input that is not a vector)."""
        return (layer.weight.shape[0], input_shape[0]) if len(input_shape) == 1 else None

    def settings(self, layer: DenseLayer, dims: int) -> list[tuple[str, str, str]]:
        """Outputs and activation."""
        return [
            ("out_channels", N_("outputs"), str(layer.weight.shape[0])),
            ("activation", N_("activation"), layer.activation),
        ]

    def with_setting(
        self, layer: DenseLayer, key: str, value: Any, dims: int, place: str, fit: Fit
    ) -> DenseLayer:
        """Activation or out_channels (the number of outputs)."""
        from ..errors import ModelError

        if key == "activation":
            return with_activation(layer, value, place)  # type: ignore[no-any-return]
        if key == "out_channels":
            out = parse_pair(value, 1, place, 1)[1]
            bias = None if layer.bias is None else frozen_array(fit(layer.bias, (out,)))
            weight = frozen_array(fit(layer.weight, (out, layer.weight.shape[1])))
            return dataclasses.replace(layer, weight=weight, bias=bias)
        raise ModelError(f"a dense layer has no setting {key!r}", place)

    def intro_lines(self, trace: Any) -> list[str]:
        """One overlay per output unit: a row of W times the input, or that row's gradients."""
        n = trace.n
        bias = self.has_bias(trace.layer)
        if trace.pass_name == "forward":
            if bias:
                return [_("{n} overlays: one per output unit o, z[o] = W[o, :] · x + b[o]").format(n=n)]
            return [_("{n} overlays: one per output unit o, z[o] = W[o, :] · x").format(n=n)]
        if bias:
            return [
                _("{n} overlays, one per output unit o; dW, db and dA_prev start at zero").format(n=n),
                "  "
                + _("the overlay of unit o fills dW[o, :] and db[o], and adds W[o, :] * dZ[o] to dA_prev"),
            ]
        return [
            _(
                "{n} overlays, one per output unit o; dW and dA_prev start at zero (the layer has no bias)"
            ).format(n=n),
            "  " + _("the overlay of unit o fills dW[o, :] and adds W[o, :] * dZ[o] to dA_prev"),
        ]

    def explain(self, trace: Any, step: Any) -> list[str]:
        """``z[o] = ...`` forward; ``dW[o, :] += ...``, ``db[o] += ...``, ``dA_prev += ...`` backward."""
        return _dense_forward(trace, step) if trace.pass_name == "forward" else _dense_backward(trace, step)

    def links(self, trace: Any, role: str, index: tuple[int, ...]) -> links.CellLinks | None:
        """Which cells feed a cell of the dense layer's pass (see :mod:`visualconv.engine.links`)."""
        return _dense_links(trace, trace.layer, role, index, trace.pass_name == "backward")

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
            PanelSpec("input", "x  " + _("(input)"), x_map, 0, 0, x_printed, subtitle=x_map.shape_text()),
            PanelSpec(
                "kernel",
                "W  " + _("(weights)"),
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
                specs.append(PanelSpec("bias", "b  " + _("(bias)"), b_map, 0, 2, Printed("b", 0, 2, key="b")))
            z_printed = Printed("z = W x" + (" + b" if bias else ""), 1, 0)
            specs.append(PanelSpec("z", "Z = W x + b" if bias else "Z = W x", z_map, 1, 0, z_printed))
            if activation != "identity":
                a_printed = Printed(f"a = {activation}(z)", 1, 1)
                specs.append(PanelSpec("a", f"A = {activation}(Z)", z_map, 1, 1, a_printed))
            return specs
        dz_printed = Printed(f"dZ = dA ⊙ {activation}'(z)" if activation != "identity" else "dZ", 0, 2)
        specs.append(PanelSpec("dz", "dZ  " + _("(upstream delta)"), z_map, 0, 2, dz_printed))
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

    # --- PyTorch

    def torch_modules(self, spec: dict[str, Any], dims: int) -> tuple[ModuleSpec, ...]:
        """``Linear`` (``bias=False`` without a bias), then the activation."""
        params = torch_twin.params(spec)
        weight = params["weight"]
        kwargs: dict[str, Any] = {} if "bias" in params else {"bias": False}
        linear = ModuleSpec("Linear", (int(weight.shape[1]), int(weight.shape[0])), kwargs, params)
        return (linear, *torch_twin.activation(spec))


DENSE = DenseKind()

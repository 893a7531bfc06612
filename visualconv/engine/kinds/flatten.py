"""The flatten kind: (C, H, W) or (C, L) to a vector, row-major.

Owns :class:`FlattenLayer` and the traces of its two passes with their typed steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...i18n import _
from .. import links
from ..scene import Cell, PanelSpec, Printed, StepPanels, TileMap, shape_of
from ..windows import FloatArray
from .base import (
    DocumentReader,
    Fields,
    Fit,
    ForwardState,
    Kind,
    LayerGrads,
    LayerTrace,
    RoutedBackwardState,
    Shape,
    Step,
    TraceClass,
    frozen,
)
from .text import fmt, overlay_text
from .torch_twin import ModuleSpec


@dataclass(frozen=True, slots=True)
class FlattenLayer:
    """Flatten (C, H, W) or (C, L) to a vector, row-major."""

    type: Literal["flatten"] = "flatten"

    @property
    def kind(self) -> FlattenKind:
        """The flatten kind."""
        return FLATTEN

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


# ----------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class FlattenOperands(Fields):
    """Flatten multiplies nothing: its overlays have no operands (always None in a step)."""


@dataclass(frozen=True, slots=True)
class FlattenForwardValues(Fields):
    """Scalars of a forward overlay: y[k] and its flat source index in the input."""

    y: float
    source: float


@dataclass(frozen=True, slots=True)
class FlattenBackwardValues(Fields):
    """Scalars of a backward overlay: dY[k] and its flat destination index in dA_prev."""

    delta: float
    source: float


@dataclass(frozen=True, slots=True)
class FlattenBackwardState(RoutedBackwardState):
    """The backward pass after k overlays.

    Attributes
    ----------
    dy : ndarray of shape (n,)
    done : ndarray of bool, shape (n,)
    dx_padded, dx : ndarray of the input's shape
        dA_prev (the same array).
    """


FlattenForwardStep = Step[FlattenOperands, FlattenForwardValues, ForwardState]
FlattenBackwardStep = Step[FlattenOperands, FlattenBackwardValues, FlattenBackwardState]


# ----------------------------------------------------------------------------- traces


class FlattenForwardTrace(LayerTrace):
    """The forward pass of a flatten layer: overlay k copies one input cell to y[k-1]."""

    layer: FlattenLayer

    def step(self, k: int) -> FlattenForwardStep:
        """The state after k overlays, 0 <= k <= n."""
        return super().step(k)

    def _compute(self, k: int) -> FlattenForwardStep:
        ov = self.overlay(k) if k else None
        values = None if ov is None else FlattenForwardValues(float(self.z[ov.channel]), float(ov.channel))
        return Step("flatten", "forward", k, self.n, ov, None, values, self._forward_state(k))


class FlattenBackwardTrace(LayerTrace):
    """The backward pass of a flatten layer: overlay k copies dY[k-1] back to its input cell."""

    layer: FlattenLayer

    def step(self, k: int) -> FlattenBackwardStep:
        """The state after k overlays, 0 <= k <= n."""
        return super().step(k)

    def _compute(self, k: int) -> FlattenBackwardStep:
        assert self.grad_output is not None
        flat = np.zeros(self.x.size)
        flat[:k] = self.grad_output[:k]
        ov = self.overlay(k) if k else None
        values = (
            None
            if ov is None
            else FlattenBackwardValues(float(self.grad_output[ov.channel]), float(ov.channel))
        )
        dx = frozen(flat.reshape(self.x.shape))
        state = FlattenBackwardState(self.grad_output, self._done_mask(k), dx, dx)
        return Step("flatten", "backward", k, self.n, ov, None, values, state)


# ----------------------------------------------------------------------------- step text


def _flatten(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    src = np.unravel_index(ov.channel, trace.x.shape)
    src_text = "[" + ", ".join(str(int(v)) for v in src) + "]"
    if trace.pass_name == "forward":
        return [overlay_text(step.k, f"y[{ov.channel}] = A_prev{src_text} = {fmt(step.values.y)}")]
    return [overlay_text(step.k, f"dA_prev{src_text} = dY[{ov.channel}] = {fmt(step.values.delta)}")]


# ----------------------------------------------------------------------------- links


def _flatten_links(
    trace: LayerTrace, role: str, index: links.Index, backward: bool
) -> links.CellLinks | None:
    out_role, in_role = ("dz", "dx") if backward else ("z", "input")
    source = trace.grad_output if backward else trace.z
    assert source is not None
    if role == out_role:
        (k,) = index
        src = tuple(int(v) for v in np.unravel_index(k, trace.x.shape))
        value = float(source[k])
        text = f"{links.name_of(trace, role, index)} = {links.name_of(trace, in_role, src)} = {fmt(value)}"
        return links.CellLinks(role, index, {in_role: (src,)}, (), value, text)
    if role == in_role:
        k = int(np.ravel_multi_index(index, trace.x.shape))
        value = float(source[k])
        text = f"{links.name_of(trace, role, index)} = {links.name_of(trace, out_role, (k,))} = {fmt(value)}"
        return links.CellLinks(role, index, {out_role: ((k,),)}, (), value, text)
    return None


# ----------------------------------------------------------------------------- the kind


# The kind's object in the file format's JSON Schema ($defs/flatten of visualconv/schema/model.schema.json).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"type": {"const": "flatten"}},
}


class FlattenKind(Kind):
    """Flatten layers: no weights, no windows; the input as a vector."""

    type = "flatten"
    schema = SCHEMA
    output_names = ("y", "dY")

    def trace_class(self, pass_name: str) -> TraceClass:
        """:class:`FlattenForwardTrace` or :class:`FlattenBackwardTrace`."""
        return FlattenForwardTrace if pass_name == "forward" else FlattenBackwardTrace

    def summary(self, layer: FlattenLayer, dims: int) -> tuple[str, str]:
        """``flatten`` and ``row-major``."""
        return "flatten", _("row-major")

    def from_document(
        self, spec: dict[str, Any], dims: int, place: str, read: DocumentReader
    ) -> FlattenLayer:
        """A ``flatten`` object has nothing but its type."""
        return FlattenLayer()

    def to_document(self, layer: FlattenLayer, dims: int) -> dict[str, Any]:
        """Type only."""
        return {"type": "flatten"}

    def check_shape(
        self, layer: FlattenLayer, shape: Shape, place: str, source: str
    ) -> tuple[Shape, int, str, str]:
        """Any input fits; the input and output of memory."""
        from ..errors import Message

        n_in = math.prod(shape)
        return (n_in,), 2 * n_in, "", Message("its input")

    def new_layer(self, input_shape: Shape, dims: int) -> FlattenLayer:
        """A flatten layer (it follows anything)."""
        return FlattenLayer()

    def with_setting(
        self, layer: FlattenLayer, key: str, value: Any, dims: int, place: str, fit: Fit
    ) -> FlattenLayer:
        """Flatten has no settings."""
        from ..errors import ModelError

        raise ModelError("a flatten layer has no settings", place)

    def intro_lines(self, trace: Any) -> list[str]:
        """A flatten layer copies values: nothing is multiplied or summed."""
        if trace.pass_name == "forward":
            return [
                _("{n} overlays: each copies one value of A_prev into Y, in row-major order").format(
                    n=trace.n
                )
            ]
        return [
            _("{n} overlays: each copies one delta of dY back to its place in dA_prev").format(n=trace.n),
            "  " + _("(a flatten layer has no weights and sums nothing)"),
        ]

    def explain(self, trace: Any, step: Any) -> list[str]:
        """``y[k] = A_prev[...]`` forward, ``dA_prev[...] = dY[k]`` backward."""
        return _flatten(trace, step)

    def links(self, trace: Any, role: str, index: tuple[int, ...]) -> links.CellLinks | None:
        """The one cell each cell of a flatten layer's pass copies (see :mod:`visualconv.engine.links`)."""
        return _flatten_links(trace, role, index, trace.pass_name == "backward")

    # --- the scene

    def panels(self, trace: Any) -> list[PanelSpec]:
        """The input tensor and the output vector, element by element."""
        shape = shape_of(trace.x)
        if len(shape) == 2:  # (C, L) input of a flatten layer in a 1-D model
            x_map = TileMap((shape[0], 1, shape[1]), True)
        else:
            x_map = TileMap(shape)
        y_map = TileMap(shape_of(trace.z))
        if trace.pass_name == "forward":
            x_printed = Printed("A_prev", 0, 0, key="x")
            y_printed = Printed("Y = flatten(A_prev)", 1, 0, _("row-major"), key="y")
            return [
                PanelSpec(
                    "input", "A_prev  " + _("(input)"), x_map, 0, 0, x_printed, subtitle=x_map.shape_text()
                ),
                PanelSpec("z", "Y = flatten(A_prev)", y_map, 0, 1, y_printed, subtitle=y_map.shape_text()),
            ]
        dy_printed = Printed("dY", 0, 0, key="dy")
        return [
            PanelSpec(
                "dz", "dY  " + _("(upstream delta)"), y_map, 0, 0, dy_printed, subtitle=y_map.shape_text()
            ),
            PanelSpec("dx", "dA_prev", x_map, 0, 1, Printed("dA_prev", 1, 0), subtitle=x_map.shape_text()),
        ]

    def fill_panels(self, trace: Any, step: Any, out: StepPanels) -> None:
        """The input element the overlay copies and its place in the output."""
        ov = step.overlay
        source: list[Cell] = []
        element: list[Cell] = []
        if ov is not None:
            src = [int(v) for v in np.unravel_index(ov.channel, trace.x.shape)]
            source = [(src[0], 0, src[1]) if len(src) == 2 else (src[0], src[1], src[2])]
            element = [TileMap(shape_of(trace.z)).cell((ov.channel,))]
        if trace.pass_name == "forward":
            out.put("input", _as_channels(trace.x), window=source)
            out.put("z", trace.z, step.k, changed=element)
            return
        out.put("dz", step.state.dy, window=element)
        out.put("dx", _as_channels(step.state.dx), changed=source)

    # --- PyTorch

    def torch_modules(self, spec: dict[str, Any], dims: int) -> tuple[ModuleSpec, ...]:
        """``Flatten`` (from axis 1, as the layer keeps the batch axis)."""
        return (ModuleSpec("Flatten"),)


def _as_channels(array: FloatArray) -> FloatArray:
    """A flatten layer's input as (C, H, W): (C, L) becomes (C, 1, L)."""
    return array[:, None, :] if array.ndim == 2 else array


FLATTEN = FlattenKind()

"""The pool kind: max or average pooling without padding.

Owns :class:`PoolLayer` (its shape rule, forward and backward through the kernels of
``engine/pool.py``) and the traces of its two passes with their typed steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..pool import max_positions, pool2d_backward, pool2d_forward
from ..scene import Cell, PanelSpec, Printed, StepPanels, TileMap, joined, pair_text, shape_of, window_cells
from ..windows import FloatArray, IntPair, covering_windows, output_shape, sliding_windows
from .base import (
    Fields,
    ForwardState,
    Kind,
    LayerGrads,
    LayerTrace,
    Overlay,
    Shape,
    Step,
    TraceClass,
    from_4d,
    frozen,
    to_4d,
)


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

    @property
    def kind(self) -> PoolKind:
        """The pool kind."""
        return POOL

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
        y = from_4d(pool2d_forward(to_4d(x, self.dims), self.mode, self.size, self.stride), self.dims)
        return y, y

    def backward(self, grad_output: FloatArray, x: FloatArray, z: FloatArray, a: FloatArray) -> LayerGrads:
        """Route dL/dY of shape (N, C, ...) back to the input."""
        dx = pool2d_backward(
            to_4d(grad_output, self.dims), to_4d(x, self.dims), self.mode, self.size, self.stride
        )
        return LayerGrads(from_4d(dx, self.dims))

    def parameters(self) -> dict[str, FloatArray]:
        """Pooling has no parameters."""
        return {}

    def with_parameters(self, **arrays: FloatArray) -> PoolLayer:
        """Pooling has no parameters: returns itself."""
        return self


# ----------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class PoolForwardOperands(Fields):
    """The window a forward overlay reduces, shape (kH, kW)."""

    window: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class PoolForwardValues(Fields):
    """Scalars of a forward overlay: y, and for max pooling the window's flat argmax."""

    y: float
    argmax: float | None = None


@dataclass(frozen=True, slots=True)
class PoolBackwardOperands(Fields):
    """The window of a backward overlay and what its delta sends to each cell, both (kH, kW)."""

    window: FloatArray = field(repr=False)
    routed: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class PoolBackwardValues(Fields):
    """Scalars of a backward overlay: the window's flat argmax (max pooling) and dY[c, i, j]."""

    argmax: float | None
    delta: float


@dataclass(frozen=True, slots=True)
class PoolBackwardState(Fields):
    """The backward pass after k overlays.

    Attributes
    ----------
    dy : ndarray of shape (C, oh, ow)
        dY, all of it.
    done : ndarray of bool, shape (C, oh, ow)
    dx_padded, dx : ndarray of shape (C, H, W)
        dA_prev (pooling has no padding: the same array).
    """

    dy: FloatArray = field(repr=False)
    done: FloatArray = field(repr=False)
    dx_padded: FloatArray = field(repr=False)
    dx: FloatArray = field(repr=False)


PoolForwardStep = Step[PoolForwardOperands, PoolForwardValues, ForwardState]
PoolBackwardStep = Step[PoolBackwardOperands, PoolBackwardValues, PoolBackwardState]


# ----------------------------------------------------------------------------- traces


class PoolTrace(LayerTrace):
    """What both passes of a pool layer share: the 2-D view, the windows, the argmax.

    Attributes
    ----------
    x_padded : ndarray of shape (C, H, W)
        The input itself (no padding).
    windows : ndarray of shape (C, oh, ow, kH, kW)
    argmax : ndarray of int, shape (C, oh, ow), or None for average pooling
        Flat index of each window's recorded maximum.
    """

    layer: PoolLayer

    def _view(self, array: FloatArray) -> FloatArray:
        return array[:, None, :] if self.layer.dims == 1 else array

    def _setup(self) -> None:
        layer = self.layer
        self.x_padded = self.x
        self.windows = sliding_windows(self.x[None], layer.size, layer.stride, (1, 1))[0]
        self.argmax = max_positions(self.windows) if layer.mode == "max" else None

    def overlay(self, k: int) -> Overlay:
        """The k-th overlay (1-based): output element (c, i, j) and its window."""
        if not 1 <= k <= self.n:
            raise IndexError(f"overlay {k} is outside 1..{self.n}")
        c, i, j = (int(v) for v in np.unravel_index(k - 1, self.out_shape))
        (kh, kw), (sh, sw) = self.layer.size, self.layer.stride
        return Overlay(k, c, (i, j), slice(i * sh, i * sh + kh, 1), slice(j * sw, j * sw + kw, 1))

    def affected_by_input(self, c: int, row: int, col: int) -> list[int]:
        """Overlays (1-based, ascending) of channel c whose window covers input cell (c, row, col)."""
        if not 0 <= c < self.out_shape[0]:
            return []
        layer = self.layer
        oh, ow = self.out_shape[1:]
        taps = covering_windows(row, col, layer.size, layer.stride, (1, 1), (oh, ow))
        positions = {i * ow + j for i, j, _, _ in taps}
        return sorted(c * oh * ow + p + 1 for p in positions)


class PoolForwardTrace(PoolTrace):
    """The forward pass of a pool layer: one overlay per output element."""

    def step(self, k: int) -> PoolForwardStep:
        """The state after k overlays, 0 <= k <= n."""
        return super().step(k)

    def _compute(self, k: int) -> PoolForwardStep:
        ov = self.overlay(k) if k else None
        operands = values = None
        if ov is not None:
            c, (i, j) = ov.channel, ov.position
            operands = PoolForwardOperands(self.windows[c, i, j])
            argmax = None if self.argmax is None else float(self.argmax[c, i, j])
            values = PoolForwardValues(float(self.z[c, i, j]), argmax)
        return Step("pool", "forward", k, self.n, ov, operands, values, self._forward_state(k))


class PoolBackwardTrace(PoolTrace):
    """The backward pass of a pool layer: each delta goes to its window's maximum, or evenly."""

    def _setup(self) -> None:
        super()._setup()
        self._full_dx: FloatArray | None = None

    def step(self, k: int) -> PoolBackwardStep:
        """The state after k overlays, 0 <= k <= n."""
        return super().step(k)

    def _full(self) -> FloatArray:
        """dA_prev of the whole pass (cached)."""
        if self._full_dx is None:
            assert self.grad_output is not None
            layer = self.layer
            dx = pool2d_backward(self.grad_output[None], self.x[None], layer.mode, layer.size, layer.stride)
            self._full_dx = dx[0]
        return self._full_dx

    def _compute(self, k: int) -> PoolBackwardStep:
        layer = self.layer
        assert self.grad_output is not None
        c_done, r = divmod(k, self.out_shape[1] * self.out_shape[2])
        dx = np.zeros(self.x.shape)
        dx[:c_done] = self._full()[:c_done]
        if r:
            dy = np.zeros(self.out_shape[1:])
            dy.reshape(-1)[:r] = self.grad_output[c_done].reshape(-1)[:r]
            dx[c_done] = pool2d_backward(
                dy[None, None], self.x[None, c_done : c_done + 1], layer.mode, layer.size, layer.stride
            )[0, 0]
        operands = values = None
        ov = self.overlay(k) if k else None
        if ov is not None:
            c, (i, j) = ov.channel, ov.position
            delta = float(self.grad_output[c, i, j])
            window = self.windows[c, i, j]
            routed = np.zeros(window.shape)
            argmax = None
            if self.argmax is not None:
                routed.reshape(-1)[int(self.argmax[c, i, j])] = delta
                argmax = float(self.argmax[c, i, j])
            else:
                routed[:] = delta / window.size
            operands = PoolBackwardOperands(window, frozen(routed))
            values = PoolBackwardValues(argmax, delta)
        dx = frozen(dx)
        state = PoolBackwardState(self.grad_output, self._done_mask(k), dx, dx)
        return Step("pool", "backward", k, self.n, ov, operands, values, state)


# ----------------------------------------------------------------------------- the kind


class PoolKind(Kind):
    """Pooling layers: no weights, windows over the input."""

    type = "pool"
    windowed = True

    def trace_class(self, pass_name: str) -> TraceClass:
        """:class:`PoolForwardTrace` or :class:`PoolBackwardTrace`."""
        return PoolForwardTrace if pass_name == "forward" else PoolBackwardTrace

    # --- the scene

    def panels(self, trace: Any) -> list[PanelSpec]:
        """Input and output; backward dY and dA_prev; max pooling marks the recorded maximum."""
        layer = trace.layer
        dims = layer.dims
        one_d = dims == 1
        x_map = TileMap(shape_of(trace.x), one_d)
        y_map = TileMap(shape_of(trace.z), one_d)
        how = "max" if layer.mode == "max" else "average"
        sizes = layer.size[1] if one_d else layer.size
        strides = layer.stride[1] if one_d else layer.stride
        note = f"{how} pool, size {sizes}, stride {strides}"
        x_note = f"{layer.mode} pool {pair_text(layer.size, dims)}, stride {pair_text(layer.stride, dims)}"
        marked = trace.argmax is not None
        x_printed = Printed("A_prev", 0, 0, x_note, key="x")
        x_subtitle = joined(x_map.shape_text(), note)
        specs = [
            PanelSpec("input", "A_prev  (input)", x_map, 0, 0, x_printed, subtitle=x_subtitle, marked=marked)
        ]
        if trace.pass_name == "forward":
            title = f"Y = {layer.mode}pool(A_prev)"
            specs.append(
                PanelSpec("z", title, y_map, 0, 1, Printed("Y", 1, 0, key="y"), subtitle=y_map.shape_text())
            )
            return specs
        dy_printed = Printed("dY", 0, 1, key="dy")
        specs.append(
            PanelSpec("dz", "dY  (upstream delta)", y_map, 0, 1, dy_printed, subtitle=y_map.shape_text())
        )
        if layer.mode == "max":
            route, printed_route = "each delta goes to its window's maximum", "routed to the recorded maximum"
        else:
            route, printed_route = "each delta is spread evenly", "shared equally by the window"
        dx_printed = Printed("dA_prev", 1, 0, printed_route)
        dx_subtitle = joined(route, "overlaps add up")
        specs.append(PanelSpec("dx", "dA_prev", x_map, 1, 0, dx_printed, subtitle=dx_subtitle, marked=marked))
        return specs

    def fill_panels(self, trace: Any, step: Any, out: StepPanels) -> None:
        """The window on the input and on dA_prev, its recorded maximum, the output element."""
        layer = trace.layer
        ov = step.overlay
        window: list[Cell] = []
        argmax: list[Cell] = []
        element: list[Cell] = []
        if ov is not None:
            c = ov.channel
            window = window_cells(c, ov.rows, ov.cols)
            element = [(c, *ov.position)]
            if trace.argmax is not None:
                kw = layer.size[1]
                arg = int(trace.argmax[c, ov.position[0], ov.position[1]])
                argmax = [(c, ov.rows.start + arg // kw, ov.cols.start + arg % kw)]
        out.put("input", trace.x, window=window, argmax=argmax)
        if trace.pass_name == "forward":
            out.put("z", trace.z, step.k, changed=element)
            return
        out.put("dz", step.state.dy, window=element)
        if trace.argmax is not None:
            # the window outlines where the delta went; print outlines the window and marks the maximum
            out.put("dx", step.state.dx, changed=argmax, printed_outline=window, printed_marks=argmax)
        else:
            out.put("dx", step.state.dx, changed=window)

    def caption(self, layer: Any) -> str:
        """``pool 1-D`` or ``pool 2-D``."""
        return f"{layer.type} {layer.dims}-D"


POOL = PoolKind()

"""The pool kind: max or average pooling, with padding or one global window.

Owns :class:`PoolLayer` (its shape rule, forward and backward through the kernels of
``engine/pool.py``) and the traces of its two passes with their typed steps.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ...i18n import N_, _
from .. import links
from ..budget import axes_words
from ..pool import max_positions, pool2d_backward, pool2d_forward
from ..scene import Cell, PanelSpec, Printed, StepPanels, TileMap, joined, pair_text, shape_of, window_cells
from ..windows import (
    FloatArray,
    IntPair,
    covering_windows,
    crop,
    output_length,
    output_shape,
    pad_sides,
    sliding_windows,
)
from . import torch_twin
from .base import (
    DocumentReader,
    Fields,
    Fit,
    ForwardState,
    Kind,
    LayerGrads,
    LayerTrace,
    Overlay,
    RoutedBackwardState,
    Shape,
    Step,
    TraceClass,
    from_4d,
    frozen,
    pair_out,
    parse_pair,
    setting_text,
    size_text,
    spatial_input,
    to_4d,
)
from .text import (
    MAX_TERMS,
    channel_window_text,
    fmt,
    fmt_array,
    index_text,
    overlay_text,
    squeeze_view,
    trace_dims,
)
from .torch_twin import ModuleSpec


@dataclass(frozen=True, slots=True)
class PoolLayer:
    """Max or average pooling, with padding or one global window.

    Attributes
    ----------
    mode : {"max", "avg"}
    size, stride : (int, int)
        A 1-D layer has rows (1, 1). For a global pool they are set by the input: see
        :meth:`window`.
    dims : {1, 2}
    padding : (int, int)
        At most half the size; max pooling pads with -inf, average pooling with zeros that
        count in the average.
    is_global : bool
        The file's ``size: "global"``: one window over each whole channel.
    """

    mode: str = "max"
    size: IntPair = (2, 2)
    stride: IntPair = (2, 2)
    dims: int = 2
    padding: IntPair = (0, 0)
    is_global: bool = False
    type: Literal["pool"] = "pool"

    @property
    def kind(self) -> PoolKind:
        """The pool kind."""
        return POOL

    def window(self, spatial: IntPair) -> tuple[IntPair, IntPair, IntPair]:
        """(size, stride, padding) over an input of ``spatial`` (H, W) (1-D: (1, L))."""
        if self.is_global:
            return spatial, spatial, (0, 0)
        return self.size, self.stride, self.padding

    def output_shape(self, input_shape: Shape) -> Shape:
        """Output shape (C, ...) for an input of shape (C, ...)."""
        if len(input_shape) != self.dims + 1:
            raise ValueError(f"expects a {self.dims + 1}-axis input, got shape {input_shape}")
        spatial = (1, input_shape[1]) if self.dims == 1 else (input_shape[1], input_shape[2])
        size, stride, padding = self.window(spatial)
        if padding[0] > size[0] // 2 or padding[1] > size[1] // 2:
            raise ValueError(f"pool padding {padding} is more than half the size {size}")
        out = output_shape(spatial, size, stride, padding, (1, 1))
        if min(out) < 1:
            shown = size[1:] if self.dims == 1 else size
            raise ValueError(f"pool window {shown} is larger than the padded input {input_shape[1:]}")
        return (input_shape[0], out[1]) if self.dims == 1 else (input_shape[0], *out)

    def _arguments(self, x: FloatArray) -> tuple[IntPair, IntPair, IntPair]:
        x4 = to_4d(x, self.dims)
        return self.window((x4.shape[2], x4.shape[3]))

    def forward(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Return (Y, Y) for a batch ``x`` of shape (N, C, ...)."""
        size, stride, padding = self._arguments(x)
        y = from_4d(pool2d_forward(to_4d(x, self.dims), self.mode, size, stride, padding), self.dims)
        return y, y

    def backward(self, grad_output: FloatArray, x: FloatArray, z: FloatArray, a: FloatArray) -> LayerGrads:
        """Route dL/dY of shape (N, C, ...) back to the input."""
        size, stride, padding = self._arguments(x)
        dx = pool2d_backward(
            to_4d(grad_output, self.dims), to_4d(x, self.dims), self.mode, size, stride, padding
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
class PoolBackwardState(RoutedBackwardState):
    """The backward pass after k overlays.

    Attributes
    ----------
    dy : ndarray of shape (C, oh, ow)
        dY, all of it.
    done : ndarray of bool, shape (C, oh, ow)
    dx_padded : ndarray of shape (C, H + 2ph, W + 2pw)
        dA_prev in the padded view (its border never receives a delta).
    dx : ndarray of shape (C, H, W)
        dA_prev (the same array without padding).
    """


PoolForwardStep = Step[PoolForwardOperands, PoolForwardValues, ForwardState]
PoolBackwardStep = Step[PoolBackwardOperands, PoolBackwardValues, PoolBackwardState]


# ----------------------------------------------------------------------------- traces


class PoolTrace(LayerTrace):
    """What both passes of a pool layer share: the 2-D view, the windows, the argmax.

    Attributes
    ----------
    size, stride, padding : (int, int)
        The windows over this input (a global pool's window is the whole channel).
    x_padded : ndarray of shape (C, H + 2ph, W + 2pw)
        The input as the windows see it: padded with -inf (max) or zeros (avg); the input
        itself without padding.
    windows : ndarray of shape (C, oh, ow, kH, kW)
    argmax : ndarray of int, shape (C, oh, ow), or None for average pooling
        Flat index of each window's recorded maximum.
    """

    layer: PoolLayer

    def _setup(self) -> None:
        layer = self.layer
        self.size, self.stride, self.padding = layer.window((self.x.shape[1], self.x.shape[2]))
        ph, pw = self.padding
        fill = -np.inf if layer.mode == "max" else 0.0
        self.x_padded = frozen(pad_sides(self.x, (ph, ph, pw, pw), "zeros", fill))
        self.windows = sliding_windows(self.x_padded[None], self.size, self.stride, (1, 1))[0]
        self.argmax = max_positions(self.windows) if layer.mode == "max" else None

    def overlay(self, k: int) -> Overlay:
        """The k-th overlay (1-based): output element (c, i, j) and its window."""
        if not 1 <= k <= self.n:
            raise IndexError(f"overlay {k} is outside 1..{self.n}")
        c, i, j = (int(v) for v in np.unravel_index(k - 1, self.out_shape))
        (kh, kw), (sh, sw) = self.size, self.stride
        return Overlay(k, c, (i, j), slice(i * sh, i * sh + kh, 1), slice(j * sw, j * sw + kw, 1))

    def affected_by_input(self, c: int, row: int, col: int) -> list[int]:
        """Overlays (1-based, ascending) of channel c whose window covers input cell (c, row, col)."""
        if not 0 <= c < self.out_shape[0]:
            return []
        oh, ow = self.out_shape[1:]
        taps = covering_windows(row, col, self.size, self.stride, (1, 1), (oh, ow))
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
            dx = pool2d_backward(
                self.grad_output[None], self.x_padded[None], self.layer.mode, self.size, self.stride
            )
            self._full_dx = dx[0]
        return self._full_dx

    def _compute(self, k: int) -> PoolBackwardStep:
        layer = self.layer
        assert self.grad_output is not None
        c_done, r = divmod(k, self.out_shape[1] * self.out_shape[2])
        dx = np.zeros(self.x_padded.shape)  # dA_prev in the padded view
        dx[:c_done] = self._full()[:c_done]
        if r:
            dy = np.zeros(self.out_shape[1:])
            dy.reshape(-1)[:r] = self.grad_output[c_done].reshape(-1)[:r]
            dx[c_done] = pool2d_backward(
                dy[None, None], self.x_padded[None, c_done : c_done + 1], layer.mode, self.size, self.stride
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
        dx_padded = frozen(dx)
        dx = frozen(crop(dx, self.padding)) if self.padding != (0, 0) else dx_padded
        state = PoolBackwardState(self.grad_output, self._done_mask(k), dx_padded, dx)
        return Step("pool", "backward", k, self.n, ov, operands, values, state)


# ----------------------------------------------------------------------------- step text


def _pool_forward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    layer = trace.layer
    dims = trace_dims(trace)
    idx = index_text(trace, ov.channel, ov.position, trace.out_shape[0])
    window = squeeze_view(step.operands.window, dims).ravel()
    values = ", ".join(fmt(v) for v in window)
    where = f"A_prev{channel_window_text(trace, ov.channel, ov.rows, ov.cols)}"
    if layer.mode == "max":
        arg = int(step.values.argmax)
        kw = layer.size[1]
        r, c = ov.rows.start + arg // kw, ov.cols.start + arg % kw
        at = ", ".join(
            ([str(ov.channel)] if trace.x.shape[0] > 1 else [])
            + ([str(c)] if dims == 1 else [str(r), str(c)])
        )
        return [
            overlay_text(
                step.k,
                f"y{idx} = max({values}) = {fmt(step.values.y)} "
                + _("(the maximum sits at {place})").format(place=f"[{at}]"),
            ),
            "  " + _("window {window}").format(window=where),
        ]
    return [
        overlay_text(
            step.k, f"y{idx} = ({' + '.join(fmt(v) for v in window)}) / {window.size} = {fmt(step.values.y)}"
        ),
        "  " + _("window {window}").format(window=where),
    ]


def _pool_backward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    layer = trace.layer
    dims = trace_dims(trace)
    delta = step.values.delta
    idx = index_text(trace, ov.channel, ov.position, trace.out_shape[0])
    dx_total = squeeze_view(step.state.dx, dims)
    total = f" -> dA_prev = {fmt_array(dx_total)}" if dx_total.size <= MAX_TERMS else ""
    if layer.mode == "max":
        arg = int(step.values.argmax)
        kw = layer.size[1]
        r, c = ov.rows.start + arg // kw, ov.cols.start + arg % kw
        parts = ([str(ov.channel)] if trace.out_shape[0] > 1 else []) + (
            [str(c)] if dims == 1 else [str(r), str(c)]
        )
        recorded = _("(the recorded maximum of window {window})").format(
            window=channel_window_text(trace, ov.channel, ov.rows, ov.cols)
        )
        return [
            overlay_text(step.k, f"dA_prev[{', '.join(parts)}] += dY{idx} = {fmt(delta)} {recorded}{total}")
        ]
    size = layer.size[0] * layer.size[1]
    each = _("{value} each").format(value=fmt(delta / size))
    return [
        overlay_text(
            step.k,
            f"dA_prev{channel_window_text(trace, ov.channel, ov.rows, ov.cols)} += dY{idx} / {size} = "
            f"{fmt(delta)} / {size} = {each}{total}",
        )
    ]


# ----------------------------------------------------------------------------- links


def _pool_links(
    trace: Any, layer: PoolLayer, role: str, index: links.Index, backward: bool
) -> links.CellLinks | None:
    (kh, kw), (sh, sw) = trace.size, trace.stride
    oh, ow = trace.z.shape[1:]
    x = trace.x_padded  # the windows' view (padding: -inf or zeros around the input)
    argmax = trace.argmax
    size = kh * kw

    def window(c: int, i: int, j: int) -> list[links.Index]:
        return [(c, i * sh + a, j * sw + b) for a in range(kh) for b in range(kw)]

    def winner(c: int, i: int, j: int) -> links.Index:
        assert argmax is not None
        arg = int(argmax[c, i, j])
        return (c, i * sh + arg // kw, j * sw + arg % kw)

    name = links.name_of(trace, role, index)
    if role in ("z", "dz"):
        c, i, j = index
        cells = window(c, i, j)
        if role == "z" and not backward:
            values = ", ".join(fmt(float(x[cell])) for cell in cells)
            y = float(trace.z[c, i, j])
            if argmax is not None:
                at = winner(c, i, j)
                text = (
                    f"{name} = max({values}) = {fmt(y)}, the maximum at {links.name_of(trace, 'input', at)}"
                )
                extra = {"input": cells}
            else:
                text = f"{name} = ({' + '.join(fmt(float(x[cell])) for cell in cells)}) / {size} = {fmt(y)}"
                extra = {"input": cells}
            return links.CellLinks(role, index, links.linked_cells([], extra), (), y, text)
        if role == "dz" and backward:
            assert trace.grad_output is not None
            delta = float(trace.grad_output[c, i, j])
            overlay = c * oh * ow + i * ow + j + 1
            if argmax is not None:
                at = winner(c, i, j)
                text = f"{name} = {fmt(delta)} " + _("goes to {cell}, its window's maximum").format(
                    cell=links.name_of(trace, "dx", at)
                )
                extra = {"input": cells, "dx": [at]}
            else:
                share = fmt(delta / size)
                text = f"{name} = {fmt(delta)} " + _(
                    "is spread as {share} to each of the {n} window cells"
                ).format(share=share, n=size)
                extra = {"input": cells, "dx": cells}
            text += " " + _("(overlay {k})").format(k=overlay)
            return links.CellLinks(role, index, links.linked_cells([], extra), (), delta, text)
        return None
    if role == "dx" and backward:
        assert trace.grad_output is not None
        c, y, xq = index
        terms: list[links.Term] = []
        windows: list[links.Index] = []
        for i in range(oh):
            for j in range(ow):
                if not (i * sh <= y < i * sh + kh and j * sw <= xq < j * sw + kw):
                    continue
                if argmax is not None and winner(c, i, j) != index:
                    continue
                delta = float(trace.grad_output[c, i, j])
                scale = 1.0 if argmax is not None else 1.0 / size
                terms.append(links.Term((delta,), (("dz", (c, i, j)),), c * oh * ow + i * ow + j + 1, scale))
                windows.extend(window(c, i, j))
        value = links.total(terms)
        text = links.sum_text(name, terms, value)
        if not terms:
            text += " (no window routed a delta here)" if argmax is not None else ""
        return links.CellLinks(
            role, index, links.linked_cells(terms, {"input": windows}), tuple(terms), value, text
        )
    if role == "input":
        c, y, xq = index
        outputs = [
            (c, i, j)
            for i in range(oh)
            for j in range(ow)
            if i * sh <= y < i * sh + kh and j * sw <= xq < j * sw + kw
        ]
        out_role = "dz" if backward else "z"
        text = f"{name} = {fmt(float(x[index]))} " + _("lies in {n} window(s)").format(n=len(outputs))
        return links.CellLinks(
            role, index, links.linked_cells([], {out_role: outputs}), (), float(x[index]), text
        )
    return None


# ----------------------------------------------------------------------------- the kind


# The kind's object in the file format's JSON Schema ($defs/pool of visualconv/schema/model.schema.json).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "mode", "size"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "pool"},
        "mode": {"enum": ["max", "avg"], "description": "max or avg."},
        "size": {
            "x-expected": 'a positive integer, a pair of positive integers or "global"',
            "oneOf": [{"$ref": "#/$defs/positive"}, {"const": "global"}],
            "description": 'Window size, or "global": one window over each whole '
            "channel (then no stride and no padding).",
        },
        "stride": {"$ref": "#/$defs/positive", "description": "Step between windows, default the size."},
        "padding": {
            "$ref": "#/$defs/nonnegative",
            "description": "Padding on both sides, default 0, at most half the "
            "size: -inf for max pooling, zeros that count in the "
            "average for avg pooling.",
        },
    },
}


class PoolKind(Kind):
    """Pooling layers: no weights, windows over the input."""

    type = "pool"
    schema = SCHEMA
    output_names = ("y", "dY")
    windowed = True

    # --- the file format

    def from_document(self, spec: dict[str, Any], dims: int, place: str, read: DocumentReader) -> PoolLayer:
        """mode, size (or "global"), stride (default the size), padding (at most half the size)."""
        from ..errors import Message, ModelError

        mode = spec["mode"]
        if spec["size"] == "global":
            for key in ("stride", "padding"):
                if key in spec:
                    raise ModelError(
                        Message(
                            'expected no {key} with size "global" (one window over the whole input), '
                            "got {got}",
                            key=key,
                            got=repr(spec[key]),
                        ),
                        f"{place}.{key}",
                    )
            one = (1, 1)
            return PoolLayer(mode=mode, size=one, stride=one, dims=dims, is_global=True)
        size = read.pair(spec["size"], dims, 1, f"{place}.size")
        stride = size if spec.get("stride") is None else read.pair(spec["stride"], dims, 1, f"{place}.stride")
        padding = read.pair(spec.get("padding"), dims, 0, f"{place}.padding")
        if dims == 1:
            padding = (0, padding[1])
        for axis in (0, 1):
            if padding[axis] > size[axis] // 2:
                slice(1, 2) if dims == 1 else slice(0, 2)
                raise ModelError(
                    Message(
                        "expected padding at most half the size {size} (as PyTorch requires), got {got}",
                        size=axes_words(size, dims),
                        got=axes_words(padding, dims),
                    ),
                    f"{place}.padding",
                )
        return PoolLayer(mode=mode, size=size, stride=stride, dims=dims, padding=padding)

    def to_document(self, layer: PoolLayer, dims: int) -> dict[str, Any]:
        """The pool layer object; padding only when not zero."""
        if layer.is_global:
            return {"type": "pool", "mode": layer.mode, "size": "global"}
        doc: dict[str, Any] = {
            "type": "pool",
            "mode": layer.mode,
            "size": pair_out(layer.size, dims),
            "stride": pair_out(layer.stride, dims),
        }
        if layer.padding != (0, 0):
            doc["padding"] = pair_out(layer.padding, dims)
        return doc

    def check_shape(
        self, layer: PoolLayer, shape: Shape, place: str, source: str
    ) -> tuple[Shape, int, str, str]:
        """The window (global: the whole input) against the padded input."""
        from ..errors import Message, ModelError

        dims, spatial, channels = spatial_input(layer, shape, source, place)
        size, stride, padding = layer.window(spatial)
        out = tuple(output_length(spatial[a], size[a], stride[a], padding[a], 1) for a in (0, 1))
        slice(1, 2) if layer.dims == 1 else slice(0, 2)
        if min(out) < 1:
            padded = (spatial[0] + 2 * padding[0], spatial[1] + 2 * padding[1])
            what = (
                Message("the input of {size}", size=axes_words(spatial, dims))
                if padding == (0, 0)
                else Message("the padded input of {size}", size=axes_words(padded, dims))
            )
            raise ModelError(
                Message(
                    "expected a pool window that fits {what} ({source}), got size {size}",
                    what=what,
                    source=source,
                    size=axes_words(size, dims),
                ),
                f"{place}.size",
            )
        out_shape: Shape = (channels, out[1]) if layer.dims == 1 else (channels, out[0], out[1])
        n_in, n_out = math.prod(shape), math.prod(out_shape)
        n_padded = channels * (spatial[0] + 2 * padding[0]) * (spatial[1] + 2 * padding[1])
        elements = 3 * n_in + 2 * n_padded + 3 * n_out + n_out * size[0] * size[1]
        return out_shape, elements, "", Message("its windows")

    def trace_class(self, pass_name: str) -> TraceClass:
        """:class:`PoolForwardTrace` or :class:`PoolBackwardTrace`."""
        return PoolForwardTrace if pass_name == "forward" else PoolBackwardTrace

    def summary(self, layer: PoolLayer, dims: int) -> tuple[str, str]:
        """``max pool 2`` and ``stride 2`` (`` · overlapping`` when windows overlap, `` · padding 1``)."""
        if layer.is_global:
            return _("global {mode} pool").format(mode=layer.mode), _("one window per channel")
        kind = _("{mode} pool {size}").format(mode=layer.mode, size=size_text(layer.size, dims))
        stride = _("stride {value}").format(value=size_text(layer.stride, dims))
        if layer.padding != (0, 0):
            return kind, stride + " · " + _("padding {value}").format(value=size_text(layer.padding, dims))
        return kind, stride + (" · " + _("overlapping") if layer.stride[1] < layer.size[1] else "")

    def new_layer(self, input_shape: Shape, dims: int) -> PoolLayer:
        """A 1x1 max pool (the user sets its size and stride)."""
        from ..errors import ModelError

        if len(input_shape) == 1:
            raise ModelError("a pool layer needs an image input", "layers")
        one = (1, 1)
        return PoolLayer("max", one, one, dims)

    def settings(self, layer: PoolLayer, dims: int) -> list[tuple[str, str, str]]:
        """Mode, size (or "global"), stride and padding."""
        if layer.is_global:
            return [("mode", N_("pool mode"), layer.mode), ("size", N_("pool size"), "global")]
        return [
            ("mode", N_("pool mode"), layer.mode),
            ("size", N_("pool size"), setting_text(layer.size, dims)),
            ("stride", N_("stride"), setting_text(layer.stride, dims)),
            ("padding", N_("padding"), setting_text(layer.padding, dims)),
        ]

    def with_setting(
        self, layer: PoolLayer, key: str, value: Any, dims: int, place: str, fit: Fit
    ) -> PoolLayer:
        """One of size (also "global"), stride, padding or mode."""
        from ..errors import ModelError

        if key == "size":
            if isinstance(value, str) and value.strip() == "global":
                return dataclasses.replace(layer, is_global=True, padding=(0, 0))
            size = parse_pair(value, dims, place, 1)
            stride = size if layer.is_global else layer.stride
            return dataclasses.replace(layer, size=size, stride=stride, is_global=False)
        if key == "padding":
            padding = parse_pair(value, dims, place, 0)
            if padding[0] > layer.size[0] // 2 or padding[1] > layer.size[1] // 2:
                raise ModelError(f"expected padding at most half the size, got {value!r}", place)
            return dataclasses.replace(layer, padding=padding)
        if key == "stride":
            return dataclasses.replace(layer, stride=parse_pair(value, dims, place, 1))
        if key == "mode":
            if value not in ("max", "avg"):
                raise ModelError(f"expected 'max' or 'avg', got {value!r}", place)
            return dataclasses.replace(layer, mode=str(value))
        raise ModelError(f"a pool layer has no setting {key!r}", place)

    def role_shape(self, trace: Any, role: str) -> tuple[int, ...]:
        """The input and dA_prev in the padded view (as the windows see them)."""
        if role in ("input", "dx"):
            return tuple(trace.x_padded.shape)
        return super().role_shape(trace, role)

    def padding(self, layer: PoolLayer) -> IntPair:
        """The pool's padding border around the input in the trace's view."""
        return layer.padding

    def kinks(self, layer: PoolLayer, x: FloatArray, z: FloatArray, near: float) -> list[str]:
        """Max-pool windows whose two largest values are within ``near``: a tie for the maximum."""
        if layer.mode != "max":
            return []
        x = x if layer.dims == 2 else x[:, None, :]
        size, stride, (ph, pw) = layer.window((x.shape[1], x.shape[2]))
        x = pad_sides(x, (ph, ph, pw, pw), "zeros", -np.inf)
        windows = sliding_windows(x[None], size, stride, (1, 1))[0]
        flat = np.sort(windows.reshape(*windows.shape[:3], -1), axis=-1)
        ties = int(np.sum(flat[..., -1] - flat[..., -2] <= near)) if flat.shape[-1] > 1 else 0
        return [_("{n} max-pool window(s) with a tie for the maximum").format(n=ties)] if ties else []

    def intro_lines(self, trace: Any) -> list[str]:
        """What the pool's overlays do; a pool layer has no weights, so only dA_prev is summed."""
        n = trace.n
        if trace.pass_name == "forward":
            if trace.layer.mode == "max":
                return [_("{n} overlays: each takes the maximum of one window").format(n=n)]
            return [_("{n} overlays: each takes the average of one window").format(n=n)]
        if trace.layer.mode == "max":
            return [
                _(
                    "{n} overlays; dA_prev starts at zero; each routes a delta of dY to its window's maximum"
                ).format(n=n)
            ]
        return [
            _(
                "{n} overlays; dA_prev starts at zero; each spreads a delta of dY evenly over its window"
            ).format(n=n)
        ]

    def explain(self, trace: Any, step: Any) -> list[str]:
        """``y = max(...)`` or the average forward; where the delta goes backward."""
        return _pool_forward(trace, step) if trace.pass_name == "forward" else _pool_backward(trace, step)

    def links(self, trace: Any, role: str, index: tuple[int, ...]) -> links.CellLinks | None:
        """Which cells feed a cell of the pool layer's pass (see :mod:`visualconv.engine.links`)."""
        return _pool_links(trace, trace.layer, role, index, trace.pass_name == "backward")

    # --- the scene

    def panels(self, trace: Any) -> list[PanelSpec]:
        """Input and output; backward dY and dA_prev; max pooling marks the recorded maximum."""
        layer = trace.layer
        dims = layer.dims
        one_d = dims == 1
        padding = trace.padding
        padded = padding != (0, 0)
        x_map = TileMap(shape_of(trace.x_padded), one_d)
        y_map = TileMap(shape_of(trace.z), one_d)
        maximum = layer.mode == "max"
        if layer.is_global:
            note = x_note = (
                _("global max pool: one window per channel")
                if maximum
                else _("global average pool: one window per channel")
            )
        else:
            sizes = layer.size[1] if one_d else layer.size
            strides = layer.stride[1] if one_d else layer.stride
            note = (
                _("max pool, size {size}, stride {stride}")
                if maximum
                else _("average pool, size {size}, stride {stride}")
            ).format(size=sizes, stride=strides)
            x_note = (
                _("max pool {size}, stride {stride}") if maximum else _("avg pool {size}, stride {stride}")
            ).format(size=pair_text(layer.size, dims), stride=pair_text(layer.stride, dims))
        if padded:
            fill = _("-inf, never the maximum") if maximum else _("zeros, counted in the average")
            note = joined(
                note,
                _("padding {padding}: {fill}").format(padding=padding[1] if one_d else padding, fill=fill),
            )
            x_note = f"{x_note}; " + _("grey border = padding ({fill})").format(fill=fill)
        marked = trace.argmax is not None
        x_printed = Printed("A_pad" if padded else "A_prev", 0, 0, x_note, key="x")
        x_subtitle = joined(x_map.shape_text(), note)
        x_title = "A_pad  " + _("(input, padded)") if padded else "A_prev  " + _("(input)")
        specs = [PanelSpec("input", x_title, x_map, 0, 0, x_printed, padding, x_subtitle, marked=marked)]
        if trace.pass_name == "forward":
            title = f"Y = {layer.mode}pool(A_prev)"
            specs.append(
                PanelSpec("z", title, y_map, 0, 1, Printed("Y", 1, 0, key="y"), subtitle=y_map.shape_text())
            )
            return specs
        dy_printed = Printed("dY", 0, 1, key="dy")
        specs.append(
            PanelSpec(
                "dz", "dY  " + _("(upstream delta)"), y_map, 0, 1, dy_printed, subtitle=y_map.shape_text()
            )
        )
        if layer.mode == "max":
            route, printed_route = (
                _("each delta goes to its window's maximum"),
                _("routed to the recorded maximum"),
            )
        else:
            route, printed_route = _("each delta is spread evenly"), _("shared equally by the window")
        dx_printed = Printed("dA_pad" if padded else "dA_prev", 1, 0, printed_route)
        dx_subtitle = joined(route, _("overlaps add up"), _("border cropped") if padded else "")
        dx_title = "dA_pad  " + _("(dA_prev + border)") if padded else "dA_prev"
        specs.append(PanelSpec("dx", dx_title, x_map, 1, 0, dx_printed, padding, dx_subtitle, marked=marked))
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
                kw = trace.size[1]
                arg = int(trace.argmax[c, ov.position[0], ov.position[1]])
                argmax = [(c, ov.rows.start + arg // kw, ov.cols.start + arg % kw)]
        shown = trace.x_padded
        if layer.mode == "max" and trace.padding != (0, 0):
            shown = np.where(np.isneginf(shown), np.nan, shown)  # -inf padding: a blank cell, not a colour
        out.put("input", shown, window=window, argmax=argmax)
        if trace.pass_name == "forward":
            out.put("z", trace.z, step.k, changed=element)
            return
        out.put("dz", step.state.dy, window=element)
        if trace.argmax is not None:
            # the window outlines where the delta went; print outlines the window and marks the maximum
            out.put("dx", step.state.dx_padded, changed=argmax, printed_outline=window, printed_marks=argmax)
        else:
            out.put("dx", step.state.dx_padded, changed=window)

    def caption(self, layer: Any) -> str:
        """``pool 1-D`` or ``pool 2-D``."""
        return f"{layer.type} {layer.dims}-D"

    # --- PyTorch

    def torch_modules(self, spec: dict[str, Any], dims: int) -> tuple[ModuleSpec, ...]:
        """``MaxPool``/``AvgPool`` of the dims, or ``AdaptiveMaxPool``/``AdaptiveAvgPool`` for "global"."""
        mode = "Max" if spec["mode"] == "max" else "Avg"
        if spec.get("size") == "global":
            return (ModuleSpec(f"Adaptive{mode}Pool{dims}d", (1,)),)
        kwargs = {
            "kernel_size": torch_twin.axes(spec["size"], dims, 1),
            "stride": torch_twin.axes(spec.get("stride", spec["size"]), dims, 1),
        }
        if spec.get("padding") not in (None, 0, [0, 0]):
            kwargs["padding"] = torch_twin.axes(spec["padding"], dims, 0)
        return (ModuleSpec(f"{mode}Pool{dims}d", (), kwargs),)


POOL = PoolKind()

"""The conv_transpose kind: transposed convolution with an optional bias and an activation.

Owns :class:`ConvTransposeLayer` (its shape rule, forward and backward through the
kernels of ``engine/conv_transpose.py``), the traces of its two passes with their typed
steps, their text and links.

A transposed convolution steps one overlay per *input* element, row-major over
(input channel, i, j): overlay k stamps ``x[k] * W[c]`` into the output window it covers.
That is exactly overlay k of a convolution's backward pass, which adds ``W * dZ[k]`` into
dA_prev: with the conv's dZ as input, the two passes go through the same numbers. The
trace works in the *full* output view, before ``padding`` crops it (as a conv's trace works
in the padded input). Its backward pass gathers: overlay k collects dX[k] = sum(W[c] ⊙ the
window of dZ it stamped) and adds x[k] times that window to dW[c].
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ...i18n import N_, _
from .. import activations, links
from ..budget import axes_words, sized
from ..conv import conv2d_backward
from ..conv_transpose import (
    conv_transpose2d_backward,
    conv_transpose2d_forward,
    transposed_geometry,
)
from ..scene import (
    Cell,
    PanelSpec,
    Printed,
    StepPanels,
    TileMap,
    gradient_specs,
    joined,
    pair_text,
    shape_of,
    window_cells,
)
from ..windows import FloatArray, IntPair, crop
from . import torch_twin
from .base import (
    DocumentReader,
    Fields,
    Fit,
    Kind,
    LayerGrads,
    LayerTrace,
    Overlay,
    Shape,
    Step,
    TraceClass,
    WeightedLayer,
    activation_rows,
    from_4d,
    frozen,
    frozen_array,
    groups_setting,
    parse_pair,
    setting_text,
    size_text,
    slope_out,
    spatial_input,
    to_4d,
    weights_out,
    with_window_setting,
)
from .text import MAX_TERMS, fmt, fmt_array, overlay_text, products, slice_text, squeeze_view, trace_dims
from .torch_twin import ModuleSpec


@dataclass(frozen=True, slots=True)
class ConvTransposeLayer(WeightedLayer):
    """Transposed convolution, as ``torch.nn.functional.conv_transpose1d/2d``.

    Attributes
    ----------
    weight : ndarray of shape (C_in, C_out / groups, kH, kW), or (C_in, C_out / groups, K) when dims == 1
    bias : ndarray of shape (C_out,) or None
    stride, padding, output_padding, dilation : (int, int)
        Per (rows, cols); a 1-D layer has rows (1, 0, 0, 1).
    activation : str
    dims : {1, 2}
    groups : int
    negative_slope : float
        leaky_relu's slope for z < 0.
    """

    weight: FloatArray = field(repr=False)
    bias: FloatArray | None = field(repr=False, default=None)
    stride: IntPair = (1, 1)
    padding: IntPair = (0, 0)
    output_padding: IntPair = (0, 0)
    dilation: IntPair = (1, 1)
    activation: str = "identity"
    dims: int = 2
    groups: int = 1
    negative_slope: float = activations.LEAKY_SLOPE
    type: Literal["conv_transpose"] = "conv_transpose"

    @property
    def kind(self) -> ConvTransposeKind:
        """The conv_transpose kind."""
        return CONV_TRANSPOSE

    @property
    def weight_4d(self) -> FloatArray:
        """The weight as (C_in, C_out / groups, kH, kW), kH = 1 for 1-D."""
        return self.weight[:, :, None, :] if self.dims == 1 else self.weight

    @property
    def kernel_size(self) -> IntPair:
        """(kH, kW) of the 2-D view."""
        w = self.weight_4d
        return w.shape[2], w.shape[3]

    @property
    def out_channels(self) -> int:
        """C_out = (C_out / groups) * groups."""
        return int(self.weight.shape[1]) * self.groups

    def _arguments(self) -> tuple[IntPair, IntPair, IntPair, IntPair, int]:
        return self.stride, self.padding, self.output_padding, self.dilation, self.groups

    def output_shape(self, input_shape: Shape) -> Shape:
        """Output shape (C_out, ...) for an input of shape (C_in, ...) (no batch)."""
        if len(input_shape) != self.dims + 1:
            raise ValueError(f"expects a {self.dims + 1}-axis input, got shape {input_shape}")
        spatial = (1, input_shape[1]) if self.dims == 1 else (input_shape[1], input_shape[2])
        *_, out = transposed_geometry((1, input_shape[0], *spatial), self.weight_4d.shape, *self._arguments())
        return (self.out_channels, out[1]) if self.dims == 1 else (self.out_channels, *out)

    def forward(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Return (Z, A) for a batch ``x`` of shape (N, C_in, ...)."""
        z4 = conv_transpose2d_forward(to_4d(x, self.dims), self.weight_4d, self.bias, *self._arguments())
        z = from_4d(z4, self.dims)
        return z, activations.activate(self.activation, z, self.negative_slope)

    def backward(self, grad_output: FloatArray, x: FloatArray, z: FloatArray, a: FloatArray) -> LayerGrads:
        """Gradients given dL/dA of shape (N, C_out, ...) and the forward values."""
        dz = grad_output * activations.derivative(self.activation, z, a, self.negative_slope)
        dx4, dw4, db = conv_transpose2d_backward(
            to_4d(dz, self.dims), to_4d(x, self.dims), self.weight_4d, *self._arguments()
        )
        dw = dw4[:, :, 0, :] if self.dims == 1 else dw4
        return LayerGrads(from_4d(dx4, self.dims), dz, dw, None if self.bias is None else db)


# ----------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class ConvTransposeForwardOperands(Fields):
    """What a forward overlay stamps.

    Attributes
    ----------
    kernel : ndarray of shape (C_out / groups, kH, kW)
        W[c] of the overlay's input channel c.
    stamp : ndarray of shape (C_out / groups, kH, kW)
        ``x[c, i, j] * W[c]``, added to the output window (its group's output channels).
    """

    kernel: FloatArray = field(repr=False)
    stamp: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class ConvTransposeForwardValues(Fields):
    """Scalars of a forward overlay: the input element that stamps the kernel."""

    value: float


@dataclass(frozen=True, slots=True)
class ConvTransposeForwardState(Fields):
    """The forward pass after k overlays.

    Attributes
    ----------
    z_full : ndarray of shape (C_out, oh + 2ph, ow + 2pw)
        The stamps so far in the full output view (no bias), before ``padding`` crops it.
    z : ndarray of shape (C_out, oh, ow)
        The stamps so far, cropped, plus the bias (every cell starts at its channel's bias).
    a : ndarray of shape (C_out, oh, ow)
        f(z) of the partial sums (the layer's output after the last overlay).
    done : ndarray of bool, the input's shape (C_in, H, W)
        The input elements stamped so far.
    """

    z_full: FloatArray = field(repr=False)
    z: FloatArray = field(repr=False)
    a: FloatArray = field(repr=False)
    done: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class ConvTransposeBackwardOperands(Fields):
    """What a backward overlay gathers.

    Attributes
    ----------
    kernel : ndarray of shape (C_out / groups, kH, kW)
        W[c].
    dz_window : ndarray of shape (C_out / groups, kH, kW)
        The cells of dZ (full view, zeros where padding cropped) that input element k stamped.
    dx_products : ndarray of shape (C_out / groups, kH, kW)
        ``W[c] ⊙ dz_window``: their sum is dX[k].
    dw_contribution : ndarray of shape (C_out / groups, kH, kW)
        ``x[k] * dz_window``, added to dW[c].
    """

    kernel: FloatArray = field(repr=False)
    dz_window: FloatArray = field(repr=False)
    dx_products: FloatArray = field(repr=False)
    dw_contribution: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class ConvTransposeBackwardValues(Fields):
    """Scalars of a backward overlay: the input element x[k] and its gathered gradient dX[k]."""

    value: float
    dx: float


@dataclass(frozen=True, slots=True)
class ConvTransposeBackwardState(Fields):
    """The backward pass after k overlays.

    Attributes
    ----------
    dz : ndarray of shape (C_out, oh, ow)
    dz_full : ndarray of shape (C_out, oh + 2ph, ow + 2pw)
        dZ in the full output view (zeros on the cropped border).
    done : ndarray of bool, the input's shape (C_in, H, W)
    dw : ndarray of shape (C_in, C_out / groups, kH, kW)
    db : ndarray of shape (C_out,)
        sum(dZ) per channel: every output cell's delta once, complete from step 0.
    dx : ndarray of shape (C_in, H, W)
        The gathered gradients of the first k input elements (zeros after them).
    """

    dz: FloatArray = field(repr=False)
    dz_full: FloatArray = field(repr=False)
    done: FloatArray = field(repr=False)
    dw: FloatArray = field(repr=False)
    db: FloatArray = field(repr=False)
    dx: FloatArray = field(repr=False)


ConvTransposeForwardStep = Step[
    ConvTransposeForwardOperands, ConvTransposeForwardValues, ConvTransposeForwardState
]
ConvTransposeBackwardStep = Step[
    ConvTransposeBackwardOperands, ConvTransposeBackwardValues, ConvTransposeBackwardState
]


@dataclass(frozen=True, slots=True)
class ConvLink:
    """The forward output of a transposed convolution, computed as a conv layer's dA_prev.

    Attributes
    ----------
    dx : ndarray of shape (C_out, oh, ow), or None
        dA_prev of ``conv(·, W, stride, padding, dilation, groups)`` on an input of the
        output's size, with dZ = this layer's input: equal to Z - b. None when no conv
        has that output size (output_padding >= stride).
    """

    dx: FloatArray | None = field(repr=False)


# ----------------------------------------------------------------------------- traces


def _span(channels: range | None) -> slice:
    """A channel range as a slice (all channels for None)."""
    return slice(None) if channels is None else slice(channels.start, channels.stop)


class ConvTransposeTrace(LayerTrace):
    """What both passes share: the 2-D view, one overlay per input element, the full output view.

    Attributes
    ----------
    weight : ndarray of shape (C_in, C_out / groups, kH, kW)
    bias : ndarray of shape (C_out,) or None
    full_shape : (C_out, oh + 2ph, ow + 2pw)
        The output before ``padding`` crops it: the overlays' windows are in this view.
    """

    layer: ConvTransposeLayer

    def _setup(self) -> None:
        layer = self.layer
        self.weight = frozen(layer.weight_4d)
        self.bias = layer.bias
        ph, pw = layer.padding
        self.full_shape = (self.z.shape[0], self.z.shape[1] + 2 * ph, self.z.shape[2] + 2 * pw)
        self.n = int(self.x.size)  # one overlay per input element

    def _done_mask(self, k: int) -> FloatArray:
        """The first k input elements in row-major order."""
        done = np.zeros(self.x.size, dtype=bool)
        done[:k] = True
        return frozen(done.reshape(self.x.shape))

    def _masked_input(self, k: int) -> FloatArray:
        """The input with the elements after the first k set to zero."""
        x = np.zeros(self.x.size)
        x[:k] = self.x.reshape(-1)[:k]
        return x.reshape(self.x.shape)

    def output_channels(self, c: int) -> range:
        """The output channels input channel ``c`` stamps into: those of its group."""
        per_group = int(self.weight.shape[1])
        group = c // (int(self.weight.shape[0]) // self.layer.groups)
        return range(group * per_group, (group + 1) * per_group)

    def overlay(self, k: int) -> Overlay:
        """The k-th overlay (1-based): input element (c, i, j) and its window in the full output view."""
        if not 1 <= k <= self.n:
            raise IndexError(f"overlay {k} is outside 1..{self.n}")
        c, i, j = (int(v) for v in np.unravel_index(k - 1, self.x.shape))
        layer = self.layer
        (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
        rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
        cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
        return Overlay(k, c, (i, j), rows, cols, self.output_channels(c))

    def affected_by_input(self, c: int, row: int, col: int) -> list[int]:
        """The one overlay of input element (c, row, col) (each input element has its own)."""
        if not (0 <= c < self.x.shape[0] and 0 <= row < self.x.shape[1] and 0 <= col < self.x.shape[2]):
            return []
        return [int(np.ravel_multi_index((c, row, col), self.x.shape)) + 1]

    def _arguments(self, padding: IntPair) -> tuple[IntPair, IntPair, IntPair, IntPair, int]:
        layer = self.layer
        return layer.stride, padding, layer.output_padding, layer.dilation, layer.groups

    def full(self, x: FloatArray) -> FloatArray:
        """The stamps of ``x`` (C_in, H, W) in the full output view (padding 0, no bias)."""
        stamps: FloatArray = conv_transpose2d_forward(x[None], self.weight, None, *self._arguments((0, 0)))[0]
        return stamps


class ConvTransposeForwardTrace(ConvTransposeTrace):
    """The forward pass: overlay k stamps x[k] * W[c] into the output window it covers."""

    def step(self, k: int) -> ConvTransposeForwardStep:
        """The state after k overlays, 0 <= k <= n."""
        return super().step(k)

    def _compute(self, k: int) -> ConvTransposeForwardStep:
        layer = self.layer
        ov = self.overlay(k) if k else None
        operands = values = None
        previous = self._cache.get(k - 1) if k else None
        if ov is not None:
            c, (i, j) = ov.channel, ov.position
            value = float(self.x[c, i, j])
            kernel = self.weight[c]
            stamp = frozen(value * kernel)
            operands = ConvTransposeForwardOperands(kernel, stamp)
            values = ConvTransposeForwardValues(value)
        if previous is not None and ov is not None:
            z_full = previous.state.z_full.copy()
            z_full[_span(ov.channels), ov.rows, ov.cols] += operands.stamp if operands is not None else 0.0
        else:
            z_full = self.full(self._masked_input(k))
        z = np.array(crop(z_full, layer.padding))
        if self.bias is not None:
            z += self.bias[:, None, None]
        if k == self.n:
            z, a = np.array(self.z), self.a  # the layer's own values, to the last bit
        else:
            a = activations.activate(layer.activation, z, layer.negative_slope)
        state = ConvTransposeForwardState(frozen(z_full), frozen(z), frozen(a), self._done_mask(k))
        return Step("conv_transpose", "forward", k, self.n, ov, operands, values, state)

    def conv_link(self) -> ConvLink:
        """Z - b as the dA_prev of a conv with the same kernel whose dZ is this layer's input."""
        layer = self.layer
        _, oh, ow = self.z.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (
            layer.kernel_size,
            layer.stride,
            layer.padding,
            layer.dilation,
        )
        conv_out = ((oh + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (ow + 2 * pw - dw * (kw - 1) - 1) // sw + 1)
        if conv_out != self.x.shape[1:]:
            return ConvLink(None)
        dx, _, _ = conv2d_backward(
            self.x[None],
            np.zeros((1, *self.z.shape)),
            self.weight,
            layer.stride,
            layer.padding,
            layer.dilation,
            layer.groups,
        )
        return ConvLink(frozen(dx[0]))


class ConvTransposeBackwardTrace(ConvTransposeTrace):
    """The backward pass: overlay k gathers dX[k] from the window of dZ that x[k] stamped."""

    def _setup(self) -> None:
        super()._setup()
        assert self.grad_pre_activation is not None
        ph, pw = self.layer.padding
        dz_full = np.zeros(self.full_shape)
        dz_full[:, ph : ph + self.z.shape[1], pw : pw + self.z.shape[2]] = self.grad_pre_activation
        self.dz_full = frozen(dz_full)
        dx, dw, db = conv_transpose2d_backward(
            self.grad_pre_activation[None], self.x[None], self.weight, *self._arguments(self.layer.padding)
        )
        self._dx, self._dw, self._db = dx[0], dw, frozen(db)

    def step(self, k: int) -> ConvTransposeBackwardStep:
        """The state after k overlays, 0 <= k <= n."""
        return super().step(k)

    def _compute(self, k: int) -> ConvTransposeBackwardStep:
        ov = self.overlay(k) if k else None
        operands = values = None
        done = self._done_mask(k)
        previous = self._cache.get(k - 1) if k else None
        if ov is not None:
            c, (i, j) = ov.channel, ov.position
            kernel = self.weight[c]
            window = frozen(self.dz_full[_span(ov.channels), ov.rows, ov.cols])
            value = float(self.x[c, i, j])
            operands = ConvTransposeBackwardOperands(
                kernel, window, frozen(kernel * window), frozen(value * window)
            )
            values = ConvTransposeBackwardValues(value, float(self._dx[c, i, j]))
        if k == self.n:
            dw = self._dw
        elif previous is not None and ov is not None and operands is not None:
            dw = previous.state.dw.copy()
            dw[ov.channel] += operands.dw_contribution
        else:
            assert self.grad_pre_activation is not None
            _, dw4, _ = conv_transpose2d_backward(
                self.grad_pre_activation[None],
                self._masked_input(k)[None],
                self.weight,
                *self._arguments(self.layer.padding),
            )
            dw = dw4
        dx = np.where(done, self._dx, 0.0)
        assert self.grad_pre_activation is not None
        state = ConvTransposeBackwardState(
            self.grad_pre_activation, self.dz_full, done, frozen(dw), self._db, frozen(dx)
        )
        return Step("conv_transpose", "backward", k, self.n, ov, operands, values, state)


# ----------------------------------------------------------------------------- text


def _element(trace: Any, c: int, position: IntPair) -> str:
    dims = trace_dims(trace)
    parts = [str(c)] if trace.x.shape[0] > 1 else []
    parts += [str(position[1])] if dims == 1 else [str(position[0]), str(position[1])]
    return "[" + ", ".join(parts) + "]"


def _window(trace: Any, ov: Overlay) -> str:
    dims = trace_dims(trace)
    channels = ov.channels
    parts = []
    if trace.z.shape[0] > 1:
        assert channels is not None
        parts.append(f"{channels.start}:{channels.stop}" if len(channels) > 1 else str(channels.start))
    parts += [slice_text(ov.cols)] if dims == 1 else [slice_text(ov.rows), slice_text(ov.cols)]
    return "[" + ", ".join(parts) + "]"


def _pair_text(pair: IntPair, dims: int) -> str:
    return str(pair[1]) if dims == 1 or pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def _full_name(trace: Any) -> str:
    return "Z_full" if any(trace.layer.padding) else "Z"


def _forward_text(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    dims = trace_dims(trace)
    c = ov.channel
    kernel = squeeze_view(step.operands.kernel, dims)
    value = step.values.value
    where = f"{_full_name(trace)}{_window(trace, ov)}"
    wname = f"W[{c}]" if trace.x.shape[0] > 1 else "W"
    if kernel.size <= MAX_TERMS:
        body = f"{products(kernel, value)} = {fmt_array(squeeze_view(step.operands.stamp, dims))}"
    else:
        body = f"{wname} * {fmt(value)}"
    lines = [
        overlay_text(
            step.k,
            _("{element} = {value} stamps {stamp}").format(
                element=f"x{_element(trace, c, ov.position)}",
                value=fmt(value),
                stamp=f"{wname} * {fmt(value)}",
            ),
        )
    ]
    lines.append(f"  {where} += {body}")
    lines.append(
        "  "
        + _("(as overlay {k} of a conv's backward pass: {sum})").format(
            k=step.k, sum=f"dA_prev{_window(trace, ov)} += W * dZ[{step.k}]"
        )
    )
    if step.k == step.n:
        lines += _forward_closing(trace, step)
    return lines


def _forward_closing(trace: Any, step: Any) -> list[str]:
    layer = trace.layer
    dims = trace_dims(trace)
    lines = []
    if any(layer.padding):
        lines.append(
            _("padding {padding} crops Z_full's border: Z = Z_full without its outer {padding} ring").format(
                padding=_pair_text(layer.padding, dims)
            )
        )
    if any(layer.output_padding):
        op = _pair_text(layer.output_padding, dims)
        lines.append(
            _("output_padding {op}: the output keeps {op} more row(s)/column(s) on the bottom/right").format(
                op=op
            )
        )
    if layer.bias is not None:
        lines.append(_("Z = stamps + b (each output cell starts at its channel's bias)"))
    if layer.activation != "identity":
        lines.append(f"A = {layer.activation}(Z)")
    link = trace.conv_link()
    if link.dx is not None:
        stamped = np.asarray(step.state.z) - (0.0 if trace.bias is None else trace.bias[:, None, None])
        diff = float(np.max(np.abs(stamped - link.dx))) if link.dx.size else 0.0
        ok = _verdict(diff, float(np.max(np.abs(link.dx))))
        lines.append(
            _(
                "the link: Z - b = dA_prev of a conv with this W, stride and padding whose dZ is this input "
                "(its backward pass, overlay by overlay)"
            )
            + f" {ok}"
        )
    return lines


def _backward_text(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    dims = trace_dims(trace)
    c = ov.channel
    kernel = squeeze_view(step.operands.kernel, dims)
    window = squeeze_view(step.operands.dz_window, dims)
    idx = _element(trace, c, ov.position)
    wname = f"W[{c}]" if trace.x.shape[0] > 1 else "W"
    where = f"dZ_full{_window(trace, ov)}" if any(trace.layer.padding) else f"dZ{_window(trace, ov)}"
    if kernel.size <= MAX_TERMS:
        gather = " + ".join(f"{fmt(a)}*{fmt(b)}" for a, b in zip(kernel.ravel(), window.ravel(), strict=True))
    else:
        gather = f"sum({wname} ⊙ {where})"
    gathers = _("(gathers {window})").format(window=where)
    lines = [overlay_text(step.k, f"dX{idx} = {gather} = {fmt(step.values.dx)}  {gathers}")]
    dw_total = squeeze_view(step.state.dw[c], dims)
    if window.size <= MAX_TERMS:
        lines.append(f"  dW[{c}] += {products(window, step.values.value)} -> {fmt_array(dw_total)}")
    else:
        lines.append(f"  dW[{c}] += {where} * {fmt(step.values.value)}")
    if step.k == step.n:
        lines += _backward_closing(trace, step)
    return lines


def _verdict(diff: float, scale: float) -> str:
    """``✓`` when a stepped sum equals its closed form to round-off, else ``✗ (differs by ...)``."""
    if diff <= 1e-12 * max(1.0, scale):
        return "✓"
    return "✗ " + _("(differs by {difference})").format(difference=f"{diff:.3g}")


def _backward_closing(trace: Any, step: Any) -> list[str]:
    layer = trace.layer
    dx, dw, db = conv_transpose2d_backward(
        trace.grad_pre_activation[None], trace.x[None], trace.weight, *trace._arguments(layer.padding)
    )

    def verdict(stepped: Any, closed: Any) -> str:
        diff = float(np.max(np.abs(np.asarray(stepped) - closed))) if np.size(closed) else 0.0
        return _verdict(diff, float(np.max(np.abs(closed))) if np.size(closed) else 0.0)

    closed_form = _("closed form:")
    lines = [
        f"{closed_form} dX = conv(dZ, W) "
        + _("(a plain convolution, the same stride and padding)")
        + f" {verdict(step.state.dx, dx[0])}",
        f"{closed_form} dW = "
        + _("the input ⋆ dZ's windows, one per input element")
        + f" {verdict(step.state.dw, dw)}",
    ]
    if layer.bias is not None:
        lines.append(f"{closed_form} db = sum(dZ) {verdict(step.state.db, db)}")
    return lines


# ----------------------------------------------------------------------------- links


def _links(trace: Any, role: str, index: tuple[int, ...]) -> links.CellLinks | None:
    """Which cells feed a cell of a transposed convolution's pass."""
    layer = trace.layer
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
    ph, pw = layer.padding
    name = links.name_of(trace, role, index)
    backward = trace.pass_name == "backward"
    h, w = trace.x.shape[1:]
    if backward and role == "db":
        (f,) = index
        cells: list[links.Index] = [
            (f, i, j) for i in range(trace.z.shape[1]) for j in range(trace.z.shape[2])
        ]
        value = float(np.asarray(trace.grad_pre_activation)[f].sum())
        return links.CellLinks(
            role,
            index,
            links.linked_cells([], {"dz": cells}),
            (),
            value,
            f"{name} = sum(dZ[{f}]) = {fmt(value)}",
        )
    if role in ("z", "a", "z_full", "dz"):
        # z and a are cropped; z_full and the backward pass's dZ panel are the full output view
        full = role == "z_full" or backward
        f, y, q = index
        if not full:
            y, q = y + ph, q + pw
        # the input elements whose stamp covers full-view cell (f, y, q): y = i*sh + a*dh
        terms = []
        per_group = int(trace.weight.shape[1])
        group = f // per_group
        c_per_group = int(trace.weight.shape[0]) // layer.groups
        for c in range(group * c_per_group, (group + 1) * c_per_group):
            for a in range(kh):
                i, off = divmod(y - a * dh, sh)
                if off or not 0 <= i < h:
                    continue
                for b in range(kw):
                    j, off_j = divmod(q - b * dw, sw)
                    if off_j or not 0 <= j < w:
                        continue
                    k = int(np.ravel_multi_index((c, i, j), trace.x.shape)) + 1
                    terms.append(
                        links.Term(
                            (float(trace.x[c, i, j]), float(trace.weight[c, f - group * per_group, a, b])),
                            (("input", (c, i, j)), ("kernel", (c, f - group * per_group, a, b))),
                            k,
                        )
                    )
        terms.sort(key=lambda t: t.overlay)
        if backward:
            value = float(trace.dz_full[f, y, q])
            text = f"{name} = {fmt(value)}: " + _(
                "gathered by the {n} input element(s) whose stamp covers it"
            ).format(n=len(terms))
            return links.CellLinks(role, index, links.linked_cells(terms), tuple(terms), value, text)
        bias = 0.0 if layer.bias is None or full else float(layer.bias[f])
        value = links.total(terms, 0.0) + bias
        bias_text = f" + {fmt(bias)}" if layer.bias is not None and not full else ""
        text = (
            links.sum_text(name, terms, value, bias_text)
            + "; "
            + _("{n} stamp(s) reach this cell").format(n=len(terms))
        )
        if full and not (ph <= y < ph + trace.z.shape[1] and pw <= q < pw + trace.z.shape[2]):
            text += " " + _("(in the border that padding crops)")
        return links.CellLinks(role, index, links.linked_cells(terms), tuple(terms), value, text)
    if role in ("input", "dx"):
        c, i, j = index
        per_group = int(trace.weight.shape[1])
        group = c // (int(trace.weight.shape[0]) // layer.groups)
        reached: list[links.Index] = []
        for f in range(per_group):
            for a in range(kh):
                y = i * sh + a * dh - ph
                for b in range(kw):
                    q = j * sw + b * dw - pw
                    if 0 <= y < trace.z.shape[1] and 0 <= q < trace.z.shape[2]:
                        reached.append((group * per_group + f, y, q))
        kernel: list[links.Index] = [
            (c, f, a, b) for f in range(per_group) for a in range(kh) for b in range(kw)
        ]
        out_role = "dz" if backward else "z"
        value = float((trace.x if role == "input" else np.asarray(trace.step(trace.n).state.dx))[index])
        k = int(np.ravel_multi_index(index, trace.x.shape)) + 1
        text = f"{name} = {fmt(value)}: " + (
            _("overlay {k} gathers from these cells of dZ")
            if backward
            else _("overlay {k} stamps W[c] into these output cells")
        ).format(k=k)
        extra: dict[str, list[links.Index]] = {out_role: reached, "kernel": kernel}
        return links.CellLinks(role, index, links.linked_cells([], extra), (), value, text)
    return None


# ----------------------------------------------------------------------------- the kind


SCHEMA: dict[str, Any] = {
    "description": "Transposed convolution as torch.nn.functional.conv_transpose1d / conv_transpose2d.",
    "type": "object",
    "required": ["type", "weight"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "conv_transpose"},
        "weight": {
            "$ref": "#/$defs/array",
            "description": "(C_in, C_out / groups, kH, kW) in 2-D, (C_in, C_out / "
            "groups, K) in 1-D; leading size-1 axes may be left "
            "out.",
        },
        "bias": {
            "$ref": "#/$defs/bias",
            "description": "One value per output channel; default zeros; null for no bias term.",
        },
        "stride": {
            "$ref": "#/$defs/positive",
            "description": "Step between the stamps in the output, default 1.",
        },
        "padding": {
            "$ref": "#/$defs/nonnegative",
            "description": "Cells cropped from both sides of the output, default 0.",
        },
        "output_padding": {
            "$ref": "#/$defs/nonnegative",
            "description": "Cells added on the bottom/right of the output, "
            "default 0; smaller than the stride or the "
            "dilation of its axis.",
        },
        "dilation": {"$ref": "#/$defs/positive", "description": "Spacing of the kernel cells, default 1."},
        "groups": {"$ref": "#/$defs/groups"},
        "activation": {"$ref": "#/$defs/activation", "description": "Default identity."},
        "negative_slope": {"$ref": "#/$defs/negative_slope"},
    },
}


class ConvTransposeKind(Kind):
    """Transposed convolutions: weights, an activation, one stamp per input element."""

    type = "conv_transpose"
    schema = SCHEMA
    steps_over = "input"
    has_weights = True
    has_activation = True
    windowed = True

    # --- the file format

    def from_document(
        self, spec: dict[str, Any], dims: int, place: str, read: DocumentReader
    ) -> ConvTransposeLayer:
        """Weight (C_in, C_out / groups, ...), bias, stride, padding, output_padding, dilation, groups."""
        from ..errors import ModelError

        groups = int(spec.get("groups", 1))
        per_group = "C_out / groups" if groups > 1 else "C_out"
        layout = f"(C_in, {per_group}, K)" if dims == 1 else f"(C_in, {per_group}, kH, kW)"
        weight = read.array(spec["weight"], f"{place}.weight", dims + 2, f"a weight {layout}")
        if weight.shape[0] % groups:
            raise ModelError(
                f"expected groups dividing the {weight.shape[0]} input channels (axis 0 of the weight "
                f"{sized(weight.shape)}), as PyTorch requires, got {groups}",
                f"{place}.groups",
            )
        stride = read.pair(spec.get("stride"), dims, 1, f"{place}.stride")
        dilation = read.pair(spec.get("dilation"), dims, 1, f"{place}.dilation")
        padding = read.pair(spec.get("padding"), dims, 0, f"{place}.padding")
        output_padding = read.pair(spec.get("output_padding"), dims, 0, f"{place}.output_padding")
        if dims == 1:
            padding, output_padding = (0, padding[1]), (0, output_padding[1])
        slice(1, 2) if dims == 1 else slice(0, 2)
        for axis in (0, 1):
            if output_padding[axis] >= max(stride[axis], dilation[axis]):
                raise ModelError(
                    f"expected output_padding smaller than the stride or the dilation of its axis "
                    f"(stride {axes_words(stride, dims)}, dilation {axes_words(dilation, dims)}), "
                    "as PyTorch requires, "
                    f"got {axes_words(output_padding, dims)}",
                    f"{place}.output_padding",
                )
        return ConvTransposeLayer(
            weight=weight,
            bias=read.bias(spec.get("bias"), weight.shape[1] * groups, f"{place}.bias", "bias" in spec),
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            dilation=dilation,
            activation=spec.get("activation", "identity"),
            dims=dims,
            groups=groups,
            negative_slope=float(spec.get("negative_slope", activations.LEAKY_SLOPE)),
        )

    def to_document(self, layer: ConvTransposeLayer, dims: int) -> dict[str, Any]:
        """The conv_transpose layer object."""
        doc = weights_out(layer, "stride", "padding", "output_padding", "dilation", dims=dims)
        if layer.groups != 1:
            doc["groups"] = layer.groups
        doc["activation"] = layer.activation
        return slope_out(doc, layer)

    def check_shape(
        self, layer: ConvTransposeLayer, shape: Shape, place: str, source: str
    ) -> tuple[Shape, int, str, str]:
        """Channels against axis 0 of the weight; an output of at least one cell."""
        from ..conv_transpose import transposed_length
        from ..errors import Message, ModelError

        _, spatial, channels = spatial_input(layer, shape, source, place)
        dims = layer.dims
        if channels != layer.weight.shape[0]:
            layout = "(C_in, C_out / groups, K)" if dims == 1 else "(C_in, C_out / groups, kH, kW)"
            raise ModelError(
                f"expected a weight with {channels} input channel{'s' if channels != 1 else ''} "
                f"(axis 0 of {layout}) "
                f"to match {source}, got shape {sized(layer.weight.shape)}",
                f"{place}.weight",
            )
        kernel = layer.kernel_size
        out = tuple(
            transposed_length(
                spatial[a],
                kernel[a],
                layer.stride[a],
                layer.padding[a],
                layer.output_padding[a],
                layer.dilation[a],
            )
            for a in (0, 1)
        )
        slice(1, 2) if dims == 1 else slice(0, 2)
        if min(out) < 1:
            raise ModelError(
                f"expected padding that leaves an output: (n - 1)s - 2p + d(k - 1) + output_padding + 1 "
                f"is {axes_words(out, dims)} for the input of {axes_words(spatial, dims)} ({source})",
                f"{place}.padding",
            )
        c_out = layer.out_channels
        out_shape: Shape = (c_out, out[1]) if dims == 1 else (c_out, out[0], out[1])
        n_in, n_out = math.prod(shape), math.prod(out_shape)
        ph, pw = layer.padding
        n_full = c_out * (out[0] + 2 * ph) * (out[1] + 2 * pw)
        n_stamps = n_in * int(layer.weight.shape[1]) * kernel[0] * kernel[1]
        elements = 3 * n_in + 3 * n_full + 2 * n_stamps + 5 * n_out + 3 * layer.weight.size
        size = axes_words(out, dims)
        if c_out == 1:
            reason = Message("its {n} output channel of {size} and its stamps", n=c_out, size=size)
        else:
            reason = Message("its {n} output channels of {size} and its stamps", n=c_out, size=size)
        return out_shape, elements, "", reason

    # --- the layer list and the editor

    def summary(self, layer: ConvTransposeLayer, dims: int) -> tuple[str, str]:
        """``conv_transpose 3×3, 1→1 ch, identity`` and ``stride 2 · padding 1 · output_padding 1``."""
        kh, kw = layer.kernel_size
        size = str(kw) if dims == 1 else f"{kh}×{kw}"
        c_in, c_out = layer.weight.shape[0], layer.out_channels
        kind = (
            f"conv_transpose {size}, "
            + _("{c_in}→{c_out} ch").format(c_in=c_in, c_out=c_out)
            + f", {layer.activation}"
        )
        kind += ", " + _("no bias") if layer.bias is None else ""
        settings = [
            _("stride {value}").format(value=size_text(layer.stride, dims)),
            _("padding {value}").format(value=size_text(layer.padding, dims)),
            f"output_padding {size_text(layer.output_padding, dims)}",
            _("dilation {value}").format(value=size_text(layer.dilation, dims)),
        ]
        if layer.groups > 1:
            settings.append(_("groups {value}").format(value=layer.groups))
        return kind, " · ".join(settings)

    def new_layer(self, input_shape: Shape, dims: int) -> ConvTransposeLayer:
        """A 2x2 transposed conv with stride 2 (it doubles the size), one output channel, zero weight."""
        from ..errors import ModelError

        if len(input_shape) == 1:
            raise ModelError(
                "a conv_transpose layer needs an image input; it cannot follow a flatten or dense layer",
                "layers",
            )
        w = np.zeros((input_shape[0], 1, 2)) if dims == 1 else np.zeros((input_shape[0], 1, 2, 2))
        stride = (1, 2) if dims == 1 else (2, 2)
        return ConvTransposeLayer(frozen_array(w), frozen_array(np.zeros(1)), stride=stride, dims=dims)

    def fitted_weight_shape(self, layer: ConvTransposeLayer, input_shape: Shape) -> Shape | None:
        """The weight with as many rows (axis 0: input channels) as the input has channels."""
        w = layer.weight
        return (input_shape[0], *w.shape[1:])

    def settings(self, layer: ConvTransposeLayer, dims: int) -> list[tuple[str, str, str]]:
        """Kernel size, out channels, stride, padding, output padding, dilation, groups, activation."""
        rows = [
            ("kernel_size", N_("kernel size"), setting_text(layer.kernel_size, dims)),
            ("out_channels", N_("out channels"), str(layer.out_channels)),
            ("stride", N_("stride"), setting_text(layer.stride, dims)),
            ("padding", N_("padding"), setting_text(layer.padding, dims)),
            ("output_padding", N_("output padding"), setting_text(layer.output_padding, dims)),
            ("dilation", N_("dilation"), setting_text(layer.dilation, dims)),
            ("groups", N_("groups"), str(layer.groups)),
        ]
        return rows + activation_rows(layer)

    def with_setting(
        self, layer: ConvTransposeLayer, key: str, value: Any, dims: int, place: str, fit: Fit
    ) -> ConvTransposeLayer:
        """One of stride, padding, output_padding, dilation, groups, activation, negative_slope, ...

        ... kernel_size or out_channels. output_padding must stay below the stride or the dilation.
        """
        from ..errors import ModelError

        w = layer.weight
        shared = with_window_setting(layer, key, value, dims, place, fit)
        if shared is not None:
            return shared  # type: ignore[no-any-return]
        if key in ("stride", "dilation", "padding", "output_padding"):
            pair = parse_pair(value, dims, place, 0 if key.endswith("padding") else 1)
            changed: ConvTransposeLayer = dataclasses.replace(layer, **{key: pair})  # type: ignore[arg-type]
            for axis in (0, 1):
                if changed.output_padding[axis] >= max(changed.stride[axis], changed.dilation[axis]):
                    raise ModelError(
                        "expected output_padding smaller than the stride or the dilation of its axis "
                        "(as PyTorch requires)",
                        place,
                    )
            return changed
        if key == "groups":
            c_in, c_out = w.shape[0], layer.out_channels
            groups = groups_setting(value, c_in, c_out, place)
            shape = (c_in, c_out // groups, *w.shape[2:])
            return dataclasses.replace(layer, groups=groups, weight=frozen_array(fit(w, shape)))
        if key == "out_channels":
            c_out = parse_pair(value, 1, place, 1)[1]
            if c_out % layer.groups:
                raise ModelError(f"expected a multiple of groups ({layer.groups}), got {c_out}", place)
            bias = None if layer.bias is None else frozen_array(fit(layer.bias, (c_out,)))
            shape = (w.shape[0], c_out // layer.groups, *w.shape[2:])
            return dataclasses.replace(layer, weight=frozen_array(fit(w, shape)), bias=bias)
        raise ModelError(f"a conv_transpose layer has no setting {key!r}", place)

    # --- the scene

    def panels(self, trace: Any) -> list[PanelSpec]:
        """Forward: X, W, b, the stamps before the crop, Z (and A). Backward: X, W, dZ_full, dX, dW, db."""
        layer = trace.layer
        one_d = layer.dims == 1
        ph, pw = layer.padding
        cropped = bool(ph or pw)
        x_map = TileMap(shape_of(trace.x), one_d)
        w_map = TileMap(shape_of(trace.weight), one_d)
        z_map = TileMap(shape_of(trace.z), one_d)
        full_map = TileMap(tuple(int(s) for s in trace.full_shape), one_d)
        b_map = TileMap(shape_of(layer.bias)) if layer.bias is not None else None
        x_printed = Printed("X", 0, 0, _("one overlay per element"))
        specs = [
            PanelSpec(
                "input",
                "X  " + _("(input)"),
                x_map,
                0,
                0,
                x_printed,
                subtitle=joined(x_map.shape_text(), _("one overlay per element")),
            ),
            PanelSpec(
                "kernel",
                "W  " + _("(kernel)"),
                w_map,
                0,
                1,
                Printed("W", 0, 1, labels="c"),
                subtitle=w_map.shape_text(),
            ),
        ]
        activation = layer.activation
        if trace.pass_name == "forward":
            if b_map is not None:
                specs.append(PanelSpec("bias", "b  " + _("(bias)"), b_map, 0, 2, Printed("b", 0, 2)))
            if cropped:
                note = _("grey: padding {padding} crops it").format(padding=pw if one_d else (ph, pw))
                specs.append(
                    PanelSpec(
                        "z_full",
                        "Z_full  " + _("(stamps so far)"),
                        full_map,
                        1,
                        0,
                        Printed(_("stamps"), 1, 0, note, labels="f"),
                        (ph, pw),
                        joined(full_map.shape_text(), note),
                    )
                )
            z_title = "Z = " + (_("stamps") + " + b" if b_map is not None else "Σ " + _("stamps"))
            specs.append(
                PanelSpec(
                    "z",
                    z_title + ("  " + _("(cropped)") if cropped else ""),
                    z_map,
                    1,
                    1 if cropped else 0,
                    Printed("Z", 1, 1 if cropped else 0, labels="f"),
                    subtitle=z_map.shape_text(),
                )
            )
            if activation != "identity":
                col = 2 if cropped else 1
                specs.append(
                    PanelSpec(
                        "a", f"A = {activation}(Z)", z_map, 1, col, Printed(f"A = {activation}(Z)", 1, col)
                    )
                )
            return specs
        identity = activation == "identity"
        dz_title = "dZ" if identity else f"dZ = dA ⊙ {activation}'(Z)"
        if cropped:
            dz_title = dz_title.replace("dZ", "dZ_full", 1)
        note = _("grey: cropped cells, no gradient") if cropped else ""
        specs.append(
            PanelSpec(
                "dz",
                dz_title,
                full_map,
                0,
                2,
                Printed("dZ", 0, 2, note, labels="f"),
                (ph, pw),
                joined(full_map.shape_text(), note),
            )
        )
        specs.append(
            PanelSpec(
                "dx",
                "dX  " + _("(gathered)"),
                x_map,
                1,
                0,
                Printed("dX", 1, 2),
                subtitle=x_map.shape_text(),
            )
        )
        return specs + gradient_specs(w_map, b_map)

    def fill_panels(self, trace: Any, step: Any, out: StepPanels) -> None:
        """The overlay's input element, its W[c], and the output window it stamps or gathers from."""
        layer = trace.layer
        maps = out.maps
        ov = step.overlay
        element: list[Cell] = []
        kernel_row: list[Cell] = []
        full_window: list[Cell] = []
        cropped_window: list[Cell] = []
        c = -1
        if ov is not None:
            c = ov.channel
            element = [(c, *ov.position)]
            kh, kw = trace.weight.shape[2:]
            kernel_row = [
                maps["kernel"].cell((c, f, r, q))
                for f in range(trace.weight.shape[1])
                for r in range(kh)
                for q in range(kw)
            ]
            assert ov.channels is not None
            ph, pw = layer.padding
            _, oh, ow = trace.z.shape
            for f in ov.channels:
                for cell in window_cells(f, ov.rows, ov.cols):
                    full_window.append(cell)
                    if ph <= cell[1] < ph + oh and pw <= cell[2] < pw + ow:
                        cropped_window.append((f, cell[1] - ph, cell[2] - pw))
        state = step.state
        out.put("input", trace.x, window=element)
        out.put("kernel", trace.weight, focus=max(c, 0), window=kernel_row)
        if trace.pass_name == "forward":
            if layer.bias is not None:
                out.put(
                    "bias",
                    layer.bias,
                    window=[maps["bias"].cell((f,)) for f in (ov.channels or ())] if ov else [],
                )
            out.put("z_full", state.z_full, changed=full_window)
            out.put("z", state.z, changed=cropped_window)
            out.put("a", state.a, changed=cropped_window)
            return
        out.put("dz", state.dz_full, window=full_window)
        out.put("dx", state.dx, changed=element)
        out.put("dw", state.dw, changed=kernel_row)
        if layer.bias is not None:
            out.put("db", state.db)

    def caption(self, layer: Any) -> str:
        """``conv_transpose 2-D, stride 2×2, padding 1×1, output_padding 1×1``."""
        dims = layer.dims
        parts = []
        for name, pair, default in (
            ("stride", layer.stride, 1),
            ("padding", layer.padding, 0),
            ("output_padding", layer.output_padding, 0),
            ("dilation", layer.dilation, 1),
        ):
            value = pair[1] if dims == 1 else pair
            if (dims == 1 and value != default) or (dims == 2 and value != (default, default)):
                parts.append(f"{name} {pair_text(pair, dims)}")
        if layer.groups > 1:
            parts.append(f"groups {layer.groups}")
        if layer.activation != "identity":
            parts.append(layer.activation)
        return f"{layer.type} {dims}-D" + (f", {', '.join(parts)}" if parts else "")

    def trace_class(self, pass_name: str) -> TraceClass:
        """:class:`ConvTransposeForwardTrace` or :class:`ConvTransposeBackwardTrace`."""
        return ConvTransposeForwardTrace if pass_name == "forward" else ConvTransposeBackwardTrace

    def has_bias(self, layer: Any) -> bool:
        """Whether the layer has a bias term."""
        return layer.bias is not None

    def intro(self, trace: Any) -> list[str]:
        """Step 0: one overlay per input element; dZ from dA for the backward pass."""
        if trace.pass_name == "forward":
            if trace.bias is not None:
                text = _(
                    "{n} overlays: one per INPUT element, channel by channel, row by row; "
                    "each stamps value x kernel into the output, overlaps add up (Z starts at the bias)"
                )
            else:
                text = _(
                    "{n} overlays: one per INPUT element, channel by channel, row by row; "
                    "each stamps value x kernel into the output, overlaps add up (Z starts at zero)"
                )
            return [text.format(n=trace.n)]
        lines = super().intro(trace)
        lines[0] = _(
            "{n} overlays, one per input element: each gathers its dX from the dZ cells "
            "it stamped; dW starts at zero"
        ).format(n=trace.n)
        if trace.bias is not None:
            lines.append(
                _("db = sum(dZ) per channel, complete from the start (each output cell's delta once)")
            )
        return lines

    def explain(self, trace: Any, step: Any) -> list[str]:
        """``Z[...] += x * W`` forward (a stamp); ``dX = sum(W ⊙ dZ window)``, ``dW += ...`` backward."""
        return _forward_text(trace, step) if trace.pass_name == "forward" else _backward_text(trace, step)

    def links(self, trace: Any, role: str, index: tuple[int, ...]) -> links.CellLinks | None:
        """Which cells feed a cell of the pass (see :mod:`visualconv.engine.links`)."""
        return _links(trace, role, index)

    def role_shape(self, trace: Any, role: str) -> tuple[int, ...]:
        """Shapes in the trace's 2-D view (the weight is (C_in, C_out / groups, kH, kW))."""
        if role in ("bias", "db"):
            return (int(trace.z.shape[0]),)
        if role == "z_full" or (role == "dz" and trace.pass_name == "backward"):
            return tuple(int(s) for s in trace.full_shape)
        return super().role_shape(trace, role)

    # --- PyTorch

    def torch_modules(self, spec: dict[str, Any], dims: int) -> tuple[ModuleSpec, ...]:
        """``ConvTranspose1d``/``2d`` (output_padding, groups, dilation when set), then the activation."""
        params = torch_twin.params(spec)
        weight = params["weight"]
        groups = int(spec.get("groups", 1))
        kwargs = torch_twin.convolution_kwargs(spec, dims, weight)
        zero = torch_twin.axes(0, dims, 0)
        torch_twin.set_unless(
            kwargs, "output_padding", torch_twin.axes(spec.get("output_padding"), dims, 0), zero
        )
        torch_twin.set_unless(kwargs, "groups", groups, 1)
        torch_twin.set_unless(kwargs, "bias", "bias" in params, True)
        one = torch_twin.axes(1, dims, 1)
        torch_twin.set_unless(kwargs, "dilation", torch_twin.axes(spec.get("dilation"), dims, 1), one)
        module = ModuleSpec(
            f"ConvTranspose{dims}d", (int(weight.shape[0]), int(weight.shape[1]) * groups), kwargs, params
        )
        return (module, *torch_twin.activation(spec))


CONV_TRANSPOSE = ConvTransposeKind()

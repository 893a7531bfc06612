"""The conv kind: convolution (cross-correlation) with an optional bias and an activation.

Owns :class:`ConvLayer` (its shape rule, forward and backward through the kernels of
``engine/conv.py``), the traces of its two passes with their typed steps, and the seeds'
closed forms of its backward pass (:class:`ClosedForm`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ...i18n import N_, _
from .. import activations, links
from .. import conv as conv_kernels
from ..budget import axes_words, sized, spatial_words
from ..conv import conv2d_backward, conv2d_forward
from ..scene import (
    Cell,
    PanelSpec,
    Printed,
    StepPanels,
    TileMap,
    gradient_specs,
    joined,
    pair_text,
    put_outputs,
    shape_of,
    window_cells,
)
from ..windows import (
    FloatArray,
    IntPair,
    Sides,
    check_padding_mode,
    col2im,
    covering_windows,
    fold_padding,
    im2col,
    output_length,
    output_shape,
    pad_sides,
    padding_source,
    resolve_padding,
    shape4,
    sliding_windows,
    symmetric,
)
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
    Overlay,
    ProductOperands,
    Shape,
    Step,
    TraceClass,
    WeightedBackwardState,
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
from .text import (
    MAX_TERMS,
    fmt,
    fmt_array,
    index_text,
    input_name,
    overlay_text,
    products,
    squeeze_view,
    trace_dims,
    window_text,
)
from .torch_twin import ModuleSpec


@dataclass(frozen=True, slots=True)
class ConvLayer(WeightedLayer):
    """Convolution (cross-correlation) with an optional bias and an activation.

    Attributes
    ----------
    weight : ndarray of shape (C_out, C_in, kH, kW), or (C_out, C_in, K) when dims == 1
    bias : ndarray of shape (C_out,) or None
        None means no bias term at all (PyTorch's ``bias=False``).
    stride, padding, dilation : (int, int)
        Per (rows, cols); a 1-D layer has rows (1, 1, 0 for padding). ``padding`` is the
        border before the input (top, left); :attr:`sides` has all four.
    activation : str
    dims : {1, 2}
    groups : int
        Input channels and filters split into this many groups (weight (C_out, C_in/groups, ...)).
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
    same : bool
        The file's ``padding: "same"``: ``padding`` follows the kernel, d(k-1) per axis in
        all, the odd cell after the input (bottom/right).
    negative_slope : float
        leaky_relu's slope for z < 0.
    """

    weight: FloatArray = field(repr=False)
    bias: FloatArray | None = field(repr=False, default=None)
    stride: IntPair = (1, 1)
    padding: IntPair = (0, 0)
    dilation: IntPair = (1, 1)
    activation: str = "identity"
    dims: int = 2
    groups: int = 1
    padding_mode: str = "zeros"
    same: bool = False
    negative_slope: float = activations.LEAKY_SLOPE
    type: Literal["conv"] = "conv"

    def __post_init__(self) -> None:
        if self.same:
            top, _, left, _ = resolve_padding("same", self.kernel_size, (1, 1), self.dilation)
            object.__setattr__(self, "padding", (top, left))

    @property
    def kind(self) -> ConvKind:
        """The conv kind."""
        return CONV

    @property
    def sides(self) -> Sides:
        """The padding as (top, bottom, left, right)."""
        if self.same:
            return resolve_padding("same", self.kernel_size, (1, 1), self.dilation)
        (ph, pw) = self.padding
        return ph, ph, pw, pw

    @property
    def padding_argument(self) -> IntPair | str:
        """The padding as the kernels take it: "same" or the pair."""
        return "same" if self.same else self.padding

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
        c_in = self.weight.shape[1] * self.groups
        if len(input_shape) != self.dims + 1:
            raise ValueError(f"expects a {self.dims + 1}-axis input, got shape {input_shape}")
        if input_shape[0] != c_in:
            raise ValueError(f"expects {c_in} input channels, got {input_shape[0]}")
        spatial = (1, input_shape[1]) if self.dims == 1 else (input_shape[1], input_shape[2])
        top, bottom, left, right = self.sides
        check_padding_mode(self.padding_mode, self.sides, spatial)
        padded = (spatial[0] + top + bottom, spatial[1] + left + right)
        out = output_shape(padded, self.kernel_size, self.stride, (0, 0), self.dilation)
        if min(out) < 1:
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
            to_4d(x, self.dims),
            self.weight_4d,
            self.bias,
            self.stride,
            self.padding_argument,
            self.dilation,
            self.groups,
            self.padding_mode,
        )
        z = from_4d(z4, self.dims)
        return z, activations.activate(self.activation, z, self.negative_slope)

    def backward(self, grad_output: FloatArray, x: FloatArray, z: FloatArray, a: FloatArray) -> LayerGrads:
        """Gradients given dL/dA of shape (N, C_out, ...) and the forward values."""
        dz = grad_output * activations.derivative(self.activation, z, a, self.negative_slope)
        dx4, dw4, db = conv2d_backward(
            to_4d(dz, self.dims),
            to_4d(x, self.dims),
            self.weight_4d,
            self.stride,
            self.padding_argument,
            self.dilation,
            self.groups,
            self.padding_mode,
        )
        dw = dw4[:, :, 0, :] if self.dims == 1 else dw4
        return LayerGrads(from_4d(dx4, self.dims), dz, dw, None if self.bias is None else db)


# ----------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class ConvForwardOperands(ProductOperands):
    """What a forward overlay multiplies.

    Attributes
    ----------
    input_slice : ndarray of shape (C_in, kH, kW)
        The window of the padded input.
    kernel : ndarray of shape (C_in, kH, kW)
        The output channel's filter.
    products : ndarray of shape (C_in, kH, kW)
        ``input_slice * kernel``.
    """


@dataclass(frozen=True, slots=True)
class ConvForwardValues(AffineValues):
    """Scalars of a forward overlay: the bias (0 without one), z and a = f(z)."""


@dataclass(frozen=True, slots=True)
class ConvBackwardOperands(DeltaOperands):
    """What a backward overlay multiplies by its delta.

    Attributes
    ----------
    input_slice, kernel : ndarray of shape (C_in, kH, kW)
    dw_contribution : ndarray of shape (C_in, kH, kW)
        ``input_slice * delta``, added to dW of the overlay's channel.
    dx_contribution : ndarray of shape (C_in, kH, kW)
        ``kernel * delta``, added to the window of dA_prev (padded).
    """


@dataclass(frozen=True, slots=True)
class ConvBackwardValues(DeltaValues):
    """Scalars of a backward overlay: its delta dZ[f, i, j], which is also its share of db."""


@dataclass(frozen=True, slots=True)
class ConvBackwardState(WeightedBackwardState):
    """The backward pass after k overlays.

    Attributes
    ----------
    dz : ndarray of shape (C_out, oh, ow)
        dZ, all of it.
    done : ndarray of bool, shape (C_out, oh, ow)
    dw : ndarray of shape (C_out, C_in, kH, kW)
    db : ndarray of shape (C_out,)
    dx_padded : ndarray of shape (C_in, Hp, Wp)
        dA_prev in the padded view.
    dx : ndarray of shape (C_in, H, W)
    """


ConvForwardStep = Step[ConvForwardOperands, ConvForwardValues, ForwardState]
ConvBackwardStep = Step[ConvBackwardOperands, ConvBackwardValues, ConvBackwardState]


# ----------------------------------------------------------------------------- closed forms


@dataclass(frozen=True, slots=True)
class ClosedForm:
    """The seeds' closed forms of a conv layer's backward pass.

    Attributes
    ----------
    dz_dilated : ndarray of shape (C_out, s*(oh-1)+1, s*(ow-1)+1)
        dZ with stride-1 zeros inserted between its elements.
    dz_full_padded : ndarray
        ``dz_dilated`` padded by the dilated kernel's size minus one on every side.
    kernel_rotated : ndarray of shape (C_out, C_in, kH, kW)
        The kernel turned by 180 degrees.
    dw : ndarray of shape (C_out, C_in, kH, kW)
        Valid cross-correlation of the padded input with ``dz_dilated``.
    db : ndarray of shape (C_out,)
    dx_padded : ndarray of shape (C_in, Hp, Wp)
        Full convolution of dZ with the rotated kernel, summed over output channels.
    dx : ndarray of shape (C_in, H, W)
        ``dx_padded`` without the padding border (folded back by a padding mode).
    dx_transposed : ndarray of shape (C_in, H, W) or None
        The same dA_prev from a transposed convolution of dZ with the same kernel (the
        link to conv_transpose; set by the trace).
    transposed_settings : str
        That transposed convolution's settings as a reader writes them.
    """

    dz_dilated: FloatArray = field(repr=False)
    dz_full_padded: FloatArray = field(repr=False)
    kernel_rotated: FloatArray = field(repr=False)
    dw: FloatArray = field(repr=False)
    db: FloatArray = field(repr=False)
    dx_padded: FloatArray = field(repr=False)
    dx: FloatArray = field(repr=False)
    dx_transposed: FloatArray | None = field(repr=False, default=None)
    transposed_settings: str = ""


def expand_groups(w: FloatArray, groups: int) -> FloatArray:
    """A grouped weight (C_out, C_in/groups, kH, kW) over all C_in channels, zeros outside each group."""
    if groups == 1:
        return w
    c_out, c_group = w.shape[:2]
    per_group = c_out // groups
    full = np.zeros((c_out, c_group * groups, *w.shape[2:]))
    for g in range(groups):
        full[g * per_group : (g + 1) * per_group, g * c_group : (g + 1) * c_group] = w[
            g * per_group : (g + 1) * per_group
        ]
    return full


def gather_groups(full: FloatArray, groups: int) -> FloatArray:
    """The inverse of :func:`expand_groups`: each filter's own group of channels."""
    if groups == 1:
        return full
    c_out, c_in = full.shape[:2]
    per_group, c_group = c_out // groups, c_in // groups
    return np.concatenate(
        [full[g * per_group : (g + 1) * per_group, g * c_group : (g + 1) * c_group] for g in range(groups)]
    )


def conv_closed_form(
    x: FloatArray,
    w: FloatArray,
    dz: FloatArray,
    stride: IntPair,
    padding: IntPair,
    dilation: IntPair,
    sides: Sides | None = None,
    padding_mode: str = "zeros",
    groups: int = 1,
) -> ClosedForm:
    """Compute dW, db and dA_prev the way the seed documents write them.

    Parameters
    ----------
    x : ndarray of shape (C_in, H, W)
    w : ndarray of shape (C_out, C_in / groups, kH, kW)
    dz : ndarray of shape (C_out, oh, ow)
    stride, padding, dilation : (int, int)
    sides : (top, bottom, left, right), optional
        The padding by side (default: ``padding`` on both sides).
    padding_mode : str
        How the border is filled; dA_prev folds the border's gradient back by it.
    groups : int

    Returns
    -------
    ClosedForm
    """
    w_own = w
    w = expand_groups(w, groups)
    c_out, c_in, kh, kw = w.shape
    _, oh, ow = dz.shape
    sh, sw = stride
    dh, dw_ = dilation
    sides = (padding[0], padding[0], padding[1], padding[1]) if sides is None else sides
    x_padded = pad_sides(x, sides, padding_mode)
    hp, wp = x_padded.shape[1:]
    # dZ dilated with zeros for strides > 1.
    dz_dil = np.zeros((c_out, sh * (oh - 1) + 1, sw * (ow - 1) + 1))
    dz_dil[:, ::sh, ::sw] = dz
    # dW[f, c] = valid cross-correlation of x_pad[c] with dz_dil[f], read every dilation-th lag.
    lags = sliding_windows(x_padded[None], dz_dil.shape[1:], (1, 1), (1, 1))[0]
    # lags: (C_in, Hp - dh_ + 1, Wp - dw_ + 1, dh_, dw_) where dh_ x dw_ is dz_dil's size
    corr = np.einsum("cuvab,fab->fcuv", lags, dz_dil)
    dw = corr[:, :, : dh * (kh - 1) + 1 : dh, : dw_ * (kw - 1) + 1 : dw_]
    # dX = full convolution of dz_dil with the rotated, dilated kernel.
    k_eff = (dh * (kh - 1) + 1, dw_ * (kw - 1) + 1)
    w_dil = np.zeros((c_out, c_in, *k_eff))
    w_dil[:, :, ::dh, ::dw_] = w
    rotated_dil = w_dil[:, :, ::-1, ::-1]
    full = np.pad(dz_dil, ((0, 0), (k_eff[0] - 1, k_eff[0] - 1), (k_eff[1] - 1, k_eff[1] - 1)))
    win = sliding_windows(full[None], k_eff, (1, 1), (1, 1))[0]  # (C_out, ., ., k_eff...)
    dx_used = np.einsum("fuvab,fcab->cuv", win, rotated_dil)
    dx_padded = np.zeros((c_in, hp, wp))
    dx_padded[:, : dx_used.shape[1], : dx_used.shape[2]] = dx_used
    return ClosedForm(
        frozen(dz_dil),
        frozen(full),
        frozen(np.ascontiguousarray(w_own[:, :, ::-1, ::-1])),
        frozen(np.ascontiguousarray(gather_groups(dw, groups))),
        frozen(dz.sum(axis=(1, 2))),
        frozen(dx_padded),
        frozen(fold_padding(dx_padded, sides, padding_mode)),
    )


# ----------------------------------------------------------------------------- traces


class ConvTrace(LayerTrace):
    """What both passes of a conv layer share: the 2-D view, the padded input, the windows.

    Attributes
    ----------
    weight : ndarray of shape (C_out, C_in, kH, kW)
    bias : ndarray of shape (C_out,) or None
    x_padded : ndarray of shape (C_in, Hp, Wp)
    windows : ndarray of shape (C_in, oh, ow, kH, kW)
        Read-only view of the padded input's windows.
    """

    layer: ConvLayer

    def _setup(self) -> None:
        layer = self.layer
        self.weight = frozen(layer.weight_4d)
        # the weight over every input channel, zeros outside a filter's group: the stepped
        # sums below then need no groups of their own
        self._w_full = frozen(expand_groups(self.weight, layer.groups))
        self.bias = layer.bias
        self.sides = layer.sides
        self.padding_mode = layer.padding_mode
        self.x_padded = frozen(pad_sides(self.x, layer.sides, layer.padding_mode))
        self.windows = sliding_windows(self.x_padded[None], layer.kernel_size, layer.stride, layer.dilation)[
            0
        ]

    def overlay(self, k: int) -> Overlay:
        """The k-th overlay (1-based): output element (f, i, j) and its window in the padded input."""
        if not 1 <= k <= self.n:
            raise IndexError(f"overlay {k} is outside 1..{self.n}")
        c, i, j = (int(v) for v in np.unravel_index(k - 1, self.out_shape))
        layer = self.layer
        (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
        rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
        cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
        channels = self.input_channels(c)
        return Overlay(k, c, (i, j), rows, cols, None if layer.groups == 1 else channels)

    def input_channels(self, f: int) -> range:
        """The input channels filter ``f`` sees: those of its group (all of them without groups)."""
        c_group = int(self.weight.shape[1])
        group = f // (int(self.weight.shape[0]) // self.layer.groups)
        return range(group * c_group, (group + 1) * c_group)

    def output_channels(self, c: int) -> range:
        """The filters that see input channel ``c``: those of its group."""
        per_group = int(self.weight.shape[0]) // self.layer.groups
        if self.layer.groups == 1:
            return range(per_group)
        group = c // int(self.weight.shape[1])
        return range(group * per_group, (group + 1) * per_group)

    def affected_by_input(self, c: int, row: int, col: int) -> list[int]:
        """Overlays (1-based, ascending) of every output channel whose window covers (c, row, col)."""
        layer = self.layer
        oh, ow = self.out_shape[1:]
        taps = covering_windows(row, col, layer.kernel_size, layer.stride, layer.dilation, (oh, ow))
        positions = {i * ow + j for i, j, _, _ in taps}
        return sorted(f * oh * ow + p + 1 for f in self.output_channels(c) for p in positions)


class ConvForwardTrace(ConvTrace):
    """The forward pass of a conv layer: one overlay per output element."""

    def step(self, k: int) -> ConvForwardStep:
        """The state after k overlays, 0 <= k <= n."""
        return super().step(k)

    def _compute(self, k: int) -> ConvForwardStep:
        ov = self.overlay(k) if k else None
        operands = values = None
        if ov is not None:
            c, (i, j) = ov.channel, ov.position
            window = self.windows[self.input_channels(c), i, j]
            kernel = self.weight[c]
            operands = ConvForwardOperands(window, kernel, frozen(window * kernel))
            values = ConvForwardValues(
                0.0 if self.bias is None else float(self.bias[c]),
                float(self.z[c, i, j]),
                float(self.a[c, i, j]),
            )
        return Step("conv", "forward", k, self.n, ov, operands, values, self._forward_state(k))


class ConvBackwardTrace(ConvTrace):
    """The backward pass of a conv layer.

    Overlay (f, i, j) adds window * delta to dW[f] and W[f] * delta to the window of dA_prev.
    Steps are computed on demand: dW from a table of row prefixes, dA_prev from
    checkpoints of complete output channels (a jump costs a few channels' work), and a
    step next to a cached one from that step.
    """

    # Memory for the checkpoints of dA_prev (per trace): at most this many bytes. 128 MiB keeps
    # one after every output channel of a 256x256, 16 -> 16 layer: a jump then adds at most one
    # channel's deltas (median 1.5 ms instead of 2.1 ms with one every two channels).
    DX_CHECKPOINT_BYTES = 128 << 20

    def _setup(self) -> None:
        super()._setup()
        self._dw_rows: FloatArray | None = None
        self._dx_checkpoints: dict[int, FloatArray] = {}
        self._full_backward: tuple[FloatArray, FloatArray] | None = None

    def step(self, k: int) -> ConvBackwardStep:
        """The state after k overlays, 0 <= k <= n."""
        return super().step(k)

    def step_bytes(self) -> int:
        """A step's dA_prev, padded (and folded onto the input when the layer pads)."""
        return int(self.x_padded.nbytes) + (int(self.x.nbytes) if any(self.layer.sides) else 0)

    def prepare(self) -> Iterator[None]:
        """The kernel-gradient table, then the dA_prev checkpoints one by one: every jump is then quick.

        Without them the first jump into late output channels builds every checkpoint up to
        them (a large layer's first jumps took several times as long as the later ones).
        """
        self._conv_dw_rows()
        yield
        spacing = self._dx_checkpoint_spacing()
        if spacing:
            for channels in range(spacing, int(self._w_full.shape[0]), spacing):
                self._conv_dx_checkpoint(channels)
                yield

    def kept_blocks(self) -> int:
        """The cached steps and the dA_prev checkpoints (each the size of a step's dA_prev)."""
        spacing = self._dx_checkpoint_spacing()
        checkpoints = (int(self._w_full.shape[0]) - 1) // spacing if spacing else 0
        return super().kept_blocks() + checkpoints

    def _full(self) -> tuple[FloatArray, FloatArray]:
        """DW and db of the whole pass (cached)."""
        if self._full_backward is None:
            # every channel's complete dW is the last row of the row-prefix table
            assert self.grad_pre_activation is not None
            dw = self._conv_dw_rows()[:, -1].reshape(self._w_full.shape)
            self._full_backward = (dw, self.grad_pre_activation.sum(axis=(1, 2)))
        return self._full_backward

    def _conv_dw_rows(self) -> FloatArray:
        """The dW of each output channel's first q output rows, for q = 0..oh (cached).

        Returns
        -------
        ndarray of shape (C_out, oh + 1, C_in*kH*kW)
            ``table[f, q]`` is the sum of ``window * delta`` over the overlays of channel f
            in rows 0..q-1.
        """
        if self._dw_rows is None:
            layer = self.layer
            assert self.grad_pre_activation is not None
            c_out, (oh, ow) = self._w_full.shape[0], self.out_shape[1:]
            size = self._w_full[0].size
            table = np.zeros((c_out, oh + 1, size))
            (kh, _), (sh, _), (dh, _) = layer.kernel_size, layer.stride, layer.dilation
            rows_per_block = max(1, conv_kernels.BLOCK_ELEMENTS // (size * ow))
            for i0 in range(0, oh, rows_per_block):
                i1 = min(oh, i0 + rows_per_block)
                rows = slice(i0 * sh, (i1 - 1) * sh + dh * (kh - 1) + 1)
                cols = im2col(self.x_padded[None, :, rows], layer.kernel_size, layer.stride, layer.dilation)
                cols_by_row = cols[0].reshape(size, i1 - i0, ow).transpose(1, 2, 0)  # (rows, ow, size)
                dz_by_row = self.grad_pre_activation[:, i0:i1].transpose(1, 0, 2)  # (rows, C_out, ow)
                products = conv_kernels.batched_matmul_in_chunks(dz_by_row, cols_by_row)  # rows, C_out, size
                table[:, i0 + 1 : i1 + 1] = products.transpose(1, 0, 2)
            np.cumsum(table, axis=1, out=table)
            self._dw_rows = table
        return self._dw_rows

    def _conv_dx_padded(self, k: int) -> FloatArray:
        """dA_prev (padded) after the first k overlays, computed directly.

        A stored checkpoint holds the sum of the first output channels' complete
        contributions (see :meth:`_conv_dx_checkpoint`); on top of it go the channels
        after the checkpoint, the last of them only up to overlay k. So a jump costs a few
        channels' worth of work however many channels there are.
        """
        assert self.grad_pre_activation is not None
        c_out, (oh, ow) = self._w_full.shape[0], self.out_shape[1:]
        f_done, r = divmod(k, oh * ow)
        channels = min(c_out, f_done + (1 if r else 0))
        if channels == 0:
            return np.zeros(self.x_padded.shape)
        spacing = self._dx_checkpoint_spacing()
        first = (f_done // spacing) * spacing if spacing else 0
        if f_done == c_out and first not in self._dx_checkpoints:
            # The last step (the window's first show asks for it, for the pass's colour scale):
            # one convolution of every channel costs less than building the checkpoints to it
            # (each one more full-size output), which a jump builds when it needs them.
            first = 0
        base = self._conv_dx_checkpoint(first) if first else None
        if first == channels:
            assert base is not None
            return base.copy()
        return self._conv_dx_channels(first, channels, f_done, r, base)

    def _dx_checkpoint_spacing(self) -> int:
        """Output channels between two dA_prev checkpoints (0: none are kept)."""
        c_out = int(self._w_full.shape[0])
        count = min(c_out - 1, int(self.DX_CHECKPOINT_BYTES) // max(1, int(self.x_padded.nbytes)))
        if count < 1 or c_out < 3:
            return 0
        return -(-c_out // (count + 1))

    def _conv_dx_checkpoint(self, channels: int) -> FloatArray:
        """dA_prev (padded) of output channels 0..channels-1 complete (cached).

        ``channels`` is a multiple of the spacing; each checkpoint is built on the one before.
        """
        cached = self._dx_checkpoints.get(channels)
        if cached is not None:
            return cached
        spacing = self._dx_checkpoint_spacing()
        previous = channels - spacing
        base = self._conv_dx_checkpoint(previous) if previous > 0 else None
        checkpoint = self._conv_dx_channels(max(previous, 0), channels, channels, 0, base)
        checkpoint.flags.writeable = False
        self._dx_checkpoints[channels] = checkpoint
        return checkpoint

    def _conv_dx_channels(
        self, first: int, channels: int, f_done: int, r: int, base: FloatArray | None
    ) -> FloatArray:
        """``base`` (or zeros) plus the dA_prev contributions of output channels first..channels-1.

        Channels before ``f_done`` count completely, channel ``f_done`` (if below
        ``channels``) with its first ``r`` overlays only. The deltas go back through the
        kernel in blocks of output rows: one matrix product and one slab add per kernel
        offset for each block.

        Returns
        -------
        ndarray of shape (C_in, Hp, Wp)
            A new array.
        """
        layer = self.layer
        assert self.grad_pre_activation is not None
        if layer.stride == (1, 1):
            return self._conv_dx_channels_flat(first, channels, f_done, r, base)
        oh, ow = self.out_shape[1:]
        q = -(-r // ow)  # rows of channel f_done touched so far
        dx_padded = np.zeros(self.x_padded.shape) if base is None else base.copy()
        w_cols = self._w_full[first:channels].reshape(channels - first, -1).T  # (C_in*kH*kW, channels)
        (kh, _), (sh, _), (dh, _) = layer.kernel_size, layer.stride, layer.dilation
        rows_per_block = max(1, conv_kernels.BLOCK_ELEMENTS // (w_cols.shape[0] * ow))
        for i0 in range(0, oh, rows_per_block):
            i1 = min(oh, i0 + rows_per_block)
            used = channels if i0 < q else min(channels, f_done)  # no partial deltas below row q
            if used <= first:
                break
            dz = self.grad_pre_activation[first:used, i0:i1].reshape(used - first, -1)
            if used > f_done:
                dz = dz.copy()
                dz[f_done - first, max(0, r - i0 * ow) :] = 0.0  # overlays after k
            rows = slice(i0 * sh, (i1 - 1) * sh + dh * (kh - 1) + 1)
            target = dx_padded[None, :, rows]
            col2im(
                conv_kernels.matmul_in_chunks(w_cols[:, : used - first], dz),
                shape4(target),
                layer.kernel_size,
                layer.stride,
                (0, 0),
                layer.dilation,
                target,
            )
        return dx_padded

    def _conv_dx_channels_flat(
        self, first: int, channels: int, f_done: int, r: int, base: FloatArray | None
    ) -> FloatArray:
        """:meth:`_conv_dx_channels` for stride 1: a convolution of the deltas with the flipped kernel.

        With stride 1, overlay (i, j) of channel f adds ``w[f, c, a, b] * delta`` onto cell
        ``(i + a*dh, j + b*dw)``: summed over overlays that is the cross-correlation of the
        deltas, padded by the kernel's reach, with the kernel rotated by 180 degrees and
        its channel axes swapped (the seeds' ``dA_prev = full-conv(dZ, rot180(W))``). The
        engine's forward kernel computes it as one matrix product per block of rows,
        with the deltas, not the much larger window gradients, as the column matrix.
        """
        layer = self.layer
        assert self.grad_pre_activation is not None
        (kh, kw), (dh, dw) = layer.kernel_size, layer.dilation
        deltas = self.grad_pre_activation[first:channels]  # (channels - first, oh, ow)
        oh, ow = deltas.shape[1:]
        rows = oh
        if channels > f_done:
            touched = -(-r // ow)  # rows of channel f_done with overlays up to k
            if channels - first == 1 and 4 * touched <= 3 * oh:
                # Only channel f_done, up to overlay k: its rows after the k-th overlay's are zeros,
                # which add nothing to the cells below their reach (a jump's usual case). With
                # most rows touched the whole convolution costs less than adding its part to a copy.
                rows = touched
            deltas = deltas[:, :rows].copy()  # the convolution pads a copy of complete channels itself
            deltas[f_done - first].reshape(-1)[r:] = 0.0  # channel f_done: overlays up to k only
        rotated = self._w_full[first:channels, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C_in, F, kH, kW)
        reach = (dh * (kh - 1), dw * (kw - 1))
        batch = conv_kernels.conv2d_forward(deltas[None], rotated, None, 1, reach, (dh, dw))
        dx_padded: FloatArray
        if rows < oh:
            # the cells those rows reach (rows + reach[0] of the padded input), on the base
            reached = batch.shape[2]
            if base is None:
                dx_padded = np.zeros(self.x_padded.shape)
                dx_padded[:, :reached] = batch[0]
            else:  # each cell written once: the base's, plus the deltas' where they reach
                dx_padded = np.empty(self.x_padded.shape)
                np.add(base[:, :reached], batch[0], out=dx_padded[:, :reached])
                dx_padded[:, reached:] = base[:, reached:]
            return dx_padded
        dx_padded = batch[0]
        if base is not None:
            dx_padded += base
        return dx_padded

    def _conv_dx_cells(self, k: int, ov: Overlay) -> FloatArray:
        """dA_prev (padded) after k overlays, only on the cells of window ``ov``.

        Returns
        -------
        ndarray of shape (C_in, kH, kW)
            Each cell summed afresh over the overlays 1..k whose window covers it.
        """
        layer = self.layer
        assert self.grad_pre_activation is not None
        c_out, c_in, kh, kw = self._w_full.shape
        oh, ow = self.out_shape[1:]
        dh, dw = layer.dilation
        cells = np.zeros((c_in, kh, kw))
        for ai, y in enumerate(range(ov.rows.start, ov.rows.stop, dh)):
            for bi, x in enumerate(range(ov.cols.start, ov.cols.stop, dw)):
                for i, j, a, b in covering_windows(y, x, (kh, kw), layer.stride, layer.dilation, (oh, ow)):
                    # channels f whose overlay (f, i, j) is among the first k
                    count = min(c_out, max(0, -(-(k - i * ow - j) // (oh * ow))))
                    if count:
                        cells[:, ai, bi] += (
                            self._w_full[:count, :, a, b].T @ self.grad_pre_activation[:count, i, j]
                        )
        return cells

    def _compute(self, k: int) -> ConvBackwardStep:
        layer = self.layer
        assert self.grad_pre_activation is not None
        oh, ow = self.out_shape[1:]
        f_done, r = divmod(k, oh * ow)
        dw = np.zeros(self._w_full.shape)
        db = np.zeros(self._w_full.shape[0])
        if f_done:  # complete filters (step 0 and the first filter's steps need no table)
            full_dw, full_db = self._full()
            dw[:f_done] = full_dw[:f_done]
            db[:f_done] = full_db[:f_done]
        if r:
            q, rem = divmod(r, ow)
            partial = self._conv_dw_rows()[f_done, q].reshape(self._w_full.shape[1:])
            if rem:
                row_dz = self.grad_pre_activation[f_done, q, :rem]
                partial = partial + np.tensordot(row_dz, self.windows[:, q, :rem], axes=([0], [1]))
            dw[f_done] = partial
            db[f_done] = self.grad_pre_activation[f_done].reshape(-1)[:r].sum()
        ov = self.overlay(k) if k else None
        previous = self._cache.get(k - 1) if k else None
        following = self._cache.get(k + 1) if k < self.n else None
        if previous is not None and ov is not None:
            # Stepping forward by one: add this overlay's contribution only.
            dx_padded = previous.state.dx_padded.copy()
            delta = self.grad_pre_activation[ov.channel, ov.position[0], ov.position[1]]
            dx_padded[:, ov.rows, ov.cols] += self._w_full[ov.channel] * delta
        elif following is not None:
            # Stepping back by one: only the cells of overlay k+1's window differ; sum them afresh.
            dx_padded = following.state.dx_padded.copy()
            ov_next = self.overlay(k + 1)
            dx_padded[:, ov_next.rows, ov_next.cols] = self._conv_dx_cells(k, ov_next)
        else:
            dx_padded = self._conv_dx_padded(k)
        operands: ConvBackwardOperands | None = None
        values: ConvBackwardValues | None = None
        if ov is not None:
            f, (i, j) = ov.channel, ov.position
            delta = float(self.grad_pre_activation[f, i, j])
            window = self.windows[:, i, j]
            window = window[self.input_channels(f)]
            kernel = self.weight[f]
            operands = ConvBackwardOperands(window, kernel, frozen(window * delta), frozen(kernel * delta))
            values = ConvBackwardValues(delta, delta)
        state = ConvBackwardState(
            self.grad_pre_activation,
            self._done_mask(k),
            frozen(gather_groups(dw, layer.groups)),
            frozen(db),
            frozen(dx_padded),
            frozen(fold_padding(dx_padded, layer.sides, layer.padding_mode)),
        )
        return Step("conv", "backward", k, self.n, ov, operands, values, state)

    def closed_form(self) -> ClosedForm:
        """The seeds' closed forms for this conv layer's backward pass."""
        layer = self.layer
        assert self.grad_pre_activation is not None
        closed = conv_closed_form(
            self.x,
            self.weight,
            self.grad_pre_activation,
            layer.stride,
            layer.padding,
            layer.dilation,
            sides=layer.sides,
            padding_mode=layer.padding_mode,
            groups=layer.groups,
        )
        link = transposed_link(self)
        return dataclasses.replace(closed, dx_transposed=link.dx, transposed_settings=link.settings)


# ----------------------------------------------------------------------------- step text


def _folded_cells(trace: Any, window: list[Cell]) -> list[Cell]:
    """The input cells that window cells on the padding border were copied from (padding modes)."""
    layer = trace.layer
    top, bottom, left, right = layer.sides
    _, hp, wp = trace.x_padded.shape
    h, w = hp - top - bottom, wp - left - right
    cells: list[Cell] = []
    for c, r, q in window:
        if top <= r < top + h and left <= q < left + w:
            continue
        row = padding_source(r - top, h, layer.padding_mode)
        col = padding_source(q - left, w, layer.padding_mode)
        if row is not None and col is not None:
            cells.append((c, row, col))
    return cells


def _group_window_text(trace: Any, ov: Overlay) -> str:
    """The overlay's window, ``[:, 0:2, 1:3]``; a grouped filter's only over its channels, ``[2:4, ...]``."""
    text = window_text(trace, ov.rows, ov.cols)
    channels = ov.channels
    if channels is None or not text.startswith("[:"):
        return text
    spec = str(channels.start) if len(channels) == 1 else f"{channels.start}:{channels.stop}"
    return "[" + spec + text[2:]


def _conv_forward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    dims = trace_dims(trace)
    channels = trace.out_shape[0]
    idx = index_text(trace, ov.channel, ov.position, channels)
    x = step.operands.input_slice
    w = step.operands.kernel
    bias = step.values.bias
    z = step.values.z
    terms = squeeze_view(x, dims).ravel(), squeeze_view(w, dims).ravel()
    where = f"{input_name(trace)}{_group_window_text(trace, ov)}"
    if terms[0].size <= MAX_TERMS:
        body = " + ".join(f"{fmt(a)}*{fmt(b)}" for a, b in zip(*terms, strict=True))
    else:
        total = fmt(float(np.sum(step.operands.products)))
        body = _("sum({window} ⊙ {kernel}) [{n} products] = {total}").format(
            window=where, kernel=f"W[{ov.channel}]", n=terms[0].size, total=total
        )
    bias_text = f" + {fmt(bias)}" if trace.bias is not None else ""
    lines = [overlay_text(step.k, f"z{idx} = {body}{bias_text} = {fmt(z)}")]
    lines.append("  " + _("window {window}, kernel {kernel}").format(window=where, kernel=f"W[{ov.channel}]"))
    layer = trace.layer
    if layer.activation != "identity":
        lines.append(f"  a{idx} = {layer.activation}({fmt(z)}) = {fmt(step.values.a)}")
    return lines


def _conv_backward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    dims = trace_dims(trace)
    layer = trace.layer
    channels = trace.out_shape[0]
    idx = index_text(trace, ov.channel, ov.position, channels)
    delta = step.values.delta
    x = squeeze_view(step.operands.input_slice, dims)
    w = squeeze_view(step.operands.kernel, dims)
    dw_total = squeeze_view(step.state.dw[ov.channel] if channels > 1 else step.state.dw, dims)
    dx_total = squeeze_view(step.state.dx, dims)
    fname = f"dW[{ov.channel}]" if channels > 1 else "dW"
    where = _group_window_text(trace, ov)
    if x.size <= MAX_TERMS:
        lines = [overlay_text(step.k, f"{fname} += {products(x, delta)} -> {fmt_array(dw_total)}")]
    else:
        lines = [
            overlay_text(
                step.k, f"{fname} += {input_name(trace)}{where} * {fmt(delta)}  (dZ{idx} = {fmt(delta)})"
            )
        ]
    if layer.bias is not None:
        db = step.state.db
        lines.append(
            f"  db{f'[{ov.channel}]' if channels > 1 else ''} += {fmt(delta)} -> {fmt(float(db[ov.channel]))}"
        )
    target = "dA_pad" if any(layer.sides) else "dA_prev"
    if w.size <= MAX_TERMS:
        contribution = fmt_array(squeeze_view(step.operands.dx_contribution, dims))
        line = f"  {target}{where} += {products(w, delta)} = {contribution}"
    else:
        line = f"  {target}{where} += W[{ov.channel}] * {fmt(delta)}"
    if dx_total.size <= MAX_TERMS:
        line += f" -> dA_prev = {fmt_array(dx_total)}"
    lines.append(line)
    return lines


def _closed_form_lines(trace: Any, step: Any) -> list[str]:
    """After the last overlay: the stepped sums against the seeds' closed forms."""
    layer = trace.layer
    cf = trace.closed_form()
    dims = trace_dims(trace)

    def verdict(stepped: FloatArray, closed: FloatArray) -> str:
        diff = float(np.max(np.abs(np.asarray(stepped) - closed))) if closed.size else 0.0
        if diff <= 1e-12 * max(1.0, float(np.max(np.abs(closed)))):
            return "✓"
        return "✗ " + _("(differs by {difference})").format(difference=f"{diff:.3g}")

    def count(n: int) -> str:
        return _("({n} values)").format(n=n)

    dw_text = fmt_array(squeeze_view(cf.dw, dims)) if cf.dw.size <= MAX_TERMS else count(cf.dw.size)
    dx_text = fmt_array(squeeze_view(cf.dx, dims)) if cf.dx.size <= MAX_TERMS else count(cf.dx.size)
    stride = " " + _("(dZ dilated with zeros for the stride)") if max(layer.stride) > 1 else ""
    closed_form = _("closed form:")
    lines = [
        f"{closed_form} dW = A_prev ⋆ dZ " + _("(valid cross-correlation)") + f"{stride} = {dw_text} "
        f"{verdict(step.state.dw, cf.dw)}",
        f"{closed_form} dA_prev = dZ * rot180(W) " + _("(full convolution)") + f"{stride} = {dx_text} "
        f"{verdict(step.state.dx, cf.dx)}",
    ]
    if layer.bias is not None:
        lines.append(
            f"{closed_form} db = sum(dZ) = {fmt_array(cf.db) if cf.db.size <= MAX_TERMS else ''} "
            f"{verdict(step.state.db, cf.db)}"
        )
    link = transposed_link(trace)
    same = _("the same as a transposed convolution:")
    if link.direct:
        lines.append(
            f"{same} dA_prev = conv_transpose(dZ, W, {link.settings}) {verdict(step.state.dx, link.dx)}"
        )
    else:
        lines.append(
            f"{same} dA_pad = conv_transpose(dZ, W, {link.settings}) "
            f"{verdict(step.state.dx_padded, link.dx_padded)}"
        )
    lines += border_lines(trace)
    return lines


@dataclass(frozen=True, slots=True)
class TransposedLink:
    """A conv layer's dA_prev computed as a transposed convolution of dZ with the same kernel.

    Attributes
    ----------
    dx_padded : ndarray of shape (C_in, Hp, Wp)
        ``conv_transpose(dZ, W, stride, padding 0, output_padding, dilation, groups)``: the
        padded view of dA_prev (the padding border is then cropped, or folded back).
    dx : ndarray of shape (C_in, H, W)
    output_padding : (int, int)
        The cells the stride skipped at the bottom/right: (Hp - d(k-1) - 1) mod s per axis.
    settings : str
        The transposed convolution's settings as a reader writes them.
    direct : bool
        Zero padding, the same on both sides: conv_transpose with the conv's padding gives
        dA_prev itself (``settings`` include it). Otherwise it gives dA_pad, whose border is
        then cut or folded back by the padding mode.
    """

    dx_padded: FloatArray = field(repr=False)
    dx: FloatArray = field(repr=False)
    output_padding: IntPair
    settings: str
    direct: bool


def transposed_link(trace: Any) -> TransposedLink:
    """The link students look for: dA_prev of a conv layer is conv_transpose(dZ, W)."""
    from ..conv_transpose import conv_transpose2d_forward

    layer = trace.layer
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
    hp, wp = trace.x_padded.shape[1:]
    op = ((hp - dh * (kh - 1) - 1) % sh, (wp - dw * (kw - 1) - 1) % sw)
    dx_padded = conv_transpose2d_forward(
        trace.grad_pre_activation[None], trace.weight, None, layer.stride, 0, op, layer.dilation, layer.groups
    )[0]
    dims = trace_dims(trace)

    def pair(p: IntPair) -> str:
        return str(p[1]) if dims == 1 or p[0] == p[1] else f"({p[0]}, {p[1]})"

    top, bottom, left, right = layer.sides
    parts = [f"stride {pair(layer.stride)}"]
    if layer.padding_mode == "zeros" and top == bottom and left == right:
        if top or left:
            parts.append(f"padding {pair((top, left))}")
        settings_padding = True
    else:
        settings_padding = False
    if max(op) > 0:
        parts.append(f"output_padding {pair(op)}")
    if max(layer.dilation) > 1:
        parts.append(f"dilation {pair(layer.dilation)}")
    if layer.groups > 1:
        parts.append(f"groups {layer.groups}")
    if not settings_padding and any(layer.sides):
        folded = layer.padding_mode != "zeros"
        parts.append("then its border folded back" if folded else "then its border cut")
    dx = fold_padding(dx_padded, layer.sides, layer.padding_mode)
    return TransposedLink(frozen(dx_padded), frozen(dx), op, ", ".join(parts), settings_padding)


def border_lines(trace: Any, limit: int = 6) -> list[str]:
    """How the gradient on a copied border cell flows back (reflect, replicate, circular padding)."""
    layer = trace.layer
    if layer.padding_mode == "zeros" or not any(layer.sides):
        return []
    hp, wp = trace.x_padded.shape[1:]
    top, left = layer.sides[0], layer.sides[2]
    h, w = hp - sum(layer.sides[:2]), wp - sum(layer.sides[2:])
    dims = trace_dims(trace)
    moves = []
    for r in range(hp):
        for q in range(wp):
            if top <= r < top + h and left <= q < left + w:
                continue
            source_r = padding_source(r - top, h, layer.padding_mode)
            source_q = padding_source(q - left, w, layer.padding_mode)
            assert source_r is not None and source_q is not None
            here = f"[{q}]" if dims == 1 else f"[{r}, {q}]"
            there = f"[{source_q}]" if dims == 1 else f"[{source_r}, {source_q}]"
            moves.append(f"dA_pad{here} -> dA_prev{there}")
    more = ", … " + _("({n} border cells)").format(n=len(moves))
    shown = ", ".join(moves[:limit]) + (more if len(moves) > limit else "")
    return [
        _(
            "{mode} padding: each border cell holds a copy of an input cell, so its gradient "
            "is added onto that cell instead of being cut: {moves}"
        ).format(mode=layer.padding_mode, moves=shown)
    ]


# ----------------------------------------------------------------------------- links


def _conv_geometry(trace: Any, layer: ConvLayer) -> tuple[int, int, int, int, int, int, int, int]:
    kh, kw = trace.weight.shape[2:]
    _, oh, ow = trace.z.shape
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    return kh, kw, oh, ow, sh, sw, dh, dw


def _conv_links(
    trace: Any, layer: ConvLayer, role: str, index: links.Index, backward: bool
) -> links.CellLinks | None:
    kh, kw, oh, ow, sh, sw, dh, dw = _conv_geometry(trace, layer)
    c_in = trace.weight.shape[1]  # the channels one filter sees (its group's)
    x, w = trace.x_padded, trace.weight
    name = links.name_of(trace, role, index)
    if backward and role in ("dw", "dx", "db", "dz"):
        dz = trace.grad_pre_activation
        assert dz is not None
        if role == "dw":
            f, c, a, b = index
            c0 = trace.input_channels(f).start
            terms = [
                links.Term(
                    (float(x[c0 + c, i * sh + a * dh, j * sw + b * dw]), float(dz[f, i, j])),
                    (("input", (c0 + c, i * sh + a * dh, j * sw + b * dw)), ("dz", (f, i, j))),
                    f * oh * ow + i * ow + j + 1,
                )
                for i in range(oh)
                for j in range(ow)
            ]
            value = links.total(terms)
            return links.CellLinks(
                role,
                index,
                links.linked_cells(terms),
                tuple(terms),
                value,
                links.sum_text(name, terms, value),
            )
        if role == "dx":
            c, y, xq = index
            taps = covering_windows(y, xq, (kh, kw), (sh, sw), (dh, dw), (oh, ow))
            terms = [
                links.Term(
                    (float(w[f, c - trace.input_channels(f).start, a, b]), float(dz[f, i, j])),
                    (("kernel", (f, c - trace.input_channels(f).start, a, b)), ("dz", (f, i, j))),
                    f * oh * ow + i * ow + j + 1,
                )
                for f in trace.output_channels(c)
                for i, j, a, b in taps
            ]
            terms.sort(key=lambda t: t.overlay)
            value = links.total(terms)
            return links.CellLinks(
                role,
                index,
                links.linked_cells(terms),
                tuple(terms),
                value,
                links.sum_text(name, terms, value),
            )
        if role == "db":
            (f,) = index
            terms = [
                links.Term((float(dz[f, i, j]),), (("dz", (f, i, j)),), f * oh * ow + i * ow + j + 1)
                for i in range(oh)
                for j in range(ow)
            ]
            value = links.total(terms)
            return links.CellLinks(
                role,
                index,
                links.linked_cells(terms),
                tuple(terms),
                value,
                links.sum_text(name, terms, value),
            )
        # dz: the window it multiplies into dW and the cells of dA_prev it reaches.
        f, i, j = index
        window = [
            (c, i * sh + a * dh, j * sw + b * dw)
            for c in trace.input_channels(f)
            for a in range(kh)
            for b in range(kw)
        ]
        kernel: list[links.Index] = [(f, c, a, b) for c in range(c_in) for a in range(kh) for b in range(kw)]
        extra: dict[str, list[links.Index]] = {"input": list(window), "dx": list(window), "kernel": kernel}
        extra["dw"] = kernel
        if layer.bias is not None:
            extra["db"] = [(f,)]
        value = float(dz[f, i, j])
        text = f"{name} = {fmt(value)}"
        if trace.grad_output is not None and trace.derivative is not None and layer.activation != "identity":
            da, slope = float(trace.grad_output[f, i, j]), float(trace.derivative[f, i, j])
            text = (
                f"{name} = dA{links.index_text(trace, 'dz', index)} * {layer.activation}'(z) = "
                f"{fmt(da)}*{fmt(slope)} = {fmt(value)}"
            )
        first, last = links.name_of(trace, "input", window[0]), links.index_text(trace, "input", window[-1])
        where = _("window {window}").format(window=f"{first}…{last}")
        text += "; " + _("overlay {k} adds it to dW via {window} and W*dZ to dA_prev").format(
            k=f * oh * ow + i * ow + j + 1, window=where
        )
        return links.CellLinks(role, index, links.linked_cells([], extra), (), value, text)
    if not backward and role in ("z", "a"):
        f, i, j = index
        c0 = trace.input_channels(f).start
        terms = [
            links.Term(
                (float(x[c0 + c, i * sh + a * dh, j * sw + b * dw]), float(w[f, c, a, b])),
                (("input", (c0 + c, i * sh + a * dh, j * sw + b * dw)), ("kernel", (f, c, a, b))),
            )
            for c in range(c_in)
            for a in range(kh)
            for b in range(kw)
        ]
        bias = 0.0 if layer.bias is None else float(layer.bias[f])
        value = links.total(terms, 0.0) + bias
        extra = {"bias": [(f,)]} if layer.bias is not None else {}
        extra["z" if role == "a" else "a"] = [index]
        text = links.sum_text(
            links.name_of(trace, "z", index),
            terms,
            value,
            f" + {fmt(bias)}" if layer.bias is not None else "",
        )
        if layer.activation != "identity":
            text += f"; a = {layer.activation}(z) = {fmt(float(trace.a[f, i, j]))}"
        return links.CellLinks(role, index, links.linked_cells(terms, extra), tuple(terms), value, text)
    if role == "input" or role == "kernel":
        return _conv_uses(trace, layer, role, index, backward)
    if role == "bias" and layer.bias is not None:
        (f,) = index
        outputs: list[links.Index] = [(f, i, j) for i in range(oh) for j in range(ow)]
        value = float(layer.bias[f])
        text = f"{name} = {fmt(value)} " + _("is added to every output of channel {c}").format(c=f)
        return links.CellLinks(
            role, index, links.linked_cells([], {"dz" if backward else "z": outputs}), (), value, text
        )
    return None


def _conv_uses(
    trace: Any, layer: ConvLayer, role: str, index: links.Index, backward: bool
) -> links.CellLinks:
    """Where an input cell or a weight goes: the outputs it feeds (and, backward, the gradients)."""
    kh, kw, oh, ow, sh, sw, dh, dw = _conv_geometry(trace, layer)
    out_role = "dz" if backward else "z"
    outputs: list[links.Index] = []
    partners: list[links.Index] = []
    if role == "input":
        c, y, xq = index
        taps = covering_windows(y, xq, (kh, kw), (sh, sw), (dh, dw), (oh, ow))
        for f in trace.output_channels(c):
            for i, j, a, b in taps:
                outputs.append((f, i, j))
                partners.append((f, c - trace.input_channels(f).start, a, b))
        extra = {out_role: outputs, "kernel": partners}
        if backward:
            extra["dw"] = partners
        what = _("{n} output(s)").format(n=len(outputs))
    else:
        f, c, a, b = index
        c0 = trace.input_channels(f).start
        outputs = [(f, i, j) for i in range(oh) for j in range(ow)]
        partners = [(c0 + c, i * sh + a * dh, j * sw + b * dw) for i in range(oh) for j in range(ow)]
        extra = {out_role: outputs, "input": partners}
        if backward:
            extra["dx"] = partners  # W[f, c, a, b] * dZ[f, i, j] lands where it multiplied the input
            extra["dw"] = [index]
        what = _("every output of channel {c}").format(c=f)
    value = float((trace.x_padded if role == "input" else trace.weight)[index])
    text = f"{links.name_of(trace, role, index)} = {fmt(value)} " + _("is used by {what}").format(what=what)
    return links.CellLinks(role, index, links.linked_cells([], extra), (), value, text)


# ----------------------------------------------------------------------------- the kind


# The kind's object in the file format's JSON Schema ($defs/conv of visualconv/schema/model.schema.json).
SCHEMA: dict[str, Any] = {
    "description": "Cross-correlation as torch.nn.functional.conv1d / conv2d.",
    "type": "object",
    "required": ["type", "weight"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "conv"},
        "weight": {
            "$ref": "#/$defs/array",
            "description": "(C_out, C_in / groups, kH, kW) in 2-D, (C_out, C_in / "
            "groups, K) in 1-D; leading size-1 axes may be left "
            "out.",
        },
        "bias": {
            "$ref": "#/$defs/bias",
            "description": "One value per output channel (a bare number for one "
            "channel); default zeros; null for no bias term.",
        },
        "stride": {"$ref": "#/$defs/positive", "description": "Step between windows, default 1."},
        "padding": {
            "x-expected": 'a non-negative integer, a pair of them, "same" or "valid"',
            "oneOf": [{"$ref": "#/$defs/nonnegative"}, {"enum": ["same", "valid"]}],
            "description": 'Cells added on both sides, default 0; "valid" is 0; '
            '"same" keeps the input size (stride 1 only; an odd '
            "total d(k-1) puts the extra cell on the "
            "bottom/right).",
        },
        "dilation": {"$ref": "#/$defs/positive", "description": "Spacing of the kernel cells, default 1."},
        "activation": {"$ref": "#/$defs/activation", "description": "Default identity."},
        "groups": {"$ref": "#/$defs/groups"},
        "padding_mode": {
            "enum": ["zeros", "reflect", "replicate", "circular"],
            "description": "How the border is filled, as "
            "torch.nn.Conv2d(padding_mode=): zeros (default), "
            "reflect (mirror about the edge cell; padding < "
            "size), replicate (the edge cell), circular (wrap "
            "around; padding <= size).",
        },
        "negative_slope": {"$ref": "#/$defs/negative_slope"},
    },
}


class ConvKind(Kind):
    """Convolution layers: weights, an activation, windows over the padded input."""

    type = "conv"
    schema = SCHEMA
    has_weights = True
    has_activation = True
    windowed = True
    has_closed_form = True

    def trace_class(self, pass_name: str) -> TraceClass:
        """:class:`ConvForwardTrace` or :class:`ConvBackwardTrace`."""
        return ConvForwardTrace if pass_name == "forward" else ConvBackwardTrace

    # --- the file format

    def from_document(self, spec: dict[str, Any], dims: int, place: str, read: DocumentReader) -> ConvLayer:
        """weight, bias, stride, padding (int, pair, "same", "valid"), dilation, groups, padding_mode."""
        from ..errors import Message, ModelError

        groups = int(spec.get("groups", 1))
        per_group = "C_in / groups" if groups > 1 else "C_in"
        layout = f"(C_out, {per_group}, K)" if dims == 1 else f"(C_out, {per_group}, kH, kW)"
        weight = read.array(
            spec["weight"], f"{place}.weight", dims + 2, Message("a weight {layout}", layout=layout)
        )
        if weight.shape[0] % groups:
            raise ModelError(
                Message(
                    "expected groups dividing the {n} output channels (axis 0 of the weight {shape}), "
                    "as PyTorch requires, got {got}",
                    n=weight.shape[0],
                    shape=sized(weight.shape),
                    got=groups,
                ),
                f"{place}.groups",
            )
        stride = read.pair(spec.get("stride"), dims, 1, f"{place}.stride")
        dilation = read.pair(spec.get("dilation"), dims, 1, f"{place}.dilation")
        raw_padding = spec.get("padding")
        same = raw_padding == "same"
        if same and stride != (1, 1):
            raise ModelError(
                f'expected stride 1 with padding "same" (PyTorch refuses "same" for strided convolutions), '
                f"got stride {spatial_words(stride[1:] if dims == 1 else stride)}",
                f"{place}.padding",
            )
        if isinstance(raw_padding, str):
            padding: IntPair = (0, 0)
        else:
            padding = read.pair(raw_padding, dims, 0, f"{place}.padding")
            if dims == 1:
                padding = (0, padding[1])
        return ConvLayer(
            weight=weight,
            bias=read.bias(spec.get("bias"), weight.shape[0], f"{place}.bias", "bias" in spec),
            stride=stride,
            padding=padding,
            dilation=dilation,
            activation=spec.get("activation", "identity"),
            dims=dims,
            groups=groups,
            padding_mode=spec.get("padding_mode", "zeros"),
            same=same,
            negative_slope=float(spec.get("negative_slope", activations.LEAKY_SLOPE)),
        )

    def to_document(self, layer: ConvLayer, dims: int) -> dict[str, Any]:
        """The conv layer object; groups, padding_mode and negative_slope only when not the default."""
        doc = weights_out(layer, "stride", "padding", "dilation", dims=dims)
        if layer.same:
            doc["padding"] = "same"
        doc["activation"] = layer.activation
        if layer.groups != 1:
            doc["groups"] = layer.groups
        if layer.padding_mode != "zeros":
            doc["padding_mode"] = layer.padding_mode
        return slope_out(doc, layer)

    def check_shape(
        self, layer: ConvLayer, shape: Shape, place: str, source: str
    ) -> tuple[Shape, int, str, str]:
        """Channels (times groups), the padding mode's limits, the kernel against the padded input."""
        from ..errors import Message, ModelError

        _, spatial, channels = spatial_input(layer, shape, source, place)
        dims = layer.dims
        c_out, c_in = layer.weight.shape[0], layer.weight.shape[1] * layer.groups
        if channels != c_in:
            if layer.groups == 1:
                text = (
                    N_(
                        "expected a weight with {n} input channels (axis 1 of {axes}) to match {source}, "
                        "got shape {shape}"
                    )
                    if channels != 1
                    else N_(
                        "expected a weight with {n} input channel (axis 1 of {axes}) to match {source}, "
                        "got shape {shape}"
                    )
                )
                raise ModelError(
                    Message(
                        text,
                        n=channels,
                        axes="(C_out, C_in, K)" if dims == 1 else "(C_out, C_in, kH, kW)",
                        source=source,
                        shape=sized(layer.weight.shape),
                    ),
                    f"{place}.weight",
                )
            if channels % layer.groups:
                raise ModelError(
                    Message(
                        "expected groups dividing the {n} input channels of {source}, as PyTorch requires, "
                        "got {got}",
                        n=channels,
                        source=source,
                        got=layer.groups,
                    ),
                    f"{place}.groups",
                )
            raise ModelError(
                Message(
                    "expected a weight with {per_group} input channels per group (axis 1 of "
                    "(C_out, C_in / groups, ...): {n} channels of {source} in {groups} groups), "
                    "got shape {shape}",
                    per_group=channels // layer.groups,
                    n=channels,
                    source=source,
                    groups=layer.groups,
                    shape=sized(layer.weight.shape),
                ),
                f"{place}.weight",
            )
        top, bottom, left, right = layer.sides
        slice(1, 2) if dims == 1 else slice(0, 2)
        for before, after, size in ((top, bottom, spatial[0]), (left, right, spatial[1])):
            widest = max(before, after)
            if layer.padding_mode == "reflect" and widest >= size:
                raise ModelError(
                    f"expected reflect padding smaller than the input size {axes_words(spatial, dims)} "
                    f"({source}): a reflection stays inside the input, as PyTorch requires; "
                    f"got padding {widest}",
                    f"{place}.padding",
                )
            if layer.padding_mode == "circular" and widest > size:
                raise ModelError(
                    f"expected circular padding at most the input size {axes_words(spatial, dims)} "
                    f"({source}): "
                    f"it wraps around once, as PyTorch requires; got padding {widest}",
                    f"{place}.padding",
                )
        kernel = layer.kernel_size
        padded = (spatial[0] + top + bottom, spatial[1] + left + right)
        out = tuple(
            output_length(padded[a], kernel[a], layer.stride[a], 0, layer.dilation[a]) for a in (0, 1)
        )
        if min(out) < 1:
            span = tuple(layer.dilation[a] * (kernel[a] - 1) + 1 for a in (0, 1))
            fits_undilated = all(kernel[a] <= padded[a] for a in (0, 1))
            setting = "dilation" if fits_undilated and max(layer.dilation) > 1 else "weight"
            dilated = (
                Message(
                    " with dilation {dilation}, spanning {span}",
                    dilation=axes_words(layer.dilation, dims),
                    span=axes_words(span, dims),
                )
                if max(layer.dilation) > 1
                else ""
            )
            raise ModelError(
                Message(
                    "expected a kernel that fits the padded input of {padded}, "
                    "got a kernel of {kernel}{dilated}",
                    padded=axes_words(padded, dims),
                    kernel=axes_words(kernel, dims),
                    dilated=dilated,
                ),
                f"{place}.{setting}",
            )
        out_shape: Shape = (c_out, out[1]) if dims == 1 else (c_out, out[0], out[1])
        n_in, n_out = math.prod(shape), math.prod(out_shape)
        n_padded = channels * padded[0] * padded[1]
        n_cols = channels * kernel[0] * kernel[1] * out[0] * out[1]
        elements = 3 * n_in + 3 * n_padded + 2 * n_cols + 5 * n_out + 3 * layer.weight.size
        if layer.groups > 1:
            elements += 3 * c_out * c_in * kernel[0] * kernel[1]  # the trace's weight over all channels
        big_padding = max(layer.sides) > 0 and n_padded > 4 * n_in
        shown = padded[1:] if dims == 1 else padded
        out_words = spatial_words(out[1:] if dims == 1 else out)
        if big_padding:
            reason = Message(
                "padding {padding} makes a padded input of {channels} x {size}",
                padding=spatial_words(layer.padding[1:] if dims == 1 else layer.padding),
                channels=channels,
                size=spatial_words(shown),
            )
        elif c_out == 1:
            reason = Message(
                "its {n} output channel of {size} and its window copies", n=c_out, size=out_words
            )
        else:
            reason = Message(
                "its {n} output channels of {size} and its window copies", n=c_out, size=out_words
            )
        return out_shape, elements, "padding" if big_padding else "", reason

    def padded(self, layer: ConvLayer) -> bool:
        """Whether the input has a padding border (named A_pad in the texts)."""
        return any(layer.sides)

    def summary(self, layer: ConvLayer, dims: int) -> tuple[str, str]:
        """``conv 3×3, 1→2 ch, relu`` and ``stride 1 · padding 0 · dilation 1``."""
        kh, kw = layer.kernel_size
        size = str(kw) if dims == 1 else f"{kh}×{kw}"
        c_out, c_in = layer.weight.shape[0], layer.weight.shape[1] * layer.groups
        kind = (
            f"conv {size}, " + _("{c_in}→{c_out} ch").format(c_in=c_in, c_out=c_out) + f", {layer.activation}"
        )
        kind += ", " + _("no bias") if layer.bias is None else ""
        settings = [
            _("stride {value}").format(value=size_text(layer.stride, dims)),
            _("padding {value}").format(value="same" if layer.same else size_text(layer.padding, dims)),
            _("dilation {value}").format(value=size_text(layer.dilation, dims)),
        ]
        if layer.groups > 1:
            settings.append(_("groups {value}").format(value=layer.groups))
        if layer.padding_mode != "zeros":
            settings.append(layer.padding_mode)
        return kind, " · ".join(settings)

    def new_layer(self, input_shape: Shape, dims: int) -> ConvLayer:
        """A 1x1 conv with one output channel, zero weight and bias."""
        from ..errors import ModelError

        if len(input_shape) == 1:
            raise ModelError(
                "a conv layer needs an image input; it cannot follow a flatten or dense layer", "layers"
            )
        w = np.zeros((1, input_shape[0], 1)) if dims == 1 else np.zeros((1, input_shape[0], 1, 1))
        return ConvLayer(frozen_array(w), frozen_array(np.zeros(1)), dims=dims)

    def fitted_weight_shape(self, layer: ConvLayer, input_shape: Shape) -> Shape | None:
        """The weight with as many input channels as the input has."""
        w = layer.weight
        return (w.shape[0], max(1, input_shape[0] // layer.groups), *w.shape[2:])

    def settings(self, layer: ConvLayer, dims: int) -> list[tuple[str, str, str]]:
        """Kernel size, out channels, stride, padding, dilation, groups, padding mode, activation."""
        rows = [
            ("kernel_size", N_("kernel size"), setting_text(layer.kernel_size, dims)),
            ("out_channels", N_("out channels"), str(layer.weight.shape[0])),
            ("stride", N_("stride"), setting_text(layer.stride, dims)),
            ("padding", N_("padding"), "same" if layer.same else setting_text(layer.padding, dims)),
            ("dilation", N_("dilation"), setting_text(layer.dilation, dims)),
            ("groups", N_("groups"), str(layer.groups)),
            ("padding_mode", N_("padding mode"), layer.padding_mode),
        ]
        return rows + activation_rows(layer)

    def with_setting(
        self, layer: ConvLayer, key: str, value: Any, dims: int, place: str, fit: Fit
    ) -> ConvLayer:
        """One of stride, dilation, padding ("same"/"valid" too), groups, padding_mode, activation, ...

        ... negative_slope, kernel_size or out_channels.
        """
        from ..errors import ModelError
        from ..windows import PADDING_MODES

        w = layer.weight
        shared = with_window_setting(layer, key, value, dims, place, fit)
        if shared is not None:
            return shared  # type: ignore[no-any-return]
        if key == "stride":
            stride = parse_pair(value, dims, place, 1)
            if layer.same and stride != (1, 1):
                raise ModelError('expected stride 1 while padding is "same" (as PyTorch requires)', place)
            return dataclasses.replace(layer, stride=stride)
        if key == "dilation":
            return dataclasses.replace(layer, dilation=parse_pair(value, dims, place, 1))
        if key == "padding":
            text = value.strip() if isinstance(value, str) else value
            if text == "same":
                if layer.stride != (1, 1):
                    raise ModelError('expected stride 1 for padding "same" (as PyTorch requires)', place)
                return dataclasses.replace(layer, same=True)
            if text == "valid":
                return dataclasses.replace(layer, same=False, padding=(0, 0))
            return dataclasses.replace(layer, same=False, padding=parse_pair(value, dims, place, 0))
        if key == "groups":
            c_in, c_out = w.shape[1] * layer.groups, w.shape[0]
            groups = groups_setting(value, c_in, c_out, place)
            shape = (c_out, c_in // groups, *w.shape[2:])
            return dataclasses.replace(layer, groups=groups, weight=frozen_array(fit(w, shape)))
        if key == "padding_mode":
            if value not in PADDING_MODES:
                raise ModelError(f"expected one of {', '.join(PADDING_MODES)}, got {value!r}", place)
            return dataclasses.replace(layer, padding_mode=str(value))
        if key == "out_channels":
            c_out = parse_pair(value, 1, place, 1)[1]
            if c_out % layer.groups:
                raise ModelError(f"expected a multiple of groups ({layer.groups}), got {c_out}", place)
            bias = None if layer.bias is None else frozen_array(fit(layer.bias, (c_out,)))
            return dataclasses.replace(layer, weight=frozen_array(fit(w, (c_out, *w.shape[1:]))), bias=bias)
        raise ModelError(f"a conv layer has no setting {key!r}", place)

    def padding(self, layer: ConvLayer) -> IntPair:
        """The layer's zero padding (rows, cols)."""
        return layer.padding

    def explain(self, trace: Any, step: Any) -> list[str]:
        """``z[i, j] = 1*2 + ...`` forward; ``dW += ...``, ``db += ...``, ``dA_prev[...] += ...`` backward."""
        return _conv_forward(trace, step) if trace.pass_name == "forward" else _conv_backward(trace, step)

    def closed_form_lines(self, trace: Any, step: Any) -> list[str]:
        """dW, dA_prev and db of the stepped sums against the seeds' closed forms."""
        return _closed_form_lines(trace, step)

    def links(self, trace: Any, role: str, index: tuple[int, ...]) -> links.CellLinks | None:
        """Which cells feed a cell of the conv layer's pass (see :mod:`visualconv.engine.links`)."""
        return _conv_links(trace, trace.layer, role, index, trace.pass_name == "backward")

    def role_shape(self, trace: Any, role: str) -> tuple[int, ...]:
        """Shapes in the trace's 2-D view; the input and dA_prev in the padded view."""
        if role in ("input", "dx"):
            return tuple(trace.x_padded.shape)
        if role == "dx_folded":
            return tuple(trace.x.shape)
        return super().role_shape(trace, role)

    # --- the scene

    def panels(self, trace: Any) -> list[PanelSpec]:
        """Input (padded), kernel, bias and outputs; backward dZ, dA_prev (padded), dW, db."""
        layer = trace.layer
        one_d = layer.dims == 1
        # the border as (ph, pw), or by side when they differ (padding "same" with an even kernel)
        sides: tuple[int, ...] = symmetric(layer.sides) or layer.sides
        padded = any(sides)
        bias = layer.bias is not None
        mode = layer.padding_mode
        shown = "same" if layer.same else (layer.padding[1] if one_d else layer.padding)
        pad_note = (
            (
                _("padding {padding} shaded").format(padding=shown)
                if mode == "zeros"
                else _("padding {padding} {mode}").format(padding=shown, mode=mode)
            )
            if padded
            else ""
        )
        if layer.groups > 1:
            pad_note = joined(
                pad_note,
                _("groups {groups}: a filter sees {n} channel(s)").format(
                    groups=layer.groups, n=trace.weight.shape[1]
                ),
            )
        x_map = TileMap(shape_of(trace.x_padded), one_d)
        w_map = TileMap(shape_of(trace.weight), one_d)
        z_map = TileMap(shape_of(trace.z), one_d)
        b_map = TileMap(shape_of(layer.bias)) if bias else None
        x_title = "A_pad  " + _("(input, padded)") if padded else "A_prev  " + _("(input)")
        x_note = (
            (
                _("grey border = zero padding")
                if mode == "zeros"
                else _("grey border = {mode} copies of input cells").format(mode=mode)
            )
            if padded
            else ""
        )
        x_printed = Printed("A_pad" if padded else "A_prev", 0, 0, x_note, key="x")
        x_subtitle = joined(x_map.shape_text(), pad_note)
        w_printed = Printed("W", 0, 1, one_filter=True, key="w")
        specs = [
            PanelSpec("input", x_title, x_map, 0, 0, x_printed, sides, x_subtitle),
            PanelSpec("kernel", "W  " + _("(kernel)"), w_map, 0, 1, w_printed, subtitle=w_map.shape_text()),
        ]
        activation = layer.activation
        if trace.pass_name == "forward":
            if b_map is not None:
                specs.append(PanelSpec("bias", "b  " + _("(bias)"), b_map, 0, 2, Printed("b", 0, 2, key="b")))
            z_title = "Z = A_prev ⋆ W + b" if bias else "Z = A_prev ⋆ W"
            z_printed = Printed("Z", 1, 0, labels="f")
            specs.append(PanelSpec("z", z_title, z_map, 1, 0, z_printed, subtitle=z_map.shape_text()))
            if activation != "identity":
                a_printed = Printed(f"A = {activation}(Z)", 1, 1, labels="f")
                specs.append(PanelSpec("a", f"A = {activation}(Z)", z_map, 1, 1, a_printed))
            return specs
        identity = activation == "identity"
        dz_title = "dZ  " + _("(upstream delta)") if identity else f"dZ = dA ⊙ {activation}'(Z)"
        dz_printed = Printed("dZ" if identity else f"dZ = dA ⊙ {activation}'(Z)", 0, 2, labels="f")
        specs.append(PanelSpec("dz", dz_title, z_map, 0, 2, dz_printed, subtitle=z_map.shape_text()))
        dx_title = "dA_pad  " + _("(dA_prev + border)") if padded else "dA_prev"
        folds = mode != "zeros"
        dx_note = (
            (
                _("grey border folds back onto the cells it copied")
                if folds
                else _("grey border is cropped away")
            )
            if padded
            else ""
        )
        dx_printed = Printed("dA_pad" if padded else "dA_prev", 1, 2, dx_note)
        fate = _("border folds back") if folds else _("border cropped")
        dx_subtitle = joined(x_map.shape_text(), fate if padded else "")
        specs.append(PanelSpec("dx", dx_title, x_map, 1, 0, dx_printed, sides, dx_subtitle))
        specs += gradient_specs(w_map, b_map)
        if folds and padded:
            # where each copied border cell's gradient goes: onto the input cell it copied
            folded_map = TileMap(shape_of(trace.x), one_d)
            folded = Printed("dA_prev", 1, 3, _("the border's gradient added onto the cells it copied"))
            note = joined(folded_map.shape_text(), _("{mode} border added in").format(mode=mode))
            specs.append(
                PanelSpec(
                    "dx_folded",
                    "dA_prev  " + _("(folded)"),
                    folded_map,
                    1,
                    3,
                    folded,
                    subtitle=note,
                )
            )
        return specs

    def fill_panels(self, trace: Any, step: Any, out: StepPanels) -> None:
        """The window on the input and on dA_prev, the overlay's filter, its output element."""
        layer = trace.layer
        maps = out.maps
        ov = step.overlay
        f = ov.channel if ov is not None else -1
        # a grouped filter's window covers only its group's input channels
        seen = trace.input_channels(f) if ov is not None else range(0)
        window = [] if ov is None else [c for ci in seen for c in window_cells(ci, ov.rows, ov.cols)]
        kernel_row = (
            []
            if ov is None
            else [
                maps["kernel"].cell((f, ci, r, q))
                for ci in range(trace.weight.shape[1])
                for r in range(trace.weight.shape[2])
                for q in range(trace.weight.shape[3])
            ]
        )
        out.put("input", trace.x_padded, window=window)
        out.put("kernel", trace.weight, focus=max(f, 0), window=kernel_row)
        element = [] if ov is None else [(f, *ov.position)]
        if trace.pass_name == "forward":
            put_outputs(out, trace, step.k, layer.bias, None if ov is None else f, element)
            return
        state = step.state
        out.put("dz", state.dz, window=element)
        out.put("dx", state.dx_padded, changed=window)
        if "dx_folded" in maps:
            out.put("dx_folded", state.dx, changed=_folded_cells(trace, window))
        out.put("dw", state.dw, changed=kernel_row)
        if layer.bias is not None:
            out.put("db", state.db, changed=[] if ov is None else [maps["db"].cell((f,))])

    def caption(self, layer: Any) -> str:
        """``conv 2-D``, with the settings that differ from the defaults and the activation."""
        dims = layer.dims
        parts = []
        settings = (
            ("stride", layer.stride, 1),
            ("padding", layer.padding, 0),
            ("dilation", layer.dilation, 1),
        )
        for name, pair, default in settings:
            value = pair[1] if dims == 1 else pair
            if (dims == 1 and value != default) or (dims == 2 and value != (default, default)):
                parts.append(f"{name} {pair_text(pair, dims)}")
        extra = ", ".join(parts)
        if layer.activation != "identity":
            extra = ", ".join(p for p in (extra, layer.activation) if p)
        return f"{layer.type} {dims}-D" + (f", {extra}" if extra else "")

    # --- PyTorch

    def torch_modules(self, spec: dict[str, Any], dims: int) -> tuple[ModuleSpec, ...]:
        """``Conv1d``/``Conv2d`` (dilation, groups, padding_mode unless the default), then the activation."""
        params = torch_twin.params(spec)
        weight = params["weight"]
        groups = int(spec.get("groups", 1))
        kwargs = torch_twin.convolution_kwargs(spec, dims, weight)
        one = torch_twin.axes(1, dims, 1)
        torch_twin.set_unless(kwargs, "dilation", torch_twin.axes(spec.get("dilation"), dims, 1), one)
        torch_twin.set_unless(kwargs, "groups", groups, 1)
        torch_twin.set_unless(kwargs, "bias", "bias" in params, True)
        torch_twin.set_unless(kwargs, "padding_mode", spec.get("padding_mode", "zeros"), "zeros")
        module = ModuleSpec(
            f"Conv{dims}d", (int(weight.shape[1]) * groups, int(weight.shape[0])), kwargs, params
        )
        return (module, *torch_twin.activation(spec))


CONV = ConvKind()

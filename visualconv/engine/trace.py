"""Overlay traces: the debugger's view of one layer's forward or backward pass.

A pass is a sequence of overlays, one per output element, in row-major order over
(channel, i, j). Step k (1-based) is the state after the k-th overlay; step 0 is the
state before the first. Steps are computed on demand from the layer's values, never
stored as n copies, so any step of a large layer is cheap to reach.

Conv and pool layers are traced in their 2-D view: a 1-D layer has height 1.
Every array in a step is read-only.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from . import activations
from . import conv as conv_kernels
from .errors import ModelError
from .layers import ConvLayer, DenseLayer, FlattenLayer, Layer, PoolLayer
from .model import Model, batch_loss, forward
from .pool import max_positions, pool2d_backward
from .windows import FloatArray, IntPair, col2im, covering_windows, crop, im2col, pad, shape4, sliding_windows

PASSES = ("forward", "backward")


def _frozen(array: FloatArray) -> FloatArray:
    array = np.asarray(array)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True)
class Overlay:
    """Where one overlay sits.

    Attributes
    ----------
    index : int
        k, 1-based.
    channel : int
        Output channel (conv), channel (pool) or output unit (dense, flatten).
    position : (int, int)
        (i, j) of the output element in the 2-D view; (0, 0) for dense and flatten.
    rows, cols : slice
        The window in the padded input (conv, pool); ``slice(0, 0)`` otherwise.
    """

    index: int
    channel: int
    position: IntPair
    rows: slice
    cols: slice


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a pass: the overlay, its arithmetic and the accumulated state.

    Attributes
    ----------
    layer_type : {"conv", "pool", "flatten", "dense"}
    pass_name : {"forward", "backward"}
    k, n : int
        This step and the number of overlays.
    overlay : Overlay or None
        None at step 0.
    operands : dict of str to ndarray
        The arrays this overlay multiplies or routes, e.g. ``input_slice`` (C_in, kH, kW),
        ``kernel`` (C_in, kH, kW), ``products`` for a conv forward overlay; ``window`` and
        ``routed`` for a pool overlay.
    values : dict of str to float
        Scalars of the overlay: ``z``, ``a``, ``bias``, ``delta`` ...
    state : dict of str to ndarray
        The accumulated arrays after k overlays: forward ``z`` and ``done`` (bool mask of
        the outputs computed so far); backward ``dw``, ``db``, ``dx_padded``, ``dx``.
    """

    layer_type: str
    pass_name: str
    k: int
    n: int
    overlay: Overlay | None
    operands: dict[str, FloatArray] = field(repr=False)
    values: dict[str, float]
    state: dict[str, FloatArray] = field(repr=False)


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
        ``dx_padded`` without the padding border.
    """

    dz_dilated: FloatArray = field(repr=False)
    dz_full_padded: FloatArray = field(repr=False)
    kernel_rotated: FloatArray = field(repr=False)
    dw: FloatArray = field(repr=False)
    db: FloatArray = field(repr=False)
    dx_padded: FloatArray = field(repr=False)
    dx: FloatArray = field(repr=False)


def conv_closed_form(
    x: FloatArray, w: FloatArray, dz: FloatArray, stride: IntPair, padding: IntPair, dilation: IntPair
) -> ClosedForm:
    """Compute dW, db and dA_prev the way the seed documents write them.

    Parameters
    ----------
    x : ndarray of shape (C_in, H, W)
    w : ndarray of shape (C_out, C_in, kH, kW)
    dz : ndarray of shape (C_out, oh, ow)
    stride, padding, dilation : (int, int)

    Returns
    -------
    ClosedForm
    """
    c_out, c_in, kh, kw = w.shape
    _, oh, ow = dz.shape
    sh, sw = stride
    dh, dw_ = dilation
    x_padded = pad(x, padding)
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
    rotated = w[:, :, ::-1, ::-1]
    rotated_dil = w_dil[:, :, ::-1, ::-1]
    full = np.pad(dz_dil, ((0, 0), (k_eff[0] - 1, k_eff[0] - 1), (k_eff[1] - 1, k_eff[1] - 1)))
    win = sliding_windows(full[None], k_eff, (1, 1), (1, 1))[0]  # (C_out, ., ., k_eff...)
    dx_used = np.einsum("fuvab,fcab->cuv", win, rotated_dil)
    dx_padded = np.zeros((c_in, hp, wp))
    dx_padded[:, : dx_used.shape[1], : dx_used.shape[2]] = dx_used
    return ClosedForm(
        _frozen(dz_dil),
        _frozen(full),
        _frozen(np.ascontiguousarray(rotated)),
        _frozen(np.ascontiguousarray(dw)),
        _frozen(dz.sum(axis=(1, 2))),
        _frozen(dx_padded),
        _frozen(np.ascontiguousarray(crop(dx_padded, padding))),
    )


class LayerTrace:
    """The overlays of one layer's pass for the model's example.

    Parameters
    ----------
    layer : Layer
    pass_name : {"forward", "backward"}
    x : ndarray of the layer input's shape, without batch axis
    z : ndarray, the layer's pre-activation, without batch axis
    a : ndarray, the layer's output, without batch axis
    grad_output : ndarray or None
        dL/dA of this layer (required for the backward pass).
    """

    def __init__(
        self,
        layer: Layer,
        pass_name: str,
        x: FloatArray,
        z: FloatArray,
        a: FloatArray,
        grad_output: FloatArray | None = None,
    ) -> None:
        if pass_name not in PASSES:
            raise ValueError(f"pass must be 'forward' or 'backward', got {pass_name!r}")
        if pass_name == "backward" and grad_output is None:
            raise ValueError("the backward pass needs the gradient of the layer's output")
        self.layer = layer
        self.pass_name = pass_name
        self.layer_type = layer.type
        self._cache: OrderedDict[int, Step] = OrderedDict()
        self._dw_rows: FloatArray | None = None
        self._dx_checkpoints: dict[int, FloatArray] = {}
        if isinstance(layer, (ConvLayer, PoolLayer)):
            one_d = layer.dims == 1

            def as2d(t: FloatArray) -> FloatArray:
                return t[:, None, :] if one_d else t

            self.x = _frozen(as2d(x))
            self.z = _frozen(as2d(z))
            self.a = _frozen(as2d(a))
            self.grad_output = None if grad_output is None else _frozen(as2d(grad_output))
        else:
            self.x, self.z, self.a = _frozen(x), _frozen(z), _frozen(a)
            self.grad_output = None if grad_output is None else _frozen(grad_output)
        self.grad_pre_activation: FloatArray | None = None
        self.derivative: FloatArray | None = None
        if isinstance(layer, (ConvLayer, DenseLayer)):
            self.derivative = _frozen(activations.derivative(layer.activation, self.z, self.a))
            if self.grad_output is not None:
                self.grad_pre_activation = _frozen(self.grad_output * self.derivative)
        if isinstance(layer, ConvLayer):
            self.weight = _frozen(layer.weight_4d)
            self.bias = layer.bias
            self.x_padded = _frozen(pad(self.x, layer.padding))
            self.windows = sliding_windows(
                self.x_padded[None], layer.kernel_size, layer.stride, layer.dilation
            )[0]
        elif isinstance(layer, PoolLayer):
            self.x_padded = self.x
            self.windows = sliding_windows(self.x[None], layer.size, layer.stride, (1, 1))[0]
            self.argmax = max_positions(self.windows) if layer.mode == "max" else None
        self.out_shape = self.z.shape
        self.n = int(np.prod(self.out_shape))
        self._full_backward: dict[str, FloatArray] | None = None
        self._ramp: FloatArray | None = None  # n True then n False: done masks are views of it

    # ------------------------------------------------------------ geometry

    def overlay(self, k: int) -> Overlay:
        """The k-th overlay (1-based)."""
        if not 1 <= k <= self.n:
            raise IndexError(f"overlay {k} is outside 1..{self.n}")
        flat = k - 1
        layer = self.layer
        if isinstance(layer, (ConvLayer, PoolLayer)):
            c, i, j = (int(v) for v in np.unravel_index(flat, self.out_shape))
            if isinstance(layer, ConvLayer):
                (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
            else:
                (kh, kw), (sh, sw), (dh, dw) = layer.size, layer.stride, (1, 1)
            rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
            cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
            return Overlay(k, c, (i, j), rows, cols)
        return Overlay(k, flat, (0, 0), slice(0, 0), slice(0, 0))

    def affected_by_input(self, c: int, row: int, col: int) -> list[int]:
        """Overlays (1-based, ascending) whose window covers padded-input cell (c, row, col).

        Conv: the overlays of every output channel; pool: those of channel c; dense and
        flatten layers have no windows.
        """
        layer = self.layer
        if isinstance(layer, ConvLayer):
            (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
            channels = range(self.out_shape[0])
        elif isinstance(layer, PoolLayer):
            (kh, kw), (sh, sw), (dh, dw) = layer.size, layer.stride, (1, 1)
            channels = range(c, c + 1) if 0 <= c < self.out_shape[0] else range(0)
        else:
            return []
        oh, ow = self.out_shape[1:]
        taps = covering_windows(row, col, (kh, kw), (sh, sw), (dh, dw), (oh, ow))
        positions = {i * ow + j for i, j, _, _ in taps}
        return sorted(f * oh * ow + p + 1 for f in channels for p in positions)

    # ------------------------------------------------------------ steps

    def step(self, k: int) -> Step:
        """The state after k overlays, 0 <= k <= n."""
        if not 0 <= k <= self.n:
            raise IndexError(f"step {k} is outside 0..{self.n}")
        cached = self._cache.get(k)
        if cached is not None:
            self._cache.move_to_end(k)
            return cached
        step = self._compute(k)
        self._cache[k] = step
        while len(self._cache) > 8:
            self._cache.popitem(last=False)
        return step

    def steps(self) -> list[Step]:
        """All steps 0..n (for exports and tests of small layers)."""
        return [self.step(k) for k in range(self.n + 1)]

    def _done_mask(self, k: int) -> FloatArray:
        """The first k outputs in row-major order: a read-only view, no per-step array."""
        if self._ramp is None:
            ramp = np.zeros(2 * self.n, dtype=bool)
            ramp[: self.n] = True
            self._ramp = _frozen(ramp)
        return self._ramp[self.n - k : 2 * self.n - k].reshape(self.out_shape)

    def _compute(self, k: int) -> Step:
        layer = self.layer
        if self.pass_name == "forward":
            return self._forward_step(k)
        if isinstance(layer, ConvLayer):
            return self._conv_backward_step(k)
        if isinstance(layer, PoolLayer):
            return self._pool_backward_step(k)
        if isinstance(layer, DenseLayer):
            return self._dense_backward_step(k)
        return self._flatten_backward_step(k)

    def _forward_step(self, k: int) -> Step:
        layer = self.layer
        done = self._done_mask(k)
        state = {"z": self.z, "a": self.a, "done": done}
        operands: dict[str, FloatArray] = {}
        values: dict[str, float] = {}
        ov = self.overlay(k) if k else None
        if ov is not None:
            c, (i, j) = ov.channel, ov.position
            if isinstance(layer, ConvLayer):
                window = self.windows[:, i, j]
                kernel = self.weight[c]
                operands = {"input_slice": window, "kernel": kernel, "products": _frozen(window * kernel)}
                values = {
                    "bias": 0.0 if self.bias is None else float(self.bias[c]),
                    "z": float(self.z[c, i, j]),
                    "a": float(self.a[c, i, j]),
                }
            elif isinstance(layer, PoolLayer):
                window = self.windows[c, i, j]
                operands = {"window": window}
                values = {"y": float(self.z[c, i, j])}
                if self.argmax is not None:
                    values["argmax"] = float(self.argmax[c, i, j])
            elif isinstance(layer, DenseLayer):
                row = _frozen(layer.weight[c])
                operands = {"input_slice": self.x, "kernel": row, "products": _frozen(self.x * row)}
                values = {
                    "bias": 0.0 if layer.bias is None else float(layer.bias[c]),
                    "z": float(self.z[c]),
                    "a": float(self.a[c]),
                }
            else:
                values = {"y": float(self.z[c]), "source": float(c)}
        return Step(layer.type, "forward", k, self.n, ov, operands, values, state)

    # --- backward: conv

    def _full(self) -> dict[str, FloatArray]:
        """Closed-form gradients of the whole pass (cached)."""
        if self._full_backward is None:
            layer = self.layer
            assert self.grad_pre_activation is not None or isinstance(layer, (PoolLayer, FlattenLayer))
            if isinstance(layer, ConvLayer):
                # every channel's complete dW is the last row of the row-prefix table
                assert self.grad_pre_activation is not None
                dw = self._conv_dw_rows()[:, -1].reshape(self.weight.shape)
                self._full_backward = {"dw": dw, "db": self.grad_pre_activation.sum(axis=(1, 2))}
            elif isinstance(layer, PoolLayer):
                assert self.grad_output is not None
                dx = pool2d_backward(
                    self.grad_output[None], self.x[None], layer.mode, layer.size, layer.stride
                )
                self._full_backward = {"dx": dx[0]}
            else:
                self._full_backward = {}
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
            assert isinstance(layer, ConvLayer) and self.grad_pre_activation is not None
            c_out, (oh, ow) = self.weight.shape[0], self.out_shape[1:]
            size = self.weight[0].size
            table = np.zeros((c_out, oh + 1, size))
            (kh, _), (sh, _), (dh, _) = layer.kernel_size, layer.stride, layer.dilation
            rows_per_block = max(1, conv_kernels.BLOCK_ELEMENTS // (size * ow))
            for i0 in range(0, oh, rows_per_block):
                i1 = min(oh, i0 + rows_per_block)
                rows = slice(i0 * sh, (i1 - 1) * sh + dh * (kh - 1) + 1)
                cols = im2col(self.x_padded[None, :, rows], layer.kernel_size, layer.stride, layer.dilation)
                cols_by_row = cols[0].reshape(size, i1 - i0, ow).transpose(1, 2, 0)  # (rows, ow, size)
                dz_by_row = self.grad_pre_activation[:, i0:i1].transpose(1, 0, 2)  # (rows, C_out, ow)
                table[:, i0 + 1 : i1 + 1] = np.matmul(dz_by_row, cols_by_row).transpose(1, 0, 2)
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
        layer = self.layer
        assert isinstance(layer, ConvLayer) and self.grad_pre_activation is not None
        c_out, (oh, ow) = self.weight.shape[0], self.out_shape[1:]
        f_done, r = divmod(k, oh * ow)
        channels = min(c_out, f_done + (1 if r else 0))
        if channels == 0:
            return np.zeros(self.x_padded.shape)
        spacing = self._dx_checkpoint_spacing()
        first = (f_done // spacing) * spacing if spacing else 0
        base = self._conv_dx_checkpoint(first) if first else None
        if first == channels:
            assert base is not None
            return base.copy()
        return self._conv_dx_channels(first, channels, f_done, r, base)

    # Memory for the checkpoints of dA_prev (per trace): at most this many bytes.
    DX_CHECKPOINT_BYTES = 64 << 20

    def _dx_checkpoint_spacing(self) -> int:
        """Output channels between two dA_prev checkpoints (0: none are kept)."""
        c_out = int(self.weight.shape[0])
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
        assert isinstance(layer, ConvLayer) and self.grad_pre_activation is not None
        if layer.stride == (1, 1):
            return self._conv_dx_channels_flat(first, channels, f_done, r, base)
        oh, ow = self.out_shape[1:]
        q = -(-r // ow)  # rows of channel f_done touched so far
        dx_padded = np.zeros(self.x_padded.shape) if base is None else base.copy()
        w_cols = self.weight[first:channels].reshape(channels - first, -1).T  # (C_in*kH*kW, channels)
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
        assert isinstance(layer, ConvLayer) and self.grad_pre_activation is not None
        (kh, kw), (dh, dw) = layer.kernel_size, layer.dilation
        deltas = self.grad_pre_activation[first:channels].copy()  # (channels - first, oh, ow)
        if channels > f_done:
            deltas[f_done - first].reshape(-1)[r:] = 0.0  # channel f_done: overlays up to k only
        rotated = self.weight[first:channels, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C_in, F, kH, kW)
        reach = (dh * (kh - 1), dw * (kw - 1))
        batch = conv_kernels.conv2d_forward(deltas[None], rotated, None, 1, reach, (dh, dw))
        dx_padded: FloatArray = batch[0]
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
        assert isinstance(layer, ConvLayer) and self.grad_pre_activation is not None
        c_out, c_in, kh, kw = self.weight.shape
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
                            self.weight[:count, :, a, b].T @ self.grad_pre_activation[:count, i, j]
                        )
        return cells

    def _conv_backward_step(self, k: int) -> Step:
        layer = self.layer
        assert isinstance(layer, ConvLayer) and self.grad_pre_activation is not None
        oh, ow = self.out_shape[1:]
        f_done, r = divmod(k, oh * ow)
        full = self._full()
        dw = np.zeros(self.weight.shape)
        db = np.zeros(self.weight.shape[0])
        dw[:f_done] = full["dw"][:f_done]
        db[:f_done] = full["db"][:f_done]
        if r:
            q, rem = divmod(r, ow)
            partial = self._conv_dw_rows()[f_done, q].reshape(self.weight.shape[1:])
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
            dx_padded = previous.state["dx_padded"].copy()
            dx_padded[:, ov.rows, ov.cols] += (
                self.weight[ov.channel] * self.grad_pre_activation[ov.channel, ov.position[0], ov.position[1]]
            )
        elif following is not None:
            # Stepping back by one: only the cells of overlay k+1's window differ; sum them afresh.
            dx_padded = following.state["dx_padded"].copy()
            ov_next = self.overlay(k + 1)
            dx_padded[:, ov_next.rows, ov_next.cols] = self._conv_dx_cells(k, ov_next)
        else:
            dx_padded = self._conv_dx_padded(k)
        operands: dict[str, FloatArray] = {}
        values: dict[str, float] = {}
        if ov is not None:
            f, (i, j) = ov.channel, ov.position
            delta = float(self.grad_pre_activation[f, i, j])
            window = self.windows[:, i, j]
            kernel = self.weight[f]
            operands = {
                "input_slice": window,
                "kernel": kernel,
                "dw_contribution": _frozen(window * delta),
                "dx_contribution": _frozen(kernel * delta),
            }
            values = {"delta": delta, "db_contribution": delta}
        state = {
            "dz": self.grad_pre_activation,
            "done": self._done_mask(k),
            "dw": _frozen(dw),
            "db": _frozen(db),
            "dx_padded": _frozen(dx_padded),
            "dx": _frozen(crop(dx_padded, layer.padding)),
        }
        return Step("conv", "backward", k, self.n, ov, operands, values, state)

    def closed_form(self) -> ClosedForm:
        """The seeds' closed forms for this conv layer's backward pass."""
        layer = self.layer
        if not isinstance(layer, ConvLayer) or self.grad_pre_activation is None:
            raise ValueError("closed forms exist for the backward pass of a conv layer")
        return conv_closed_form(
            self.x, self.weight, self.grad_pre_activation, layer.stride, layer.padding, layer.dilation
        )

    # --- backward: pool, dense, flatten

    def _pool_backward_step(self, k: int) -> Step:
        layer = self.layer
        assert isinstance(layer, PoolLayer) and self.grad_output is not None
        c_done, r = divmod(k, self.out_shape[1] * self.out_shape[2])
        dx = np.zeros(self.x.shape)
        dx[:c_done] = self._full()["dx"][:c_done]
        if r:
            dy = np.zeros(self.out_shape[1:])
            dy.reshape(-1)[:r] = self.grad_output[c_done].reshape(-1)[:r]
            dx[c_done] = pool2d_backward(
                dy[None, None], self.x[None, c_done : c_done + 1], layer.mode, layer.size, layer.stride
            )[0, 0]
        operands: dict[str, FloatArray] = {}
        values: dict[str, float] = {}
        ov = self.overlay(k) if k else None
        if ov is not None:
            c, (i, j) = ov.channel, ov.position
            delta = float(self.grad_output[c, i, j])
            window = self.windows[c, i, j]
            routed = np.zeros(window.shape)
            if self.argmax is not None:
                routed.reshape(-1)[int(self.argmax[c, i, j])] = delta
                values["argmax"] = float(self.argmax[c, i, j])
            else:
                routed[:] = delta / window.size
            operands = {"window": window, "routed": _frozen(routed)}
            values["delta"] = delta
        state = {
            "dy": self.grad_output,
            "done": self._done_mask(k),
            "dx_padded": _frozen(dx),
            "dx": _frozen(dx),
        }
        return Step("pool", "backward", k, self.n, ov, operands, values, state)

    def _dense_backward_step(self, k: int) -> Step:
        layer = self.layer
        assert isinstance(layer, DenseLayer) and self.grad_pre_activation is not None
        dz = self.grad_pre_activation[:k]
        dw = np.zeros(layer.weight.shape)
        dw[:k] = np.outer(dz, self.x)
        db = np.zeros(layer.weight.shape[0])
        db[:k] = dz
        dx = dz @ layer.weight[:k]
        operands: dict[str, FloatArray] = {}
        values: dict[str, float] = {}
        ov = self.overlay(k) if k else None
        if ov is not None:
            delta = float(self.grad_pre_activation[ov.channel])
            kernel = _frozen(layer.weight[ov.channel])
            operands = {
                "input_slice": self.x,
                "kernel": kernel,
                "dw_contribution": _frozen(self.x * delta),
                "dx_contribution": _frozen(kernel * delta),
            }
            values = {"delta": delta, "db_contribution": delta}
        state = {
            "dz": self.grad_pre_activation,
            "done": self._done_mask(k),
            "dw": _frozen(dw),
            "db": _frozen(db),
            "dx_padded": _frozen(dx),
            "dx": _frozen(dx),
        }
        return Step("dense", "backward", k, self.n, ov, operands, values, state)

    def _flatten_backward_step(self, k: int) -> Step:
        assert self.grad_output is not None
        flat = np.zeros(self.x.size)
        flat[:k] = self.grad_output[:k]
        ov = self.overlay(k) if k else None
        values = (
            {} if ov is None else {"delta": float(self.grad_output[ov.channel]), "source": float(ov.channel)}
        )
        dx = flat.reshape(self.x.shape)
        state = {
            "dy": self.grad_output,
            "done": self._done_mask(k),
            "dx_padded": _frozen(dx),
            "dx": _frozen(dx),
        }
        return Step("flatten", "backward", k, self.n, ov, {}, values, state)


def trace_layer(model: Model, index: int, pass_name: str) -> LayerTrace:
    """The overlay trace of layer ``index`` of ``model`` for the given pass.

    Runs the model's forward pass and, for a backward trace, the backward pass from
    the last layer down to layer ``index + 1`` only (what the trace needs).

    Raises
    ------
    ValueError
        For a backward pass of a model that has no upstream or target.
    """
    if not 0 <= index < len(model.layers):
        raise IndexError(f"layer {index} is outside 0..{len(model.layers) - 1}")
    model.shapes()  # raises a placed ModelError on a mismatch
    records = forward(model.layers, model.input[None])
    grad = _grad_last(model, records[-1].output)
    grad_output = None
    if pass_name == "backward":
        if grad is None:
            raise ValueError(
                "the model has no 'upstream' and no 'target' with 'loss': there is no backward pass"
            )
        for layer, record in zip(model.layers[:index:-1], records[:index:-1], strict=True):
            grad = layer.backward(grad, record.input, record.pre_activation, record.output).grad_input
        grad_output = grad[0]
    record = records[index]
    return LayerTrace(
        model.layers[index],
        pass_name,
        record.input[0],
        record.pre_activation[0],
        record.output[0],
        grad_output,
    )


def _grad_last(model: Model, output: FloatArray) -> FloatArray | None:
    """dL/d(last output) of shape (1, ...) as :func:`.model.run` starts it, or None.

    Raises
    ------
    ModelError
        When ``upstream`` or ``target`` does not have the output's shape.
    """
    if model.upstream is not None:
        grad_last = np.asarray(model.upstream, dtype=np.float64)[None]
    elif model.target is not None and model.loss is not None:
        grad_last = batch_loss(output, [model.target], model.loss)[1]
    else:
        return None
    if grad_last.shape != output.shape:
        place = "upstream" if model.upstream is not None else "target"
        raise ModelError(f"expected shape {output.shape[1:]}, got {grad_last.shape[1:]}", place)
    return grad_last


def unflatten_position(shape: tuple[int, ...], flat: int) -> tuple[int, ...]:
    """Row-major multi-index of ``flat`` in ``shape``."""
    return tuple(int(v) for v in np.unravel_index(flat, shape))

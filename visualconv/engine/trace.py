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
from .conv import conv2d_backward
from .layers import ConvLayer, DenseLayer, FlattenLayer, Layer, PoolLayer
from .model import Model, run
from .pool import max_positions, pool2d_backward
from .windows import FloatArray, IntPair, crop, pad, scatter_windows, sliding_windows

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
        self._prefix: OrderedDict[int, FloatArray] = OrderedDict()
        if isinstance(layer, (ConvLayer, PoolLayer)):
            as2d = (lambda t: t[:, None, :]) if layer.dims == 1 else (lambda t: t)
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
            self.windows = sliding_windows(self.x_padded[None], layer.kernel_size, layer.stride, layer.dilation)[0]
        elif isinstance(layer, PoolLayer):
            self.x_padded = self.x
            self.windows = sliding_windows(self.x[None], layer.size, layer.stride, (1, 1))[0]
            self.argmax = max_positions(self.windows) if layer.mode == "max" else None
        self.out_shape = self.z.shape
        self.n = int(np.prod(self.out_shape))
        self._full_backward: dict[str, FloatArray] | None = None

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
        """Overlays (1-based) whose window covers padded-input cell (c, row, col)."""
        hits = []
        for k in range(1, self.n + 1):
            ov = self.overlay(k)
            if isinstance(self.layer, ConvLayer) or ov.channel == c:
                r = range(ov.rows.start, ov.rows.stop, ov.rows.step or 1)
                q = range(ov.cols.start, ov.cols.stop, ov.cols.step or 1)
                if row in r and col in q:
                    hits.append(k)
        return hits

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
        mask = np.zeros(self.n, dtype=bool)
        mask[:k] = True
        return _frozen(mask.reshape(self.out_shape))

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
                assert self.grad_pre_activation is not None
                dx, dw, db = conv2d_backward(
                    self.grad_pre_activation[None], self.x[None], self.weight, layer.stride, layer.padding, layer.dilation
                )
                self._full_backward = {"dw": dw, "db": db}
            elif isinstance(layer, PoolLayer):
                assert self.grad_output is not None
                dx = pool2d_backward(self.grad_output[None], self.x[None], layer.mode, layer.size, layer.stride)
                self._full_backward = {"dx": dx[0]}
            else:
                self._full_backward = {}
        return self._full_backward

    def _conv_channel_dx(self, f: int, positions: int) -> FloatArray:
        """dA_prev (padded) from the first ``positions`` overlays of output channel f."""
        layer = self.layer
        assert isinstance(layer, ConvLayer) and self.grad_pre_activation is not None
        oh, ow = self.out_shape[1:]
        rows_needed = -(-positions // ow)
        dz = np.zeros((rows_needed, ow))
        dz.reshape(-1)[:positions] = self.grad_pre_activation[f].reshape(-1)[:positions]
        # window grads of the rows touched so far: (C_in, rows, ow, kH, kW)
        grads = dz[None, :, :, None, None] * self.weight[f][:, None, None, :, :]
        return scatter_windows(grads[None], (1, *self.x_padded.shape), layer.stride, layer.dilation)[0]

    def _conv_prefix_dx(self, f: int) -> FloatArray:
        """dA_prev (padded) from every overlay of output channels 0..f-1 (LRU-cached)."""
        if f in self._prefix:
            self._prefix.move_to_end(f)
            return self._prefix[f]
        layer = self.layer
        assert isinstance(layer, ConvLayer) and self.grad_pre_activation is not None
        if f == 0:
            result = np.zeros(self.x_padded.shape)
        else:
            dz = self.grad_pre_activation[:f]
            window_grads = np.tensordot(dz, self.weight[:f], axes=([0], [0]))  # (oh, ow, C, kH, kW)
            result = scatter_windows(
                window_grads.transpose(2, 0, 1, 3, 4)[None], (1, *self.x_padded.shape), layer.stride, layer.dilation
            )[0]
        self._prefix[f] = result
        while len(self._prefix) > 4:
            self._prefix.popitem(last=False)
        return result

    def _conv_backward_step(self, k: int) -> Step:
        layer = self.layer
        assert isinstance(layer, ConvLayer) and self.grad_pre_activation is not None
        positions = self.out_shape[1] * self.out_shape[2]
        f_done, r = divmod(k, positions)
        full = self._full()
        dw = np.zeros(self.weight.shape)
        db = np.zeros(self.weight.shape[0])
        dw[:f_done] = full["dw"][:f_done]
        db[:f_done] = full["db"][:f_done]
        previous = self._cache.get(k - 1) if k else None
        if previous is not None:
            # Stepping forward by one: add this overlay's contribution only.
            dx_padded = previous.state["dx_padded"].copy()
        elif r:
            dx_padded = self._conv_prefix_dx(f_done) + self._conv_channel_dx(f_done, r)
        else:
            dx_padded = self._conv_prefix_dx(f_done).copy()
        if r:
            flat_dz = self.grad_pre_activation[f_done].reshape(-1)[:r]
            flat_win = self.windows[:, :, :].transpose(1, 2, 0, 3, 4).reshape(positions, *self.weight.shape[1:])[:r]
            dw[f_done] = np.tensordot(flat_dz, flat_win, axes=([0], [0]))
            db[f_done] = flat_dz.sum()
        operands: dict[str, FloatArray] = {}
        values: dict[str, float] = {}
        ov = self.overlay(k) if k else None
        if ov is not None:
            f, (i, j) = ov.channel, ov.position
            delta = float(self.grad_pre_activation[f, i, j])
            window = self.windows[:, i, j]
            kernel = self.weight[f]
            dx_contribution = _frozen(kernel * delta)
            if previous is not None:
                dx_padded[:, ov.rows, ov.cols] += dx_contribution
            operands = {
                "input_slice": window,
                "kernel": kernel,
                "dw_contribution": _frozen(window * delta),
                "dx_contribution": dx_contribution,
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
        return conv_closed_form(self.x, self.weight, self.grad_pre_activation, layer.stride, layer.padding, layer.dilation)

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
        dx = np.zeros(self.x.size)
        dx[:k] = self.grad_output[:k]
        ov = self.overlay(k) if k else None
        values = {} if ov is None else {"delta": float(self.grad_output[ov.channel]), "source": float(ov.channel)}
        dx = dx.reshape(self.x.shape)
        state = {"dy": self.grad_output, "done": self._done_mask(k), "dx_padded": _frozen(dx), "dx": _frozen(dx)}
        return Step("flatten", "backward", k, self.n, ov, {}, values, state)


def trace_layer(model: Model, index: int, pass_name: str) -> LayerTrace:
    """The overlay trace of layer ``index`` of ``model`` for the given pass.

    Raises
    ------
    ValueError
        For a backward pass of a model that has no upstream or target.
    """
    if not 0 <= index < len(model.layers):
        raise IndexError(f"layer {index} is outside 0..{len(model.layers) - 1}")
    result = run(model)
    record = result.records[index]
    grad_output = None
    if pass_name == "backward":
        if result.grads is None:
            raise ValueError("the model has no 'upstream' and no 'target' with 'loss': there is no backward pass")
        last = len(model.layers) - 1
        grad_output = result.grad_last if index == last else result.grads[index + 1].grad_input
        assert grad_output is not None
        grad_output = grad_output[0]
    return LayerTrace(
        model.layers[index], pass_name, record.input[0], record.pre_activation[0], record.output[0], grad_output
    )


def unflatten_position(shape: tuple[int, ...], flat: int) -> tuple[int, ...]:
    """Row-major multi-index of ``flat`` in ``shape``."""
    return tuple(int(v) for v in np.unravel_index(flat, shape))

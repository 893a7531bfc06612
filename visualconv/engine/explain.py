"""The arithmetic of each overlay as text, in the seed documents' own style.

Used by ``visualconv steps``, the window's equation panel and the exports, so all
three say the same thing::

    overlay 1: dW += [1*-0.1, 2*-0.1] -> [-0.1, -0.2]
      db += -0.1 -> -0.1
      dA_prev[0:2] += [0.3*-0.1, 0.5*-0.1] -> [-0.03, -0.05, 0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .layers import ConvLayer, DenseLayer, PoolLayer
from .numbers import DEFAULT
from .trace import AnyStep, LayerTrace
from .windows import FloatArray

# Arrays with more elements are summarised rather than written out.
MAX_TERMS = 12


def fmt(value: float) -> str:
    """A number as a person writes it: 1.3, -0.1, 0.044606 (:meth:`NumberFormat.value`)."""
    return DEFAULT.value(value)


def fmt_array(array: FloatArray) -> str:
    """Nested-list text of an array: ``[1, 2]`` or ``[[1, 2], [3, 4]]`` (:meth:`NumberFormat.array`)."""
    return DEFAULT.array(array)


def _squeeze_view(array: FloatArray, dims: int) -> FloatArray:
    """Drop the height-1 axis of a 1-D layer's 2-D view and size-1 channel axes."""
    array = np.asarray(array)
    if dims == 1 and array.ndim >= 2:
        array = array[..., 0, :]
    while array.ndim > 1 and array.shape[0] == 1:
        array = array[0]
    return array


def _products(a: FloatArray, b: FloatArray | float) -> str:
    a = np.ravel(a)
    bb = np.ravel(b) if not isinstance(b, float) else np.full(a.shape, b)
    return "[" + ", ".join(f"{fmt(x)}*{fmt(y)}" for x, y in zip(a, bb, strict=True)) + "]"


def _slice_text(s: slice) -> str:
    step = s.step or 1
    stop = s.start + ((s.stop - 1 - s.start) // step) * step + 1 if s.stop > s.start else s.start
    return f"{s.start}:{stop}" + (f":{step}" if step != 1 else "")


def _index(trace: LayerTrace, channel: int, position: tuple[int, int], channels: int) -> str:
    dims = getattr(trace.layer, "dims", 2)
    parts = [str(channel)] if channels > 1 else []
    parts += [str(position[1])] if dims == 1 else [str(position[0]), str(position[1])]
    return "[" + ", ".join(parts) + "]"


def _window_text(trace: LayerTrace, rows: slice, cols: slice) -> str:
    dims = getattr(trace.layer, "dims", 2)
    channels = trace.x.shape[0]
    parts = [":"] if channels > 1 else []
    parts += [_slice_text(cols)] if dims == 1 else [_slice_text(rows), _slice_text(cols)]
    return "[" + ", ".join(parts) + "]"


def _input_name(trace: LayerTrace) -> str:
    layer = trace.layer
    padded = isinstance(layer, ConvLayer) and any(layer.padding)
    return "A_pad" if padded else "A_prev"


def _dims(trace: LayerTrace) -> int:
    return getattr(trace.layer, "dims", 2)


def explain(trace: LayerTrace, step: AnyStep) -> list[str]:
    """Lines of text for one step of a trace (step 0 gives the set-up lines)."""
    if step.overlay is None:
        return _intro(trace)
    layer = trace.layer
    if trace.pass_name == "forward":
        if isinstance(layer, ConvLayer):
            return _conv_forward(trace, step)
        if isinstance(layer, PoolLayer):
            return _pool_forward(trace, step)
        if isinstance(layer, DenseLayer):
            return _dense_forward(trace, step)
        return _flatten(trace, step)
    if isinstance(layer, ConvLayer):
        lines = _conv_backward(trace, step)
    elif isinstance(layer, PoolLayer):
        lines = _pool_backward(trace, step)
    elif isinstance(layer, DenseLayer):
        lines = _dense_backward(trace, step)
    else:
        lines = _flatten(trace, step)
    if step.k == step.n:
        lines += closed_form_lines(trace, step)
    return lines


def _intro(trace: LayerTrace) -> list[str]:
    layer = trace.layer
    if trace.pass_name == "forward":
        return [f"{trace.n} overlays: one per output element, channel by channel, row by row"]
    lines = [f"{trace.n} overlays; dW, db and dA_prev start at zero"]
    if isinstance(layer, (ConvLayer, DenseLayer)) and trace.grad_output is not None:
        assert trace.grad_pre_activation is not None and trace.derivative is not None
        name = layer.activation
        dims = _dims(trace) if isinstance(layer, ConvLayer) else 2
        if name == "identity":
            lines.append("dZ = dA (identity activation, f'(z) = 1)")
        else:
            da = _squeeze_view(trace.grad_output, dims)
            dz = _squeeze_view(trace.grad_pre_activation, dims)
            deriv = _squeeze_view(trace.derivative, dims)
            if da.size <= MAX_TERMS:
                lines.append(f"dZ = dA ⊙ {name}'(Z) = {fmt_array(da)} ⊙ {fmt_array(deriv)} = {fmt_array(dz)}")
            else:
                lines.append(f"dZ = dA ⊙ {name}'(Z) ({da.size} elements)")
    return lines


def _conv_forward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    dims = _dims(trace)
    channels = trace.out_shape[0]
    idx = _index(trace, ov.channel, ov.position, channels)
    x = step.operands.input_slice
    w = step.operands.kernel
    bias = step.values.bias
    z = step.values.z
    terms = _squeeze_view(x, dims).ravel(), _squeeze_view(w, dims).ravel()
    where = f"{_input_name(trace)}{_window_text(trace, ov.rows, ov.cols)}"
    if terms[0].size <= MAX_TERMS:
        body = " + ".join(f"{fmt(a)}*{fmt(b)}" for a, b in zip(*terms, strict=True))
    else:
        total = fmt(float(np.sum(step.operands.products)))
        body = f"sum({where} ⊙ W[{ov.channel}]) [{terms[0].size} products] = {total}"
    bias_text = f" + {fmt(bias)}" if trace.bias is not None else ""
    lines = [f"overlay {step.k}: z{idx} = {body}{bias_text} = {fmt(z)}"]
    lines.append(f"  window {where}, kernel W[{ov.channel}]")
    layer = trace.layer
    assert isinstance(layer, ConvLayer)
    if layer.activation != "identity":
        lines.append(f"  a{idx} = {layer.activation}({fmt(z)}) = {fmt(step.values.a)}")
    return lines


def _conv_backward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    dims = _dims(trace)
    layer = trace.layer
    assert isinstance(layer, ConvLayer)
    channels = trace.out_shape[0]
    idx = _index(trace, ov.channel, ov.position, channels)
    delta = step.values.delta
    x = _squeeze_view(step.operands.input_slice, dims)
    w = _squeeze_view(step.operands.kernel, dims)
    dw_total = _squeeze_view(step.state.dw[ov.channel] if channels > 1 else step.state.dw, dims)
    dx_total = _squeeze_view(step.state.dx, dims)
    fname = f"dW[{ov.channel}]" if channels > 1 else "dW"
    where = _window_text(trace, ov.rows, ov.cols)
    if x.size <= MAX_TERMS:
        lines = [f"overlay {step.k}: {fname} += {_products(x, delta)} -> {fmt_array(dw_total)}"]
    else:
        lines = [
            f"overlay {step.k}: {fname} += {_input_name(trace)}{where} * {fmt(delta)}"
            f"  (dZ{idx} = {fmt(delta)})"
        ]
    if layer.bias is not None:
        db = step.state.db
        lines.append(
            f"  db{f'[{ov.channel}]' if channels > 1 else ''} += {fmt(delta)} -> {fmt(float(db[ov.channel]))}"
        )
    target = "dA_pad" if any(layer.padding) else "dA_prev"
    if w.size <= MAX_TERMS:
        contribution = fmt_array(_squeeze_view(step.operands.dx_contribution, dims))
        line = f"  {target}{where} += {_products(w, delta)} = {contribution}"
    else:
        line = f"  {target}{where} += W[{ov.channel}] * {fmt(delta)}"
    if dx_total.size <= MAX_TERMS:
        line += f" -> dA_prev = {fmt_array(dx_total)}"
    lines.append(line)
    return lines


def closed_form_lines(trace: Any, step: Any) -> list[str]:
    """After the last overlay: the stepped sums against the seeds' closed forms."""
    layer = trace.layer
    if not isinstance(layer, ConvLayer):
        return []
    cf = trace.closed_form()
    dims = _dims(trace)

    def verdict(stepped: FloatArray, closed: FloatArray) -> str:
        diff = float(np.max(np.abs(np.asarray(stepped) - closed))) if closed.size else 0.0
        return (
            "✓" if diff <= 1e-12 * max(1.0, float(np.max(np.abs(closed)))) else f"✗ (differs by {diff:.3g})"
        )

    dw_text = fmt_array(_squeeze_view(cf.dw, dims)) if cf.dw.size <= MAX_TERMS else f"({cf.dw.size} values)"
    dx_text = fmt_array(_squeeze_view(cf.dx, dims)) if cf.dx.size <= MAX_TERMS else f"({cf.dx.size} values)"
    stride = " (dZ dilated with zeros for the stride)" if max(layer.stride) > 1 else ""
    lines = [
        f"closed form: dW = A_prev ⋆ dZ (valid cross-correlation){stride} = {dw_text} "
        f"{verdict(step.state.dw, cf.dw)}",
        f"closed form: dA_prev = dZ * rot180(W) (full convolution){stride} = {dx_text} "
        f"{verdict(step.state.dx, cf.dx)}",
    ]
    if layer.bias is not None:
        lines.append(
            f"closed form: db = sum(dZ) = {fmt_array(cf.db) if cf.db.size <= MAX_TERMS else ''} "
            f"{verdict(step.state.db, cf.db)}"
        )
    return lines


def _pool_forward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    layer = trace.layer
    assert isinstance(layer, PoolLayer)
    dims = _dims(trace)
    idx = _index(trace, ov.channel, ov.position, trace.out_shape[0])
    window = _squeeze_view(step.operands.window, dims).ravel()
    values = ", ".join(fmt(v) for v in window)
    where = f"A_prev{_window_text(trace, ov.rows, ov.cols)}"
    if layer.mode == "max":
        arg = int(step.values.argmax)
        kw = layer.size[1]
        r, c = ov.rows.start + arg // kw, ov.cols.start + arg % kw
        at = f"{c}" if dims == 1 else f"{r}, {c}"
        return [
            f"overlay {step.k}: y{idx} = max({values}) = {fmt(step.values.y)} (the maximum sits at [{at}])",
            f"  window {where}",
        ]
    return [
        f"overlay {step.k}: y{idx} = ({' + '.join(fmt(v) for v in window)}) / {window.size}"
        f" = {fmt(step.values.y)}",
        f"  window {where}",
    ]


def _pool_backward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    layer = trace.layer
    assert isinstance(layer, PoolLayer)
    dims = _dims(trace)
    delta = step.values.delta
    idx = _index(trace, ov.channel, ov.position, trace.out_shape[0])
    dx_total = _squeeze_view(step.state.dx, dims)
    total = f" -> dA_prev = {fmt_array(dx_total)}" if dx_total.size <= MAX_TERMS else ""
    if layer.mode == "max":
        arg = int(step.values.argmax)
        kw = layer.size[1]
        r, c = ov.rows.start + arg // kw, ov.cols.start + arg % kw
        parts = ([str(ov.channel)] if trace.out_shape[0] > 1 else []) + (
            [str(c)] if dims == 1 else [str(r), str(c)]
        )
        return [
            f"overlay {step.k}: dA_prev[{', '.join(parts)}] += dY{idx} = {fmt(delta)} "
            f"(the recorded maximum of window {_window_text(trace, ov.rows, ov.cols)}){total}"
        ]
    size = layer.size[0] * layer.size[1]
    return [
        f"overlay {step.k}: dA_prev{_window_text(trace, ov.rows, ov.cols)} += dY{idx} / {size} = "
        f"{fmt(delta)} / {size} = {fmt(delta / size)} each{total}"
    ]


def _dense_forward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    layer = trace.layer
    assert isinstance(layer, DenseLayer)
    x, w = step.operands.input_slice, step.operands.kernel
    if x.size <= MAX_TERMS:
        body = " + ".join(f"{fmt(a)}*{fmt(b)}" for a, b in zip(x, w, strict=True))
    else:
        body = f"sum(x ⊙ W[{ov.channel}, :]) [{x.size} products]"
    bias = f" + {fmt(step.values.bias)}" if layer.bias is not None else ""
    lines = [f"overlay {step.k}: z[{ov.channel}] = {body}{bias} = {fmt(step.values.z)}"]
    if layer.activation != "identity":
        lines.append(f"  a[{ov.channel}] = {layer.activation}({fmt(step.values.z)}) = {fmt(step.values.a)}")
    return lines


def _dense_backward(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    layer = trace.layer
    assert isinstance(layer, DenseLayer)
    o, delta = ov.channel, step.values.delta
    x = step.operands.input_slice
    lines = [
        f"overlay {step.k}: dW[{o}, :] += "
        + (_products(x, delta) if x.size <= MAX_TERMS else f"x * {fmt(delta)}")
        + f"  (dZ[{o}] = {fmt(delta)})"
    ]
    if layer.bias is not None:
        lines.append(f"  db[{o}] += {fmt(delta)}")
    lines.append(f"  dA_prev += W[{o}, :] * {fmt(delta)}")
    return lines


def _flatten(trace: Any, step: Any) -> list[str]:
    ov = step.overlay
    assert ov is not None
    src = np.unravel_index(ov.channel, trace.x.shape)
    src_text = "[" + ", ".join(str(int(v)) for v in src) + "]"
    if trace.pass_name == "forward":
        return [f"overlay {step.k}: y[{ov.channel}] = A_prev{src_text} = {fmt(step.values.y)}"]
    return [f"overlay {step.k}: dA_prev{src_text} = dY[{ov.channel}] = {fmt(step.values.delta)}"]


def explain_all(trace: LayerTrace, ks: Sequence[int] | None = None) -> list[str]:
    """Lines for the given steps (default: every step 0..n)."""
    lines: list[str] = []
    for k in range(trace.n + 1) if ks is None else ks:
        lines.extend(explain(trace, trace.step(k)))
    return lines


def sgd_update_lines(record: Any, layer_index: int) -> list[str]:
    """The SGD update of one layer at one training iteration, in the seeds' notation.

    Parameters
    ----------
    record : visualconv.engine.train.Iteration
        The iteration (its parameters before and after, the gradients, η and momentum).
    layer_index : int

    Returns
    -------
    list of str
        ``ΔW = −η·dW = ...`` and ``W: before → after`` for the weight and the bias of
        that layer; empty for a layer without parameters.
    """
    grads = record.gradients[layer_index]
    if not grads:
        return []
    lr, momentum = record.learning_rate, record.momentum
    lines = [
        f"SGD step of iteration {record.iteration} (epoch {record.epoch}): η = {fmt(lr)}"
        + (f", momentum {fmt(momentum)} (v = {fmt(momentum)}·v + g)" if momentum else "")
    ]
    for name, symbol in (("weight", "W"), ("bias", "b")):
        if name not in grads:
            continue
        # Parameters in their file shape; leading size-1 axes dropped for reading.
        before = _squeeze_view(record.parameters_before[layer_index][name], 2)
        after = _squeeze_view(record.parameters[layer_index][name], 2)
        gradient = _squeeze_view(grads[name], 2)
        delta = after - before
        rule = "−η·v" if momentum else f"−η·d{symbol}"
        if gradient.size <= MAX_TERMS:
            if not momentum:
                rule += f" = −{fmt(lr)} × {fmt_array(gradient)}"
            lines.append(f"  Δ{symbol} = {rule} = {fmt_array(delta)}")
            lines.append(f"  {symbol}: {fmt_array(before)} → {fmt_array(after)}")
        else:
            largest = float(np.max(np.abs(delta))) if delta.size else 0.0
            lines.append(
                f"  Δ{symbol} = {rule} ({gradient.size} values; the largest change is {fmt(largest)})"
            )
    if len(record.batch) > 1:
        lines.append(
            f"  (dW is the mean gradient of the batch's {len(record.batch)} examples; "
            "the overlays above are its first example's)"
        )
    return lines

"""Overlay traces: every step's state equals the seeds' procedure done by hand.

The oracle is a plain loop over the first k overlays: dW += A_slice * dZ[k],
db += dZ[k], dA_prev[window] += W * dZ[k] (conv); the delta to the window's first
maximum or spread evenly (pool).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

import visualconv as vc
from visualconv.engine.explain import explain
from visualconv.engine.layers import ConvLayer, DenseLayer, FlattenLayer, PoolLayer
from visualconv.engine.model import gradients, make_model
from visualconv.engine.trace import trace_layer


def conv_model(rng, dims, c_in, c_out, size, k, s, p, d, activation="identity"):
    pair = (lambda v: (1, v)) if dims == 1 else (lambda v: (v, v))
    shape = (c_in, size) if dims == 1 else (c_in, size, size + 1)
    wshape = (c_out, c_in, k) if dims == 1 else (c_out, c_in, k, k)
    layer = ConvLayer(
        rng.normal(size=wshape),
        rng.normal(size=c_out),
        pair(s),
        (0, p) if dims == 1 else (p, p),
        pair(d),
        activation,
        dims,
    )
    out = layer.output_shape(shape)
    return make_model("t", rng.normal(size=shape), [layer], dims=dims, upstream=rng.normal(size=out))


def hand_conv_backward(model, k):
    """The seeds' loop over the first k overlays, in the 2-D view."""
    layer = model.layers[0]
    x = model.input[:, None, :] if layer.dims == 1 else model.input
    w = layer.weight_4d
    dz = model.upstream[:, None, :] if layer.dims == 1 else model.upstream
    (ph, pw), (sh, sw), (dh, dw_) = layer.padding, layer.stride, layer.dilation
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    dW, db, dXp = np.zeros(w.shape), np.zeros(w.shape[0]), np.zeros(xp.shape)
    count = 0
    for f in range(dz.shape[0]):
        for i in range(dz.shape[1]):
            for j in range(dz.shape[2]):
                if count == k:
                    return dW, db, dXp
                count += 1
                rows = slice(i * sh, i * sh + dh * (w.shape[2] - 1) + 1, dh)
                cols = slice(j * sw, j * sw + dw_ * (w.shape[3] - 1) + 1, dw_)
                dW[f] += xp[:, rows, cols] * dz[f, i, j]
                db[f] += dz[f, i, j]
                dXp[:, rows, cols] += w[f] * dz[f, i, j]
    return dW, db, dXp


@st.composite
def conv_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dims = draw(st.sampled_from([1, 2]))
    k, d, p = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 2))
    size = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 7))
    return conv_model(
        rng, dims, draw(st.integers(1, 3)), draw(st.integers(1, 3)), size, k, draw(st.integers(1, 3)), p, d
    )


@settings(max_examples=40, deadline=None, derandomize=True)
@given(conv_cases(), st.data())
def test_conv_backward_step_k_equals_the_hand_loop(model, data):
    trace = trace_layer(model, 0, "backward")
    # Random access in any order, then a sequential run (the incremental path).
    ks = data.draw(st.lists(st.integers(0, trace.n), min_size=1, max_size=5))
    for k in [*ks, *range(trace.n + 1)]:
        dW, db, dXp = hand_conv_backward(model, k)
        state = trace.step(k).state
        np.testing.assert_allclose(state.dw, dW, atol=1e-12)
        np.testing.assert_allclose(state.db, db, atol=1e-12)
        np.testing.assert_allclose(state.dx_padded, dXp, atol=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(conv_cases())
def test_last_step_equals_closed_forms_and_the_engine(model):
    trace = trace_layer(model, 0, "backward")
    last = trace.step(trace.n).state
    closed = trace.closed_form()
    g = gradients(model)["layers"][0]
    dims = model.dims
    squeeze = (lambda a: a[..., 0, :]) if dims == 1 else (lambda a: a)
    np.testing.assert_allclose(squeeze(last.dw), g["grad_weight"], atol=1e-12)
    np.testing.assert_allclose(squeeze(closed.dw), g["grad_weight"], atol=1e-12)
    np.testing.assert_allclose(closed.db, g["grad_bias"], atol=1e-12)
    np.testing.assert_allclose(squeeze(last.dx), g["grad_input"], atol=1e-12)
    np.testing.assert_allclose(squeeze(closed.dx), g["grad_input"], atol=1e-12)
    assert "✗" not in " ".join(explain(trace, trace.step(trace.n)))


def test_closed_form_intermediates_for_stride_two():
    """dZ is dilated with one zero between elements; the kernel is turned by 180°."""
    rng = np.random.default_rng(3)
    model = conv_model(rng, 2, 1, 1, 5, 2, 2, 0, 1)
    closed = trace_layer(model, 0, "backward").closed_form()
    dz = model.upstream[0]
    assert closed.dz_dilated.shape == (1, 2 * dz.shape[0] - 1, 2 * dz.shape[1] - 1)
    np.testing.assert_array_equal(closed.dz_dilated[0, ::2, ::2], dz)
    np.testing.assert_array_equal(closed.dz_dilated[0, 1::2, :], 0)
    np.testing.assert_array_equal(closed.kernel_rotated[0, 0], model.layers[0].weight[0, 0][::-1, ::-1])


def test_conv_forward_steps_reveal_outputs_in_row_major_order():
    rng = np.random.default_rng(0)
    model = conv_model(rng, 2, 2, 2, 4, 2, 1, 0, 1, "tanh")
    trace = trace_layer(model, 0, "forward")
    for k in range(1, trace.n + 1):
        step = trace.step(k)
        f, (i, j) = step.overlay.channel, step.overlay.position
        assert step.state.done.sum() == k and step.state.done[f, i, j]
        by_hand = float(np.sum(step.operands.input_slice * step.operands.kernel)) + model.layers[0].bias[f]
        assert step.values.z == pytest.approx(by_hand, abs=1e-12)
        assert step.values.a == pytest.approx(np.tanh(by_hand), abs=1e-12)


def hand_pool_backward(x, dy, mode, size, stride, k):
    dx = np.zeros_like(x)
    count = 0
    for c in range(dy.shape[0]):
        for i in range(dy.shape[1]):
            for j in range(dy.shape[2]):
                if count == k:
                    return dx
                count += 1
                win = x[c, i * stride[0] : i * stride[0] + size[0], j * stride[1] : j * stride[1] + size[1]]
                if mode == "max":
                    a, b = np.unravel_index(int(np.argmax(win)), win.shape)
                    dx[c, i * stride[0] + a, j * stride[1] + b] += dy[c, i, j]
                else:
                    dx[
                        c, i * stride[0] : i * stride[0] + size[0], j * stride[1] : j * stride[1] + size[1]
                    ] += dy[c, i, j] / win.size
    return dx


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["max", "avg"]),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
)
def test_pool_backward_step_k_equals_the_hand_loop(seed, mode, size, stride, channels):
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(channels, 5, 6)).astype(float)  # ties are common
    layer = PoolLayer(mode, (size, size), (stride, stride), 2)
    out = layer.output_shape(x.shape)
    model = make_model("p", x, [layer], upstream=rng.normal(size=out))
    trace = trace_layer(model, 0, "backward")
    for k in range(trace.n + 1):
        expected = hand_pool_backward(x, model.upstream, mode, (size, size), (stride, stride), k)
        np.testing.assert_allclose(trace.step(k).state.dx, expected, atol=1e-12)
    np.testing.assert_allclose(
        trace.step(trace.n).state.dx, gradients(model)["layers"][0]["grad_input"], atol=1e-12
    )


def test_max_pool_routed_delta_sits_on_the_recorded_maximum():
    x = np.array([[[1.0, 7.0], [3.0, 7.0]]])
    model = make_model("p", x, [PoolLayer("max", (2, 2), (2, 2), 2)], upstream=[[[0.5]]])
    step = trace_layer(model, 0, "backward").step(1)
    np.testing.assert_array_equal(step.operands.routed, [[0.0, 0.5], [0.0, 0.0]])


def test_dense_and_flatten_steps_accumulate_by_hand():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 3))
    dense = DenseLayer(rng.normal(size=(4, 18)), rng.normal(size=4), "sigmoid")
    model = make_model("d", x, [FlattenLayer(), dense], upstream=rng.normal(size=4))
    g = gradients(model)["layers"]
    trace = trace_layer(model, 1, "backward")
    dz = g[1]["grad_pre_activation"]
    for k in range(trace.n + 1):
        state = trace.step(k).state
        np.testing.assert_allclose(state.dw[:k], np.outer(dz[:k], x.ravel()), atol=1e-12)
        np.testing.assert_allclose(state.dw[k:], 0)
        np.testing.assert_allclose(state.dx, dz[:k] @ dense.weight[:k], atol=1e-12)
    flat = trace_layer(model, 0, "backward")
    assert flat.n == 18
    np.testing.assert_allclose(flat.step(18).state.dx, g[0]["grad_input"], atol=1e-12)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_every_sample_layer_and_pass_ends_at_the_engine_gradients(path):
    model = vc.load_model(path)
    g = gradients(model)["layers"]
    for index, layer in enumerate(model.layers):
        for pass_name in ("forward", "backward"):
            trace = trace_layer(model, index, pass_name)
            # one overlay per output element, or per input element for a kind that stamps its input
            stepped = "output" if layer.kind.steps_over == "output" else "grad_input"
            assert trace.n == g[index][stepped].size
            last = trace.step(trace.n)
            for k in (0, 1, trace.n // 2, trace.n):
                assert explain(trace, trace.step(k))
            if pass_name == "backward":
                dx = last.state.dx
                dx = dx[:, 0, :] if getattr(layer, "dims", 2) == 1 and dx.ndim == 3 else dx
                np.testing.assert_allclose(dx, g[index]["grad_input"], atol=1e-12)


def test_backward_of_a_model_without_upstream_or_target_is_a_clear_error():
    model = make_model("f", [[1.0, 2.0, 3.0]], [ConvLayer(np.ones((1, 1, 2)), None, dims=1)], dims=1)
    with pytest.raises(ValueError, match="no backward pass"):
        trace_layer(model, 0, "backward")
    assert trace_layer(model, 0, "forward").n == 2

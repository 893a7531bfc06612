"""Grouped and padded conv layers, conv_transpose layers, padded and global pool layers in models:
files, placed errors, traces stepped against loop sums, and the conv / conv_transpose link."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

import visualconv as vc
from visualconv import ModelError
from visualconv.engine.conv_transpose import conv_transpose2d_backward_naive, conv_transpose2d_forward_naive
from visualconv.engine.explain import explain
from visualconv.engine.kinds import ConvLayer, ConvTransposeLayer, PoolLayer
from visualconv.engine.model import gradients, make_model
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import dumps, loads, model_document

SAMPLES = ROOT / "sample_models"
NEW = sorted(p for p in SAMPLES.glob("*.json") if 25 <= int(p.name[:2]) <= 32)


def close(a, b, tol=1e-12):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_the_new_samples_are_there_and_described():
    assert len(NEW) == 8
    for path in NEW:
        doc = json.loads(path.read_text())
        assert len(doc["description"]) > 120, path.name


@pytest.mark.parametrize("path", NEW, ids=lambda p: p.stem)
def test_new_samples_round_trip_through_save(path):
    model = vc.load_model(path)
    again = loads(dumps(model_document(model)))
    assert model_document(again) == model_document(model)
    for a, b in zip(gradients(model)["layers"], gradients(again)["layers"], strict=True):
        close(a["grad_input"], b["grad_input"])


def test_the_pair_conv_dA_prev_is_the_conv_transpose_output_step_by_step():
    conv = vc.load_model(SAMPLES / "31-pair-conv-dA-prev.json")
    transposed = vc.load_model(SAMPLES / "32-pair-conv-transpose.json")
    close(vc.grad(conv)["layers"][0]["grad_input"], vc.grad(transposed)["layers"][0]["output"])
    backward = trace_layer(conv, 0, "backward")
    forward = trace_layer(transposed, 0, "forward")
    assert backward.n == forward.n == 9
    p = conv.layers[0].padding
    for k in range(backward.n + 1):
        # the conv's dA_pad after k overlays is the transposed conv's uncropped output after k stamps
        close(
            backward.step(k).state.dx_padded, forward.step(k).state.z_full[:, : 5 + 2 * p[0], : 5 + 2 * p[1]]
        )
    text = explain(forward, forward.step(9))
    assert any("the link" in line and "✓" in line for line in text)
    assert any(
        "conv_transpose(dZ, W, stride 2, padding 1)" in line and "✓" in line
        for line in explain(backward, backward.step(9))
    )


def _stamps(x, w, k, args):
    """Loop sum of the first k stamps, the forward state after k overlays (no bias)."""
    masked = np.zeros(x.size)
    masked[:k] = x.reshape(-1)[:k]
    return conv_transpose2d_forward_naive(masked.reshape(x.shape)[None], w, None, *args)[0]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    st.integers(1, 2),
    st.integers(1, 2),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 1),
    st.integers(1, 2),
    st.integers(0, 2**32 - 1),
)
def test_conv_transpose_trace_steps_match_loop_sums(groups, per_group, k, s, p, d, seed):
    rng = np.random.default_rng(seed)
    c_in = groups * per_group
    x = rng.normal(size=(c_in, 2, 3))
    w = rng.normal(size=(c_in, 2, k, k))
    op = (s - 1) if max(s, d) > s - 1 else 0
    out_h = (2 - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out_h < 1 or (3 - 1) * s - 2 * p + d * (k - 1) + op + 1 < 1:
        return
    layer = ConvTransposeLayer(
        w, rng.normal(size=2 * groups), (s, s), (p, p), (op, op), (d, d), "tanh", 2, groups
    )
    shape = layer.output_shape(x.shape)
    model = make_model("t", x, [layer], upstream=rng.normal(size=shape))
    forward, backward = trace_layer(model, 0, "forward"), trace_layer(model, 0, "backward")
    args = ((s, s), (p, p), (op, op), (d, d), groups)
    dz = backward.grad_pre_activation
    full_dx, _, full_db = conv_transpose2d_backward_naive(dz[None], x[None], w, *args)
    for step in range(forward.n + 1):
        state = forward.step(step).state
        close(state.z - layer.bias[:, None, None], _stamps(x, w, step, args), 1e-10)
        masked = np.zeros(x.size)
        masked[:step] = x.reshape(-1)[:step]
        _, dw, _ = conv_transpose2d_backward_naive(dz[None], masked.reshape(x.shape)[None], w, *args)
        bstate = backward.step(step).state
        close(bstate.dw, dw, 1e-10)
        done = np.arange(x.size).reshape(x.shape) < step
        close(bstate.dx, np.where(done, full_dx[0], 0.0), 1e-10)
        close(bstate.db, full_db, 1e-10)
        assert explain(forward, forward.step(step)) and explain(backward, backward.step(step))


@settings(max_examples=20, deadline=None, derandomize=True)
@given(
    st.integers(1, 2),
    st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
    st.sampled_from([0, 1, "same"]),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
)
def test_grouped_padded_conv_trace_ends_at_the_engine_and_steps_by_overlay(groups, mode, padding, k, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2 * groups, 4, 5))
    w = rng.normal(size=(2 * groups, 2, k, k))
    same = padding == "same"
    layer = ConvLayer(
        w,
        rng.normal(size=2 * groups),
        (1, 1),
        (0, 0) if same else (padding, padding),
        (1, 1),
        "leaky_relu",
        2,
        groups,
        mode,
        same,
        0.3,
    )
    model = make_model("t", x, [layer], upstream=rng.normal(size=layer.output_shape(x.shape)))
    g = gradients(model)["layers"][0]
    backward = trace_layer(model, 0, "backward")
    last = backward.step(backward.n).state
    close(last.dx, g["grad_input"], 1e-10)
    close(last.dw, g["grad_weight"], 1e-10)
    # stepping one overlay adds window * delta to dW[f] of the filter's own group of channels only
    for step in (1, backward.n // 2, backward.n):
        before, after = backward.step(step - 1).state, backward.step(step)
        ov, delta = after.overlay, after.values.delta
        expected = np.array(before.dw)
        expected[ov.channel] += after.operands.input_slice * delta
        close(after.state.dw, expected, 1e-10)
        assert after.operands.input_slice.shape[0] == 2  # C_in / groups channels
        if groups > 1:
            assert ov.channels == range(2 * (ov.channel // 2), 2 * (ov.channel // 2) + 2)
    forward = trace_layer(model, 0, "forward")
    step = forward.step(1)
    z = float(np.sum(step.operands.products)) + layer.bias[0]
    assert step.values.z == pytest.approx(z, abs=1e-12)


def test_reflect_padding_backward_says_where_the_border_gradient_goes():
    model = vc.load_model(SAMPLES / "28-reflect-padding.json")
    backward = trace_layer(model, 0, "backward")
    text = explain(backward, backward.step(backward.n))
    assert any("dA_pad[0, 0] -> dA_prev[1, 1]" in line for line in text)
    cf = backward.closed_form()
    close(cf.dx, vc.grad(model)["layers"][0]["grad_input"])


def test_padded_and_global_pool_traces_end_at_the_engine():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 5, 5))
    for layer in (
        PoolLayer("max", (3, 3), (2, 2), 2, (1, 1)),
        PoolLayer("avg", (1, 1), (1, 1), 2, is_global=True),
    ):
        model = make_model("p", x, [layer], upstream=rng.normal(size=layer.output_shape(x.shape)))
        g = gradients(model)["layers"][0]
        backward = trace_layer(model, 0, "backward")
        close(backward.step(backward.n).state.dx, g["grad_input"])
        forward = trace_layer(model, 0, "forward")
        assert forward.n == g["output"].size
        assert explain(forward, forward.step(1))


def _document(layer, dims=2, shape=(1, 4, 4)):
    x = np.zeros(shape).tolist()
    return json.dumps({"format": "visualconv/1", "name": "t", "dims": dims, "input": x, "layers": [layer]})


@pytest.mark.parametrize(
    ("layer", "shape", "place", "words"),
    [
        (
            {"type": "conv", "weight": np.zeros((3, 1, 2, 2)).tolist(), "groups": 2},
            (2, 4, 4),
            "layers[0].groups",
            "dividing the 3 output channels",
        ),
        (
            {"type": "conv", "weight": np.zeros((2, 1, 2, 2)).tolist(), "groups": 2},
            (3, 4, 4),
            "layers[0].groups",
            "dividing the 3 input channels",
        ),
        (
            {"type": "conv", "weight": np.zeros((2, 2, 2, 2)).tolist(), "groups": 2},
            (2, 4, 4),
            "layers[0].weight",
            "1 input channels per group",
        ),
        (
            {"type": "conv", "weight": [[1, 2], [3, 4]], "stride": 2, "padding": "same"},
            (1, 4, 4),
            "layers[0].padding",
            "stride 1",
        ),
        (
            {"type": "conv", "weight": [[1, 2], [3, 4]], "padding": 4, "padding_mode": "reflect"},
            (1, 4, 4),
            "layers[0].padding",
            "reflect padding smaller",
        ),
        (
            {"type": "conv", "weight": [[1, 2], [3, 4]], "padding": 5, "padding_mode": "circular"},
            (1, 4, 4),
            "layers[0].padding",
            "circular padding at most",
        ),
        (
            {"type": "conv", "weight": [[1, 2], [3, 4]], "padding_mode": "mirror"},
            (1, 4, 4),
            "layers[0].padding_mode",
            "zeros",
        ),
        (
            {"type": "conv_transpose", "weight": [[1, 2], [3, 4]], "stride": 2, "output_padding": 2},
            (1, 4, 4),
            "layers[0].output_padding",
            "smaller than the stride or the dilation",
        ),
        (
            {"type": "conv_transpose", "weight": np.zeros((2, 1, 2, 2)).tolist()},
            (1, 4, 4),
            "layers[0].weight",
            "1 input channel",
        ),
        (
            {"type": "conv_transpose", "weight": [[1.0]], "padding": 3},
            (1, 4, 4),
            "layers[0].padding",
            "leaves an output",
        ),
        (
            {"type": "conv_transpose", "weight": [[1.0]], "padding_mode": "reflect"},
            (1, 4, 4),
            "layers[0].padding_mode",
            "unknown key",
        ),
        (
            {"type": "pool", "mode": "max", "size": 3, "padding": 2},
            (1, 4, 4),
            "layers[0].padding",
            "at most half the size",
        ),
        (
            {"type": "pool", "mode": "avg", "size": "global", "stride": 1},
            (1, 4, 4),
            "layers[0].stride",
            "no stride",
        ),
        ({"type": "pool", "mode": "avg", "size": "whole"}, (1, 4, 4), "layers[0].size", "global"),
    ],
)
def test_bad_new_settings_are_placed_errors(layer, shape, place, words):
    with pytest.raises(ModelError) as caught:
        loads(_document(layer, 2, shape))
    assert caught.value.place == place, str(caught.value)
    assert words in str(caught.value)


def test_one_d_conv_transpose_and_global_pool_load():
    doc = {
        "format": "visualconv/1",
        "name": "1-D",
        "input": [1.0, 2.0, 3.0],
        "layers": [
            {"type": "conv_transpose", "weight": [1.0, 0.5], "stride": 2, "output_padding": 1},
            {"type": "pool", "mode": "max", "size": "global"},
        ],
        "upstream": [[1.0]],
    }
    model = loads(json.dumps(doc))
    out = vc.grad(model)["layers"]
    close(out[0]["output"], [[1, 0.5, 2, 1, 3, 1.5, 0]])
    close(out[1]["output"], [[3.0]])
    close(out[0]["grad_input"], [[0, 0, 1.0]])

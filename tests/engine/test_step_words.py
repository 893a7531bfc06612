"""Each kind's step text says what its overlays really do (checked against hand-written indices)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visualconv.engine.explain import explain
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import load_model

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"
SMALL_CNN = SAMPLES / "12-small-cnn-cross-entropy.json"


def _model(tmp_path, layers, input_, upstream=None, **extra):
    doc = {"format": "visualconv/1", "name": "words", "input": input_, "layers": layers, **extra}
    if upstream is not None:
        doc["upstream"] = upstream
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    return load_model(path)


def _step0(model, index, pass_name="backward"):
    trace = trace_layer(model, index, pass_name)
    return explain(trace, trace.step(0))


@pytest.mark.parametrize("sample", ["05-max-pool-backward.json", "07-avg-pool-backward.json"])
def test_pool_step_0_names_no_weights(sample):
    lines = _step0(load_model(SAMPLES / sample), 0)
    assert not any("dW" in line or "db" in line for line in lines)
    what = (
        "routes a delta of dY to its window's maximum" if "max" in sample else "spreads a delta of dY evenly"
    )
    assert lines == [
        f"4 overlays; dA_prev starts at zero; each {what}" + ("" if "max" in sample else " over its window")
    ]


def test_max_pool_overlay_of_channel_1_names_channel_1(tmp_path):
    """Sample 12's pool: 2 channels of 3x3 outputs; overlay 12 is channel 1, output (0, 2)."""
    model = load_model(SMALL_CNN)
    trace = trace_layer(model, 1, "backward")
    (line,) = explain(trace, trace.step(12))
    assert "dY[1, 0, 2]" in line
    assert line.startswith("overlay 12: dA_prev[1, ")
    assert "(the recorded maximum of window [1, 0:2, 4:6])" in line
    forward = trace_layer(model, 1, "forward")
    lines = explain(forward, forward.step(12))
    assert lines[1] == "  window A_prev[1, 0:2, 4:6]"
    assert "(the maximum sits at [1, " in lines[0]


def test_average_pool_overlay_names_its_channel(tmp_path):
    # two channels of 2x2, one 2x2 window each: overlay 2 is channel 1
    x = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]
    model = _model(tmp_path, [{"type": "pool", "mode": "avg", "size": 2}], x, upstream=[[[0.4]], [[0.8]]])
    trace = trace_layer(model, 0, "backward")
    (line,) = explain(trace, trace.step(2))
    assert line.startswith("overlay 2: dA_prev[1, 0:2, 0:2] += dY[1, 0, 0] / 4 = 0.8 / 4 = 0.2 each")
    forward = trace_layer(model, 0, "forward")
    assert explain(forward, forward.step(2)) == [
        "overlay 2: y[1, 0, 0] = (5 + 6 + 7 + 8) / 4 = 6.5",
        "  window A_prev[1, 0:2, 0:2]",
    ]


def test_one_channel_pool_text_is_unchanged():
    model = load_model(SAMPLES / "05-max-pool-backward.json")
    trace = trace_layer(model, 0, "backward")
    assert "window [0:2, 0:2]" in explain(trace, trace.step(1))[0]


def test_flatten_and_dense_step_0_say_what_their_overlays_do():
    model = load_model(SMALL_CNN)
    assert _step0(model, 3) == [
        "8 overlays: each copies one delta of dY back to its place in dA_prev",
        "  (a flatten layer has no weights and sums nothing)",
    ]
    assert _step0(model, 3, "forward")[0] == (
        "8 overlays: each copies one value of A_prev into Y, in row-major order"
    )
    dense = _step0(model, 4)
    assert any(
        line.startswith("3 overlays, one per output unit o; dW, db and dA_prev start at zero")
        for line in dense
    )
    assert _step0(model, 4, "forward")[0] == "3 overlays: one per output unit o, z[o] = W[o, :] · x + b[o]"


def test_a_layer_without_bias_does_not_promise_db(tmp_path):
    model = _model(
        tmp_path, [{"type": "conv", "weight": [0.3, 0.5], "bias": None}], [1, 2, 3], upstream=[-0.1, 0.2]
    )
    assert _step0(model, 0)[0] == "2 overlays; dW and dA_prev start at zero (the layer has no bias)"
    seed = load_model(SAMPLES / "01-seed-1d-conv.json")
    assert _step0(seed, 0)[0] == "2 overlays; dW, db and dA_prev start at zero"

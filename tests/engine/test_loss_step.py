"""The loss is the backward pass's first step: its value, p, and dA written out and shown.

Expected values come from hand-written losses and central differences on the logits, or
from PyTorch's autograd (tests/torch_oracle.py), never from the code under test.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from visualconv.engine.explain import explain
from visualconv.engine.kinds.loss import LossSpec
from visualconv.engine.model import forward
from visualconv.engine.scene import pass_scene
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import load_model

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"
CROSS_ENTROPY = SAMPLES / "12-small-cnn-cross-entropy.json"
SQUARED_ERROR = SAMPLES / "13-relu-mse-target.json"
SEED_1D = SAMPLES / "01-seed-1d-conv.json"


def _logits(model):
    return np.asarray(forward(model.layers, model.input[None])[-1].output[0], dtype=np.float64)


def _cross_entropy(z, t):
    """-log softmax(z)[t], written out by hand."""
    z = np.ravel(z)
    return math.log(sum(math.exp(v) for v in z)) - z[t]


def _squared_error(a, t, reduction):
    s = float(np.sum((np.ravel(t) - np.ravel(a)) ** 2))
    return {"half_sum": 0.5 * s, "sum": s, "mean": s / np.size(a)}[reduction]


def _central_differences(f, x, h=1e-6):
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += h
        minus[i] -= h
        g[i] = (f(plus) - f(minus)) / (2 * h)
    return g


def test_cross_entropy_step_holds_p_and_p_minus_onehot_equal_to_the_finite_differences():
    model = load_model(CROSS_ENTROPY)
    trace = trace_layer(model, len(model.layers) - 1, "backward")
    start = trace.loss_start
    assert start is not None
    z = _logits(model)
    t = int(model.target)
    expected_grad = _central_differences(lambda v: _cross_entropy(v, t), z)
    np.testing.assert_allclose(start.grad, expected_grad, atol=1e-8)
    exp = np.exp(z - z.max())
    np.testing.assert_allclose(start.probabilities, exp / exp.sum(), rtol=1e-12)
    assert start.value == pytest.approx(_cross_entropy(z, t), rel=1e-12)
    # the scene shows them: p above, dA = p - onehot below, in a column of their own
    scene = pass_scene(trace).step(0)
    np.testing.assert_allclose(scene.panels["loss_da"].values, expected_grad, atol=1e-8)
    np.testing.assert_allclose(scene.panels["loss_p"].values.sum(), 1.0, rtol=1e-12)
    assert scene.spec("loss_da").title == f"dA = p − onehot({t})"
    # ... at every step of the pass (the loss does not change while the layer is stepped)
    np.testing.assert_array_equal(pass_scene(trace).step(trace.n).panels["loss_da"].values, start.grad)


def test_cross_entropy_step_writes_the_arithmetic_out_at_step_0_only():
    model = load_model(CROSS_ENTROPY)
    trace = trace_layer(model, len(model.layers) - 1, "backward")
    lines = explain(trace, trace.step(0))
    z = _logits(model)
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert lines[0] == "the loss starts the backward pass: softmax cross-entropy over 3 outputs, true class 1"
    assert any(line.startswith("  p = softmax(A) = [") for line in lines)
    loss_line = next(line for line in lines if line.startswith("  L = -log p[1]"))
    assert loss_line.endswith(f"= {_fmt(_cross_entropy(z, 1))}")
    da_line = next(line for line in lines if line.startswith("  dA = p - onehot(1)"))
    assert f"{_fmt(p[1])} - 1" in da_line and f"{_fmt(p[0])} - 0" in da_line
    # the layer's own set-up follows the loss
    assert lines[-3].startswith("3 overlays")
    assert not any("loss" in line for line in explain(trace, trace.step(1)))
    # other layers and the forward pass do not repeat it
    assert trace_layer(model, 0, "backward").loss_start is None
    assert trace_layer(model, len(model.layers) - 1, "forward").loss_start is None


def _fmt(v):
    return f"{float(v):.6g}"


@pytest.mark.parametrize("reduction", ["half_sum", "sum", "mean"])
def test_squared_error_step_is_the_reduction_times_a_minus_t(reduction):
    model = load_model(SQUARED_ERROR)
    model = dataclasses.replace(model, loss=LossSpec("mse", reduction))
    trace = trace_layer(model, 0, "backward")
    start = trace.loss_start
    a = _logits(model)
    t = np.asarray(model.target)
    expected = _central_differences(lambda v: _squared_error(v, t, reduction), a)
    np.testing.assert_allclose(start.grad, expected, atol=1e-8)
    assert start.value == pytest.approx(_squared_error(a, t, reduction), rel=1e-12)
    scene = pass_scene(trace).step(0)
    np.testing.assert_allclose(scene.panels["loss_da"].values, expected, atol=1e-8)
    np.testing.assert_array_equal(scene.panels["loss_t"].values, t)
    title = {"half_sum": "dA = A − T", "sum": "dA = 2(A − T)", "mean": "dA = 2(A − T) / 9"}[reduction]
    assert scene.spec("loss_da").title == title
    lines = explain(trace, trace.step(0))
    assert lines[0].startswith("the loss starts the backward pass: squared error")
    e_line = next(line for line in lines if line.startswith("  E = "))
    assert e_line.endswith(f"= {_fmt(_squared_error(a, t, reduction))}")
    # the first term of dA written out: (a0 - t0) with the reduction's factor
    first = f"{_fmt(a.ravel()[0])} - {_fmt(t.ravel()[0])}"
    rule = next(line for line in lines if line.startswith("  dA = "))
    assert {"half_sum": f"[{first},", "sum": f"[2 * ({first}),", "mean": f"[2 * ({first}) / 9,"}[
        reduction
    ] in rule


def test_a_pass_from_upstream_has_no_loss_step():
    model = load_model(SEED_1D)
    trace = trace_layer(model, 0, "backward")
    assert trace.loss_start is None
    assert not any(s.role.startswith("loss") for s in pass_scene(trace).specs)
    assert explain(trace, trace.step(0))[0].startswith("2 overlays")


def test_one_d_squared_error_panels_have_the_layers_view(tmp_path):
    """A 1-D model's target (C, L) is shown as the layers show theirs: (C, 1, L)."""
    doc = {
        "format": "visualconv/1",
        "name": "1-D target",
        "input": [1, 2, 3],
        "layers": [{"type": "conv", "weight": [0.3, 0.5], "bias": 0.0}],
        "target": [1.0, 0.5],
        "loss": {"type": "mse", "reduction": "half_sum"},
    }
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    trace = trace_layer(load_model(path), 0, "backward")
    scene = pass_scene(trace).step(0)
    # A = [1*0.3 + 2*0.5, 2*0.3 + 3*0.5] = [1.3, 2.1]; dA = A - T = [0.3, 1.6]
    np.testing.assert_allclose(scene.panels["loss_da"].values.ravel(), [0.3, 1.6], atol=1e-12)
    assert scene.spec("loss_da").tiles.shape == (1, 1, 2)
    assert "  dA = A - T = [1.3 - 1, 2.1 - 0.5] = [0.3, 1.6]" in explain(trace, trace.step(0))


def test_torch_agrees_with_the_cross_entropy_step():
    pytest.importorskip("torch")
    from torch_oracle import torch_grad

    model = load_model(CROSS_ENTROPY)
    trace = trace_layer(model, len(model.layers) - 1, "backward")
    reference = torch_grad(model)
    np.testing.assert_allclose(trace.loss_start.grad, reference["layers"][-1]["grad_output"], atol=1e-12)
    assert trace.loss_start.value == pytest.approx(reference["loss"], rel=1e-12)


def test_steps_prints_the_loss_at_the_last_layers_step_0_and_grad_json_keeps_its_layers(capsys):
    from visualconv.cli import main

    assert main(["steps", str(CROSS_ENTROPY), "--layer", "-1", "--step", "0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "the loss starts the backward pass: softmax cross-entropy over 3 outputs, true class 1"
    assert main(["steps", str(CROSS_ENTROPY), "--layer", "0", "--step", "0"]) == 0
    assert "loss" not in capsys.readouterr().out.split("\n", 1)[1]
    # grad --json (spec section 5) has no room for a loss entry: one entry per layer, as before
    assert main(["grad", str(CROSS_ENTROPY), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [entry["index"] for entry in doc["layers"]] == [0, 1, 2, 3, 4]
    assert doc["loss"] == pytest.approx(_cross_entropy(_logits(load_model(CROSS_ENTROPY)), 1), rel=1e-12)


def test_the_loss_panels_titles_are_latex_math():
    from visualconv.export.latex import math_line

    assert "?" not in math_line("dA = p − onehot(1)")
    assert math_line("E = (0.5 - 0.327)²").endswith("^{2}")

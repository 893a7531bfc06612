"""The worked examples of the seed documents, number for number.

Expected values are the documents' own (German/Portuguese 1-D example, the
Indonesian 2-D example, the Chinese rot180 example), not outputs of the engine.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ROOT

import visualconv as vc
from visualconv.engine.explain import explain
from visualconv.engine.trace import trace_layer

SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"
ROT180 = ROOT / "sample_models" / "03-rot180-all-ones.json"

ACTIVATIONS_O = np.array(
    [
        (0.51, 0.9, 0.88, 0.84, 0.05),
        (0.4, 0.62, 0.22, 0.59, 0.1),
        (0.11, 0.2, 0.74, 0.33, 0.14),
        (0.47, 0.01, 0.85, 0.7, 0.09),
        (0.76, 0.19, 0.72, 0.17, 0.57),
    ]
)
D = np.array([(0, 0, 0.0686, 0), (0, 0.0364, 0, 0), (0, 0.0467, 0, 0), (0, 0, 0, -0.0681)])


def test_1d_forward_is_1_3_and_2_1():
    z = vc.conv1d_forward(np.array([[[1.0, 2.0, 3.0]]]), np.array([[[0.3, 0.5]]]), None)
    np.testing.assert_allclose(z[0, 0], [1.3, 2.1], rtol=0, atol=1e-15)


def test_1d_backward_gives_the_documents_deltas():
    dx, dw, db = vc.conv1d_backward(
        np.array([[[-0.1, 0.2]]]), np.array([[[1.0, 2.0, 3.0]]]), np.array([[[0.3, 0.5]]])
    )
    np.testing.assert_allclose(dw[0, 0], [0.3, 0.4], atol=1e-15)
    np.testing.assert_allclose(db, [0.1], atol=1e-15)
    np.testing.assert_allclose(dx[0, 0], [-0.03, 0.01, 0.1], atol=1e-15)


def test_1d_sample_file_through_grad():
    result = vc.grad(vc.load_model(SEED_1D))
    layer = result["layers"][0]
    assert result["loss"] is None
    np.testing.assert_allclose(layer["output"], [[1.3, 2.1]], atol=1e-15)
    np.testing.assert_allclose(layer["grad_weight"], [[[0.3, 0.4]]], atol=1e-15)
    np.testing.assert_allclose(layer["grad_bias"], [0.1], atol=1e-15)
    np.testing.assert_allclose(layer["grad_input"], [[-0.03, 0.01, 0.1]], atol=1e-15)


def test_1d_overlays_add_what_the_document_says():
    """Overlay 1 adds [1*-0.1, 2*-0.1] to dW, overlay 2 adds [2*0.2, 3*0.2];
    dA_prev goes [-0.03, -0.05, 0] then [-0.03, 0.01, 0.1]."""
    trace = trace_layer(vc.load_model(SEED_1D), 0, "backward")
    assert trace.n == 2
    one, two = trace.step(1), trace.step(2)
    np.testing.assert_allclose(one.operands.dw_contribution.ravel(), [-0.1, -0.2], atol=1e-15)
    np.testing.assert_allclose(two.operands.dw_contribution.ravel(), [0.4, 0.6], atol=1e-15)
    np.testing.assert_allclose(one.operands.dx_contribution.ravel(), [-0.03, -0.05], atol=1e-15)
    np.testing.assert_allclose(one.state.dx.ravel(), [-0.03, -0.05, 0], atol=1e-15)
    np.testing.assert_allclose(two.operands.dx_contribution.ravel(), [0.06, 0.1], atol=1e-15)
    np.testing.assert_allclose(two.state.dx.ravel(), [-0.03, 0.01, 0.1], atol=1e-15)
    np.testing.assert_allclose(two.state.dw.ravel(), [0.3, 0.4], atol=1e-15)
    np.testing.assert_allclose(two.state.db, [0.1], atol=1e-15)


def test_1d_steps_text_in_the_documents_style():
    trace = trace_layer(vc.load_model(SEED_1D), 0, "backward")
    lines = explain(trace, trace.step(1))
    assert lines[0] == "overlay 1: dW += [1*-0.1, 2*-0.1] -> [-0.1, -0.2]"
    assert "[0.3*-0.1, 0.5*-0.1] = [-0.03, -0.05]" in lines[2]
    forward = trace_layer(vc.load_model(SEED_1D), 0, "forward")
    assert explain(forward, forward.step(1))[0] == "overlay 1: z[0] = 1*0.3 + 2*0.5 + 0 = 1.3"
    assert explain(forward, forward.step(2))[0] == "overlay 2: z[1] = 2*0.3 + 3*0.5 + 0 = 2.1"


def test_2d_weight_gradient_of_the_indonesian_document():
    _, dw, _ = vc.conv2d_backward(D[None, None], ACTIVATIONS_O[None, None], np.zeros((1, 1, 2, 2)))
    np.testing.assert_allclose(dw[0, 0], [[0.044606, 0.094061], [0.011262, 0.068288]], rtol=0, atol=1e-15)


def test_2d_sample_file_and_its_closed_form():
    model = vc.load_model(SEED_2D)
    np.testing.assert_array_equal(model.input[0], ACTIVATIONS_O)
    np.testing.assert_array_equal(model.upstream[0], D)
    expected = [[0.044606, 0.094061], [0.011262, 0.068288]]
    np.testing.assert_allclose(vc.grad(model)["layers"][0]["grad_weight"][0, 0], expected, atol=1e-15)
    trace = trace_layer(model, 0, "backward")
    assert trace.n == 16
    np.testing.assert_allclose(trace.step(16).state.dw[0, 0], expected, atol=1e-15)
    np.testing.assert_allclose(trace.closed_form().dw[0, 0], expected, atol=1e-15)


def test_rot180_example_of_the_chinese_document():
    """With all-ones deltas each input cell collects the weights that touched it."""
    model = vc.load_model(ROT180)
    (w11, w12), (w21, w22) = model.layers[0].weight[0, 0]
    expected = [
        [w11, w11 + w12, w12],
        [w11 + w21, w11 + w12 + w21 + w22, w12 + w22],
        [w21, w21 + w22, w22],
    ]
    dx = vc.grad(model)["layers"][0]["grad_input"][0]
    np.testing.assert_allclose(dx, expected, atol=1e-15)
    np.testing.assert_allclose(trace_layer(model, 0, "backward").closed_form().dx[0], expected, atol=1e-15)


def test_rot180_forward_sums_of_the_chinese_document():
    model = vc.load_model(ROT180)
    x = model.input[0]
    (w11, w12), (w21, w22) = model.layers[0].weight[0, 0]
    z11 = x[0, 0] * w11 + x[0, 1] * w12 + x[1, 0] * w21 + x[1, 1] * w22
    z22 = x[1, 1] * w11 + x[1, 2] * w12 + x[2, 1] * w21 + x[2, 2] * w22
    z = vc.grad(model)["layers"][0]["output"][0]
    assert z[0, 0] == pytest.approx(z11, abs=1e-14)
    assert z[1, 1] == pytest.approx(z22, abs=1e-14)

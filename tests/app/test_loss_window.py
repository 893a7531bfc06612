"""The window shows the loss as the backward pass's first step (sample 12: cross-entropy)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from visualconv.engine.model import forward
from visualconv.modelfile import load_model

SMALL_CNN = Path(__file__).resolve().parents[2] / "sample_models" / "12-small-cnn-cross-entropy.json"


def _finite_difference_gradient(z, t, h=1e-6):
    """d(-log softmax(z)[t])/dz by central differences of the loss written by hand."""

    def loss(v):
        return math.log(sum(math.exp(x) for x in v)) - v[t]

    g = np.zeros_like(z)
    for i in range(z.size):
        plus, minus = z.copy(), z.copy()
        plus[i] += h
        minus[i] -= h
        g[i] = (loss(plus) - loss(minus)) / (2 * h)
    return g


def test_the_window_shows_p_minus_onehot_equal_to_the_gradient_of_the_loss(window):
    model = load_model(SMALL_CNN)
    last = len(model.layers) - 1
    assert window.open_file(SMALL_CNN)
    window.session.select(last, "backward", 0)
    view = window.layer_view
    z = np.asarray(forward(model.layers, model.input[None])[-1].output[0], dtype=np.float64)
    expected = _finite_difference_gradient(z, int(model.target))
    shown = view.panels["loss_da"].values.ravel()
    np.testing.assert_allclose(shown, expected, atol=1e-8)
    p = view.panels["loss_p"].values.ravel()
    np.testing.assert_allclose(p - np.eye(z.size)[int(model.target)], shown, atol=1e-15)
    assert view.panels["loss_da"].isVisible()
    # the step text starts with the loss, written out
    lines = window.equations.lines()
    assert lines[0].startswith("the loss starts the backward pass: softmax cross-entropy")
    assert any(line.startswith("  dA = p - onehot(1) = [") for line in lines)
    # an earlier layer has no loss panels
    window.session.select(0, "backward", 0)
    assert "loss_da" not in {s.role for s in view.specs}

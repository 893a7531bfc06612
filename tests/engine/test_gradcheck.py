"""The gradient check finds real errors and names non-differentiable points."""

from __future__ import annotations

import numpy as np

from visualconv.engine.gradcheck import check_gradients
from visualconv.engine.layers import ConvLayer, PoolLayer
from visualconv.engine.model import LossSpec, make_model


def test_agreeing_model_passes_with_tiny_errors():
    rng = np.random.default_rng(1)
    layer = ConvLayer(rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2), activation="sigmoid")
    model = make_model(
        "m",
        rng.normal(size=(1, 4, 4)),
        [layer],
        target=rng.normal(size=(2, 3, 3)),
        loss=LossSpec("mse", "mean"),
    )
    result = check_gradients(model)
    assert result.ok
    assert [t.name for t in result.tensors] == ["input", "layers[0].weight", "layers[0].bias"]
    assert max(t.max_error for t in result.tensors) < 1e-7
    assert result.kinks == []


def test_relu_at_zero_and_max_ties_are_named():
    x = np.array([[[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]])
    # Kernel of ones with bias -4 puts z exactly at the relu kink at the top-left.
    conv = ConvLayer(np.ones((1, 1, 2, 2)), np.array([-4.0]), activation="relu")
    pool = PoolLayer("max", (2, 2), (1, 1), 2)
    model = make_model("k", x, [conv, pool], upstream=[[[1.0]]])
    kinks = check_gradients(model).kinks
    assert any("relu kink" in note for note in kinks)
    assert any("tie" in note for note in kinks)

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


def test_large_tensors_are_checked_on_a_sample_and_say_so():
    rng = np.random.default_rng(2)
    layer = ConvLayer(rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3), activation="tanh")
    model = make_model("big", rng.normal(size=(2, 12, 12)), [layer], upstream=rng.normal(size=(3, 10, 10)))
    result = check_gradients(model, max_cells=20)
    by_name = {t.name: t for t in result.tensors}
    assert by_name["input"].sampled and by_name["input"].checked == 20
    assert np.isfinite(by_name["input"].numeric).sum() == 20
    assert not by_name["layers[0].bias"].sampled  # 3 cells: all checked
    assert result.ok


def test_a_wrong_gradient_in_a_sample_is_still_caught(monkeypatch):
    import visualconv.engine.layers as layers

    original = layers.ConvLayer.backward

    def wrong(self, *args):
        g = original(self, *args)
        return layers.LayerGrads(g.grad_input * 1.001, g.grad_pre_activation, g.grad_weight, g.grad_bias)

    monkeypatch.setattr(layers.ConvLayer, "backward", wrong)
    rng = np.random.default_rng(4)
    layer = ConvLayer(rng.normal(size=(1, 1, 2, 2)), None)
    model = make_model("m", rng.normal(size=(1, 20, 20)), [layer], upstream=rng.normal(size=(1, 19, 19)))
    result = check_gradients(model, max_cells=10)
    assert not result.ok and result.tensors[0].name == "input" and not result.tensors[0].ok


def test_flatten_shape_does_not_wrap_around():
    from visualconv.engine.layers import FlattenLayer

    assert FlattenLayer().output_shape((2**32, 2**32)) == (2**64,)

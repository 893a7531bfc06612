"""Edits as pure functions: valid edits recompute, invalid ones raise and change nothing."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ROOT

import visualconv as vc
from visualconv import editing
from visualconv.engine.errors import ModelError
from visualconv.engine.model import gradients
from visualconv.engine.trace import trace_layer

SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"


def test_editing_a_cell_recomputes_the_gradients():
    model = vc.load_model(SEED_1D)
    edited = editing.set_cell(model, "layers[0].weight", (0, 0, 1), "0.7")
    # By hand: dA_prev = [0.3*-0.1, 0.7*-0.1 + 0.3*0.2, 0.7*0.2]
    np.testing.assert_allclose(
        gradients(edited)["layers"][0]["grad_input"], [[-0.03, -0.01, 0.14]], atol=1e-15
    )
    assert model.layers[0].weight[0, 0, 1] == 0.5  # the original is untouched


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "-Infinity", "", "1..2"])
def test_text_nan_and_infinity_are_refused(text):
    model = vc.load_model(SEED_1D)
    with pytest.raises(ModelError) as info:
        editing.set_cell(model, "input", (0, 1), text)
    assert info.value.place == "input"


def test_comma_decimal_and_unicode_minus_are_numbers():
    assert editing.parse_number("0,5") == 0.5
    assert editing.parse_number("\u22121.5") == -1.5


def test_impulse_dz_gives_the_kernel_placed_at_that_window():
    model = vc.load_model(ROOT / "sample_models" / "09-stride-padding.json")  # stride 2, padding 1
    impulse = editing.fill(model, "upstream", "impulse", index=(0, 1, 2))
    dx_padded = trace_layer(impulse, 0, "backward").step(9).state.dx_padded[0]
    w = model.layers[0].weight[0, 0]
    expected = np.zeros((7, 7))
    expected[2:5, 4:7] = w  # window of output (1, 2): rows 1*2.., cols 2*2..
    np.testing.assert_allclose(dx_padded, expected, atol=1e-15)


def test_paste_csv_and_numpy_lists():
    model = vc.load_model(ROOT / "sample_models" / "03-rot180-all-ones.json")
    pasted = editing.paste(model, "layers[0].weight", "0.1, 0.2\n0.3, 0.4\n")
    np.testing.assert_array_equal(pasted.layers[0].weight[0, 0], [[0.1, 0.2], [0.3, 0.4]])
    pasted = editing.paste(model, "upstream", "np.array([[1, -1], [2, -2]])")
    np.testing.assert_array_equal(pasted.upstream[0], [[1, -1], [2, -2]])
    with pytest.raises(ModelError, match="same number"):
        editing.paste(model, "upstream", "1, 2\n3")
    with pytest.raises(ModelError, match="shape"):
        editing.paste(model, "upstream", "1, 2, 3")


def test_csv_round_trips():
    a = np.array([[0.1, -2.5], [1e-17, 3.0]])
    np.testing.assert_array_equal(editing.parse_matrix(editing.to_csv(a)), a)


def test_changing_kernel_size_keeps_values_and_resizes_upstream():
    model = vc.load_model(ROOT / "sample_models" / "02-seed-2d-conv.json")
    bigger = editing.set_layer_setting(model, 0, "kernel_size", "3")
    assert bigger.layers[0].weight.shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(bigger.layers[0].weight[0, 0, :2, :2], model.layers[0].weight[0, 0])
    assert bigger.upstream.shape == (1, 3, 3)
    np.testing.assert_array_equal(bigger.upstream[0], model.upstream[0, :3, :3])


def test_impossible_settings_are_refused_with_the_place():
    model = vc.load_model(ROOT / "sample_models" / "02-seed-2d-conv.json")
    with pytest.raises(ModelError) as info:
        editing.set_layer_setting(model, 0, "kernel_size", 9)
    assert info.value.place == "layers[0]" and "larger" in info.value.message
    for bad in ("0", "-1", "1.5", "two"):
        with pytest.raises(ModelError) as info:
            editing.set_layer_setting(model, 0, "stride", bad)
        assert info.value.place == "layers[0].stride"


def test_out_channels_propagate_to_the_next_layer():
    model = vc.load_model(ROOT / "sample_models" / "04-multichannel-activation.json")
    edited = editing.set_layer_setting(model, 0, "out_channels", 4)
    assert edited.layers[0].weight.shape[0] == 4 and edited.layers[0].bias.shape == (4,)
    assert edited.layers[1].weight.shape[1] == 4
    np.testing.assert_array_equal(edited.layers[1].weight[:, :3], model.layers[1].weight)
    gradients(edited)  # still computes


def test_seed_1d_example_from_an_empty_model_by_edits_alone():
    """A person can rebuild the seed example from the smallest model (issue 5's bar)."""
    model = editing.empty_model(dims=1)
    model = editing.set_input_shape(model, (1, 3))
    model = editing.paste(model, "input", "1, 2, 3")
    model = editing.set_layer_setting(model, 0, "kernel_size", 2)
    model = editing.paste(model, "layers[0].weight", "0.3 0.5")
    model = editing.set_cell(model, "upstream", (0, 0), "-0.1")
    model = editing.set_cell(model, "upstream", (0, 1), "0.2")
    g = gradients(model)["layers"][0]
    np.testing.assert_allclose(g["output"], [[1.3, 2.1]], atol=1e-15)
    np.testing.assert_allclose(g["grad_weight"], [[[0.3, 0.4]]], atol=1e-15)
    np.testing.assert_allclose(g["grad_bias"], [0.1], atol=1e-15)
    np.testing.assert_allclose(g["grad_input"], [[-0.03, 0.01, 0.1]], atol=1e-15)


def test_fills():
    model = vc.load_model(ROOT / "sample_models" / "04-multichannel-activation.json")
    ones = editing.fill(model, "layers[0].weight", "ones")
    assert np.all(ones.layers[0].weight == 1)
    r1 = editing.fill(model, "input", "random", seed=3)
    r2 = editing.fill(model, "input", "random", seed=3)
    np.testing.assert_array_equal(r1.input, r2.input)
    ident = editing.fill(model, "layers[1].weight", "identity")
    w = ident.layers[1].weight  # (2, 3, 2, 2): 1 at centre (1, 1) for f == c
    assert w[0, 0, 1, 1] == 1 and w[1, 1, 1, 1] == 1 and w.sum() == 2


def test_layers_can_be_added_and_removed():
    model = vc.load_model(ROOT / "sample_models" / "03-rot180-all-ones.json")
    model = editing.add_layer(model, "flatten")
    model = editing.add_layer(model, "dense")
    assert [layer.type for layer in model.layers] == ["conv", "flatten", "dense"]
    assert model.upstream.shape == (1,)
    conv_only = editing.remove_layer(editing.remove_layer(model, 2), 1)
    with pytest.raises(ModelError, match="vector"):
        editing.add_layer(conv_only, "dense")
    with pytest.raises(ModelError, match="at least one"):
        editing.remove_layer(vc.load_model(SEED_1D), 0)


def test_an_edit_over_the_memory_budget_is_refused_before_allocating():
    model = vc.load_model(ROOT / "sample_models" / "02-seed-2d-conv.json")
    with pytest.raises(ModelError, match="would need about"):
        editing.set_layer_setting(model, 0, "padding", "100000")
    with pytest.raises(ModelError, match="GB"):
        editing.set_layer_setting(model, 0, "out_channels", 10**9)


def test_inline_training_examples_follow_the_model_shapes():
    """After an out_channels edit the training data still fits, so the file loads again."""
    from visualconv.modelfile import dumps, loads, model_document

    model = vc.load_model(ROOT / "sample_models" / "20-learning-a-kernel.json")
    edited = editing.set_layer_setting(model, 0, "out_channels", "3")
    targets = edited.training.dataset.written["targets"]
    assert np.shape(targets[0]) == edited.shapes()[-1]
    first = np.asarray(model.training.dataset.written["targets"][0]).reshape(model.shapes()[-1])
    np.testing.assert_array_equal(np.asarray(targets[0])[0], first[0])  # kept where it fits
    np.testing.assert_array_equal(np.asarray(targets[0])[1:], 0)
    reloaded = loads(dumps(model_document(edited)))
    assert reloaded.shapes() == edited.shapes()

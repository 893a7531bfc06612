"""The SGD-update text shown for a training iteration."""

from __future__ import annotations

import dataclasses

import numpy as np
from helpers import ROOT

import visualconv as vc
from visualconv.engine import train
from visualconv.engine.explain import fmt_array, sgd_update_lines


def first_record(name, **changes):
    model = vc.load_model(ROOT / "sample_models" / name)
    if changes:
        model = dataclasses.replace(model, training=dataclasses.replace(model.training, **changes))
    return model, next(iter(train.iterate(model)))


def test_plain_sgd_writes_minus_eta_times_the_gradient():
    model, record = first_record("20-learning-a-kernel.json")
    lines = sgd_update_lines(record, 0)
    w0 = model.layers[0].weight.ravel()
    g = record.gradients[0]["weight"].ravel()
    eta = model.training.learning_rate
    assert lines[0] == f"SGD step of iteration 1 (epoch 1): η = {eta:g}"
    assert lines[1] == f"  ΔW = −η·dW = −{eta:g} × {fmt_array(g)} = {fmt_array(-eta * g)}"
    assert lines[2] == f"  W: {fmt_array(w0)} → {fmt_array(w0 - eta * g)}"
    assert not any("Δb" in line for line in lines)  # bias: null is not trained


def test_momentum_and_batches_are_named():
    _, record = first_record("22-shapes-classifier.json", momentum=0.5, batch_size=4)
    lines = sgd_update_lines(record, 0)
    assert "momentum 0.5" in lines[0]
    assert any(line.startswith("  Δb = −η·v") for line in lines)
    assert "mean gradient of the batch's 4 examples" in lines[-1]
    assert sgd_update_lines(record, 1) == []  # the pool layer has no parameters
    before = record.parameters_before[0]["bias"]
    # The first step with momentum: v = g (no earlier v), so p moves by -eta * g.
    expected = before - record.learning_rate * record.gradients[0]["bias"]
    np.testing.assert_allclose(record.parameters[0]["bias"], expected, atol=1e-15)

"""SGD training engine: one step by hand, momentum and batching against a plain loop,
the kernel-learning sample, divergence. No Qt."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from visualconv.engine.errors import ModelError
from visualconv.engine.train import TrainingDiverged, iterate, train
from visualconv.modelfile import load_model, loads

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"

# The seed document on 2-D backpropagation: activations o, deltas d and the weight
# gradient it prints (signal.convolve2d(rot180(d), o, 'valid')).
SEED_O = [
    [0.51, 0.9, 0.88, 0.84, 0.05],
    [0.4, 0.62, 0.22, 0.59, 0.1],
    [0.11, 0.2, 0.74, 0.33, 0.14],
    [0.47, 0.01, 0.85, 0.7, 0.09],
    [0.76, 0.19, 0.72, 0.17, 0.57],
]
SEED_D = [[0, 0, 0.0686, 0], [0, 0.0364, 0, 0], [0, 0.0467, 0, 0], [0, 0, 0, -0.0681]]
SEED_DW = [[0.044606, 0.094061], [0.011262, 0.068288]]
SEED_W = [[-0.13, 0.15], [0.23, -0.11]]


def test_one_sgd_step_on_the_seed_example_is_w_minus_eta_dw():
    model = load_model(SAMPLES / "23-seed-sgd-step.json")
    (record,) = list(iterate(model))
    eta = 0.5
    assert record.learning_rate == eta
    assert (record.epoch, record.iteration, record.batch_index) == (1, 1, 1)
    np.testing.assert_allclose(record.gradients[0]["weight"][0, 0], SEED_DW, rtol=0, atol=1e-12)
    expected = [[SEED_W[i][j] - eta * SEED_DW[i][j] for j in range(2)] for i in range(2)]
    np.testing.assert_allclose(record.parameters[0]["weight"][0, 0], expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(record.parameters_before[0]["weight"][0, 0], SEED_W)
    # E = 1/2 sum (y - t)^2 with y - t = d
    assert record.loss == pytest.approx(0.5 * sum(v * v for row in SEED_D for v in row), abs=1e-15)
    assert record.epoch_loss == record.loss
    assert "bias" not in record.gradients[0] and "bias" not in record.parameters[0]


# ---------------------------------------------------------------- plain loop reference


def _loop_conv1d_training(w, b, xs, ts, lr, momentum, batch, epochs, shuffle, seed, reduction):
    """SGD on y[i] = sum_k w[k] x[i+k] + b with squared error, in plain Python."""
    n, k = len(xs), len(w)
    w, b = list(w), b
    vw, vb = None, None
    rng = np.random.default_rng(seed)
    losses, epoch_losses = [], []
    size = n if batch is None else min(batch, n)
    for _ in range(epochs):
        order = [int(i) for i in rng.permutation(n)] if shuffle else list(range(n))
        batch_losses = []
        for start in range(0, n, size):
            idx = order[start : start + size]
            gw, gb, total = [0.0] * k, 0.0, 0.0
            for e in idx:
                x, t = xs[e], ts[e]
                out = len(x) - k + 1
                y = [sum(w[m] * x[i + m] for m in range(k)) + (b or 0.0) for i in range(out)]
                sq = sum((y[i] - t[i]) ** 2 for i in range(out))
                if reduction == "half_sum":
                    total += 0.5 * sq
                    dy = [y[i] - t[i] for i in range(out)]
                else:  # mean
                    total += sq / out
                    dy = [2 * (y[i] - t[i]) / out for i in range(out)]
                for m in range(k):
                    gw[m] += sum(dy[i] * x[i + m] for i in range(out)) / len(idx)
                gb += sum(dy) / len(idx)
            batch_losses.append(total / len(idx))
            if momentum:
                vw = list(gw) if vw is None else [momentum * v + g for v, g in zip(vw, gw, strict=True)]
                vb = gb if vb is None else momentum * vb + gb
            else:
                vw, vb = gw, gb
            w = [p - lr * v for p, v in zip(w, vw, strict=True)]
            if b is not None:
                b = b - lr * vb
        losses.extend(batch_losses)
        epoch_losses.append(sum(batch_losses) / len(batch_losses))
    return w, b, losses, epoch_losses


def _conv1d_document(w, b, xs, ts, lr, momentum, batch, epochs, shuffle, seed, reduction):
    layer = {"type": "conv", "weight": w, "bias": b}
    return {
        "format": "visualconv/1",
        "name": "loop reference",
        "dims": 1,
        "input": xs[0],
        "layers": [layer],
        "target": ts[0],
        "loss": {"type": "mse", "reduction": reduction},
        "training": {
            "learning_rate": lr,
            "momentum": momentum,
            "epochs": epochs,
            "batch_size": "full" if batch is None else batch,
            "shuffle": shuffle,
            "seed": seed,
            "dataset": {"kind": "inline", "inputs": xs, "targets": ts},
        },
    }


@pytest.mark.parametrize(
    ("momentum", "batch", "shuffle", "reduction", "bias"),
    [
        (0.0, None, False, "half_sum", 0.1),
        (0.9, None, False, "half_sum", 0.1),
        (0.0, 2, False, "mean", 0.1),
        (0.5, 2, True, "mean", None),
        (0.9, 1, True, "half_sum", -0.2),
        (0.3, 3, True, "mean", 0.0),
        (0.7, 10, False, "half_sum", None),  # larger than the dataset: one batch
    ],
)
def test_momentum_and_batching_match_a_plain_loop(momentum, batch, shuffle, reduction, bias):
    rng = np.random.default_rng(5)
    xs = [[round(float(v), 3) for v in rng.uniform(-1, 1, 6)] for _ in range(5)]
    ts = [[round(float(v), 3) for v in rng.uniform(-1, 1, 4)] for _ in range(5)]
    w0 = [0.2, -0.4, 0.1]
    args = (w0, bias, xs, ts, 0.05, momentum, batch, 4, shuffle, 7, reduction)
    model = loads(json.dumps(_conv1d_document(*args)))
    w, b, losses, epoch_losses = _loop_conv1d_training(*args)
    history = list(iterate(model))
    per_epoch = math.ceil(5 / (batch or 5)) if (batch or 5) < 5 else 1
    assert len(history) == 4 * per_epoch
    np.testing.assert_allclose([r.loss for r in history], losses, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        [r.epoch_loss for r in history if r.epoch_end], epoch_losses, rtol=1e-12, atol=1e-14
    )
    final = history[-1].parameters[0]
    np.testing.assert_allclose(final["weight"][0, 0], w, rtol=1e-12, atol=1e-14)
    if bias is None:
        assert "bias" not in final
    else:
        assert final["bias"][0] == pytest.approx(b, rel=1e-12, abs=1e-14)


def test_each_epoch_visits_every_example_once_in_a_seeded_order():
    xs = [[float(i), 1.0, 2.0] for i in range(7)]
    ts = [[0.0, 0.0] for _ in range(7)]
    doc = _conv1d_document([0.1, 0.1], 0.0, xs, ts, 0.01, 0.0, 3, 3, True, 11, "half_sum")
    model = loads(json.dumps(doc))
    history = list(iterate(model))
    assert [r.batch_index for r in history] == [1, 2, 3] * 3
    assert [len(r.batch) for r in history] == [3, 3, 1] * 3
    rng = np.random.default_rng(11)
    for epoch in range(3):
        seen = np.concatenate([r.batch for r in history if r.epoch == epoch + 1])
        np.testing.assert_array_equal(seen, rng.permutation(7))
    again = list(iterate(model))
    assert [r.loss for r in again] == [r.loss for r in history]


def test_records_are_frozen_and_their_arrays_read_only():
    model = load_model(SAMPLES / "20-learning-a-kernel.json")
    record = next(iterate(model))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.loss = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        record.parameters[0]["weight"][...] = 0.0


# ---------------------------------------------------------------- the samples


def test_the_kernel_learning_sample_ends_near_its_teacher():
    model = load_model(SAMPLES / "20-learning-a-kernel.json")
    result = train(model)
    assert len(result.history) == 10
    weight = result.model.layers[0].weight
    assert weight.shape == (1, 1, 1, 2)
    np.testing.assert_allclose(weight.ravel(), [1.0, -1.0], atol=0.03)
    losses = result.epoch_losses
    assert all(a > b for a, b in itertools.pairwise(losses))
    assert result.model.layers[0].bias is None


def test_the_kernel_learning_sample_follows_the_d2l_update():
    """X ones with a zero band, Y = X corr [1, -1]; w <- w - 0.03 * d/dw sum (X corr w - Y)^2."""
    x = np.ones((6, 8))
    x[:, 2:6] = 0.0
    y = x[:, :-1] - x[:, 1:]
    w = np.array([-0.2, 0.3])
    model = load_model(SAMPLES / "20-learning-a-kernel.json")
    history = list(iterate(model))
    for record in history:
        err = w[0] * x[:, :-1] + w[1] * x[:, 1:] - y
        assert record.loss == pytest.approx(float(np.sum(err**2)), rel=1e-12)
        grad = np.array([np.sum(2 * err * x[:, :-1]), np.sum(2 * err * x[:, 1:])])
        w = w - 0.03 * grad
        np.testing.assert_allclose(record.parameters[0]["weight"].ravel(), w, rtol=1e-12)


def test_the_shapes_classifier_learns_and_reports_accuracy():
    model = load_model(SAMPLES / "22-shapes-classifier.json")
    history = list(iterate(model, epochs=12))
    assert all(r.accuracy is not None and 0 <= r.accuracy <= 1 for r in history)
    ends = [r for r in history if r.epoch_end]
    assert len(ends) == 12
    assert ends[-1].epoch_loss < 0.5 * ends[0].epoch_loss
    assert ends[-1].epoch_accuracy is not None and ends[-1].epoch_accuracy >= 0.9


def test_the_teacher_sample_recovers_the_sobel_kernel():
    model = load_model(SAMPLES / "21-teacher-sobel.json")
    result = train(model)
    sobel = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    np.testing.assert_allclose(result.model.layers[0].weight[0, 0], sobel, atol=0.01)
    assert abs(result.model.layers[0].bias[0]) < 0.01


def test_regression_accuracy_is_none():
    model = load_model(SAMPLES / "20-learning-a-kernel.json")
    record = next(iterate(model))
    assert record.accuracy is None and record.epoch_accuracy is None


# ---------------------------------------------------------------- divergence


def test_a_diverging_learning_rate_stops_cleanly_and_keeps_the_last_finite_parameters():
    model = load_model(SAMPLES / "20-learning-a-kernel.json")
    spec = dataclasses.replace(model.training, learning_rate=10.0, epochs=5000)
    records = []
    with pytest.raises(TrainingDiverged) as info:
        for record in iterate(model, training=spec):
            records.append(record)
    error = info.value
    assert isinstance(error, ModelError)
    assert records, "it should take a few iterations to overflow"
    assert error.iteration == len(records) + 1
    assert f"iteration {error.iteration}" in str(error)
    assert "smaller learning rate" in str(error)
    last = records[-1].parameters[0]["weight"]
    assert np.isfinite(last).all()
    np.testing.assert_array_equal(error.model.layers[0].weight, last)
    assert math.isfinite(records[-1].loss)


def test_a_nan_at_the_first_iteration_keeps_the_starting_parameters():
    doc = json.loads((SAMPLES / "20-learning-a-kernel.json").read_text())
    doc["layers"][0]["weight"] = [[1e200, -1e200]]
    model = loads(json.dumps(doc))
    with pytest.raises(TrainingDiverged) as info:
        list(iterate(model))
    assert info.value.iteration == 1
    assert "starting parameters" in str(info.value)
    np.testing.assert_array_equal(info.value.model.layers[0].weight, model.layers[0].weight)


def test_the_divergence_check_is_exact_when_a_sum_overflows():
    from visualconv.engine.train import _finite

    assert _finite(({"weight": np.array([1e308, 1e308])}, {}))  # sums to inf, every value finite
    assert not _finite(({"weight": np.array([1.0, np.inf])},))
    assert not _finite(({"bias": np.array([1.0])}, {"weight": np.array([np.nan, 0.0])}))


# ---------------------------------------------------------------- settings


def test_settings_are_checked_before_the_first_iteration():
    model = load_model(SAMPLES / "20-learning-a-kernel.json")
    with pytest.raises(ModelError, match=r"training\.epochs"):
        iterate(model, epochs=0)
    with pytest.raises(ModelError, match=r"training\.momentum"):
        iterate(model, training=dataclasses.replace(model.training, momentum=1.0))
    untrained = dataclasses.replace(model, training=None)
    with pytest.raises(ModelError, match="no 'training' section"):
        iterate(untrained)


def test_epochs_override():
    model = load_model(SAMPLES / "20-learning-a-kernel.json")
    assert len(list(iterate(model, epochs=3))) == 3

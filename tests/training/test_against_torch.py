"""Training agrees with torch.optim.SGD (float64) to 1e-9, iteration by iteration.

Skipped where PyTorch is not installed (it is never a dependency).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from visualconv.engine import datasets
from visualconv.engine.train import iterate
from visualconv.modelfile import load_model, loads

from .torch_sgd import torch_train

pytest.importorskip("torch")

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"
TOL = 1e-9


def _compare(model, spec=None):
    spec = spec or model.training
    inputs, targets = datasets.materialise(spec.dataset, model)
    ours = list(iterate(model, training=spec, data=(inputs, targets)))
    ref = torch_train(model, spec, inputs, targets)
    assert len(ours) == len(ref["losses"])
    np.testing.assert_allclose([r.loss for r in ours], ref["losses"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(
        [r.epoch_loss for r in ours if r.epoch_end], ref["epoch_losses"], rtol=TOL, atol=TOL
    )
    for mine, theirs in zip(ours[-1].parameters, ref["parameters"], strict=True):
        assert mine.keys() == theirs.keys()
        for name in mine:
            np.testing.assert_allclose(mine[name], theirs[name], rtol=TOL, atol=TOL)


@pytest.mark.parametrize(
    "name",
    [
        "20-learning-a-kernel.json",
        "21-teacher-sobel.json",
        "22-shapes-classifier.json",
        "23-seed-sgd-step.json",
    ],
)
def test_samples_match_torch_sgd(name):
    _compare(load_model(SAMPLES / name))


@pytest.mark.parametrize(
    ("momentum", "batch_size", "shuffle", "reduction", "lr"),
    [
        (0.0, None, False, "sum", 0.03),
        (0.9, None, False, "sum", 0.01),
        (0.5, 1, True, "half_sum", 0.05),
        (0.9, 4, True, "mean", 0.2),
        (0.0, 3, False, "mean", 0.5),
    ],
)
def test_kernel_learning_variants_match_torch_sgd(momentum, batch_size, shuffle, reduction, lr):
    doc = json.loads((SAMPLES / "20-learning-a-kernel.json").read_text())
    rng = np.random.default_rng(0)
    x = np.ones((6, 8))
    x[:, 2:6] = 0
    inputs = [x] + [rng.random((6, 8)) for _ in range(6)]
    doc["training"]["dataset"] = {
        "kind": "inline",
        "inputs": [i.tolist() for i in inputs],
        "targets": [(i[:, :-1] - i[:, 1:]).tolist() for i in inputs],
    }
    doc["training"].update(momentum=momentum, shuffle=shuffle, learning_rate=lr, epochs=6, seed=3)
    doc["training"]["batch_size"] = "full" if batch_size is None else batch_size
    doc["loss"]["reduction"] = reduction
    _compare(loads(json.dumps(doc)))


CNN = {
    "format": "visualconv/1",
    "name": "cnn",
    "input": np.zeros((7, 7)).tolist(),
    "layers": [
        {"type": "conv", "weight": None, "bias": None, "activation": "relu", "padding": 1, "stride": 1},
        {"type": "pool", "mode": "avg", "size": 2, "stride": 1},
        {"type": "conv", "weight": None, "bias": [0.1, -0.1], "activation": "sigmoid", "stride": 2},
        {"type": "flatten"},
        {"type": "dense", "weight": None, "bias": None},
    ],
    "target": 0,
    "loss": {"type": "cross_entropy"},
}


@pytest.mark.parametrize(
    ("momentum", "batch_size", "max_pool"), [(0.0, 5, False), (0.8, 8, True), (0.3, None, True)]
)
def test_a_deeper_classifier_with_bias_null_matches_torch_sgd(momentum, batch_size, max_pool):
    rng = np.random.default_rng(42)
    doc = json.loads(json.dumps(CNN))
    doc["layers"][0]["weight"] = rng.normal(0, 0.5, (3, 1, 3, 3)).tolist()
    doc["layers"][2]["weight"] = rng.normal(0, 0.5, (2, 3, 2, 2)).tolist()
    doc["layers"][4]["weight"] = rng.normal(0, 0.5, (3, 2 * 3 * 3)).tolist()
    if max_pool:
        doc["layers"][1]["mode"] = "max"
    doc["training"] = {
        "learning_rate": 0.3,
        "momentum": momentum,
        "epochs": 4,
        "batch_size": "full" if batch_size is None else batch_size,
        "shuffle": True,
        "seed": 9,
        "dataset": {"kind": "shapes", "count": 24, "size": 7, "noise": 0.2, "seed": 2},
    }
    _compare(loads(json.dumps(doc)))


def test_one_dimensional_dense_regression_matches_torch_sgd():
    rng = np.random.default_rng(1)
    doc = {
        "format": "visualconv/1",
        "name": "1-D",
        "dims": 1,
        "input": rng.random(9).tolist(),
        "layers": [
            {
                "type": "conv",
                "weight": rng.normal(0, 0.5, (2, 1, 3)).tolist(),
                "dilation": 2,
                "activation": "tanh",
            },
            {"type": "pool", "mode": "max", "size": 2},
            {"type": "flatten"},
            {"type": "dense", "weight": rng.normal(0, 0.5, (2, 4)).tolist(), "activation": "leaky_relu"},
        ],
        "target": [0.0, 0.0],
        "loss": {"type": "mse", "reduction": "mean"},
        "training": {
            "learning_rate": 0.1,
            "momentum": 0.9,
            "epochs": 5,
            "batch_size": 3,
            "shuffle": True,
            "dataset": {
                "kind": "inline",
                "inputs": rng.random((10, 9)).tolist(),
                "targets": rng.normal(0, 1, (10, 2)).tolist(),
            },
        },
    }
    model = loads(json.dumps(doc))
    _compare(model)
    _compare(model, dataclasses.replace(model.training, momentum=0.0, batch_size=None))


def test_teacher_with_noise_matches_torch_sgd():
    model = load_model(SAMPLES / "21-teacher-sobel.json")
    spec = dataclasses.replace(
        model.training, dataset={"kind": "teacher", "kernel": "laplace", "noise": 0.1, "count": 20}, epochs=5
    )
    _compare(model, spec)


def test_sgd_trains_grouped_padded_and_transposed_layers_as_torch():
    # conv (groups 2, reflect, leaky slope 0.2) -> conv_transpose (stride 2, output_padding 1)
    # -> padded max pool -> global average -> dense: every new parameter is trained
    rng = np.random.default_rng(5)
    doc = {
        "format": "visualconv/1",
        "name": "new layers",
        "input": rng.normal(size=(2, 4, 4)).round(2).tolist(),
        "layers": [
            {
                "type": "conv",
                "weight": rng.normal(size=(4, 1, 3, 3)).round(2).tolist(),
                "groups": 2,
                "padding": 1,
                "padding_mode": "reflect",
                "activation": "leaky_relu",
                "negative_slope": 0.2,
            },
            {
                "type": "conv_transpose",
                "weight": rng.normal(size=(4, 1, 2, 2)).round(2).tolist(),
                "stride": 2,
                "output_padding": 1,
                "groups": 2,
                "activation": "tanh",
            },
            {"type": "pool", "mode": "max", "size": 3, "stride": 2, "padding": 1},
            {"type": "pool", "mode": "avg", "size": "global"},
            {"type": "flatten"},
            {"type": "dense", "weight": rng.normal(size=(3, 2)).round(2).tolist()},
        ],
        "target": 1,
        "loss": {"type": "cross_entropy"},
        "training": {
            "learning_rate": 0.1,
            "momentum": 0.5,
            "epochs": 3,
            "batch_size": 2,
            "dataset": {
                "kind": "inline",
                "inputs": rng.normal(size=(4, 2, 4, 4)).round(2).tolist(),
                "targets": [0, 1, 2, 1],
            },
        },
    }
    _compare(loads(json.dumps(doc)))

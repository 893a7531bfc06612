"""``visualconv train``: the visualconv.train/1 document, --epochs, --out, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from visualconv.cli import main
from visualconv.modelfile import load_model, loads

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"
KERNEL = SAMPLES / "20-learning-a-kernel.json"


def _d2l_reference(epochs):
    """Epoch losses and final kernel of the d2l run, by the update rule written out."""
    x = np.ones((6, 8))
    x[:, 2:6] = 0.0
    y = x[:, :-1] - x[:, 1:]
    w = np.array([-0.2, 0.3])
    losses = []
    for _ in range(epochs):
        err = w[0] * x[:, :-1] + w[1] * x[:, 1:] - y
        losses.append(float(np.sum(err**2)))
        w = w - 0.03 * np.array([np.sum(2 * err * x[:, :-1]), np.sum(2 * err * x[:, 1:])])
    return losses, w


def _run(capsys, *args):
    code = main(["train", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_matches_the_spec_key_for_key(capsys):
    code, out, err = _run(capsys, KERNEL, "--json")
    assert code == 0 and err == ""
    document = json.loads(out)
    assert list(document) == ["format", "history", "model"]
    assert document["format"] == "visualconv.train/1"
    assert [list(entry) for entry in document["history"]] == [["epoch", "loss"]] * 10
    assert [entry["epoch"] for entry in document["history"]] == list(range(1, 11))
    losses, w = _d2l_reference(10)
    np.testing.assert_allclose([e["loss"] for e in document["history"]], losses, rtol=1e-12)
    model = document["model"]
    assert model["format"] == "visualconv/1"
    original = json.loads(KERNEL.read_text())
    assert model["name"] == original["name"]
    assert model["training"]["learning_rate"] == 0.03
    assert model["layers"][0]["bias"] is None
    np.testing.assert_allclose(np.ravel(model["layers"][0]["weight"]), w, rtol=1e-12)
    trained = loads(json.dumps(model))  # a valid model file
    np.testing.assert_allclose(trained.layers[0].weight.ravel(), w, rtol=1e-12)


def test_epoch_loss_is_the_mean_of_the_epochs_batch_losses(capsys, tmp_path):
    doc = {
        "format": "visualconv/1",
        "name": "two batches",
        "dims": 1,
        "input": [1.0, 2.0, 3.0],
        "layers": [{"type": "conv", "weight": [0.5], "bias": None}],
        "target": [0.0, 0.0, 0.0],
        "loss": {"type": "mse", "reduction": "half_sum"},
        "training": {
            "learning_rate": 0.1,
            "epochs": 1,
            "batch_size": 1,
            "dataset": {
                "kind": "inline",
                "inputs": [[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]],
                "targets": [[0, 0, 0]] * 2,
            },
        },
    }
    file = tmp_path / "m.json"
    file.write_text(json.dumps(doc))
    code, out, _ = _run(capsys, file, "--json")
    assert code == 0
    # batch 1: w = 0.5, y = [0.5, 0, 0], E = 0.125, dE/dw = 0.5 -> w = 0.45
    # batch 2: y = [0.9, 0, 0], E = 0.405
    (entry,) = json.loads(out)["history"]
    assert entry["loss"] == pytest.approx((0.125 + 0.405) / 2, rel=1e-12)


def test_epochs_override_and_out_writes_the_trained_model(capsys, tmp_path):
    out_file = tmp_path / "trained.json"
    code, out, _ = _run(capsys, KERNEL, "--epochs", 3, "--json", "--out", out_file)
    assert code == 0
    document = json.loads(out)
    assert len(document["history"]) == 3
    _, w = _d2l_reference(3)
    saved = load_model(out_file)
    np.testing.assert_allclose(saved.layers[0].weight.ravel(), w, rtol=1e-12)
    assert [p.name for p in tmp_path.iterdir()] == ["trained.json"]  # no temporary file left


def test_plain_output_has_no_progress_bar_when_stderr_is_not_a_terminal(capsys):
    code, out, err = _run(capsys, KERNEL)
    assert code == 0
    assert err == ""
    assert "epoch   10" in out and "loss" in out


def test_divergence_exits_2_with_one_line_naming_the_iteration(capsys, tmp_path):
    doc = json.loads(KERNEL.read_text())
    doc["training"]["learning_rate"] = 10.0
    doc["training"]["epochs"] = 5000
    file = tmp_path / "diverge.json"
    file.write_text(json.dumps(doc))
    code, out, err = _run(capsys, file, "--json")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "diverged at iteration" in err and "smaller learning rate" in err
    assert str(file) in err
    assert "Traceback" not in err


def test_divergence_with_out_keeps_the_last_finite_parameters(capsys, tmp_path):
    doc = json.loads(KERNEL.read_text())
    doc["training"]["learning_rate"] = 10.0
    doc["training"]["epochs"] = 5000
    file = tmp_path / "diverge.json"
    file.write_text(json.dumps(doc))
    kept = tmp_path / "kept.json"
    code, _, err = _run(capsys, file, "--out", kept)
    assert code == 2 and str(kept) in err
    assert np.isfinite(load_model(kept).layers[0].weight).all()


def test_a_model_without_training_is_a_clear_error(capsys):
    code, out, err = _run(capsys, SAMPLES / "02-seed-2d-conv.json", "--json")
    assert code == 2 and out == ""
    assert "training" in err and err.count("\n") == 1


def test_a_bad_dataset_names_its_place(capsys, tmp_path):
    doc = json.loads(KERNEL.read_text())
    doc["training"]["dataset"]["inputs"][0] = [[1.0, 2.0]]
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(doc))
    code, _, err = _run(capsys, file)
    assert code == 2
    assert "training.dataset.inputs[0]" in err

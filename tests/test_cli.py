"""The command line: the spec's output contract, exit codes and readable text."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, SAMPLES

from visualconv.cli import main

SEED_1D = str(ROOT / "sample_models" / "01-seed-1d-conv.json")


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_grad_json_of_the_seed_prints_the_documents_numbers(capsys):
    code, out, err = run_cli(capsys, "grad", SEED_1D, "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["format"] == "visualconv.grad/1"
    assert doc["loss"] is None
    (layer,) = doc["layers"]
    assert list(layer) == [
        "index", "type", "pre_activation", "output", "grad_output",
        "grad_pre_activation", "grad_weight", "grad_bias", "grad_input",
    ]  # fmt: skip
    assert layer["index"] == 0 and layer["type"] == "conv"
    np.testing.assert_allclose(layer["pre_activation"], [[1.3, 2.1]], atol=1e-15)
    np.testing.assert_allclose(layer["output"], [[1.3, 2.1]], atol=1e-15)
    np.testing.assert_allclose(layer["grad_output"], [[-0.1, 0.2]], atol=1e-15)
    np.testing.assert_allclose(layer["grad_weight"], [[[0.3, 0.4]]], atol=1e-15)
    np.testing.assert_allclose(layer["grad_bias"], [0.1], atol=1e-15)
    np.testing.assert_allclose(layer["grad_input"], [[-0.03, 0.01, 0.1]], atol=1e-15)
    # Canonical shapes: (C, L) activations, (C_out, C_in, K) weight.
    assert np.shape(layer["grad_weight"]) == (1, 1, 2)
    assert np.shape(layer["grad_input"]) == (1, 3)


def test_grad_json_floats_round_trip(capsys):
    _, out, _ = run_cli(capsys, "grad", SEED_1D, "--json")
    import visualconv as vc

    expected = vc.grad(vc.load_model(SEED_1D))["layers"][0]["grad_weight"]
    assert np.array_equal(np.array(json.loads(out)["layers"][0]["grad_weight"]), expected)


def test_grad_json_pool_and_dense_keys(capsys):
    _, out, _ = run_cli(
        capsys, "grad", str(ROOT / "sample_models" / "12-small-cnn-cross-entropy.json"), "--json"
    )
    doc = json.loads(out)
    assert isinstance(doc["loss"], float)
    keys = {layer["type"]: list(layer) for layer in doc["layers"]}
    assert keys["pool"] == ["index", "type", "output", "grad_output", "grad_input"]
    assert keys["flatten"] == ["index", "type", "output", "grad_output", "grad_input"]
    assert keys["dense"] == keys["conv"]


def test_grad_bias_null_gives_null(tmp_path, capsys):
    path = tmp_path / "nobias.json"
    path.write_text(json.dumps({
        "format": "visualconv/1", "name": "n", "input": [1, 2, 3],
        "layers": [{"type": "conv", "weight": [0.3, 0.5], "bias": None}], "upstream": [-0.1, 0.2],
    }))  # fmt: skip
    code, out, _ = run_cli(capsys, "grad", str(path), "--json")
    assert code == 0
    assert json.loads(out)["layers"][0]["grad_bias"] is None


def test_grad_table_is_readable(capsys):
    code, out, _ = run_cli(capsys, "grad", SEED_1D)
    assert code == 0
    assert "grad_weight" in out and "[[[0.3, 0.4]]]" in out


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_every_sample_passes_check(path, capsys):
    code, out, _ = run_cli(capsys, "check", str(path))
    assert code == 0, out
    assert "all gradients agree" in out


def test_check_reports_a_mismatch_with_exit_1(monkeypatch, capsys):
    import visualconv.engine.layers as layers

    original = layers.ConvLayer.backward

    def wrong(self, *args):
        g = original(self, *args)
        return layers.LayerGrads(g.grad_input, g.grad_pre_activation, g.grad_weight * 1.01, g.grad_bias)

    monkeypatch.setattr(layers.ConvLayer, "backward", wrong)
    code, out, _ = run_cli(capsys, "check", SEED_1D)
    assert code == 1
    assert "MISMATCH" in out and "layers[0].weight" in out


def test_steps_prints_each_overlay_in_the_seeds_style(capsys):
    code, out, _ = run_cli(capsys, "steps", SEED_1D, "--layer", "0", "--pass", "backward")
    assert code == 0
    assert "overlay 1: dW += [1*-0.1, 2*-0.1] -> [-0.1, -0.2]" in out
    assert "overlay 2: dW += [2*0.2, 3*0.2] -> [0.3, 0.4]" in out
    assert "dA_prev = [-0.03, 0.01, 0.1]" in out
    code, out, _ = run_cli(capsys, "steps", SEED_1D, "--pass", "forward", "--step", "2")
    assert "z[1] = 2*0.3 + 3*0.5 + 0 = 2.1" in out


@pytest.mark.parametrize(
    "args",
    [
        ("steps", SEED_1D, "--layer", "5"),
        ("steps", SEED_1D, "--step", "99"),
        ("grad", "no-such-file.json"),
        ("steps", SEED_1D, "--pass", "sideways"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, capsys):
    code, _, err = run_cli(capsys, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_forward_only_model_asked_for_gradients_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "fwd.json"
    path.write_text(json.dumps({"format": "visualconv/1", "name": "f", "input": [1, 2, 3],
                                "layers": [{"type": "conv", "weight": [1, 1]}]}))  # fmt: skip
    code, _, err = run_cli(capsys, "grad", str(path))
    assert code == 2
    assert str(path) in err and "upstream" in err


def test_python_dash_m_runs_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "visualconv", "grad", SEED_1D, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["layers"][0]["grad_bias"] == pytest.approx([0.1])

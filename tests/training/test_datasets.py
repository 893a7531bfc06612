"""Dataset kinds: validation with placed errors, and what each kind builds. No Qt."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from visualconv.engine import datasets
from visualconv.engine.errors import ModelError
from visualconv.modelfile import loads


def _document(dataset, *, input_=None, layers=None, target=None, loss=None):
    return {
        "format": "visualconv/1",
        "name": "dataset test",
        "input": input_ if input_ is not None else np.zeros((6, 6)).tolist(),
        "layers": layers if layers is not None else [{"type": "conv", "weight": np.zeros((3, 3)).tolist()}],
        "target": target if target is not None else np.zeros((4, 4)).tolist(),
        "loss": loss or {"type": "mse"},
        "training": {"dataset": dataset},
    }


def _load(dataset, **kwargs):
    return loads(json.dumps(_document(dataset, **kwargs)), "m.json")


CLASSIFIER = [
    {"type": "conv", "weight": np.full((2, 1, 3, 3), 0.1).tolist(), "activation": "tanh"},
    {"type": "pool", "mode": "max", "size": 2},
    {"type": "flatten"},
    {"type": "dense", "weight": np.full((3, 8), 0.1).tolist()},
]


# ---------------------------------------------------------------- inline


def test_inline_examples_follow_the_input_and_target_shorthand():
    x = np.arange(36.0).reshape(6, 6)
    model = _load(
        {"kind": "inline", "inputs": [x.tolist(), [x.tolist()]], "targets": [np.ones((4, 4)).tolist()] * 2}
    )
    inputs, targets = datasets.materialise(model.training.dataset, model)
    assert inputs.shape == (2, 1, 6, 6) and inputs.dtype == np.float64
    assert targets.shape == (2, 1, 4, 4)
    np.testing.assert_array_equal(inputs[1, 0], x)


@pytest.mark.parametrize(
    ("dataset", "place", "words"),
    [
        (
            {
                "kind": "inline",
                "inputs": [[[0.0] * 6] * 6, [[0.0] * 5] * 6],
                "targets": [[[0.0] * 4] * 4] * 2,
            },
            "training.dataset.inputs[1]",
            "shape",
        ),
        (
            {"kind": "inline", "inputs": [[[0.0] * 6] * 6], "targets": []},
            "training.dataset.targets",
            "non-empty",
        ),
        (
            {"kind": "inline", "inputs": [[[0.0] * 6] * 6] * 2, "targets": [[[0.0] * 4] * 4]},
            "training.dataset.targets",
            "one target per input",
        ),
        (
            {"kind": "inline", "inputs": [[[0.0] * 6] * 6], "targets": [[[0.0] * 4] * 4], "input": 1},
            "training.dataset",
            "unknown key 'input'",
        ),
        ({"kind": "csv"}, "training.dataset.kind", "expected one of"),
        (
            {"kind": "inline", "inputs": [[[0.0] * 6] * 6]},
            "training.dataset",
            "missing required key 'targets'",
        ),
        (
            {"kind": "inline", "inputs": [[[0.0] * 6] * 5 + [[0.0] * 5]], "targets": [[[0.0] * 4] * 4]},
            "training.dataset.inputs[0][5]",
            "ragged",
        ),
        ({"kind": "teacher"}, "training.dataset", "missing required key 'kernel'"),
        ({"kind": "teacher", "kernel": "sobel_z"}, "training.dataset.kernel", "sobel_x"),
        ({"kind": "teacher", "kernel": "edge"}, "training.dataset.kernel", "shape"),
        ({"kind": "teacher", "kernel": "sobel_x", "count": 0}, "training.dataset.count", "integer"),
        ({"kind": "teacher", "kernel": "sobel_x", "size": 2}, "training.dataset.size", "do not fit"),
        ({"kind": "shapes"}, "training.dataset", "classes"),
    ],
)
def test_problems_are_reported_with_their_place(dataset, place, words):
    with pytest.raises(ModelError) as info:
        _load(dataset)
    assert info.value.place == place
    assert info.value.file == "m.json"
    assert words in info.value.message


def test_cross_entropy_targets_are_class_indices():
    x = np.zeros((6, 6)).tolist()
    ok = {"kind": "inline", "inputs": [x, x], "targets": [0, 2]}
    model = _load(ok, layers=CLASSIFIER, target=1, loss={"type": "cross_entropy"})
    _, targets = datasets.materialise(model.training.dataset, model)
    assert targets.dtype == np.int64 and targets.tolist() == [0, 2]
    with pytest.raises(ModelError) as info:
        _load({**ok, "targets": [0, 3]}, layers=CLASSIFIER, target=1, loss={"type": "cross_entropy"})
    assert info.value.place == "training.dataset.targets[1]"


# ---------------------------------------------------------------- teacher


def test_teacher_targets_are_the_teacher_kernel_applied_to_the_images():
    model = _load({"kind": "teacher", "kernel": "sobel_x", "count": 5, "seed": 3, "bias": 0.5})
    inputs, targets = datasets.materialise(model.training.dataset, model)
    assert inputs.shape == (5, 1, 6, 6) and targets.shape == (5, 1, 4, 4)
    assert 0 <= inputs.min() and inputs.max() < 1
    sobel = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    for x, t in zip(inputs[:, 0], targets[:, 0], strict=True):
        for i in range(4):
            for j in range(4):
                value = sum(sobel[m][n] * x[i + m, j + n] for m in range(3) for n in range(3)) + 0.5
                assert t[i, j] == pytest.approx(value, abs=1e-12)
    again, _ = datasets.materialise(model.training.dataset, model)
    np.testing.assert_array_equal(again, inputs)


def test_teacher_size_and_noise():
    model = _load(
        {"kind": "teacher", "kernel": [[1, 0, 0], [0, 0, 0], [0, 0, 0]], "size": [7, 9], "noise": 0.5}
    )
    inputs, targets = datasets.materialise(model.training.dataset, model)
    assert inputs.shape == (32, 1, 7, 9) and targets.shape == (32, 1, 5, 7)
    residual = targets[:, 0] - inputs[:, 0, :5, :7]
    assert 0.3 < residual.std() < 0.7


def test_teacher_needs_mse():
    with pytest.raises(ModelError, match="mse"):
        _load(
            {"kind": "teacher", "kernel": "sobel_x"},
            layers=CLASSIFIER,
            target=0,
            loss={"type": "cross_entropy"},
        )


# ---------------------------------------------------------------- shapes


def test_shapes_are_balanced_labelled_and_drawn_as_their_class():
    dataset = {"kind": "shapes", "classes": ["hbar", "vbar", "cross", "square"], "count": 40, "noise": 0.0}
    layers = [{"type": "flatten"}, {"type": "dense", "weight": np.zeros((4, 64)).tolist()}]
    model = _load(
        dataset, input_=np.zeros((8, 8)).tolist(), layers=layers, target=0, loss={"type": "cross_entropy"}
    )
    inputs, labels = datasets.materialise(model.training.dataset, model)
    assert inputs.shape == (40, 1, 8, 8)
    assert np.bincount(labels).tolist() == [10, 10, 10, 10]
    for image, label in zip(inputs[:, 0], labels, strict=True):
        rows, cols = np.nonzero(image)
        assert set(np.unique(image)) <= {0.0, 1.0}
        if label == 0:
            assert len(set(rows)) == 1 and len(cols) >= 3
        elif label == 1:
            assert len(set(cols)) == 1 and len(rows) >= 3
        elif label == 2:  # a plus sign: one full row segment and one column segment through its centre
            r = int(np.median(rows))
            c = int(np.median(cols))
            assert image[r, c] == 1 and image[r - 1, c] == 1 and image[r, c - 1] == 1
            assert image[r - 1, c - 1] == 0
        else:  # a square outline with an empty inside
            top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
            assert bottom - top == right - left >= 2
            assert image[top, left : right + 1].all() and image[bottom, left : right + 1].all()
            assert image[top + 1 : bottom, left + 1 : right].sum() == 0


def test_shapes_with_mse_get_one_hot_targets():
    layers = [{"type": "flatten"}, {"type": "dense", "weight": np.zeros((3, 64)).tolist()}]
    model = _load(
        {"kind": "shapes", "count": 6}, input_=np.zeros((8, 8)).tolist(), layers=layers, target=[0, 0, 1]
    )
    _, targets = datasets.materialise(model.training.dataset, model)
    assert targets.shape == (6, 3)
    np.testing.assert_array_equal(targets.sum(axis=1), 1.0)


def test_shapes_need_as_many_outputs_as_classes():
    with pytest.raises(ModelError, match="3 classes") as info:
        _load(
            {"kind": "shapes"},
            input_=np.zeros((8, 8)).tolist(),
            layers=[*CLASSIFIER[:3], {"type": "dense", "weight": np.full((2, 18), 0.1).tolist()}],
            target=0,
            loss={"type": "cross_entropy"},
        )
    assert info.value.place == "training.dataset"


# ---------------------------------------------------------------- digits


DIGITS_LAYERS = [{"type": "flatten"}, {"type": "dense", "weight": np.zeros((3, 64)).tolist()}]


def test_digits_without_scikit_learn_explain_how_to_get_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a)
    )
    model = _load(
        {"kind": "digits", "digits": [0, 1, 7]},
        input_=np.zeros((8, 8)).tolist(),
        layers=DIGITS_LAYERS,
        target=0,
        loss={"type": "cross_entropy"},
    )  # loads fine
    assert datasets.available("digits") is not None
    with pytest.raises(ModelError) as info:
        datasets.materialise(model.training.dataset, model)
    assert "pip install scikit-learn" in str(info.value)
    assert "digits" in str(info.value)


def test_digits_with_scikit_learn():
    pytest.importorskip("sklearn")
    model = _load(
        {"kind": "digits", "digits": [0, 1, 7], "count": 50},
        input_=np.zeros((8, 8)).tolist(),
        layers=DIGITS_LAYERS,
        target=0,
        loss={"type": "cross_entropy"},
    )
    inputs, labels = datasets.materialise(model.training.dataset, model)
    assert inputs.shape == (50, 1, 8, 8)
    assert 0 <= inputs.min() and inputs.max() <= 1
    assert set(labels.tolist()) <= {0, 1, 2}


def test_digits_need_an_8x8_input():
    with pytest.raises(ModelError, match="8x8"):
        _load({"kind": "digits"})

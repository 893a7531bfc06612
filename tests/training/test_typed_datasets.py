"""A file's training dataset is checked once, on load, into a typed frozen spec."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from helpers import ROOT

from visualconv.engine import datasets
from visualconv.engine.errors import ModelError
from visualconv.modelfile import load_model, model_document

SAMPLES = ROOT / "sample_models"


def test_a_teacher_section_becomes_a_typed_spec_with_the_files_values():
    model = load_model(SAMPLES / "21-teacher-sobel.json")
    dataset = model.training.dataset
    assert isinstance(dataset, datasets.TeacherDataset)
    written = json.loads((SAMPLES / "21-teacher-sobel.json").read_text("utf-8"))["training"]["dataset"]
    assert dict(dataset.written) == written  # kind teacher, kernel sobel_x, count 32, seed 1
    assert (dataset.count, dataset.seed, dataset.noise, dataset.layer) == (32, 1, 0.0, 0)
    np.testing.assert_array_equal(dataset.teacher.weight[0, 0], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    with pytest.raises(dataclasses.FrozenInstanceError):
        dataset.count = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        dataset.written["count"] = 3  # type: ignore[index]


def test_inline_examples_are_canonical_read_only_arrays():
    model = load_model(SAMPLES / "20-learning-a-kernel.json")
    dataset = model.training.dataset
    assert isinstance(dataset, datasets.InlineDataset)
    written = dataset.written
    assert dataset.inputs.shape == (len(written["inputs"]), *model.input.shape)
    assert dataset.targets.shape == (len(written["targets"]), *model.shapes()[-1])
    assert not dataset.inputs.flags.writeable and not dataset.targets.flags.writeable


@pytest.mark.parametrize("name", ["20-learning-a-kernel", "21-teacher-sobel", "22-shapes-classifier"])
def test_building_the_examples_does_not_check_the_section_again(name, monkeypatch):
    model = load_model(SAMPLES / f"{name}.json")

    def checked_again(*args, **kwargs):
        raise AssertionError("the dataset was checked again")

    monkeypatch.setattr(datasets, "_check", checked_again)
    inputs, targets = datasets.materialise(model.training.dataset, model)
    assert len(inputs) == len(targets) > 0


def test_a_section_as_written_is_still_checked_when_built():
    model = load_model(SAMPLES / "21-teacher-sobel.json")
    with pytest.raises(ModelError, match="sobel_x") as info:
        datasets.materialise({"kind": "teacher", "kernel": "sobel_z"}, model)
    assert info.value.place == "training.dataset.kernel"


@pytest.mark.parametrize("name", ["20-learning-a-kernel", "21-teacher-sobel", "22-shapes-classifier"])
def test_the_section_is_written_back_as_it_was_written(name):
    path = SAMPLES / f"{name}.json"
    written = json.loads(path.read_text("utf-8"))["training"]["dataset"]
    assert model_document(load_model(path))["training"]["dataset"] == written

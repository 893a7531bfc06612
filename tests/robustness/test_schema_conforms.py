"""The quick schema check answers as jsonschema does, and reading a valid file never imports jsonschema.

:func:`visualconv.modelfile.conforms.conforms` decides validity without ``jsonschema``;
its "yes" skips the validator, so it must never differ from ``jsonschema``'s verdict
(with the format's integers) on anything a model file can hold: the samples, the
malformed-file corpus and thousands of hypothesis mutations of the samples.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings

from visualconv.modelfile.conforms import conforms
from visualconv.modelfile.schema import _validator, schema

from .corpus import CASES
from .test_mutations import DOCUMENTS, NAMES, ROOT, SETTINGS, mutated_document


def jsonschema_says(document: object) -> bool:
    return not any(True for _ in _validator().iter_errors(document))


@pytest.mark.parametrize("name", NAMES)
def test_every_sample_conforms(name):
    assert jsonschema_says(DOCUMENTS[name])
    assert conforms(DOCUMENTS[name], schema()) is True


def test_the_malformed_corpus_is_judged_as_jsonschema_judges_it():
    judged = 0
    for name, content, _place in CASES:
        try:
            document = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue  # not JSON, or too deep: rejected before the schema
        assert conforms(document, schema()) is jsonschema_says(document), name
        judged += 1
    assert judged > 50


@settings(max_examples=600, **SETTINGS)
@given(mutated_document())
def test_mutated_samples_are_judged_as_jsonschema_judges_them(document):
    # Decided every time (None would mean the schema uses more than the quick check knows).
    assert conforms(document, schema()) is jsonschema_says(document)


@pytest.mark.parametrize(
    ("place", "value", "valid"),
    [
        (("dims",), 2, True),
        (("dims",), 2.0, False),  # the format's integers: no decimal point
        (("dims",), True, False),  # and no booleans, though True == 1
        (("dims",), 3, False),
        (("layers", 0, "stride"), [1, 2], True),
        (("layers", 0, "stride"), [1, 2, 3], False),
        (("layers", 0, "stride"), [], False),
        (("layers", 0, "stride"), 0, False),
        (("layers", 0, "stride"), 2147483648, False),
        (("layers", 0, "padding"), "same", True),
        (("layers", 0, "padding"), "full", False),
        (("layers", 0, "padding"), [0, 1], True),
        (("layers", 0, "type"), "pool", False),  # a pool needs mode and size; conv's keys are extra
        (("layers", 0, "activation"), "relu", True),
        (("layers", 0, "activation"), "ReLU", False),
        (("layers", 0, "kernel"), 3, False),  # an unknown key
        (("name",), "", False),
        (("loss",), {"type": "mse", "reduction": "mean"}, True),
        (("loss",), {"type": "mse", "reduction": "avg"}, False),
    ],
)
def test_hand_picked_places(place, value, valid):
    document = copy.deepcopy(DOCUMENTS["01-seed-1d-conv.json"])
    node = document
    for part in place[:-1]:
        node = node[part]
    node[place[-1]] = value
    assert jsonschema_says(document) is valid
    assert conforms(document, schema()) is valid


def test_training_bounds_are_judged_as_jsonschema_judges_them():
    base = DOCUMENTS["23-seed-sgd-step.json"]
    for key, value in [
        ("learning_rate", 0),
        ("learning_rate", 1e-9),
        ("momentum", 1),
        ("momentum", 0.999),
        ("momentum", -0.0),
        ("epochs", 100000),
        ("epochs", 100001),
        ("batch_size", "full"),
        ("batch_size", 0),
        ("shuffle", 1),
        ("optimizer", "adam"),
    ]:
        document = copy.deepcopy(base)
        document["training"][key] = value
        assert conforms(document, schema()) is jsonschema_says(document), (key, value)


def test_what_it_cannot_decide_it_leaves_to_jsonschema():
    document = copy.deepcopy(DOCUMENTS["01-seed-1d-conv.json"])
    document["dims"] = np.int64(1)  # not plain JSON
    assert conforms(document, schema()) is None
    unknown = {**schema(), "patternProperties": {"^x-": {}}}
    assert conforms(DOCUMENTS["01-seed-1d-conv.json"], unknown) is None
    elsewhere = {"$ref": "https://example.org/other.json"}
    assert conforms(1, elsewhere) is None


def test_reading_a_valid_model_does_not_import_jsonschema_and_a_bad_one_still_explains():
    seed = ROOT / "sample_models" / "01-seed-1d-conv.json"
    code = (
        "import sys, visualconv, visualconv.modelfile\n"
        f"visualconv.load_model({str(seed)!r})\n"
        "print('jsonschema' in sys.modules)\n"
        "try:\n"
        '    visualconv.modelfile.loads(\'{"format": "visualconv/1", "name": "x", "input": [1], '
        '"layers": [{"type": "conv", "weight": [1], "stride": 0}]}\', "bad.json")\n'
        "except visualconv.ModelError as exc:\n"
        "    print(exc)\n"
        "print('jsonschema' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT, check=True
    )
    before, message, after = result.stdout.splitlines()
    assert before == "False"
    assert message.startswith("bad.json: layers[0].stride: expected ")
    assert after == "True"

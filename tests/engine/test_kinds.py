"""The layer-kind registry and what every registered kind must answer."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources

import numpy as np
import pytest

from visualconv.engine import kinds
from visualconv.engine.errors import ModelError
from visualconv.engine.kinds.base import Fields, LayerTrace, walk_shapes
from visualconv.engine.kinds.loss import NO_BACKWARD, LossSpec, start_backward
from visualconv.engine.model import make_model
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import loads, model_document

# One small model per kind: the kind's layer is layer 0 or right after a flatten.
CASES = {
    "conv": [
        kinds.ConvLayer(np.arange(8.0).reshape(2, 1, 2, 2) / 10, np.array([0.1, -0.2]), activation="relu")
    ],
    "pool": [kinds.PoolLayer("max", (2, 2), (1, 1))],
    "flatten": [kinds.FlattenLayer()],
    "dense": [
        kinds.FlattenLayer(),
        kinds.DenseLayer(np.linspace(-1, 1, 27).reshape(3, 9), np.zeros(3), "tanh"),
    ],
    "conv_transpose": [
        kinds.ConvTransposeLayer(
            np.arange(8.0).reshape(1, 2, 2, 2) / 10,
            np.array([0.1, -0.2]),
            (2, 2),
            (1, 1),
            (1, 1),
            (1, 1),
            "tanh",
        )
    ],
}


def _model(type_name):
    layers = CASES[type_name]
    x = np.arange(9.0).reshape(1, 3, 3) - 4
    out = walk_shapes((1, 3, 3), layers)[-1]
    return make_model(type_name, x, layers, upstream=np.linspace(-1, 1, int(np.prod(out))).reshape(out))


def test_the_registry_maps_every_file_type_to_its_kind():
    assert kinds.TYPES == ("conv", "pool", "flatten", "dense", "conv_transpose")
    for name in kinds.TYPES:
        kind = kinds.by_type(name)
        assert kind.type == name
        assert CASES[name][-1].kind is kind is kinds.of(CASES[name][-1])
    with pytest.raises(KeyError):
        kinds.by_type("lstm")


def test_capabilities():
    table = {name: (k.has_weights, k.has_activation, k.windowed) for name, k in kinds.REGISTRY.items()}
    assert table == {
        "conv": (True, True, True),
        "pool": (False, False, True),
        "flatten": (False, False, False),
        "dense": (True, True, False),
        "conv_transpose": (True, True, True),
    }
    assert [name for name, k in kinds.REGISTRY.items() if k.has_closed_form] == ["conv"]


def test_the_shipped_schema_is_the_kinds_fragments():
    text = resources.files("visualconv").joinpath("schema/model.schema.json").read_text("utf-8")
    defs = json.loads(text)["$defs"]
    assert defs["layer"] == kinds.layer_schema()
    for name in kinds.TYPES:
        assert defs[name] == kinds.by_type(name).schema


@pytest.mark.parametrize("name", kinds.TYPES)
@pytest.mark.parametrize("pass_name", ["forward", "backward"])
def test_layer_trace_builds_the_kinds_trace_class_with_typed_frozen_steps(name, pass_name):
    model = _model(name)
    index = len(model.layers) - 1
    trace = trace_layer(model, index, pass_name)
    kind = model.layers[index].kind
    assert type(trace) is kind.trace_class(pass_name)
    assert isinstance(trace, LayerTrace) and trace.kind is kind
    first, last = trace.step(0), trace.step(trace.n)
    assert first.overlay is None and first.operands is None and first.values is None
    assert last.overlay is not None and last.values is not None
    for part in (last.state, last.values) + (() if last.operands is None else (last.operands,)):
        assert isinstance(part, Fields)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(part, dataclasses.fields(part)[0].name, None)
    # every array of the state is read-only
    for value in last.state.as_dict().values():
        assert not value.flags.writeable


@pytest.mark.parametrize("name", kinds.TYPES)
def test_the_kind_writes_and_reads_its_file_object(name):
    model = _model(name)
    doc = model_document(model)
    again = loads(json.dumps(doc))
    for before, after in zip(model.layers, again.layers, strict=True):
        assert type(after) is type(before)
        assert before.kind.to_document(before, 2) == after.kind.to_document(after, 2)
        assert before.kind.to_document(before, 2)["type"] == before.type


@pytest.mark.parametrize("name", kinds.TYPES)
def test_check_shape_agrees_with_the_layers_shape_rule(name):
    model = _model(name)
    shape = tuple(model.input.shape)
    for layer in model.layers:
        out, elements, _, _ = layer.kind.check_shape(layer, shape, "layers[0]", "the model's input")
        assert out == layer.output_shape(shape)
        assert elements > 0
        shape = out


def test_one_start_of_the_backward_pass():
    out = np.array([[1.0, 2.0]])
    assert start_backward(None, None, None, out) is None
    assert start_backward(None, np.array([0.0, 0.0]), None, out) is None  # a target without a loss
    loss, grad = start_backward(None, np.array([0.0, 1.0]), LossSpec("mse", "half_sum"), out)
    assert loss == pytest.approx(0.5 * (1 + 1)) and grad.tolist() == [[1.0, 1.0]]
    loss, grad = start_backward(np.array([3.0, 4.0]), np.array([0.0, 1.0]), LossSpec(), out)
    assert loss is None and grad.tolist() == [[3.0, 4.0]]  # upstream wins
    with pytest.raises(ModelError) as err:
        start_backward(np.array([1.0]), None, None, out)
    assert err.value.place == "upstream"


def test_a_backward_trace_without_a_start_says_the_one_sentence():
    model = make_model("m", np.zeros((1, 2, 2)), [kinds.PoolLayer("max", (1, 1), (1, 1))])
    with pytest.raises(ValueError, match=NO_BACKWARD):
        trace_layer(model, 0, "backward")


def test_the_registry_and_the_kinds_names_are_the_kinds_own_objects():
    # The kinds but conv load on first use; the names the package exports are the modules' objects.
    from visualconv.engine.kinds import conv_transpose, dense, flatten, pool

    assert kinds.POOL is pool.POOL is kinds.REGISTRY["pool"] and kinds.PoolLayer is pool.PoolLayer
    assert kinds.DENSE is dense.DENSE and kinds.DenseLayer is dense.DenseLayer
    assert kinds.FLATTEN is flatten.FLATTEN and kinds.FlattenLayer is flatten.FlattenLayer
    assert kinds.CONV_TRANSPOSE is conv_transpose.CONV_TRANSPOSE
    assert kinds.ConvTransposeLayer is conv_transpose.ConvTransposeLayer
    assert "lstm" not in kinds.REGISTRY and len(kinds.REGISTRY) == len(kinds.TYPES) == 5
    with pytest.raises(AttributeError):
        kinds.LSTM  # noqa: B018

"""Model files: shorthand shapes, dims, bias, int-or-pair fields, round trips, saving, the schema."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

import visualconv
from visualconv import ModelError
from visualconv.engine.layers import ConvLayer, DenseLayer, FlattenLayer, PoolLayer
from visualconv.engine.model import Model, gradients, make_model
from visualconv.modelfile import (
    MEMORY_BUDGET_BYTES,
    check_memory,
    dumps,
    estimated_bytes,
    load_model,
    loads,
    model_document,
    model_from_document,
    save_model,
    schema,
    schema_path,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "sample_models").glob("*.json"))


def _model(**fields: Any) -> Model:
    document = {"format": "visualconv/1", "name": "t", **fields}
    return loads(json.dumps(document), "t.json")


def _conv(**fields: Any) -> dict[str, Any]:
    return {"type": "conv", **fields}


# ---------------------------------------------------------------- shorthand shapes


def test_one_d_shorthand_prepends_size_one_axes() -> None:
    model = _model(dims=1, input=[1, 2, 3], layers=[_conv(weight=[0.3, 0.5])], upstream=[-0.1, 0.2])
    assert model.input.shape == (1, 3)
    assert model.layers[0].weight.shape == (1, 1, 2)
    assert model.upstream is not None and model.upstream.shape == (1, 2)
    np.testing.assert_array_equal(model.layers[0].weight, [[[0.3, 0.5]]])


def test_two_d_shorthand_prepends_size_one_axes() -> None:
    image = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    model = _model(input=image, layers=[_conv(weight=[[1, 0], [0, 1]])], upstream=[[1, 2], [3, 4]])
    assert model.dims == 2
    assert model.input.shape == (1, 3, 3)
    assert model.layers[0].weight.shape == (1, 1, 2, 2)
    assert model.upstream is not None and model.upstream.shape == (1, 2, 2)
    np.testing.assert_array_equal(model.input[0], image)


def test_written_out_leading_axes_equal_the_shorthand() -> None:
    short = _model(input=[[1, 2], [3, 4]], layers=[_conv(weight=[[1, -1]])], upstream=[[1], [2]])
    full = _model(input=[[[1, 2], [3, 4]]], layers=[_conv(weight=[[[[1, -1]]]])], upstream=[[[1], [2]]])
    np.testing.assert_array_equal(short.input, full.input)
    np.testing.assert_array_equal(short.layers[0].weight, full.layers[0].weight)
    np.testing.assert_array_equal(short.upstream, full.upstream)


def test_a_multichannel_weight_keeps_its_axes() -> None:
    weight = [[[[1, 0], [0, 1]], [[0, 1], [1, 0]]]]  # (1, 2, 2, 2)
    model = _model(input=[[[1, 2], [3, 4]], [[5, 6], [7, 8]]], layers=[_conv(weight=weight[0])])
    assert model.input.shape == (2, 2, 2)
    assert model.layers[0].weight.shape == (1, 2, 2, 2)


def test_a_bare_number_is_an_array_of_size_one_axes() -> None:
    model = _model(dims=1, input=[4], layers=[_conv(weight=2)], upstream=1.5)
    assert model.input.shape == (1, 1) and model.layers[0].weight.shape == (1, 1, 1)
    assert model.upstream is not None and model.upstream.shape == (1, 1)
    np.testing.assert_array_equal(gradients(model)["layers"][0]["grad_weight"], [[[6.0]]])


def test_dense_weight_shorthand_and_an_mse_target() -> None:
    model = _model(
        dims=1,
        input=[1, 2],
        layers=[{"type": "flatten"}, {"type": "dense", "weight": [0.5, -0.5]}],
        target=[0.25],
        loss={"type": "mse"},
    )
    assert model.layers[1].weight.shape == (1, 2)
    assert isinstance(model.target, np.ndarray) and model.target.shape == (1,)


def test_every_number_is_float64() -> None:
    model = _model(dims=1, input=[1, 2, 3], layers=[_conv(weight=[1, 2])])
    assert model.input.dtype == np.float64 and model.layers[0].weight.dtype == np.float64


# ---------------------------------------------------------------- dims


def test_dims_is_inferred_from_the_input() -> None:
    assert _model(input=[1, 2, 3], layers=[{"type": "flatten"}]).dims == 1
    assert _model(input=[[1, 2, 3]], layers=[{"type": "flatten"}]).dims == 2
    assert _model(input=[[[1, 2, 3]]], layers=[{"type": "flatten"}]).dims == 2


def test_explicit_dims_overrides_the_inference() -> None:
    one_d = _model(dims=1, input=[[1, 2, 3], [4, 5, 6]], layers=[{"type": "flatten"}])
    assert one_d.dims == 1 and one_d.input.shape == (2, 3)
    two_d = _model(dims=2, input=[1, 2, 3], layers=[{"type": "flatten"}])
    assert two_d.dims == 2 and two_d.input.shape == (1, 1, 3)


def test_a_one_d_model_refuses_a_three_axis_input() -> None:
    with pytest.raises(ModelError, match=r"input"):
        _model(dims=1, input=[[[1, 2, 3]]], layers=[{"type": "flatten"}])


# ---------------------------------------------------------------- bias


def test_bias_absent_means_zeros() -> None:
    model = _model(input=[[1, 2], [3, 4]], layers=[_conv(weight=[[[[1]]], [[[2]]]])])
    np.testing.assert_array_equal(model.layers[0].bias, [0.0, 0.0])


def test_bias_null_means_no_bias_term() -> None:
    model = _model(input=[[1, 2], [3, 4]], layers=[_conv(weight=[[1]], bias=None)], upstream=[[1, 1], [1, 1]])
    assert model.layers[0].bias is None
    assert gradients(model)["layers"][0]["grad_bias"] is None


def test_bias_number_and_list() -> None:
    one = _model(input=[[1, 2], [3, 4]], layers=[_conv(weight=[[1]], bias=0.5)])
    np.testing.assert_array_equal(one.layers[0].bias, [0.5])
    two = _model(input=[[1, 2], [3, 4]], layers=[_conv(weight=[[[[1]]], [[[2]]]], bias=[0.5, -1])])
    np.testing.assert_array_equal(two.layers[0].bias, [0.5, -1.0])


def test_dense_bias_null_absent_and_list() -> None:
    def dense(**bias: Any) -> Any:
        layers = [{"type": "flatten"}, {"type": "dense", "weight": [[1, 2], [3, 4]], **bias}]
        return _model(dims=1, input=[1, 2], layers=layers).layers[1].bias

    np.testing.assert_array_equal(dense(), [0.0, 0.0])
    assert dense(bias=None) is None
    np.testing.assert_array_equal(dense(bias=[1, 2]), [1.0, 2.0])


def test_a_bias_of_the_wrong_length_is_placed() -> None:
    with pytest.raises(ModelError) as info:
        _model(input=[[1, 2], [3, 4]], layers=[_conv(weight=[[1]], bias=[1, 2])])
    assert info.value.place == "layers[0].bias" and "expected 1 bias value" in info.value.message


# ---------------------------------------------------------------- int-or-pair fields


def _layer(dims: int, **settings: Any) -> Any:
    image = [1, 2, 3, 4, 5, 6] if dims == 1 else [[1, 2, 3, 4, 5, 6]] * 6
    weight = [1, 1] if dims == 1 else [[1, 1], [1, 1]]
    return _model(dims=dims, input=image, layers=[_conv(weight=weight, **settings)]).layers[0]


def test_an_int_means_both_axes() -> None:
    layer = _layer(2, stride=2, padding=1, dilation=3)
    assert (layer.stride, layer.padding, layer.dilation) == ((2, 2), (1, 1), (3, 3))


def test_a_pair_gives_rows_and_columns() -> None:
    layer = _layer(2, stride=[1, 2], padding=[0, 1], dilation=[2, 1])
    assert (layer.stride, layer.padding, layer.dilation) == ((1, 2), (0, 1), (2, 1))


def test_a_one_item_list_means_both_axes() -> None:
    assert _layer(2, stride=[2]).stride == (2, 2)


def test_defaults() -> None:
    layer = _layer(2)
    assert (layer.stride, layer.padding, layer.dilation, layer.activation) == (
        (1, 1),
        (0, 0),
        (1, 1),
        "identity",
    )


def test_one_d_settings_act_on_the_length_axis() -> None:
    layer = _layer(1, stride=2, padding=1, dilation=2)
    assert (layer.stride, layer.padding, layer.dilation) == ((1, 2), (0, 1), (1, 2))


def test_one_d_refuses_a_pair() -> None:
    with pytest.raises(ModelError) as info:
        _layer(1, stride=[1, 2])
    assert info.value.place == "layers[0].stride" and "1-D" in info.value.message


def test_pool_stride_defaults_to_the_size() -> None:
    model = _model(input=[[1, 2, 3, 4]] * 4, layers=[{"type": "pool", "mode": "avg", "size": [2, 1]}])
    pool = model.layers[0]
    assert isinstance(pool, PoolLayer) and pool.size == (2, 1) and pool.stride == (2, 1)
    overlapping = _model(
        input=[[1, 2, 3, 4]] * 4, layers=[{"type": "pool", "mode": "max", "size": 2, "stride": 1}]
    )
    assert overlapping.layers[0].stride == (1, 1)


@pytest.mark.parametrize("bad", [0, -1, 1.5, 2.0, True, "2", None, [], [1, 2, 3], [0, 1], [1.0, 1]])
def test_bad_strides_are_refused_with_their_place(bad: Any) -> None:
    with pytest.raises(ModelError) as info:
        _layer(2, stride=bad)
    assert info.value.place.startswith("layers[0].stride")
    assert "expected a positive integer" in info.value.message


# ---------------------------------------------------------------- round trips


def _assert_same_model(a: Model, b: Model) -> None:
    assert (a.name, a.dims, a.description, a.loss, a.training) == (
        b.name,
        b.dims,
        b.description,
        b.loss,
        b.training,
    )
    np.testing.assert_array_equal(a.input, b.input)
    for x, y in ((a.upstream, b.upstream), (a.target, b.target)):
        if x is None or isinstance(x, int):
            assert x == y
        else:
            np.testing.assert_array_equal(x, y)
    assert len(a.layers) == len(b.layers)
    for left, right in zip(a.layers, b.layers, strict=True):
        assert type(left) is type(right)
        if isinstance(left, (ConvLayer, DenseLayer)):
            np.testing.assert_array_equal(left.weight, right.weight)
            if left.bias is None:
                assert right.bias is None
            else:
                np.testing.assert_array_equal(left.bias, right.bias)
            assert left.activation == right.activation
        if isinstance(left, ConvLayer):
            assert (left.stride, left.padding, left.dilation, left.dims) == (
                right.stride,
                right.padding,
                right.dilation,
                right.dims,
            )
        if isinstance(left, PoolLayer):
            assert left == right
        if isinstance(left, FlattenLayer):
            assert left == right


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_round_trip_load_save_load(tmp_path: Path, path: Path) -> None:
    first = load_model(path)
    saved = tmp_path / "saved.json"
    save_model(first, saved)
    second = load_model(saved)
    _assert_same_model(first, second)
    # Saving the reloaded model writes the very same text.
    assert dumps(model_document(second)) == saved.read_text("utf-8")


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_saved_documents_validate_against_the_schema(tmp_path: Path, path: Path) -> None:
    document = json.loads(dumps(model_document(load_model(path))))
    jsonschema.Draft202012Validator(schema()).validate(document)


def test_round_trip_keeps_bias_null_and_pairs(tmp_path: Path) -> None:
    model = _model(
        input=[[1, 2, 3, 4, 5]] * 5,
        layers=[_conv(weight=[[1, 2], [3, 4]], bias=None, stride=[1, 2], padding=[1, 0], dilation=2)],
    )
    save_model(model, tmp_path / "m.json")
    document = json.loads((tmp_path / "m.json").read_text("utf-8"))
    layer = document["layers"][0]
    assert layer["bias"] is None and layer["stride"] == [1, 2] and layer["padding"] == [1, 0]
    assert layer["dilation"] == 2
    _assert_same_model(model, load_model(tmp_path / "m.json"))


def test_model_from_document_checks_what_it_is_given() -> None:
    document = json.loads((ROOT / "sample_models" / "01-seed-1d-conv.json").read_text("utf-8"))
    document["layers"][0]["stride"] = float("nan")
    with pytest.raises(ModelError) as info:
        model_from_document(document)
    assert info.value.place == "layers[0].stride"


# ---------------------------------------------------------------- atomic save


def _seed() -> Model:
    return load_model(ROOT / "sample_models" / "01-seed-1d-conv.json")


def test_save_writes_through_a_temporary_file_and_a_rename(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "model.json"
    target.write_text("old contents", "utf-8")
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        seen.append((str(src), str(dst)))
        assert Path(src).parent == tmp_path and Path(src).read_text("utf-8").startswith("{")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    save_model(_seed(), target)
    assert seen and seen[0][1] == str(target)
    assert json.loads(target.read_text("utf-8"))["name"] == "Seed: 1-D convolution"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


@pytest.mark.parametrize("failing", ["fsync", "replace", "write"])
def test_a_failure_mid_write_leaves_the_old_file_intact(tmp_path: Path, monkeypatch, failing: str) -> None:
    target = tmp_path / "model.json"
    target.write_text("the lecturer's old model", "utf-8")

    def boom(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    if failing == "write":
        import visualconv.modelfile.write as modelfile_write

        real_dumps = modelfile_write.dumps

        def half_then_fail(document: Any, indent: int = 2) -> str:
            text = real_dumps(document, indent)
            return text[: len(text) // 2] + "\udcff"  # unencodable: the write fails midway

        monkeypatch.setattr(modelfile_write, "dumps", half_then_fail)
        with pytest.raises(UnicodeEncodeError):
            save_model(_seed(), target)
    else:
        monkeypatch.setattr(os, failing, boom)
        with pytest.raises(OSError, match="no space left on device"):
            save_model(_seed(), target)
    assert target.read_text("utf-8") == "the lecturer's old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


def test_saving_keeps_the_permissions_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "model.json"
    target.write_text("{}", "utf-8")
    target.chmod(0o644)
    save_model(_seed(), target)
    assert target.stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------- the schema


def test_the_schema_ships_in_the_package_and_is_valid_json_schema() -> None:
    shipped = resources.files("visualconv").joinpath("schema/model.schema.json")
    assert shipped.is_file()
    document = json.loads(shipped.read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(document)
    assert document == schema()
    assert schema_path().is_file() and json.loads(schema_path().read_text("utf-8")) == document


def test_the_schema_is_declared_as_package_data() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    assert 'packages = ["visualconv"]' in pyproject  # the whole package, schema/ included


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_sample_validates_with_a_plain_validator(path: Path) -> None:
    # What an editor does with the schema: standard Draft 2020-12, no visualconv code.
    jsonschema.Draft202012Validator(schema()).validate(json.loads(path.read_text("utf-8")))


def test_an_editor_schema_key_is_accepted(tmp_path: Path) -> None:
    document = json.loads((ROOT / "sample_models" / "01-seed-1d-conv.json").read_text("utf-8"))
    document = {"$schema": "https://visualconv.example/schema/model-1.json", **document}
    path = tmp_path / "with-schema.json"
    path.write_text(json.dumps(document), "utf-8")
    _assert_same_model(load_model(path), _seed())


def test_the_schema_describes_every_key() -> None:
    properties = schema()["properties"]
    assert {"format", "name", "description", "dims", "input", "layers", "upstream", "target", "loss"} <= set(
        properties
    )
    assert all("description" in properties[key] for key in ("dims", "input", "layers", "upstream", "target"))


# ---------------------------------------------------------------- memory


def test_the_estimate_covers_what_a_pass_really_allocates() -> None:
    for path in SAMPLES:
        model = load_model(path)
        if not model.has_backward:
            continue
        result = gradients(model)
        arrays = [v for entry in result["layers"] for v in entry.values() if isinstance(v, np.ndarray)]
        assert estimated_bytes(model) >= sum(a.nbytes for a in arrays), path.name


def test_a_large_but_feasible_model_is_accepted() -> None:
    # A 16-channel 256x256 input through a 3x3 conv with 16 outputs: well inside the budget.
    rng = np.random.default_rng(0)
    model = make_model(
        "large",
        rng.random((16, 256, 256)),
        [ConvLayer(weight=rng.random((16, 16, 3, 3)), bias=np.zeros(16), padding=(1, 1))],
    )
    check_memory(model)
    assert 100 * 2**20 < estimated_bytes(model) < MEMORY_BUDGET_BYTES


def test_absurd_sizes_are_refused_with_the_size_needed() -> None:
    with pytest.raises(ModelError) as info:
        _model(input=[[1.0]], layers=[_conv(weight=[[1]], padding=10**9)])
    message = info.value.message
    assert info.value.place == "layers[0].padding"
    assert "would need about" in message and "more than the 2.0 GB" in message


def test_the_estimate_is_exact_integer_arithmetic_for_huge_shapes() -> None:
    # 2**31 - 1 padding on both axes: about 1.7e19 values, beyond int64; no overflow, no hang.
    model = make_model(
        "huge", np.ones((1, 1, 1)), [ConvLayer(weight=np.ones((1, 1, 1, 1)), padding=(2**31 - 1,) * 2)]
    )
    assert estimated_bytes(model) > 2**64
    with pytest.raises(ModelError, match="would need about"):
        check_memory(model)


def test_the_public_api_raises_model_error() -> None:
    assert visualconv.load_model is load_model
    with pytest.raises(visualconv.ModelError):
        visualconv.load_model(ROOT / "no-such-model.json")


def test_model_error_keeps_its_parts_through_pickling() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(ModelError("expected 1 or 2, got 3", "dims", "m.json")))
    assert (error.message, error.place, error.file) == ("expected 1 or 2, got 3", "dims", "m.json")
    assert str(error) == "m.json: dims: expected 1 or 2, got 3"


def test_check_layers_refuses_a_proposed_stack_without_arrays() -> None:
    from visualconv.modelfile import check_layers

    conv = ConvLayer(weight=np.ones((2, 1, 3, 3)), bias=None)
    assert check_layers((1, 5, 5), [conv, FlattenLayer()]) == [(1, 5, 5), (2, 3, 3), (18,)]
    huge = ConvLayer(weight=np.ones((2, 1, 3, 3)), bias=None, padding=(100_000, 100_000))
    with pytest.raises(ModelError) as info:
        check_layers((1, 5, 5), [huge])
    assert info.value.place == "layers[0].padding" and "would need about" in info.value.message
    with pytest.raises(ModelError) as info:
        check_layers((3, 5, 5), [conv])
    assert info.value.place == "layers[0].weight" and "3 input channels" in info.value.message


def test_training_file_may_leave_the_targets_to_its_dataset(tmp_path):
    """'loss' without a top-level 'target' is fine when a training section brings the targets."""
    import json as _json

    from visualconv.modelfile import load_model, loads, model_document

    doc = {
        "format": "visualconv/1",
        "name": "no target",
        "input": [[1, 1, 0, 0, 1, 1]],
        "layers": [{"type": "conv", "weight": [[0.2, -0.3]], "bias": None}],
        "loss": {"type": "mse", "reduction": "sum"},
        "training": {
            "dataset": {"kind": "inline", "inputs": [[[1, 1, 0, 0, 1, 1]]], "targets": [[[0, 1, 0, -1, 0]]]}
        },
    }
    path = tmp_path / "t.json"
    path.write_text(_json.dumps(doc))
    model = load_model(path)
    assert model.loss is not None and model.target is None and not model.has_backward
    again = loads(_json.dumps(model_document(model)))
    assert again.loss == model.loss and again.training == model.training
    del doc["training"]
    with pytest.raises(ModelError) as info:
        loads(_json.dumps(doc))
    assert info.value.place == "target"

"""ONNX import: files built with onnx.helper, the document they become, and the one-line errors.

Expected values: hand-written documents, onnxruntime's forward pass (where installed) and
PyTorch's autograd on the same arrays (where installed).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from format11 import require_format_11
from helpers import ROOT
from onnx_nets import make_onnx, node, small_cnn

from visualconv.cli import main
from visualconv.engine.errors import ModelError
from visualconv.engine.model import gradients
from visualconv.modelfile import load_model, model_from_document

onnx = pytest.importorskip("onnx")

from visualconv.bridge.onnx_import import SUPPORTED, import_onnx  # noqa: E402


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def f64(array):
    return np.asarray(array, dtype=np.float64)


def test_small_cnn_becomes_the_layers_of_the_file_with_the_relu_folded_into_the_conv(tmp_path):
    arrays = small_cnn(tmp_path / "net.onnx", np.random.default_rng(1))
    doc = import_onnx(tmp_path / "net.onnx")
    assert doc["format"] == "visualconv/1" and doc["name"] == "net" and doc["dims"] == 2
    types = [(layer["type"], layer.get("activation")) for layer in doc["layers"]]
    assert types == [("conv", "relu"), ("pool", None), ("conv", None), ("flatten", None), ("dense", None)]
    conv1, pool, conv2, _, dense = doc["layers"]
    np.testing.assert_array_equal(conv1["weight"], f64(arrays["w1"]))
    np.testing.assert_array_equal(conv1["bias"], f64(arrays["b1"]))
    assert (conv1["stride"], conv1["padding"], conv1["dilation"]) == (1, 0, 1)
    assert pool == {"type": "pool", "mode": "max", "size": 2, "stride": 2}
    assert conv2["padding"] == 1
    np.testing.assert_array_equal(dense["weight"], f64(arrays["w3"]))  # Gemm transB=1: (out, in)
    assert np.shape(doc["input"]) == (1, 8, 8)
    assert "upstream" in doc and np.shape(doc["upstream"]) == (4,)
    model_from_document(doc)


def test_the_random_input_and_upstream_are_seeded(tmp_path):
    small_cnn(tmp_path / "net.onnx", np.random.default_rng(1))
    first, second = import_onnx(tmp_path / "net.onnx"), import_onnx(tmp_path / "net.onnx")
    assert first["input"] == second["input"] and first["upstream"] == second["upstream"]
    assert np.abs(f64(first["input"])).max() <= 1.0


def test_forward_equals_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    for seed in range(3):
        path = tmp_path / f"net{seed}.onnx"
        small_cnn(path, np.random.default_rng(seed))
        model = model_from_document(import_onnx(path))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        x = np.asarray(model.input, dtype=np.float32)[None]
        (expected,) = session.run(None, {"x": x})
        result = gradients(model)
        np.testing.assert_allclose(result["layers"][-1]["output"], expected[0], rtol=1e-5, atol=1e-5)


def torch_small_cnn_grads(arrays, x, target):
    """PyTorch autograd on the small CNN's arrays (float64), written out op by op."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    params = {k: torch.tensor(f64(v), requires_grad=True) for k, v in arrays.items()}
    xt = torch.tensor(f64(x))[None].requires_grad_(True)
    h = F.relu(F.conv2d(xt, params["w1"], params["b1"]))
    h = F.max_pool2d(h, 2, 2)
    h = F.conv2d(h, params["w2"], params["b2"], padding=1)
    y = F.linear(h.reshape(1, -1), params["w3"], params["b3"])
    loss = F.cross_entropy(y, torch.tensor([target]))
    loss.backward()
    return loss.item(), {k: p.grad.numpy() for k, p in params.items()}, xt.grad[0].numpy()


def test_grad_json_of_an_imported_file_equals_pytorch_autograd(tmp_path, capsys):
    arrays = small_cnn(tmp_path / "net.onnx", np.random.default_rng(7))
    out = tmp_path / "model.json"
    code, printed, err = run_cli(
        capsys, "import", tmp_path / "net.onnx", "--target", "2", "--loss", "cross_entropy", "--out", out
    )
    assert code == 0 and err == "" and printed.strip() == str(out)
    code, printed, err = run_cli(capsys, "grad", out, "--json")
    assert code == 0, err
    result = json.loads(printed)
    model = load_model(out)
    loss, grads, dx = torch_small_cnn_grads(arrays, model.input, 2)
    assert result["loss"] == pytest.approx(loss, rel=1e-9)
    layers = result["layers"]
    for index, key in ((0, "w1"), (2, "w2"), (4, "w3")):
        np.testing.assert_allclose(layers[index]["grad_weight"], grads[key], rtol=1e-9, atol=1e-12)
    for index, key in ((0, "b1"), (2, "b2"), (4, "b3")):
        np.testing.assert_allclose(layers[index]["grad_bias"], grads[key], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layers[0]["grad_input"], dx, rtol=1e-9, atol=1e-12)


def test_a_trailing_softmax_is_dropped_and_becomes_the_cross_entropy_loss(tmp_path, capsys):
    small_cnn(tmp_path / "net.onnx", np.random.default_rng(1), softmax=True)
    doc = import_onnx(tmp_path / "net.onnx")
    assert doc["layers"][-1]["type"] == "dense"
    assert doc["loss"] == {"type": "cross_entropy"} and doc["target"] == 0
    assert "softmax" in doc["description"]
    doc = import_onnx(tmp_path / "net.onnx", target=3)
    assert doc["target"] == 3 and doc["loss"] == {"type": "cross_entropy"}
    with pytest.raises(ModelError, match="cross-entropy"):
        import_onnx(tmp_path / "net.onnx", target=np.zeros(4), loss="mse")


def test_batch_normalization_exits_2_with_one_line_naming_the_node(tmp_path):
    path = make_onnx(
        tmp_path / "bn.onnx",
        [
            node("Conv", ["x", "w"], "c", kernel_shape=[2, 2]),
            node("BatchNormalization", ["c", "s", "b", "m", "v"], "bn"),
        ],
        {"w": np.ones((2, 1, 2, 2)), "s": np.ones(2), "b": np.zeros(2), "m": np.zeros(2), "v": np.ones(2)},
        [1, 1, 4, 4],
    )
    proc = subprocess.run(
        [sys.executable, "-m", "visualconv", "import", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"visualconv: {path}: node 'batchnormalization_bn' (BatchNormalization): ")
    assert "unsupported operation BatchNormalization" in lines[0]
    assert all(op in lines[0] for op in SUPPORTED)
    assert "Traceback" not in proc.stderr


def test_weights_in_an_external_data_file_are_refused(tmp_path):
    from onnx import TensorProto, helper

    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1, 1, 2, 2])
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    graph = helper.make_graph(
        [node("Conv", ["x", "w"], "y", kernel_shape=[2, 2])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[weight],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "ext.onnx"))
    with pytest.raises(ModelError, match="external data") as info:
        import_onnx(tmp_path / "ext.onnx")
    assert info.value.place == "initializer 'w'"


def external_copy(source, folder, location="weights.data"):
    """The same network with every initializer in a data file beside it, as torch.onnx.export writes."""
    proto = onnx.load(str(source))
    target = folder / "external.onnx"
    onnx.save(proto, str(target), save_as_external_data=True, location=location, size_threshold=0)
    return target


def test_weights_in_a_data_file_beside_the_onnx_file_are_read_as_they_are(tmp_path):
    arrays = small_cnn(tmp_path / "net.onnx", np.random.default_rng(1))
    inline = tmp_path / "net.onnx"
    (tmp_path / "ext").mkdir()
    external = external_copy(inline, tmp_path / "ext")
    assert (tmp_path / "ext" / "weights.data").stat().st_size >= sum(a.nbytes for a in arrays.values())
    assert import_onnx(external)["layers"] == import_onnx(inline)["layers"]


def test_an_external_data_file_that_is_a_symbolic_link_or_too_short_is_refused(tmp_path):
    small_cnn(tmp_path / "net.onnx", np.random.default_rng(1))
    (tmp_path / "ext").mkdir()
    external = external_copy(tmp_path / "net.onnx", tmp_path / "ext")
    data = tmp_path / "ext" / "weights.data"
    data.rename(tmp_path / "elsewhere.data")
    data.symlink_to(tmp_path / "elsewhere.data")
    with pytest.raises(ModelError, match="not a regular file"):
        import_onnx(external)
    data.unlink()
    data.write_bytes((tmp_path / "elsewhere.data").read_bytes()[:8])
    with pytest.raises(ModelError, match="expected a range inside the file") as info:
        import_onnx(external)
    assert info.value.place.startswith("initializer ")


def test_an_activation_after_pooling_cannot_fold_and_says_so(tmp_path):
    path = make_onnx(
        tmp_path / "n.onnx",
        [
            node("Conv", ["x", "w"], "c", kernel_shape=[2, 2]),
            node("MaxPool", ["c"], "p", kernel_shape=[2, 2], strides=[2, 2]),
            node("Relu", ["p"], "r"),
        ],
        {"w": np.ones((1, 1, 2, 2))},
        [1, 1, 5, 5],
    )
    with pytest.raises(ModelError, match="folds into the conv") as info:
        import_onnx(path)
    assert info.value.place == "node 'relu_r' (Relu)"
    assert "node 'maxpool_p' (MaxPool)" in info.value.message


def test_two_activations_in_a_row_are_refused(tmp_path):
    path = make_onnx(
        tmp_path / "n.onnx",
        [
            node("Conv", ["x", "w"], "c", kernel_shape=[2, 2]),
            node("Relu", ["c"], "r"),
            node("Tanh", ["r"], "t"),
        ],
        {"w": np.ones((1, 1, 2, 2))},
        [1, 1, 3, 3],
    )
    with pytest.raises(ModelError, match="already has the activation 'relu'"):
        import_onnx(path)


def test_a_branching_graph_is_not_a_chain(tmp_path):
    path = make_onnx(
        tmp_path / "n.onnx",
        [
            node("Conv", ["x", "w"], "c", kernel_shape=[1, 1]),
            node("Add", ["c", "x"], "y"),
        ],
        {"w": np.ones((1, 1, 1, 1))},
        [1, 1, 3, 3],
    )
    with pytest.raises(ModelError, match="bias of the MatMul") as info:
        import_onnx(path)
    assert info.value.place == "node 'add_y' (Add)"
    path = make_onnx(
        tmp_path / "m.onnx",
        [
            node("Conv", ["x", "w"], "c", kernel_shape=[1, 1]),
            node("Conv", ["x", "w"], "d", kernel_shape=[1, 1]),
        ],
        {"w": np.ones((1, 1, 1, 1))},
        [1, 1, 3, 3],
    )
    with pytest.raises(ModelError, match="chain of nodes"):
        import_onnx(path)


def test_matmul_and_add_make_one_dense_layer(tmp_path):
    rng = np.random.default_rng(3)
    w, b = rng.standard_normal((6, 4)), rng.standard_normal(4)
    path = make_onnx(
        tmp_path / "mlp.onnx",
        [
            node("Flatten", ["x"], "f"),
            node("MatMul", ["f", "w"], "m"),
            node("Add", ["m", "b"], "a"),
            node("Sigmoid", ["a"], "y"),
        ],
        {"w": w, "b": b},
        [1, 6, 1, 1],
    )
    doc = import_onnx(path)
    flatten, dense = doc["layers"]
    assert flatten == {"type": "flatten"} and dense["activation"] == "sigmoid"
    np.testing.assert_array_equal(dense["weight"], f64(w.astype(np.float32)).T)
    np.testing.assert_array_equal(dense["bias"], f64(b.astype(np.float32)))


def test_gemm_alpha_beta_and_untransposed_weight(tmp_path):
    w, c = np.arange(12.0).reshape(3, 4) / 8, np.array([1.0, 2.0, 3.0, 4.0])
    path = make_onnx(
        tmp_path / "g.onnx",
        [node("Gemm", ["x", "w", "c"], "y", alpha=0.5, beta=2.0)],
        {"w": w, "c": c},
        [1, 3],
    )
    doc = import_onnx(path)
    flatten, dense = doc["layers"]  # a vector input: a flatten layer comes first
    assert flatten == {"type": "flatten"} and np.shape(doc["input"]) == (1, 3)
    np.testing.assert_array_equal(dense["weight"], 0.5 * w.T)
    np.testing.assert_array_equal(dense["bias"], 2.0 * c)


def test_reshape_to_a_vector_from_a_constant_node_and_skipped_nodes(tmp_path):
    from onnx import helper, numpy_helper

    shape = helper.make_node(
        "Constant", [], ["shape"], name="k", value=numpy_helper.from_array(np.array([1, -1], np.int64))
    )
    path = make_onnx(
        tmp_path / "r.onnx",
        [
            node("Conv", ["x", "w"], "c", kernel_shape=[2, 2]),
            node("Dropout", ["c"], "d"),
            node("Tanh", ["d"], "t"),
            node("Identity", ["t"], "i"),
            shape,
            node("Reshape", ["i", "shape"], "v"),
            node("Gemm", ["v", "w2"], "y", transB=1),
        ],
        {"w": np.ones((2, 1, 2, 2)), "w2": np.ones((3, 8))},
        [1, 1, 3, 3],
    )
    doc = import_onnx(path)
    assert [layer["type"] for layer in doc["layers"]] == ["conv", "flatten", "dense"]
    assert doc["layers"][0]["activation"] == "tanh" and doc["layers"][2]["bias"] is None


def test_reshape_to_something_else_is_refused(tmp_path):
    path = make_onnx(
        tmp_path / "r.onnx",
        [node("Reshape", ["x", "shape"], "v")],
        {"shape": np.array([1, 2, 8], np.int64)},
        [1, 1, 4, 4],
    )
    with pytest.raises(ModelError, match=r"Reshape to \[1, 2, 8\] is not supported"):
        import_onnx(path)


def test_one_dimensional_convolution_with_stride_and_padding(tmp_path):
    w = np.array([[[0.3, 0.5, -0.2]], [[0.1, 0.0, 0.4]]])
    path = make_onnx(
        tmp_path / "c1.onnx",
        [node("Conv", ["x", "w"], "y", kernel_shape=[3], strides=[2], pads=[1, 1])],
        {"w": w},
        [1, 1, 7],
    )
    doc = import_onnx(path, input=np.arange(7.0))
    assert doc["dims"] == 1 and doc["input"] == [[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]
    (conv,) = doc["layers"]
    assert (conv["stride"], conv["padding"], conv["dilation"], conv["bias"]) == (2, 1, 1, None)
    z = gradients(model_from_document(doc))["layers"][0]["pre_activation"]
    # by hand: x padded [0, 0..6, 0], windows at 0, 2, 4, 6
    xp = np.concatenate([[0.0], np.arange(7.0), [0.0]])
    w32 = f64(w.astype(np.float32))
    expected = [[xp[i : i + 3] @ w32[c, 0] for i in (0, 2, 4, 6)] for c in range(2)]
    np.testing.assert_allclose(z, expected, rtol=1e-15)


def test_asymmetric_padding_is_refused_and_same_upper_with_even_total_is_numeric(tmp_path):
    path = make_onnx(
        tmp_path / "a.onnx",
        [node("Conv", ["x", "w"], "y", kernel_shape=[3, 3], pads=[0, 0, 1, 1], strides=[2, 2])],
        {"w": np.ones((1, 1, 3, 3))},
        [1, 1, 6, 6],
    )
    with pytest.raises(ModelError, match="same padding at both ends"):
        import_onnx(path)
    path = make_onnx(
        tmp_path / "s.onnx",
        [node("Conv", ["x", "w"], "y", kernel_shape=[3, 3], auto_pad="SAME_UPPER")],
        {"w": np.ones((1, 1, 3, 3))},
        [1, 1, 5, 5],
    )
    assert import_onnx(path)["layers"][0]["padding"] == 1


def test_same_upper_with_an_odd_total_is_same_padding(tmp_path):
    path = make_onnx(
        tmp_path / "s.onnx",
        [node("Conv", ["x", "w"], "y", kernel_shape=[2, 2], auto_pad="SAME_UPPER")],
        {"w": np.ones((1, 1, 2, 2))},
        [1, 1, 4, 4],
    )
    doc = import_onnx(path)
    assert doc["layers"][0]["padding"] == "same"
    require_format_11(doc["layers"][0], doc["input"])
    assert model_from_document(doc).shapes()[-1] == (1, 4, 4)


def test_average_pool_padding_needs_count_include_pad(tmp_path):
    path = make_onnx(
        tmp_path / "p.onnx",
        [node("AveragePool", ["x"], "y", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
        {},
        [1, 1, 5, 5],
    )
    with pytest.raises(ModelError, match="count_include_pad"):
        import_onnx(path)
    path = make_onnx(
        tmp_path / "q.onnx",
        [
            node(
                "AveragePool",
                ["x"],
                "y",
                kernel_shape=[3, 3],
                strides=[2, 2],
                pads=[1, 1, 1, 1],
                count_include_pad=1,
            )
        ],
        {},
        [1, 1, 5, 5],
    )
    doc = import_onnx(path)
    assert doc["layers"] == [{"type": "pool", "mode": "avg", "size": 3, "stride": 2, "padding": 1}]
    require_format_11(doc["layers"][0], doc["input"])
    ort = pytest.importorskip("onnxruntime")
    model = model_from_document(doc)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": np.asarray(model.input, np.float32)[None]})
    np.testing.assert_allclose(gradients(model)["layers"][0]["output"], expected[0], rtol=1e-6)


def test_ceil_mode_is_accepted_only_where_it_changes_nothing(tmp_path):
    path = make_onnx(
        tmp_path / "p.onnx",
        [node("MaxPool", ["x"], "y", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)],
        {},
        [1, 1, 4, 4],
    )
    assert import_onnx(path)["layers"][0]["size"] == 2
    path = make_onnx(
        tmp_path / "q.onnx",
        [node("MaxPool", ["x"], "y", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)],
        {},
        [1, 1, 5, 5],
    )
    with pytest.raises(ModelError, match="ceil_mode"):
        import_onnx(path)


def test_global_pooling_grouped_conv_leaky_slope_and_transposed_conv(tmp_path):
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 1, 3, 3))
    wt = rng.standard_normal((4, 2, 2, 2))
    path = make_onnx(
        tmp_path / "n.onnx",
        [
            node("Conv", ["x", "w"], "c", kernel_shape=[3, 3], group=2, pads=[1, 1, 1, 1]),
            node("LeakyRelu", ["c"], "l", alpha=0.2),
            node("ConvTranspose", ["l", "wt", "bt"], "t", kernel_shape=[2, 2], strides=[2, 2]),
            node("GlobalAveragePool", ["t"], "g"),
            node("Flatten", ["g"], "y"),
        ],
        {"w": w, "wt": wt, "bt": np.array([0.1, -0.2])},
        [1, 2, 4, 4],
    )
    doc = import_onnx(path)
    conv, transposed, pool, _ = doc["layers"]
    assert conv["groups"] == 2 and conv["activation"] == "leaky_relu" and conv["negative_slope"] == 0.2
    assert transposed["type"] == "conv_transpose" and transposed["stride"] == 2
    assert pool == {"type": "pool", "mode": "avg", "size": "global"}
    for layer, shape in ((conv, doc["input"]), (pool, [[[1.0]]])):
        require_format_11(layer, shape)
    require_format_11(transposed, np.zeros((4, 4, 4)).tolist())
    ort = pytest.importorskip("onnxruntime")
    model = model_from_document(doc)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": np.asarray(model.input, np.float32)[None]})
    np.testing.assert_allclose(gradients(model)["layers"][-1]["output"], expected[0], rtol=1e-5, atol=1e-6)


def test_cli_input_from_npy_and_json_and_stdout(tmp_path, capsys):
    small_cnn(tmp_path / "net.onnx", np.random.default_rng(1))
    x = np.linspace(-1, 1, 64).reshape(1, 1, 8, 8)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "x.json").write_text(json.dumps(x[0].tolist()))
    code, out, err = run_cli(capsys, "import", tmp_path / "net.onnx", "--input", tmp_path / "x.npy")
    assert code == 0 and err == ""
    np.testing.assert_array_equal(json.loads(out)["input"], x[0])
    code, out2, err = run_cli(capsys, "import", tmp_path / "net.onnx", "--input", tmp_path / "x.json")
    assert code == 0 and json.loads(out2)["input"] == json.loads(out)["input"]
    up = np.arange(4.0)
    np.save(tmp_path / "up.npy", up)
    code, out, err = run_cli(capsys, "import", tmp_path / "net.onnx", "--upstream", tmp_path / "up.npy")
    assert code == 0 and json.loads(out)["upstream"] == [0.0, 1.0, 2.0, 3.0]


def test_cli_refuses_a_pickled_npy_a_wrong_shape_and_both_starts(tmp_path, capsys):
    small_cnn(tmp_path / "net.onnx", np.random.default_rng(1))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code, out, err = run_cli(capsys, "import", tmp_path / "net.onnx", "--input", tmp_path / "obj.npy")
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "pickled" in err
    np.save(tmp_path / "x.npy", np.zeros((1, 1, 7, 8)))
    code, out, err = run_cli(capsys, "import", tmp_path / "net.onnx", "--input", tmp_path / "x.npy")
    assert code == 2 and "--input" in err and "(1, 8, 8)" in err
    code, out, err = run_cli(
        capsys,
        "import",
        tmp_path / "net.onnx",
        "--upstream",
        tmp_path / "x.npy",
        "--target",
        "1",
        "--loss",
        "mse",
    )
    assert code == 2 and "not both" in err


def test_out_is_written_atomically_and_loads(tmp_path, capsys):
    small_cnn(tmp_path / "net.onnx", np.random.default_rng(1))
    out = tmp_path / "m.json"
    out.write_text("old")
    code, _, err = run_cli(capsys, "import", tmp_path / "net.onnx", "--out", out)
    assert code == 0 and err == ""
    assert load_model(out).layers[0].type == "conv"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    code, _, err = run_cli(capsys, "import", tmp_path / "net.onnx", "--out", tmp_path / "missing" / "m.json")
    assert code == 2 and len(err.splitlines()) == 1


def test_garbage_and_missing_files_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07not a model" * 5)
    for path in (tmp_path / "junk.onnx", tmp_path / "none.onnx", tmp_path / "net.txt"):
        code, out, err = run_cli(capsys, "import", path)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, err
        assert err.startswith(f"visualconv: {path}: ")


def test_without_the_onnx_package_the_error_says_what_to_install(tmp_path, monkeypatch, capsys):
    small_cnn(tmp_path / "net.onnx", np.random.default_rng(1))
    monkeypatch.setitem(sys.modules, "onnx", None)
    code, _, err = run_cli(capsys, "import", tmp_path / "net.onnx")
    assert code == 2 and "pip install 'visualconv[onnx]'" in err and len(err.splitlines()) == 1


def test_node_names_from_the_file_stay_on_one_line(tmp_path, capsys):
    from onnx import helper

    bad = helper.make_node("Foo", ["x"], ["y"], name="evil\nname\x1b[31m")
    path = make_onnx(tmp_path / "e.onnx", [bad], {}, [1, 1, 2, 2])
    code, _, err = run_cli(capsys, "import", path)
    assert code == 2 and len(err.splitlines()) == 1 and "\x1b" not in err


def test_malformed_nodes_and_mutated_files_raise_only_model_errors(tmp_path):
    from onnx import helper

    cases = [
        [helper.make_node("Gemm", ["x"], ["y"], name="g")],  # no weight input
        [helper.make_node("Conv", ["x", "nope"], ["y"], name="c")],  # weight not a constant
        [helper.make_node("MaxPool", ["x"], ["y"], name="p")],  # no kernel_shape
        [helper.make_node("Reshape", ["x"], ["y"], name="r")],  # no shape
        [helper.make_node("Conv", ["x", "w"], ["y"], name="c", strides=[1, 1, 1])],  # wrong rank
    ]
    for number, nodes in enumerate(cases):
        path = make_onnx(tmp_path / f"m{number}.onnx", nodes, {"w": np.ones((1, 1, 2, 2))}, [1, 1, 4, 4])
        with pytest.raises(ModelError):
            import_onnx(path)
    small_cnn(tmp_path / "net.onnx", np.random.default_rng(1))
    data = (tmp_path / "net.onnx").read_bytes()
    rng = np.random.default_rng(0)
    for number in range(40):
        mutated = bytearray(data)
        for position in rng.integers(0, len(data), size=int(rng.integers(1, 6))):
            mutated[position] = int(rng.integers(0, 256))
        path = tmp_path / f"mutated{number}.onnx"
        path.write_bytes(bytes(mutated[: int(rng.integers(len(data) // 2, len(data) + 1))]))
        try:
            model_from_document(import_onnx(path))
        except ModelError:
            pass


def test_a_pad_before_a_conv_becomes_its_padding_mode(tmp_path):
    from onnx import TensorProto, helper

    for mode, expected in (("reflect", "reflect"), ("edge", "replicate"), ("wrap", "circular")):
        pads = helper.make_tensor("pads", TensorProto.INT64, [8], [0, 0, 1, 2, 0, 0, 1, 2])
        path = make_onnx(
            tmp_path / f"{mode}.onnx",
            [
                helper.make_node("Constant", [], ["p"], name="k", value=pads),
                node("Pad", ["x", "p"], "padded", mode=mode),
                node("Conv", ["padded", "w"], "y", kernel_shape=[3, 3]),
            ],
            {"w": np.arange(9.0).reshape(1, 1, 3, 3) / 9},
            [1, 1, 5, 6],
        )
        doc = import_onnx(path)
        (conv,) = doc["layers"]
        assert conv["padding"] == [1, 2] and conv["padding_mode"] == expected
        require_format_11(conv, doc["input"])
        ort = pytest.importorskip("onnxruntime")
        model = model_from_document(doc)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (reference,) = session.run(None, {"x": np.asarray(model.input, np.float32)[None]})
        np.testing.assert_allclose(
            gradients(model)["layers"][0]["output"], reference[0], rtol=1e-5, atol=1e-6
        )


def test_a_pad_elsewhere_is_refused(tmp_path):
    path = make_onnx(
        tmp_path / "p.onnx",
        [
            node("Pad", ["x", "pads"], "padded", mode="reflect"),
            node("MaxPool", ["padded"], "y", kernel_shape=[2, 2], strides=[2, 2]),
        ],
        {"pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)},
        [1, 1, 4, 4],
    )
    with pytest.raises(ModelError, match="only as the padding of the Conv") as info:
        import_onnx(path)
    assert info.value.place == "node 'pad_padded' (Pad)"

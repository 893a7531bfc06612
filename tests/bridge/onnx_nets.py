"""Small ONNX files built with onnx.helper (no PyTorch needed)."""

from __future__ import annotations

from typing import Any

import numpy as np


def make_onnx(path, nodes, initializers, input_shape, output_shape=None, *, opset=17, name="net"):
    """Write an ONNX model of ``nodes`` (input 'x', output = the last node's first output) to ``path``.

    ``initializers``: name -> float array (float32 in the file, as exporters write them).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = []
    for key, value in initializers.items():
        array = np.asarray(value)
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
        inits.append(numpy_helper.from_array(array, key))
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, output_shape)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="tests")
    onnx.save(model, str(path))
    return path


def node(op: str, inputs: list[str], output: str, **attrs: Any):
    from onnx import helper

    return helper.make_node(op, inputs, [output], name=f"{op.lower()}_{output}", **attrs)


def small_cnn(path, rng, *, c1=2, c2=3, size=8, classes=4, softmax=False):
    """Conv 3x3 -> Relu -> MaxPool 2 -> Conv 2x2 pad 1 -> Flatten -> Gemm (-> Softmax); returns the arrays."""
    w1 = rng.standard_normal((c1, 1, 3, 3)).astype(np.float32)
    b1 = rng.standard_normal(c1).astype(np.float32)
    w2 = rng.standard_normal((c2, c1, 2, 2)).astype(np.float32)
    b2 = rng.standard_normal(c2).astype(np.float32)
    side = (size - 2) // 2 + 1
    w3 = rng.standard_normal((classes, c2 * side * side)).astype(np.float32)
    b3 = rng.standard_normal(classes).astype(np.float32)
    nodes = [
        node("Conv", ["x", "w1", "b1"], "c1", kernel_shape=[3, 3]),
        node("Relu", ["c1"], "r1"),
        node("MaxPool", ["r1"], "p1", kernel_shape=[2, 2], strides=[2, 2]),
        node("Conv", ["p1", "w2", "b2"], "c2", kernel_shape=[2, 2], pads=[1, 1, 1, 1]),
        node("Flatten", ["c2"], "f"),
        node("Gemm", ["f", "w3", "b3"], "y", transB=1),
    ]
    if softmax:
        nodes.append(node("Softmax", ["y"], "s", axis=1))
    arrays = {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "w3": w3, "b3": b3}
    make_onnx(path, nodes, arrays, [1, 1, size, size])
    return arrays

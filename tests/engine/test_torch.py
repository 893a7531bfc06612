"""Every gradient against PyTorch's autograd (skipped where PyTorch is absent)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

import visualconv as vc
from visualconv.engine.layers import ConvLayer, DenseLayer, FlattenLayer, PoolLayer
from visualconv.engine.model import LossSpec, make_model

torch = pytest.importorskip("torch")
from torch_oracle import torch_grad  # noqa: E402


def assert_same(ours, theirs, tol=1e-9):
    assert ours["format"] == theirs["format"]
    if theirs["loss"] is None:
        assert ours["loss"] is None
    else:
        assert ours["loss"] == pytest.approx(theirs["loss"], abs=tol, rel=tol)
    assert len(ours["layers"]) == len(theirs["layers"])
    for a, b in zip(ours["layers"], theirs["layers"], strict=True):
        assert list(a) == list(b)
        for key in a:
            if key in ("index", "type") or b[key] is None:
                assert a[key] == b[key]
                continue
            assert a[key].shape == b[key].shape, key
            np.testing.assert_allclose(a[key], b[key], rtol=tol, atol=tol, err_msg=key)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_sample_models_match_pytorch(path):
    model = vc.load_model(path)
    assert_same(vc.grad(model), torch_grad(model))


ACTIVATIONS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh"]


@st.composite
def random_model(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dims = draw(st.sampled_from([1, 2]))
    c = draw(st.integers(1, 3))
    size = draw(st.integers(6, 10))
    shape = (c, size) if dims == 1 else (c, size, draw(st.integers(6, 10)))
    layers = []
    current = shape
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            c_out = draw(st.integers(1, 3))
            k = draw(st.integers(1, 3))
            s, p, d = draw(st.integers(1, 2)), draw(st.integers(0, 1)), draw(st.integers(1, 2))
            wshape = (c_out, current[0], k) if dims == 1 else (c_out, current[0], k, k)
            pair = (lambda v: (1, v)) if dims == 1 else (lambda v: (v, v))
            layer = ConvLayer(
                weight=rng.normal(size=wshape) * 0.5,
                bias=rng.normal(size=c_out) if draw(st.booleans()) else None,
                stride=pair(s),
                padding=(0, p) if dims == 1 else (p, p),
                dilation=pair(d),
                activation=draw(st.sampled_from(ACTIVATIONS)),
                dims=dims,
            )
        else:
            k = draw(st.integers(1, 3))
            s = draw(st.integers(1, 3))
            pair = (lambda v: (1, v)) if dims == 1 else (lambda v: (v, v))
            layer = PoolLayer(draw(st.sampled_from(["max", "avg"])), pair(k), pair(s), dims)
        try:
            current = layer.output_shape(current)
        except ValueError:
            break
        layers.append(layer)
    if not layers:
        layers.append(PoolLayer("avg", (1, 1), (1, 1), dims))
        current = layers[0].output_shape(current)
    ending = draw(st.sampled_from(["upstream", "mse", "ce"]))
    x = rng.normal(size=shape)
    if ending == "ce":
        n = int(np.prod(current))
        out = draw(st.integers(2, 4))
        layers += [FlattenLayer(), DenseLayer(rng.normal(size=(out, n)) * 0.3, rng.normal(size=out))]
        return make_model(
            "ce", x, layers, dims=dims, target=draw(st.integers(0, out - 1)), loss=LossSpec("cross_entropy")
        )
    if ending == "mse":
        red = draw(st.sampled_from(["half_sum", "sum", "mean"]))
        return make_model(
            "mse", x, layers, dims=dims, target=rng.normal(size=current), loss=LossSpec("mse", red)
        )
    return make_model("up", x, layers, dims=dims, upstream=rng.normal(size=current))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(random_model())
def test_random_models_match_pytorch(model):
    assert_same(vc.grad(model), torch_grad(model))

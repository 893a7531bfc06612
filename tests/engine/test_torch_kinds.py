"""Random models with the format 1.1 settings against PyTorch's autograd (skipped without PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import visualconv as vc
from visualconv.engine.kinds import ConvLayer, ConvTransposeLayer, DenseLayer, FlattenLayer, PoolLayer
from visualconv.engine.model import make_model

torch = pytest.importorskip("torch")
from torch_oracle import torch_grad  # noqa: E402

from tests.engine.test_torch import assert_same  # noqa: E402

ACTIVATIONS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh"]


@st.composite
def random_model(draw):
    try:
        return _draw_model(draw)
    except ValueError:  # a kernel that does not fit, an output of no cells
        assume(False)
        raise


def _draw_model(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dims = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    c = groups * draw(st.integers(1, 2))
    size = draw(st.integers(5, 8))
    shape = (c, size) if dims == 1 else (c, size, draw(st.integers(5, 8)))

    def pair(v):
        return (1, v) if dims == 1 else (v, v)

    def pad_pair(v):
        return (0, v) if dims == 1 else (v, v)

    layers = []
    k = draw(st.integers(1, 4))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    same = draw(st.booleans())
    c_out = groups * draw(st.integers(1, 2))
    w = rng.normal(size=(c_out, c // groups, k) if dims == 1 else (c_out, c // groups, k, k)) * 0.5
    layers.append(
        ConvLayer(
            w,
            rng.normal(size=c_out) if draw(st.booleans()) else None,
            pair(1 if same else draw(st.integers(1, 2))),
            (0, 0) if same else pad_pair(draw(st.integers(0, 2))),
            pair(draw(st.integers(1, 2)) if k > 1 and not same else 1),
            draw(st.sampled_from(ACTIVATIONS)),
            dims,
            groups,
            mode,
            same,
            draw(st.sampled_from([0.01, 0.2, 0.5])),
        )
    )
    current = layers[-1].output_shape(shape)
    if draw(st.booleans()):
        tg = draw(st.sampled_from([g for g in (1, 2, 3) if current[0] % g == 0]))
        kt, st_, dt = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        op = draw(st.integers(0, max(st_, dt) - 1))
        per = draw(st.integers(1, 2))
        wt = rng.normal(size=(current[0], per, kt) if dims == 1 else (current[0], per, kt, kt)) * 0.5
        layers.append(
            ConvTransposeLayer(
                wt,
                rng.normal(size=per * tg) if draw(st.booleans()) else None,
                pair(st_),
                pad_pair(draw(st.integers(0, 1))),
                pad_pair(op),
                pair(dt),
                draw(st.sampled_from(ACTIVATIONS)),
                dims,
                tg,
                0.1,
            )
        )
        current = layers[-1].output_shape(current)
    if draw(st.booleans()):
        layers.append(PoolLayer(draw(st.sampled_from(["max", "avg"])), (1, 1), (1, 1), dims, is_global=True))
    else:
        ks = draw(st.integers(1, 3))
        layers.append(
            PoolLayer(
                draw(st.sampled_from(["max", "avg"])),
                pair(ks),
                pair(draw(st.integers(1, 2))),
                dims,
                pad_pair(ks // 2),
            )
        )
    current = layers[-1].output_shape(current)
    n = int(np.prod(current))
    layers += [
        FlattenLayer(),
        DenseLayer(rng.normal(size=(3, n)) * 0.3, rng.normal(size=3), "leaky_relu", 0.25),
    ]
    x = rng.normal(size=shape)
    return make_model("random", x, layers, upstream=rng.normal(size=3))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(random_model())
def test_random_models_with_new_settings_match_pytorch(model):
    assert_same(vc.grad(model), torch_grad(model))

"""Grouped/padded conv, transposed conv, pool padding and global pooling against PyTorch's autograd.

Skipped where PyTorch is absent.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import visualconv as vc
from visualconv.engine.conv_transpose import (
    conv_transpose1d_backward,
    conv_transpose1d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional

MANY = settings(max_examples=80, deadline=None, derandomize=True)
TOL = 1e-9


def same(ours, theirs):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL)


def leaf(array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


@st.composite
def conv_case(draw):
    dims = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    spatial = tuple(draw(st.integers(d * (k - 1) + 2, 9)) for k, d in zip(kernel, dilation, strict=True))
    if draw(st.booleans()):
        padding = draw(st.sampled_from(["same", "valid"]))
        stride = (1,) * dims
    else:
        stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
        padding = tuple(draw(st.integers(0, min(2, n - 1))) for n in spatial)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(draw(st.integers(1, 2)), c_in, *spatial))
    w = rng.normal(size=(c_out, c_in // groups, *kernel))
    b = rng.normal(size=c_out) if draw(st.booleans()) else None
    return dims, x, w, b, stride, padding, dilation, groups, mode, rng


@MANY
@given(conv_case())
def test_grouped_padded_conv_equals_torch_module(case):
    dims, x, w, b, stride, padding, dilation, groups, mode, rng = case
    module_type = torch.nn.Conv1d if dims == 1 else torch.nn.Conv2d
    module = module_type(
        x.shape[1],
        w.shape[0],
        w.shape[2:],
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=b is not None,
        padding_mode=mode,
        dtype=torch.float64,
    )
    with torch.no_grad():
        module.weight.copy_(torch.tensor(w))
        if b is not None:
            module.bias.copy_(torch.tensor(b))
    xt = leaf(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "same" with an even kernel: a padded copy
        zt = module(xt)
    dz = rng.normal(size=tuple(zt.shape))
    zt.backward(torch.tensor(dz))
    if dims == 1:
        p = padding if isinstance(padding, str) else padding[0]
        args = (stride[0], p, dilation[0])
        z = vc.conv1d_forward(x, w, b, *args, groups=groups, padding_mode=mode)
        dx, dw, db = vc.conv1d_backward(dz, x, w, *args, groups=groups, padding_mode=mode)
    else:
        z = vc.conv2d_forward(x, w, b, stride, padding, dilation, groups=groups, padding_mode=mode)
        dx, dw, db = vc.conv2d_backward(dz, x, w, stride, padding, dilation, groups=groups, padding_mode=mode)
    same(z, zt)
    same(dx, xt.grad)
    same(dw, module.weight.grad)
    if b is not None:
        same(db, module.bias.grad)


@st.composite
def transposed_case(draw):
    dims = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    c_in, f_group = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation, strict=True))
    spatial = tuple(draw(st.integers(1, 5)) for _ in range(dims))
    full = [
        (n - 1) * s + d * (k - 1) + op + 1
        for n, s, d, k, op in zip(spatial, stride, dilation, kernel, output_padding, strict=True)
    ]
    padding = tuple(draw(st.integers(0, (f - 1) // 2)) for f in full)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(draw(st.integers(1, 2)), c_in, *spatial))
    w = rng.normal(size=(c_in, f_group, *kernel))
    b = rng.normal(size=f_group * groups) if draw(st.booleans()) else None
    return dims, x, w, b, stride, padding, output_padding, dilation, groups, rng


@MANY
@given(transposed_case())
def test_conv_transpose_equals_torch(case):
    dims, x, w, b, stride, padding, output_padding, dilation, groups, rng = case
    xt, wt = leaf(x), leaf(w)
    bt = None if b is None else leaf(b)
    fn = F.conv_transpose1d if dims == 1 else F.conv_transpose2d
    yt = fn(xt, wt, bt, stride, padding, output_padding, groups, dilation)
    dy = rng.normal(size=tuple(yt.shape))
    yt.backward(torch.tensor(dy))
    if dims == 1:
        args = (stride[0], padding[0], output_padding[0], dilation[0], groups)
        y = conv_transpose1d_forward(x, w, b, *args)
        dx, dw, db = conv_transpose1d_backward(dy, x, w, *args)
    else:
        args2 = (stride, padding, output_padding, dilation, groups)
        y = conv_transpose2d_forward(x, w, b, *args2)
        dx, dw, db = conv_transpose2d_backward(dy, x, w, *args2)
    same(y, yt)
    same(dx, xt.grad)
    same(dw, wt.grad)
    if bt is not None:
        same(db, bt.grad)


@st.composite
def pool_case(draw):
    dims = draw(st.sampled_from([1, 2]))
    mode = draw(st.sampled_from(["max", "avg"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    if draw(st.booleans()):
        spatial = tuple(draw(st.integers(1, 6)) for _ in range(dims))
        return dims, mode, rng.normal(size=(*lead, *spatial)), "global", None, 0, rng
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    spatial = tuple(draw(st.integers(max(1, k - 2 * p), 8)) for k, p in zip(kernel, padding, strict=True))
    x = rng.normal(size=(*lead, *spatial))
    if draw(st.booleans()):
        x = np.round(x)  # ties: the first maximum in row-major order
    return dims, mode, x, kernel, stride, padding, rng


@MANY
@given(pool_case())
def test_padded_and_global_pool_equals_torch(case):
    dims, mode, x, size, stride, padding, rng = case
    xt = leaf(x)
    if size == "global":
        fn = {
            (1, "max"): F.adaptive_max_pool1d,
            (2, "max"): F.adaptive_max_pool2d,
            (1, "avg"): F.adaptive_avg_pool1d,
            (2, "avg"): F.adaptive_avg_pool2d,
        }[dims, mode]
        yt = fn(xt, 1)
    elif mode == "max":
        yt = (F.max_pool1d if dims == 1 else F.max_pool2d)(xt, size, stride, padding)
    else:
        yt = (F.avg_pool1d if dims == 1 else F.avg_pool2d)(xt, size, stride, padding, count_include_pad=True)
    dy = rng.normal(size=tuple(yt.shape))
    yt.backward(torch.tensor(dy))
    if dims == 1:
        args = ("global", None, 0) if size == "global" else (size[0], stride[0], padding[0])
        y = vc.pool1d_forward(x, mode, *args)
        dx = vc.pool1d_backward(dy, x, mode, *args)
    else:
        y = vc.pool2d_forward(x, mode, size, stride, padding)
        dx = vc.pool2d_backward(dy, x, mode, size, stride, padding)
    same(y, yt)
    same(dx, xt.grad)


@pytest.mark.parametrize(
    "call",
    [
        lambda t: F.conv2d(t.zeros(1, 3, 4, 4), t.zeros(2, 1, 2, 2), groups=2),
        lambda t: F.conv2d(t.zeros(1, 1, 4, 4), t.zeros(1, 1, 2, 2), stride=2, padding="same"),
        lambda t: F.conv_transpose2d(t.zeros(1, 1, 2, 2), t.zeros(1, 1, 2, 2), stride=2, output_padding=2),
        lambda t: F.max_pool2d(t.zeros(1, 1, 4, 4), 3, 1, 2),
        lambda t: F.avg_pool2d(t.zeros(1, 1, 4, 4), 3, 1, 2),
        lambda t: F.pad(t.zeros(1, 1, 2, 4), (2, 2, 2, 2), mode="reflect"),
        lambda t: F.pad(t.zeros(1, 1, 2, 4), (3, 3, 3, 3), mode="circular"),
    ],
)
def test_what_we_refuse_torch_refuses_too(call):
    with pytest.raises(RuntimeError):
        call(torch)

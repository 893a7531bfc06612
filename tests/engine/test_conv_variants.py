"""Grouped convolution, "same" padding and padding modes, transposed convolution, pool padding and
global pooling: the vectorised kernels against their loop twins, finite differences and refusals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import visualconv as vc
from visualconv.engine.conv import conv2d_backward_naive, conv2d_forward_naive
from visualconv.engine.conv_transpose import (
    conv_transpose1d_backward,
    conv_transpose1d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_backward_naive,
    conv_transpose2d_forward,
    conv_transpose2d_forward_naive,
)
from visualconv.engine.pool import pool2d_backward_naive, pool2d_forward_naive
from visualconv.engine.windows import fold_padding, pad_sides

FAST = settings(max_examples=40, deadline=None, derandomize=True)
MODES = ["zeros", "reflect", "replicate", "circular"]


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@st.composite
def grouped_case(draw):
    """A grouped conv with a padding (int pair, "same" or "valid") its mode accepts."""
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    mode = draw(st.sampled_from(MODES))
    kind = draw(st.sampled_from(["pair", "same", "valid"]))
    h = draw(st.integers(max(2, dh * (kh - 1) + 1), 7))
    w = draw(st.integers(max(2, dw * (kw - 1) + 1), 8))
    if kind == "same":
        stride = (1, 1)
        padding = "same"
        if mode == "reflect":  # each side at most ceil(d(k-1)/2) < size
            h, w = max(h, dh * (kh - 1)), max(w, dw * (kw - 1))
    else:
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        limit = 1 if mode == "reflect" else 2
        padding = (draw(st.integers(0, min(limit, h - 1))), draw(st.integers(0, min(limit, w - 1))))
        if kind == "valid":
            padding = "valid"
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(draw(st.integers(1, 2)), c_in, h, w))
    weight = rng.normal(size=(c_out, c_in // groups, kh, kw))
    bias = rng.normal(size=c_out) if draw(st.booleans()) else None
    return x, weight, bias, stride, padding, (dh, dw), groups, mode, rng


@FAST
@given(grouped_case())
def test_grouped_and_padded_conv_matches_loop_twin(case):
    x, w, b, s, p, d, g, mode, rng = case
    z = vc.conv2d_forward(x, w, b, s, p, d, groups=g, padding_mode=mode)
    close(z, conv2d_forward_naive(x, w, b, s, p, d, g, mode))
    dz = rng.normal(size=z.shape)
    fast = vc.conv2d_backward(dz, x, w, s, p, d, groups=g, padding_mode=mode)
    for ours, twin in zip(fast, conv2d_backward_naive(dz, x, w, s, p, d, g, mode), strict=True):
        close(ours, twin)


@FAST
@given(grouped_case())
def test_conv1d_with_groups_and_modes_is_conv2d_with_height_one(case):
    x, w, b, s, p, d, g, mode, rng = case
    x1, w1 = x[:, :, 0, :], w[:, :, 0, :]
    p1 = p if isinstance(p, str) else p[1]
    z = vc.conv1d_forward(x1, w1, b, s[1], p1, d[1], groups=g, padding_mode=mode)
    p2 = p if isinstance(p, str) else (0, p[1])
    twin_args = ((1, s[1]), p2, (1, d[1]), g, mode)
    close(z, conv2d_forward_naive(x1[:, :, None], w1[:, :, None], b, *twin_args)[:, :, 0])
    dz = rng.normal(size=z.shape)
    dx, dw, db = vc.conv1d_backward(dz, x1, w1, s[1], p1, d[1], groups=g, padding_mode=mode)
    edx, edw, edb = conv2d_backward_naive(dz[:, :, None], x1[:, :, None], w1[:, :, None], *twin_args)
    close(dx, edx[:, :, 0])
    close(dw, edw[:, :, 0])
    close(db, edb)


def test_same_padding_with_an_even_kernel_puts_the_extra_zero_on_the_right():
    # [1 2 3 4] with kernel [1 10 100 1000]: padding 1 on the left, 2 on the right
    z = vc.conv1d_forward(np.array([[[1.0, 2, 3, 4]]]), np.array([[[1.0, 10, 100, 1000]]]), None, 1, "same")
    close(z, [[[0 + 10 + 200 + 3000, 1 + 20 + 300 + 4000, 2 + 30 + 400, 3 + 40]]])


def test_reflect_replicate_circular_borders_by_hand():
    x = np.array([[[[1.0, 2, 3, 4]]]])
    close(pad_sides(x, (0, 0, 2, 2), "reflect")[0, 0, 0], [3, 2, 1, 2, 3, 4, 3, 2])
    close(pad_sides(x, (0, 0, 2, 2), "replicate")[0, 0, 0], [1, 1, 1, 2, 3, 4, 4, 4])
    close(pad_sides(x, (0, 0, 2, 2), "circular")[0, 0, 0], [3, 4, 1, 2, 3, 4, 1, 2])
    # the gradient of each copied cell flows back to its source cell
    ones = np.ones((1, 1, 1, 8))
    close(fold_padding(ones, (0, 0, 2, 2), "reflect")[0, 0, 0], [1, 3, 3, 1])
    close(fold_padding(ones, (0, 0, 2, 2), "replicate")[0, 0, 0], [3, 1, 1, 3])
    close(fold_padding(ones, (0, 0, 2, 2), "circular")[0, 0, 0], [2, 2, 2, 2])
    close(fold_padding(ones, (0, 0, 2, 2), "zeros")[0, 0, 0], [1, 1, 1, 1])


@FAST
@given(
    st.sampled_from(MODES),
    st.tuples(*[st.integers(0, 3)] * 4),
    st.integers(4, 6),
    st.integers(4, 6),
    st.integers(0, 2**32 - 1),
)
def test_fold_padding_is_the_adjoint_of_pad_sides(mode, sides, h, w, seed):
    # <pad(x), g> == <x, fold(g)> for every x and g: fold is pad's transpose
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 1, h, w))
    padded = pad_sides(x, sides, mode)
    g = rng.normal(size=padded.shape)
    assert np.sum(padded * g) == pytest.approx(np.sum(x * fold_padding(g, sides, mode)), rel=1e-12, abs=1e-12)


@st.composite
def transposed_case(draw):
    groups = draw(st.integers(1, 2))
    c_in, f_group = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    oph, opw = draw(st.integers(0, max(sh, dh) - 1)), draw(st.integers(0, max(sw, dw) - 1))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    # padding that leaves at least one output cell
    full_h = (h - 1) * sh + dh * (kh - 1) + oph + 1
    full_w = (w - 1) * sw + dw * (kw - 1) + opw + 1
    ph, pw = draw(st.integers(0, (full_h - 1) // 2)), draw(st.integers(0, (full_w - 1) // 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(draw(st.integers(1, 2)), c_in, h, w))
    weight = rng.normal(size=(c_in, f_group, kh, kw))
    bias = rng.normal(size=f_group * groups) if draw(st.booleans()) else None
    return x, weight, bias, ((sh, sw), (ph, pw), (oph, opw), (dh, dw), groups), rng


@FAST
@given(transposed_case())
def test_conv_transpose_matches_loop_twin(case):
    x, w, b, args, rng = case
    y = conv_transpose2d_forward(x, w, b, *args)
    close(y, conv_transpose2d_forward_naive(x, w, b, *args))
    dy = rng.normal(size=y.shape)
    for ours, twin in zip(
        conv_transpose2d_backward(dy, x, w, *args),
        conv_transpose2d_backward_naive(dy, x, w, *args),
        strict=True,
    ):
        close(ours, twin)


@FAST
@given(transposed_case())
def test_conv_transpose1d_is_conv_transpose2d_with_height_one(case):
    x, w, b, (s, p, op, d, g), rng = case
    x1, w1 = x[:, :, 0, :], w[:, :, 0, :]
    y = conv_transpose1d_forward(x1, w1, b, s[1], p[1], op[1] % max(s[1], d[1]), d[1], g)
    twin = ((1, s[1]), (0, p[1]), (0, op[1] % max(s[1], d[1])), (1, d[1]), g)
    close(y, conv_transpose2d_forward_naive(x1[:, :, None], w1[:, :, None], b, *twin)[:, :, 0])
    dy = rng.normal(size=y.shape)
    dx, dw, db = conv_transpose1d_backward(dy, x1, w1, s[1], p[1], op[1] % max(s[1], d[1]), d[1], g)
    edx, edw, edb = conv_transpose2d_backward_naive(dy[:, :, None], x1[:, :, None], w1[:, :, None], *twin)
    close(dx, edx[:, :, 0])
    close(dw, edw[:, :, 0])
    close(db, edb)


def test_conv_transpose_is_the_input_gradient_of_the_conv_with_the_same_kernel():
    # the link: conv_transpose(dZ, W) == conv's dA_prev for the same W, stride, padding, dilation
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1, 2, 7, 6))
    w = rng.normal(size=(3, 2, 3, 2))
    z = vc.conv2d_forward(x, w, None, 2, 1, 1)
    dz = rng.normal(size=z.shape)
    dx, _, _ = vc.conv2d_backward(dz, x, w, 2, 1, 1)
    # output_padding makes up the rows and columns the conv's stride skipped
    op = (x.shape[2] + 2 - 3) % 2, (x.shape[3] + 2 - 2) % 2
    close(conv_transpose2d_forward(dz, w, None, 2, 1, op, 1), dx)


def test_transposed_stride_two_by_hand():
    # x = [1, 2], kernel [1, 10, 100], stride 2: stamps 1*k at 0 and 2*k at 2, overlapping at cell 2
    y = conv_transpose1d_forward(
        np.array([[[1.0, 2.0]]]), np.array([[[1.0, 10, 100]]]), np.array([0.5]), 2, 0, 1
    )
    close(y, [[[1.5, 10.5, 102.5, 20.5, 200.5, 0.5]]])


@st.composite
def pool_case(draw):
    mode = draw(st.sampled_from(["max", "avg"]))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
        return rng.normal(size=(n, c, h, w)), mode, "global", None, 0, rng
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    h, w = draw(st.integers(max(1, kh - 2 * ph), 7)), draw(st.integers(max(1, kw - 2 * pw), 7))
    x = rng.normal(size=(n, c, h, w))
    if draw(st.booleans()):
        x = np.round(x)  # ties
    return x, mode, (kh, kw), stride, (ph, pw), rng


@FAST
@given(pool_case())
def test_padded_and_global_pool_match_loop_twin(case):
    x, mode, size, stride, padding, rng = case
    y = vc.pool2d_forward(x, mode, size, stride, padding)
    close(y, pool2d_forward_naive(x, mode, size, stride, padding))
    dy = rng.normal(size=y.shape)
    close(
        vc.pool2d_backward(dy, x, mode, size, stride, padding),
        pool2d_backward_naive(dy, x, mode, size, stride, padding),
    )


@FAST
@given(pool_case())
def test_pool1d_padding_and_global_is_pool2d_with_height_one(case):
    x, mode, size, stride, padding, rng = case
    x1 = x[:, :, 0, :]
    size1 = size if size == "global" else size[1]
    stride1 = None if stride is None else stride[1]
    padding1 = 0 if size == "global" else padding[1]
    y = vc.pool1d_forward(x1, mode, size1, stride1, padding1)
    twin = (
        ("global", None, 0)
        if size == "global"
        else ((1, size[1]), None if stride is None else (1, stride[1]), (0, padding[1]))
    )
    close(y, pool2d_forward_naive(x1[:, :, None], mode, *twin)[:, :, 0])
    dy = rng.normal(size=y.shape)
    close(
        vc.pool1d_backward(dy, x1, mode, size1, stride1, padding1),
        pool2d_backward_naive(dy[:, :, None], x1[:, :, None], mode, *twin)[:, :, 0],
    )


def test_max_pool_padding_never_wins_even_against_minus_infinity():
    x = np.array([[[[-np.inf, 1.0, -np.inf]]]])
    y = vc.pool2d_forward(x, "max", (1, 2), (1, 1), (0, 1))
    close(y, [[[[-np.inf, 1.0, 1.0, -np.inf]]]])
    dx = vc.pool2d_backward(np.array([[[[1.0, 2.0, 4.0, 8.0]]]]), x, "max", (1, 2), (1, 1), (0, 1))
    close(dx, [[[[1.0, 6.0, 8.0]]]])  # the all -inf windows send their delta to their real cell
    close(dx, pool2d_backward_naive(np.array([[[[1.0, 2.0, 4.0, 8.0]]]]), x, "max", (1, 2), (1, 1), (0, 1)))


def test_avg_pool_padding_counts_in_the_average():
    y = vc.pool1d_forward(np.array([[[3.0, 6.0]]]), "avg", 3, 1, 1)
    close(y, [[[3.0, 3.0]]])  # (0 + 3 + 6) / 3 twice


def test_global_pooling_by_hand():
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    close(vc.pool2d_forward(x, "avg", "global"), [[[[2.5]]]])
    close(vc.pool2d_forward(x, "max", "global"), [[[[5.0]]]])
    close(vc.pool2d_backward(np.array([[[[6.0]]]]), x, "avg", "global"), np.ones((1, 1, 2, 3)))


def _numeric_gradient(f, array, eps=1e-6):
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        plus = f()
        array[index] = saved - eps
        minus = f()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


@settings(max_examples=12, deadline=None, derandomize=True)
@given(grouped_case())
def test_grouped_and_padded_conv_backward_matches_finite_differences(case):
    x, w, b, s, p, d, g, mode, rng = case
    r = rng.normal(size=vc.conv2d_forward(x, w, b, s, p, d, groups=g, padding_mode=mode).shape)

    def loss():
        return float(np.sum(vc.conv2d_forward(x, w, b, s, p, d, groups=g, padding_mode=mode) * r))

    dx, dw, db = vc.conv2d_backward(r, x, w, s, p, d, groups=g, padding_mode=mode)
    np.testing.assert_allclose(dx, _numeric_gradient(loss, x), atol=1e-6)
    np.testing.assert_allclose(dw, _numeric_gradient(loss, w), atol=1e-6)
    if b is not None:
        np.testing.assert_allclose(db, _numeric_gradient(loss, b), atol=1e-6)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(transposed_case())
def test_conv_transpose_backward_matches_finite_differences(case):
    x, w, b, args, rng = case
    r = rng.normal(size=conv_transpose2d_forward(x, w, b, *args).shape)

    def loss():
        return float(np.sum(conv_transpose2d_forward(x, w, b, *args) * r))

    dx, dw, db = conv_transpose2d_backward(r, x, w, *args)
    np.testing.assert_allclose(dx, _numeric_gradient(loss, x), atol=1e-6)
    np.testing.assert_allclose(dw, _numeric_gradient(loss, w), atol=1e-6)
    if b is not None:
        np.testing.assert_allclose(db, _numeric_gradient(loss, b), atol=1e-6)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(pool_case())
def test_padded_and_global_pool_backward_matches_finite_differences(case):
    x, mode, size, stride, padding, rng = case
    x = x + rng.uniform(-0.1, 0.1, size=x.shape) * 1e-2 + np.arange(x.size).reshape(x.shape) * 1e-3  # no ties
    r = rng.normal(size=vc.pool2d_forward(x, mode, size, stride, padding).shape)

    def loss():
        return float(np.sum(vc.pool2d_forward(x, mode, size, stride, padding) * r))

    np.testing.assert_allclose(
        vc.pool2d_backward(r, x, mode, size, stride, padding), _numeric_gradient(loss, x, 1e-7), atol=1e-5
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: vc.conv2d_forward(np.zeros((1, 3, 4, 4)), np.zeros((2, 1, 2, 2)), groups=2),
            "groups 2 must divide",
        ),
        (
            lambda: vc.conv2d_forward(np.zeros((1, 4, 4, 4)), np.zeros((3, 2, 2, 2)), groups=2),
            "output channels 3",
        ),
        (
            lambda: vc.conv2d_forward(np.zeros((1, 4, 4, 4)), np.zeros((2, 1, 2, 2)), groups=2),
            "expects 1 per group",
        ),
        (
            lambda: vc.conv2d_forward(
                np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), stride=2, padding="same"
            ),
            "stride 1",
        ),
        (
            lambda: vc.conv2d_forward(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), padding="full"),
            "'valid' or 'same'",
        ),
        (
            lambda: vc.conv2d_forward(
                np.zeros((1, 1, 2, 4)), np.zeros((1, 1, 2, 2)), padding=2, padding_mode="reflect"
            ),
            "smaller than the input height 2",
        ),
        (
            lambda: vc.conv2d_forward(
                np.zeros((1, 1, 2, 4)), np.zeros((1, 1, 2, 2)), padding=3, padding_mode="circular"
            ),
            "at most the input height 2",
        ),
        (
            lambda: vc.conv2d_forward(np.zeros((1, 1, 2, 4)), np.zeros((1, 1, 2, 2)), padding_mode="mirror"),
            "padding_mode",
        ),
        (
            lambda: conv_transpose2d_forward(
                np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), stride=2, output_padding=2
            ),
            "output_padding 2 must be smaller",
        ),
        (
            lambda: conv_transpose2d_forward(np.zeros((1, 3, 2, 2)), np.zeros((3, 1, 2, 2)), groups=2),
            "groups 2 must divide",
        ),
        (
            lambda: conv_transpose2d_forward(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1, 1)), padding=1),
            "no output",
        ),
        (lambda: vc.pool2d_forward(np.zeros((1, 1, 4, 4)), "max", 3, 1, 2), "at most half the size"),
        (lambda: vc.pool2d_forward(np.zeros((1, 1, 4, 4)), "max", "global", 1), "no stride"),
    ],
)
def test_refusals_name_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()

"""Vectorised kernels against their loop twins and against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import visualconv as vc
from visualconv.engine.conv import conv2d_backward_naive, conv2d_forward_naive
from visualconv.engine.pool import pool2d_backward_naive, pool2d_forward_naive

FAST = settings(max_examples=40, deadline=None, derandomize=True)


@st.composite
def conv_case(draw):
    n = draw(st.integers(1, 2))
    c_in = draw(st.integers(1, 3))
    c_out = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 7))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 7))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c_in, h, w))
    weight = rng.normal(size=(c_out, c_in, kh, kw))
    bias = rng.normal(size=c_out) if draw(st.booleans()) else None
    return x, weight, bias, (sh, sw), (ph, pw), (dh, dw), rng


@FAST
@given(conv_case())
def test_conv2d_forward_matches_loop_twin(case):
    x, w, b, s, p, d, _ = case
    np.testing.assert_allclose(
        vc.conv2d_forward(x, w, b, s, p, d), conv2d_forward_naive(x, w, b, s, p, d), rtol=1e-12, atol=1e-12
    )


@FAST
@given(conv_case())
def test_conv2d_backward_matches_loop_twin(case):
    x, w, b, s, p, d, rng = case
    z = vc.conv2d_forward(x, w, b, s, p, d)
    dz = rng.normal(size=z.shape)
    for fast, slow in zip(
        vc.conv2d_backward(dz, x, w, s, p, d), conv2d_backward_naive(dz, x, w, s, p, d), strict=True
    ):
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


@FAST
@given(conv_case())
def test_conv1d_is_conv2d_with_height_one(case):
    x, w, b, s, p, d, rng = case
    x1, w1 = x[:, :, 0, :], w[:, :, 0, :]
    z = vc.conv1d_forward(x1, w1, b, s[1], p[1], d[1])
    expected = conv2d_forward_naive(x1[:, :, None, :], w1[:, :, None, :], b, (1, s[1]), (0, p[1]), (1, d[1]))
    np.testing.assert_allclose(z, expected[:, :, 0, :], rtol=1e-12, atol=1e-12)
    dz = rng.normal(size=z.shape)
    dx, dw, db = vc.conv1d_backward(dz, x1, w1, s[1], p[1], d[1])
    edx, edw, edb = conv2d_backward_naive(
        dz[:, :, None, :], x1[:, :, None, :], w1[:, :, None, :], (1, s[1]), (0, p[1]), (1, d[1])
    )
    np.testing.assert_allclose(dx, edx[:, :, 0, :], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, edw[:, :, 0, :], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, edb, rtol=1e-12, atol=1e-12)


@st.composite
def pool_case(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    h, w = draw(st.integers(kh, 7)), draw(st.integers(kw, 7))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Small integers make ties in max pooling common.
    x = (
        rng.integers(-3, 4, size=(n, c, h, w)).astype(float)
        if draw(st.booleans())
        else rng.normal(size=(n, c, h, w))
    )
    return x, draw(st.sampled_from(["max", "avg"])), (kh, kw), stride, rng


@FAST
@given(pool_case())
def test_pool2d_matches_loop_twin(case):
    x, mode, size, stride, rng = case
    y = vc.pool2d_forward(x, mode, size, stride)
    np.testing.assert_allclose(y, pool2d_forward_naive(x, mode, size, stride), rtol=1e-12, atol=1e-12)
    dy = rng.normal(size=y.shape)
    np.testing.assert_allclose(
        vc.pool2d_backward(dy, x, mode, size, stride),
        pool2d_backward_naive(dy, x, mode, size, stride),
        rtol=1e-12,
        atol=1e-12,
    )


def test_max_pool_tie_goes_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[5.0, 5.0], [5.0, 1.0]]]])
    dx = vc.pool2d_backward(np.array([[[[2.0]]]]), x, "max", 2)
    np.testing.assert_array_equal(dx, [[[[2.0, 0.0], [0.0, 0.0]]]])


def test_overlapping_max_windows_add_up_by_hand():
    # 1-D, size 2, stride 1 over [1, 3, 2]: both windows pick the 3.
    dx = vc.pool1d_backward(np.array([[[0.5, 0.25]]]), np.array([[[1.0, 3.0, 2.0]]]), "max", 2, 1)
    np.testing.assert_array_equal(dx, [[[0.0, 0.75, 0.0]]])


def test_overlapping_avg_windows_add_up_by_hand():
    dx = vc.pool1d_backward(np.array([[[0.5, 0.25]]]), np.array([[[1.0, 3.0, 2.0]]]), "avg", 2, 1)
    np.testing.assert_allclose(dx, [[[0.25, 0.375, 0.125]]], atol=1e-15)


def _numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g


@settings(max_examples=15, deadline=None, derandomize=True)
@given(conv_case())
def test_conv2d_backward_matches_finite_differences(case):
    x, w, b, s, p, d, rng = case
    dz = rng.normal(size=vc.conv2d_forward(x, w, b, s, p, d).shape)
    dx, dw, db = vc.conv2d_backward(dz, x, w, s, p, d)
    np.testing.assert_allclose(
        dx, _numeric_grad(lambda v: np.sum(dz * vc.conv2d_forward(v, w, b, s, p, d)), x.copy()), atol=1e-6
    )
    np.testing.assert_allclose(
        dw, _numeric_grad(lambda v: np.sum(dz * vc.conv2d_forward(x, v, b, s, p, d)), w.copy()), atol=1e-6
    )
    if b is not None:
        np.testing.assert_allclose(
            db, _numeric_grad(lambda v: np.sum(dz * vc.conv2d_forward(x, w, v, s, p, d)), b.copy()), atol=1e-6
        )


def test_kernel_larger_than_padded_input_is_a_clear_error():
    with pytest.raises(ValueError, match="does not fit"):
        vc.conv2d_forward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)))


def test_channel_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="channels"):
        vc.conv2d_forward(np.zeros((1, 2, 4, 4)), np.zeros((1, 3, 2, 2)))


@FAST
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(1, 2),
)
def test_covering_windows_is_the_inverse_of_the_window_map(kh, kw, sh, sw, dh, dw):
    from visualconv.engine.windows import covering_windows, output_shape

    hp, wp = 7, 8
    oh, ow = output_shape((hp, wp), (kh, kw), (sh, sw), (0, 0), (dh, dw))
    for row in range(hp):
        for col in range(wp):
            by_hand = [
                (i, j, a, b)
                for a in range(kh)
                for b in range(kw)
                for i in range(oh)
                for j in range(ow)
                if i * sh + a * dh == row and j * sw + b * dw == col
            ]
            assert covering_windows(row, col, (kh, kw), (sh, sw), (dh, dw), (oh, ow)) == by_hand

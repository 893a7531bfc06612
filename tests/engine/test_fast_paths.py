"""The engine's fast paths against their loop twins, plain loops and PyTorch.

Covers what the vectorised kernels special-case: blocked column matrices (forced by a
small block size), 1x1 kernels, strides equal to or larger than the kernel, tiled,
disjoint and overlapping pooling windows, ties and non-finite values in max pooling,
and the trace's three ways to reach a step (directly, from k-1, from k+1).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import KERNEL_RTOL as RTOL
from helpers import assert_close
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visualconv.engine import conv as conv_module
from visualconv.engine import parallel
from visualconv.engine import pool as pool_module
from visualconv.engine.conv import (
    conv1d_backward,
    conv1d_forward,
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_forward,
    conv2d_forward_naive,
)
from visualconv.engine.kinds.conv import ConvBackwardTrace
from visualconv.engine.layers import ConvLayer, PoolLayer
from visualconv.engine.model import make_model, run
from visualconv.engine.pool import (
    max_positions,
    pool1d_backward,
    pool1d_forward,
    pool2d_backward,
    pool2d_backward_naive,
    pool2d_forward,
    pool2d_forward_naive,
)
from visualconv.engine.trace import LayerTrace, trace_layer
from visualconv.engine.windows import col2im, im2col, pad, sliding_windows

# The block-size fixture only patches a module constant: sharing it across examples is fine.
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(params=[1, 3], ids=["serial", "three-threads"])
def engine_threads(request, monkeypatch):
    """Run a test on the caller's thread alone and split over three threads, however small.

    The threaded run also cuts pooling into blocks of a single plane or a few.
    """
    monkeypatch.setattr(parallel, "_threads", request.param)
    monkeypatch.setattr(conv_module, "PARALLEL_MULTIPLY_ADDS", 0)
    monkeypatch.setattr(pool_module, "PARALLEL_CELLS", 0)
    monkeypatch.setattr(pool_module, "SMALL_CELLS", 0)  # the NumPy routes, however small the input
    if request.param > 1:
        monkeypatch.setattr(pool_module, "BLOCK_CELLS", 7)
    return request.param


@pytest.fixture
def numpy_routes(monkeypatch):
    """Max pooling of small inputs through the NumPy routes, not the plain Python loop."""
    monkeypatch.setattr(pool_module, "SMALL_CELLS", 0)


@pytest.fixture(params=[None, 7], ids=["one-block", "many-blocks"])
def block_elements(request, monkeypatch):
    """Run a test with the default sizes and with tiny column-matrix blocks and BLAS calls."""
    if request.param is not None:
        monkeypatch.setattr(conv_module, "BLOCK_ELEMENTS", request.param)
        monkeypatch.setattr(conv_module, "GEMM_MULTIPLY_ADDS", 5)
    return request.param


# ---------------------------------------------------------------- convolution


@st.composite
def conv_cases(draw):
    n = draw(st.integers(1, 3))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 8))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(n, c_in, h, w))
    weight = rng.normal(size=(c_out, c_in, kh, kw))
    bias = rng.normal(size=c_out) if draw(st.booleans()) else None
    return x, weight, bias, (sh, sw), (ph, pw), (dh, dw), rng


@PROPERTY
@given(case=conv_cases())
def test_conv2d_matches_loop_twin_in_blocks(case, block_elements, engine_threads):
    x, w, b, s, p, d, rng = case
    z = conv2d_forward(x, w, b, s, p, d)
    assert z.flags.c_contiguous
    assert_close(z, conv2d_forward_naive(x, w, b, s, p, d))
    dz = rng.normal(size=z.shape)
    fast = conv2d_backward(dz, x, w, s, p, d)
    slow = conv2d_backward_naive(dz, x, w, s, p, d)
    for got, expected in zip(fast, slow, strict=True):
        assert got.shape == expected.shape
        assert got.flags.c_contiguous
        assert_close(got, expected)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding"),
    [((1, 1), (1, 1), (0, 0)), ((1, 1), (2, 1), (0, 0)), ((1, 1), (1, 1), (1, 0)), ((2, 2), (2, 2), (0, 0))],
    ids=["1x1", "1x1-stride", "1x1-padded", "stride-equals-kernel"],
)
def test_conv2d_special_shapes(kernel, stride, padding, block_elements):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 6, 5))
    w = rng.normal(size=(4, 3, *kernel))
    b = rng.normal(size=4)
    z = conv2d_forward(x, w, b, stride, padding)
    assert_close(z, conv2d_forward_naive(x, w, b, stride, padding))
    dz = rng.normal(size=z.shape)
    for got, expected in zip(
        conv2d_backward(dz, x, w, stride, padding),
        conv2d_backward_naive(dz, x, w, stride, padding),
        strict=True,
    ):
        assert_close(got, expected)


@pytest.mark.parametrize("limit", [1, 40, 1 << 19])
def test_chunked_matrix_products_equal_plain_ones(limit, monkeypatch):
    monkeypatch.setattr(conv_module, "GEMM_MULTIPLY_ADDS", limit)
    rng = np.random.default_rng(15)
    for m, k, lead, length in [(3, 4, (), 23), (5, 2, (3,), 17), (1, 1, (2,), 1), (4, 6, (2,), 64)]:
        a = rng.normal(size=(m, k))
        b = rng.normal(size=(*lead, k, length))
        assert_close(conv_module.matmul_in_chunks(a, b), np.matmul(a, b))
        d = rng.normal(size=(*(lead or (1,)), m, length))
        c = rng.normal(size=(*(lead or (1,)), k, length))
        assert_close(conv_module.contract_positions(d, c), np.einsum("nfp,nkp->fk", d, c))
        e = rng.normal(size=(*(lead or (1,)), length, k))
        batched = conv_module.batched_matmul_in_chunks(d, e)
        for n in range(d.shape[0]):  # loop twin: one plain product per batch entry
            assert_close(batched[n], d[n] @ e[n])


def test_conv_leaves_its_inputs_alone():
    rng = np.random.default_rng(6)
    x, w, b = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    before = [a.copy() for a in (x, w, b)]
    z = conv2d_forward(x, w, b, 1, 1)
    conv2d_backward(np.ones_like(z), x, w, 1, 1)
    for a, kept in zip((x, w, b), before, strict=True):
        np.testing.assert_array_equal(a, kept)


@PROPERTY
@given(case=conv_cases())
def test_im2col_and_col2im_are_adjoint(case):
    """<im2col(x), c> == <x, col2im(c)>, and im2col holds exactly the windows."""
    x, w, _, s, p, d, rng = case
    kernel = w.shape[2:]
    x_padded = pad(x, p)
    cols = im2col(x_padded, kernel, s, d)
    windows = sliding_windows(x_padded, kernel, s, d)  # (N, C, oh, ow, kH, kW)
    n, c, oh, ow = windows.shape[:4]
    np.testing.assert_array_equal(
        cols, windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kernel[0] * kernel[1], oh * ow)
    )
    grads = rng.normal(size=cols.shape)
    back = col2im(grads, x.shape, kernel, s, p, d)
    np.testing.assert_allclose(np.vdot(cols, grads), np.vdot(x_padded, pad(back, p)), rtol=1e-10)
    np.testing.assert_allclose(np.vdot(im2col(pad(x, p), kernel, s, d), grads), np.vdot(x, back), rtol=1e-10)


def test_conv1d_matches_the_2d_loop_twin():
    rng = np.random.default_rng(7)
    x, w, b = rng.normal(size=(3, 2, 11)), rng.normal(size=(4, 2, 3)), rng.normal(size=4)
    z = conv1d_forward(x, w, b, 2, 1, 2)
    expected = conv2d_forward_naive(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), (1, 2))[:, :, 0]
    assert_close(z, expected)
    dz = rng.normal(size=z.shape)
    slow = conv2d_backward_naive(dz[:, :, None], x[:, :, None], w[:, :, None], (1, 2), (0, 1), (1, 2))
    dx, dw, db = conv1d_backward(dz, x, w, 2, 1, 2)
    assert_close(dx, slow[0][:, :, 0])
    assert_close(dw, slow[1][:, :, 0])
    assert_close(db, slow[2])


# ---------------------------------------------------------------- pooling


@st.composite
def pool_cases(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))  # overlapping, tiled and gapped windows
    h, w = draw(st.integers(kh, 9)), draw(st.integers(kw, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        x = rng.integers(-2, 3, size=(n, c, h, w)).astype(np.float64)  # many ties
    else:
        x = rng.normal(size=(n, c, h, w))
    mode = draw(st.sampled_from(["max", "avg"]))
    return x, mode, (kh, kw), (sh, sw), rng


@PROPERTY
@given(case=pool_cases())
def test_pool2d_matches_loop_twin(case, engine_threads):
    x, mode, k, s, rng = case
    y = pool2d_forward(x, mode, k, s)
    assert_close(y, pool2d_forward_naive(x, mode, k, s))
    dy = rng.normal(size=y.shape)
    dx = pool2d_backward(dy, x, mode, k, s)
    assert dx.flags.c_contiguous
    assert_close(dx, pool2d_backward_naive(dy, x, mode, k, s))


@pytest.mark.parametrize("routes", ["numpy", "small"])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order(stride, routes, monkeypatch):
    if routes == "numpy":
        monkeypatch.setattr(pool_module, "SMALL_CELLS", 0)
    x = np.zeros((1, 1, 4, 4))  # every window is all ties
    x[0, 0, 3, 3] = -1.0
    dy = np.arange(1.0, 1.0 + pool2d_forward(x, "max", 2, stride).size).reshape(
        pool2d_forward(x, "max", 2, stride).shape
    )
    dx = pool2d_backward(dy, x, "max", 2, stride)
    assert_close(dx, pool2d_backward_naive(dy, x, "max", 2, stride))
    # each window's delta lands on its top-left cell
    assert dx[0, 0, 0, 0] == dy[0, 0, 0, 0]
    assert dx[0, 0, 0, 1] == (dy[0, 0, 0, 1] if stride == 1 else 0.0)


@pytest.mark.parametrize("stride", [(2, 2), (1, 1), (1, 2)])
def test_max_pool_routes_non_finite_values_like_the_loop_twin(stride, engine_threads):
    rng = np.random.default_rng(8)
    x = rng.integers(-1, 2, size=(1, 2, 5, 6)).astype(np.float64)
    x[0, 0, 1, 1] = np.inf
    x[0, 1, 2, 3] = -np.inf
    y = pool2d_forward(x, "max", 2, stride)
    dy = rng.normal(size=y.shape)
    dy[0, 0, 0, 0] = np.inf
    dy[0, 1, 1, 1] = -np.inf
    np.testing.assert_array_equal(pool2d_forward_naive(x, "max", 2, stride), y)
    np.testing.assert_allclose(
        pool2d_backward(dy, x, "max", 2, stride), pool2d_backward_naive(dy, x, "max", 2, stride), rtol=RTOL
    )


@pytest.mark.parametrize("routes", ["numpy", "small"])
def test_max_pool_with_nan_input_routes_like_the_loop_twin(routes, monkeypatch):
    if routes == "numpy":
        monkeypatch.setattr(pool_module, "SMALL_CELLS", 0)
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 0] = np.nan  # first in its window: the twin keeps it (nothing compares greater)
    x[0, 0, 1, 3] = np.nan  # last in its window: the twin skips it
    dy = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    np.testing.assert_array_equal(pool2d_backward(dy, x, "max", 2), pool2d_backward_naive(dy, x, "max", 2))


@pytest.mark.parametrize("size", [(1, 2), (2, 1)], ids=["1x2", "2x1"])
@pytest.mark.parametrize("stride", [None, (2, 3)], ids=["tiled", "gapped"])
def test_two_cell_max_pool_routes_nan_inputs_and_infinite_deltas_like_the_loop_twin(
    size, stride, engine_threads
):
    rng = np.random.default_rng(11)
    x = rng.integers(-1, 2, size=(2, 2, 6, 6)).astype(np.float64)  # many ties
    x[0, 0, 0, 0] = np.nan  # first cell of its window: kept, as nothing compares greater
    x[0, 1, 3, 3] = np.nan  # second cell of its window: never wins
    x[1, 0, 4, 4] = np.inf
    y_shape = pool2d_forward_naive(x, "max", size, stride).shape
    dy = rng.normal(size=y_shape)
    dy[0, 0, 1, 1] = np.inf
    dy[1, 1, 0, 0] = -np.inf
    dy[1, 0, 2, 0] = np.nan
    np.testing.assert_array_equal(
        pool2d_backward(dy, x, "max", size, stride), pool2d_backward_naive(dy, x, "max", size, stride)
    )


@pytest.mark.parametrize("shape", [(3, 2, 8, 6), (2, 3, 7, 9)], ids=["tiled", "ragged-edges"])
def test_two_by_two_max_pool_routes_each_delta_to_the_first_maximum(shape, engine_threads):
    rng = np.random.default_rng(12)
    x = rng.integers(-1, 2, size=shape).astype(np.float64)  # ties in most windows
    dy = rng.normal(size=pool2d_forward_naive(x, "max", 2).shape)
    np.testing.assert_array_equal(pool2d_backward(dy, x, "max", 2), pool2d_backward_naive(dy, x, "max", 2))


@pytest.mark.parametrize("size", [(2, 2), (1, 3), (3, 2)])
@pytest.mark.parametrize("shape", [(2, 2, 6, 6), (2, 3, 7, 8)], ids=["tiled", "ragged-edges"])
def test_average_pool_with_windows_side_by_side_spreads_each_delta_evenly(size, shape, engine_threads):
    rng = np.random.default_rng(13)
    x = rng.normal(size=shape)
    y = pool2d_forward(x, "avg", size)
    assert_close(y, pool2d_forward_naive(x, "avg", size))
    dy = rng.normal(size=y.shape)
    assert_close(pool2d_backward(dy, x, "avg", size), pool2d_backward_naive(dy, x, "avg", size))


@pytest.mark.parametrize(
    ("size", "stride"),
    [
        ((3, 3), (2, 2)),
        ((3, 3), (3, 3)),
        ((1, 3), (1, 2)),
        ((1, 3), (1, 1)),
        ((2, 3), (1, 2)),
        ((1, 3), (2, 2)),
        ((1, 5), (1, 3)),
    ],
    ids=[
        "3x3-overlapping",
        "3x3-side-by-side",
        "1x3-stride-2",
        "1x3-stride-1",
        "2x3-mixed",
        "1x3-every-other-row",
        "1x5-stride-3",
    ],
)
@pytest.mark.parametrize("special", ["none", "nan", "infinite-deltas"])
def test_max_pool_backward_equals_the_loop_twin_to_the_last_bit(size, stride, special, engine_threads):
    rng = np.random.default_rng(14)
    x = rng.integers(-1, 2, size=(2, 3, 9, 10)).astype(np.float64)  # ties in most windows
    dy = rng.normal(size=pool2d_forward_naive(x, "max", size, stride).shape)
    if special == "nan":
        x[0, 0, 0, 0] = np.nan  # first cell of a window: the twin keeps it
        x[0, 1, 1, 1] = np.nan
        # A middle cell of some windows, with a larger value after it: the twin skips the
        # NaN and lets the larger value win.
        x[1, 2, 3:7, 3:8] = -1.0
        x[1, 2, 4, 5] = np.nan
        x[1, 2, 4, 6] = x[1, 2, 5, 3] = 1.0
    elif special == "infinite-deltas":
        dy[0, 0, 0, 0] = np.inf
        dy[1, 1, 1, 1] = -np.inf
    np.testing.assert_array_equal(
        pool2d_backward(dy, x, "max", size, stride), pool2d_backward_naive(dy, x, "max", size, stride)
    )


@pytest.mark.parametrize("size", [(1, 2), (1, 3)])
@pytest.mark.parametrize("stride", [(1, 2), (2, 2)], ids=["every-row", "every-other-row"])
@pytest.mark.parametrize("width", [9, 10])
def test_max_pool_of_neighbour_pairs_equals_the_loop_twin(size, stride, width, engine_threads):
    rng = np.random.default_rng(15)
    x = rng.normal(size=(2, 3, 5, width))
    x[1, 2, 3, 4] = np.inf
    np.testing.assert_array_equal(
        pool2d_forward(x, "max", size, stride), pool2d_forward_naive(x, "max", size, stride)
    )


def test_pool_settings_are_checked_alike_on_every_call():
    # The checked settings of a shape are remembered; errors never are, lists read as tuples.
    x = np.random.default_rng(16).normal(size=(1, 2, 6, 7))
    for _ in range(2):
        with pytest.raises(ValueError, match="larger than the padded input"):
            pool2d_forward(x, "max", (7, 2))
        with pytest.raises(ValueError, match="pool mode must be"):
            pool2d_forward(x, "median", 2)
    expected = pool2d_forward_naive(x, "max", (3, 2), (2, 1))
    np.testing.assert_array_equal(pool2d_forward(x, "max", [3, 2], [2, 1]), expected)
    np.testing.assert_array_equal(pool2d_forward(x, "max", (3, 2), np.array([2, 1])), expected)


ROUTE = settings(PROPERTY, max_examples=25)


@st.composite
def row_windows_of_three(draw):
    """One-row max windows of three, 2 apart (the neighbour-comparison route), ties and infinities."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 5)), draw(st.integers(3, 12))
    sh = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-2, 3, size=(n, c, h, w)).astype(np.float64)  # many ties
    specials = draw(st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), max_size=3))
    for value in specials:
        x.reshape(-1)[rng.integers(x.size)] = value
    return x, (1, 3), (sh, 2), rng


@ROUTE
@given(case=row_windows_of_three())
def test_max_pool_of_row_windows_of_three_equals_the_loop_twin(case, engine_threads):
    x, k, s, rng = case
    y = pool2d_forward(x, "max", k, s)
    if not np.isnan(x).any():  # the twin's max() of a NaN depends on its place in the window
        np.testing.assert_array_equal(y, pool2d_forward_naive(x, "max", k, s))
    dy = rng.normal(size=y.shape)
    np.testing.assert_array_equal(
        pool2d_backward(dy, x, "max", k, s), pool2d_backward_naive(dy, x, "max", k, s)
    )
    if x.shape[2] == 1:  # the same as 1-D pooling
        dy_1d = dy[:, :, 0]
        np.testing.assert_array_equal(
            pool1d_backward(dy_1d, x[:, :, 0], "max", 3, 2),
            pool2d_backward_naive(dy, x, "max", k, s)[:, :, 0],
        )


@st.composite
def overlapping_max_windows(draw):
    """Max windows of several rows that overlap (the cell-index route), ties and infinities."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(2, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, kh)), draw(st.integers(1, 4))
    if sh == kh:  # rows side by side: the columns overlap
        kw, sw = max(kw, 2), min(sw, max(kw, 2) - 1)
    h, w = draw(st.integers(kh, 10)), draw(st.integers(max(kw, 2), 10))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-2, 3, size=(n, c, h, w)).astype(np.float64)  # many ties
    for value in draw(st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), max_size=2)):
        x.reshape(-1)[rng.integers(x.size)] = value
    return x, (kh, kw), (sh, sw), rng


@ROUTE
@given(case=overlapping_max_windows())
def test_max_pool_backward_of_overlapping_windows_equals_the_loop_twin(case, engine_threads):
    x, k, s, rng = case
    assert pool_module._overlapping_2d(k, s)
    dy = rng.normal(size=pool2d_forward_naive(x, "max", k, s).shape)
    np.testing.assert_array_equal(
        pool2d_backward(dy, x, "max", k, s), pool2d_backward_naive(dy, x, "max", k, s)
    )


@st.composite
def three_by_three_windows_two_apart(draw):
    """3x3 max windows 2 apart (the parity-grid route): odd and even sizes, ties, non-finite values."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(3, 12)), draw(st.integers(3, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        x = rng.integers(-2, 3, size=(n, c, h, w)).astype(np.float64)  # many ties
    else:
        x = rng.normal(size=(n, c, h, w))
    for value in draw(st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), max_size=2)):
        x.reshape(-1)[rng.integers(x.size)] = value
    dy = rng.normal(size=(n, c, (h - 3) // 2 + 1, (w - 3) // 2 + 1))
    for value in draw(st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), max_size=2)):
        dy.reshape(-1)[rng.integers(dy.size)] = value
    return x, dy


@ROUTE
@given(case=three_by_three_windows_two_apart())
def test_max_pool_backward_of_three_by_three_windows_two_apart_equals_the_loop_twin(case, engine_threads):
    x, dy = case
    np.testing.assert_array_equal(
        pool2d_backward(dy, x, "max", 3, 2), pool2d_backward_naive(dy, x, "max", 3, 2)
    )


def spy_on(monkeypatch, name):
    """Record what ``pool_module.<name>`` returns on each call, and let it run."""
    returned = []
    original = getattr(pool_module, name)

    def spy(*args):
        returned.append(result := original(*args))
        return result

    monkeypatch.setattr(pool_module, name, spy)
    return returned


def test_three_by_three_windows_two_apart_take_the_parity_grid_route(monkeypatch):
    returned = spy_on(monkeypatch, "_route_threes_two_apart")
    rng = np.random.default_rng(17)
    x = rng.integers(-2, 3, size=(2, 3, 10, 9)).astype(np.float64)
    dy = rng.normal(size=(2, 3, 4, 4))
    dy[0, 0, 0, 0] = np.inf
    np.testing.assert_array_equal(
        pool2d_backward(dy, x, "max", 3, 2), pool2d_backward_naive(dy, x, "max", 3, 2)
    )
    inner = x[..., :8, :7]  # padded by one cell of -inf each side: 10x9 again
    padded = pool2d_backward(dy, inner, "max", 3, 2, padding=1)
    np.testing.assert_array_equal(padded, pool2d_backward_naive(dy, inner, "max", 3, 2, 1))
    assert returned == [True, True]
    x[1, 2, 5, 5] = np.nan  # the grid route gives way, the literal route follows the twin
    np.testing.assert_array_equal(
        pool2d_backward(dy, x, "max", 3, 2), pool2d_backward_naive(dy, x, "max", 3, 2)
    )
    assert returned == [True, True, False]


@st.composite
def windows_of_columns_two_apart(draw):
    """Windows of 2 or 3 rows and 2 or 3 columns, stride 2 across: the forward's contiguous column passes."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kh, kw, sh = draw(st.integers(2, 3)), draw(st.integers(2, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(kh, 10)), draw(st.integers(kw, 11))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-2, 3, size=(n, c, h, w)).astype(np.float64)  # many ties
    mode = draw(st.sampled_from(["max", "avg"]))
    for value in draw(st.lists(st.sampled_from([np.inf, -np.inf]), max_size=2 if mode == "max" else 0)):
        x.reshape(-1)[rng.integers(x.size)] = value
    return x, (kh, kw), (sh, 2), mode


@ROUTE
@given(case=windows_of_columns_two_apart())
def test_pool_forward_of_columns_two_apart_equals_the_loop_twin(case, engine_threads):
    x, k, s, mode = case
    y = pool2d_forward(x, mode, k, s)
    if mode == "max":
        np.testing.assert_array_equal(y, pool2d_forward_naive(x, mode, k, s))
    else:
        assert_close(y, pool2d_forward_naive(x, mode, k, s))


def test_pool_forward_of_columns_two_apart_takes_the_contiguous_passes(monkeypatch):
    calls = []
    original = pool_module._combine_columns_two_apart
    monkeypatch.setattr(
        pool_module, "_combine_columns_two_apart", lambda *args: calls.append(args[2]) or original(*args)
    )
    x = np.random.default_rng(19).normal(size=(1, 2, 9, 9))
    for mode in ("max", "avg"):
        assert_close(pool2d_forward(x, mode, 3, 2), pool2d_forward_naive(x, mode, 3, 2))
        assert_close(pool2d_forward(x, mode, 2), pool2d_forward_naive(x, mode, 2))
    assert calls == [3, 2, 3, 2]
    pool2d_forward(x, "max", (3, 3), (2, 1))  # windows one apart: strided passes
    assert calls == [3, 2, 3, 2]
    monkeypatch.setattr(pool_module, "NEIGHBOUR_PASS_CELLS", 8)  # 2 planes of 4x9 row cells: too many
    assert_close(pool2d_forward(x, "avg", 3, 2), pool2d_forward_naive(x, "avg", 3, 2))
    assert calls == [3, 2, 3, 2]


@st.composite
def small_max_pools(draw):
    """Max pooling of at most SMALL_CELLS input cells: any windows, ties, non-finite inputs and deltas."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(kh, 6)), draw(st.integers(kw, 6))
    n = draw(st.integers(1, max(1, pool_module.SMALL_CELLS // (2 * h * w))))
    c = draw(st.integers(1, max(1, pool_module.SMALL_CELLS // (n * h * w))))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-2, 3, size=(n, c, h, w)).astype(np.float64)  # many ties
    for value in draw(st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), max_size=2)):
        x.reshape(-1)[rng.integers(x.size)] = value
    dy = rng.normal(size=pool2d_forward_naive(x, "max", (kh, kw), (sh, sw)).shape)
    for value in draw(st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), max_size=1)):
        dy.reshape(-1)[rng.integers(dy.size)] = value
    return x, dy, (kh, kw), (sh, sw)


@PROPERTY
@given(case=small_max_pools())
def test_max_pool_of_small_inputs_equals_the_loop_twin(case, monkeypatch):
    x, dy, k, s = case
    assert x.size <= pool_module.SMALL_CELLS
    y = pool2d_forward(x, "max", k, s)
    if not np.isnan(x).any():  # the twin's max() of a NaN depends on its place in the window
        np.testing.assert_array_equal(y, pool2d_forward_naive(x, "max", k, s))
    with monkeypatch.context() as numpy_routes:  # a NaN wins its window, as np.maximum has it
        numpy_routes.setattr(pool_module, "SMALL_CELLS", 0)
        np.testing.assert_array_equal(y, pool2d_forward(x, "max", k, s))
    np.testing.assert_array_equal(
        pool2d_backward(dy, x, "max", k, s), pool2d_backward_naive(dy, x, "max", k, s)
    )


def test_small_max_pool_inputs_go_forward_and_backward_in_plain_python(monkeypatch):
    forward, backward = spy_on(monkeypatch, "_max_forward_small"), spy_on(monkeypatch, "_max_backward_small")
    rng = np.random.default_rng(18)
    x = rng.normal(size=(1, 1, 4, 4))
    dy = rng.normal(size=(1, 1, 2, 2))
    pool2d_forward(x, "max", 2)
    pool2d_backward(dy, x, "max", 2)
    pool2d_forward(x[..., :3], "max", 2, padding=(0, 1))  # 4x3 padded to 4x5
    pool2d_backward(dy, x[..., :3], "max", 2, padding=(0, 1))
    assert (len(forward), len(backward)) == (2, 2)
    larger = rng.normal(size=(1, 1, 8, 9))  # 72 cells
    pool2d_forward(larger, "max", 2)
    pool2d_backward(rng.normal(size=(1, 1, 4, 4)), larger, "max", 2)
    pool2d_forward(x, "avg", 2)
    pool2d_backward(dy, x, "avg", 2)
    assert (len(forward), len(backward)) == (2, 2)


@st.composite
def pairwise_overlapping_averages(draw):
    """Average windows that overlap at most pairwise along each axis (k <= 2 s), not all side by side."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(max(1, -(-kh // 2)), 4)), draw(st.integers(max(1, -(-kw // 2)), 4))
    h, w = draw(st.integers(kh, 10)), draw(st.integers(kw, 10))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.normal(size=(n, c, h, w)), (kh, kw), (sh, sw), rng


@ROUTE
@given(case=pairwise_overlapping_averages())
def test_average_pool_backward_of_pairwise_overlaps_matches_the_loop_twin(case, engine_threads):
    x, k, s, rng = case
    dy = rng.normal(size=pool2d_forward_naive(x, "avg", k, s).shape)
    dx = pool2d_backward(dy, x, "avg", k, s)
    assert dx.flags.c_contiguous
    assert_close(dx, pool2d_backward_naive(dy, x, "avg", k, s))


def test_max_positions_is_the_first_maximum():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 3, size=(2, 3, 7, 7)).astype(np.float64)
    windows = sliding_windows(x, (3, 2), (2, 1), (1, 1))
    flat = np.asarray(windows).reshape(*windows.shape[:4], 6)
    np.testing.assert_array_equal(max_positions(windows), np.argmax(flat, axis=-1))


def test_pool1d_matches_the_2d_loop_twin():
    rng = np.random.default_rng(10)
    x = rng.integers(-2, 3, size=(2, 3, 13)).astype(np.float64)
    for mode in ("max", "avg"):
        y = pool1d_forward(x, mode, 3, 2)
        assert_close(y, pool2d_forward_naive(x[:, :, None], mode, (1, 3), (1, 2))[:, :, 0])
        dy = rng.normal(size=y.shape)
        expected = pool2d_backward_naive(dy[:, :, None], x[:, :, None], mode, (1, 3), (1, 2))[:, :, 0]
        assert_close(pool1d_backward(dy, x, mode, 3, 2), expected)


# ---------------------------------------------------------------- traces


def hand_conv_backward(trace, k):
    """The seeds' procedure over the first k overlays, one overlay at a time."""
    w, dz, x_padded = trace.weight, trace.grad_pre_activation, trace.x_padded
    dw, db, dx_padded = np.zeros(w.shape), np.zeros(w.shape[0]), np.zeros(x_padded.shape)
    for m in range(1, k + 1):
        ov = trace.overlay(m)
        f, (i, j) = ov.channel, ov.position
        delta = dz[f, i, j]
        dw[f] += x_padded[:, ov.rows, ov.cols] * delta
        db[f] += delta
        dx_padded[:, ov.rows, ov.cols] += w[f] * delta
    return dw, db, dx_padded


def assert_step_matches_hand(trace, step):
    dw, db, dx_padded = hand_conv_backward(trace, step.k)
    assert_close(step.state.dw, dw)
    assert_close(step.state.db, db)
    assert_close(step.state.dx_padded, dx_padded)
    p = trace.layer.padding
    h, w = dx_padded.shape[1:]
    assert_close(step.state.dx, dx_padded[:, p[0] : h - p[0], p[1] : w - p[1]])
    assert not step.state.dx_padded.flags.writeable
    done = step.state.done
    assert done.shape == trace.out_shape and not done.flags.writeable
    np.testing.assert_array_equal(done.reshape(-1), np.arange(trace.n) < step.k)


@st.composite
def conv_trace_cases(draw):
    dims = draw(st.sampled_from([1, 2]))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh = 1 if dims == 1 else draw(st.integers(1, 3))
    kw = draw(st.integers(1, 3))
    sh = 1 if dims == 1 else draw(st.integers(1, 3))
    sw = draw(st.integers(1, 3))
    ph = 0 if dims == 1 else draw(st.integers(0, 2))
    pw = draw(st.integers(0, 2))
    dh = 1 if dims == 1 else draw(st.integers(1, 2))
    dw = draw(st.integers(1, 2))
    h = 1 if dims == 1 else draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 7))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weight = rng.normal(size=(c_out, c_in, kw) if dims == 1 else (c_out, c_in, kh, kw))
    layer = ConvLayer(
        weight,
        rng.normal(size=c_out),
        (sh, sw),
        (ph, pw),
        (dh, dw),
        draw(st.sampled_from(["identity", "tanh"])),
        dims,
    )
    shape = (c_in, w) if dims == 1 else (c_in, h, w)
    model = make_model(
        "t", rng.normal(size=shape), [layer], dims=dims, upstream=rng.normal(size=layer.output_shape(shape))
    )
    return model, draw(st.randoms(use_true_random=False))


@settings(PROPERTY, max_examples=40)
@given(case=conv_trace_cases())
def test_conv_trace_steps_equal_the_plain_loop(case, block_elements):
    model, random = case
    trace = trace_layer(model, 0, "backward")
    n = trace.n
    # directly, at random k (fresh traces: nothing cached)
    for k in {0, n, *(random.randint(0, n) for _ in range(3))}:
        assert_step_matches_hand(trace, LayerTrace(trace.layer, "backward", *_inputs(trace)).step(k))
    # forward one step at a time from a random start, then back one step at a time
    start = random.randint(0, n)
    walk = LayerTrace(trace.layer, "backward", *_inputs(trace))
    walk.step(start)
    for k in range(start + 1, min(n, start + 4) + 1):
        assert_step_matches_hand(trace, walk.step(k))
    back = LayerTrace(trace.layer, "backward", *_inputs(trace))
    back.step(start)
    for k in range(start - 1, max(-1, start - 5), -1):
        assert_step_matches_hand(trace, back.step(k))


@pytest.mark.parametrize("budget_planes", [0, 1, 2, 100], ids=["none", "one", "two", "every-channel"])
def test_conv_trace_jumps_from_dx_checkpoints_equal_the_plain_loop(budget_planes, monkeypatch):
    """dA_prev checkpoints every few output channels: every k, reached directly, still sums right."""
    rng = np.random.default_rng(21)
    for stride in [(1, 1), (2, 1)]:  # the contiguous (stride 1) and the strided way back
        layer = ConvLayer(
            rng.normal(size=(7, 2, 3, 3)), rng.normal(size=7), stride, (1, 1), (1, 1), "tanh", 2
        )
        x = rng.normal(size=(2, 5, 6))
        model = make_model("t", x, [layer], upstream=rng.normal(size=layer.output_shape(x.shape)))
        trace = trace_layer(model, 0, "backward")
        monkeypatch.setattr(ConvBackwardTrace, "DX_CHECKPOINT_BYTES", budget_planes * trace.x_padded.nbytes)
        jumps = LayerTrace(trace.layer, "backward", *_inputs(trace))
        expected_spacing = {0: 0, 1: 4, 2: 3, 100: 1}[budget_planes]
        assert jumps._dx_checkpoint_spacing() == expected_spacing
        order = list(range(trace.n + 1))
        random_order = np.random.default_rng(3).permutation(order)
        for k in random_order:  # every step as a jump: the cache never holds k-1 or k+1 first
            jumps._cache.clear()
            assert_step_matches_hand(trace, jumps.step(int(k)))
        # what the window reserves memory for: the steps it caches, the new and the shown one,
        # and every checkpoint the jumps made, each of a padded dA_prev and its folded input
        assert jumps.kept_blocks() == jumps.CACHED_STEPS + 2 + len(jumps._dx_checkpoints)
        assert jumps.step_bytes() == jumps.x_padded.nbytes + jumps.x.nbytes


def test_a_prepared_conv_trace_holds_every_checkpoint_and_its_jumps_equal_the_plain_loop(monkeypatch):
    """prepare() builds the checkpoints a jump would build; the steps reached after it sum the same."""
    rng = np.random.default_rng(5)
    layer = ConvLayer(rng.normal(size=(7, 2, 3, 3)), rng.normal(size=7), (1, 1), (1, 1), (1, 1), "tanh", 2)
    x = rng.normal(size=(2, 5, 6))
    model = make_model("t", x, [layer], upstream=rng.normal(size=layer.output_shape(x.shape)))
    trace = trace_layer(model, 0, "backward")
    monkeypatch.setattr(ConvBackwardTrace, "DX_CHECKPOINT_BYTES", 2 * trace.x_padded.nbytes)
    prepared = LayerTrace(trace.layer, "backward", *_inputs(trace))
    pieces = sum(1 for _ in prepared.prepare())
    spacing = prepared._dx_checkpoint_spacing()
    assert (
        spacing == 3 and sorted(prepared._dx_checkpoints) == [3, 6] and pieces == 3
    )  # the table, 2 checkpoints
    for k in np.random.default_rng(8).permutation(trace.n + 1)[:25]:
        prepared._cache.clear()
        assert_step_matches_hand(trace, prepared.step(int(k)))
    assert sorted(prepared._dx_checkpoints) == [3, 6]  # the jumps made none of their own
    assert list(trace_layer(model, 0, "forward").prepare()) == []  # a pass without such work


@pytest.mark.parametrize("dilation", [(1, 1), (2, 1)])
def test_a_jump_into_a_channel_convolves_only_the_rows_it_has_reached(dilation, monkeypatch):
    """A jump adds its last channel's deltas up to overlay k: only the rows they fill are convolved.

    Early in a channel (up to three quarters of its rows) the rows below are zeros; the jump's
    dA_prev still equals the plain loop's, on a checkpoint and without one.
    """
    rng = np.random.default_rng(17)
    layer = ConvLayer(rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3), (1, 1), (1, 1), dilation, "tanh", 2)
    x = rng.normal(size=(2, 9, 6))
    model = make_model("t", x, [layer], upstream=rng.normal(size=layer.output_shape(x.shape)))
    trace = trace_layer(model, 0, "backward")
    oh, ow = trace.out_shape[1:]
    rows_convolved: list[int] = []
    forward = conv_module.conv2d_forward

    def recording(x, *args, **kwargs):
        rows_convolved.append(x.shape[2])
        return forward(x, *args, **kwargs)

    monkeypatch.setattr(conv_module, "conv2d_forward", recording)
    jumps = LayerTrace(trace.layer, "backward", *_inputs(trace))
    assert jumps._dx_checkpoint_spacing() == 1  # a checkpoint after every channel
    for f in range(3):
        for r, touched in ((1, 1), (ow, 1), (ow + 1, 2), (2 * ow, 2), (oh * ow - 1, oh)):
            jumps._cache.clear()  # a jump: no neighbouring step to start from
            rows_convolved.clear()
            step = jumps.step(f * oh * ow + r)
            assert_step_matches_hand(trace, step)
            last = rows_convolved[-1]
            assert last == (touched if 4 * touched <= 3 * oh else oh), (f, r, rows_convolved)


def _inputs(trace):
    """x, z, a and dA of a trace in the layer's own (1-D or 2-D) shape."""
    unview = (lambda t: t[:, 0, :]) if trace.layer.dims == 1 else (lambda t: t)
    return unview(trace.x), unview(trace.z), unview(trace.a), unview(trace.grad_output)


def test_stepping_through_a_whole_conv_pass_both_ways():
    rng = np.random.default_rng(11)
    layer = ConvLayer(rng.normal(size=(2, 2, 3, 3)), rng.normal(size=2), (2, 1), (1, 1), (1, 2), "relu", 2)
    model = make_model("t", rng.normal(size=(2, 6, 7)), [layer], upstream=rng.normal(size=(2, 3, 5)))
    trace = trace_layer(model, 0, "backward")
    for k in range(trace.n + 1):
        assert_step_matches_hand(trace, trace.step(k))
    back = trace_layer(model, 0, "backward")
    for k in range(back.n, -1, -1):
        assert_step_matches_hand(back, back.step(k))


def test_affected_by_input_lists_the_overlays_whose_window_covers_the_cell():
    rng = np.random.default_rng(14)
    conv = ConvLayer(rng.normal(size=(2, 2, 2, 3)), None, (2, 1), (1, 0), (1, 2), "identity", 2)
    pool = PoolLayer("max", (2, 2), (1, 2), 2)
    out = pool.output_shape(conv.output_shape((2, 6, 7)))
    model = make_model("t", rng.normal(size=(2, 6, 7)), [conv, pool], upstream=rng.normal(size=out))
    for index in range(2):
        trace = trace_layer(model, index, "forward")
        overlays = [trace.overlay(k) for k in range(1, trace.n + 1)]
        channels, rows, cols = trace.x_padded.shape
        for c, row, col in np.ndindex(channels + 1, rows + 1, cols + 1):
            expected = [
                ov.index
                for ov in overlays
                if (index == 0 or ov.channel == c)
                and row in range(ov.rows.start, ov.rows.stop, ov.rows.step or 1)
                and col in range(ov.cols.start, ov.cols.stop, ov.cols.step or 1)
            ]
            assert trace.affected_by_input(c, row, col) == expected


def test_trace_layer_sees_the_same_values_as_a_full_run():
    rng = np.random.default_rng(12)
    conv = ConvLayer(rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3), (1, 1), (1, 1), (1, 1), "relu", 2)
    pool = PoolLayer("max", (2, 2), (2, 2), 2)
    model = make_model("t", rng.normal(size=(2, 6, 6)), [conv, pool], upstream=rng.normal(size=(3, 3, 3)))
    result = run(model)
    assert result.grads is not None
    for index in range(2):
        record = result.records[index]
        grad_output = result.grad_last if index == 1 else result.grads[index + 1].grad_input
        assert grad_output is not None
        for pass_name in ("forward", "backward"):
            trace = trace_layer(model, index, pass_name)
            np.testing.assert_array_equal(trace.x, record.input[0])
            np.testing.assert_array_equal(trace.z, record.pre_activation[0])
            np.testing.assert_array_equal(trace.a, record.output[0])
            if pass_name == "backward":
                assert trace.grad_output is not None
                np.testing.assert_array_equal(trace.grad_output, grad_output[0])


# ---------------------------------------------------------------- PyTorch


def test_conv_and_pool_match_torch():
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(13)
    x, w, b = rng.normal(size=(3, 2, 9, 8)), rng.normal(size=(4, 2, 3, 2)), rng.normal(size=4)
    for stride, padding, dilation in [((1, 1), (1, 1), (1, 1)), ((2, 1), (0, 2), (2, 1))]:
        xt = torch.tensor(x, requires_grad=True)
        wt = torch.tensor(w, requires_grad=True)
        bt = torch.tensor(b, requires_grad=True)
        zt = functional.conv2d(xt, wt, bt, stride, padding, dilation)
        dz = rng.normal(size=tuple(zt.shape))
        zt.backward(torch.tensor(dz))
        z = conv2d_forward(x, w, b, stride, padding, dilation)
        np.testing.assert_allclose(z, zt.detach().numpy(), rtol=1e-10, atol=1e-10)
        dx, dw, db = conv2d_backward(dz, x, w, stride, padding, dilation)
        for got, t in ((dx, xt), (dw, wt), (db, bt)):
            np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-10, atol=1e-10)
    for mode, size, stride in [("max", 2, 2), ("max", 3, 2), ("avg", 2, 2), ("avg", 3, 1)]:
        xt = torch.tensor(x, requires_grad=True)
        fn = functional.max_pool2d if mode == "max" else functional.avg_pool2d
        yt = fn(xt, size, stride)
        dy = rng.normal(size=tuple(yt.shape))
        yt.backward(torch.tensor(dy))
        np.testing.assert_allclose(pool2d_forward(x, mode, size, stride), yt.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(
            pool2d_backward(dy, x, mode, size, stride), xt.grad.numpy(), rtol=1e-10, atol=1e-10
        )

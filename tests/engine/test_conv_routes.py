"""The convolution's special routes against the loop twins, each with shapes that take it.

A spy on each route's function checks that the drawn case really went that way; the
routes run serially and split over three threads (thresholds at zero), with the default
BLAS call sizes and with tiny ones (many chunks per product).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from helpers import assert_close
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visualconv.engine import conv as conv_module
from visualconv.engine import parallel
from visualconv.engine.conv import (
    conv1d_backward,
    conv1d_forward,
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_forward,
    conv2d_forward_naive,
)

PROPERTY = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(
    params=[(1, None), (3, None), (3, 5), (2, 7)],
    ids=["serial", "three-threads", "tiny-products", "tiny-blocks"],
)
def split(request, monkeypatch):
    """Serial; over three threads however small; with tiny BLAS calls; in tiny column blocks."""
    threads, small = request.param
    monkeypatch.setattr(parallel, "_threads", threads)
    monkeypatch.setattr(conv_module, "SINGLE_PARALLEL_MULTIPLY_ADDS", 0)
    if small is not None:
        monkeypatch.setattr(conv_module, "GEMM_MULTIPLY_ADDS", small)
    if small == 7:
        monkeypatch.setattr(conv_module, "BLOCK_ELEMENTS", small)
    return request.param


def spy(monkeypatch, name):
    """Count the calls of conv's function ``name``."""
    calls = []
    original = getattr(conv_module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(conv_module, name, counted)
    return calls


@st.composite
def single_cases(draw):
    """One example at stride 1 whose padded width the wide layout fills at least half."""
    c_in, c_out = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 7))
    reach = dw * (kw - 1)
    w = draw(st.integers(max(1, reach + 1 - 2 * pw, 2 * reach - 2 * pw), 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(1, c_in, h, w))
    weight = rng.normal(size=(c_out, c_in, kh, kw))
    bias = rng.normal(size=c_out) if draw(st.booleans()) else None
    return x, weight, bias, (ph, pw), (dh, dw), rng


@PROPERTY
@given(case=single_cases())
def test_one_example_at_stride_one_matches_the_loop_twin(case, split, monkeypatch):
    forward_calls = spy(monkeypatch, "_single_forward")
    backward_calls = spy(monkeypatch, "_single_backward")
    x, w, b, p, d, rng = case
    z = conv2d_forward(x, w, b, 1, p, d)
    assert z.flags.c_contiguous
    assert_close(z, conv2d_forward_naive(x, w, b, 1, p, d))
    dz = rng.normal(size=z.shape)
    fast = conv2d_backward(dz, x, w, 1, p, d)
    for got, expected in zip(fast, conv2d_backward_naive(dz, x, w, 1, p, d), strict=True):
        assert got.flags.c_contiguous
        assert_close(got, expected)
    assert forward_calls and backward_calls


@PROPERTY
@given(
    c_in=st.integers(1, 4),
    c_out=st.integers(1, 3),
    k=st.integers(1, 4),
    p=st.integers(0, 2),
    dilation=st.integers(1, 2),
    extra=st.integers(0, 12),
    seed=st.integers(0, 2**32 - 1),
)
def test_one_example_of_1d_at_stride_one_matches_the_loop_twin(
    c_in, c_out, k, p, dilation, extra, seed, split, monkeypatch
):
    forward_calls = spy(monkeypatch, "_single_forward")
    rng = np.random.default_rng(seed)
    length = max(1, dilation * (k - 1) + 1 - 2 * p) + extra
    x = rng.normal(size=(1, c_in, length))
    w = rng.normal(size=(c_out, c_in, k))
    b = rng.normal(size=c_out)
    z = conv1d_forward(x, w, b, 1, p, dilation)
    lift = (1, dilation), (0, p)
    assert_close(z, conv2d_forward_naive(x[:, :, None], w[:, :, None], b, 1, lift[1], lift[0])[:, :, 0])
    dz = rng.normal(size=z.shape)
    slow = conv2d_backward_naive(dz[:, :, None], x[:, :, None], w[:, :, None], 1, lift[1], lift[0])
    for got, expected in zip(conv1d_backward(dz, x, w, 1, p, dilation), slow, strict=True):
        assert_close(got, expected[:, :, 0] if expected.ndim == 4 else expected)
    if 2 * z.shape[2] >= length + 2 * p:
        assert forward_calls


@pytest.mark.parametrize("length", [1, 5, 6, 7, 11, 12, 13, 20])
def test_one_example_products_keep_every_blas_call_small(length, monkeypatch):
    """Each product of a stack stays at or under GEMM_MULTIPLY_ADDS (OpenBLAS would thread it)."""
    monkeypatch.setattr(conv_module, "GEMM_MULTIPLY_ADDS", 2 * 3 * 6)  # 6 columns of a (2, 3) @ (3, L)
    rng = np.random.default_rng(length)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3, length))
    d, c = rng.normal(size=(2, length)), rng.normal(size=(3, length))
    sizes = []
    matmul = np.matmul

    def counted(x, y, *args, **kwargs):
        sizes.append(x.shape[-2] * x.shape[-1] * y.shape[-1])
        return matmul(x, y, *args, **kwargs)

    monkeypatch.setattr(np, "matmul", counted)
    out = np.empty((2, length))
    conv_module._product_into(a, b, out)
    total = np.zeros((2, 3))
    conv_module._contract_into(d, c, total)
    monkeypatch.setattr(np, "matmul", matmul)
    assert_close(out, a @ b)
    assert_close(total, d @ c.T)
    assert sizes and max(sizes) <= 2 * 3 * 6


def test_products_stay_below_openblas_threading_size(monkeypatch):
    """A chunk of exactly 2^19 multiply-adds is threaded by OpenBLAS: every call stays below it.

    (16, 64) weight rows make 512 columns exactly 2^19; a (8, 8) @ (8, L) product 8192.
    """
    sizes = []
    matmul = np.matmul

    def counted(x, y, *args, **kwargs):
        sizes.append(x.shape[-2] * x.shape[-1] * y.shape[-1])
        return matmul(x, y, *args, **kwargs)

    rng = np.random.default_rng(5)
    monkeypatch.setattr(np, "matmul", counted)
    for m, k, length in [(16, 64, 2048), (8, 8, 3 * 8192)]:
        a, b = rng.normal(size=(m, k)), rng.normal(size=(k, length))
        out = np.empty((m, length))
        conv_module._product_into(a, b, out)
        total = conv_module._contraction(out, b)
        chunked = conv_module.matmul_in_chunks(a, b)
        with monkeypatch.context() as undo:
            undo.setattr(np, "matmul", matmul)
            assert_close(out, a @ b)
            assert_close(chunked, a @ b)
            assert_close(total, out @ b.T)
    assert sizes and max(sizes) < 1 << 19


def test_one_small_example_backward_is_one_block_on_one_thread(monkeypatch):
    """Serially, an example whose columns fit one block takes two whole products (no block loop)."""
    monkeypatch.setattr(parallel, "_threads", 1)
    blocked = spy(monkeypatch, "_contract_into")
    whole = []
    contraction = conv_module._contraction

    def counted(d, c):
        whole.append(d.shape[1])
        return contraction(d, c)

    monkeypatch.setattr(conv_module, "_contraction", counted)
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=(1, 3, 9, 8)), rng.normal(size=(4, 3, 3, 3))
    dz = rng.normal(size=(1, 4, 7, 6))
    for got, expected in zip(conv2d_backward(dz, x, w), conv2d_backward_naive(dz, x, w), strict=True):
        assert_close(got, expected)
    assert whole == [6 * 8 + 6] and not blocked


def test_one_large_example_builds_its_columns_in_blocks(monkeypatch):
    """A 1x8x128x128 example's column matrix (9.3 MB whole) is built 2 MB at a time.

    Whole, it alone would be more than either pass's peak of traced memory.
    """
    monkeypatch.setattr(parallel, "_threads", 1)
    forward_calls = spy(monkeypatch, "_single_forward")
    backward_calls = spy(monkeypatch, "_single_backward")
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(1, 8, 128, 128)), rng.normal(size=(4, 8, 3, 3)), rng.normal(size=4)
    dz = rng.normal(size=(1, 4, 126, 126))
    peaks = []
    for run in (lambda: conv2d_forward(x, w, b), lambda: conv2d_backward(dz, x, w)):
        tracemalloc.start()
        try:
            run()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    whole = 8 * 9 * (125 * 128 + 126) * 8
    assert max(peaks) < whole
    assert forward_calls and backward_calls


def test_a_large_example_keeps_the_block_plan(monkeypatch):
    """Above SINGLE_MAX_CELLS one example goes the block plan's way (its temporaries are smaller)."""
    monkeypatch.setattr(conv_module, "SINGLE_MAX_CELLS", 2 * 6 * 6 - 1)
    calls = spy(monkeypatch, "_single_forward")
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=(1, 2, 6, 6)), rng.normal(size=(2, 2, 3, 3))
    assert_close(conv2d_forward(x, w, None), conv2d_forward_naive(x, w, None))
    assert not calls
    monkeypatch.setattr(conv_module, "SINGLE_MAX_CELLS", 2 * 6 * 6)
    conv2d_forward(x, w, None)
    assert calls

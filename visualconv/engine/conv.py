"""Convolution (cross-correlation, as PyTorch computes it): forward and backward.

The vectorised kernels copy every window once into a column matrix laid out for the
matrix product (:func:`.windows.im2col`), so forward, dW and dX are each a matrix product
in NCHW order with no hidden transposed copies; dX goes back onto the input with one
strided slab add per kernel offset (:func:`.windows.col2im`). Column matrices are built in
blocks of examples or output rows (BLOCK_ELEMENTS), so large inputs never need huge
temporaries, and products are issued as stacks of BLAS calls small enough to stay on one
thread (GEMM_MULTIPLY_ADDS). One example at stride 1 (what the window's traces and a
single-sample call run) skips the block plan: :func:`_single_forward` and
:func:`_single_backward` work on the whole example in the wide layout and split large
ones over the threads (the forward by output rows, the backward by positions and input
channels). Each kernel has a ``*_naive`` loop twin that spells out the sums of the seed
documents; the tests use the twins as oracles.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence

import numpy as np

from . import parallel
from .windows import (
    FloatArray,
    IntPair,
    Sides,
    as_pair,
    check_padding_mode,
    col2im,
    crop,
    fold_padding,
    im2col,
    output_shape,
    pad,
    pad_sides,
    resolve_padding,
    rows_1d,
    rows_1d_grads,
    setting_1d,
    shape4,
    strided_view,
    symmetric,
)

Size = int | Sequence[int]
Padding = int | Sequence[int] | str
"""An int, a pair, or "valid" / "same"."""


def _check_conv_shapes(x: FloatArray, w: FloatArray, b: FloatArray | None, groups: int = 1) -> None:
    if x.ndim != 4:
        raise ValueError(f"input must have shape (N, C, H, W), got {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"weight must have shape (C_out, C_in / groups, kH, kW), got {w.shape}")
    if groups == 1:
        if x.shape[1] != w.shape[1]:
            raise ValueError(f"input has {x.shape[1]} channels but the weight expects {w.shape[1]}")
    else:
        check_groups(groups, x.shape[1], w.shape[0])
        if x.shape[1] != w.shape[1] * groups:
            raise ValueError(
                f"input has {x.shape[1]} channels but the weight expects {w.shape[1]} per group "
                f"x {groups} groups = {w.shape[1] * groups}"
            )
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"bias must have shape ({w.shape[0]},), got {b.shape}")


def check_groups(groups: int, c_in: int, c_out: int) -> None:
    """Refuse what PyTorch refuses: ``groups`` must be an int >= 1 dividing both channel counts.

    Raises
    ------
    ValueError
        Saying which count it does not divide.
    """
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be an int >= 1, got {groups!r}")
    if c_in % groups:
        raise ValueError(f"groups {groups} must divide the input channels {c_in}")
    if c_out % groups:
        raise ValueError(f"groups {groups} must divide the output channels {c_out}")


def _geometry(
    x: FloatArray, w: FloatArray, stride: Size, padding: Size, dilation: Size
) -> tuple[IntPair, IntPair, IntPair, IntPair]:
    """Check a call's settings against its shapes; its (kernel, stride, padding, dilation) pairs."""
    key = (x.shape[2], x.shape[3], w.shape[2], w.shape[3], _hashable(stride), _hashable(padding))
    try:
        return _checked_geometry(*key, _hashable(dilation))
    except TypeError:  # a setting that cannot be hashed (an array, say): checked afresh
        return _checked_geometry.__wrapped__(*key, dilation)


def _hashable(value: Size) -> Size:
    """A list setting as a tuple (the same pair to :func:`as_pair`), so that it can key a cache."""
    return tuple(value) if isinstance(value, list) else value


@functools.lru_cache(maxsize=256)
def _checked_geometry(
    h: int, w: int, kh: int, kw: int, stride: Size, padding: Size, dilation: Size
) -> tuple[IntPair, IntPair, IntPair, IntPair]:
    """:func:`_geometry` of an (h, w) input and a (kh, kw) kernel, remembered.

    Small calls spent much of their time checking. Only successful checks are remembered:
    an error is raised afresh every time.
    """
    kernel = (kh, kw)
    s, p, d = as_pair(stride, "stride"), as_pair(padding, "padding"), as_pair(dilation, "dilation")
    out_h, out_w = output_shape((h, w), kernel, s, p, d)
    if min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise ValueError(f"stride and dilation must be >= 1 and padding >= 0, got {s}, {d}, {p}")
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"kernel {kernel} with dilation {d} does not fit the padded input {(h + 2 * p[0], w + 2 * p[1])}"
        )
    return kernel, s, p, d


# Largest column-matrix block (float64 elements, 2 MiB) built at once: large enough for
# efficient matrix products and for threads that seldom wait on each other for the GIL,
# small enough to stay in the L2/L3 caches and to bound memory on large inputs.
BLOCK_ELEMENTS = 1 << 18


# Multiply-adds per BLAS call. OpenBLAS (0.3.31) splits a call of 2^19 = 524,288 or more over
# its threads; on this machine such a call then takes 0.2-0.5 ms instead of 35 us, and
# milliseconds when busy, so larger products are issued as a stack of calls below that
# size (one NumPy call, one thread). Exactly 2^19 is threaded too: a (16, 64) @ (64, 512)
# chunk was 227 us.
GEMM_MULTIPLY_ADDS = (1 << 19) - 1


def matmul_in_chunks(a: FloatArray, b: FloatArray, out: FloatArray | None = None) -> FloatArray:
    """``a @ b`` with every BLAS call at most GEMM_MULTIPLY_ADDS multiply-adds.

    Parameters
    ----------
    a : ndarray of shape (M, K)
    b : ndarray of shape (..., K, L)
    out : ndarray of shape (..., M, L), optional
        Where to write the product (any strides); a new array if None.

    Returns
    -------
    ndarray of shape (..., M, L)
    """
    m, k = a.shape
    length = b.shape[-1]
    step = max(1, GEMM_MULTIPLY_ADDS // max(1, m * k))
    if length <= step:
        product: FloatArray = np.matmul(a, b, out=out)
        return product
    b = np.ascontiguousarray(b)
    lead = b.shape[:-2]
    if out is None or not out.flags.c_contiguous:
        result = matmul_in_chunks(a, b, np.empty((*lead, m, length)))
        if out is not None:
            out[...] = result
            return out
        return result
    chunks = length // step
    size = b.itemsize
    # column chunks of b and of the result as a stack of (K, step) and (M, step) matrices
    b_chunks = strided_view(b, (*lead, chunks, k, step), (*b.strides[:-2], step * size, b.strides[-2], size))
    out_chunks = np.lib.stride_tricks.as_strided(
        out, (*lead, chunks, m, step), (*out.strides[:-2], step * size, out.strides[-2], size)
    )
    np.matmul(a, b_chunks, out=out_chunks)
    if chunks * step < length:
        np.matmul(a, b[..., chunks * step :], out=out[..., chunks * step :])
    return out


def batched_matmul_in_chunks(d: FloatArray, c: FloatArray) -> FloatArray:
    """``d[b] @ c[b]`` for every b, with every BLAS call at most GEMM_MULTIPLY_ADDS multiply-adds.

    Larger products are split along the inner axis P into chunks whose products are
    summed, so no call is split over OpenBLAS's threads (see GEMM_MULTIPLY_ADDS).

    Parameters
    ----------
    d : ndarray of shape (B, M, P)
    c : ndarray of shape (B, P, L)

    Returns
    -------
    ndarray of shape (B, M, L)
    """
    _, m, positions = d.shape
    length = c.shape[2]
    step = max(1, GEMM_MULTIPLY_ADDS // max(1, m * length))
    if positions <= step:
        product: FloatArray = np.matmul(d, c)
        return product
    chunks = -(-positions // step)
    step = -(-positions // chunks)  # even chunks
    total: FloatArray = np.matmul(d[:, :, :step], c[:, :step])
    for p0 in range(step, positions, step):
        total += np.matmul(d[:, :, p0 : p0 + step], c[:, p0 : p0 + step])
    return total


def contract_positions(d: FloatArray, c: FloatArray) -> FloatArray:
    """``sum_n d[n] @ c[n].T`` with every BLAS call at most GEMM_MULTIPLY_ADDS multiply-adds.

    Parameters
    ----------
    d : ndarray of shape (N, F, P)
    c : ndarray of shape (N, K, P)

    Returns
    -------
    ndarray of shape (F, K)
    """
    n_batch, f, positions = d.shape
    k = c.shape[1]
    step = max(1, GEMM_MULTIPLY_ADDS // max(1, f * k))
    if positions <= step:
        total: FloatArray = np.matmul(d, c.transpose(0, 2, 1)).sum(axis=0)
        return total
    d = np.ascontiguousarray(d)
    c = np.ascontiguousarray(c)
    chunks = positions // step
    size = d.itemsize
    d_chunks = strided_view(d, (n_batch, chunks, f, step), (d.strides[0], step * size, d.strides[1], size))
    c_chunks = strided_view(c, (n_batch, chunks, step, k), (c.strides[0], step * size, size, c.strides[1]))
    total = np.matmul(d_chunks, c_chunks).sum(axis=(0, 1))
    if chunks * step < positions:
        rest = slice(chunks * step, positions)
        total += np.matmul(d[:, :, rest], c[:, :, rest].transpose(0, 2, 1)).sum(axis=0)
    return total


def _blocks(n_batch: int, out_h: int, row_elements: int, threads: int) -> list[tuple[int, int, int, int]]:
    """Split (batch, output rows) into blocks whose column matrices hold about BLOCK_ELEMENTS.

    With several ``threads`` the examples are cut into a whole number of equal blocks
    per thread.

    Returns
    -------
    list of (n0, n1, i0, i1)
        Examples ``n0:n1`` and output rows ``i0:i1`` of each block; a block holds either
        whole examples or some rows of one example.
    """
    per_example = out_h * row_elements
    if per_example <= BLOCK_ELEMENTS:
        step = max(1, BLOCK_ELEMENTS // per_example)
        if n_batch > 1 and threads > 1:
            step = parallel.balanced_block_size(n_batch, step, threads)
        return [(n0, min(n_batch, n0 + step), 0, out_h) for n0 in range(0, n_batch, step)]
    rows = max(1, BLOCK_ELEMENTS // row_elements)
    return [(n, n + 1, i0, min(out_h, i0 + rows)) for n in range(n_batch) for i0 in range(0, out_h, rows)]


# Below this many multiply-adds (a backward pass counts its two products) a whole call
# stays on the caller's thread: handing blocks to other threads costs tens of microseconds.
PARALLEL_MULTIPLY_ADDS = 1 << 21


def _input_rows(i0: int, i1: int, kernel_h: int, stride_h: int, dilation_h: int) -> slice:
    """The padded-input rows that output rows ``i0:i1`` read."""
    return slice(i0 * stride_h, (i1 - 1) * stride_h + dilation_h * (kernel_h - 1) + 1)


class _Plan:
    """How a convolution's column matrices are laid out and split into blocks.

    With stride 1 the *wide* layout is used: output row i of a block starts at column
    ``i*Wp`` of the column matrix (Wp, the padded width), so the window cells of kernel
    offset (a, b) are one contiguous run of the padded input, ``a*dh*Wp + b*dw`` cells
    further on. Building the columns and adding gradients back are then long contiguous
    copies and adds instead of short strided ones. The ``Wp - out_w`` columns between
    two output rows are computed and dropped (forward) or given zero deltas (backward).
    """

    def __init__(
        self,
        x_padded: FloatArray,
        w: FloatArray,
        kernel: IntPair,
        s: IntPair,
        d: IntPair,
        forward: bool = False,
    ) -> None:
        n_batch, _c_in, hp, wp = shape4(x_padded)
        self.x_padded = x_padded
        self.kernel, self.stride, self.dilation = kernel, s, d
        self.c_out = w.shape[0]
        self.w_rows = w.reshape(self.c_out, -1)  # (C_out, C_in*kH*kW)
        self.out_h, self.out_w = output_shape((hp, wp), kernel, s, (0, 0), d)
        self.wide = s == (1, 1) and 2 * self.out_w >= wp  # at most half the columns dropped
        if forward and self.w_rows.shape[1] <= 2 * self.c_out:
            # A forward product in the wide layout needs a pass of its own to drop the extra
            # columns, over C_out rows; the plain layout writes z directly but copies the
            # C_in*kH*kW column rows in short runs. With few rows per output channel, plain wins
            # (64x1x28x28 -> 8: 10% faster).
            self.wide = False
        row_width = wp if self.wide else self.out_w
        work = n_batch * self.out_h * self.out_w * self.w_rows.size
        if not forward:
            work *= 2  # two matrix products (dW and the window gradients) and the adds back
        self.parallel = work >= PARALLEL_MULTIPLY_ADDS and parallel.threads() > 1
        threads = parallel.threads() if self.parallel else 1
        self.blocks = _blocks(n_batch, self.out_h, self.w_rows.shape[1] * row_width, threads)

    def gapless(self, i0: int, i1: int) -> bool:
        """Whether the block's columns are exactly its output cells, row after row.

        True unless the wide layout puts dropped columns between output rows: then
        products go straight into the output and deltas are used as they are.
        """
        return not self.wide or i1 - i0 == 1 or int(self.x_padded.shape[3]) == self.out_w

    def length(self, i0: int, i1: int) -> int:
        """Columns of a block's wide column matrix: whole padded rows, the last one cut at out_w."""
        return (i1 - i0 - 1) * int(self.x_padded.shape[3]) + self.out_w

    def columns(self, n0: int, n1: int, i0: int, i1: int, ones: bool = False) -> FloatArray:
        """The block's column matrix, (n, C_in*kH*kW [+ 1], positions), in the plan's layout.

        With ``ones`` a last row of ones follows the window rows: a product with the
        weight rows and the bias as last column adds the bias, and the contraction with
        the deltas yields db beside dW (no separate pass over the output for either).
        """
        view = self._windows(n0, n1, i0, i1)  # (n, C_in, kH, kW, positions...)
        n, rows = n1 - n0, self.w_rows.shape[1]
        positions = math.prod(view.shape[4:])
        if not ones:
            return view.reshape(n, rows, positions)  # one copy, in C order
        columns = np.empty((n, rows + 1, positions))
        columns[:, :rows].reshape(view.shape)[...] = view  # the same copy, into the first rows
        columns[:, rows] = 1.0
        return columns

    def _windows(self, n0: int, n1: int, i0: int, i1: int) -> FloatArray:
        """A strided view of the block's window cells: (n, C_in, kH, kW, positions...)."""
        _, c_in, hp, wp = shape4(self.x_padded)
        (kh, kw), (dh, dw) = self.kernel, self.dilation
        size = self.x_padded.itemsize
        plane = hp * wp
        if not self.wide:
            sh, sw = self.stride
            return np.ndarray(
                (n1 - n0, c_in, kh, kw, i1 - i0, self.out_w),
                dtype=np.float64,
                buffer=self.x_padded,
                offset=(n0 * c_in * plane + i0 * sh * wp) * size,
                strides=tuple(v * size for v in (c_in * plane, plane, dh * wp, dw, sh * wp, sw)),
            )
        return np.ndarray(
            (n1 - n0, c_in, kh, kw, self.length(i0, i1)),
            dtype=np.float64,
            buffer=self.x_padded,
            offset=(n0 * c_in * plane + i0 * wp) * size,
            strides=(c_in * plane * size, plane * size, dh * wp * size, dw * size, size),
        )

    def unwide(self, values: FloatArray, rows: int) -> FloatArray:
        """(n, F, length) in the wide layout -> the (n, F, rows, out_w) view of its output cells."""
        n, f, length = values.shape
        size = values.itemsize
        return np.ndarray(
            (n, f, rows, self.out_w),
            dtype=np.float64,
            buffer=values,
            strides=(f * length * size, length * size, self.x_padded.shape[3] * size, size),
        )

    def deltas(self, dz: FloatArray, n0: int, n1: int, i0: int, i1: int) -> FloatArray:
        """The block's deltas as (n, C_out, positions) in the plan's layout (zeros between rows)."""
        block = dz[n0:n1, :, i0:i1]
        if self.gapless(i0, i1):
            return block.reshape(n1 - n0, self.c_out, -1)
        out = np.zeros((n1 - n0, self.c_out, self.length(i0, i1)))
        self.unwide(out, i1 - i0)[...] = block
        return out

    def add_back(self, dx_padded: FloatArray, grads: FloatArray, n0: int, n1: int, i0: int, i1: int) -> None:
        """Add a block's window gradients (n, C_in*kH*kW, positions) onto the padded input gradient."""
        if not self.wide:
            rows = _input_rows(i0, i1, self.kernel[0], self.stride[0], self.dilation[0])
            target = dx_padded[n0:n1, :, rows]
            col2im(grads, shape4(target), self.kernel, self.stride, (0, 0), self.dilation, out=target)
            return
        _, c_in, hp, wp = shape4(dx_padded)
        (kh, kw), (dh, dw) = self.kernel, self.dilation
        size = dx_padded.itemsize
        plane = hp * wp
        length = self.length(i0, i1)
        per_offset = grads.reshape(n1 - n0, c_in, kh, kw, length)
        # The cells each offset's gradients land on, as one (overlapping) view: target[:, :, a, b].
        target = np.ndarray(
            (n1 - n0, c_in, kh, kw, length),
            dtype=np.float64,
            buffer=dx_padded,
            offset=(n0 * c_in * plane + i0 * wp) * size,
            strides=(c_in * plane * size, plane * size, dh * wp * size, dw * size, size),
        )
        for a in range(kh):
            for b in range(kw):
                target[:, :, a, b] += per_offset[:, :, a, b]


# ---------------------------------------------------------------- one example, stride 1

# Below this many multiply-adds a one-example pass stays on the caller's thread. Handing
# work to a worker and back costs 20-40 microseconds here, and the second core, idle until
# then, runs its first calls slowly: split, a 1x8x4096 -> 16 backward (3.3 M) was 10%
# slower, a 1x8x64x64 -> 16 forward (4.6 M) and backward 15-20% faster on an idle machine.
# Above it the positions (forward, dW) and the input channels (dX) are split over the
# threads.
SINGLE_PARALLEL_MULTIPLY_ADDS = 1 << 22


# Largest one example (output channels x padded input cells) the one-example route takes:
# it keeps whole-example temporaries in the wide layout, and a larger layer (the window's
# 512x512) keeps the block plan's smaller ones and its memory.
SINGLE_MAX_CELLS = 1 << 20


def _single_wide(x_padded: FloatArray, c_out: int, s: IntPair, out_w: int) -> bool:
    """Whether a call takes the one-example route: one example, stride 1, the wide layout pays."""
    n_batch, _, hp, wp = shape4(x_padded)
    return n_batch == 1 and s == (1, 1) and 2 * out_w >= wp and c_out * hp * wp <= SINGLE_MAX_CELLS


# The caller's thread starts on its share at once, a woken worker some tens of
# microseconds later: the caller's share of a one-example pass is this much larger, so
# that the worker is done first and the caller need not sleep and be woken for it.
CALLER_SHARE = 1.4


def _shares(parts: int) -> list[float]:
    """Each thread's part of a one-example pass (the caller's first), summing to 1."""
    weights = [CALLER_SHARE, *([1.0] * (parts - 1))]
    return [v / sum(weights) for v in weights]


def _cuts(total: int, shares: Sequence[float]) -> list[tuple[int, int]]:
    """``[0, total)`` cut into contiguous runs in proportion to ``shares`` (some may be empty)."""
    edges = [0, *(round(total * v) for v in itertools.accumulate(shares))]
    edges[-1] = total
    return list(itertools.pairwise(edges))


def _even_cuts(total: int, parts: int) -> list[tuple[int, int]]:
    """``[0, total)`` cut into ``parts`` contiguous runs of nearly equal length (some may be empty)."""
    edges = [total * t // parts for t in range(parts + 1)]
    return list(itertools.pairwise(edges))


def _single_tasks(work: int) -> int:
    """How many threads a one-example product of ``work`` multiply-adds is split over."""
    count = parallel.threads()
    return count if count > 1 and work >= SINGLE_PARALLEL_MULTIPLY_ADDS else 1


def _wide_columns(x_padded: FloatArray, kernel: IntPair, d: IntPair, q0: int, q1: int) -> FloatArray:
    """The window cells of wide positions ``q0:q1`` of one example: a view (C_in, kH, kW, q1 - q0).

    Wide position ``q`` is output cell ``(q // Wp, q % Wp)``; its window cell (a, b) of
    channel c is ``x_flat[c, q + a*dh*Wp + b*dw]``, so each (c, a, b) row is one
    contiguous run of the padded input.
    """
    _, c_in, hp, wp = shape4(x_padded)
    size = x_padded.itemsize
    return np.ndarray(
        (c_in, kernel[0], kernel[1], q1 - q0),
        dtype=np.float64,
        buffer=x_padded,
        offset=q0 * size,
        strides=(hp * wp * size, d[0] * wp * size, d[1] * size, size),
    )


def _chunk_view(a: FloatArray, chunks: int, step: int, writeable: bool = False) -> FloatArray:
    """The first ``chunks * step`` columns of a 2-D array (unit column stride) as (chunks, rows, step)."""
    size = a.itemsize
    shape, strides = (chunks, a.shape[0], step), (step * size, a.strides[0], size)
    if writeable:
        view: FloatArray = np.lib.stride_tricks.as_strided(a, shape, strides)
        return view
    return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=False)


def _product_into(a: FloatArray, b: FloatArray, out: FloatArray) -> None:
    """``out[...] = a @ b`` with every BLAS call at most GEMM_MULTIPLY_ADDS multiply-adds.

    Parameters
    ----------
    a : ndarray of shape (M, K)
    b : ndarray of shape (K, L), unit column stride
    out : ndarray of shape (M, L), unit column stride

    The column chunks go to NumPy as one stack of products (one call, one release of
    the GIL: threads running this side by side seldom wait for each other).
    """
    m, k = a.shape
    length = b.shape[1]
    step = max(1, GEMM_MULTIPLY_ADDS // max(1, m * k))
    if length <= step:
        np.matmul(a, b, out=out)
        return
    chunks = length // step
    np.matmul(a, _chunk_view(b, chunks, step), out=_chunk_view(out, chunks, step, writeable=True))
    if chunks * step < length:
        np.matmul(a, b[:, chunks * step :], out=out[:, chunks * step :])


def _contraction(d: FloatArray, c: FloatArray) -> FloatArray:
    """``d @ c.T`` with every BLAS call at most GEMM_MULTIPLY_ADDS multiply-adds.

    Parameters
    ----------
    d : ndarray of shape (F, P), unit column stride
    c : ndarray of shape (K, P), unit column stride

    Returns
    -------
    ndarray of shape (F, K)
        A new array: the chunks' products over runs of P, summed.
    """
    f, positions = d.shape
    k = c.shape[0]
    step = max(1, GEMM_MULTIPLY_ADDS // max(1, f * k))
    if positions <= step:
        product: FloatArray = np.matmul(d, c.T)
        return product
    chunks = positions // step
    partial = np.matmul(_chunk_view(d, chunks, step), _chunk_view(c, chunks, step).transpose(0, 2, 1))
    total: FloatArray = np.add.reduce(partial, axis=0)
    if chunks * step < positions:
        total += np.matmul(d[:, chunks * step :], c[:, chunks * step :].T)
    return total


def _contract_into(d: FloatArray, c: FloatArray, total: FloatArray) -> None:
    """``total += d @ c.T`` (:func:`_contraction`), every BLAS call at most GEMM_MULTIPLY_ADDS."""
    total += _contraction(d, c)


def _column_blocks(runs: Sequence[tuple[int, int]], rows: int) -> list[tuple[int, int]]:
    """Runs of positions cut into blocks of at most BLOCK_ELEMENTS column-matrix cells.

    A block's column matrix has ``rows`` rows; a block holds one position at least. A
    large example so never needs a huge temporary.
    """
    step = max(1, BLOCK_ELEMENTS // max(1, rows))
    return [(p0, min(q1, p0 + step)) for q0, q1 in runs for p0 in range(q0, q1, step)]


def _single_forward(
    x_padded: FloatArray, w: FloatArray, b: FloatArray | None, kernel: IntPair, d: IntPair
) -> FloatArray:
    """One example at stride 1 in the wide layout, its output rows split over the threads.

    Parameters
    ----------
    x_padded : ndarray of shape (1, C_in, Hp, Wp), C-contiguous
    w : ndarray of shape (C_out, C_in, kH, kW)
    b : ndarray of shape (C_out,) or None
    kernel, d : (int, int)
        Kernel size and dilation.

    Returns
    -------
    ndarray of shape (1, C_out, out_h, out_w)
        The product of the weight rows with the window columns of every wide position
        (:func:`_wide_columns`); the ``Wp - out_w`` positions after each output row but the
        last are computed and dropped. Each thread takes whole output rows (a single row:
        a run of its positions) and writes its cells of z, bias added, itself.
    """
    _, c_in, hp, wp = shape4(x_padded)
    c_out = w.shape[0]
    out_h, out_w = hp - d[0] * (kernel[0] - 1), wp - d[1] * (kernel[1] - 1)
    rows = c_in * kernel[0] * kernel[1]
    w_rows = w.reshape(c_out, rows)
    z = np.empty((1, c_out, out_h, out_w))
    flat = z.reshape(c_out, out_h * out_w)
    # Units: the positions of a single row, else output rows (Wp wide positions each).
    units, unit = (out_w, 1) if out_h == 1 else (out_h, wp)
    gapless = unit == 1 or out_w == wp  # no dropped positions: products land in z as they are
    ones = b is not None and gapless
    if b is not None and gapless:  # the bias as one more weight column, against a row of ones
        w_rows = np.concatenate([w_rows, b[:, None]], axis=1)

    def forward_units(runs: Sequence[tuple[int, int]]) -> None:
        for u0, u1 in _column_blocks(runs, (rows + 1) * unit):
            q0, q1 = u0 * unit, (u1 - 1) * unit + (out_w if unit > 1 else 1)
            view = _wide_columns(x_padded, kernel, d, q0, q1)
            if not ones:
                columns = view.reshape(rows, q1 - q0)  # one copy
            else:
                columns = np.empty((rows + 1, q1 - q0))
                columns[:rows].reshape(view.shape)[...] = view
                columns[rows] = 1.0
            if gapless:
                _product_into(w_rows, columns, flat[:, q0:q1])
                continue
            wide = np.empty((c_out, (u1 - u0) * wp))
            _product_into(w_rows, columns, wide[:, : q1 - q0])
            cells = wide.reshape(c_out, u1 - u0, wp)[:, :, :out_w]
            if b is None:
                z[0, :, u0:u1] = cells
            else:  # the output cells, and the bias added on the way
                np.add(cells, b[:, None, None], out=z[0, :, u0:u1])

    tasks = _single_tasks(c_out * rows * units * unit)
    if tasks > 1:
        parallel.map_groups(forward_units, _cuts(units, _shares(tasks)))
    else:
        forward_units(((0, units),))
    return z


def _single_backward(
    dz: FloatArray, x_padded: FloatArray, w: FloatArray, kernel: IntPair, d: IntPair
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gradients of :func:`_single_forward`: dX of the padded input, dW, db.

    dW is a sum over positions and dX a sum over kernel offsets of each input channel, so
    the threads split dW's positions and dX's channels between them (no two write to the
    same cells), each thread's share of the two about equal.

    Parameters
    ----------
    dz : ndarray of shape (1, C_out, out_h, out_w)
    x_padded : ndarray of shape (1, C_in, Hp, Wp), C-contiguous
    w : ndarray of shape (C_out, C_in, kH, kW)
    kernel, d : (int, int)

    Returns
    -------
    dx_padded : ndarray of shape (1, C_in, Hp, Wp)
    dw : ndarray of shape (C_out, C_in, kH, kW)
    db : ndarray of shape (C_out,)
    """
    _, c_in, hp, wp = shape4(x_padded)
    c_out = w.shape[0]
    (kh, kw), (dh, dw) = kernel, d
    out_h, out_w = hp - dh * (kh - 1), wp - dw * (kw - 1)
    length = (out_h - 1) * wp + out_w
    per_channel = kh * kw
    rows = c_in * per_channel
    w_rows = w.reshape(c_out, rows)
    if out_w == wp or out_h == 1:
        deltas = np.ascontiguousarray(dz).reshape(c_out, length)
    else:  # the wide layout's deltas: zero at the dropped positions
        spread = np.zeros((c_out, out_h * wp))
        spread.reshape(c_out, out_h, wp)[:, :, :out_w] = dz[0]
        deltas = spread[:, :length]
    dx_padded = np.zeros((1, c_in, hp, wp))
    dx_flat = dx_padded.reshape(c_in, hp * wp)
    offsets = [a * dh * wp + bb * dw for a in range(kh) for bb in range(kw)]

    def backward_tasks(tasks: Sequence[tuple[tuple[int, int], tuple[int, int]]]) -> FloatArray:
        dw_rows = np.zeros((c_out, rows))
        for positions, (c0, c1) in tasks:
            for q0, q1 in _column_blocks([positions], rows):
                # Each weight collects input * delta over every overlay (the seeds' dW rule).
                columns = _wide_columns(x_padded, kernel, d, q0, q1).reshape(rows, q1 - q0)
                _contract_into(deltas[:, q0:q1], columns, dw_rows)
            if c1 == c0:
                continue
            w_t = w_rows[:, c0 * per_channel : c1 * per_channel].T
            for q0, q1 in _column_blocks([(0, length)], (c1 - c0) * per_channel):
                # Each overlay sends kernel * delta back onto its window of the input.
                grads = np.empty(((c1 - c0) * per_channel, q1 - q0))
                _product_into(w_t, deltas[:, q0:q1], grads)
                per_offset = grads.reshape(c1 - c0, per_channel, q1 - q0)
                for o, offset in enumerate(offsets):
                    dx_flat[c0:c1, offset + q0 : offset + q1] += per_offset[:, o]
        return dw_rows

    tasks = _single_tasks(2 * c_out * rows * length)
    db = np.add.reduce(dz.reshape(c_out, -1), axis=1)
    if tasks == 1 and rows * length <= BLOCK_ELEMENTS:
        # The whole example in one block on this thread: one column matrix, two products.
        columns = _wide_columns(x_padded, kernel, d, 0, length).reshape(rows, length)
        dw_rows = _contraction(deltas, columns)
        grads = np.empty((rows, length))
        _product_into(w_rows.T, deltas, grads)
        per_offset = grads.reshape(c_in, per_channel, length)
        for o, offset in enumerate(offsets):
            dx_flat[:, offset : offset + length] += per_offset[:, o]
        return dx_padded, dw_rows.reshape(w.shape), db
    if tasks > 1:
        channels = _even_cuts(c_in, tasks)
        # Each thread's dW share tops its dX share up to its part of the whole.
        thread_parts = zip(_shares(tasks), channels, strict=True)
        shares = [max(0.0, 2.0 * v - (c1 - c0) / c_in) for v, (c0, c1) in thread_parts]
        positions = _cuts(length, [v / sum(shares) for v in shares])
        parts = list(zip(positions, channels, strict=True))
        dw_rows = np.sum(parallel.map_groups(backward_tasks, parts), axis=0)
    else:
        dw_rows = backward_tasks([((0, length), (0, c_in))])
    return dx_padded, dw_rows.reshape(w.shape), db


def conv2d_forward(
    x: FloatArray,
    w: FloatArray,
    b: FloatArray | None = None,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> FloatArray:
    """Cross-correlate a batch of images with a bank of kernels.

    As ``torch.nn.Conv2d``'s forward (``torch.nn.functional.conv2d`` with ``groups``;
    ``padding_mode`` as the module's).

    Parameters
    ----------
    x : ndarray of shape (N, C_in, H, W)
    w : ndarray of shape (C_out, C_in / groups, kH, kW)
    b : ndarray of shape (C_out,) or None
    stride, dilation : int or (int, int)
    padding : int, (int, int), "valid" or "same"
        "same" (stride 1 only) pads d(k-1) cells per axis, the odd one on the bottom/right.
    groups : int
        Output channel f sees only the input channels of its group, ``f // (C_out/groups)``;
        ``groups == C_in`` is a depthwise convolution.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
        How the border is filled (reflect needs padding < size, circular <= size).

    Returns
    -------
    ndarray of shape (N, C_out, out_h, out_w)
        ``z[n, f, i, j] = sum_{c,a,b} x_pad[n, g*C_g + c, i*sh + a*dh, j*sw + b*dw] * w[f, c, a, b] + b[f]``
        with ``g`` the group of ``f`` and ``C_g = C_in / groups``.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    b = None if b is None else np.asarray(b, dtype=np.float64)
    if groups != 1 or padding_mode != "zeros" or isinstance(padding, str):
        return _general_forward(x, w, b, stride, padding, dilation, groups, padding_mode)
    _check_conv_shapes(x, w, b)
    kernel, s, p, d = _geometry(x, w, stride, padding, dilation)
    x_padded = np.ascontiguousarray(pad(x, p))
    if _single_wide(x_padded, w.shape[0], s, x_padded.shape[3] - d[1] * (kernel[1] - 1)):
        return _single_forward(x_padded, w, b, kernel, d)
    plan = _Plan(x_padded, w, kernel, s, d, forward=True)
    z = np.empty((x.shape[0], plan.c_out, plan.out_h, plan.out_w))
    with_bias = b is not None
    # The bias as one more weight column, against a row of ones in the columns.
    w_rows = plan.w_rows if b is None else np.concatenate([plan.w_rows, b[:, None]], axis=1)

    def forward_blocks(blocks: Sequence[tuple[int, int, int, int]]) -> None:
        # Per block one matrix product: (C_out, C_in*kH*kW [+ 1]) @ (n, C_in*kH*kW [+ 1], positions).
        for n0, n1, i0, i1 in blocks:
            columns = plan.columns(n0, n1, i0, i1, ones=with_bias)
            if plan.gapless(i0, i1):
                # The product lands in z as it is: (n, C_out, rows*out_w) is a view of the
                # block (whole examples, or some rows of one example).
                matmul_in_chunks(w_rows, columns, out=z[n0:n1, :, i0:i1].reshape(n1 - n0, plan.c_out, -1))
                continue
            product = matmul_in_chunks(w_rows, columns)
            if plan.wide:
                cells = plan.unwide(product, i1 - i0)
            else:
                cells = product.reshape(n1 - n0, plan.c_out, i1 - i0, plan.out_w)
            z[n0:n1, :, i0:i1] = cells

    if plan.parallel:
        parallel.map_groups(forward_blocks, plan.blocks)  # blocks write disjoint parts of z
    else:
        forward_blocks(plan.blocks)
    return z


def conv2d_backward(
    dz: FloatArray,
    x: FloatArray,
    w: FloatArray,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gradients of a 2-D convolution given the gradient of its output.

    Parameters
    ----------
    dz : ndarray of shape (N, C_out, out_h, out_w)
        dL/dz, the gradient of the loss with respect to the convolution's output.
    x : ndarray of shape (N, C_in, H, W)
        The input of the forward pass.
    w : ndarray of shape (C_out, C_in / groups, kH, kW)
    stride, padding, dilation, groups, padding_mode
        As for :func:`conv2d_forward`.

    Returns
    -------
    dx : ndarray of shape (N, C_in, H, W)
        With a padding mode other than zeros, the gradient of every copied border cell
        is added onto the input cell it was copied from.
    dw : ndarray of shape (C_out, C_in / groups, kH, kW)
    db : ndarray of shape (C_out,)
        The sum of ``dz`` over batch and positions.
    """
    dz = np.asarray(dz, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if groups != 1 or padding_mode != "zeros" or isinstance(padding, str):
        return _general_backward(dz, x, w, stride, padding, dilation, groups, padding_mode)
    _check_conv_shapes(x, w, None)
    kernel, s, p, d = _geometry(x, w, stride, padding, dilation)
    n_batch, c_out = x.shape[0], w.shape[0]
    out_h, out_w = output_shape((x.shape[2], x.shape[3]), kernel, s, p, d)
    expected = (n_batch, c_out, out_h, out_w)
    if dz.shape != expected:
        raise ValueError(f"dz must have shape {expected}, got {dz.shape}")
    x_padded = np.ascontiguousarray(pad(x, p))
    if _single_wide(x_padded, c_out, s, out_w):
        dx_padded, dw, db = _single_backward(dz, x_padded, w, kernel, d)
        return (dx_padded if p == (0, 0) else np.ascontiguousarray(crop(dx_padded, p))), dw, db
    plan = _Plan(x_padded, w, kernel, s, d)
    rows = plan.w_rows.shape[1]
    if len(plan.blocks) == 1 and not plan.wide:
        # One block, dX straight onto the unpadded input.
        cols = plan.columns(0, n_batch, 0, out_h, ones=True)  # (N, C_in*kH*kW + 1, P)
        dz_cols = dz.reshape(n_batch, c_out, out_h * out_w)  # (N, C_out, P)
        # Each weight collects input * delta over every overlay (the seeds' dW rule); the
        # row of ones collects the deltas themselves, db.
        dwb = contract_positions(dz_cols, cols)
        # Each overlay sends kernel * delta back onto its window of the input.
        dx = col2im(matmul_in_chunks(plan.w_rows.T, dz_cols), shape4(x), kernel, s, p, d)
        return dx, np.ascontiguousarray(dwb[:, :rows]).reshape(w.shape), np.ascontiguousarray(dwb[:, rows])
    dx_padded = np.zeros(x_padded.shape)

    def backward_blocks(blocks: Sequence[tuple[int, int, int, int]]) -> FloatArray:
        dwb = np.zeros((c_out, rows + 1))
        for n0, n1, i0, i1 in blocks:
            dz_cols = plan.deltas(dz, n0, n1, i0, i1)
            dwb += contract_positions(dz_cols, plan.columns(n0, n1, i0, i1, ones=True))
            plan.add_back(dx_padded, matmul_in_chunks(plan.w_rows.T, dz_cols), n0, n1, i0, i1)
        return dwb

    if plan.parallel:
        # Groups of whole examples: the row blocks of one example add onto shared rows.
        blocks = plan.blocks
        partial = parallel.map_groups(backward_blocks, blocks, lambda i: blocks[i][0] != blocks[i - 1][0])
        dwb = np.sum(partial, axis=0) if len(partial) > 1 else partial[0]
    else:
        dwb = backward_blocks(plan.blocks)
    dx = dx_padded if p == (0, 0) else np.ascontiguousarray(crop(dx_padded, p))
    return dx, np.ascontiguousarray(dwb[:, :rows]).reshape(w.shape), np.ascontiguousarray(dwb[:, rows])


def _general_setup(
    x: FloatArray,
    w: FloatArray,
    b: FloatArray | None,
    stride: Size,
    padding: Padding,
    dilation: Size,
    groups: int,
    padding_mode: str,
) -> tuple[Sides, IntPair, IntPair]:
    """Check a call with groups, a padding string or a padding mode; its padding by side."""
    _check_conv_shapes(x, w, b, groups)
    s, d = as_pair(stride, "stride"), as_pair(dilation, "dilation")
    if min(s) < 1 or min(d) < 1:
        raise ValueError(f"stride and dilation must be >= 1, got {s}, {d}")
    sides = resolve_padding(padding, (w.shape[2], w.shape[3]), s, d)
    check_padding_mode(padding_mode, sides, (x.shape[2], x.shape[3]))
    return sides, s, d


def _general_forward(
    x: FloatArray,
    w: FloatArray,
    b: FloatArray | None,
    stride: Size,
    padding: Padding,
    dilation: Size,
    groups: int,
    padding_mode: str,
) -> FloatArray:
    """:func:`conv2d_forward` with groups, a padding string or a padding mode.

    The border is filled by the mode first (:func:`.windows.pad_sides`); the convolution
    of the padded input then has no padding of its own.
    """
    sides, s, d = _general_setup(x, w, b, stride, padding, dilation, groups, padding_mode)
    even = symmetric(sides)
    if groups == 1 and padding_mode == "zeros" and even is not None:
        return conv2d_forward(x, w, b, s, even, d)
    x_padded = np.ascontiguousarray(pad_sides(x, sides, padding_mode))
    if groups == 1:
        return conv2d_forward(x_padded, w, b, s, 0, d)
    return _grouped_forward(x_padded, w, b, s, d, groups)


def _general_backward(
    dz: FloatArray,
    x: FloatArray,
    w: FloatArray,
    stride: Size,
    padding: Padding,
    dilation: Size,
    groups: int,
    padding_mode: str,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`conv2d_backward` with groups, a padding string or a padding mode.

    The gradient of the padded input, then every border cell's share folded back onto
    the cell it copied (:func:`.windows.fold_padding`).
    """
    sides, s, d = _general_setup(x, w, None, stride, padding, dilation, groups, padding_mode)
    even = symmetric(sides)
    if groups == 1 and padding_mode == "zeros" and even is not None:
        return conv2d_backward(dz, x, w, s, even, d)
    x_padded = np.ascontiguousarray(pad_sides(x, sides, padding_mode))
    if groups == 1:
        dx_padded, dw, db = conv2d_backward(dz, x_padded, w, s, 0, d)
    else:
        dx_padded, dw, db = _grouped_backward(dz, x_padded, w, s, d, groups)
    return fold_padding(dx_padded, sides, padding_mode), dw, db


def _example_blocks(n_batch: int, per_example: int) -> list[tuple[int, int]]:
    """Blocks of whole examples whose column matrices hold at most BLOCK_ELEMENTS (one at least)."""
    step = max(1, BLOCK_ELEMENTS // max(1, per_example))
    return [(n0, min(n_batch, n0 + step)) for n0 in range(0, n_batch, step)]


def _grouped_forward(
    x_padded: FloatArray, w: FloatArray, b: FloatArray | None, s: IntPair, d: IntPair, groups: int
) -> FloatArray:
    """Grouped convolution of an already padded input: one stacked product per block of examples.

    Parameters
    ----------
    x_padded : ndarray of shape (N, C_in, Hp, Wp), C-contiguous
    w : ndarray of shape (C_out, C_in / groups, kH, kW)
    b : ndarray of shape (C_out,) or None
    s, d : (int, int)
    groups : int

    Returns
    -------
    ndarray of shape (N, C_out, out_h, out_w)
        The column matrix (N, C_in*kH*kW, P) is (N, groups, C_g*kH*kW, P): group g's rows
        are contiguous, and its (C_out/groups, C_g*kH*kW) weight rows multiply them alone.
    """
    kernel, s, _, d = _geometry(x_padded, w, s, 0, d)
    n_batch, c_in, hp, wp = shape4(x_padded)
    c_out = w.shape[0]
    out_h, out_w = output_shape((hp, wp), kernel, s, (0, 0), d)
    positions = out_h * out_w
    per_group = w.reshape(groups, c_out // groups, -1)  # (G, F_g, C_g*kH*kW)
    rows = per_group.shape[2]
    z = np.empty((n_batch, c_out, out_h, out_w))
    for n0, n1 in _example_blocks(n_batch, c_in * kernel[0] * kernel[1] * positions):
        columns = im2col(x_padded[n0:n1], kernel, s, d).reshape(n1 - n0, groups, rows, positions)
        np.matmul(per_group, columns, out=z[n0:n1].reshape(n1 - n0, groups, c_out // groups, positions))
    if b is not None:
        z += b[:, None, None]
    return z


def _grouped_backward(
    dz: FloatArray, x_padded: FloatArray, w: FloatArray, s: IntPair, d: IntPair, groups: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gradients of :func:`_grouped_forward`: dX of the padded input, dW, db.

    Parameters
    ----------
    dz : ndarray of shape (N, C_out, out_h, out_w)
    x_padded : ndarray of shape (N, C_in, Hp, Wp), C-contiguous
    w : ndarray of shape (C_out, C_in / groups, kH, kW)

    Returns
    -------
    dx_padded : ndarray of shape (N, C_in, Hp, Wp)
    dw : ndarray of shape (C_out, C_in / groups, kH, kW)
    db : ndarray of shape (C_out,)
    """
    kernel, s, _, d = _geometry(x_padded, w, s, 0, d)
    n_batch, c_in, hp, wp = shape4(x_padded)
    c_out = w.shape[0]
    out_h, out_w = output_shape((hp, wp), kernel, s, (0, 0), d)
    if dz.shape != (n_batch, c_out, out_h, out_w):
        raise ValueError(f"dz must have shape {(n_batch, c_out, out_h, out_w)}, got {dz.shape}")
    positions = out_h * out_w
    per_group = w.reshape(groups, c_out // groups, -1)  # (G, F_g, C_g*kH*kW)
    rows = per_group.shape[2]
    deltas = np.ascontiguousarray(dz).reshape(n_batch, groups, c_out // groups, positions)
    dw = np.zeros(per_group.shape)
    dx_padded = np.zeros(x_padded.shape)
    for n0, n1 in _example_blocks(n_batch, c_in * kernel[0] * kernel[1] * positions):
        columns = im2col(x_padded[n0:n1], kernel, s, d).reshape(n1 - n0, groups, rows, positions)
        # each weight collects input * delta over every overlay of its group
        dw += np.matmul(deltas[n0:n1], columns.transpose(0, 1, 3, 2)).sum(axis=0)
        # each overlay sends kernel * delta back onto its window of the group's channels
        grads = np.matmul(per_group.transpose(0, 2, 1), deltas[n0:n1])  # (n, G, C_g*kH*kW, P)
        target = dx_padded[n0:n1]
        col2im(grads.reshape(n1 - n0, -1, positions), shape4(target), kernel, s, (0, 0), d, out=target)
    return dx_padded, dw.reshape(w.shape), dz.sum(axis=(0, 2, 3))


def _twin_sides(padding: Padding, kernel: IntPair, stride: IntPair, dilation: IntPair) -> Sides:
    """The loop twins' own reading of a padding: (top, bottom, left, right)."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        assert stride == (1, 1), "'same' needs stride 1"
        rows, cols = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return rows // 2, rows - rows // 2, cols // 2, cols - cols // 2
    assert not isinstance(padding, str)
    ph, pw = as_pair(padding, "padding")
    return ph, ph, pw, pw


def _twin_cell(index: int, size: int, mode: str) -> int | None:
    """The loop twins' rule for a padded cell: which input cell it holds (None: a zero)."""
    if 0 <= index < size:
        return index
    if mode == "zeros":
        return None
    if mode == "replicate":
        return min(max(index, 0), size - 1)
    if mode == "circular":
        return index + size if index < 0 else index - size
    while not 0 <= index < size:  # reflect: bounce off the edge cells
        index = -index if index < 0 else 2 * (size - 1) - index
    return index


def conv2d_forward_naive(
    x: FloatArray,
    w: FloatArray,
    b: FloatArray | None = None,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> FloatArray:
    """Loop twin of :func:`conv2d_forward`: one output element at a time."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n_batch, _, h, wid = x.shape
    c_out, c_group, kh, kw = w.shape
    s, d = as_pair(stride), as_pair(dilation)
    top, bottom, left, right = _twin_sides(padding, (kh, kw), s, d)
    out_h = (h + top + bottom - d[0] * (kh - 1) - 1) // s[0] + 1
    out_w = (wid + left + right - d[1] * (kw - 1) - 1) // s[1] + 1
    per_group = c_out // groups
    z = np.zeros((n_batch, c_out, out_h, out_w))
    for n in range(n_batch):
        for f in range(c_out):
            first_channel = (f // per_group) * c_group
            for i in range(out_h):
                for j in range(out_w):
                    total = 0.0 if b is None else float(b[f])
                    for c in range(c_group):
                        for a in range(kh):
                            for bb in range(kw):
                                row = _twin_cell(i * s[0] + a * d[0] - top, h, padding_mode)
                                col = _twin_cell(j * s[1] + bb * d[1] - left, wid, padding_mode)
                                if row is not None and col is not None:
                                    total += x[n, first_channel + c, row, col] * w[f, c, a, bb]
                    z[n, f, i, j] = total
    return z


def conv2d_backward_naive(
    dz: FloatArray,
    x: FloatArray,
    w: FloatArray,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Loop twin of :func:`conv2d_backward`: the seeds' overlay-by-overlay procedure.

    A padded cell that copies an input cell (by the padding mode) sends its share of
    dX straight to that cell.
    """
    dz = np.asarray(dz, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    _, _, h, wid = x.shape
    c_out, c_group, kh, kw = w.shape
    s, d = as_pair(stride), as_pair(dilation)
    top, _, left, _ = _twin_sides(padding, (kh, kw), s, d)
    per_group = c_out // groups
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    db = np.zeros(c_out)
    for n in range(dz.shape[0]):
        for f in range(c_out):
            first_channel = (f // per_group) * c_group
            for i in range(dz.shape[2]):
                for j in range(dz.shape[3]):
                    delta = dz[n, f, i, j]
                    db[f] += delta
                    for c in range(c_group):
                        for a in range(kh):
                            for bb in range(kw):
                                row = _twin_cell(i * s[0] + a * d[0] - top, h, padding_mode)
                                col = _twin_cell(j * s[1] + bb * d[1] - left, wid, padding_mode)
                                if row is not None and col is not None:
                                    dw[f, c, a, bb] += x[n, first_channel + c, row, col] * delta
                                    dx[n, first_channel + c, row, col] += w[f, c, a, bb] * delta
    return dx, dw, db


def _pad_1d(padding: Padding) -> IntPair | str:
    """A 1-D padding for the equivalent 2-D layer: (0, p), or the string itself."""
    if isinstance(padding, str):
        return padding  # the height axis has a kernel of 1: "same" adds nothing there
    return setting_1d(padding, "padding", 0)


def conv1d_forward(
    x: FloatArray,
    w: FloatArray,
    b: FloatArray | None = None,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> FloatArray:
    """1-D cross-correlation, as ``torch.nn.Conv1d``; :func:`conv2d_forward` on a height of one.

    x (N, C_in, L), w (C_out, C_in / groups, K), b (C_out,) or None -> (N, C_out, out_L); int
    settings (``padding`` also "valid" or "same"), the rest as for the 2-D kernel.
    """
    return rows_1d(
        conv2d_forward,
        (x, w),
        "expected x (N, C, L) and w (C_out, C_in, K)",
        b,
        setting_1d(stride, "stride"),
        _pad_1d(padding),
        setting_1d(dilation, "dilation"),
        groups,
        padding_mode,
    )


def conv1d_backward(
    dz: FloatArray,
    x: FloatArray,
    w: FloatArray,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gradients of :func:`conv1d_forward`; settings as for the forward pass.

    dz (N, C_out, out_L) -> dx (N, C_in, L), dw (C_out, C_in / groups, K), db (C_out,).
    """
    return rows_1d_grads(
        conv2d_backward,
        (dz, x, w),
        "expected 3-D dz, x and w",
        setting_1d(stride, "stride"),
        _pad_1d(padding),
        setting_1d(dilation, "dilation"),
        groups,
        padding_mode,
    )

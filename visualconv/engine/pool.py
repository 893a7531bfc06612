"""Max and average pooling: forward, backward and loop twins.

Pooling works on strided slabs of the input, one per kernel offset (the window
arithmetic of :mod:`.windows`), so no window is ever copied. Windows may overlap
(stride < size); their gradients add up. Max pooling routes a window's whole delta
to the first maximal element in row-major order, as PyTorch does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import parallel
from .windows import (
    FloatArray,
    IntPair,
    as_pair,
    crop,
    output_shape,
    pad_sides,
    rows_1d,
    setting_1d,
    sliding_windows,
)

Size = int | Sequence[int]
PoolSize = int | Sequence[int] | str
"""An int, a pair, or "global"."""
POOL_MODES = ("max", "avg")


def _geometry(
    x: FloatArray, mode: str, size: PoolSize, stride: Size | None, padding: Size = 0
) -> tuple[IntPair, IntPair, IntPair, IntPair]:
    """Check a pooling call as PyTorch does; its (size, stride, padding, output size) pairs.

    ``size="global"`` is one window over the whole plane (stride and padding not given).
    """
    if x.ndim != 4:
        if mode not in POOL_MODES:
            raise ValueError(f"pool mode must be 'max' or 'avg', got {mode!r}")
        raise ValueError(f"input must have shape (N, C, H, W), got {x.shape}")
    key = (mode, _hashable(size), _hashable(stride), _hashable(padding), x.shape[2], x.shape[3])
    try:
        return _checked_geometry(*key)
    except TypeError:  # a setting that cannot be hashed (an array, say): checked afresh
        return _checked_geometry.__wrapped__(*key)


def _hashable(value: Any) -> Any:
    """A list setting as a tuple (the same pair to :func:`as_pair`), so that it can key a cache."""
    return tuple(value) if isinstance(value, list) else value


@functools.lru_cache(maxsize=256)
def _checked_geometry(
    mode: str, size: PoolSize, stride: Size | None, padding: Size, h: int, w: int
) -> tuple[IntPair, IntPair, IntPair, IntPair]:
    """:func:`_geometry` of an (N, C, h, w) input, remembered: small calls spend much of their time here.

    Only successful checks are remembered (an error is raised afresh every time).
    """
    if mode not in POOL_MODES:
        raise ValueError(f"pool mode must be 'max' or 'avg', got {mode!r}")
    if isinstance(size, str):
        if size != "global":
            raise ValueError(f"pool size must be an int, a pair or 'global', got {size!r}")
        if stride is not None or as_pair(padding, "padding") != (0, 0):
            raise ValueError("a global pool takes no stride and no padding")
        return (h, w), (h, w), (0, 0), (1, 1)
    k = as_pair(size, "size")
    s = k if stride is None else as_pair(stride, "stride")
    p = as_pair(padding, "padding")
    if min(k) < 1 or min(s) < 1:
        raise ValueError(f"pool size and stride must be >= 1, got {k}, {s}")
    if min(p) < 0 or p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"pool padding must be >= 0 and at most half the size {k}, got {p}")
    out_h, out_w = output_shape((h, w), k, s, p, (1, 1))
    if out_h < 1 or out_w < 1:
        raise ValueError(f"pool window {k} is larger than the padded input {(h + 2 * p[0], w + 2 * p[1])}")
    return k, s, p, (out_h, out_w)


def _pad_for_pool(x: FloatArray, mode: str, p: IntPair) -> FloatArray:
    """The input as the windows see it: max pooling pads with -inf, average pooling with zeros."""
    return pad_sides(x, (p[0], p[0], p[1], p[1]), "zeros", -np.inf if mode == "max" else 0.0)


def _offsets(kernel: IntPair) -> list[IntPair]:
    """The kernel's (a, b) offsets in row-major order."""
    return [(a, b) for a in range(kernel[0]) for b in range(kernel[1])]


def _slab(x: FloatArray, a: int, b: int, stride: IntPair, out_hw: IntPair) -> FloatArray:
    """``x[..., i*sh + a, j*sw + b]`` for every output (i, j): a strided view of shape (..., out_h, out_w)."""
    (sh, sw), (out_h, out_w) = stride, out_hw
    return x[..., a : a + sh * (out_h - 1) + 1 : sh, b : b + sw * (out_w - 1) + 1 : sw]


def max_positions(windows: FloatArray) -> NDArray[np.intp]:
    """Row-major index of the first maximum inside each window.

    Parameters
    ----------
    windows : ndarray of shape (..., kH, kW)

    Returns
    -------
    ndarray of int of shape (...)
        The index into the flattened kH*kW window; ties go to the first.
    """
    kh, kw = windows.shape[-2:]
    best = np.array(windows[..., 0, 0], dtype=np.float64)
    index = np.zeros(best.shape, dtype=np.intp)
    for o, (a, b) in enumerate(_offsets((kh, kw))[1:], start=1):
        values = windows[..., a, b]
        greater = values > best  # strictly: an equal value later in the window loses
        index[greater] = o
        best[greater] = values[greater]
    return index


def pool2d_forward(
    x: FloatArray, mode: str = "max", size: PoolSize = 2, stride: Size | None = None, padding: Size = 0
) -> FloatArray:
    """Max or average pooling, as ``torch.nn.functional.max_pool2d`` / ``avg_pool2d``.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    mode : {"max", "avg"}
    size : int, (int, int) or "global"
        "global": one window over the whole plane (``adaptive_*_pool2d(x, 1)``).
    stride : int or (int, int) or None
        None means ``size`` (non-overlapping windows).
    padding : int or (int, int)
        At most half the size: max pooling pads with -inf, average pooling with zeros
        that count in the average (``count_include_pad=True``).

    Returns
    -------
    ndarray of shape (N, C, out_h, out_w)
        Max: the largest value of each window. Avg: the window's values added in
        row-major order, divided by kH*kW.
    """
    x = np.asarray(x, dtype=np.float64)
    k, s, p, out_hw = _geometry(x, mode, size, stride, padding)
    if p != (0, 0):
        return pool2d_forward(_pad_for_pool(x, mode, p), mode, k, s)
    if mode == "max" and x.size <= SMALL_CELLS:
        return _max_forward_small(x, k, s, out_hw)
    y = np.empty((*x.shape[:2], *out_hw))
    _by_planes(lambda planes, out: _pool(planes[0], mode, k, s, out_hw, out), [x], y)
    return y


# Below this much work (input cells times passes over them, see _by_planes) a pooling
# call stays on the caller's thread. Pooling is many short NumPy passes; below this two
# threads spend more time handing the GIL back and forth than they save.
PARALLEL_CELLS = 1 << 18

# Passes over the input per kind of call, roughly: a max-pool backward does about four
# times a forward's work. Overlapping 2-D windows end in np.bincount, which holds the GIL.
MAX_BACKWARD_PASSES = 4

# Input cells per block of planes at most: bounds the temporaries of huge inputs. Blocks
# are otherwise as large as possible (one per thread): fewer, longer passes.
BLOCK_CELLS = 1 << 20


def _by_planes(
    work: Callable[[list[FloatArray], FloatArray], object],
    arrays: list[FloatArray],
    out: FloatArray,
    passes: int = 1,
) -> None:
    """Run ``work(arrays, out)`` on blocks of whole (n, c) planes, on several threads when large.

    Pooling treats every (example, channel) plane alike, so the planes of all arrays
    (each (N, C, h, w)) are cut into blocks of at most BLOCK_CELLS input cells and
    ``work`` fills the same planes of ``out`` (N, C, h', w', C-contiguous) from them.
    ``passes`` weighs the input cells when deciding whether threads pay off.
    """
    cells = arrays[-1].size  # the input's: it comes last, forward (x) and backward (dy, x)
    if cells * passes < PARALLEL_CELLS and cells <= BLOCK_CELLS:
        work(arrays, out)  # one block on this thread, the common case of small calls
        return
    n, c = out.shape[:2]
    planes = n * c
    per_block = max(1, BLOCK_CELLS // max(1, cells // max(1, planes)))
    threads = parallel.threads() if cells * passes >= PARALLEL_CELLS else 1
    if threads > 1:
        per_block = parallel.balanced_block_size(planes, per_block, threads)
    if planes <= per_block:
        work(arrays, out)
        return
    flat = [np.ascontiguousarray(a).reshape(planes, 1, *a.shape[2:]) for a in arrays]
    out_flat = out.reshape(planes, 1, *out.shape[2:])  # a view: out is contiguous
    blocks = [(p0, min(planes, p0 + per_block)) for p0 in range(0, planes, per_block)]

    def run(group: Sequence[tuple[int, int]]) -> None:
        for p0, p1 in group:
            work([a[p0:p1] for a in flat], out_flat[p0:p1])

    if threads == 1:
        run(blocks)
    else:
        parallel.map_groups(run, blocks)


def _rows(x: FloatArray, a: int, sh: int, out_h: int, width: int) -> FloatArray:
    """``x[..., i*sh + a, :width]`` for every output row i: whole input rows, contiguous within a row."""
    return x[..., a : a + sh * (out_h - 1) + 1 : sh, :width]


def _pairs_of_neighbours(x: FloatArray, k: IntPair, s: IntPair) -> bool:
    """Whether one-row windows of 2 or 3 cells, 2 apart, can use :func:`_adjacent` on ``x``."""
    return k[0] == 1 and s[1] == 2 and k[1] in (2, 3) and x.flags.c_contiguous and x.shape[-1] >= 2


def _adjacent(x: FloatArray, op: np.ufunc, dtype: type = np.float64) -> NDArray[Any]:
    """``op(x[..., i], x[..., i + 1])`` for every cell of the C-contiguous ``x``, in one contiguous pass.

    Returns
    -------
    ndarray of ``x``'s shape
        The last column pairs a row's last cell with the next row's first: never read.
    """
    flat = x.reshape(-1)
    result: NDArray[Any] = np.empty(x.shape, dtype=dtype)
    op(flat[:-1], flat[1:], out=result.reshape(-1)[:-1])
    result.reshape(-1)[-1] = 0
    return result


def _pool(x: FloatArray, mode: str, k: IntPair, s: IntPair, out_hw: IntPair, out: FloatArray) -> FloatArray:
    """:func:`pool2d_forward` on checked arguments, into ``out``.

    Separable: first combine the kH input rows of every output row (passes over whole,
    contiguous rows), then the kW columns of that. Fewer and longer inner loops than one
    strided pass per kernel offset, which matters for the short rows of small images.
    """
    (kh, kw), (sh, sw), (out_h, out_w) = k, s, out_hw
    if mode == "max" and _pairs_of_neighbours(x, k, s):
        # max(x0, x1) and max(x0, x1, x2) = max(max(x0, x1), max(x1, x2)) from the neighbour
        # maxima, each in one contiguous pass; a single strided pass picks every other one
        # (a strided np.maximum costs several contiguous passes).
        neighbours = _adjacent(x, np.maximum)
        if kw == 3:
            neighbours = _adjacent(neighbours, np.maximum)
        out[...] = _rows(neighbours, 0, sh, out_h, x.shape[-1])[..., 0 : 2 * out_w - 1 : 2]
        return out
    combine = np.maximum if mode == "max" else np.add
    width = sw * (out_w - 1) + kw  # the input columns any window reads
    if kh == 1:
        rows = _rows(x, 0, sh, out_h, width)  # nothing to combine across rows (1-D pooling)
    else:
        rows = combine(_rows(x, 0, sh, out_h, width), _rows(x, 1, sh, out_h, width))
        for a in range(2, kh):
            combine(rows, _rows(x, a, sh, out_h, width), out=rows)

    def column(b: int) -> FloatArray:
        return rows[..., b : b + sw * (out_w - 1) + 1 : sw]

    if kh > 1 and sw == 2 and kw in (2, 3) and rows.size <= NEIGHBOUR_PASS_CELLS:
        _combine_columns_two_apart(rows, combine, kw, out)  # rows: a new C-contiguous array
    elif kw == 1:
        out[...] = column(0)
    else:
        combine(column(0), column(1), out=out)
        for b in range(2, kw):
            combine(out, column(b), out=out)
    if mode == "avg":
        out /= kh * kw
    return out


# Rows of at most this many cells combine their columns two apart in contiguous passes
# (:func:`_combine_columns_two_apart`); larger ones, whose extra array of neighbours no
# longer stays in the core's cache, in strided passes (the batches of bench_engine ran slower).
NEIGHBOUR_PASS_CELLS = 1 << 16


def _combine_columns_two_apart(rows: FloatArray, combine: np.ufunc, kw: int, out: FloatArray) -> None:
    """``out[..., j]``: ``rows[..., 2j : 2j + kW]`` combined left to right (kW 2 or 3), ``rows`` C-contiguous.

    Each cell is combined with its next (and the result with the one after) in
    contiguous passes over ``rows`` taken flat (what pairs across a row's end is never
    read), then every other one is copied out: the same terms in the same order as one
    strided pass per column, each of which costs several contiguous passes.

    Parameters
    ----------
    rows : ndarray of shape (..., out_h, width), C-contiguous, width >= 2 (out_w - 1) + kW
    out : ndarray of shape (..., out_h, out_w)
    """
    flat = rows.reshape(-1)
    neighbours = np.empty(rows.shape)
    along = neighbours.reshape(-1)
    combine(flat[:-1], flat[1:], out=along[:-1])
    if kw == 3:
        combine(along[:-2], flat[2:], out=along[:-2])
    out[...] = neighbours[..., 0 : 2 * out.shape[-1] - 1 : 2]


def _spread_average(dy: FloatArray, k: IntPair, s: IntPair, out_hw: IntPair, dx: FloatArray) -> None:
    """Average-pool backward into ``dx``: each delta / (kH*kW) onto every cell of its window.

    The adjoint of the separable forward: spread over the kW columns of each output
    row, then add those rows onto the kH input rows.
    """
    (kh, kw), (sh, sw), (out_h, out_w) = k, s, out_hw
    width = sw * (out_w - 1) + kw
    share = dy / (kh * kw)
    if s == k:
        # Windows side by side: every covered cell gets exactly one share. Write the top
        # row of each window row, then copy it down (whole contiguous rows).
        n, c, h, w = dx.shape
        if (h, w) != (out_h * kh, out_w * kw):
            dx[...] = 0.0  # the cells no window covers
        windows = dx[:, :, : out_h * kh, : out_w * kw].reshape(n, c, out_h, kh, out_w, kw)  # a view
        for b in range(kw):
            windows[:, :, :, 0, :, b] = share
        for a in range(1, kh):
            windows[:, :, :, a] = windows[:, :, :, 0]
        return
    if kw <= 2 * sw and kh <= 2 * sh:
        # Each cell in at most two windows per axis: whole slices, no read-modify-write passes.
        if kh == 1 and sh == 1:
            _spread_pairs(share, kw, sw, dx, -1)
            return
        columns = np.empty((*dy.shape[:-1], dx.shape[-1]))
        _spread_pairs(share, kw, sw, columns, -1)
        _spread_pairs(columns, kh, sh, dx, -2)
        return
    rows = np.zeros((*dy.shape[:-1], width))
    for b in range(kw):
        rows[..., b : b + sw * (out_w - 1) + 1 : sw] += share
    if kh == 1 and sh == 1:
        dx[..., :width] = rows
        dx[..., width:] = 0.0
        return
    dx[...] = 0.0
    for a in range(kh):
        _rows(dx, a, sh, out_h, width)[...] += rows


def _spread_pairs(values: FloatArray, k: int, s: int, out: FloatArray, axis: int) -> None:
    """Along ``axis``, each of the n ``values`` added onto the k cells of its window (stride s, k <= 2 s).

    ``out[p]`` becomes the sum of ``values[j]`` over the windows j with ``0 <= p - j*s < k``
    (at most two, as k <= 2 s: two terms add alike in either order), and 0 past the last
    window. Each residue class ``r + s*j`` of cells is written whole, one or two passes.

    Parameters
    ----------
    values : ndarray of shape (..., n, ...)
        n along ``axis`` (-1 or -2).
    k, s : int
        Window size and stride along ``axis``, ``k <= 2 s``.
    out : ndarray
        ``values``' shape but at least ``s*(n - 1) + k`` along ``axis``; every cell written.
    """
    n = values.shape[axis]

    def along(array: FloatArray, part: slice | int) -> FloatArray:
        return array[..., part] if axis == -1 else array[..., part, :]

    for r in range(s):
        cells = along(out, slice(r, None, s))  # the cells r + s*j
        if r + s < k:  # window j at offset r, window j - 1 at offset r + s
            along(cells, 0)[...] = along(values, 0)
            np.add(
                along(values, slice(1, None)), along(values, slice(None, -1)), out=along(cells, slice(1, n))
            )
            along(cells, n)[...] = along(values, n - 1)
            along(cells, slice(n + 1, None))[...] = 0.0
        elif r < k:
            along(cells, slice(0, n))[...] = values
            along(cells, slice(n, None))[...] = 0.0
        else:
            cells[...] = 0.0  # between windows


def pool2d_backward(
    dy: FloatArray,
    x: FloatArray,
    mode: str = "max",
    size: PoolSize = 2,
    stride: Size | None = None,
    padding: Size = 0,
) -> FloatArray:
    """Gradient of :func:`pool2d_forward` with respect to its input.

    Parameters
    ----------
    dy : ndarray of shape (N, C, out_h, out_w)
    x : ndarray of shape (N, C, H, W)
    mode, size, stride, padding
        As for :func:`pool2d_forward`.

    Returns
    -------
    ndarray of shape (N, C, H, W)
        Max: each delta lands on its window's first maximum in row-major order (never a
        padding cell). Avg: each delta is spread evenly, ``delta / (kH*kW)`` to every
        cell of its window; the shares of padding cells are dropped. Overlapping windows
        add up.
    """
    dy = np.asarray(dy, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    k, s, p, out_hw = _geometry(x, mode, size, stride, padding)
    if p != (0, 0):
        if mode == "max" and not _above_minus_infinity(x):
            return _max_backward_padded_literal(dy, x, k, s, p)
        dx_padded = pool2d_backward(dy, _pad_for_pool(x, mode, p), mode, k, s)
        return np.ascontiguousarray(crop(dx_padded, p))
    if dy.shape != (*x.shape[:2], *out_hw):
        raise ValueError(f"dy must have shape {(*x.shape[:2], *out_hw)}, got {dy.shape}")
    if mode == "max" and x.size <= SMALL_CELLS:
        return _max_backward_small(dy, x, k, s, out_hw)
    dx = np.empty(x.shape)
    passes = MAX_BACKWARD_PASSES if mode == "max" and not _overlapping_2d(k, s) else 1
    _by_planes(
        lambda arrays, out: _pool_backward(arrays[0], arrays[1], mode, k, s, out_hw, out), [dy, x], dx, passes
    )
    return dx


# Max-pool inputs of at most this many cells go backward in plain Python over lists: for
# them a NumPy route's fixed cost (some ten calls of about a microsecond) outweighs the loops.
SMALL_CELLS = 64


def _max_forward_small(x: FloatArray, k: IntPair, s: IntPair, out_hw: IntPair) -> FloatArray:
    """Max pooling of a small input on Python floats: each window's largest value, NaN if it holds one.

    As ``np.maximum`` over the window's cells: a NaN wins and stays.

    Returns
    -------
    ndarray of shape (N, C, out_h, out_w)
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (oh, ow) = k, s, out_hw
    later = [a * w + b for a in range(kh) for b in range(kw)][1:]  # after the window's first cell
    corners = [i * sh * w + j * sw for i in range(oh) for j in range(ow)]
    maxima = []
    for plane in x.reshape(n * c, h * w).tolist():
        for corner in corners:
            best = plane[corner]
            for offset in later:
                value = plane[corner + offset]
                if value > best or value != value:  # value != value: a NaN
                    best = value
            maxima.append(best)
    return np.array(maxima, dtype=np.float64).reshape(n, c, oh, ow)


def _max_backward_small(dy: FloatArray, x: FloatArray, k: IntPair, s: IntPair, out_hw: IntPair) -> FloatArray:
    """Max-pool backward of a small input, the loop twin's comparisons and sums on Python floats.

    Each window keeps its first cell and replaces it by each later one that is strictly
    greater (a NaN never replaces and, first, is never replaced); its delta is added onto
    that cell in window order. Python floats are IEEE doubles: the twin's result, to the bit.

    Returns
    -------
    ndarray of ``x``'s shape (N, C, H, W)
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (oh, ow) = k, s, out_hw
    later = [a * w + b for a in range(kh) for b in range(kw)][1:]  # after the window's first cell
    corners = [i * sh * w + j * sw for i in range(oh) for j in range(ow)]
    planes = []
    inputs, upstream = x.reshape(n * c, h * w).tolist(), dy.reshape(n * c, oh * ow).tolist()
    for plane, deltas in zip(inputs, upstream, strict=True):
        dx = [0.0] * (h * w)
        for corner, delta in zip(corners, deltas, strict=True):
            best, value = corner, plane[corner]
            for offset in later:
                if plane[corner + offset] > value:  # strictly: an equal value later in the window loses
                    best = corner + offset
                    value = plane[best]
            dx[best] += delta
        planes.append(dx)
    return np.array(planes, dtype=np.float64).reshape(x.shape)


def _above_minus_infinity(x: FloatArray) -> bool:
    """Whether no input is -inf: then a -inf padding cell never ties with a real maximum."""
    return x.size == 0 or not bool(np.isneginf(np.minimum.reduce(x, axis=None)))


def _max_backward_padded_literal(
    dy: FloatArray, x: FloatArray, k: IntPair, s: IntPair, p: IntPair
) -> FloatArray:
    """Padded max-pool backward when an input is -inf: each window's first maximum among its real cells.

    A window whose real cells are all -inf sends its delta to the first of them, as
    PyTorch does (a -inf padding cell would tie with them). One window position at a time,
    every plane at once; only inputs holding -inf come here.
    """
    n, c, h, w = x.shape
    out_h, out_w = dy.shape[2:]
    dx = np.zeros(x.shape)
    planes_n, planes_c = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    for i in range(out_h):
        r0, r1 = max(0, i * s[0] - p[0]), min(h, i * s[0] - p[0] + k[0])
        for j in range(out_w):
            c0, c1 = max(0, j * s[1] - p[1]), min(w, j * s[1] - p[1] + k[1])
            best = max_positions(x[:, :, r0:r1, c0:c1])  # (N, C) index into the clipped window
            rows, cols = r0 + best // (c1 - c0), c0 + best % (c1 - c0)
            dx[planes_n, planes_c, rows, cols] += dy[:, :, i, j]
    return dx


def _all_finite(values: FloatArray) -> bool:
    """Whether no element is NaN or infinite (the extremes are finite; maximum and minimum keep NaN)."""
    if values.size == 0:
        return True
    return math.isfinite(float(np.maximum.reduce(values, axis=None))) and math.isfinite(
        float(np.minimum.reduce(values, axis=None))
    )


def _has_nan(values: FloatArray) -> bool:
    """Whether an element is NaN (a maximum with NaN in it is NaN; no overflow to guard against)."""
    return values.size > 0 and math.isnan(float(np.maximum.reduce(values, axis=None)))


def _tiled(x: FloatArray, k: IntPair, s: IntPair, out_hw: IntPair) -> bool:
    """Whether the windows cover every cell of ``x`` exactly once."""
    return s == k and (x.shape[2], x.shape[3]) == (out_hw[0] * k[0], out_hw[1] * k[1])


def _overlapping_2d(k: IntPair, s: IntPair) -> bool:
    """Whether windows of more than one row overlap (their max-pool backward uses a cell index)."""
    return k[0] > 1 and (s[0] < k[0] or s[1] < k[1])


def _pool_backward(
    dy: FloatArray, x: FloatArray, mode: str, k: IntPair, s: IntPair, out_hw: IntPair, dx: FloatArray
) -> None:
    """:func:`pool2d_backward` on checked arguments, written into ``dx`` (contents ignored)."""
    if mode == "avg":
        _spread_average(dy, k, s, out_hw, dx)
        return
    # Each route writes every cell of dx, zeroing those no window reads; one that gives up
    # (returns False) may have written some: the literal route below starts from zero.
    if k == (3, 3) and s == (2, 2) and _route_threes_two_apart(dy, x, out_hw, dx):
        return  # any deltas: each is added, never multiplied
    if _all_finite(dy):
        if k == (2, 2) and s == (2, 2) and _route_two_by_two(dy, x, out_hw, dx):
            return
        if _overlapping_2d(k, s):
            # one strided add per offset would cost more
            if _route_by_cell_index(dy, x, k, s, out_hw, dx):
                return
        elif _route_by_improvements(dy, x, k, s, out_hw, dx):
            return
    # Rare inputs (NaN inputs, infinite deltas): the loop twin's comparisons, literally.
    dx[...] = 0.0
    winner = max_positions(sliding_windows(x, k, s, (1, 1)))
    offsets = _offsets(k)
    for o in reversed(range(len(offsets))):  # window order, as in _route_by_improvements
        _slab(dx, *offsets[o], s, out_hw)[...] += np.where(winner == o, dy, 0.0)  # inf * 0 would be NaN


def _route_by_improvements(
    dy: FloatArray, x: FloatArray, k: IntPair, s: IntPair, out_hw: IntPair, dx: FloatArray
) -> bool:
    """Max-pool backward for finite deltas, into ``dx`` (every cell written).

    A sweep over the kernel offsets in row-major order records where a value is strictly
    greater than every earlier one of its window; the last such offset is the window's
    first maximum. Going back through the offsets, each takes the still pending deltas
    where it improved (``pending * 1`` or ``pending * 0``, exact) and leaves the rest.
    Backwards, the deltas reach a cell in the order of their windows, as in the loop
    twin, so overlapping windows add up to the last bit alike.

    Returns
    -------
    bool
        False (``dx`` untouched) when a window holds NaN: the running maximum would let
        it hide later values, where the loop twin skips it.
    """
    if k == (1, 3) and s[1] == 2 and x.flags.c_contiguous:
        if _has_nan(x):
            return False
        _place_row_windows(dy, _improvements_of_three(x, s[0], out_hw), 3, s, out_hw, dx)
        return True
    offsets = _offsets(k)
    slabs = [_slab(x, a, b, s, out_hw) for a, b in offsets]
    improves: list[NDArray[np.bool_]] = []
    best = slabs[0]
    for o in range(1, len(offsets)):
        improves.append(np.greater(slabs[o], best))  # strictly: an equal value later in the window loses
        if o == 1 and len(offsets) > 2:
            best = np.maximum(best, slabs[o])  # a new array: best was a view of x
        elif 1 < o < len(offsets) - 1:
            np.maximum(best, slabs[o], out=best)
    # A NaN in the last offset never wins, in the first it keeps winning: both as in the twin.
    if len(offsets) > 2 and _has_nan(best):
        return False
    if k[0] == 1 and s[1] < k[1] <= 2 * s[1]:
        _place_row_windows(dy, improves, k[1], s, out_hw, dx)
        return True
    if not _tiled(x, k, s, out_hw):
        dx[...] = 0.0  # tiled: every cell is written once below
    disjoint = s[0] >= k[0] and s[1] >= k[1]  # each input cell in at most one window
    pending = dy
    routed = np.empty(dy.shape)
    for o in range(len(offsets) - 1, 0, -1):
        target = _slab(dx, *offsets[o], s, out_hw)
        if disjoint:
            np.multiply(pending, improves[o - 1], out=target)
            if o == 1:  # what is still pending goes to the first offset
                np.subtract(pending, target, out=_slab(dx, *offsets[0], s, out_hw))
                return True
            pending = np.subtract(pending, target, out=routed if pending is dy else pending)
        else:
            np.multiply(pending, improves[o - 1], out=routed)
            target += routed
            pending = pending - routed if pending is dy else np.subtract(pending, routed, out=pending)
    first = _slab(dx, *offsets[0], s, out_hw)
    if disjoint:
        first[...] = pending  # a 1x1 window: the loop above did not run
    else:
        first += pending
    return True


def _improvements_of_three(x: FloatArray, sh: int, out_hw: IntPair) -> list[NDArray[np.bool_]]:
    """Where the 2nd and the 3rd cell of each one-row window of three, 2 apart, beat all before them.

    For ``x`` without NaN, C-contiguous: the comparisons of every cell with its next and
    its next but one, each one contiguous pass over the whole array (a strided comparison
    or maximum costs several), then every other one picked.

    Returns
    -------
    list of two C-contiguous bool arrays of shape (N, C, out_h, out_w)
        ``x1 > x0`` and ``x2 > max(x0, x1)``, i.e. ``x2 > x0 and x2 > x1``.
    """
    flat = x.reshape(-1)
    beats_previous = np.empty(x.shape, dtype=bool)  # x[t + 1] > x[t], at t
    second = beats_previous.reshape(-1)
    np.greater(flat[1:], flat[:-1], out=second[:-1])
    second[-1] = False  # never read: the last cell starts no window of three
    third = np.empty(x.shape, dtype=bool)  # x[t + 2] > x[t] and x[t + 2] > x[t + 1], at t
    third_flat = third.reshape(-1)
    np.greater(flat[2:], flat[:-2], out=third_flat[:-2])
    np.logical_and(third_flat[:-2], second[1:-1], out=third_flat[:-2])
    third_flat[-2:] = False
    out_h, out_w = out_hw

    def at_windows(cells: NDArray[np.bool_]) -> NDArray[np.bool_]:
        return np.ascontiguousarray(cells[..., 0 : sh * (out_h - 1) + 1 : sh, 0 : 2 * out_w - 1 : 2])

    return [at_windows(beats_previous), at_windows(third)]


def _place_row_windows(
    dy: FloatArray, improves: list[NDArray[np.bool_]], kw: int, s: IntPair, out_hw: IntPair, dx: FloatArray
) -> None:
    """Route the deltas of one-row windows that overlap at most pairwise (sW < kW <= 2 sW).

    The deltas are peeled off per offset as in :func:`_route_by_improvements`, into
    contiguous arrays. Offsets ``r`` and ``r + sW`` land on the same input cells, one
    window apart: their shares are added in one pass that stores into the cells of
    residue ``r`` (two terms, so in either order exactly the twin's sum), instead of one
    strided read-modify-write per offset.
    """
    sh, sw = s
    out_h, ow = out_hw
    shares: list[FloatArray] = [dy] * kw
    pending = dy
    for o in range(kw - 1, 0, -1):
        shares[o] = pending * improves[o - 1]  # exact: pending * 1 or pending * 0
        pending = pending - shares[o]
    shares[0] = pending
    rows = dx[..., : sh * (out_h - 1) + 1 : sh, :]
    if sh > 1:
        dx[...] = 0.0  # the rows between window rows
    else:
        rows[..., sw * (ow - 1) + kw :] = 0.0  # the columns after the last window
    for r in range(sw):
        cells = rows[..., r::sw]
        if r + sw < kw:
            first, second = shares[r], shares[r + sw]
            # cell r + sW*j: window j at offset r, window j - 1 at offset r + sW
            cells[..., 0] = first[..., 0]
            np.add(second[..., :-1], first[..., 1:], out=cells[..., 1:ow])
            cells[..., ow] = second[..., ow - 1]
        elif r < kw:
            cells[..., :ow] = shares[r]


def _route_by_cell_index(
    dy: FloatArray, x: FloatArray, k: IntPair, s: IntPair, out_hw: IntPair, dx: FloatArray
) -> bool:
    """Max-pool backward for finite deltas and overlapping windows, into ``dx`` (every cell written).

    Finds each window's first maximum, then adds every delta onto its cell in one pass:
    bincount sums the deltas in window order, as the loop twin does.

    Returns
    -------
    bool
        False (``dx`` untouched) when an input is NaN.
    """
    offset = _first_max_offsets(np.ascontiguousarray(x), k, s, out_hw)
    if offset is None:
        return False
    n, c, h, w = x.shape
    (sh, sw), (out_h, out_w) = s, out_hw
    corner = (np.arange(out_h, dtype=np.intp) * (sh * w))[:, None] + np.arange(out_w, dtype=np.intp) * sw
    cell = np.add(offset, corner, dtype=np.intp)  # each window's top-left cell in its plane, plus the offset
    cell += (np.arange(n * c, dtype=np.intp) * (h * w)).reshape(n, c, 1, 1)
    dx.reshape(-1)[...] = np.bincount(cell.reshape(-1), weights=dy.reshape(-1), minlength=x.size)
    return True


def _first_max_offsets(x: FloatArray, k: IntPair, s: IntPair, out_hw: IntPair) -> NDArray[np.int32] | None:
    """``a*W + b`` for each window's first maximum ``(a, b)`` in row-major order, or None if an input is NaN.

    Separable, as the forward: first, at every cell t of the C-contiguous ``x`` taken
    flat, the maximum of ``x[t : t + kW]`` and the column of its first maximum (kW - 1
    comparisons and maxima over the whole array, each one contiguous pass, windows and
    not); then, at the windows' top-left cells only, the first of the kH rows whose
    maximum is strictly greater than the rows' before it, and that row's column. The
    first maximum in row-major order is the first maximum of the first row holding the
    window's maximum, so this is the loop twin's choice, ties included.

    Returns
    -------
    ndarray of int32 of shape (N, C, out_h, out_w), or None
    """
    (kh, kw), (sh, sw), (out_h, out_w) = k, s, out_hw
    w = x.shape[3]
    flat = x.reshape(-1)
    span = flat.size - (kw - 1)  # the cells t with x[t + kW - 1] in the array
    best = flat if kw == 1 else np.empty(flat.size)  # best[t] = max(x[t : t + kW]); past span never read
    column = np.zeros(flat.size, dtype=np.int8)  # the column of its first maximum
    greater = np.empty(span, dtype=bool)
    for b in range(1, kw):
        values, before = flat[b : b + span], flat[:span] if b == 1 else best[:span]
        np.greater(values, before, out=greater)  # strictly: an equal value later in the row loses
        if b == 1:
            column[:span] = greater.view(np.int8)
        else:  # the latest strict improvement is the largest candidate column (they only grow)
            np.maximum(column[:span], np.multiply(greater.view(np.int8), np.int8(b)), out=column[:span])
        np.maximum(before, values, out=best[:span])
    if _has_nan(best[:span]):
        return None

    def at_windows(cells: NDArray[Any], a: int) -> NDArray[Any]:
        """Row a of every window at its first column, ``cells[..., i*sH + a, j*sW]``, C-contiguous.

        Copied, shape (N, C, oh, ow): the passes below then run over contiguous arrays
        (a pass over a view with two strides costs several copies).
        """
        cells = cells.reshape(x.shape)
        return np.ascontiguousarray(
            cells[..., a : a + sh * (out_h - 1) + 1 : sh, 0 : sw * (out_w - 1) + 1 : sw]
        )

    offset = at_windows(column, 0).astype(np.int32)
    row_best = at_windows(best, 0)
    for a in range(1, kh):
        values = at_windows(best, a)
        improves = np.greater(values, row_best)  # strictly: a later row with the same maximum loses
        # a*W + column > any offset in rows before a (column < kW <= W): the latest improvement is the largest
        candidate = np.add(at_windows(column, a), np.int32(a * w), dtype=np.int32)
        np.multiply(candidate, improves, out=candidate)
        np.maximum(offset, candidate, out=offset)
        if a < kh - 1:
            row_best = np.maximum(row_best, values) if a == 1 else np.maximum(row_best, values, out=row_best)
    return offset


def _route_threes_two_apart(dy: FloatArray, x: FloatArray, out_hw: IntPair, dx: FloatArray) -> bool:
    """Max-pool backward for 3x3 windows with stride 2, into ``dx`` (every cell written).

    The input is first split by the parity of its rows and columns into a grid of
    (oh + 1) x (ow + 1) cells per plane (one strided copy): cell ``(i, j)`` of parity
    ``(r, q)`` is ``x[2i + r, 2j + q]``. Window ``(i, j)`` reads columns 2j, 2j + 1 and
    2j + 2, i.e. grid cells ``(i, j)`` of parity 0 and 1 and ``(i, j + 1)`` of parity 0:
    neighbours in one contiguous array, so each comparison and maximum below is one
    contiguous pass, as :func:`_first_max_offsets` finds the first maximum (per row
    first, then the first of the three rows with the largest maximum; ties to the first).
    Each delta is then added onto its window's winning cell by ``np.add.at``, in window
    order: the loop twin's sums to the last bit, for any deltas (infinite ones included).

    Returns
    -------
    bool
        False (``dx`` untouched) when an input the grid holds is NaN, or ``dx`` is not C-contiguous.
    """
    if not dx.flags.c_contiguous:  # never so from _by_planes: the cells are added through a flat view
        return False
    n, c, h, w = x.shape
    oh, ow = out_hw
    gh, gw = oh + 1, ow + 1  # h is 2 oh + 1 or 2 oh + 2, w likewise
    planes, cells = n * c, (oh + 1) * (ow + 1)
    # grid[q, r, plane, i, j] = x[plane, 2i + r, 2j + q]
    grid = np.empty((2, 2, planes, gh, gw))
    if (h, w) != (2 * gh, 2 * gw):
        # An odd height or width: the missing row or column (read by no window) as -inf.
        even = np.full((planes, 2 * gh, 2 * gw), -np.inf)
        even[:, :h, :w] = x.reshape(planes, h, w)
        x = even
    np.copyto(grid.transpose(2, 3, 1, 4, 0), x.reshape(planes, gh, 2, gw, 2))
    first, second = grid[0].reshape(-1), grid[1].reshape(-1)  # columns 2j and 2j + 1; 2j + 2 is first[t + 1]
    # In each row (of both parities), the column 0, 1 or 2 of the first maximum of the three.
    second_wins = np.greater(second, first)  # strictly: an equal value later in the row loses
    row_best = np.maximum(first, second, out=second)  # in place: less memory to go through
    third_wins = np.empty(first.size, dtype=bool)
    np.greater(first[1:], row_best[:-1], out=third_wins[:-1])
    third_wins[-1] = False  # a row's last grid cell starts no window
    np.maximum(row_best[:-1], first[1:], out=row_best[:-1])
    column = np.add(third_wins.view(np.int8), third_wins.view(np.int8))
    np.maximum(column, second_wins.view(np.int8), out=column)
    # The rows 2i (parity 0 at i), 2i + 1 (parity 1 at i) and 2i + 2 (parity 0 at i + 1: one grid row on).
    g = planes * cells
    top, middle, bottom = row_best[:g], row_best[g:], row_best[gw : g + gw]
    middle_wins = np.greater(middle, top)  # strictly: a later row with the same maximum loses
    best = np.maximum(top, middle, out=first[:g])  # the columns 2j are read no more
    if _has_nan(best):  # every grid cell is in some row's maximum
        return False
    bottom_wins = np.greater(bottom, best)
    # Each window's first maximum: its row a (0, 1 or 2) and that row's column b, as int8.
    middle_row, bottom_row = middle_wins.view(np.int8), bottom_wins.view(np.int8)
    row = np.add(bottom_row, bottom_row)
    np.maximum(row, middle_row, out=row)
    col = column[:g].copy()  # the top row's, replaced by the middle row's, then by the bottom row's
    change = np.subtract(column[g:], col)
    np.multiply(change, middle_row, out=change)
    np.add(col, change, out=col)
    np.subtract(column[gw : g + gw], col, out=change)
    np.multiply(change, bottom_row, out=change)
    np.add(col, change, out=col)

    # The winning cell's index in dx, at every grid cell; the grid's last row and column
    # start no window: their deltas are 0 and land in their own plane (x + 0.0 is x).
    index = np.int32 if x.size < 2**31 else np.intp
    winner = np.multiply(row, w, dtype=index)
    np.add(winner, col, out=winner)
    cell = np.add(winner.reshape(planes, cells), _grid_corners(planes, gh, gw, h, w))
    deltas = np.zeros((planes, gh, gw))
    deltas[:, :oh, :ow] = dy.reshape(planes, oh, ow)
    flat = dx.reshape(-1)  # a view: dx is C-contiguous
    flat[...] = 0.0
    np.add.at(flat, cell.reshape(-1), deltas.reshape(-1))  # in window order
    return True


def _grid_corners(planes: int, gh: int, gw: int, h: int, w: int) -> NDArray[np.intp]:
    """The index in (planes, h, w) of the top-left cell of each grid cell's window, shape (planes, gh*gw).

    Window (i, j) of plane p starts at ``p*h*w + 2i*w + 2j``; the grid's last row and
    column (i = gh - 1 or j = gw - 1) hold no window and point at their plane's first cell.
    """
    return np.add(_plane_corners(gh, gw, w), (np.arange(planes, dtype=np.intp) * (h * w))[:, None])


@functools.lru_cache(maxsize=64)
def _plane_corners(gh: int, gw: int, w: int) -> NDArray[np.intp]:
    """:func:`_grid_corners` within one plane, shape (gh*gw,), read-only."""
    corners = (np.arange(gh, dtype=np.intp) * (2 * w))[:, None] + np.arange(gw, dtype=np.intp) * 2
    corners[-1, :] = 0
    corners[:, -1] = 0
    corners.flags.writeable = False
    return corners.reshape(-1)


def _route_two_by_two(dy: FloatArray, x: FloatArray, out_hw: IntPair, dx: FloatArray) -> bool:
    """Max-pool backward for finite deltas, 2x2 windows with stride 2, into ``dx`` (every cell written).

    Row by row: in each window row the right cell wins only if strictly greater than the
    left one, and the bottom row only if its maximum is strictly greater than the top's.
    That is the first maximum in row-major order, as in the loop twin, in seven passes
    over mostly contiguous memory instead of a sweep over the four offsets.

    Returns
    -------
    bool
        False when an input is NaN (the row maxima would let it win); the literal route
        of :func:`_pool_backward` then starts ``dx`` afresh.
    """
    n, c = x.shape[:2]
    oh, ow = out_hw
    if not _tiled(x, (2, 2), (2, 2), out_hw):
        dx[...] = 0.0  # the last row or column, when odd
    # (n, c, oh, 2, ow, 2): window row a and column b of every window, a view
    cells = x[:, :, : 2 * oh, : 2 * ow].reshape(n, c, oh, 2, ow, 2)
    right_wins = np.greater(cells[..., 1], cells[..., 0])  # (n, c, oh, 2, ow)
    row_max = np.maximum(cells[..., 0], cells[..., 1])
    if _has_nan(row_max):
        return False
    bottom_wins = np.greater(row_max[:, :, :, 1], row_max[:, :, :, 0])  # (n, c, oh, ow)
    row_deltas = np.empty(row_max.shape)  # each window's delta on its winning row, zero on the other
    np.multiply(dy, bottom_wins, out=row_deltas[:, :, :, 1])  # exact: dy * 1 or dy * 0
    np.subtract(dy, row_deltas[:, :, :, 1], out=row_deltas[:, :, :, 0])  # dy - dy is 0
    target = dx[:, :, : 2 * oh, : 2 * ow].reshape(n, c, oh, 2, ow, 2)
    np.multiply(row_deltas, right_wins, out=target[..., 1])
    np.subtract(row_deltas, target[..., 1], out=target[..., 0])
    return True


def _twin_window(
    x: FloatArray, size: PoolSize, stride: Size | None, padding: Size
) -> tuple[IntPair, IntPair, IntPair]:
    """The loop twins' own reading of size, stride and padding."""
    if size == "global":
        return (x.shape[2], x.shape[3]), (x.shape[2], x.shape[3]), (0, 0)
    assert not isinstance(size, str)
    k = as_pair(size)
    return k, k if stride is None else as_pair(stride), as_pair(padding)


def pool2d_forward_naive(
    x: FloatArray, mode: str = "max", size: PoolSize = 2, stride: Size | None = None, padding: Size = 0
) -> FloatArray:
    """Loop twin of :func:`pool2d_forward`: a padding cell is -inf (max) or a zero that counts (avg)."""
    x = np.asarray(x, dtype=np.float64)
    k, s, p = _twin_window(x, size, stride, padding)
    n_batch, channels, h, w = x.shape
    out_h = (h + 2 * p[0] - k[0]) // s[0] + 1
    out_w = (w + 2 * p[1] - k[1]) // s[1] + 1
    y = np.zeros((n_batch, channels, out_h, out_w))
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    values = []
                    for a in range(k[0]):
                        for b in range(k[1]):
                            row, col = i * s[0] + a - p[0], j * s[1] + b - p[1]
                            inside = 0 <= row < h and 0 <= col < w
                            values.append(
                                x[n, c, row, col] if inside else (-math.inf if mode == "max" else 0.0)
                            )
                    y[n, c, i, j] = max(values) if mode == "max" else sum(values) / len(values)
    return y


def pool2d_backward_naive(
    dy: FloatArray,
    x: FloatArray,
    mode: str = "max",
    size: PoolSize = 2,
    stride: Size | None = None,
    padding: Size = 0,
) -> FloatArray:
    """Loop twin of :func:`pool2d_backward`: route each window's delta by hand.

    Max: the first of the window's real cells, replaced by each later one strictly
    greater. Avg: ``delta / (kH*kW)`` to each of its real cells (the padding's shares
    go nowhere).
    """
    dy = np.asarray(dy, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    k, s, p = _twin_window(x, size, stride, padding)
    dx = np.zeros_like(x)
    n_batch, channels, out_h, out_w = dy.shape
    h, w = x.shape[2:]
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    cells = [
                        (i * s[0] + a - p[0], j * s[1] + b - p[1]) for a in range(k[0]) for b in range(k[1])
                    ]
                    real = [(row, col) for row, col in cells if 0 <= row < h and 0 <= col < w]
                    if mode == "max":
                        best = real[0]
                        for cell in real[1:]:
                            if x[n, c, cell[0], cell[1]] > x[n, c, best[0], best[1]]:
                                best = cell  # strictly greater: ties keep the first
                        dx[n, c, best[0], best[1]] += dy[n, c, i, j]
                    else:
                        for row, col in real:
                            dx[n, c, row, col] += dy[n, c, i, j] / len(cells)
    return dx


def _size_1d(size: Size | None, name: str) -> IntPair | None:
    return None if size is None else setting_1d(size, name, 1, "pool")


def _kernel_1d(size: PoolSize) -> IntPair | str:
    if isinstance(size, str):
        return size  # "global": the whole (1, L) plane
    k = _size_1d(size, "size")
    assert k is not None
    return k


def _padding_1d(padding: Size) -> IntPair:
    return setting_1d(padding, "padding", 0, "pool")


def pool1d_forward(
    x: FloatArray, mode: str = "max", size: PoolSize = 2, stride: Size | None = None, padding: Size = 0
) -> FloatArray:
    """1-D pooling of ``x`` of shape (N, C, L); returns (N, C, out_L) (``size="global"``: (N, C, 1))."""
    return rows_1d(
        pool2d_forward,
        (x,),
        "input must have shape (N, C, L)",
        mode,
        _kernel_1d(size),
        _size_1d(stride, "stride"),
        _padding_1d(padding),
    )


def pool1d_backward(
    dy: FloatArray,
    x: FloatArray,
    mode: str = "max",
    size: PoolSize = 2,
    stride: Size | None = None,
    padding: Size = 0,
) -> FloatArray:
    """Gradient of :func:`pool1d_forward`: dy (N, C, out_L), x (N, C, L) -> (N, C, L)."""
    return rows_1d(
        pool2d_backward,
        (dy, x),
        "expected 3-D dy and x",
        mode,
        _kernel_1d(size),
        _size_1d(stride, "stride"),
        _padding_1d(padding),
    )

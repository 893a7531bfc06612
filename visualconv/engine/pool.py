"""Max and average pooling: forward, backward and loop twins.

Pooling uses the same window view as convolution. Windows may overlap
(stride < size); their gradients add up. Max pooling routes a window's whole delta
to the first maximal element in row-major order, as PyTorch does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .windows import FloatArray, IntPair, as_pair, output_shape, scatter_windows, sliding_windows

Size = int | Sequence[int]
POOL_MODES = ("max", "avg")


def _geometry(x: FloatArray, mode: str, size: Size, stride: Size | None) -> tuple[IntPair, IntPair]:
    if mode not in POOL_MODES:
        raise ValueError(f"pool mode must be 'max' or 'avg', got {mode!r}")
    if x.ndim != 4:
        raise ValueError(f"input must have shape (N, C, H, W), got {x.shape}")
    k = as_pair(size, "size")
    s = k if stride is None else as_pair(stride, "stride")
    if min(k) < 1 or min(s) < 1:
        raise ValueError(f"pool size and stride must be >= 1, got {k}, {s}")
    out_h, out_w = output_shape((x.shape[2], x.shape[3]), k, s, (0, 0), (1, 1))
    if out_h < 1 or out_w < 1:
        raise ValueError(f"pool window {k} is larger than the input {x.shape[2:]}")
    return k, s


def max_positions(windows: FloatArray) -> NDArray[np.intp]:
    """Row-major index of the first maximum inside each window.

    Parameters
    ----------
    windows : ndarray of shape (..., kH, kW)

    Returns
    -------
    ndarray of int of shape (...)
        ``argmax`` over the flattened kH*kW window; ties go to the first.
    """
    kh, kw = windows.shape[-2:]
    flat = windows.reshape(*windows.shape[:-2], kh * kw)
    return np.argmax(flat, axis=-1)


def pool2d_forward(
    x: FloatArray, mode: str = "max", size: Size = 2, stride: Size | None = None
) -> FloatArray:
    """Max or average pooling.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    mode : {"max", "avg"}
    size : int or (int, int)
    stride : int or (int, int) or None
        None means ``size`` (non-overlapping windows).

    Returns
    -------
    ndarray of shape (N, C, out_h, out_w)
    """
    x = np.asarray(x, dtype=np.float64)
    k, s = _geometry(x, mode, size, stride)
    windows = sliding_windows(x, k, s, (1, 1))
    if mode == "max":
        return np.ascontiguousarray(windows.max(axis=(4, 5)))
    return np.ascontiguousarray(windows.mean(axis=(4, 5)))


def pool2d_backward(
    dy: FloatArray, x: FloatArray, mode: str = "max", size: Size = 2, stride: Size | None = None
) -> FloatArray:
    """Gradient of :func:`pool2d_forward` with respect to its input.

    Parameters
    ----------
    dy : ndarray of shape (N, C, out_h, out_w)
    x : ndarray of shape (N, C, H, W)
    mode, size, stride
        As for :func:`pool2d_forward`.

    Returns
    -------
    ndarray of shape (N, C, H, W)
        Max: each delta lands on its window's recorded maximum. Avg: each delta is
        spread evenly, ``delta / (kH*kW)`` to every cell of its window.
    """
    dy = np.asarray(dy, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    k, s = _geometry(x, mode, size, stride)
    windows = sliding_windows(x, k, s, (1, 1))
    if dy.shape != windows.shape[:4]:
        raise ValueError(f"dy must have shape {windows.shape[:4]}, got {dy.shape}")
    if mode == "max":
        mask = np.zeros(windows.shape[:4] + (k[0] * k[1],))
        np.put_along_axis(mask, max_positions(windows)[..., None], 1.0, axis=-1)
        window_grads = mask.reshape(windows.shape) * dy[..., None, None]
    else:
        window_grads = np.broadcast_to((dy / (k[0] * k[1]))[..., None, None], windows.shape)
    return scatter_windows(window_grads, x.shape, s, (1, 1))


def pool2d_forward_naive(
    x: FloatArray, mode: str = "max", size: Size = 2, stride: Size | None = None
) -> FloatArray:
    """Loop twin of :func:`pool2d_forward`."""
    x = np.asarray(x, dtype=np.float64)
    k, s = _geometry(x, mode, size, stride)
    n_batch, channels, h, w = x.shape
    out_h, out_w = output_shape((h, w), k, s, (0, 0), (1, 1))
    y = np.zeros((n_batch, channels, out_h, out_w))
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    values = [
                        x[n, c, i * s[0] + a, j * s[1] + b] for a in range(k[0]) for b in range(k[1])
                    ]
                    y[n, c, i, j] = max(values) if mode == "max" else sum(values) / len(values)
    return y


def pool2d_backward_naive(
    dy: FloatArray, x: FloatArray, mode: str = "max", size: Size = 2, stride: Size | None = None
) -> FloatArray:
    """Loop twin of :func:`pool2d_backward`: route each window's delta by hand."""
    dy = np.asarray(dy, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    k, s = _geometry(x, mode, size, stride)
    dx = np.zeros_like(x)
    n_batch, channels, out_h, out_w = dy.shape
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    cells = [(i * s[0] + a, j * s[1] + b) for a in range(k[0]) for b in range(k[1])]
                    if mode == "max":
                        best = cells[0]
                        for cell in cells[1:]:
                            if x[n, c, cell[0], cell[1]] > x[n, c, best[0], best[1]]:
                                best = cell  # strictly greater: ties keep the first
                        dx[n, c, best[0], best[1]] += dy[n, c, i, j]
                    else:
                        for row, col in cells:
                            dx[n, c, row, col] += dy[n, c, i, j] / len(cells)
    return dx


def _size_1d(size: Size | None, name: str) -> IntPair | None:
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        return 1, int(size)
    items = tuple(int(v) for v in size)
    if len(items) != 1:
        raise ValueError(f"{name} of a 1-D pool must be one int, got {size!r}")
    return 1, items[0]


def pool1d_forward(
    x: FloatArray, mode: str = "max", size: Size = 2, stride: Size | None = None
) -> FloatArray:
    """1-D pooling of ``x`` of shape (N, C, L); returns (N, C, out_L)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"input must have shape (N, C, L), got {x.shape}")
    k = _size_1d(size, "size")
    assert k is not None
    return pool2d_forward(x[:, :, None, :], mode, k, _size_1d(stride, "stride"))[:, :, 0, :]


def pool1d_backward(
    dy: FloatArray, x: FloatArray, mode: str = "max", size: Size = 2, stride: Size | None = None
) -> FloatArray:
    """Gradient of :func:`pool1d_forward`: dy (N, C, out_L), x (N, C, L) -> (N, C, L)."""
    dy = np.asarray(dy, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or dy.ndim != 3:
        raise ValueError(f"expected 3-D dy and x, got {dy.shape}, {x.shape}")
    k = _size_1d(size, "size")
    assert k is not None
    dx = pool2d_backward(dy[:, :, None, :], x[:, :, None, :], mode, k, _size_1d(stride, "stride"))
    return dx[:, :, 0, :]

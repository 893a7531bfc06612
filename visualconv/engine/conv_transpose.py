"""Transposed convolution (as ``torch.nn.functional.conv_transpose1d/2d``): forward and backward.

A transposed convolution is the input gradient of a convolution run forwards: every
input element stamps ``value * kernel`` into the output window it covers, and
overlapping stamps add up. So its forward is the scatter of a convolution's backward
(one matrix product to per-window stamps, then one strided slab add per kernel offset,
:func:`.windows.scatter_windows`), and its backward gathers: dX is the convolution of dY
with the same kernel, dW the contraction of X with dY's windows. Each kernel has a
``*_naive`` loop twin that stamps one input element at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .conv import check_groups
from .windows import (
    FloatArray,
    IntPair,
    as_pair,
    crop,
    rows_1d,
    rows_1d_grads,
    scatter_windows,
    setting_1d,
    shape4,
    strided_view,
)

Size = int | Sequence[int]


def transposed_length(
    n: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int:
    """Output length along one axis: ``(n - 1)s - 2p + d(k - 1) + output_padding + 1``, as PyTorch."""
    return (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def transposed_geometry(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    stride: Size,
    padding: Size,
    output_padding: Size,
    dilation: Size,
    groups: int,
) -> tuple[IntPair, IntPair, IntPair, IntPair, IntPair, IntPair]:
    """Check a transposed convolution's arguments as PyTorch does; its geometry.

    Parameters
    ----------
    x_shape : (N, C_in, H, W)
    w_shape : (C_in, C_out / groups, kH, kW)
    stride, padding, output_padding, dilation : int or (int, int)
    groups : int

    Returns
    -------
    kernel, stride, padding, output_padding, dilation, out_hw : (int, int) each

    Raises
    ------
    ValueError
        Naming the argument and what was expected (``output_padding`` must be smaller
        than the stride or the dilation of its axis, ``groups`` must divide the channels).
    """
    if len(x_shape) != 4:
        raise ValueError(f"input must have shape (N, C_in, H, W), got {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"weight must have shape (C_in, C_out / groups, kH, kW), got {w_shape}")
    c_in = x_shape[1]
    check_groups(groups, w_shape[0], w_shape[1] * groups)
    if w_shape[0] != c_in:
        raise ValueError(f"input has {c_in} channels but the weight expects {w_shape[0]}")
    kernel = (int(w_shape[2]), int(w_shape[3]))
    s, p = as_pair(stride, "stride"), as_pair(padding, "padding")
    op, d = as_pair(output_padding, "output_padding"), as_pair(dilation, "dilation")
    if min(s) < 1 or min(d) < 1 or min(p) < 0 or min(op) < 0:
        raise ValueError(
            f"stride and dilation must be >= 1, padding and output_padding >= 0, got {s}, {d}, {p}, {op}"
        )
    for axis in range(2):
        if op[axis] >= max(s[axis], d[axis]):
            raise ValueError(
                f"output_padding {op[axis]} must be smaller than the stride {s[axis]} "
                f"or the dilation {d[axis]} of its axis"
            )
    out_hw = (
        transposed_length(x_shape[2], kernel[0], s[0], p[0], op[0], d[0]),
        transposed_length(x_shape[3], kernel[1], s[1], p[1], op[1], d[1]),
    )
    if min(out_hw) < 1:
        raise ValueError(f"padding {p} leaves no output: the output would be {out_hw}")
    return kernel, s, p, op, d, out_hw


def conv_transpose2d_forward(
    x: FloatArray,
    w: FloatArray,
    b: FloatArray | None = None,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> FloatArray:
    """Transposed 2-D convolution, as ``torch.nn.functional.conv_transpose2d``.

    Parameters
    ----------
    x : ndarray of shape (N, C_in, H, W)
    w : ndarray of shape (C_in, C_out / groups, kH, kW)
    b : ndarray of shape (C_out,) or None
    stride, padding, output_padding, dilation : int or (int, int)
        ``padding`` removes that many cells from both sides of the output;
        ``output_padding`` adds cells to the bottom/right only.
    groups : int

    Returns
    -------
    ndarray of shape (N, C_out, out_h, out_w)
        ``y[n, g*F_g + f, i*sh + a*dh - ph, j*sw + b*dw - pw] += x[n, c, i, j] * w[c, f, a, b]``
        for every input element (c in group g, F_g = C_out / groups), plus ``b``.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    kernel, s, p, _, d, out_hw = transposed_geometry(
        x.shape, w.shape, stride, padding, output_padding, dilation, groups
    )
    n_batch, c_in, h, wid = shape4(x)
    c_out = w.shape[1] * groups
    if b is not None:
        b = np.asarray(b, dtype=np.float64)
        if b.shape != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},), got {b.shape}")
    kh, kw = kernel
    # (G, C_in/G, F_g*kH*kW) -> per group the stamps: (F_g*kH*kW, C_in/G) @ (C_in/G, H*W)
    per_group = w.reshape(groups, c_in // groups, -1).transpose(0, 2, 1)
    inputs = np.ascontiguousarray(x).reshape(n_batch, groups, c_in // groups, h * wid)
    stamps = np.matmul(per_group, inputs)  # (N, G, F_g*kH*kW, H*W)
    # as per-window gradients (N, C_out, H, W, kH, kW): input element (i, j) is window (i, j)
    windows = stamps.reshape(n_batch, c_out, kh, kw, h, wid).transpose(0, 1, 4, 5, 2, 3)
    padded_shape = (n_batch, c_out, out_hw[0] + 2 * p[0], out_hw[1] + 2 * p[1])
    y = scatter_windows(windows, padded_shape, s, d)
    if p != (0, 0):
        y = np.ascontiguousarray(crop(y, p))
    if b is not None:
        y += b[:, None, None]
    return y


def _output_windows(
    dy: FloatArray, kernel: IntPair, s: IntPair, p: IntPair, d: IntPair, in_hw: IntPair
) -> FloatArray:
    """The cells of dY each input element stamped, as columns (N, C_out*kH*kW, H*W).

    ``columns[n, (f*kH + a)*kW + b, i*W + j] == dy_padded[n, f, i*sh + a*dh, j*sw + b*dw]``:
    dY zero-padded by ``padding`` (the cells the forward cropped held nothing).
    """
    n_batch, c_out, oh, ow = shape4(dy)
    dy_padded = np.zeros((n_batch, c_out, oh + 2 * p[0], ow + 2 * p[1]))
    dy_padded[:, :, p[0] : p[0] + oh, p[1] : p[1] + ow] = dy
    s_n, s_c, s_h, s_w = dy_padded.strides
    (kh, kw), (h, w) = kernel, in_hw
    view = strided_view(
        dy_padded,
        (n_batch, c_out, kh, kw, h, w),
        (s_n, s_c, s_h * d[0], s_w * d[1], s_h * s[0], s_w * s[1]),
    )
    return view.reshape(n_batch, c_out * kh * kw, h * w)  # one copy, in C order


def conv_transpose2d_backward(
    dy: FloatArray,
    x: FloatArray,
    w: FloatArray,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gradients of :func:`conv_transpose2d_forward` given dL/dy.

    Parameters
    ----------
    dy : ndarray of shape (N, C_out, out_h, out_w)
    x : ndarray of shape (N, C_in, H, W)
    w : ndarray of shape (C_in, C_out / groups, kH, kW)
    stride, padding, output_padding, dilation, groups
        As for :func:`conv_transpose2d_forward`.

    Returns
    -------
    dx : ndarray of shape (N, C_in, H, W)
        ``dx[n, c, i, j] = sum_{f,a,b} w[c, f, a, b] * dy[n, f, i*sh + a*dh - ph, j*sw + b*dw - pw]``:
        each input element gathers from the output window it stamped (a convolution of dY).
    dw : ndarray of shape (C_in, C_out / groups, kH, kW)
        ``sum x[n, c, i, j] * dy[...]`` over the same cells.
    db : ndarray of shape (C_out,)
        The sum of ``dy`` over batch and positions.
    """
    dy = np.asarray(dy, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    kernel, s, p, _, d, out_hw = transposed_geometry(
        x.shape, w.shape, stride, padding, output_padding, dilation, groups
    )
    n_batch, c_in, h, wid = shape4(x)
    c_out = w.shape[1] * groups
    if dy.shape != (n_batch, c_out, *out_hw):
        raise ValueError(f"dy must have shape {(n_batch, c_out, *out_hw)}, got {dy.shape}")
    rows = c_out // groups * kernel[0] * kernel[1]
    columns = _output_windows(dy, kernel, s, p, d, (h, wid)).reshape(n_batch, groups, rows, h * wid)
    per_group = w.reshape(groups, c_in // groups, rows)  # (G, C_in/G, F_g*kH*kW)
    dx = np.matmul(per_group, columns).reshape(x.shape)
    inputs = np.ascontiguousarray(x).reshape(n_batch, groups, c_in // groups, h * wid)
    dw = np.matmul(inputs, columns.transpose(0, 1, 3, 2)).sum(axis=0).reshape(w.shape)
    return dx, dw, dy.sum(axis=(0, 2, 3))


def conv_transpose2d_forward_naive(
    x: FloatArray,
    w: FloatArray,
    b: FloatArray | None = None,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> FloatArray:
    """Loop twin of :func:`conv_transpose2d_forward`: one input element's stamp at a time."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n_batch, c_in, h, wid = x.shape
    _, f_group, kh, kw = w.shape
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    (oph, opw), (dh, dw) = as_pair(output_padding), as_pair(dilation)
    out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    out_w = (wid - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    c_out = f_group * groups
    y = np.zeros((n_batch, c_out, out_h, out_w))
    for n in range(n_batch):
        for c in range(c_in):
            first = (c // (c_in // groups)) * f_group
            for i in range(h):
                for j in range(wid):
                    for f in range(f_group):
                        for a in range(kh):
                            for bb in range(kw):
                                row, col = i * sh + a * dh - ph, j * sw + bb * dw - pw
                                if 0 <= row < out_h and 0 <= col < out_w:
                                    y[n, first + f, row, col] += x[n, c, i, j] * w[c, f, a, bb]
    if b is not None:
        for f in range(c_out):
            y[:, f] += b[f]
    return y


def conv_transpose2d_backward_naive(
    dy: FloatArray,
    x: FloatArray,
    w: FloatArray,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Loop twin of :func:`conv_transpose2d_backward`: each input element gathers from its stamp."""
    dy = np.asarray(dy, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n_batch, c_in, h, wid = x.shape
    _, f_group, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw_) = as_pair(stride), as_pair(padding), as_pair(dilation)
    out_h, out_w = dy.shape[2], dy.shape[3]
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for n in range(n_batch):
        for c in range(c_in):
            first = (c // (c_in // groups)) * f_group
            for i in range(h):
                for j in range(wid):
                    for f in range(f_group):
                        for a in range(kh):
                            for bb in range(kw):
                                row, col = i * sh + a * dh - ph, j * sw + bb * dw_ - pw
                                if 0 <= row < out_h and 0 <= col < out_w:
                                    delta = dy[n, first + f, row, col]
                                    dx[n, c, i, j] += w[c, f, a, bb] * delta
                                    dw[c, f, a, bb] += x[n, c, i, j] * delta
    db = np.zeros(dy.shape[1])
    for f in range(dy.shape[1]):
        for n in range(n_batch):
            for row in range(out_h):
                for col in range(out_w):
                    db[f] += dy[n, f, row, col]
    return dx, dw, db


def conv_transpose1d_forward(
    x: FloatArray,
    w: FloatArray,
    b: FloatArray | None = None,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> FloatArray:
    """Transposed 1-D convolution, as ``torch.nn.functional.conv_transpose1d``, with int settings.

    x (N, C_in, L), w (C_in, C_out / groups, K), b (C_out,) or None
    -> (N, C_out, (L - 1)s - 2p + d(K - 1) + output_padding + 1).
    """
    return rows_1d(
        conv_transpose2d_forward,
        (x, w),
        "expected x (N, C, L) and w (C_in, C_out / groups, K)",
        b,
        setting_1d(stride, "stride", 1),
        setting_1d(padding, "padding", 0),
        setting_1d(output_padding, "output_padding", 0),
        setting_1d(dilation, "dilation", 1),
        groups,
    )


def conv_transpose1d_backward(
    dy: FloatArray,
    x: FloatArray,
    w: FloatArray,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gradients of :func:`conv_transpose1d_forward`.

    dy (N, C_out, out_L) -> dx (N, C_in, L), dw (C_in, C_out / groups, K), db (C_out,).
    """
    return rows_1d_grads(
        conv_transpose2d_backward,
        (dy, x, w),
        "expected 3-D dy, x and w",
        setting_1d(stride, "stride", 1),
        setting_1d(padding, "padding", 0),
        setting_1d(output_padding, "output_padding", 0),
        setting_1d(dilation, "dilation", 1),
        groups,
    )

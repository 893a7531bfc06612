"""Padding, sliding windows and output-size arithmetic shared by conv and pool.

Everything here works on 2-D spatial data laid out (N, C, H, W). One-dimensional
layers are run as 2-D layers with H = 1, so a single windowing helper serves both
convolution and pooling in both dimensionalities.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

IntPair = tuple[int, int]


def shape4(x: FloatArray) -> tuple[int, int, int, int]:
    """The shape of a 4-D array as a typed (N, C, H, W) tuple."""
    n, c, h, w = x.shape
    return n, c, h, w


def strided_view(x: FloatArray, shape: tuple[int, ...], strides: tuple[int, ...]) -> FloatArray:
    """A read-only view of ``x``'s memory with the given shape and byte strides.

    The same as ``np.lib.stride_tricks.as_strided(..., writeable=False)``, several times
    cheaper to create when ``x`` is C-contiguous (which matters for small inputs).
    """
    if x.flags.c_contiguous:
        view: FloatArray = np.ndarray(shape, dtype=x.dtype, buffer=x, strides=strides)
        view.flags.writeable = False
        return view
    return np.lib.stride_tricks.as_strided(x, shape=shape, strides=strides, writeable=False)


def as_pair(value: int | Sequence[int], name: str = "value") -> IntPair:
    """Return ``value`` as an (int, int) pair.

    Parameters
    ----------
    value : int or sequence of two ints
        One int means the same for both axes.
    name : str
        Used in the error message.

    Returns
    -------
    tuple of int
        ``(rows, cols)``.
    """
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    items = tuple(int(v) for v in value)
    if len(items) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return items[0], items[1]


def output_length(n: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Return the output length along one axis.

    ``floor((n + 2p - d(k-1) - 1) / s) + 1``, as in PyTorch. A result below 1 means
    the (dilated) kernel does not fit into the padded input.
    """
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def output_shape(
    spatial: IntPair, kernel: IntPair, stride: IntPair, padding: IntPair, dilation: IntPair
) -> IntPair:
    """Return ``(out_h, out_w)`` for a 2-D window sweep."""
    return (
        output_length(spatial[0], kernel[0], stride[0], padding[0], dilation[0]),
        output_length(spatial[1], kernel[1], stride[1], padding[1], dilation[1]),
    )


def pad(x: FloatArray, padding: IntPair) -> FloatArray:
    """Zero-pad the two trailing axes of ``x``.

    Parameters
    ----------
    x : ndarray of shape (..., H, W)
    padding : (int, int)
        Zeros added on both sides of H and of W.

    Returns
    -------
    ndarray of shape (..., H + 2*ph, W + 2*pw)
        ``x`` itself when there is no padding (no copy).
    """
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    h, w = x.shape[-2:]
    out = np.zeros((*x.shape[:-2], h + 2 * ph, w + 2 * pw))
    out[..., ph : ph + h, pw : pw + w] = x
    return out


def sliding_windows(x_padded: FloatArray, kernel: IntPair, stride: IntPair, dilation: IntPair) -> FloatArray:
    """Return a read-only strided view of every window of ``x_padded``.

    Parameters
    ----------
    x_padded : ndarray of shape (N, C, Hp, Wp)
        The already padded input.
    kernel, stride, dilation : (int, int)

    Returns
    -------
    ndarray of shape (N, C, out_h, out_w, kH, kW)
        ``windows[n, c, i, j, a, b] == x_padded[n, c, i*sh + a*dh, j*sw + b*dw]``.
        A view: no data is copied.
    """
    n, c, hp, wp = x_padded.shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    out_h = (hp - dh * (kh - 1) - 1) // sh + 1
    out_w = (wp - dw * (kw - 1) - 1) // sw + 1
    s_n, s_c, s_h, s_w = x_padded.strides
    return strided_view(
        x_padded, (n, c, out_h, out_w, kh, kw), (s_n, s_c, s_h * sh, s_w * sw, s_h * dh, s_w * dw)
    )


def scatter_windows(
    window_grads: FloatArray,
    padded_shape: tuple[int, int, int, int],
    stride: IntPair,
    dilation: IntPair,
) -> FloatArray:
    """Add per-window gradients back onto the padded input (the adjoint of windows).

    Loops over the kernel's kH*kW offsets only, never over output positions: each
    offset adds one strided slab, so overlapping windows accumulate.

    Parameters
    ----------
    window_grads : ndarray of shape (N, C, out_h, out_w, kH, kW)
    padded_shape : (N, C, Hp, Wp)
    stride, dilation : (int, int)

    Returns
    -------
    ndarray of shape (N, C, Hp, Wp)
    """
    _, _, out_h, out_w, kh, kw = window_grads.shape
    sh, sw = stride
    dh, dw = dilation
    grad = np.zeros(padded_shape, dtype=np.float64)
    for a in range(kh):
        rows = slice(a * dh, a * dh + sh * (out_h - 1) + 1, sh)
        for b in range(kw):
            cols = slice(b * dw, b * dw + sw * (out_w - 1) + 1, sw)
            grad[:, :, rows, cols] += window_grads[:, :, :, :, a, b]
    return grad


def im2col(x_padded: FloatArray, kernel: IntPair, stride: IntPair, dilation: IntPair) -> FloatArray:
    """Copy every window into the column matrix a matrix product wants.

    Parameters
    ----------
    x_padded : ndarray of shape (N, C, Hp, Wp)
    kernel, stride, dilation : (int, int)

    Returns
    -------
    ndarray of shape (N, C*kH*kW, out_h*out_w), C-contiguous
        ``cols[n, (c*kH + a)*kW + b, i*out_w + j] == x_padded[n, c, i*sh + a*dh, j*sw + b*dw]``:
        the rows follow the weight's (C, kH, kW) order, the columns the output's (i, j).
    """
    n, c, hp, wp = x_padded.shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    out_h = (hp - dh * (kh - 1) - 1) // sh + 1
    out_w = (wp - dw * (kw - 1) - 1) // sw + 1
    if kh == kw == 1 and sh == sw == 1:
        return np.ascontiguousarray(x_padded).reshape(n, c, hp * wp)
    s_n, s_c, s_h, s_w = x_padded.strides
    view = strided_view(
        x_padded, (n, c, kh, kw, out_h, out_w), (s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw)
    )
    return view.reshape(n, c * kh * kw, out_h * out_w)  # one copy, in C order


def _clipped(n_out: int, offset: int, step: int, padding: int, size: int) -> tuple[int, int]:
    """The output positions ``[lo, hi)`` whose cell ``i*step + offset - padding`` is in ``[0, size)``."""
    lo = max(0, -(-(padding - offset) // step))
    hi = min(n_out, (size - 1 + padding - offset) // step + 1)
    return lo, max(lo, hi)


def col2im(
    cols: FloatArray,
    shape: tuple[int, int, int, int],
    kernel: IntPair,
    stride: IntPair,
    padding: IntPair,
    dilation: IntPair,
    out: FloatArray | None = None,
) -> FloatArray:
    """Add column-matrix gradients back onto the unpadded input (the adjoint of :func:`im2col`).

    Loops over the kernel's kH*kW offsets only: each adds one strided slab, so
    overlapping windows accumulate. Cells of the padding border are dropped, as
    cropping the padded gradient would.

    Parameters
    ----------
    cols : ndarray of shape (N, C*kH*kW, out_h*out_w)
    shape : (N, C, H, W)
        The unpadded input's shape.
    kernel, stride, padding, dilation : (int, int)
    out : ndarray of shape (N, C, H, W), optional
        Add into this array instead of a new zero array.

    Returns
    -------
    ndarray of shape (N, C, H, W)
        ``out`` when given.
    """
    n, c, h, w = shape
    kh, kw = kernel
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    grads = cols.reshape(n, c, kh, kw, out_h, out_w)
    if out is None and kh == kw == 1 and sh == sw == 1 and ph == pw == 0:
        return np.ascontiguousarray(grads.reshape(shape))
    dx = np.zeros(shape, dtype=np.float64) if out is None else out
    for a in range(kh):
        i0, i1 = _clipped(out_h, a * dh, sh, ph, h)
        if i0 == i1:
            continue
        r0 = i0 * sh + a * dh - ph
        rows = slice(r0, r0 + sh * (i1 - i0 - 1) + 1, sh)
        for b in range(kw):
            j0, j1 = _clipped(out_w, b * dw, sw, pw, w)
            if j0 == j1:
                continue
            c0 = j0 * sw + b * dw - pw
            dx[:, :, rows, c0 : c0 + sw * (j1 - j0 - 1) + 1 : sw] += grads[:, :, a, b, i0:i1, j0:j1]
    return dx


def covering_windows(
    row: int, col: int, kernel: IntPair, stride: IntPair, dilation: IntPair, out_shape: IntPair
) -> list[tuple[int, int, int, int]]:
    """Every window that reads one cell of the padded input, and through which tap.

    The inverse of :func:`sliding_windows`' index map: the cell (row, col) is read by
    output position (i, j) through kernel cell (a, b) when ``row == i*sh + a*dh`` and
    ``col == j*sw + b*dw``.

    Parameters
    ----------
    row, col : int
        A cell of the padded input.
    kernel, stride, dilation : (int, int)
    out_shape : (int, int)
        (out_h, out_w).

    Returns
    -------
    list of (i, j, a, b)
        In row-major order of (a, b).
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    oh, ow = out_shape
    found = []
    for a in range(kh):
        i, off_i = divmod(row - a * dh, sh)
        if off_i or not 0 <= i < oh:
            continue
        for b in range(kw):
            j, off_j = divmod(col - b * dw, sw)
            if not off_j and 0 <= j < ow:
                found.append((i, j, a, b))
    return found


def crop(x_padded: FloatArray, padding: IntPair) -> FloatArray:
    """Remove ``padding`` from the two trailing axes (the inverse of :func:`pad`)."""
    ph, pw = padding
    h, w = x_padded.shape[-2:]
    return x_padded[..., ph : h - ph, pw : w - pw]

"""Padding, sliding windows and output-size arithmetic shared by conv and pool.

Everything here works on 2-D spatial data laid out (N, C, H, W). One-dimensional
layers are run as 2-D layers with H = 1, so a single windowing helper serves both
convolution and pooling in both dimensionalities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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
    if type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
        return value  # already a pair (the common case, on every kernel call)
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


# ---------------------------------------------------------------------------------------------
# Padding by side and by mode (conv "same" padding and padding_mode, pool padding)

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

Sides = tuple[int, int, int, int]
"""Padding of the two trailing axes as (top, bottom, left, right)."""

_NUMPY_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def resolve_padding(
    padding: str | int | Sequence[int], kernel: IntPair, stride: IntPair, dilation: IntPair
) -> Sides:
    """Padding as given to a convolution, as (top, bottom, left, right).

    Parameters
    ----------
    padding : int, (int, int), "valid" or "same"
        ``"valid"`` is no padding; ``"same"`` keeps the input size (stride 1 only): an
        axis gets d(k-1) cells in all, half before, the odd one after (on the
        bottom/right), as PyTorch does.
    kernel, stride, dilation : (int, int)

    Returns
    -------
    (int, int, int, int)
    """
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"padding 'same' needs stride 1 (as PyTorch), got stride {stride}")
        total_h, total_w = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2
    ph, pw = as_pair(padding, "padding")
    return ph, ph, pw, pw


def symmetric(sides: Sides) -> IntPair | None:
    """``(ph, pw)`` when the padding is the same on both sides of each axis, else None."""
    top, bottom, left, right = sides
    return (top, left) if top == bottom and left == right else None


def check_padding_mode(mode: str, sides: Sides, spatial: IntPair) -> None:
    """Refuse what PyTorch refuses: reflect needs padding < size, circular padding <= size.

    Raises
    ------
    ValueError
        Naming the padding, the size and the rule.
    """
    if mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {mode!r}")
    if min(sides) < 0:
        raise ValueError(f"padding must be >= 0, got {sides}")
    top, bottom, left, right = sides
    for before, after, size, axis in (
        (top, bottom, spatial[0], "height"),
        (left, right, spatial[1], "width"),
    ):
        widest = max(before, after)
        if mode == "reflect" and widest >= size:
            raise ValueError(
                f"reflect padding must be smaller than the input {axis} {size}, got padding {widest}"
            )
        if mode == "circular" and widest > size:
            raise ValueError(
                f"circular padding must be at most the input {axis} {size} (it wraps once), "
                f"got padding {widest}"
            )


def pad_sides(x: FloatArray, sides: Sides, mode: str = "zeros", value: float = 0.0) -> FloatArray:
    """Pad the two trailing axes of ``x`` by side, filled by ``mode``.

    Parameters
    ----------
    x : ndarray of shape (..., H, W)
    sides : (top, bottom, left, right)
    mode : {"zeros", "reflect", "replicate", "circular"}
        As ``torch.nn.functional.pad``: ``"zeros"`` fills with ``value``; ``"reflect"``
        mirrors about the edge cell (not repeating it); ``"replicate"`` repeats the edge
        cell; ``"circular"`` wraps around (the opposite edge's cells).
    value : float
        The fill of ``"zeros"`` (pooling pads max with -inf).

    Returns
    -------
    ndarray of shape (..., top + H + bottom, left + W + right)
        ``x`` itself when there is no padding (no copy).
    """
    top, bottom, left, right = sides
    if top == bottom == left == right == 0:
        return x
    check_padding_mode(mode, sides, (x.shape[-2], x.shape[-1]))
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "zeros":
        h, w = x.shape[-2:]
        out = np.full((*x.shape[:-2], top + h + bottom, left + w + right), value)
        out[..., top : top + h, left : left + w] = x
        return out
    padded: FloatArray = np.pad(x, widths, mode=_NUMPY_PAD_MODES[mode])  # type: ignore[call-overload]
    return padded


def padding_source(position: int, size: int, mode: str) -> int | None:
    """The input cell a padded cell copies, along one axis.

    Parameters
    ----------
    position : int
        The cell's index relative to the first input cell (negative in the leading border,
        ``>= size`` in the trailing one).
    size : int
        The input's length along the axis.
    mode : {"zeros", "reflect", "replicate", "circular"}

    Returns
    -------
    int or None
        Index into the input; None for a zero of ``"zeros"`` padding.
    """
    if 0 <= position < size:
        return position
    if mode == "zeros":
        return None
    if mode == "reflect":
        return -position if position < 0 else 2 * (size - 1) - position
    if mode == "replicate":
        return 0 if position < 0 else size - 1
    return position % size  # circular: wraps at most once (checked)


def _fold_axis(grad: FloatArray, before: int, after: int, mode: str, axis: int) -> FloatArray:
    """Add the gradient of every border cell of one axis onto the cell it copied; drop the border."""
    length = grad.shape[axis]
    size = length - before - after
    inner = [slice(None)] * grad.ndim
    inner[axis] = slice(before, before + size)
    folded = np.array(grad[tuple(inner)], dtype=np.float64)  # a copy: the border is added onto it
    if mode == "zeros":
        return folded
    cell = [slice(None)] * grad.ndim
    target = [slice(None)] * grad.ndim
    for position in (*range(-before, 0), *range(size, size + after)):
        source = padding_source(position, size, mode)
        assert source is not None
        cell[axis] = slice(before + position, before + position + 1)
        target[axis] = slice(source, source + 1)
        folded[tuple(target)] += grad[tuple(cell)]
    return folded


def fold_padding(grad_padded: FloatArray, sides: Sides, mode: str = "zeros") -> FloatArray:
    """The gradient of the unpadded input from that of the padded one (the adjoint of :func:`pad_sides`).

    Every border cell's gradient flows back onto the input cell it was copied from
    (none for zero padding); the interior's passes straight through.

    Parameters
    ----------
    grad_padded : ndarray of shape (..., top + H + bottom, left + W + right)
    sides : (top, bottom, left, right)
    mode : {"zeros", "reflect", "replicate", "circular"}

    Returns
    -------
    ndarray of shape (..., H, W), C-contiguous
    """
    top, bottom, left, right = sides
    if top == bottom == left == right == 0:
        return np.ascontiguousarray(grad_padded)
    by_columns = _fold_axis(grad_padded, left, right, mode, grad_padded.ndim - 1)
    return np.ascontiguousarray(_fold_axis(by_columns, top, bottom, mode, grad_padded.ndim - 2))


# ----------------------------------------------------------------------------- 1-D as 2-D


def setting_1d(value: int | Sequence[int], name: str, height: int = 1, what: str = "layer") -> IntPair:
    """A 1-D setting as the pair of the equivalent 2-D layer of height one (``height`` on that axis).

    Raises
    ------
    ValueError
        For a sequence that is not one int.
    """
    if type(value) is int:  # the common case, on every call of a 1-D kernel
        return height, value
    if isinstance(value, (int, np.integer)):
        return height, int(value)
    items = tuple(int(v) for v in value)
    if len(items) != 1:
        raise ValueError(f"{name} of a 1-D {what} must be one int, got {value!r}")
    return height, items[0]


def _lifted(arrays: Sequence[FloatArray], expected: str) -> list[FloatArray]:
    """Each (N, C, L) or (C_out, C_in, K) array as (N, C, 1, L) or (C_out, C_in, 1, K)."""
    lifted = []
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        if a.ndim != 3:
            raise ValueError(f"{expected}, got {', '.join(str(np.shape(v)) for v in arrays)}")
        lifted.append(a[:, :, None])
    return lifted


def rows_1d(
    kernel: Callable[..., FloatArray], arrays: Sequence[FloatArray], expected: str, *rest: Any
) -> FloatArray:
    """A 1-D kernel run by its 2-D twin on a height of one: ``kernel(*arrays lifted, *rest)`` squeezed.

    ``expected`` starts the message for arrays that are not 3-D (their shapes follow).
    """
    result = kernel(*_lifted(arrays, expected), *rest)
    return result[:, :, 0, :]


def rows_1d_grads(
    kernel: Callable[..., tuple[FloatArray, FloatArray, FloatArray]],
    arrays: Sequence[FloatArray],
    expected: str,
    *rest: Any,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`rows_1d` for a backward kernel returning (dx, dw, db): dx and dw lose the height axis."""
    dx, dw, db = kernel(*_lifted(arrays, expected), *rest)
    return dx[:, :, 0, :], dw[:, :, 0, :], db

"""Which cells feed a cell: the terms of each sum a layer's pass computes, and their text.

Hovering a cell of dW in the window highlights every (input, dZ) pair that fed it
and writes the sum term by term, in the seed documents' style::

    dW[1] = 2*-0.1 + 3*0.2 = 0.4

This module answers that question for any cell of a traced layer, with no window:
:func:`cell_links` takes a :class:`LayerTrace`, the role of an array and an index in
it, and returns the contributing cells of the other arrays, the products of the sum
and its text.

Arrays are named by role, in the shapes of the trace (a 1-D layer has height 1):

=============  ===================================================================
role           array
=============  ===================================================================
``input``      conv: the padded input (C_in, Hp, Wp); pool: (C, H, W); dense: (n,)
``kernel``     conv: W (C_out, C_in, kH, kW); dense: W (out, n)
``bias``       b (C_out,)
``z``, ``a``   conv: (C_out, oh, ow); pool: Y (C, oh, ow); dense, flatten: (out,)
``dz``         dZ of a conv or dense layer, dY of a pool or flatten layer
``dw``, ``db`` gradients of W and b (shapes of ``kernel`` and ``bias``)
``dx``         dA_prev: conv in the padded view (C_in, Hp, Wp); otherwise the input's shape
=============  ===================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .explain import fmt
from .layers import ConvLayer, DenseLayer, FlattenLayer, PoolLayer
from .trace import LayerTrace
from .windows import FloatArray, covering_windows

Index = tuple[int, ...]

# Sums with more terms are written with their first terms and a count of the rest.
MAX_TEXT_TERMS = 16

NAMES = {
    "input": "A_prev",
    "kernel": "W",
    "bias": "b",
    "z": "z",
    "a": "a",
    "dz": "dZ",
    "dw": "dW",
    "db": "db",
    "dx": "dA_prev",
}


@dataclass(frozen=True, slots=True)
class Term:
    """One product of a sum.

    Attributes
    ----------
    factors : tuple of float
        The numbers multiplied (one for a routed delta or a bias).
    cells : tuple of (str, tuple of int)
        The (role, index) each factor comes from, in the order of ``factors``.
    overlay : int
        The overlay (1-based) of the layer's pass that adds this term; 0 for the
        terms of a forward sum, which are all added by one overlay.
    scale : float
        A constant factor written after the product (average pooling divides by the
        window size: ``dY[0]/4``); 1 otherwise.
    """

    factors: tuple[float, ...]
    cells: tuple[tuple[str, Index], ...]
    overlay: int = 0
    scale: float = 1.0

    @property
    def value(self) -> float:
        """The product of the factors times the scale."""
        return float(np.prod(self.factors)) * self.scale


@dataclass(frozen=True, slots=True)
class CellLinks:
    """The cells that feed (or are fed by) one cell, with the sum as text.

    Attributes
    ----------
    role : str
    index : tuple of int
        The cell asked about, in its array's trace shape.
    cells : dict of str to tuple of index
        Every linked cell, by role (the asked cell is not included).
    terms : tuple of Term
        The products of the sum that gives the cell (empty for a cell that is not a sum).
    value : float
        The cell's value: the sum of ``terms`` when there are terms.
    text : str
        One line, e.g. ``dW[1] = 2*-0.1 + 3*0.2 = 0.4``.
    """

    role: str
    index: Index
    cells: dict[str, tuple[Index, ...]] = field(repr=False)
    terms: tuple[Term, ...] = field(repr=False)
    value: float
    text: str


def _dims(trace: LayerTrace) -> int:
    return int(getattr(trace.layer, "dims", 2))


def index_text(trace: LayerTrace, role: str, index: Index) -> str:
    """An index as the seeds write it: ``[1]``, ``[0, 1]``, ``[f, c, i, j]``.

    Channel axes of size one are left out (as in the step explanations) and a 1-D
    layer's height axis is dropped.

    Parameters
    ----------
    trace : LayerTrace
    role : str
    index : tuple of int
        In the shape of the role's array in the trace.
    """
    layer = trace.layer
    shape = _shape(trace, role)
    parts = list(index)
    if isinstance(layer, (ConvLayer, PoolLayer)) and len(shape) >= 3:
        if _dims(trace) == 1:
            del parts[-2]
        lead = len(shape) - 2
        parts = [p for axis, p in enumerate(parts[:lead]) if shape[axis] > 1] + parts[lead:]
    return "[" + ", ".join(str(p) for p in parts) + "]"


def name_of(trace: LayerTrace, role: str, index: Index) -> str:
    """The cell's name: ``dW[1]``, ``A_pad[0, 2]``, ``dY[0, 1]``."""
    layer = trace.layer
    padded = isinstance(layer, ConvLayer) and any(layer.padding)
    name = NAMES[role]
    if role == "input" and padded:
        name = "A_pad"
    elif role == "dx" and padded:
        name = "dA_pad"
    elif role in ("z", "dz") and isinstance(layer, (PoolLayer, FlattenLayer)):
        name = "y" if role == "z" else "dY"
    return name + index_text(trace, role, index)


def _shape(trace: Any, role: str) -> tuple[int, ...]:
    layer = trace.layer
    if role in ("kernel", "dw"):
        return tuple(trace.weight.shape) if isinstance(layer, ConvLayer) else tuple(layer.weight.shape)
    if role in ("bias", "db"):
        return (int(_weight(trace).shape[0]),)
    if role in ("input", "dx"):
        return tuple(trace.x_padded.shape) if isinstance(layer, ConvLayer) else tuple(trace.x.shape)
    return tuple(trace.z.shape)


def _weight(trace: Any) -> FloatArray:
    layer = trace.layer
    if isinstance(layer, ConvLayer):
        weight: FloatArray = trace.weight
        return weight
    assert isinstance(layer, DenseLayer)
    return layer.weight


def _sum_text(name: str, terms: list[Term], value: float, bias: str = "") -> str:
    if not terms:
        return f"{name} = {fmt(value)}"
    shown = []
    for term in terms[:MAX_TEXT_TERMS]:
        product = "*".join(fmt(f) for f in term.factors)
        if term.scale != 1.0:
            product += f"/{fmt(1.0 / term.scale)}"
        shown.append(product)
    body = " + ".join(shown)
    if len(terms) > MAX_TEXT_TERMS:
        body += f" + … ({len(terms) - MAX_TEXT_TERMS} more terms)"
    return f"{name} = {body}{bias} = {fmt(value)}"


def _total(terms: list[Term], start: float = 0.0) -> float:
    total = start
    for term in terms:
        total += term.value
    return total


def _cells(
    terms: list[Term], extra: Mapping[str, Sequence[Index]] | None = None
) -> dict[str, tuple[Index, ...]]:
    out: dict[str, list[Index]] = {}
    for term in terms:
        for role, index in term.cells:
            bucket = out.setdefault(role, [])
            if index not in bucket:
                bucket.append(index)
    for role, indices in (extra or {}).items():
        bucket = out.setdefault(role, [])
        bucket.extend(i for i in indices if i not in bucket)
    return {role: tuple(indices) for role, indices in out.items()}


def _check(trace: LayerTrace, role: str, index: Index) -> Index:
    shape = _shape(trace, role)
    index = tuple(int(i) for i in index)
    if len(index) != len(shape) or not all(0 <= i < s for i, s in zip(index, shape, strict=True)):
        raise IndexError(f"{role} index {index} is outside the shape {shape}")
    return index


def cell_links(trace: LayerTrace, role: str, index: Index) -> CellLinks | None:
    """The cells linked to cell ``index`` of array ``role``, and the sum that gives it.

    Parameters
    ----------
    trace : LayerTrace
        The layer's forward or backward trace (gradients use the backward values).
    role : str
        See the module docstring; roles the pass does not show give None.
    index : tuple of int
        In the role's trace shape.

    Returns
    -------
    CellLinks or None
        None when the cell is not linked to anything in this pass.

    Raises
    ------
    IndexError
        When ``index`` lies outside the array.
    """
    layer = trace.layer
    backward = trace.pass_name == "backward"
    if role not in NAMES:
        return None
    index = _check(trace, role, index)
    if isinstance(layer, ConvLayer):
        return _conv(trace, layer, role, index, backward)
    if isinstance(layer, PoolLayer):
        return _pool(trace, layer, role, index, backward)
    if isinstance(layer, DenseLayer):
        return _dense(trace, layer, role, index, backward)
    return _flatten(trace, role, index, backward)


# ------------------------------------------------------------ conv


def _conv_geometry(trace: Any, layer: ConvLayer) -> tuple[int, int, int, int, int, int, int, int]:
    kh, kw = trace.weight.shape[2:]
    _, oh, ow = trace.z.shape
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    return kh, kw, oh, ow, sh, sw, dh, dw


def _conv(trace: Any, layer: ConvLayer, role: str, index: Index, backward: bool) -> CellLinks | None:
    kh, kw, oh, ow, sh, sw, dh, dw = _conv_geometry(trace, layer)
    c_out, c_in = trace.weight.shape[:2]
    x, w = trace.x_padded, trace.weight
    name = name_of(trace, role, index)
    if backward and role in ("dw", "dx", "db", "dz"):
        dz = trace.grad_pre_activation
        assert dz is not None
        if role == "dw":
            f, c, a, b = index
            terms = [
                Term(
                    (float(x[c, i * sh + a * dh, j * sw + b * dw]), float(dz[f, i, j])),
                    (("input", (c, i * sh + a * dh, j * sw + b * dw)), ("dz", (f, i, j))),
                    f * oh * ow + i * ow + j + 1,
                )
                for i in range(oh)
                for j in range(ow)
            ]
            value = _total(terms)
            return CellLinks(role, index, _cells(terms), tuple(terms), value, _sum_text(name, terms, value))
        if role == "dx":
            c, y, xq = index
            taps = covering_windows(y, xq, (kh, kw), (sh, sw), (dh, dw), (oh, ow))
            terms = [
                Term(
                    (float(w[f, c, a, b]), float(dz[f, i, j])),
                    (("kernel", (f, c, a, b)), ("dz", (f, i, j))),
                    f * oh * ow + i * ow + j + 1,
                )
                for f in range(c_out)
                for i, j, a, b in taps
            ]
            terms.sort(key=lambda t: t.overlay)
            value = _total(terms)
            return CellLinks(role, index, _cells(terms), tuple(terms), value, _sum_text(name, terms, value))
        if role == "db":
            (f,) = index
            terms = [
                Term((float(dz[f, i, j]),), (("dz", (f, i, j)),), f * oh * ow + i * ow + j + 1)
                for i in range(oh)
                for j in range(ow)
            ]
            value = _total(terms)
            return CellLinks(role, index, _cells(terms), tuple(terms), value, _sum_text(name, terms, value))
        # dz: the window it multiplies into dW and the cells of dA_prev it reaches.
        f, i, j = index
        window = [
            (c, i * sh + a * dh, j * sw + b * dw) for c in range(c_in) for a in range(kh) for b in range(kw)
        ]
        kernel: list[Index] = [(f, c, a, b) for c in range(c_in) for a in range(kh) for b in range(kw)]
        extra: dict[str, list[Index]] = {"input": list(window), "dx": list(window), "kernel": kernel}
        extra["dw"] = kernel
        if layer.bias is not None:
            extra["db"] = [(f,)]
        value = float(dz[f, i, j])
        text = f"{name} = {fmt(value)}"
        if trace.grad_output is not None and trace.derivative is not None and layer.activation != "identity":
            da, slope = float(trace.grad_output[f, i, j]), float(trace.derivative[f, i, j])
            text = (
                f"{name} = dA{index_text(trace, 'dz', index)} * {layer.activation}'(z) = "
                f"{fmt(da)}*{fmt(slope)} = {fmt(value)}"
            )
        where = f"window {name_of(trace, 'input', window[0])}…{index_text(trace, 'input', window[-1])}"
        text += f"; overlay {f * oh * ow + i * ow + j + 1} adds it to dW via {where} and W*dZ to dA_prev"
        return CellLinks(role, index, _cells([], extra), (), value, text)
    if not backward and role in ("z", "a"):
        f, i, j = index
        terms = [
            Term(
                (float(x[c, i * sh + a * dh, j * sw + b * dw]), float(w[f, c, a, b])),
                (("input", (c, i * sh + a * dh, j * sw + b * dw)), ("kernel", (f, c, a, b))),
            )
            for c in range(c_in)
            for a in range(kh)
            for b in range(kw)
        ]
        bias = 0.0 if layer.bias is None else float(layer.bias[f])
        value = _total(terms, 0.0) + bias
        extra = {"bias": [(f,)]} if layer.bias is not None else {}
        extra["z" if role == "a" else "a"] = [index]
        text = _sum_text(
            name_of(trace, "z", index), terms, value, f" + {fmt(bias)}" if layer.bias is not None else ""
        )
        if layer.activation != "identity":
            text += f"; a = {layer.activation}(z) = {fmt(float(trace.a[f, i, j]))}"
        return CellLinks(role, index, _cells(terms, extra), tuple(terms), value, text)
    if role == "input" or role == "kernel":
        return _conv_uses(trace, layer, role, index, backward)
    if role == "bias" and layer.bias is not None:
        (f,) = index
        outputs: list[Index] = [(f, i, j) for i in range(oh) for j in range(ow)]
        value = float(layer.bias[f])
        text = f"{name} = {fmt(value)} is added to every output of channel {f}"
        return CellLinks(role, index, _cells([], {"dz" if backward else "z": outputs}), (), value, text)
    return None


def _conv_uses(trace: Any, layer: ConvLayer, role: str, index: Index, backward: bool) -> CellLinks:
    """Where an input cell or a weight goes: the outputs it feeds (and, backward, the gradients)."""
    kh, kw, oh, ow, sh, sw, dh, dw = _conv_geometry(trace, layer)
    c_out = trace.weight.shape[0]
    out_role = "dz" if backward else "z"
    outputs: list[Index] = []
    partners: list[Index] = []
    if role == "input":
        c, y, xq = index
        taps = covering_windows(y, xq, (kh, kw), (sh, sw), (dh, dw), (oh, ow))
        for f in range(c_out):
            for i, j, a, b in taps:
                outputs.append((f, i, j))
                partners.append((f, c, a, b))
        extra = {out_role: outputs, "kernel": partners}
        if backward:
            extra["dw"] = partners
        what = f"{len(outputs)} output(s)"
    else:
        f, c, a, b = index
        outputs = [(f, i, j) for i in range(oh) for j in range(ow)]
        partners = [(c, i * sh + a * dh, j * sw + b * dw) for i in range(oh) for j in range(ow)]
        extra = {out_role: outputs, "input": partners}
        if backward:
            extra["dx"] = partners  # W[f, c, a, b] * dZ[f, i, j] lands where it multiplied the input
            extra["dw"] = [index]
        what = f"every output of channel {f}"
    value = float((trace.x_padded if role == "input" else trace.weight)[index])
    text = f"{name_of(trace, role, index)} = {fmt(value)} is used by {what}"
    return CellLinks(role, index, _cells([], extra), (), value, text)


# ------------------------------------------------------------ pool


def _pool(trace: Any, layer: PoolLayer, role: str, index: Index, backward: bool) -> CellLinks | None:
    (kh, kw), (sh, sw) = layer.size, layer.stride
    _, oh, ow = trace.z.shape
    x = trace.x
    argmax = trace.argmax
    size = kh * kw

    def window(c: int, i: int, j: int) -> list[Index]:
        return [(c, i * sh + a, j * sw + b) for a in range(kh) for b in range(kw)]

    def winner(c: int, i: int, j: int) -> Index:
        assert argmax is not None
        arg = int(argmax[c, i, j])
        return (c, i * sh + arg // kw, j * sw + arg % kw)

    name = name_of(trace, role, index)
    if role in ("z", "dz"):
        c, i, j = index
        cells = window(c, i, j)
        if role == "z" and not backward:
            values = ", ".join(fmt(float(x[cell])) for cell in cells)
            y = float(trace.z[c, i, j])
            if argmax is not None:
                at = winner(c, i, j)
                text = f"{name} = max({values}) = {fmt(y)}, the maximum at {name_of(trace, 'input', at)}"
                extra = {"input": cells}
            else:
                text = f"{name} = ({' + '.join(fmt(float(x[cell])) for cell in cells)}) / {size} = {fmt(y)}"
                extra = {"input": cells}
            return CellLinks(role, index, _cells([], extra), (), y, text)
        if role == "dz" and backward:
            assert trace.grad_output is not None
            delta = float(trace.grad_output[c, i, j])
            overlay = c * oh * ow + i * ow + j + 1
            if argmax is not None:
                at = winner(c, i, j)
                text = f"{name} = {fmt(delta)} goes to {name_of(trace, 'dx', at)}, its window's maximum"
                extra = {"input": cells, "dx": [at]}
            else:
                share = fmt(delta / size)
                text = f"{name} = {fmt(delta)} is spread as {share} to each of the {size} window cells"
                extra = {"input": cells, "dx": cells}
            text += f" (overlay {overlay})"
            return CellLinks(role, index, _cells([], extra), (), delta, text)
        return None
    if role == "dx" and backward:
        assert trace.grad_output is not None
        c, y, xq = index
        terms: list[Term] = []
        windows: list[Index] = []
        for i in range(oh):
            for j in range(ow):
                if not (i * sh <= y < i * sh + kh and j * sw <= xq < j * sw + kw):
                    continue
                if argmax is not None and winner(c, i, j) != index:
                    continue
                delta = float(trace.grad_output[c, i, j])
                scale = 1.0 if argmax is not None else 1.0 / size
                terms.append(Term((delta,), (("dz", (c, i, j)),), c * oh * ow + i * ow + j + 1, scale))
                windows.extend(window(c, i, j))
        value = _total(terms)
        text = _sum_text(name, terms, value)
        if not terms:
            text += " (no window routed a delta here)" if argmax is not None else ""
        return CellLinks(role, index, _cells(terms, {"input": windows}), tuple(terms), value, text)
    if role == "input":
        c, y, xq = index
        outputs = [
            (c, i, j)
            for i in range(oh)
            for j in range(ow)
            if i * sh <= y < i * sh + kh and j * sw <= xq < j * sw + kw
        ]
        out_role = "dz" if backward else "z"
        text = f"{name} = {fmt(float(x[index]))} lies in {len(outputs)} window(s)"
        return CellLinks(role, index, _cells([], {out_role: outputs}), (), float(x[index]), text)
    return None


# ------------------------------------------------------------ dense and flatten


def _dense(trace: Any, layer: DenseLayer, role: str, index: Index, backward: bool) -> CellLinks | None:
    x, w = trace.x, layer.weight
    out, n = w.shape
    name = name_of(trace, role, index)
    if backward and role in ("dw", "dx", "db", "dz"):
        dz = trace.grad_pre_activation
        assert dz is not None
        if role == "dw":
            o, q = index
            terms = [Term((float(x[q]), float(dz[o])), (("input", (q,)), ("dz", (o,))), o + 1)]
        elif role == "dx":
            (q,) = index
            terms = [
                Term((float(w[o, q]), float(dz[o])), (("kernel", (o, q)), ("dz", (o,))), o + 1)
                for o in range(out)
            ]
        elif role == "db":
            (o,) = index
            terms = [Term((float(dz[o]),), (("dz", (o,)),), o + 1)]
        else:
            (o,) = index
            extra: dict[str, list[Index]] = {
                "kernel": [(o, q) for q in range(n)],
                "dw": [(o, q) for q in range(n)],
                "dx": [(q,) for q in range(n)],
            }
            value = float(dz[o])
            return CellLinks(
                role, index, _cells([], extra), (), value, f"{name} = {fmt(value)}; overlay {o + 1}"
            )
        value = _total(terms)
        return CellLinks(role, index, _cells(terms), tuple(terms), value, _sum_text(name, terms, value))
    if not backward and role in ("z", "a"):
        (o,) = index
        terms = [Term((float(w[o, q]), float(x[q])), (("kernel", (o, q)), ("input", (q,)))) for q in range(n)]
        bias = 0.0 if layer.bias is None else float(layer.bias[o])
        value = _total(terms) + bias
        extra = {"bias": [(o,)]} if layer.bias is not None else {}
        text = _sum_text(
            name_of(trace, "z", index), terms, value, f" + {fmt(bias)}" if layer.bias is not None else ""
        )
        if layer.activation != "identity":
            text += f"; a = {layer.activation}(z) = {fmt(float(trace.a[o]))}"
        return CellLinks(role, index, _cells(terms, extra), tuple(terms), value, text)
    return None


def _flatten(trace: LayerTrace, role: str, index: Index, backward: bool) -> CellLinks | None:
    out_role, in_role = ("dz", "dx") if backward else ("z", "input")
    source = trace.grad_output if backward else trace.z
    assert source is not None
    if role == out_role:
        (k,) = index
        src = tuple(int(v) for v in np.unravel_index(k, trace.x.shape))
        value = float(source[k])
        text = f"{name_of(trace, role, index)} = {name_of(trace, in_role, src)} = {fmt(value)}"
        return CellLinks(role, index, {in_role: (src,)}, (), value, text)
    if role == in_role:
        k = int(np.ravel_multi_index(index, trace.x.shape))
        value = float(source[k])
        text = f"{name_of(trace, role, index)} = {name_of(trace, out_role, (k,))} = {fmt(value)}"
        return CellLinks(role, index, {out_role: ((k,),)}, (), value, text)
    return None

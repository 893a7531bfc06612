"""Which cells feed a cell: the terms of each sum a layer's pass computes, and their text.

Hovering a cell of dW in the window highlights every (input, dZ) pair that fed it
and writes the sum term by term, in the seed documents' style::

    dW[1] = 2*-0.1 + 3*0.2 = 0.4

This module answers that question for any cell of a traced layer, with no window:
:func:`cell_links` takes a :class:`LayerTrace`, the role of an array and an index in
it, and returns the contributing cells of the other arrays, the products of the sum
and its text. Each layer kind writes its own sums (``Kind.links``); the terms, the
names of cells and the text of a sum are shared from here.

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
from typing import TYPE_CHECKING

import numpy as np

from ..i18n import _
from .explain import fmt

if TYPE_CHECKING:
    from .kinds.base import LayerTrace

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
    return trace.kind.dims(trace.layer)


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
    shape = _shape(trace, role)
    parts = list(index)
    if trace.kind.windowed and len(shape) >= 3:
        if _dims(trace) == 1:
            del parts[-2]
        lead = len(shape) - 2
        parts = [p for axis, p in enumerate(parts[:lead]) if shape[axis] > 1] + parts[lead:]
    return "[" + ", ".join(str(p) for p in parts) + "]"


def name_of(trace: LayerTrace, role: str, index: Index) -> str:
    """The cell's name: ``dW[1]``, ``A_pad[0, 2]``, ``dY[0, 1]``."""
    kind = trace.kind
    padded = kind.padded(trace.layer)
    name = NAMES[role]
    if role == "input" and padded:
        name = "A_pad"
    elif role == "dx" and padded:
        name = "dA_pad"
    elif role in ("z", "dz"):
        name = kind.output_names[0 if role == "z" else 1]
    return name + index_text(trace, role, index)


def _shape(trace: LayerTrace, role: str) -> tuple[int, ...]:
    return trace.kind.role_shape(trace, role)


def sum_text(name: str, terms: list[Term], value: float, bias: str = "") -> str:
    """``name = 2*-0.1 + 3*0.2 = 0.4``: the first terms of a sum, then a count of the rest."""
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
        body += " + … " + _("({n} more terms)").format(n=len(terms) - MAX_TEXT_TERMS)
    return f"{name} = {body}{bias} = {fmt(value)}"


def total(terms: list[Term], start: float = 0.0) -> float:
    """The terms' values added in order (as the overlays add them)."""
    total = start
    for term in terms:
        total += term.value
    return total


def linked_cells(
    terms: list[Term], extra: Mapping[str, Sequence[Index]] | None = None
) -> dict[str, tuple[Index, ...]]:
    """Every cell the terms (and ``extra``) name, by role, each once, in order of appearance."""
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
    if role not in NAMES:
        return None
    index = _check(trace, role, index)
    return trace.kind.links(trace, role, index)

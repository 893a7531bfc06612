"""The arithmetic of each overlay as text, in the seed documents' own style.

Used by ``visualconv steps``, the window's equation panel and the exports, so all
three say the same thing. Each layer kind writes its own steps (``Kind.explain``,
``Kind.intro``, ``Kind.closed_form_lines`` in :mod:`visualconv.engine.kinds`); this module
holds the number formats they share and the entry points::

    overlay 1: dW += [1*-0.1, 2*-0.1] -> [-0.1, -0.2]
      db += -0.1 -> -0.1
      dA_prev[0:2] += [0.3*-0.1, 0.5*-0.1] -> [-0.03, -0.05, 0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..i18n import _
from .numbers import NumberFormat, current, using
from .windows import FloatArray

if TYPE_CHECKING:
    from .kinds.base import AnyStep, LayerTrace

# Arrays with more elements are summarised rather than written out.
MAX_TERMS = 12


def fmt(value: float) -> str:
    """A number as a person writes it: 1.3, -0.1, 0.044606 (the current format's ``value``)."""
    return current().value(value)


def fmt_array(array: FloatArray) -> str:
    """Nested-list text of an array: ``[1, 2]`` or ``[[1, 2], [3, 4]]`` (:meth:`NumberFormat.array`)."""
    return current().array(array)


def squeeze_view(array: FloatArray, dims: int) -> FloatArray:
    """Drop the height-1 axis of a 1-D layer's 2-D view and size-1 channel axes."""
    array = np.asarray(array)
    if dims == 1 and array.ndim >= 2:
        array = array[..., 0, :]
    while array.ndim > 1 and array.shape[0] == 1:
        array = array[0]
    return array


def products(a: FloatArray, b: FloatArray | float) -> str:
    """``[a0*b0, a1*b1, ...]`` of two arrays, or of an array and one number."""
    a = np.ravel(a)
    bb = np.ravel(b) if not isinstance(b, float) else np.full(a.shape, b)
    return "[" + ", ".join(f"{fmt(x)}*{fmt(y)}" for x, y in zip(a, bb, strict=True)) + "]"


def overlay_text(k: int, text: str) -> str:
    """``overlay k: text``, the first line of a step, in the language in use."""
    return _("overlay {k}: {text}").format(k=k, text=text)


def slice_text(s: slice) -> str:
    """``start:stop`` (``:step`` when it is not 1) of a window's slice, stop inclusive of its last cell."""
    step = s.step or 1
    stop = s.start + ((s.stop - 1 - s.start) // step) * step + 1 if s.stop > s.start else s.start
    return f"{s.start}:{stop}" + (f":{step}" if step != 1 else "")


def explain(trace: LayerTrace, step: AnyStep, numbers: NumberFormat | None = None) -> list[str]:
    """Lines of text for one step of a trace.

    Step 0 gives the set-up lines; at step 0 of the last layer's backward pass of a model
    with a target, the loss that starts the pass comes first (its value and dA, worked out).
    ``numbers`` writes the numbers (default: the current format, :func:`~visualconv.engine.numbers.using`).
    """
    with using(numbers):
        return _explain(trace, step)


def _explain(trace: LayerTrace, step: AnyStep) -> list[str]:
    kind = trace.kind
    if step.overlay is None:
        start = trace.loss_start
        return kind.intro(trace) if start is None else [*start.lines(), *kind.intro(trace)]
    lines = kind.explain(trace, step)
    if trace.pass_name == "backward" and step.k == step.n:
        lines += kind.closed_form_lines(trace, step)
    return lines


def closed_form_lines(trace: LayerTrace, step: AnyStep) -> list[str]:
    """After the last backward overlay: the stepped sums against the seeds' closed forms (conv only)."""
    return trace.kind.closed_form_lines(trace, step)


def explain_all(trace: LayerTrace, ks: Sequence[int] | None = None) -> list[str]:
    """Lines for the given steps (default: every step 0..n)."""
    lines: list[str] = []
    for k in range(trace.n + 1) if ks is None else ks:
        lines.extend(explain(trace, trace.step(k)))
    return lines


def sgd_update_lines(record: Any, layer_index: int) -> list[str]:
    """The SGD update of one layer at one training iteration, in the seeds' notation.

    Parameters
    ----------
    record : visualconv.engine.train.Iteration
        The iteration (its parameters before and after, the gradients, η and momentum).
    layer_index : int

    Returns
    -------
    list of str
        ``ΔW = −η·dW = ...`` and ``W: before → after`` for the weight and the bias of
        that layer; empty for a layer without parameters.
    """
    grads = record.gradients[layer_index]
    if not grads:
        return []
    lr, momentum = record.learning_rate, record.momentum
    lines = [
        _("SGD step of iteration {iteration} (epoch {epoch}):").format(
            iteration=record.iteration, epoch=record.epoch
        )
        + f" η = {fmt(lr)}"
        + (
            ", " + _("momentum {momentum}").format(momentum=fmt(momentum)) + f" (v = {fmt(momentum)}·v + g)"
            if momentum
            else ""
        )
    ]
    for name, symbol in (("weight", "W"), ("bias", "b")):
        if name not in grads:
            continue
        # Parameters in their file shape; leading size-1 axes dropped for reading.
        before = squeeze_view(record.parameters_before[layer_index][name], 2)
        after = squeeze_view(record.parameters[layer_index][name], 2)
        gradient = squeeze_view(grads[name], 2)
        delta = after - before
        rule = "−η·v" if momentum else f"−η·d{symbol}"
        if gradient.size <= MAX_TERMS:
            if not momentum:
                rule += f" = −{fmt(lr)} × {fmt_array(gradient)}"
            lines.append(f"  Δ{symbol} = {rule} = {fmt_array(delta)}")
            lines.append(f"  {symbol}: {fmt_array(before)} → {fmt_array(after)}")
        else:
            largest = float(np.max(np.abs(delta))) if delta.size else 0.0
            lines.append(
                f"  Δ{symbol} = {rule} "
                + _("({n} values; the largest change is {largest})").format(
                    n=gradient.size, largest=fmt(largest)
                )
            )
    if len(record.batch) > 1:
        lines.append(
            "  "
            + _(
                "(dW is the mean gradient of the batch's {n} examples; "
                "the overlays above are its first example's)"
            ).format(n=len(record.batch))
        )
    return lines

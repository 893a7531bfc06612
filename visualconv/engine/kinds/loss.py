"""The loss kind: what starts the backward pass.

A model's backward pass starts from ``upstream`` (dL/d(output of the last layer), given
in the file) or from a ``target`` with a ``loss`` (squared error or softmax
cross-entropy). :func:`start_backward` is the one place that decides which, and
:data:`NO_BACKWARD` is the one sentence that says there is neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ...i18n import N_, _
from .. import losses
from ..errors import ModelError
from ..windows import FloatArray
from .base import frozen_array

if TYPE_CHECKING:
    from ..scene import PanelSpec, StepPanels

# Said (with what follows from it) wherever a backward pass is asked of a model without one.
NO_BACKWARD = N_("the model has no 'upstream' and no 'target' with 'loss'")


@dataclass(frozen=True, slots=True)
class LossSpec:
    """The loss that starts the backward pass.

    Attributes
    ----------
    type : {"mse", "cross_entropy"}
    reduction : {"half_sum", "sum", "mean"}
        Only used by mse.
    """

    type: str = "mse"
    reduction: str = "half_sum"

    def document(self) -> dict[str, Any]:
        """The ``loss`` object of the file: its type, and the reduction of mse."""
        doc: dict[str, Any] = {"type": self.type}
        if not self.classifies:
            doc["reduction"] = self.reduction
        return doc

    @property
    def classifies(self) -> bool:
        """Whether the target is a class index (cross-entropy) rather than an array (mse)."""
        return self.type == "cross_entropy"


def batch_loss(
    output: FloatArray, targets: Sequence[Any] | FloatArray, loss: LossSpec
) -> tuple[float, FloatArray]:
    """Mean over the batch of each example's loss, and its gradient.

    Parameters
    ----------
    output : ndarray of shape (N, ...)
    targets : sequence of N targets (arrays of the output's shape, or class indices)
    loss : LossSpec

    Returns
    -------
    loss : float
    grad : ndarray of shape (N, ...)
        d(mean loss)/d(output).
    """
    n = output.shape[0]
    values, grads = losses.batch_losses(output, targets, loss.type, loss.reduction)
    total = 0.0
    for value in values.tolist():  # in example order, as a running sum
        total += value
    grads /= n
    return total / n, grads


def loss_difference(loss: LossSpec, target: FloatArray | int, plus: FloatArray, minus: FloatArray) -> float:
    """``loss(plus) - loss(minus)`` for two outputs (no batch axis) of one example.

    Squared error is computed cell by cell before summing, so output cells that did not
    change cancel exactly instead of adding rounding noise (which would swamp a finite
    difference of a large model).
    """
    if loss.type == "mse":
        t = np.asarray(target, dtype=np.float64)
        d_plus, d_minus = plus - t, minus - t
        squares = float(np.sum((d_plus - d_minus) * (d_plus + d_minus)))
        scale = {"half_sum": 0.5, "sum": 1.0, "mean": 1.0 / plus.size}[loss.reduction]
        return scale * squares
    return batch_loss(plus[None], [target], loss)[0] - batch_loss(minus[None], [target], loss)[0]


def has_backward(upstream: Any, target: Any, loss: LossSpec | None) -> bool:
    """Whether a backward pass can start (upstream, or target and loss, given)."""
    return upstream is not None or (target is not None and loss is not None)


def start_backward(
    upstream: FloatArray | None, target: FloatArray | int | None, loss: LossSpec | None, output: FloatArray
) -> tuple[float | None, FloatArray] | None:
    """The loss and dL/d(last output) that start the backward pass, or None without one.

    Parameters
    ----------
    upstream, target, loss
        The model's (``upstream`` wins when both are given).
    output : ndarray of shape (1, ...)
        The last layer's output for the model's example.

    Returns
    -------
    (loss, grad) or None
        ``loss`` is None when the pass starts from ``upstream``; ``grad`` has the
        output's shape.

    Raises
    ------
    ModelError
        When ``upstream`` or ``target`` does not have the output's shape (place
        ``upstream`` or ``target``).
    """
    loss_value: float | None = None
    if upstream is not None:
        grad_last = np.asarray(upstream, dtype=np.float64)[None]
    elif target is not None and loss is not None:
        loss_value, grad_last = batch_loss(output, [target], loss)
    else:
        return None
    if grad_last.shape != output.shape:
        place = "upstream" if upstream is not None else "target"
        raise ModelError(f"expected shape {output.shape[1:]}, got {grad_last.shape[1:]}", place)
    return loss_value, grad_last


# ----------------------------------------------------------------------------- the loss as a step


@dataclass(frozen=True, slots=True)
class LossStart:
    """The loss that starts a backward pass, written out: the backward pass's first step.

    Shown before the last layer's backward overlays (its step 0): the loss value and how
    dA, the gradient of the loss with respect to the last layer's output, follows from
    it; for cross-entropy the softmax probabilities and ``dA = p - onehot(target)``,
    for squared error ``dA = A - T`` times the reduction's factor.

    Attributes
    ----------
    spec : LossSpec
    output : ndarray of the last output's shape (no batch axis)
        A, the last layer's output (the logits of a cross-entropy).
    target : ndarray of the output's shape, or int
        T (squared error) or the true class, an index into the flattened output.
    value : float
        The loss.
    grad : ndarray of the output's shape
        dA = dL/dA.
    probabilities : ndarray of the output's shape, or None
        softmax(A) over the flattened output (cross-entropy only).
    dims : int
        1 or 2: how the model writes its arrays (a 1-D model has no height axis).
    """

    spec: LossSpec
    output: FloatArray = field(repr=False)
    target: FloatArray | int = field(repr=False)
    value: float
    grad: FloatArray = field(repr=False)
    probabilities: FloatArray | None = field(repr=False)
    dims: int = 2

    # ------------------------------------------------------------ text

    def lines(self) -> list[str]:
        """The loss and dA with their arithmetic, in the seeds' style (the first backward step)."""
        if self.spec.classifies:
            return self._cross_entropy_lines()
        return self._squared_error_lines()

    def _cross_entropy_lines(self) -> list[str]:
        from ..explain import MAX_TERMS, fmt, fmt_array

        assert self.probabilities is not None
        t = int(np.asarray(self.target))
        logits = self.output.ravel()
        p = self.probabilities.ravel()
        grad = self.grad.ravel()
        top = float(logits.max())
        shifted = np.exp(logits - top)
        total = float(shifted.sum())
        n = logits.size
        lines = [
            _(
                "the loss starts the backward pass: softmax cross-entropy over {n} outputs, true class {t}"
            ).format(n=n, t=t)
        ]
        if n <= MAX_TERMS:
            exps = ", ".join(f"exp({fmt(a)} - {fmt(top)})" for a in logits)
            lines.append(
                f"  A = {fmt_array(self._shown(self.output))}  " + _("(the logits, the last layer's output)")
            )
            lines.append(
                f"  exp(A - max A) = [{exps}] = {fmt_array(shifted)}; "
                + _("their sum is {total}").format(total=fmt(total))
            )
            quotients = ", ".join(f"{fmt(e)}/{fmt(total)}" for e in shifted)
            lines.append(f"  p = softmax(A) = [{quotients}] = {fmt_array(self._shown(self.probabilities))}")
        else:
            lines.append(
                "  p = softmax(A) = exp(A - max A) / sum(exp(A - max A)) " + _("over {n} values").format(n=n)
            )
        lines.append(f"  L = -log p[{t}] = -log({fmt(float(p[t]))}) = {fmt(self.value)}")
        if n <= MAX_TERMS:
            terms = ", ".join(f"{fmt(v)} - {1 if i == t else 0}" for i, v in enumerate(p))
            lines.append(f"  dA = p - onehot({t}) = [{terms}] = {fmt_array(self._shown(self.grad))}")
        else:
            lines.append(
                f"  dA = p - onehot({t}): "
                + _("p with 1 taken from element {t}").format(t=t)
                + f", dA[{t}] = {fmt(float(p[t]))} - 1 = {fmt(float(grad[t]))}"
            )
        return lines

    def _squared_error_lines(self) -> list[str]:
        from ..explain import MAX_TERMS, fmt, fmt_array

        a = self.output.ravel()
        t = np.asarray(self.target, dtype=np.float64).ravel()
        n = a.size
        reduction = self.spec.reduction
        definition = {
            "half_sum": "E = 1/2 * sum((T - A)²)",
            "sum": "E = sum((T - A)²)",
            "mean": f"E = sum((T - A)²) / {n}",
        }[reduction]
        rule = {"half_sum": "dA = A - T", "sum": "dA = 2 * (A - T)", "mean": f"dA = 2 * (A - T) / {n}"}[
            reduction
        ]
        lines = [
            _("the loss starts the backward pass: squared error {definition}, T the target").format(
                definition=definition
            )
        ]
        squares = float(np.sum((t - a) ** 2))
        value = fmt(self.value)
        if n <= MAX_TERMS:
            terms = " + ".join(f"({fmt(tv)} - {fmt(av)})²" for tv, av in zip(t, a, strict=True))
            lines.append(f"  A = {fmt_array(self._shown(self.output))}  " + _("(the last layer's output)"))
            lines.append(f"  T = {fmt_array(self._shown(np.asarray(self.target, dtype=np.float64)))}")
            if reduction == "half_sum":
                lines.append(f"  E = 1/2 * ({terms}) = 1/2 * {fmt(squares)} = {value}")
            elif reduction == "sum":
                lines.append(f"  E = {terms} = {value}")
            else:
                lines.append(f"  E = ({terms}) / {n} = {fmt(squares)} / {n} = {value}")
            if reduction == "half_sum":
                diffs = ", ".join(f"{fmt(av)} - {fmt(tv)}" for av, tv in zip(a, t, strict=True))
            else:
                divisor = f" / {n}" if reduction == "mean" else ""
                diffs = ", ".join(
                    f"2 * ({fmt(av)} - {fmt(tv)}){divisor}" for av, tv in zip(a, t, strict=True)
                )
            lines.append(f"  {rule} = [{diffs}] = {fmt_array(self._shown(self.grad))}")
        else:
            lines.append(f"  E = {value} " + _("over {n} values").format(n=n))
            lines.append(f"  {rule}, " + _("{n} values").format(n=n))
        return lines

    def _shown(self, array: Any) -> FloatArray:
        """An array of the output's shape as the step texts write it (size-1 leading axes dropped)."""
        from ..explain import squeeze_view

        shown = np.asarray(array, dtype=np.float64)
        return squeeze_view(shown[..., None, :] if self.dims == 1 and shown.ndim >= 2 else shown, self.dims)

    # ------------------------------------------------------------ the scene

    def panels(self, col: int) -> list[PanelSpec]:
        """The loss's panels in window column ``col`` and the printed row before the others.

        Cross-entropy shows p = softmax(A) above dA; squared error shows the target T above dA.
        """
        from ..scene import PanelSpec, Printed, TileMap, shape_of

        shape = shape_of(self.grad)
        one_d = self.dims == 1 and len(shape) == 2  # (C, L): shown as (C, 1, L), as the layers do
        tiles = TileMap((shape[0], 1, shape[1]) if one_d else shape, one_d)
        value = f"L = {self._value_text()}" if self.spec.classifies else f"E = {self._value_text()}"
        if self.spec.classifies:
            t = int(np.asarray(self.target))
            top = PanelSpec(
                "loss_p",
                "p = softmax(A)",
                tiles,
                0,
                col,
                Printed("p = softmax(a)", -1, 0, key="loss_p"),
                subtitle=f"{value}, " + _("class {t}").format(t=t),
            )
            grad_title = f"dA = p − onehot({t})"
        else:
            top = PanelSpec(
                "loss_t",
                "T  " + _("(target)"),
                tiles,
                0,
                col,
                Printed("T " + _("(target)"), -1, 0, key="loss_t"),
                subtitle=value,
            )
            n = int(self.grad.size)
            grad_title = {"half_sum": "dA = A − T", "sum": "dA = 2(A − T)", "mean": f"dA = 2(A − T) / {n}"}[
                self.spec.reduction
            ]
        grad = PanelSpec(
            "loss_da",
            grad_title,
            tiles,
            1,
            col,
            Printed(grad_title, -1, 1, _("the backward pass starts here"), key="loss_da"),
            subtitle="dL/dA" if self.spec.classifies else "dE/dA",
        )
        return [top, grad]

    def fill_panels(self, out: StepPanels) -> None:
        """The same values at every step: the loss does not change while the layer is stepped."""
        if self.probabilities is not None:
            out.put("loss_p", self._view(self.probabilities))
        else:
            out.put("loss_t", self._view(np.asarray(self.target, dtype=np.float64)))
        out.put("loss_da", self._view(self.grad))

    def _view(self, array: FloatArray) -> FloatArray:
        """An array of the output's shape in the layers' view: a 1-D model's (C, L) as (C, 1, L)."""
        return array[:, None, :] if self.dims == 1 and array.ndim == 2 else array

    def _value_text(self) -> str:
        from ..explain import fmt

        return fmt(self.value)


def loss_start(
    upstream: FloatArray | None,
    target: FloatArray | int | None,
    loss: LossSpec | None,
    output: FloatArray,
    dims: int = 2,
) -> LossStart | None:
    """The loss step of a backward pass that starts from a target, or None (upstream, or neither).

    Parameters
    ----------
    upstream, target, loss
        The model's.
    output : ndarray of shape (1, ...)
        The last layer's output for the model's example.
    dims : int
        The model's dims (1-D arrays are written without their height axis).
    """
    if upstream is not None or target is None or loss is None:
        return None
    started = start_backward(upstream, target, loss, output)
    assert started is not None
    value, grad = started
    assert value is not None
    a = frozen_array(output[0])
    probabilities = frozen_array(losses.softmax(a.ravel()).reshape(a.shape)) if loss.classifies else None
    frozen_target: FloatArray | int = int(np.asarray(target)) if loss.classifies else frozen_array(target)
    return LossStart(loss, a, frozen_target, value, frozen_array(grad[0]), probabilities, dims)

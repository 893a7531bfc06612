"""The loss kind: what starts the backward pass.

A model's backward pass starts from ``upstream`` (dL/d(output of the last layer), given
in the file) or from a ``target`` with a ``loss`` (squared error or softmax
cross-entropy). :func:`start_backward` is the one place that decides which, and
:data:`NO_BACKWARD` is the one sentence that says there is neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...i18n import N_
from .. import losses
from ..errors import ModelError
from ..windows import FloatArray

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

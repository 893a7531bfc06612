"""Losses that start the backward pass: squared error and softmax cross-entropy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .windows import FloatArray

MSE_REDUCTIONS = ("half_sum", "sum", "mean")


def mse(y: FloatArray, target: FloatArray, reduction: str = "half_sum") -> tuple[float, FloatArray]:
    """Squared error of one example and its gradient.

    Parameters
    ----------
    y : ndarray of any shape
        The model's output.
    target : ndarray of ``y``'s shape
    reduction : {"half_sum", "sum", "mean"}
        ``half_sum`` is E = 1/2 * sum((t - y)^2), the seeds' definition.

    Returns
    -------
    loss : float
    grad : ndarray of ``y``'s shape
        dE/dy.
    """
    diff = np.asarray(y, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    squared = float(np.sum(diff * diff))
    if reduction == "half_sum":
        return 0.5 * squared, diff.copy()
    if reduction == "sum":
        return squared, 2.0 * diff
    if reduction == "mean":
        return squared / diff.size, 2.0 * diff / diff.size
    raise ValueError(f"unknown mse reduction {reduction!r}; expected one of {MSE_REDUCTIONS}")


def softmax(logits: FloatArray) -> FloatArray:
    """Softmax over the last axis, shifted by the maximum for stability."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: FloatArray = exp / np.sum(exp, axis=-1, keepdims=True)
    return result


def cross_entropy(y: FloatArray, target: int) -> tuple[float, FloatArray]:
    """Softmax cross-entropy of one example over its flattened output.

    Parameters
    ----------
    y : ndarray of any shape
        Logits; softmax runs over ``y.ravel()``.
    target : int
        Index of the true class in ``y.ravel()``.

    Returns
    -------
    loss : float
        ``-log softmax(y)[target]``.
    grad : ndarray of ``y``'s shape
        ``softmax(y) - onehot(target)``.
    """
    logits = np.asarray(y, dtype=np.float64).ravel()
    if not 0 <= target < logits.size:
        raise ValueError(f"class index {target} is out of range for {logits.size} outputs")
    shifted = logits - logits.max()
    log_norm = np.log(np.sum(np.exp(shifted)))
    loss = float(log_norm - shifted[target])
    grad = np.exp(shifted - log_norm)
    grad[target] -= 1.0
    return loss, grad.reshape(np.shape(y))


def loss_and_grad(
    y: FloatArray, target: FloatArray | int, loss_type: str, reduction: str = "half_sum"
) -> tuple[float, FloatArray]:
    """Dispatch to :func:`mse` or :func:`cross_entropy`."""
    if loss_type == "mse":
        return mse(y, np.asarray(target, dtype=np.float64), reduction)
    if loss_type == "cross_entropy":
        return cross_entropy(y, int(np.asarray(target)))
    raise ValueError(f"unknown loss {loss_type!r}; expected 'mse' or 'cross_entropy'")


def batch_losses(
    output: FloatArray, targets: Sequence[Any] | FloatArray, loss_type: str, reduction: str = "half_sum"
) -> tuple[FloatArray, FloatArray]:
    """:func:`loss_and_grad` of every example of a batch at once.

    Each example's loss and gradient equal what :func:`loss_and_grad` gives for it alone
    (the same operations, row by row), without a Python loop over the batch.

    Parameters
    ----------
    output : ndarray of shape (N, ...)
    targets : sequence of N targets
        Arrays of one example's output shape (mse) or class indices (cross-entropy).
    loss_type, reduction
        As for :func:`loss_and_grad`.

    Returns
    -------
    losses : ndarray of shape (N,)
    grads : ndarray of shape (N, ...)
    """
    output = np.asarray(output, dtype=np.float64)
    n = output.shape[0]
    rows = output.reshape(n, -1)
    if loss_type == "mse":
        target = np.asarray(targets, dtype=np.float64)
        if target.shape != output.shape:
            raise ValueError(f"targets have shape {target.shape}, the outputs {output.shape}")
        diff = rows - target.reshape(n, -1)
        squared = np.sum(diff * diff, axis=1)
        if reduction == "half_sum":
            return 0.5 * squared, diff.reshape(output.shape)
        if reduction == "sum":
            return squared, (2.0 * diff).reshape(output.shape)
        if reduction == "mean":
            size = rows.shape[1]
            return squared / size, (2.0 * diff / size).reshape(output.shape)
        raise ValueError(f"unknown mse reduction {reduction!r}; expected one of {MSE_REDUCTIONS}")
    if loss_type == "cross_entropy":
        if isinstance(targets, np.ndarray) and targets.dtype.kind in "iu":
            classes = targets.reshape(n).astype(np.intp, copy=False)  # a training batch
        else:
            classes = np.array([int(np.asarray(t)) for t in targets], dtype=np.intp)
        outside = (classes < 0) | (classes >= rows.shape[1])
        if outside.any():
            bad = int(classes[np.argmax(outside)])
            raise ValueError(f"class index {bad} is out of range for {rows.shape[1]} outputs")
        shifted = rows - rows.max(axis=1, keepdims=True)
        log_norm = np.log(np.sum(np.exp(shifted), axis=1))
        picked = np.arange(n)
        grad = np.exp(shifted - log_norm[:, None])
        grad[picked, classes] -= 1.0
        return log_norm - shifted[picked, classes], grad.reshape(output.shape)
    raise ValueError(f"unknown loss {loss_type!r}; expected 'mse' or 'cross_entropy'")

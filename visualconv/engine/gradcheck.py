"""Numerical gradient check: central differences against the analytic gradients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .errors import Message
from .kinds.loss import NO_BACKWARD, loss_difference
from .model import Model, batch_loss, forward, run
from .windows import FloatArray

STEP = 1e-6
TOLERANCE = 1e-6
# Tensors with more cells are checked on a seeded sample of this many cells, so the
# check of a large model finishes; the result says how many cells were checked.
MAX_CELLS = 100


@dataclass(frozen=True, slots=True)
class TensorCheck:
    """Finite differences against the analytic gradient of one tensor.

    Attributes
    ----------
    name : str
        ``input`` or ``layers[i].weight`` / ``layers[i].bias``.
    analytic, numeric : ndarray of the tensor's shape
    relative_error : ndarray of the tensor's shape
        ``|analytic - numeric| / max(|analytic|, |numeric|, 1e-4)`` per cell; NaN for
        cells that were not sampled (see ``checked``).
    checked : int
        How many cells were compared (all of them unless the tensor is large).
    """

    name: str
    analytic: FloatArray = field(repr=False)
    numeric: FloatArray = field(repr=False)
    relative_error: FloatArray = field(repr=False)
    checked: int = -1

    @property
    def max_error(self) -> float:
        """Largest per-cell relative error over the checked cells."""
        compared = self.relative_error[np.isfinite(self.relative_error)]
        return float(compared.max()) if compared.size else 0.0

    @property
    def sampled(self) -> bool:
        """Whether only a sample of the cells was compared."""
        return 0 <= self.checked < self.relative_error.size

    @property
    def ok(self) -> bool:
        """Whether every cell agrees within :data:`TOLERANCE`."""
        return self.max_error <= TOLERANCE


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of :func:`check_gradients`.

    Attributes
    ----------
    tensors : list of TensorCheck
    kinks : list of str
        Non-differentiable points met (relu at 0, max-pool ties), where finite
        differences and autograd may legitimately disagree.
    """

    tensors: list[TensorCheck]
    kinks: list[str]

    @property
    def ok(self) -> bool:
        """Whether every tensor agrees."""
        return all(t.ok for t in self.tensors)


def objective(model: Model, x: FloatArray | None = None) -> float:
    """The scalar whose gradient the backward pass computes.

    ``loss(output, target)`` with a target; ``sum(upstream * output)`` with upstream
    deltas, whose gradient with respect to the output is exactly ``upstream``.
    """
    inp = model.input if x is None else x
    output = forward(model.layers, inp[None])[-1].output
    if model.upstream is not None:
        return float(np.sum(model.upstream * output[0]))
    if model.target is None or model.loss is None:
        raise ValueError(Message("{sentence}: nothing to check", sentence=Message(NO_BACKWARD)))
    return batch_loss(output, [model.target], model.loss)[0]


def _output(model: Model, x: FloatArray | None = None) -> FloatArray:
    """The last layer's output for the model's example, shape (...) without batch."""
    inp = model.input if x is None else x
    result: FloatArray = forward(model.layers, inp[None])[-1].output[0]
    return result


def objective_difference(model: Model, plus: FloatArray, minus: FloatArray) -> float:
    """``objective(plus) - objective(minus)`` for two outputs of the model.

    Computed cell by cell before summing, so output cells the perturbation did not
    reach cancel exactly instead of adding rounding noise (which would swamp a
    finite difference of a large model).
    """
    if model.upstream is not None:
        return float(np.sum(model.upstream * (plus - minus)))
    if model.target is None or model.loss is None:
        raise ValueError(Message("{sentence}: nothing to check", sentence=Message(NO_BACKWARD)))
    return loss_difference(model.loss, model.target, plus, minus)


def _cells(shape: tuple[int, ...], max_cells: int) -> list[tuple[int, ...]]:
    """Every cell, or a seeded sample of ``max_cells`` of them for a large tensor."""
    size = int(np.prod(shape))
    if size <= max_cells:
        return [tuple(int(v) for v in index) for index in np.ndindex(shape)]
    flat = np.sort(np.random.default_rng(0).choice(size, max_cells, replace=False))
    return [tuple(int(v) for v in np.unravel_index(i, shape)) for i in flat]


def _relative(a: FloatArray, n: FloatArray) -> FloatArray:
    scale = np.maximum(np.maximum(np.abs(a), np.abs(n)), 1e-4)
    result: FloatArray = np.abs(a - n) / scale
    return result


def find_kinks(model: Model, step: float = STEP) -> list[str]:
    """Places where the model is not differentiable at its current values."""
    notes: list[str] = []
    records = forward(model.layers, model.input[None])
    for i, (layer, record) in enumerate(zip(model.layers, records, strict=True)):
        kinks = layer.kind.kinks(layer, record.input[0], record.pre_activation[0], 10 * step)
        notes.extend(f"layers[{i}]: {note}" for note in kinks)
    return notes


def iter_check(
    model: Model, step: float = STEP, max_cells: int = MAX_CELLS
) -> Iterator[tuple[int, int] | CheckResult]:
    """Central differences for every tensor, yielding progress, then the result.

    Yields ``(cells done, cells in all)`` after each perturbed cell, so a window can
    show progress and stop early; the last item is the :class:`CheckResult`. Checks
    the input and every layer's weight and bias; a tensor with more than
    ``max_cells`` cells is checked on a seeded sample of that many cells.

    Raises
    ------
    ValueError
        When the model has no backward pass.
    """
    result = run(model)
    if result.grads is None:
        raise ValueError(Message("{sentence}: nothing to check", sentence=Message(NO_BACKWARD)))
    jobs: list[tuple[str, FloatArray, FloatArray, Callable[[FloatArray], FloatArray]]] = [
        ("input", model.input, result.grads[0].grad_input[0], lambda x: _output(model, x))
    ]
    for i, (layer, g) in enumerate(zip(model.layers, result.grads, strict=True)):
        for name, value in layer.parameters().items():
            analytic = g.grad_weight if name == "weight" else g.grad_bias
            assert analytic is not None

            def f(p: FloatArray, i: int = i, name: str = name) -> FloatArray:
                return _output(model.with_layer(i, model.layers[i].with_parameters(**{name: p})))

            jobs.append((f"layers[{i}].{name}", value, analytic, f))
    plans = [(job, _cells(job[1].shape, max_cells)) for job in jobs]
    total = sum(len(cells) for _, cells in plans)
    done = 0
    checks = []
    for (name, value, analytic, output), cells in plans:
        numeric = np.full(value.shape, np.nan)
        work = np.array(value, dtype=np.float64)
        for index in cells:
            old = work[index]
            work[index] = old + step
            plus = output(work)
            work[index] = old - step
            minus = output(work)
            work[index] = old
            numeric[index] = objective_difference(model, plus, minus) / (2 * step)
            done += 1
            yield done, total
        checks.append(TensorCheck(name, analytic, numeric, _relative(analytic, numeric), len(cells)))
    yield CheckResult(checks, find_kinks(model, step))


def check_gradients(model: Model, step: float = STEP, max_cells: int = MAX_CELLS) -> CheckResult:
    """Compare analytic gradients with central differences for every tensor (see :func:`iter_check`)."""
    for item in iter_check(model, step, max_cells):
        if isinstance(item, CheckResult):
            return item
    raise AssertionError("iter_check ends with a CheckResult")  # pragma: no cover

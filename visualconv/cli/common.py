"""What every sub-command shares: exit codes, the usage error, JSON values, loading a model.

Nothing here imports a sub-command, so every sub-command module can import this one.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from ..engine.errors import ModelError
from ..engine.kinds.loss import NO_BACKWARD

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    """A command-line mistake (bad option value, missing layer) to report as exit 2."""


class Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line, as every other visualconv error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise :class:`UsageError` with the parser's name and the message (one line)."""
        raise UsageError(f"{self.prog}: {message}")


def to_json_value(value: Any) -> Any:
    """Arrays to nested lists, NumPy scalars to Python numbers (floats round-trip)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def load(path: str) -> Any:
    """The model of the file at ``path`` (a placed ModelError otherwise)."""
    from ..modelfile import load_model

    return load_model(path)


def require_backward(model: Any, file: str) -> None:
    """Gradients need a start: ``upstream``, or ``target`` with ``loss``."""
    if not model.has_backward:
        raise ModelError(
            f"missing: {NO_BACKWARD}, so there is no backward pass; "
            "expected one of them to compute gradients",
            "upstream",
            file,
        )


def check_finite(result: dict[str, Any], file: str) -> None:
    """Refuse a result that overflowed float64 (inf or NaN), naming the first layer where it did.

    Raises
    ------
    ModelError
        Placed at the first layer whose values or gradients are not finite.
    """
    loss = result.get("loss")
    for entry in result["layers"]:
        for key, value in entry.items():
            if isinstance(value, np.ndarray) and not np.isfinite(value).all():
                raise ModelError(
                    f"its {key.replace('_', ' ').replace('pre activation', 'pre-activation')} overflows "
                    "float64 (it holds inf or NaN); expected smaller "
                    "numbers in the input, weights, upstream or target",
                    f"layers[{entry['index']}]",
                    file,
                )
    if loss is not None and not math.isfinite(loss):
        raise ModelError(
            "the loss overflows float64 (it is inf or NaN); expected smaller numbers in the input, weights "
            "or target",
            "target",
            file,
        )


def layer_index(model: Any, layer: int, file: str) -> int:
    """``--layer`` as an index from 0 (negative counts from the end); UsageError when out of range."""
    count = len(model.layers)
    if not -count <= layer < count:
        raise UsageError(f"{file}: --layer {layer}: the model has layers 0..{count - 1}")
    return layer % count

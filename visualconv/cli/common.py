"""What every sub-command shares: exit codes, the usage error, JSON values, loading a model.

Nothing here imports a sub-command, so every sub-command module can import this one.
"""

from __future__ import annotations

import argparse
import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..engine.errors import Message, ModelError
from ..engine.kinds.loss import NO_BACKWARD
from ..i18n import N_, _

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2


# argparse's own words (the help's headings, its usage errors), looked up in visualconv's
# catalogues while the command line is read (argparse asks gettext's "argparse" domain,
# which no system ships for these languages). The %-fields stay as they are.
ARGPARSE_WORDS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("the following arguments are required: %s"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
)


@contextlib.contextmanager
def argparse_language() -> Iterator[None]:
    """While it lasts, argparse's own words (``usage:``, ``options``, its errors) are in the language in use.

    In English they are argparse's, unchanged.
    """
    words: Any = vars(argparse)  # argparse's module namespace: its "_" is gettext's gettext
    english = words["_"]
    words["_"] = _
    try:
        yield
    finally:
        words["_"] = english


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


# The arrays of `grad`'s result in words, for the overflow message (the keys stay as they are).
_ARRAY_WORDS = {
    "pre_activation": N_("pre-activation"),
    "output": N_("output"),
    "grad_output": N_("grad output"),
    "grad_pre_activation": N_("grad pre-activation"),
    "grad_weight": N_("grad weight"),
    "grad_bias": N_("grad bias"),
    "grad_input": N_("grad input"),
}


def require_backward(model: Any, file: str) -> None:
    """Gradients need a start: ``upstream``, or ``target`` with ``loss``."""
    if not model.has_backward:
        raise ModelError(
            Message(
                "missing: {sentence}, so there is no backward pass; expected one of them to compute "
                "gradients",
                sentence=Message(NO_BACKWARD),
            ),
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
                    Message(
                        "its {array} overflows float64 (it holds inf or NaN); expected smaller numbers in "
                        "the input, weights, upstream or target",
                        array=Message(_ARRAY_WORDS.get(key, key)),
                    ),
                    f"layers[{entry['index']}]",
                    file,
                )
    if loss is not None and not math.isfinite(loss):
        raise ModelError(
            Message(
                "the loss overflows float64 (it is inf or NaN); expected smaller numbers in the input, "
                "weights or target"
            ),
            "target",
            file,
        )


def palette_help() -> str:
    """The help of ``--palette`` (the window's and ``export``'s), naming View ▸ Palette's choices."""
    from ..engine.palette import PALETTES

    return _(
        "colours of the heat maps' cells: {names} (default rdbu, red-blue; the choices of View > Palette)"
    ).format(names=", ".join(PALETTES))


def palette_option(value: str | None, prog: str) -> str | None:
    """``--palette NAME`` as a View ▸ Palette key (None when not given); UsageError for another name."""
    from ..engine.palette import PALETTES

    if value is None or value in PALETTES:
        return value
    raise UsageError(
        f"{prog}: --palette {value}: " + _("expected one of {names}").format(names=", ".join(PALETTES))
    )


def layer_index(model: Any, layer: int, file: str) -> int:
    """``--layer`` as an index from 0 (negative counts from the end); UsageError when out of range."""
    count = len(model.layers)
    if not -count <= layer < count:
        raise UsageError(
            f"{file}: --layer {layer}: " + _("the model has layers 0..{last}").format(last=count - 1)
        )
    return layer % count

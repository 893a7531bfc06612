"""``visualconv check FILE``: finite differences against the analytic gradients (exit 1 on a mismatch)."""

from __future__ import annotations

import argparse
from typing import Any

from ..engine.errors import ModelError
from ..i18n import _
from ..textsafe import printable
from .common import EXIT_MISMATCH, EXIT_OK, check_finite, load, require_backward

NAME = "check"


def add_parser(sub: Any) -> None:
    """Register the ``check`` sub-command."""
    p = sub.add_parser(NAME, help=_("check the gradients against finite differences (exit 1 on a mismatch)"))
    p.add_argument("file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``visualconv check FILE``: finite differences against the analytic gradients."""
    from ..engine.gradcheck import TOLERANCE, check_gradients
    from ..engine.model import gradients

    model = load(args.file)
    require_backward(model, args.file)
    try:
        check_finite(gradients(model), args.file)
        result = check_gradients(model)
    except ValueError as exc:
        raise ModelError(exc.args[0] if exc.args else str(exc), "", args.file) from None
    print(
        _("gradient check of {file} (central differences, tolerance {tolerance})").format(
            file=printable(args.file), tolerance=f"{TOLERANCE:g}"
        )
    )
    for tensor in result.tensors:
        mark = _("ok") if tensor.ok else _("MISMATCH")
        sample = (
            "  "
            + _("({checked} of {size} cells, sampled)").format(
                checked=tensor.checked, size=tensor.analytic.size
            )
            if tensor.sampled
            else ""
        )
        error = _("max relative error {error}").format(error=f"{tensor.max_error:.2e}")
        print(f"  {tensor.name:<20} {tuple(tensor.analytic.shape)!s:<16} {error}  {mark}{sample}")
    for note in result.kinks:
        print(
            "  "
            + _("note: {note} (not differentiable there; finite differences may disagree)").format(note=note)
        )
    print(_("all gradients agree") if result.ok else _("gradients DISAGREE"))
    return EXIT_OK if result.ok else EXIT_MISMATCH

"""``visualconv grad FILE [--json]``: every layer's values and gradients."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..engine.errors import ModelError
from ..i18n import _
from ..samples import shown
from ..textsafe import printable
from .common import EXIT_OK, check_finite, load, require_backward, to_json_value

NAME = "grad"


def add_parser(sub: Any) -> None:
    """Register the ``grad`` sub-command."""
    p = sub.add_parser(NAME, help=_("print every layer's values and gradients"))
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help=_("machine-readable output (visualconv.grad/1)"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``visualconv grad FILE [--json]``."""
    from ..engine.model import gradients

    model = load(args.file)
    require_backward(model, args.file)
    try:
        result = gradients(model)
    except ModelError as exc:
        raise exc.in_file(args.file) from None
    check_finite(result, args.file)
    if args.json:
        print(json.dumps(to_json_value(result)))
        return EXIT_OK
    from ..engine.explain import fmt_array

    print(f"{printable(shown(model.name))}  ({printable(args.file)})")  # text is data
    if result["loss"] is not None:
        print(f"loss = {result['loss']:.10g}")
    for entry in result["layers"]:
        print(f"\nlayers[{entry['index']}]  {entry['type']}")
        for key, value in entry.items():
            if key in ("index", "type"):
                continue
            if value is None:
                print(f"  {key:<20} " + _("none (no bias term)"))
                continue
            text = (
                fmt_array(value) if value.size <= 64 else _("({n} values; use --json)").format(n=value.size)
            )
            print(f"  {key:<20} {tuple(value.shape)!s:<16} {text}")
    return EXIT_OK

"""``visualconv steps FILE --layer L --pass P [--step K]``: each overlay's arithmetic as text."""

from __future__ import annotations

import argparse
from typing import Any

from ..engine.errors import ModelError
from .common import EXIT_OK, UsageError, layer_index, load

NAME = "steps"


def add_parser(sub: Any) -> None:
    """Register the ``steps`` sub-command."""
    p = sub.add_parser(NAME, help="print each overlay's arithmetic")
    p.add_argument("file")
    p.add_argument("--layer", type=int, default=0, help="layer index, from 0 (default 0; -1 is the last)")
    p.add_argument("--pass", dest="pass_name", choices=("forward", "backward"), default="backward")
    p.add_argument("--step", type=int, default=None, help="print only this step (0..n)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``visualconv steps FILE --layer L --pass P``: each overlay's arithmetic as text."""
    from ..engine.explain import explain, explain_all
    from ..engine.trace import trace_layer

    model = load(args.file)
    index = layer_index(model, args.layer, args.file)
    try:
        trace = trace_layer(model, index, args.pass_name)
    except ValueError as exc:
        raise ModelError(str(exc), "", args.file) from None
    print(
        f"{model.name}: layers[{index}] ({model.layers[index].type}), "
        f"{args.pass_name} pass, {trace.n} overlays"
    )
    if args.step is not None:
        if not 0 <= args.step <= trace.n:
            raise UsageError(f"{args.file}: --step {args.step}: this pass has steps 0..{trace.n}")
        print("\n".join(explain(trace, trace.step(args.step))))
    else:
        print("\n".join(explain_all(trace)))
    return EXIT_OK

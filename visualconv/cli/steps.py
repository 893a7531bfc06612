"""``visualconv steps FILE --layer L --pass P [--step K | --from K --limit N]``: each overlay's arithmetic.

A pass prints at most :data:`PAGE` steps unless ``--limit`` says otherwise (``--limit 0``
prints all); a shortened page ends with a line saying which steps were shown and how to
get the next page.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..engine.errors import Message, ModelError
from ..i18n import _
from ..samples import shown
from ..textsafe import printable
from .common import EXIT_OK, UsageError, layer_index, load

NAME = "steps"
PAGE = 500
"""Steps printed by default: a layer of millions of overlays prints one page and says so."""


def _steps_of(n: int) -> str:
    return _("this pass has steps 0..{last}").format(last=n)


def add_parser(sub: Any) -> None:
    """Register the ``steps`` sub-command."""
    p = sub.add_parser(NAME, help=_("print each overlay's arithmetic"))
    p.add_argument("file")
    p.add_argument("--layer", type=int, default=0, help=_("layer index, from 0 (default 0; -1 is the last)"))
    p.add_argument("--pass", dest="pass_name", choices=("forward", "backward"), default="backward")
    p.add_argument("--step", type=int, default=None, help=_("print only this step (0..n)"))
    p.add_argument(
        "--from", dest="start", type=int, default=0, metavar="K", help=_("first step to print (default 0)")
    )
    p.add_argument(
        "--limit",
        type=int,
        default=PAGE,
        metavar="N",
        help=_("print at most N steps (default {n}; 0 prints every step)").format(n=PAGE),
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``visualconv steps FILE --layer L --pass P``: each overlay's arithmetic as text."""
    from ..engine.explain import explain
    from ..engine.trace import trace_layer

    model = load(args.file)
    index = layer_index(model, args.layer, args.file)
    if args.pass_name == "backward" and not model.has_backward:
        raise ModelError(
            Message(
                "the model has no 'upstream' and no 'target' with 'loss', so there is no "
                "backward pass; expected one of them, or --pass forward to step through the "
                "forward pass"
            ),
            "upstream",
            args.file,
        )
    if args.limit < 0:
        raise UsageError(f"visualconv steps: --limit {args.limit}: " + _("expected 0 (every step) or more"))
    try:
        trace = trace_layer(model, index, args.pass_name)
    except ValueError as exc:
        raise ModelError(exc.args[0] if exc.args else str(exc), f"layers[{index}]", args.file) from None
    passes = {"forward": _("forward pass"), "backward": _("backward pass")}
    print(
        f"{printable(shown(model.name))}: layers[{index}] ({model.layers[index].type}), "
        + _("{pass_name}, {n} overlays").format(pass_name=passes[args.pass_name], n=trace.n)
    )
    if args.step is not None:
        if not 0 <= args.step <= trace.n:
            raise UsageError(f"{args.file}: --step {args.step}: " + _steps_of(trace.n))
        print("\n".join(explain(trace, trace.step(args.step))))
        return EXIT_OK
    if not 0 <= args.start <= trace.n:
        raise UsageError(f"{args.file}: --from {args.start}: " + _steps_of(trace.n))
    stop = trace.n + 1 if args.limit == 0 else min(trace.n + 1, args.start + args.limit)
    for k in range(args.start, stop):  # one step at a time: memory stays bounded
        print("\n".join(explain(trace, trace.step(k))))
    if stop <= trace.n or args.start > 0:
        more = "; " + _("the next page: --from {stop}").format(stop=stop) if stop <= trace.n else ""
        page = _("steps {first}..{last} of 0..{n} shown").format(first=args.start, last=stop - 1, n=trace.n)
        print(f"({page}{more}; " + _("--limit 0 prints every step") + ")")
    return EXIT_OK

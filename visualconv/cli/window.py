"""``visualconv [FILE]``: the window launcher (``--screenshot`` renders it to a PNG and exits).

Registered as the sub-command ``window``, hidden from the help's list of commands:
:func:`visualconv.cli.main` chooses it when the command line names no other
command, so ``visualconv model.json`` opens the window. Its parser is named
``visualconv``, as the command itself.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..i18n import _
from .common import EXIT_OK, palette_help, palette_option

NAME = "window"


def add_parser(sub: Any, commands: tuple[str, ...]) -> None:
    """Register the launcher; ``commands`` are the headless commands its description names."""
    p = sub.add_parser(
        NAME,
        prog="visualconv",
        description=_(
            "A visual debugger for backpropagation through convolution and pooling layers. "
            "Headless commands: {commands} (visualconv COMMAND --help)."
        ).format(commands=", ".join(commands)),
    )
    p.add_argument("file", nargs="?", help=_("model file to open (default: the seed 1-D example)"))
    p.add_argument("--screenshot", metavar="OUT.png", help=_("render the window to a PNG and exit"))
    p.add_argument("--layer", type=int, default=0, help=_("layer to show (with --screenshot)"))
    p.add_argument("--pass", dest="pass_name", choices=("forward", "backward"), default=None)
    p.add_argument("--step", type=int, default=None, help=_("step to show (with --screenshot)"))
    p.add_argument(
        "--window-size",
        "--size",
        dest="size",
        metavar="WxH",
        default=None,
        help=_(
            "window size, for example 1280x720 (--screenshot renders exactly that size; "
            "default: 1400x900 or the screen, whichever is smaller)"
        ),
    )
    p.add_argument(
        "--show",
        action="append",
        metavar="DOCK",
        default=[],
        help=_("open a dock by name (training, editor, gradient-check, closed-form, layers); repeatable"),
    )
    p.add_argument(
        "--tour",
        action="store_true",
        help=_("start the guided tour of the seed 1-D example (Help > Guided tour)"),
    )
    p.add_argument(
        "--zoom",
        metavar="PERCENT",
        default=None,
        help=_("zoom of the heat maps, 50 to 400 (default: 100, or as last time)"),
    )
    p.add_argument(
        "--presentation",
        action="store_true",
        help=_(
            "presentation mode (F5): the layer's panels and the step text, large (with --screenshot: "
            "at --window-size)"
        ),
    )
    p.add_argument("--palette", metavar="NAME", default=None, help=palette_help())
    p.add_argument("--debug", action="store_true", help=_("show tracebacks of errors"))
    p.add_argument("--version", action="store_true", help=_("print the version and exit"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Open the window (or print the version); returns the exit status."""
    if args.version:
        from .. import __version__

        print(f"visualconv {__version__}")
        return EXIT_OK
    palette_option(args.palette, "visualconv")
    from ..app.main import run_app

    return int(run_app(args))

"""The one parser of the ``visualconv`` command and the registry of its sub-commands.

Each sub-command is one module of this package with ``NAME``, ``add_parser(sub)``
(which sets ``func``) and ``run(args) -> int``. To add one, write the module and add
it to :data:`SUBCOMMANDS`; the window launcher (:mod:`.window`) is the hidden
sub-command chosen when no other is named.
"""

from __future__ import annotations

from types import ModuleType

from ..i18n import _
from . import check, export, grad, import_network, steps, train, window
from .common import Parser

SUBCOMMANDS: tuple[ModuleType, ...] = (grad, check, steps, train, export, import_network)
"""The headless sub-commands, in the order of the help text."""

COMMANDS = tuple(module.NAME for module in SUBCOMMANDS)
WINDOW = window.NAME


def command_named(argv: list[str]) -> bool:
    """Whether the command line names a headless command: its first word not starting with '-'."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word in COMMANDS


def build_parser() -> Parser:
    """The parser of every sub-command, the window launcher among them (hidden from the list)."""
    parser = Parser(prog="visualconv", description=_("Headless commands of visualconv."))
    parser.add_argument("--debug", action="store_true", help=_("show tracebacks of errors"))
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=Parser, metavar="{" + ",".join(COMMANDS) + "}"
    )
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    window.add_parser(sub, COMMANDS)
    return parser

"""The ``visualconv`` command: the window, and headless grad / check / steps / train / export.

One parser (:mod:`.parser`) with one module per sub-command (:mod:`.grad`, :mod:`.check`,
:mod:`.steps`, :mod:`.train`, :mod:`.export`, and the window launcher :mod:`.window`);
:func:`main` (:mod:`.entry`) runs one and turns every error into exit status 2 with one
line on stderr. Shared pieces are in :mod:`.common`.
"""

from __future__ import annotations

from .common import EXIT_ERROR, EXIT_MISMATCH, EXIT_OK, UsageError, check_finite, to_json_value
from .entry import main
from .parser import COMMANDS, SUBCOMMANDS, build_parser

__all__ = [
    "COMMANDS",
    "EXIT_ERROR",
    "EXIT_MISMATCH",
    "EXIT_OK",
    "SUBCOMMANDS",
    "UsageError",
    "build_parser",
    "check_finite",
    "main",
    "to_json_value",
]

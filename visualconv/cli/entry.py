"""``main()``: parse the command line once, run the sub-command, turn every error into exit 2.

Every error ends as exit status 2 and one line on stderr naming the file, the place
and what was expected; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence

import numpy as np

from .. import i18n
from ..engine.errors import ModelError
from ..engine.memory import reuse_freed_memory
from .common import EXIT_ERROR, EXIT_OK, UsageError, argparse_language
from .parser import WINDOW, build_parser, command_named

MAX_MESSAGE = 2000
"""Error lines are cut to this many characters (the file and the place come first)."""


def _one_line(text: str) -> str:
    """``text`` as one printable line (newlines and control characters escaped)."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


LONG_WORD = 200
"""A path or other run without spaces longer than this is shortened in its middle."""


def shorten(line: str, limit: int = MAX_MESSAGE) -> str:
    """A message line of at most ``limit`` characters that still ends in its reason.

    Long paths (any run of more than :data:`LONG_WORD` characters without a space) keep
    their first and last 80 characters around ``...``; a line still too long loses its
    middle, never its end (the reason and what was expected).
    """
    line = re.sub(rf"\S{{{LONG_WORD + 1},}}", lambda m: m.group()[:80] + "..." + m.group()[-80:], line)
    if len(line) > limit:
        head = limit // 3
        line = line[:head] + " ... " + line[len(line) - (limit - head - 5) :]
    return line


def _say(text: str) -> None:
    """Write one line to stderr, whatever characters it holds and whatever the stream's encoding."""
    line = shorten(_one_line(text))
    stream = sys.stderr
    if stream is None:  # pragma: no cover - no console at all
        return
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        line = line.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:  # pragma: no cover - an unknown encoding name
        line = line.encode("ascii", "backslashreplace").decode("ascii")
    with contextlib.suppress(OSError, ValueError):
        stream.write(line + "\n")
        stream.flush()


@contextlib.contextmanager
def _quiet(debug: bool) -> Iterator[None]:
    """Headless commands: NumPy's floating-point warnings and other warnings stay off stderr.

    Overflow is reported as one error by :func:`check_finite` instead; ``--debug`` keeps warnings.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore" if not debug else "warn"):
        if not debug:
            warnings.simplefilter("ignore")
        yield


def take_language(args: list[str]) -> tuple[list[str], str | None]:
    """The command line without ``--lang CODE`` (or ``--lang=CODE``), and that code (None without one).

    ``--lang`` works before or after the command, for every command and the window.

    Raises
    ------
    UsageError
        ``--lang`` comes last, without its code.
    """
    rest: list[str] = []
    code: str | None = None
    words = iter(args)
    for word in words:
        if word == "--":
            rest.append(word)
            rest.extend(words)
            break
        if word == "--lang":
            code = next(words, None)
            if code is None:
                raise UsageError("visualconv: --lang: expected a language code (en, de, pt-BR, id, zh-CN)")
        elif word.startswith("--lang="):
            code = word.split("=", 1)[1]
        else:
            rest.append(word)
    return rest, code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``visualconv`` command.

    Returns
    -------
    int
        0 on success, 1 when ``check`` finds a mismatch, 2 on any error (one line
        on stderr naming the file, the place and what was expected; ``--debug``
        adds the traceback), 130 when interrupted.
    """
    reuse_freed_memory()  # an entry point: the engine's allocator setting (see engine/memory.py)
    args_list = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    debug = "--debug" in args_list
    args_list = [a for a in args_list if a != "--debug"]
    file = ""
    try:
        args_list, language = take_language(args_list)
        try:
            i18n.set_language(i18n.choose(language))
        except ValueError as exc:
            raise UsageError(f"visualconv: {exc}") from None
        if not command_named(args_list):
            args_list = [WINDOW, *args_list]
        with argparse_language():
            args = build_parser().parse_args(args_list)
        file = str(getattr(args, "file", "") or "")
        args.lang = language
        if args.command == WINDOW:
            args.debug = debug
            return int(args.func(args))
        with _quiet(debug):
            return int(args.func(args))
    except ModelError as exc:
        if debug:
            traceback.print_exc()
        if file and not exc.file:
            exc = exc.in_file(file)
        _say("visualconv: " + exc.localized())  # in English exactly f"visualconv: {exc}"
        return EXIT_ERROR
    except UsageError as exc:
        _say(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("visualconv: " + i18n._("interrupted"))
        return 130
    except SystemExit as exc:  # argparse --help and --version
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_ERROR)
    except MemoryError:
        if debug:
            traceback.print_exc()
        where = f"{file}: " if file else ""
        _say(f"visualconv: {where}" + i18n._("not enough memory for this model; expected a smaller model"))
        return EXIT_ERROR
    except BrokenPipeError:  # the reader of stdout went away (| head): nothing left to say
        with contextlib.suppress(Exception):
            # Point stdout at /dev/null so that the flush at exit cannot complain.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:
        if debug:
            traceback.print_exc()
        where = f"{file}: " if file else ""
        text = " ".join(str(exc).split())
        text = text if len(text) <= 200 else text[:197] + "..."
        _say(
            f"visualconv: {where}"
            + i18n._("unexpected error ({error}); run with --debug for the traceback").format(
                error=f"{exc.__class__.__name__}: {text}"
            )
        )
        return EXIT_ERROR

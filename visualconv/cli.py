"""The ``visualconv`` command: the window, and headless grad / check / steps / train / export.

Every error ends as exit status 2 and one line on stderr naming the file, the place
and what was expected; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .engine.errors import ModelError

COMMANDS = ("grad", "check", "steps", "train", "export")
EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2
MAX_MESSAGE = 2000
"""Error lines are cut to this many characters (the file and the place come first)."""


class UsageError(Exception):
    """A command-line mistake (bad option value, missing layer) to report as exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line, as every other visualconv error."""

    def error(self, message: str) -> None:  # type: ignore[override]
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


def _load(path: str) -> Any:
    from .modelfile import load_model

    return load_model(path)


def _require_backward(model: Any, file: str) -> None:
    """Gradients need a start: ``upstream``, or ``target`` with ``loss``."""
    if not model.has_backward:
        from .engine.kinds.loss import NO_BACKWARD

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


def _layer_index(model: Any, layer: int, file: str) -> int:
    count = len(model.layers)
    if not -count <= layer < count:
        raise UsageError(f"{file}: --layer {layer}: the model has layers 0..{count - 1}")
    return layer % count


def cmd_grad(args: argparse.Namespace) -> int:
    """``visualconv grad FILE [--json]``."""
    from .engine.model import gradients

    model = _load(args.file)
    _require_backward(model, args.file)
    try:
        result = gradients(model)
    except ModelError as exc:
        raise exc.in_file(args.file) from None
    check_finite(result, args.file)
    if args.json:
        print(json.dumps(to_json_value(result)))
        return EXIT_OK
    from .engine.explain import fmt_array

    print(f"{model.name}  ({args.file})")
    if result["loss"] is not None:
        print(f"loss = {result['loss']:.10g}")
    for entry in result["layers"]:
        print(f"\nlayers[{entry['index']}]  {entry['type']}")
        for key, value in entry.items():
            if key in ("index", "type"):
                continue
            if value is None:
                print(f"  {key:<20} none (no bias term)")
                continue
            text = fmt_array(value) if value.size <= 64 else f"({value.size} values; use --json)"
            print(f"  {key:<20} {tuple(value.shape)!s:<16} {text}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """``visualconv check FILE``: finite differences against the analytic gradients."""
    from .engine.gradcheck import TOLERANCE, check_gradients
    from .engine.model import gradients

    model = _load(args.file)
    _require_backward(model, args.file)
    try:
        check_finite(gradients(model), args.file)
        result = check_gradients(model)
    except ValueError as exc:
        raise ModelError(str(exc), "", args.file) from None
    print(f"gradient check of {args.file} (central differences, tolerance {TOLERANCE:g})")
    for tensor in result.tensors:
        mark = "ok" if tensor.ok else "MISMATCH"
        sample = f"  ({tensor.checked} of {tensor.analytic.size} cells, sampled)" if tensor.sampled else ""
        print(
            f"  {tensor.name:<20} {tuple(tensor.analytic.shape)!s:<16} "
            f"max relative error {tensor.max_error:.2e}  {mark}{sample}"
        )
    for note in result.kinks:
        print(f"  note: {note} (not differentiable there; finite differences may disagree)")
    print("all gradients agree" if result.ok else "gradients DISAGREE")
    return EXIT_OK if result.ok else EXIT_MISMATCH


def cmd_steps(args: argparse.Namespace) -> int:
    """``visualconv steps FILE --layer L --pass P``: each overlay's arithmetic as text."""
    from .engine.explain import explain, explain_all
    from .engine.trace import trace_layer

    model = _load(args.file)
    index = _layer_index(model, args.layer, args.file)
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


def build_parser() -> argparse.ArgumentParser:
    """The parser of the headless sub-commands."""
    parser = _Parser(prog="visualconv", description="Headless commands of visualconv.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("grad", help="print every layer's values and gradients")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="machine-readable output (visualconv.grad/1)")
    p.set_defaults(func=cmd_grad)

    p = sub.add_parser("check", help="check the gradients against finite differences (exit 1 on a mismatch)")
    p.add_argument("file")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("steps", help="print each overlay's arithmetic")
    p.add_argument("file")
    p.add_argument("--layer", type=int, default=0, help="layer index, from 0 (default 0; -1 is the last)")
    p.add_argument("--pass", dest="pass_name", choices=("forward", "backward"), default="backward")
    p.add_argument("--step", type=int, default=None, help="print only this step (0..n)")
    p.set_defaults(func=cmd_steps)

    from . import cli_train
    from .export import command as export_command

    cli_train.add_parser(sub)
    export_command.add_parser(sub)
    return parser


def build_app_parser() -> argparse.ArgumentParser:
    """The parser of the window launcher ``visualconv [FILE]``."""
    parser = _Parser(
        prog="visualconv",
        description="A visual debugger for backpropagation through convolution and pooling layers. "
        f"Headless commands: {', '.join(COMMANDS)} (visualconv COMMAND --help).",
    )
    parser.add_argument("file", nargs="?", help="model file to open (default: the seed 1-D example)")
    parser.add_argument("--screenshot", metavar="OUT.png", help="render the window to a PNG and exit")
    parser.add_argument("--layer", type=int, default=0, help="layer to show (with --screenshot)")
    parser.add_argument("--pass", dest="pass_name", choices=("forward", "backward"), default=None)
    parser.add_argument("--step", type=int, default=None, help="step to show (with --screenshot)")
    parser.add_argument("--size", default="1400x900", help="window size WxH for --screenshot")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


def _one_line(text: str) -> str:
    """``text`` as one printable line (newlines and control characters escaped)."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _say(text: str) -> None:
    """Write one line to stderr, whatever characters it holds and whatever the stream's encoding."""
    line = _one_line(text)
    if len(line) > MAX_MESSAGE:
        line = line[: MAX_MESSAGE - 3] + "..."
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``visualconv`` command.

    Returns
    -------
    int
        0 on success, 1 when ``check`` finds a mismatch, 2 on any error (one line
        on stderr naming the file, the place and what was expected; ``--debug``
        adds the traceback), 130 when interrupted.
    """
    args_list = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    debug = "--debug" in args_list
    args_list = [a for a in args_list if a != "--debug"]
    file = ""
    try:
        if any(a in COMMANDS for a in args_list[:2]) and not (args_list and args_list[0].endswith(".json")):
            parser = build_parser()
            args = parser.parse_args(args_list)
            file = str(getattr(args, "file", "") or "")
            with _quiet(debug):
                return int(args.func(args))
        app_args = build_app_parser().parse_args(args_list)
        app_args.debug = debug
        file = str(app_args.file or "")
        if app_args.version:
            from . import __version__

            print(f"visualconv {__version__}")
            return EXIT_OK
        from .app.main import run_app

        return int(run_app(app_args))
    except ModelError as exc:
        if debug:
            traceback.print_exc()
        if file and not exc.file:
            exc = exc.in_file(file)
        _say(f"visualconv: {exc}")
        return EXIT_ERROR
    except UsageError as exc:
        _say(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("visualconv: interrupted")
        return 130
    except SystemExit as exc:  # argparse --help and --version
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_ERROR)
    except MemoryError:
        if debug:
            traceback.print_exc()
        where = f"{file}: " if file else ""
        _say(f"visualconv: {where}not enough memory for this model; expected a smaller model")
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
            f"visualconv: {where}unexpected error ({exc.__class__.__name__}: {text}); "
            "run with --debug for the traceback"
        )
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())

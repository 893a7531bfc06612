"""The ``visualconv`` command: the window, and headless grad / check / steps / train / export.

Every error ends as exit status 2 and one line on stderr naming the file, the place
and what was expected; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np

from .engine.errors import ModelError

COMMANDS = ("grad", "check", "steps", "train", "export")
EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2


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


def _layer_index(model: Any, layer: int, file: str) -> int:
    count = len(model.layers)
    if not -count <= layer < count:
        raise UsageError(f"{file}: --layer {layer}: the model has layers 0..{count - 1}")
    return layer % count


def cmd_grad(args: argparse.Namespace) -> int:
    """``visualconv grad FILE [--json]``."""
    from .engine.model import gradients

    model = _load(args.file)
    try:
        result = gradients(model)
    except ModelError as exc:
        raise exc.in_file(args.file) from None
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

    model = _load(args.file)
    try:
        result = check_gradients(model)
    except ValueError as exc:
        raise ModelError(str(exc), "", args.file) from None
    print(f"gradient check of {args.file} (central differences, tolerance {TOLERANCE:g})")
    for tensor in result.tensors:
        mark = "ok" if tensor.ok else "MISMATCH"
        print(f"  {tensor.name:<20} {tuple(tensor.analytic.shape)!s:<16} max relative error {tensor.max_error:.2e}  {mark}")
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
    print(f"{model.name}: layers[{index}] ({model.layers[index].type}), {args.pass_name} pass, {trace.n} overlays")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``visualconv`` command."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        if any(a in COMMANDS for a in args_list[:2]) and not (args_list and args_list[0].endswith(".json")):
            args = build_parser().parse_args(args_list)
            return int(args.func(args))
        app_args = build_app_parser().parse_args(args_list)
        if app_args.version:
            from . import __version__

            print(f"visualconv {__version__}")
            return EXIT_OK
        from .app.main import run_app

        return run_app(app_args)
    except ModelError as exc:
        if debug:
            traceback.print_exc()
        print(f"visualconv: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("visualconv: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # argparse --help
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_ERROR
    except Exception as exc:
        if debug:
            traceback.print_exc()
        else:
            print(f"visualconv: error: {exc.__class__.__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())

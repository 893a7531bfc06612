"""``visualconv import NET.onnx|NET.pt2``: a network as a model file.

::

    visualconv import NET.onnx|NET.pt2 [--input X.npy|X.json]
                      [--upstream DZ.npy|DZ.json | --target T --loss mse|cross_entropy] [--out model.json]

Without ``--out`` the model document goes to stdout; with it, the file is written
atomically. Every error exits 2 with one line naming the file, the node and what is
supported (see docs/bring-your-own-network.md).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ..engine.errors import Message, ModelError
from ..i18n import _
from .common import EXIT_OK

NAME = "import"


def add_parser(sub: Any) -> None:
    """Register the ``import`` sub-command."""
    p = sub.add_parser(
        NAME,
        help=_("make a model file of an ONNX (.onnx) or exported PyTorch (.pt2) network"),
        description=_(
            "Read a network made of supported layers (see docs/bring-your-own-network.md) from an "
            "ONNX file or a torch.export .pt2 archive and write it as a visualconv model file. "
            "Nothing in the file is executed or unpickled."
        ),
    )
    p.add_argument("file", help=_("the network: NET.onnx or NET.pt2"))
    p.add_argument("--input", metavar="X.npy|X.json", help=_("the example (default: seeded random values)"))
    p.add_argument("--upstream", metavar="DZ.npy|DZ.json", help=_("dL/d(output) to start the backward pass"))
    p.add_argument(
        "--target",
        metavar="T",
        help=_("a class index, or a .npy/.json file with the target (with --loss)"),
    )
    p.add_argument(
        "--loss", choices=("mse", "cross_entropy"), help=_("the loss that starts the backward pass")
    )
    p.add_argument("--out", metavar="MODEL.json", help=_("write the model file here (default: stdout)"))
    p.set_defaults(func=run)


def _target(text: str) -> Any:
    from ..bridge.arrays import read_array

    try:
        return int(text)
    except ValueError:
        pass
    if os.path.exists(text) or text.lower().endswith((".npy", ".json")):
        return read_array(text, "--target")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ModelError(
            Message("expected a class index, a JSON list or a .npy/.json file, got {text!r}", text=text[:40]),
            "--target",
        ) from None
    return value


def run(args: argparse.Namespace) -> int:
    """Run ``visualconv import``; returns the exit status (errors raise ModelError)."""
    from ..bridge.arrays import read_array
    from ..bridge.command import import_network
    from ..modelfile import atomic_write_text, dumps

    if args.upstream is not None and (args.target is not None or args.loss is not None):
        raise ModelError(
            Message("expected either --upstream or --target with --loss, not both"), "--upstream", args.file
        )
    x = None if args.input is None else read_array(args.input, "--input")
    upstream = None if args.upstream is None else read_array(args.upstream, "--upstream")
    target = None if args.target is None else _target(args.target)
    if target is not None and not isinstance(target, int) and args.loss is None:
        loss: str | None = "mse"
    else:
        loss = args.loss
    document = import_network(args.file, input=x, upstream=upstream, target=target, loss=loss)
    text = dumps(document)
    if args.out:
        try:
            atomic_write_text(args.out, text)
        except OSError as exc:
            raise ModelError(
                Message("cannot write {out}: {error}", out=args.out, error=exc.strerror or exc),
                "--out",
                args.file,
            ) from None
        print(args.out)
    else:
        print(text, end="")
    return EXIT_OK

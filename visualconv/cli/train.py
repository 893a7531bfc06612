"""``visualconv train``: run a model file's training section headless.

Output (``--json``) is ``visualconv.train/1``: the per-epoch history and the trained
model document. A progress bar (tqdm) goes to stderr when stderr is a terminal and
``--json`` is not given.

Divergence (a NaN or infinite loss, gradient or parameter) is an error: exit status
2 and one line naming the iteration and suggesting a smaller learning rate. Nothing
is printed to stdout then; with ``--out`` the last finite parameters are written to
that file, so nothing is lost.

``--out`` is checked before training starts (its folder must exist and take a file; a
symbolic link needs ``--follow-symlinks``): exit 2 and one line naming the path. If the
final write still fails (the disk filled during the run), the trained model is printed
to stdout as ``visualconv.train/1`` JSON and the error line says so. Memory for the
dataset and one batch is estimated before anything is built and refused over 2 GB,
placed at ``training.dataset.count`` or ``training.batch_size``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..engine.errors import Message, ModelError
from ..i18n import _
from ..samples import shown
from ..textsafe import printable
from .common import EXIT_OK, UsageError, to_json_value

NAME = "train"


def add_parser(sub: Any) -> None:
    """Register the ``train`` sub-command."""
    p = sub.add_parser(NAME, help=_("run the file's training section (SGD) headless"))
    p.add_argument("file")
    p.add_argument("--epochs", type=int, default=None, help=_("override the file's epoch count"))
    p.add_argument("--json", action="store_true", help=_("machine-readable output (visualconv.train/1)"))
    p.add_argument(
        "--out",
        metavar="TRAINED.json",
        help=_(
            "also write the trained model (atomically; its folder must exist and is checked before "
            "training; if the write still fails, the result is printed to stdout as JSON)"
        ),
    )
    p.add_argument(
        "--follow-symlinks", action="store_true", help=_("let --out write through a symbolic link")
    )
    p.set_defaults(func=run)


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="it", file=sys.stderr, dynamic_ncols=True, leave=False)


def _save_or_print(
    trained: Any, out: str, follow: bool, history: list[dict[str, Any]], document: Any
) -> None:
    """Write the trained model to ``out``; if that fails, print it so the run is not lost.

    The result goes to stdout as ``visualconv.train/1`` JSON and the error (exit 2) says
    so: ``visualconv: OUT: could not write: ...; the trained model is on stdout``.
    """
    from ..atomic import WriteError
    from ..modelfile import save_model

    try:
        save_model(trained, out, follow_symlinks=follow)
    except WriteError as exc:
        result = {"format": "visualconv.train/1", "history": history, "model": document(trained)}
        print(json.dumps(to_json_value(result)))
        sys.stdout.flush()
        reason = Message(
            "{reason}; the trained model is on stdout (visualconv.train/1 JSON)", reason=exc.reason
        )
        raise WriteError(exc.path, reason, exc.existed) from None


def run(args: argparse.Namespace) -> int:
    """Train the model of ``args.file`` and report the history; return the exit status."""
    from .. import atomic
    from ..engine import datasets
    from ..engine.budget import check_training_memory
    from ..engine.train import TrainingDiverged, iterate, training_spec
    from ..modelfile import load_model, model_document

    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"visualconv train: --epochs {args.epochs}: " + _("expected a positive integer"))
    model = load_model(args.file)
    if args.out:  # a folder that cannot take the result is refused before any training
        atomic.check_writable(args.out, follow_symlinks=args.follow_symlinks)
    try:
        spec = training_spec(model, epochs=args.epochs)
        count, shape = datasets.extent(spec.dataset, model)
        check_training_memory(model.layers, shape, count, spec.batch_size)  # before anything is built
        data = datasets.materialise(spec.dataset, model)
        records = iterate(model, training=spec, data=data)
    except ModelError as exc:
        raise exc.in_file(args.file) from None
    n = len(data[0])
    per_epoch = -(-n // (spec.batch_size or n))
    bar = _progress(per_epoch * spec.epochs, not args.json and sys.stderr.isatty())
    history: list[dict[str, Any]] = []
    accuracies: list[float | None] = []
    last = None
    try:
        for record in records:
            last = record
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=record.epoch, loss=f"{record.loss:.4g}", refresh=False)
            if record.epoch_loss is not None:
                history.append({"epoch": record.epoch, "loss": record.epoch_loss})
                accuracies.append(record.epoch_accuracy)
    except TrainingDiverged as exc:
        if bar is not None:
            bar.close()
        if args.out:
            _save_or_print(exc.model, args.out, args.follow_symlinks, [], model_document)
            raise ModelError(
                Message("{message}; wrote them to {out}", message=exc.message, out=args.out),
                exc.place,
                args.file,
            ) from None
        raise exc.in_file(args.file) from None
    if bar is not None:
        bar.close()
    assert last is not None
    trained = model.with_parameters(last.parameters)
    if args.out:
        _save_or_print(trained, args.out, args.follow_symlinks, history, model_document)
    if args.json:
        document = {"format": "visualconv.train/1", "history": history, "model": model_document(trained)}
        print(json.dumps(to_json_value(document)))
        return EXIT_OK
    print(f"{printable(shown(model.name))}  ({printable(args.file)})")  # text is data
    batch = _("full") if spec.batch_size is None else spec.batch_size
    print(
        "SGD: "
        + _("learning rate {rate}, momentum {momentum}, batch size {batch}, {epochs} epoch(s)").format(
            rate=f"{spec.learning_rate:g}", momentum=f"{spec.momentum:g}", batch=batch, epochs=spec.epochs
        )
    )
    for entry, accuracy in zip(history, accuracies, strict=True):
        extra = "" if accuracy is None else "  " + _("accuracy {accuracy}").format(accuracy=f"{accuracy:.1%}")
        print(
            "  "
            + _("epoch {epoch}  loss {loss}").format(
                epoch=f"{entry['epoch']:>4}", loss=f"{entry['loss']:.10g}"
            )
            + extra
        )
    for index, params in enumerate(last.parameters):
        for name, value in params.items():
            if value.size <= 16:
                print(f"layers[{index}].{name} = {json.dumps(value.tolist())}")
    if args.out:
        print(_("wrote the trained model to {file}").format(file=args.out))
    return EXIT_OK

"""Writing model files: a model to its document, the document to readable JSON, atomically to disk."""

from __future__ import annotations

import json
import os
from typing import Any

from ..atomic import write_atomic
from ..engine.kinds.base import array_out
from ..engine.model import Model
from .layers import layer_document
from .schema import FORMAT


def model_document(model: Model) -> dict[str, Any]:
    """The model as a model-file document (canonical shapes, round-trips)."""
    doc: dict[str, Any] = {"format": FORMAT, "name": model.name}
    if model.description:
        doc["description"] = model.description
    doc["dims"] = model.dims
    doc["input"] = array_out(model.input)
    doc["layers"] = [layer_document(layer, model.dims) for layer in model.layers]
    if model.upstream is not None:
        doc["upstream"] = array_out(model.upstream)
    if model.target is not None and model.loss is not None:
        doc["target"] = model.target if isinstance(model.target, int) else array_out(model.target)
    if model.loss is not None and (model.target is not None or model.training is not None):
        doc["loss"] = model.loss.document()
    if model.training is not None:
        t = model.training
        doc["training"] = {
            "optimizer": t.optimizer,
            "learning_rate": t.learning_rate,
            "momentum": t.momentum,
            "epochs": t.epochs,
            "batch_size": "full" if t.batch_size is None else t.batch_size,
            "shuffle": t.shuffle,
            "seed": t.seed,
            "dataset": {} if t.dataset is None else t.dataset.document(),
        }
    return doc


def dumps(document: Any, indent: int = 2) -> str:
    """JSON text with innermost number lists kept on one line (readable matrices)."""

    def render(value: Any, level: int) -> str:
        pad = " " * (indent * (level + 1))
        end = " " * (indent * level)
        if isinstance(value, dict):
            if not value:
                return "{}"
            items = [f"{pad}{json.dumps(k)}: {render(v, level + 1)}" for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + end + "}"
        if isinstance(value, list):
            if all(not isinstance(v, (list, dict)) for v in value):
                return "[" + ", ".join(json.dumps(v) for v in value) + "]"
            items = [pad + render(v, level + 1) for v in value]
            return "[\n" + ",\n".join(items) + "\n" + end + "]"
        return json.dumps(value, allow_nan=False)

    return render(document, 0) + "\n"


def atomic_write_text(path: str | os.PathLike[str], text: str, *, follow_symlinks: bool = False) -> None:
    """Write ``text`` to ``path`` atomically (:func:`visualconv.atomic.write_atomic`).

    A failure leaves the old file untouched and raises
    :class:`~visualconv.atomic.WriteError` naming ``path``. A file that is replaced keeps
    its permissions; a symbolic link is written through only with ``follow_symlinks``.
    """
    write_atomic(path, text, follow_symlinks=follow_symlinks)


def save_model(model: Model, path: str | os.PathLike[str], *, follow_symlinks: bool = False) -> None:
    """Write ``model`` as a model file, atomically.

    Raises
    ------
    WriteError
        The file could not be written (the old one is unchanged); a symbolic link is
        refused unless ``follow_symlinks`` (the window's Save follows the file it opened).
    """
    atomic_write_text(path, dumps(model_document(model)), follow_symlinks=follow_symlinks)

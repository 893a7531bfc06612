"""Writing model files: a model to its document, the document to readable JSON, atomically to disk."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

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
            "dataset": t.dataset,
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


def _umask() -> int:
    """The process's umask, read without changing it (Linux); 0o022 elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A failure mid-write leaves the old file untouched. A file that is replaced
    keeps its permissions (a symbolic link: the file it points to is replaced).
    """
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model: Model, path: str | os.PathLike[str]) -> None:
    """Write ``model`` as a model file, atomically."""
    atomic_write_text(path, dumps(model_document(model)))

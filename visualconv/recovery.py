"""Unsaved work that survives a crash: the recovery file and the log location.

The window writes the current model here (debounced) after every edit and removes it
on a clean save or close. At start-up, a recovery file means the last session ended
without saving, and the window offers to restore it. Qt-free, so it is tested without
a display.

The data directory is ``$VISUALCONV_DATA_DIR`` when set, else the platform's user
data directory (``$XDG_DATA_HOME/visualconv`` or ``~/.local/share/visualconv`` on
Linux).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine.errors import ModelError
from .engine.model import Model
from .modelfile import atomic_write_text, model_document, model_from_document, parse_document

RECOVERY_NAME = "recovery.json"
LOG_NAME = "visualconv.log"


def data_dir() -> Path:
    """The user's visualconv data directory (created if missing)."""
    override = os.environ.get("VISUALCONV_DATA_DIR")
    if override:
        base = Path(override)
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "visualconv"
    elif sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home())) / "visualconv"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "visualconv"
    base.mkdir(parents=True, exist_ok=True)
    return base


def log_path() -> Path:
    """Where the window logs unexpected errors with their tracebacks."""
    return data_dir() / LOG_NAME


@dataclass(frozen=True, slots=True)
class Recovered:
    """A model found in the recovery file.

    Attributes
    ----------
    model : Model
    source : str or None
        The file the model was opened from, if any.
    saved_at : float
        Seconds since the epoch when it was written.
    """

    model: Model
    source: str | None
    saved_at: float


def recovery_text(model: Model, source: str | None) -> str:
    """The recovery file's text for ``model`` (compact JSON; floats round-trip exactly).

    Uses the standard library's C encoder: for a 16 x 256 x 256 model it is several
    times faster than the indented model-file layout, and nobody reads this file.
    """
    payload: dict[str, Any] = {"saved_at": time.time(), "source": source, "model": model_document(model)}
    return json.dumps(payload, allow_nan=False, separators=(",", ":"))


def write_recovery_text(text: str, directory: Path | None = None) -> Path:
    """Write text from :func:`recovery_text` atomically; returns the recovery file's path."""
    path = (directory or data_dir()) / RECOVERY_NAME
    atomic_write_text(path, text)
    return path


def write_recovery(model: Model, source: str | None, directory: Path | None = None) -> Path:
    """Write the unsaved model atomically; returns the recovery file's path."""
    return write_recovery_text(recovery_text(model, source), directory)


def read_recovery(directory: Path | None = None) -> Recovered | None:
    """The model of the recovery file, or None when there is none or it is unreadable."""
    path = (directory or data_dir()) / RECOVERY_NAME
    try:
        payload = json.loads(path.read_text("utf-8"))
        document = parse_document(json.dumps(payload["model"]))
        model = model_from_document(document)
    except (OSError, ValueError, KeyError, TypeError, ModelError):
        return None
    source = payload.get("source")
    return Recovered(model, source if isinstance(source, str) else None, float(payload.get("saved_at", 0.0)))


def clear_recovery(directory: Path | None = None) -> None:
    """Remove the recovery file (after a save, a clean close or a declined restore)."""
    ((directory or data_dir()) / RECOVERY_NAME).unlink(missing_ok=True)

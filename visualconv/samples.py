"""Where the shipped example models live, without importing Qt.

In a wheel the examples are package data (``visualconv/sample_models``); in an
editable install they are the repository's top-level ``sample_models/`` folder.
The window's Open sample menu, the command line and the exports share these helpers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

DEFAULT_SAMPLE = "01-seed-1d-conv.json"


@dataclass(frozen=True, slots=True)
class Sample:
    """One example model file.

    Attributes
    ----------
    name : str
        The model's ``name`` (the file name when the file cannot be read).
    path : Path
    """

    name: str
    path: Path


def _data_dir(name: str) -> Path | None:
    """A data folder shipped in the wheel as ``visualconv/<name>``, or the checkout's ``<name>/``."""
    try:
        packaged = Path(str(resources.files("visualconv") / name))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - odd loaders
        packaged = None
    if packaged is not None and packaged.is_dir():
        return packaged
    repo = Path(__file__).resolve().parent.parent / name  # an editable install
    return repo if repo.is_dir() else None


def sample_dir() -> Path | None:
    """The folder of example model files, or None when none is found."""
    return _data_dir("sample_models")


def sample_paths() -> list[Path]:
    """Every example model file, sorted by file name."""
    folder = sample_dir()
    return sorted(folder.glob("*.json")) if folder is not None else []


def _name_of(path: Path) -> str:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return path.stem
    name = document.get("name") if isinstance(document, dict) else None
    return name if isinstance(name, str) and name.strip() else path.stem


def samples() -> list[Sample]:
    """Every example with the name it shows in menus."""
    return [Sample(_name_of(path), path) for path in sample_paths()]


def default_sample() -> Path | None:
    """The example the window opens with when no file is given (the seed 1-D example)."""
    folder = sample_dir()
    if folder is None:
        return None
    path = folder / DEFAULT_SAMPLE
    if path.is_file():
        return path
    paths = sample_paths()
    return paths[0] if paths else None


def resource_dir() -> Path | None:
    """The folder of icons and other resources (package data, or the repository's ``resources/``)."""
    return _data_dir("resources")

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

from .i18n import N_, _

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


# The seed examples' names and descriptions, marked so the catalogues carry them in every
# language (the file format has no field for translations, spec section 1: they are keyed by
# the file's English text). tests/test_i18n.py checks that each file still says exactly this.
SEED_TEXTS: dict[str, tuple[str, str]] = {
    "01-seed-1d-conv.json": (
        N_("Seed: 1-D convolution"),
        N_(
            "The worked example of the seed documents. Input [1, 2, 3], filter [0.3, 0.5], stride 1, "
            "no padding, zero bias, no activation. Forward gives [1*0.3 + 2*0.5, 2*0.3 + 3*0.5] = "
            "[1.3, 2.1]. With the upstream deltas dZ = [-0.1, 0.2], overlay 1 adds [1*-0.1, 2*-0.1] "
            "to dW and overlay 2 adds [2*0.2, 3*0.2], so dW = [0.3, 0.4]; db = -0.1 + 0.2 = 0.1; "
            "dA_prev collects W*dZ on each window: [-0.03, 0.01, 0.1]."
        ),
    ),
    "02-seed-2d-conv.json": (
        N_("Seed: 2-D convolution, 5x5 input"),
        N_(
            "The 5x5 activations o and the 4x4 deltas d of the seed document on 2-D backpropagation. "
            "A 2x2 kernel slides over o (16 overlays). The weight gradient is dE/dw[m,n] = sum_ij "
            "d[i,j] * o[i+m, j+n], the valid cross-correlation of o with d: [[0.044606, 0.094061], "
            "[0.011262, 0.068288]]. An SGD step then moves each weight to w - eta * dE/dw."
        ),
    ),
    "03-rot180-all-ones.json": (
        N_("Why the kernel is rotated: 3x3 input, 2x2 kernel"),
        N_(
            "The input-gradient example of the seed document on multi-channel backpropagation. With "
            "every upstream delta equal to 1, each input cell collects the sum of the weights that "
            "touched it: dA_prev = [[w11, w11+w12, w12], [w11+w21, w11+w12+w21+w22, w12+w22], [w21, "
            "w21+w22, w22]], which is rot180(W) fully convolved with the deltas. Here W = [[1, 2], "
            "[3, 4]]."
        ),
    ),
    "04-multichannel-activation.json": (
        N_("Two channels in, three out, tanh, then a second conv"),
        N_(
            "The rule of the seed document for stacked multi-channel convolutions: the delta of a "
            "layer is f'(z) times the sum over the next layer's output channels p of rot180(w[p, d]) "
            "fully convolved with delta[p]. Step through the backward pass of layers[1] to see the "
            "sum over p build up dA_prev, then layers[0] to see dZ = dA * tanh'(Z)."
        ),
    ),
    "05-max-pool-backward.json": (
        N_("Max pooling backward, 2x2 windows"),
        N_(
            "Max pooling records where each window's maximum is; the backward pass sends each "
            "window's whole delta there and nothing anywhere else."
        ),
    ),
    "07-avg-pool-backward.json": (
        N_("Average pooling backward, 2x2 windows"),
        N_("Average pooling spreads each window's delta evenly: every one of its four cells gets delta / 4."),
    ),
}


def shown(text: str) -> str:
    """A model's name or description as the window and the exports show it.

    A seed example's text comes in the language in use; any other text as it is (text
    from a file is data).
    """
    return _(text) if text else text

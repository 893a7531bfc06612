"""``visualconv train``: run a model file's training section headless."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the ``train`` sub-command."""
    p = sub.add_parser("train", help="run the file's training section (SGD) headless")
    p.add_argument("file")
    p.add_argument("--epochs", type=int, default=None, help="override the file's epoch count")
    p.add_argument("--json", action="store_true", help="machine-readable output (visualconv.train/1)")
    p.add_argument("--out", metavar="TRAINED.json", help="also write the trained model")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run training; implemented with the training engine."""
    raise NotImplementedError("training is not built yet")

"""``visualconv export``: headless snapshot, animation and lecture-pack export."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the ``export`` sub-command."""
    p = sub.add_parser("export", help="export a snapshot, an animation or a lecture pack")
    p.add_argument("file")
    p.add_argument("--layer", type=int, default=0)
    p.add_argument("--pass", dest="pass_name", choices=("forward", "backward"), default="backward")
    p.add_argument("--step", type=int, default=None)
    p.add_argument("--out", metavar="PATH")
    p.add_argument("--animation", metavar="OUT.gif")
    p.add_argument("--pack", metavar="DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export; implemented with the snapshot renderer."""
    raise NotImplementedError("export is not built yet")

"""Quit the real window many times under Xvfb and count the crashes (run by hand).

    python tests/xreal/quit_loop.py --runs 50            # all three ways
    python tests/xreal/quit_loop.py --runs 10 --way menu

Ways: ``menu`` (File ▸ Quit clicked with the mouse), ``ctrl-q-training`` (Ctrl+Q while a
training run is running; the question about the trained weights is answered with
Save, and the saved file must hold trained weights), ``close`` (the window's close
button, i.e. WM_DELETE_WINDOW). Prints one line per way: runs, clean exits, crashes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from xdriver import Display, missing, user_config
from xquit import WAYS, quit_once


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--way", choices=sorted(WAYS), action="append")
    args = parser.parse_args()
    problem = missing()
    if problem:
        print(f"cannot run: {problem}", file=sys.stderr)
        return 2
    failed = False
    config = user_config(Path(tempfile.mkdtemp(prefix="visualconv-quit-config-")))
    with Display() as display:
        for way in args.way or sorted(WAYS):
            outcomes: dict[str, int] = {}
            for run in range(args.runs):
                outcome = quit_once(display, way, config=config)
                outcomes[outcome.kind] = outcomes.get(outcome.kind, 0) + 1
                if outcome.kind != "clean":
                    failed = True
                    print(f"  {way} run {run + 1}: {outcome.kind}: {outcome.detail}", flush=True)
            summary = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
            print(f"{way}: {args.runs} runs: {summary}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The real-input monkey, long (run by hand): thousands of seeded X events under Xvfb.

    python tests/xreal/monkey.py --events 2000 --seed 1

Prints what it did and the two numbers that must be 0: exceptions that reached the
window's exception hook, and deaths. Exits 1 when either is not 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from xdriver import Display, missing
from xmonkey import Monkey


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quit-every", type=int, default=400)
    args = parser.parse_args()
    problem = missing()
    if problem:
        print(f"cannot run: {problem}", file=sys.stderr)
        return 2
    started = time.monotonic()
    with Display() as display:
        tally = Monkey(display, args.seed).run(args.events, args.quit_every)
    print(f"seed {args.seed}: {tally.line()} ({time.monotonic() - started:.0f} s)")
    for problem in tally.problems:
        print("---", problem, sep="\n")
    return 1 if tally.exceptions or tally.deaths or tally.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

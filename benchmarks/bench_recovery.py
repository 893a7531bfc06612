"""What the recovery journal costs per edit: the time ``Journal.record`` spends in the edit's handler.

Run by hand: ``python benchmarks/bench_recovery.py [--edits N] [--dir DIR]``. DIR should be
on the disk that holds the data directory (the fsync is most of the cost). Prints the median
and the 95th percentile per edit for

- a cell edit of the seed 2-D model (a patch: append + fsync),
- a cell edit of a 16 x 256 x 256 model (the patch of one cell among 2.1 million numbers),
- a structural edit of the seed model (the whole model: atomic rewrite of the journal),
- for reference, a bare 100-byte append + fsync on the same disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import visualconv as vc
from visualconv import editing
from visualconv.engine.layers import ConvLayer
from visualconv.engine.model import make_model
from visualconv.recovery import Journal

ROOT = Path(__file__).resolve().parents[1]


def large_model() -> vc.Model:
    rng = np.random.default_rng(8)
    return make_model(
        "Large: 16 x 256 x 256",
        np.round(rng.uniform(-1, 1, (16, 256, 256)), 2),
        [
            ConvLayer(
                weight=np.round(rng.uniform(-1, 1, (16, 16, 3, 3)), 2), bias=np.zeros(16), padding=(1, 1)
            )
        ],
        upstream=np.round(rng.uniform(-1, 1, (16, 256, 256)), 2),
    )


def timed(journal: Journal, models: list[vc.Model]) -> list[float]:
    times = []
    for model in models:
        start = time.perf_counter()
        journal.record(model, None)
        times.append(time.perf_counter() - start)
    return times


def report(label: str, times: list[float]) -> None:
    ms = sorted(t * 1e3 for t in times)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(f"{label:<44} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   ({len(ms)} edits)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--dir", default=None, help="folder on the disk to measure (default: a temp folder)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-recovery-", dir=args.dir))

    seed = vc.load_model(ROOT / "sample_models" / "02-seed-2d-conv.json")
    journal = Journal(folder)
    journal.record(seed, None)
    models, model = [], seed
    for i in range(args.edits):
        model = editing.set_cell(model, "input", (0, (i // 5) % 5, i % 5), float(i))
        models.append(model)
    report("cell edit, seed 2-D model (patch)", timed(journal, models))
    journal.clear()

    big = large_model()
    journal = Journal(folder)
    journal.record(big, None, sync=True)
    models, model = [], big
    for i in range(min(args.edits, 50)):
        model = editing.set_cell(model, "input", (i % 16, i, i), float(i))
        models.append(model)
    report("cell edit, 16 x 256 x 256 model (patch)", timed(journal, models))
    journal.clear()

    journal = Journal(folder)
    journal.record(seed, None)
    names = ("relu", "tanh") * (args.edits // 2)
    models = [editing.set_layer_setting(seed, 0, "activation", a) for a in names]
    report("structural edit, seed 2-D model (whole)", timed(journal, models))
    journal.clear()

    times = []
    with open(folder / "bare", "ab") as handle:
        for _ in range(args.edits):
            start = time.perf_counter()
            handle.write(b"x" * 99 + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
            times.append(time.perf_counter() - start)
    report("bare 100-byte append + fsync", times)
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()

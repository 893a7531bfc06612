"""Training speed: SGD iterations per second for each built-in dataset kind.

Runs the training section of one sample model per dataset kind with the visualconv
engine (NumPy, float64) and, when PyTorch is installed, the same model, dataset,
batch order and optimiser with torch.optim.SGD (float64, CPU). Prints medians.

    python benchmarks/bench_training.py [--repeats 5] [--iterations 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from visualconv.engine import datasets
from visualconv.engine.memory import reuse_freed_memory
from visualconv.engine.model import Model, TrainingSpec
from visualconv.engine.train import iterate
from visualconv.modelfile import load_model

reuse_freed_memory()  # as the entry points do: freed arrays are reused (engine/memory.py)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_models"
# The torch reference run lives with the tests that check the engine against it.
sys.path.insert(0, str(ROOT / "tests" / "training"))
CASES = [
    ("inline", "20-learning-a-kernel.json"),
    ("teacher", "21-teacher-sobel.json"),
    ("shapes", "22-shapes-classifier.json"),
    ("digits", "24-digits-classifier.json"),
]


def _spec_for(model: Model, iterations: int, n: int) -> TrainingSpec:
    assert model.training is not None
    spec = model.training
    per_epoch = math.ceil(n / (spec.batch_size or n))
    return dataclasses.replace(spec, epochs=max(1, math.ceil(iterations / per_epoch)))


def run_ours(model: Model, spec: TrainingSpec, data: tuple[Any, Any]) -> int:
    count = 0
    for _ in iterate(model, training=spec, data=data):
        count += 1
    return count


def run_torch(model: Model, spec: TrainingSpec, data: tuple[Any, Any], threads: int = 1) -> int:
    """The same run with torch.optim.SGD: the test suite's reference (tests/training/torch_sgd.py)."""
    from torch_sgd import torch_train

    return len(torch_train(model, spec, data[0], data[1], threads)["losses"])


def median_rate(fn: Any, model: Model, spec: TrainingSpec, data: tuple[Any, Any], repeats: int) -> float:
    fn(model, dataclasses.replace(spec, epochs=1), data)  # warm up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        count = fn(model, spec, data)
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=60, help="SGD iterations per timed run (about)")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1, like the NumPy engine)",
    )
    args = parser.parse_args()
    have_torch = importlib.util.find_spec("torch") is not None
    if have_torch:
        import torch

        torch_note = f"torch {torch.__version__}, {args.torch_threads} thread(s)"
    else:
        torch_note = "PyTorch not installed: its column is empty"
    print(f"SGD iterations per second, median of {args.repeats} runs of about {args.iterations} iterations")
    print(f"numpy {np.__version__}; {torch_note}\n")
    header = (
        f"{'dataset':<9} {'sample':<28} {'examples':>8} {'batch':>6} "
        f"{'visualconv it/s':>16} {'torch it/s':>11} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for kind, name in CASES:
        model = load_model(SAMPLES / name)
        assert model.training is not None
        reason = datasets.available(kind)
        if reason is not None:
            print(f"{kind:<9} {name:<28} skipped: {reason}")
            continue
        data = datasets.materialise(model.training.dataset, model)
        spec = _spec_for(model, args.iterations, len(data[0]))
        ours = median_rate(run_ours, model, spec, data, args.repeats)
        batch = "full" if spec.batch_size is None else str(spec.batch_size)
        theirs_text, ratio_text = "", ""
        if have_torch:
            theirs = median_rate(
                lambda m, sp, d: run_torch(m, sp, d, args.torch_threads), model, spec, data, args.repeats
            )
            theirs_text, ratio_text = f"{theirs:11.0f}", f"{ours / theirs:6.2f}"
        row = f"{kind:<9} {name:<28} {len(data[0]):>8} {batch:>6} "
        print(row + f"{ours:16.0f} {theirs_text:>11} {ratio_text:>6}")
    print("\nratio = visualconv / torch (above 1: visualconv is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

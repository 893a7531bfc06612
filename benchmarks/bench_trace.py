"""Step latency of the debugger's traces: ``trace_layer(...).step(k)``.

Run by hand (not part of the test suite)::

    python benchmarks/bench_trace.py [--steps 60] [--threads N] [--json OUT]

For each model it times building the trace (``trace_layer``: the model's whole
forward and backward pass plus the trace's own set-up), then ``step(k)`` at random k
(scrubbing: each k far from the cached ones) and at sequential k -> k+1 (playing)
and k -> k-1 (stepping back), and reports the median and the 95th percentile.
The models are one conv layer (3x3, relu) followed by a 2x2 max pool, with a fixed
random input and upstream gradient; the conv layer's forward and backward pass and
the pool's backward pass are traced.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def _early_threads(argv: list[str]) -> str | None:
    """The --threads value, read before NumPy is imported (BLAS reads it at load time)."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return None


THREADS = _early_threads(sys.argv[1:])
if THREADS is not None:
    for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_name] = THREADS

import numpy as np  # noqa: E402  (after the thread settings)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from visualconv.engine.layers import ConvLayer, PoolLayer, frozen_array  # noqa: E402
from visualconv.engine.memory import reuse_freed_memory  # noqa: E402
from visualconv.engine.model import Model, make_model  # noqa: E402
from visualconv.engine.trace import LayerTrace, trace_layer  # noqa: E402

reuse_freed_memory()  # as the entry points do: freed arrays are reused (engine/memory.py)

CASES = {
    "28x28x3 -> 8": (3, 28, 8),
    "256x256x16 -> 16": (16, 256, 16),
}


def build(c_in: int, size: int, c_out: int) -> Model:
    rng = np.random.default_rng(0)
    conv = ConvLayer(
        weight=frozen_array(rng.standard_normal((c_out, c_in, 3, 3)) / 3),
        bias=frozen_array(rng.standard_normal(c_out)),
        padding=(1, 1),
        activation="relu",
    )
    pool = PoolLayer(mode="max", size=(2, 2), stride=(2, 2))
    x = rng.standard_normal((c_in, size, size))
    upstream = rng.standard_normal((c_out, size // 2, size // 2))
    return make_model("bench", x, [conv, pool], upstream=upstream)


def quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure_steps(trace: LayerTrace, steps: int, rng: np.random.Generator) -> dict[str, dict[str, float]]:
    n = trace.n
    scrub = [timed(lambda k=int(k): trace.step(k)) for k in rng.integers(0, n + 1, steps)]
    start = int(rng.integers(0, max(1, n - steps)))
    trace.step(start)
    forward = [timed(lambda k=k: trace.step(k)) for k in range(start + 1, min(n, start + steps) + 1)]
    start = int(rng.integers(steps, n + 1)) if n > steps else n
    fresh = trace_layer_again(trace)
    fresh.step(start)
    back = [timed(lambda k=k: fresh.step(k)) for k in range(start - 1, max(-1, start - steps - 1), -1)]
    return {"scrub": quantiles(scrub), "k+1": quantiles(forward), "k-1": quantiles(back or [0.0])}


def trace_layer_again(trace: LayerTrace) -> LayerTrace:
    """A fresh trace of the same layer and pass (empty caches)."""
    return LayerTrace(trace.layer, trace.pass_name, *_values(trace))


def _values(trace: LayerTrace) -> tuple[Any, ...]:
    layer = trace.layer
    dims1 = getattr(layer, "dims", 2) == 1
    unview = (lambda t: t[:, 0, :]) if dims1 else (lambda t: t)
    grad = None if trace.grad_output is None else unview(trace.grad_output)
    return unview(trace.x), unview(trace.z), unview(trace.a), grad


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="steps timed per measurement")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--threads", help="BLAS threads (default: the BLAS library's own choice)")
    args = parser.parse_args(argv)
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"numpy {np.__version__}, python {platform.python_version()}, BLAS threads {blas}; milliseconds")
    header = f"{'model':18} {'trace':16} {'build':>8} " + " ".join(
        f"{name + ' ' + q:>12}" for name in ("scrub", "k+1", "k-1") for q in ("med", "p95")
    )
    print(header)
    print("-" * len(header))
    results: list[dict[str, Any]] = []
    for label, (c_in, size, c_out) in CASES.items():
        model = build(c_in, size, c_out)
        for index, pass_name in ((0, "forward"), (0, "backward"), (1, "backward")):
            builds = [timed(lambda m=model, i=index, p=pass_name: trace_layer(m, i, p)) for _ in range(3)]
            trace = trace_layer(model, index, pass_name)
            stats = measure_steps(trace, args.steps, np.random.default_rng(1))
            name = f"{model.layers[index].type} {pass_name}"
            line = f"{label:18} {name:16} {fmt(statistics.median(builds))} " + " ".join(
                f"{fmt(stats[part][q]):>12}" for part in ("scrub", "k+1", "k-1") for q in ("median", "p95")
            )
            print(line, flush=True)
            results.append({"model": label, "trace": name, "build": statistics.median(builds), **stats})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

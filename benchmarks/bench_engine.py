"""Engine against PyTorch: conv and pool, forward and backward, single examples and batches.

Run by hand (not part of the test suite)::

    python benchmarks/bench_engine.py [--repeats 21] [--threads 2] [--json OUT] [--only conv2d,pool2d]

For every shape it times, in one process and interleaved, visualconv's stateless
kernels (``conv2d_forward`` + ``conv2d_backward`` -> dx, dw, db; ``pool2d_*``) and
PyTorch's (float64, autograd backward with the same output gradient). Both libraries get
the same number of threads: ``--threads`` (default: the number of cores) sets
``torch.set_num_threads``, visualconv's ``parallel.set_threads`` and, before NumPy is
imported, OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS for NumPy's BLAS.
Each number is the median over ``--repeats`` samples; a sample times enough calls to
last SAMPLE_SECONDS. The ratio is visualconv / PyTorch (below 1 means visualconv is
faster); the summary gives the geometric mean of the forward+backward ratios per group
(batch / single).

Without torch installed the script reports visualconv's times alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _early_threads(argv: list[str]) -> int:
    """The --threads value, read before NumPy is imported (BLAS reads it at load time)."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return os.cpu_count() or 1


THREADS = _early_threads(sys.argv[1:])
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = str(THREADS)

import numpy as np  # noqa: E402  (after the thread settings)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from visualconv.engine import parallel  # noqa: E402
from visualconv.engine.conv import (  # noqa: E402
    conv1d_backward,
    conv1d_forward,
    conv2d_backward,
    conv2d_forward,
)
from visualconv.engine.memory import reuse_freed_memory  # noqa: E402
from visualconv.engine.pool import (  # noqa: E402
    pool1d_backward,
    pool1d_forward,
    pool2d_backward,
    pool2d_forward,
)

reuse_freed_memory()  # as the entry points do: freed arrays are reused (engine/memory.py)

try:  # PyTorch is optional: a local comparison, never a dependency.
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - depends on the machine
    torch = None


@dataclass(frozen=True)
class Case:
    """One benchmark shape.

    kind is conv1d, conv2d, pool1d or pool2d; x is the input shape (N, C, [H,] W);
    for conv, c_out and kernel; for pool, mode, kernel (size) and stride.
    """

    group: str  # "single" or "batch"
    kind: str
    x: tuple[int, ...]
    kernel: int
    c_out: int = 0
    stride: int = 1
    padding: int = 0
    mode: str = ""

    @property
    def label(self) -> str:
        shape = "x".join(str(v) for v in self.x)
        if self.kind.startswith("conv"):
            k = f"{self.kernel}" if self.kind == "conv1d" else f"{self.kernel}x{self.kernel}"
            extra = "".join(
                [f" s{self.stride}" if self.stride != 1 else "", f" p{self.padding}" if self.padding else ""]
            )
            return f"{self.kind} {shape} -> {self.c_out}, {k}{extra}"
        k = f"{self.kernel}" if self.kind == "pool1d" else f"{self.kernel}x{self.kernel}"
        s = f" s{self.stride}" if self.stride != self.kernel else ""
        return f"{self.mode}{self.kind} {shape}, {k}{s}"


def conv(
    group: str, kind: str, x: tuple[int, ...], c_out: int, k: int, stride: int = 1, pad: int = 0
) -> Case:
    return Case(group, kind, x, k, c_out=c_out, stride=stride, padding=pad)


def pool(group: str, kind: str, mode: str, x: tuple[int, ...], k: int, stride: int | None = None) -> Case:
    return Case(group, kind, x, k, stride=k if stride is None else stride, mode=mode)


CASES: list[Case] = [
    # conv 2-D: the shapes of issue 9
    conv("single", "conv2d", (1, 1, 5, 5), 1, 2),
    conv("single", "conv2d", (1, 3, 28, 28), 8, 3),
    conv("single", "conv2d", (1, 8, 64, 64), 16, 3),
    conv("batch", "conv2d", (64, 1, 28, 28), 8, 3, pad=1),
    conv("batch", "conv2d", (64, 8, 14, 14), 16, 3, pad=1),
    conv("batch", "conv2d", (32, 3, 32, 32), 16, 3, stride=2),
    # conv 1-D of similar sizes
    conv("single", "conv1d", (1, 1, 8), 1, 3),
    conv("single", "conv1d", (1, 3, 784), 8, 3),
    conv("single", "conv1d", (1, 8, 4096), 16, 3),
    conv("batch", "conv1d", (64, 1, 784), 8, 3, pad=1),
    conv("batch", "conv1d", (64, 8, 196), 16, 3, pad=1),
    conv("batch", "conv1d", (32, 3, 1024), 16, 3, stride=2),
    # pooling 2-D, max and avg, non-overlapping and overlapping
    *[
        c
        for mode in ("max", "avg")
        for c in (
            pool("single", "pool2d", mode, (1, 1, 4, 4), 2),
            pool("single", "pool2d", mode, (1, 8, 28, 28), 2),
            pool("single", "pool2d", mode, (1, 16, 64, 64), 3, 2),
            pool("batch", "pool2d", mode, (64, 8, 28, 28), 2),
            pool("batch", "pool2d", mode, (64, 16, 14, 14), 2),
            pool("batch", "pool2d", mode, (32, 16, 32, 32), 3, 2),
        )
    ],
    # pooling 1-D
    *[
        c
        for mode in ("max", "avg")
        for c in (
            pool("single", "pool1d", mode, (1, 8, 784), 2),
            pool("batch", "pool1d", mode, (64, 8, 784), 2),
            pool("batch", "pool1d", mode, (32, 16, 1024), 3, 2),
        )
    ],
]


# ---------------------------------------------------------------- the work to time


def numpy_work(case: Case, rng: np.random.Generator) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(forward, backward) closures of visualconv's stateless kernels."""
    x = rng.standard_normal(case.x)
    if case.kind.startswith("conv"):
        spatial = (case.kernel,) * (len(case.x) - 2)
        w = rng.standard_normal((case.c_out, case.x[1], *spatial))
        b = rng.standard_normal(case.c_out)
        fwd_fn, bwd_fn = (
            (conv1d_forward, conv1d_backward)
            if case.kind == "conv1d"
            else (
                conv2d_forward,
                conv2d_backward,
            )
        )
        z = fwd_fn(x, w, b, case.stride, case.padding)
        dz = rng.standard_normal(z.shape)
        return (
            lambda: fwd_fn(x, w, b, case.stride, case.padding),
            lambda: bwd_fn(dz, x, w, case.stride, case.padding),
        )
    pfwd, pbwd = (
        (pool1d_forward, pool1d_backward) if case.kind == "pool1d" else (pool2d_forward, pool2d_backward)
    )
    y = pfwd(x, case.mode, case.kernel, case.stride)
    dy = rng.standard_normal(y.shape)
    return (
        lambda: pfwd(x, case.mode, case.kernel, case.stride),
        lambda: pbwd(dy, x, case.mode, case.kernel, case.stride),
    )


def torch_work(case: Case, rng: np.random.Generator) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(forward, backward) closures of PyTorch, as a training step runs them.

    The forward records the autograd graph (saving what the backward uses: the inputs, the
    max-pool indices); the backward is ``.backward(dz)`` on the graph of the last forward.
    A ``no_grad`` forward would be cheaper (max pooling then computes no indices), but its
    backward would use indices that no timed call paid for.
    """
    assert torch is not None
    x = torch.tensor(rng.standard_normal(case.x), dtype=torch.float64, requires_grad=True)
    leaves = [x]
    if case.kind.startswith("conv"):
        spatial = (case.kernel,) * (len(case.x) - 2)
        w = torch.tensor(rng.standard_normal((case.c_out, case.x[1], *spatial)), requires_grad=True)
        b = torch.tensor(rng.standard_normal(case.c_out), requires_grad=True)
        leaves += [w, b]
        fn = F.conv1d if case.kind == "conv1d" else F.conv2d

        def run(inp: Any) -> Any:
            return fn(inp, w, b, case.stride, case.padding)
    else:
        fn = {
            ("pool1d", "max"): F.max_pool1d,
            ("pool1d", "avg"): F.avg_pool1d,
            ("pool2d", "max"): F.max_pool2d,
            ("pool2d", "avg"): F.avg_pool2d,
        }[(case.kind, case.mode)]

        def run(inp: Any) -> Any:
            return fn(inp, case.kernel, case.stride)

    last = {"out": run(x)}  # the graph of the last forward, which the backward runs through
    dz = torch.tensor(rng.standard_normal(tuple(last["out"].shape)), dtype=torch.float64)

    def forward() -> Any:
        last["out"] = run(x)
        return last["out"]

    def backward() -> Any:
        for leaf in leaves:
            leaf.grad = None
        last["out"].backward(dz, retain_graph=True)
        return x.grad

    return forward, backward


# ---------------------------------------------------------------- timing


# Seconds between one library's samples and the other's (see measure()).
SWITCH_PAUSE = 0.02
# Seconds of calls per sample, and of untimed calls after a pause.
SAMPLE_SECONDS = 0.02
WARM_UP_SECONDS = 0.003


def calls_per_sample(fn: Callable[[], Any], target: float = SAMPLE_SECONDS) -> int:
    """How many calls make one sample last about ``target`` seconds."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, min(10_000, int(target / once)))


def sample(fn: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


@dataclass
class Result:
    case: Case
    times: dict[str, dict[str, float]] = field(default_factory=dict)  # lib -> {fwd, bwd, total}

    def ratio(self, part: str) -> float | None:
        if "torch" not in self.times:
            return None
        return self.times["numpy"][part] / self.times["torch"][part]


def measure(case: Case, repeats: int, with_torch: bool) -> Result:
    rng = np.random.default_rng(0)
    libs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {"numpy": numpy_work(case, rng)}
    if with_torch:
        libs["torch"] = torch_work(case, rng)
    plan = {
        (lib, part): (fns[i], calls_per_sample(fns[i]))
        for lib, fns in libs.items()
        for i, part in enumerate(("fwd", "bwd"))
    }
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in plan}
    for _ in range(repeats):  # interleaved: a noisy neighbour hits both libraries alike
        for key, (fn, number) in plan.items():
            if key[1] == "fwd":
                # PyTorch's OpenMP threads spin for a while after each call; without a pause they
                # would take the cores of the next library's samples. After the pause the cores
                # and both libraries' threads are idle, and on a virtual machine the first
                # milliseconds of calls after idling run slower: untimed calls first, so that
                # samples measure calls in a row, as in training.
                time.sleep(SWITCH_PAUSE)
                warm_up = time.perf_counter() + WARM_UP_SECONDS
                while time.perf_counter() < warm_up:
                    fn()
            samples[key].append(sample(fn, number))
    result = Result(case)
    for lib in libs:
        fwd = statistics.median(samples[(lib, "fwd")])
        bwd = statistics.median(samples[(lib, "bwd")])
        fastest = min(samples[(lib, "fwd")]) + min(samples[(lib, "bwd")])
        result.times[lib] = {"fwd": fwd, "bwd": bwd, "total": fwd + bwd, "total_min": fastest}
    return result


def measure_alone(case: Case, repeats: int, library: str) -> float:
    """Median seconds of one forward + backward of ``library`` with no other library timed."""
    rng = np.random.default_rng(0)
    fwd, bwd = numpy_work(case, rng) if library == "visualconv" else torch_work(case, rng)
    plan = [(fn, calls_per_sample(fn)) for fn in (fwd, bwd)]
    totals = []
    for _ in range(repeats):
        totals.append(sum(sample(fn, number) for fn, number in plan))
    return statistics.median(totals)


def run_alone(args: argparse.Namespace, cases: list[Case]) -> int:
    """``--alone LIBRARY``: one library's times, for a caller that runs each in its own process."""
    if args.alone == "torch" and torch is None:
        print("--alone torch: PyTorch is not installed", file=sys.stderr)
        return 2
    results = [
        {"group": case.group, "label": case.label, "seconds": measure_alone(case, args.repeats, args.alone)}
        for case in cases
    ]
    for r in results:
        print(f"{r['group']:6}  {r['label']:42} {fmt_time(r['seconds'])}", flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"library": args.alone, "threads": args.threads, "cases": results})
        )
    return 0


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:7.1f} us"
    return f"{seconds * 1e3:7.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=21, help="samples per measurement (median)")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--only", default="", help="comma-separated kinds, e.g. conv2d,pool1d")
    parser.add_argument("--no-torch", action="store_true", help="time visualconv alone")
    parser.add_argument(
        "--threads", type=int, default=THREADS, help="threads for both libraries (default: cores)"
    )
    parser.add_argument(
        "--alone",
        choices=("visualconv", "torch"),
        help="time one library only (bench_person.py runs each alone in its own process)",
    )
    args = parser.parse_args(argv)

    cores = os.cpu_count() or 1
    with_torch = torch is not None and not args.no_torch
    parallel.set_threads(args.threads)
    if with_torch:
        torch.set_num_threads(args.threads)
    kinds = {k for k in args.only.split(",") if k}
    cases = [c for c in CASES if not kinds or c.kind in kinds]
    if args.alone:
        return run_alone(args, cases)

    print(
        f"numpy {np.__version__}"
        + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if with_torch else ", no torch")
        + f", visualconv {parallel.threads()} threads"
        + f", python {platform.python_version()}, {cores} cores, BLAS threads {THREADS}"
        + f"; float64; median of {args.repeats}"
    )
    header = f"{'group':6}  {'case':42} {'fwd':>10} {'bwd':>10} {'fwd+bwd':>10}"
    if with_torch:
        header += f" {'torch f+b':>10} {'ratio fwd':>9} {'ratio bwd':>9} {'ratio f+b':>9}"
    print(header)
    print("-" * len(header))
    results = []
    for case in cases:
        r = measure(case, args.repeats, with_torch)
        results.append(r)
        t = r.times["numpy"]
        line = f"{case.group:6}  {case.label:42} " + " ".join(fmt_time(t[p]) for p in ("fwd", "bwd", "total"))
        if with_torch:
            line += (
                f" {fmt_time(r.times['torch']['total'])}"
                f" {r.ratio('fwd'):9.2f} {r.ratio('bwd'):9.2f} {r.ratio('total'):9.2f}"
            )
        print(line, flush=True)

    summary: dict[str, float] = {}
    if with_torch:
        print()
        print("geometric mean of the ratio visualconv / PyTorch (forward + backward):")
        for group in ("batch", "single"):
            ratios = [r.ratio("total") for r in results if r.case.group == group]
            fastest = [r.ratio("total_min") for r in results if r.case.group == group]
            if ratios:
                summary[group] = geomean([v for v in ratios if v is not None])
                summary[f"{group}_min"] = geomean([v for v in fastest if v is not None])
                print(
                    f"  {group:6}  {summary[group]:.2f}   ({len(ratios)} shapes; "
                    f"from the fastest samples instead of the medians: {summary[f'{group}_min']:.2f})"
                )
        for kind in sorted({r.case.kind for r in results}):
            for group in ("batch", "single"):
                ratios = [r.ratio("total") for r in results if r.case.kind == kind and r.case.group == group]
                if ratios:
                    print(f"    {kind} {group:6}  {geomean([v for v in ratios if v is not None]):.2f}")

    if args.json:
        payload = {
            "numpy": np.__version__,
            "torch": torch.__version__ if with_torch else None,
            "cores": cores,
            "threads": THREADS,
            "repeats": args.repeats,
            "cases": [
                {"group": r.case.group, "label": r.case.label, "times": r.times, "ratio": r.ratio("total")}
                for r in results
            ],
            "geomean_ratio": summary,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Window speed: step -> repainted, scrub -> repainted, launch -> first paint.

Plain script, offscreen, run by hand::

    python benchmarks/bench_window.py [--repeats 200]

"Repainted" means the session changed step, every view updated its items, and Qt
processed the resulting paint events (``QApplication.processEvents()``); the time is
the wall time of the whole round trip, and the process's CPU time beside it (other load
on the machine inflates wall time, not CPU time).

Actions: ``next`` (k -> k+1 through the session: every view and dock updates),
``next (maps)`` (the heat maps alone), ``full repaint`` (a forced synchronous repaint
of every panel) and ``scrub`` (a jump to a random step). The engine's own step time is
included; ``benchmarks/bench_trace.py`` measures it alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "XDG_RUNTIME_DIR" not in os.environ:
    _runtime = tempfile.mkdtemp(prefix="visualconv-bench-")
    os.chmod(_runtime, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = _runtime

import numpy as np


def make_conv_model(c_in: int, c_out: int, size: int, kernel: int = 3, seed: int = 0):
    from visualconv.engine.layers import ConvLayer
    from visualconv.engine.model import make_model

    rng = np.random.default_rng(seed)
    out = size - kernel + 1
    layer = ConvLayer(
        weight=rng.standard_normal((c_out, c_in, kernel, kernel)),
        bias=rng.standard_normal(c_out),
        activation="relu",
    )
    return make_model(
        f"bench {size}x{size}, {c_in}->{c_out}",
        rng.standard_normal((c_in, size, size)),
        [layer],
        upstream=rng.standard_normal((c_out, out, out)),
    )


def percentiles(samples: list[float]) -> tuple[float, float]:
    ms = sorted(s * 1e3 for s in samples)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]


class Clock:
    """Wall time and this process's CPU time of a block (CPU time is what other load does not inflate)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Clock:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu.append(time.process_time() - self._c)
        self.wall.append(time.perf_counter() - self._w)


def bench_steps(window, app, model, pass_name: str, repeats: int, seed: int = 1) -> dict[str, Clock]:
    session = window.session
    window.show_model(model, pass_name=pass_name)
    app.processEvents()
    n = session.n
    results = {}

    # next: k -> k+1 (the common case: stepping or playing)
    start = min(n // 3, max(n - 2 * repeats - 2, 0))
    session.set_step(start)
    app.processEvents()
    steps, forced = Clock(), Clock()
    for i in range(repeats):
        with steps:
            session.next()
            app.processEvents()
        if i % 4 == 0:
            with forced:
                window.layer_view.repaint()
    results["next"] = steps
    results["full repaint"] = forced

    # the heat maps alone: the same steps, with only the layer view told (other docks idle)
    maps_only = Clock()
    for _ in range(min(repeats, n - session.step)):
        session._step += 1  # bypass the signal on purpose
        with maps_only:
            window.layer_view.refresh()
            app.processEvents()
    if maps_only.wall:
        results["next (maps)"] = maps_only

    # scrub: jump to a random step
    rng = np.random.default_rng(seed)
    scrubs = Clock()
    for k in rng.integers(0, n + 1, size=max(20, repeats // 4)):
        with scrubs:
            session.set_step(int(k))
            app.processEvents()
    results["scrub"] = scrubs
    return results


LAUNCH_CHILD = r"""
import os, sys, time
from PyQt6.QtCore import QObject, QEvent
from PyQt6.QtWidgets import QApplication
from visualconv.app.main_window import MainWindow, configure_pyqtgraph
from visualconv.engine.memory import reuse_freed_memory
from visualconv.samples import default_sample
reuse_freed_memory()

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print("PAINTED", flush=True)
            os._exit(0)
        return False

app = QApplication([])
configure_pyqtgraph()
window = MainWindow()
window.open_file(default_sample())
window.resize(1400, 900)
spy = FirstPaint()
window.layer_view.panels["input"].view.viewport().installEventFilter(spy)
window.show()
app.exec()
"""


def bench_launch(runs: int = 5) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH_CHILD], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        times.append(time.perf_counter() - t0)
        proc.wait(timeout=30)
        assert line.strip() == "PAINTED", line
    return percentiles(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--skip-large", action="store_true", help="skip the 256x256 cases")
    args = parser.parse_args()

    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from visualconv.app.main_window import MainWindow, configure_pyqtgraph
    from visualconv.engine.memory import reuse_freed_memory

    reuse_freed_memory()  # as run_app does
    app = QApplication.instance() or QApplication([])
    configure_pyqtgraph()
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "bench.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.resize(1400, 900)
    window.show()
    app.processEvents()

    cases = [("28x28, 3->8 ch, 3x3", make_conv_model(3, 8, 28), args.repeats)]
    if not args.skip_large:
        cases += [
            ("256x256, 1->16 ch, 3x3", make_conv_model(1, 16, 256), max(20, args.repeats // 4)),
            ("256x256, 16->16 ch, 3x3", make_conv_model(16, 16, 256), max(10, args.repeats // 10)),
        ]
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    head = f"{'wall median':>11} {'wall p95':>9} {'cpu median':>11} {'cpu p95':>8}"
    print(f"{'layer':<26} {'pass':<9} {'action':<13} {head}")
    for name, model, repeats in cases:
        for pass_name in ("forward", "backward"):
            results = bench_steps(window, app, model, pass_name, repeats)
            for action, clock in results.items():
                wm, wp = percentiles(clock.wall)
                cm, cp = percentiles(clock.cpu)
                print(f"{name:<26} {pass_name:<9} {action:<13} {wm:>11.2f} {wp:>9.2f} {cm:>11.2f} {cp:>8.2f}")
    print("(milliseconds)")
    window.close()

    median, p95 = bench_launch()
    print(f"\nlaunch -> first paint (new process, default example): median {median:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    main()

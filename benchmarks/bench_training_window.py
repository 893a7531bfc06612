"""Does the window answer input within a frame while a training run is going on?

Plain script, offscreen, run by hand::

    python benchmarks/bench_training_window.py [--presses 200] [--sample 22-shapes-classifier]

The Training panel runs SGD on its worker thread, as fast as it can, while this script
posts real key presses (Right, then Left) to the main window — the same events a user's
keyboard sends — and measures the time from posting a press until the stepper has moved
and every view has repainted. It reports the median and the 95th percentile next to the
same measurement with no training running, and the iterations the run made meanwhile
(fewer than at full speed: while input arrives the worker steps aside for the window).
A frame at 60 Hz is 16.7 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "XDG_RUNTIME_DIR" not in os.environ:
    _runtime = tempfile.mkdtemp(prefix="visualconv-bench-")
    os.environ["XDG_RUNTIME_DIR"] = _runtime

from pathlib import Path

from PyQt6.QtCore import QCoreApplication, QEvent, Qt
from PyQt6.QtGui import QKeyEvent
from PyQt6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]


def press_latencies(app: QApplication, window: object, presses: int) -> list[float]:
    """Milliseconds from posting an arrow key to the repainted window, per press."""
    session = window.session  # type: ignore[attr-defined]
    times = []
    for i in range(presses):
        key = Qt.Key.Key_Right if i % 2 == 0 else Qt.Key.Key_Left
        before = session.step
        start = time.perf_counter()
        QCoreApplication.postEvent(
            window, QKeyEvent(QEvent.Type.ShortcutOverride, key, Qt.KeyboardModifier.NoModifier)
        )
        QCoreApplication.postEvent(
            window, QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier)
        )
        while session.step == before:
            app.processEvents()
        app.processEvents()  # the paint events the step caused
        times.append(1000 * (time.perf_counter() - start))
    return times


def summary(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return f"median {statistics.median(times):6.2f} ms   p95 {p95:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--sample", default="22-shapes-classifier")
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([])
    from visualconv.app import integration
    from visualconv.app.main_window import MainWindow, configure_pyqtgraph
    from visualconv.engine.memory import reuse_freed_memory

    reuse_freed_memory()  # as run_app does
    configure_pyqtgraph()
    window = MainWindow()
    integration.install(window)
    window.resize(1400, 900)
    window.show()
    assert window.open_file(ROOT / "sample_models" / f"{args.sample}.json")
    window.session.select(0, "backward", 1)
    window.activateWindow()
    window.setFocus()
    for _ in range(20):
        app.processEvents()

    idle = press_latencies(app, window, args.presses)

    panel = window.training_panel  # type: ignore[attr-defined]
    if not os.environ.get("BENCH_HIDE_PANEL"):
        window.training_dock.show()  # type: ignore[attr-defined]
    panel.epochs.setValue(100000)
    panel.speed.setCurrentIndex(0)  # as fast as it goes
    panel.start()
    deadline = time.perf_counter() + 10
    while len(panel.records) == 0 and time.perf_counter() < deadline:
        app.processEvents()
    first = len(panel.records)
    t0 = time.perf_counter()
    busy = press_latencies(app, window, args.presses)
    elapsed = time.perf_counter() - t0
    iterations = len(panel.records) - first
    state = panel.state
    panel.shutdown()

    print(f"sample: {args.sample}; window 1400x900; {args.presses} key presses each")
    print(f"no training running    {summary(idle)}")
    print(f"training running       {summary(busy)}   ({iterations} iterations in {elapsed:.1f} s, {state})")
    print("a frame at 60 Hz is 16.7 ms")


if __name__ == "__main__":
    main()

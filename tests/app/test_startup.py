"""What the launch does before its first frame: no jsonschema, no exports, the collector paused.

The launch is timed by benchmarks/bench_person.py; these tests hold the work the first
frame does not need out of it (without a timing): the default example opens without
importing ``jsonschema``, any export module or the layer kinds it does not hold (it is a
convolution alone), and the garbage collector, paused while the window is built, runs
again once the event loop runs, with the start-up's objects frozen out of its passes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from visualconv import ModelError
from visualconv.app.main import run_app

ROOT = Path(__file__).resolve().parents[2]

# The real command line (the default example), stopped once the first frame is painted and
# the event loop has run the work queued behind it (the collector is back by then).
FIRST_FRAME = r"""
import gc, json, os, sys
from PyQt6.QtCore import QCoreApplication, QDeadlineTimer, QEvent, QObject, QTimer
from PyQt6.QtWidgets import QApplication

_exec = QApplication.exec
KINDS = ("pool", "flatten", "dense", "conv_transpose")  # the example has a convolution alone

class _FirstFrame(QObject):
    seen = None

    def eventFilter(self, watched, event):
        if event is not None and event.type() == QEvent.Type.Paint and self.seen is None:
            self.seen = {
                "jsonschema": "jsonschema" in sys.modules,
                "export": sorted(m for m in sys.modules if m.startswith("visualconv.export")),
                "other kinds": sorted(
                    m for m in sys.modules
                    if m.rpartition(".")[::2] in {("visualconv.engine.kinds", k) for k in KINDS}
                ),
            }
            QTimer.singleShot(0, self.report)
        return False

    def report(self):
        deadline = QDeadlineTimer(30_000)
        while not gc.isenabled() and not deadline.hasExpired():
            QCoreApplication.processEvents()
        self.seen["collector paused while the window was built"] = collecting_at_show == [False]
        self.seen["collector running after it"] = gc.isenabled()
        self.seen["frozen"] = gc.get_freeze_count()
        print("FIRST FRAME " + json.dumps(self.seen), flush=True)
        os._exit(0)

def _exec_with_report():
    spy = _FirstFrame()
    QApplication.instance().installEventFilter(spy)
    return _exec()

QApplication.exec = staticmethod(_exec_with_report)
sys.argv = ["visualconv"]
from visualconv.cli import main
from visualconv.app import main_window

_show = main_window.MainWindow.show
collecting_at_show = []

def _show_and_note(self):
    collecting_at_show.append(gc.isenabled())
    _show(self)

main_window.MainWindow.show = _show_and_note
sys.exit(main())
"""


def test_the_first_frame_needs_no_jsonschema_and_no_exports_and_then_the_collector_runs(tmp_path):
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path),
        XDG_DATA_HOME=str(tmp_path),
        VISUALCONV_DATA_DIR=str(tmp_path / "data"),  # no unsaved work of other tests to offer
    )
    result = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("FIRST FRAME ")]
    assert lines, result.stderr[-3000:]
    seen = json.loads(lines[0].removeprefix("FIRST FRAME "))
    assert seen["jsonschema"] is False
    assert seen["export"] == []
    assert seen["other kinds"] == []
    assert seen["collector paused while the window was built"] is True
    assert seen["collector running after it"] is True
    assert seen["frozen"] > 10_000  # the modules and the window, out of the collector's passes


def test_a_bad_model_file_leaves_the_collector_as_it_was(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"format": "visualconv/1", "name": "x", "input": [1, 2], "layers": [{"type": "conv", "weight": [1], '
        '"stride": 0}]}',
        encoding="utf-8",
    )
    args = argparse.Namespace(file=str(bad), screenshot=None, size=None, zoom=None, layer=0, pass_name=None)
    assert gc.isenabled()
    with pytest.raises(ModelError, match=r"layers\[0\]\.stride: expected "):
        run_app(args)
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    gc.disable()
    try:
        with pytest.raises(ModelError):
            run_app(args)
        assert not gc.isenabled()  # a caller that had it off gets it back off
    finally:
        gc.enable()
    assert gc.get_freeze_count() == frozen  # nothing frozen in a process that is not the window's own

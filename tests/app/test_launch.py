"""Starting the window from the command line: screenshots, no display, the error hook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QMessageBox

from visualconv.app.excepthook import ExceptionHook
from visualconv.samples import default_sample, sample_dir, samples

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, env_drop=("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
    env = {k: v for k, v in os.environ.items() if k not in env_drop}
    return subprocess.run(
        [sys.executable, "-m", "visualconv", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )


def test_screenshot_writes_a_png_of_the_requested_size(tmp_path):
    """--screenshot works with no display at all and renders the requested state."""
    out = tmp_path / "shot.png"
    model = ROOT / "sample_models" / "02-seed-2d-conv.json"
    result = run_cli(
        str(model), "--screenshot", str(out), "--pass", "backward", "--step", "5", "--size", "1300x860"
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1300, 860)


def test_screenshot_of_a_step_that_does_not_exist_is_a_clear_error(tmp_path):
    model = ROOT / "sample_models" / "01-seed-1d-conv.json"
    result = run_cli(str(model), "--screenshot", str(tmp_path / "x.png"), "--pass", "backward", "--step", "9")
    assert result.returncode == 2
    assert "steps 0..2" in result.stderr and "Traceback" not in result.stderr


def test_without_a_display_the_window_explains_and_exits_2():
    result = run_cli()
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no display" in result.stderr


def test_samples_are_found_by_name():
    assert sample_dir() is not None
    assert default_sample().name == "01-seed-1d-conv.json"
    names = {s.name for s in samples()}
    assert "Seed: 1-D convolution" in names


class _Emitter(QObject):
    sigPoke = pyqtSignal()


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_is_logged_and_shown_and_the_window_lives(window, tmp_path, monkeypatch):
    """A fault in a handler shows a dialog and writes the log; the model stays open."""
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(self.informativeText()) or 0)
    log = tmp_path / "visualconv.log"
    assert window.open_file(default_sample())
    hook = ExceptionHook(lambda: window, log_path=log).install()
    try:
        emitter = _Emitter()

        def broken() -> None:
            raise RuntimeError("boom in a slot")

        emitter.sigPoke.connect(broken)
        emitter.sigPoke.emit()
    finally:
        hook.uninstall()
    assert len(hook.records) == 1 and "boom in a slot" in hook.records[0]
    assert "RuntimeError: boom in a slot" in log.read_text("utf-8")
    assert shown and "boom in a slot" in shown[0]
    assert window.isVisible() and window.session.model is not None

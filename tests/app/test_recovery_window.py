"""Nothing lost: autosave, restore after a crash or a kill, and the questions on close.

Every test keeps the recovery file in its own data directory ($VISUALCONV_DATA_DIR).
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtWidgets import QApplication, QFileDialog, QMessageBox

from visualconv import editing, modelfile, recovery
from visualconv.app import autosave as autosave_module
from visualconv.app.autosave import Autosave, start_autosave
from visualconv.app.main import run_app
from visualconv.app.main_window import MainWindow
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import load_model

ROOT = Path(__file__).resolve().parents[2]
SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("VISUALCONV_DATA_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def discard_when_the_test_ends(monkeypatch):
    """A window left with unsaved changes closes without a modal question at teardown."""
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Discard)


def never_asked(found, parent):
    raise AssertionError("there is no recovery file, nothing should be offered")


def edited_seed():
    """The 1-D seed with input[0, 2] changed from 3 to 7.5 (what a user types in a cell)."""
    return editing.set_cell(load_model(SEED_1D), "input", (0, 2), "7.5")


def edit(window, qtbot, autosave, model):
    with qtbot.waitSignal(autosave.sigAutosaved, timeout=60_000) as blocker:
        window.session.replace_model(model)
    return Path(blocker.args[0])


def test_an_edit_is_autosaved_to_the_recovery_file(window, qtbot, data_dir):
    """Shortly after an edit, the recovery file holds the edited model and its file."""
    assert window.open_file(SEED_1D)
    autosave = start_autosave(window, ask=never_asked, delay_ms=20)
    assert not (data_dir / recovery.RECOVERY_NAME).exists()
    path = edit(window, qtbot, autosave, edited_seed())
    assert path == data_dir / recovery.RECOVERY_NAME
    found = recovery.read_recovery()
    assert found is not None and found.source == str(SEED_1D)
    np.testing.assert_array_equal(found.model.input, [[1.0, 2.0, 7.5]])
    window.session.save(data_dir / "saved.json")  # clean, so closing the window asks nothing


def test_quick_edits_are_written_once_with_the_last_one(window, qtbot, data_dir):
    """Debounced: three edits in a row give one write, of the last model."""
    assert window.open_file(SEED_1D)
    autosave = start_autosave(window, ask=never_asked, delay_ms=100)
    written = []
    autosave.sigAutosaved.connect(written.append)
    model = window.session.model
    for value in ("4", "5", "6"):
        model = editing.set_cell(model, "input", (0, 0), value)
        window.session.replace_model(model)
    assert autosave.pending and not written
    qtbot.waitUntil(lambda: bool(written), timeout=60_000)
    qtbot.wait(150)
    assert len(written) == 1
    assert recovery.read_recovery().model.input[0, 0] == 6.0
    window.session.save(data_dir / "saved.json")


def test_a_new_start_offers_the_recovered_model_and_restores_it_unsaved(window, qtbot, data_dir, monkeypatch):
    """Restore shows the edited model dirty, remembers its file; Save asks (a sample) and clears."""
    recovery.write_recovery(edited_seed(), str(SEED_1D))
    assert window.open_file(SEED_2D)  # what the launcher shows first
    asked = []
    autosave = start_autosave(window, ask=lambda found, parent: asked.append(found) or True, delay_ms=20)
    assert [found.model.name for found in asked] == ["Seed: 1-D convolution"]
    assert asked[0].source == str(SEED_1D)
    session = window.session
    np.testing.assert_array_equal(session.model.input, [[1.0, 2.0, 7.5]])
    assert session.dirty and window.isWindowModified()
    assert session.path == str(SEED_1D)
    assert window.statusBar().currentMessage().startswith("Restored the unsaved changes")
    assert session.trace.n == trace_layer(session.model, session.layer_index, session.pass_name).n

    out = data_dir / "my-example.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    with qtbot.waitSignal(autosave.sigCleared, timeout=60_000):
        assert window.save()  # the source is a shipped sample, so Save asks for a name
    assert not session.dirty
    assert recovery.read_recovery() is None
    np.testing.assert_array_equal(load_model(out).input, [[1.0, 2.0, 7.5]])


def test_a_restored_model_saves_to_the_file_it_came_from(window, qtbot, data_dir):
    mine = data_dir / "mine.json"
    modelfile.save_model(load_model(SEED_1D), mine)
    recovery.write_recovery(edited_seed(), str(mine))
    start_autosave(window, ask=lambda found, parent: True, delay_ms=20)
    assert window.session.path == str(mine) and window.session.dirty
    assert window.save()
    np.testing.assert_array_equal(load_model(mine).input, [[1.0, 2.0, 7.5]])
    assert recovery.read_recovery() is None


def test_discard_at_start_deletes_the_recovery_file(window, data_dir):
    recovery.write_recovery(edited_seed(), None)
    assert window.open_file(SEED_2D)
    start_autosave(window, ask=lambda found, parent: False, delay_ms=20)
    assert recovery.read_recovery() is None
    assert window.session.model.name == load_model(SEED_2D).name
    assert not window.session.dirty


def test_a_clean_save_clears_the_recovery_file(window, qtbot, data_dir):
    mine = data_dir / "mine.json"
    modelfile.save_model(load_model(SEED_1D), mine)
    assert window.open_file(mine)
    autosave = start_autosave(window, ask=never_asked, delay_ms=20)
    recovery_file = edit(window, qtbot, autosave, edited_seed())
    assert recovery_file.exists()
    with qtbot.waitSignal(autosave.sigCleared, timeout=60_000):
        assert window.save()
    assert not recovery_file.exists()
    np.testing.assert_array_equal(load_model(mine).input, [[1.0, 2.0, 7.5]])


def answer_close_with(monkeypatch, button):
    asked = []

    def question(parent, title, text, buttons, *rest):
        asked.append((title, text, buttons))
        return button

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_close_with_unsaved_changes_asks_and_cancel_keeps_everything(window, qtbot, data_dir, monkeypatch):
    assert window.open_file(SEED_1D)
    autosave = start_autosave(window, ask=never_asked, delay_ms=20)
    recovery_file = edit(window, qtbot, autosave, edited_seed())
    asked = answer_close_with(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert not window.close()
    (title, text, buttons) = asked[0]
    assert title == "Unsaved changes"
    S = QMessageBox.StandardButton
    assert buttons == S.Save | S.Discard | S.Cancel
    assert "Seed: 1-D convolution" in text
    assert window.isVisible() and window.session.dirty
    assert recovery_file.exists()

    answer_close_with(monkeypatch, QMessageBox.StandardButton.Discard)
    with qtbot.waitSignal(autosave.sigCleared, timeout=60_000):
        assert window.close()
    assert not window.isVisible()
    assert not recovery_file.exists()


def test_closing_a_saved_model_asks_nothing_and_clears(window, qtbot, data_dir, monkeypatch):
    assert window.open_file(SEED_1D)
    start_autosave(window, ask=never_asked, delay_ms=20)
    asked = answer_close_with(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert window.close()
    assert not asked


def _raise(error):
    def fail(*args, **kwargs):
        raise error

    return fail


@pytest.mark.parametrize(
    "where, error",
    [
        ("mkstemp", PermissionError(errno.EACCES, "Permission denied")),
        ("fsync", OSError(errno.ENOSPC, "No space left on device")),
    ],
    ids=["read-only folder", "disk full"],
)
def test_a_failed_save_on_close_keeps_the_window_the_model_and_the_old_file(
    window, qtbot, data_dir, monkeypatch, where, error
):
    """Save fails: a message, the window stays open and dirty, the user's file is unchanged."""
    mine = data_dir / "mine.json"
    modelfile.save_model(load_model(SEED_1D), mine)
    before = mine.read_bytes()
    assert window.open_file(mine)
    autosave = start_autosave(window, ask=never_asked, delay_ms=20)
    recovery_file = edit(window, qtbot, autosave, edited_seed())
    edited = window.session.model

    if where == "mkstemp":
        monkeypatch.setattr(tempfile, "mkstemp", _raise(error))
    else:
        monkeypatch.setattr(os, "fsync", _raise(error))
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: warnings.append(text))
    answer_close_with(monkeypatch, QMessageBox.StandardButton.Save)
    assert not window.close()

    assert len(warnings) == 1 and warnings[0] == f"{mine}: {error.strerror}. The file was not changed."
    assert window.isVisible() and window.session.dirty
    assert window.session.model is edited
    assert mine.read_bytes() == before
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(["mine.json", recovery.RECOVERY_NAME])
    assert recovery_file.exists()

    monkeypatch.undo()  # the disk has room again
    monkeypatch.setenv("VISUALCONV_DATA_DIR", str(data_dir))
    answer_close_with(monkeypatch, QMessageBox.StandardButton.Save)
    assert window.close()
    np.testing.assert_array_equal(load_model(mine).input, [[1.0, 2.0, 7.5]])
    assert not recovery_file.exists()


def test_a_failed_autosave_is_reported_and_the_model_stays(window, qtbot, data_dir, monkeypatch):
    assert window.open_file(SEED_1D)
    autosave = start_autosave(window, ask=never_asked, delay_ms=20)
    monkeypatch.setattr(os, "fsync", _raise(OSError(errno.ENOSPC, "No space left on device")))
    with qtbot.waitSignal(autosave.sigAutosaveFailed, timeout=60_000) as blocker:
        window.session.replace_model(edited_seed())
    assert "No space left on device" in blocker.args[0]
    assert "No space left on device" in window.statusBar().currentMessage()
    assert window.session.dirty and window.session.model.input[0, 2] == 7.5
    assert not (data_dir / recovery.RECOVERY_NAME).exists()
    monkeypatch.undo()
    window.session.save(tmp := data_dir.parent / "saved.json")
    assert tmp.exists()


KILLED_AFTER_AN_EDIT = """\
import argparse, os, signal, sys

from PyQt6.QtWidgets import QApplication
from PyQt6.QtCore import QTimer

app = QApplication(sys.argv[:1])

from visualconv import editing
from visualconv.app.autosave import Autosave
from visualconv.app.main import run_app
from visualconv.app.main_window import MainWindow


def edit_then_die():
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
    autosave = window.findChild(Autosave)
    autosave.sigAutosaved.connect(lambda path: os.kill(os.getpid(), signal.SIGKILL))
    window.session.replace_model(editing.set_cell(window.session.model, "input", (0, 2), "7.5"))


QTimer.singleShot(0, edit_then_die)
QTimer.singleShot(30000, lambda: os._exit(3))  # the autosave never came
args = argparse.Namespace(file=sys.argv[1], screenshot=None, size=None, layer=0, pass_name=None, step=None)
run_app(args)
os._exit(4)  # the window closed on its own
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killing_the_process_right_after_an_edit_and_starting_again_restores_the_edit(
    qtbot, tmp_path, data_dir, monkeypatch
):
    """The issue's done-when, with a real kill: the next start offers the edit back."""
    script = tmp_path / "edit_and_die.py"
    script.write_text(KILLED_AFTER_AN_EDIT, "utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VISUALCONV_DATA_DIR=str(data_dir))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # the window's recent files
    result = subprocess.run(
        [sys.executable, str(script), str(SEED_1D)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert (data_dir / recovery.RECOVERY_NAME).exists()

    # Start again, in this process, through the same launcher.
    asked, seen = [], {}
    monkeypatch.setattr(autosave_module, "ask_restore", lambda found, parent: asked.append(found) or True)

    def running(app):
        (window,) = (w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        seen.update(
            model=window.session.model,
            dirty=window.session.dirty,
            path=window.session.path,
            modified=window.isWindowModified(),
            autosave=window.findChild(Autosave) is not None,
        )
        window.session.save(tmp_path / "saved.json")
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", running)
    args = argparse.Namespace(file=None, screenshot=None, size=None, layer=0, pass_name=None, step=None)
    assert run_app(args) == 0
    assert len(asked) == 1 and asked[0].source == str(SEED_1D)
    np.testing.assert_array_equal(seen["model"].input, [[1.0, 2.0, 7.5]])
    assert seen["dirty"] and seen["modified"] and seen["path"] == str(SEED_1D)
    assert seen["autosave"]
    assert recovery.read_recovery() is None  # saved, then closed cleanly


def test_an_edited_training_sample_can_be_recovered(window, qtbot, data_dir):
    assert window.open_file(ROOT / "sample_models" / "20-learning-a-kernel.json")
    autosave = start_autosave(window, ask=never_asked, delay_ms=20)
    edited = editing.set_layer_setting(window.session.model, 0, "out_channels", "3")
    edit(window, qtbot, autosave, edited)
    found = recovery.read_recovery()
    window.session.save(data_dir / "saved.json")
    assert found is not None


BAD_FILES = [
    ("empty.json", b"", "the file is empty; expected"),
    ("utf16.json", b"\xff\xfe{\x00", "expected UTF-8 text"),
    (
        "stride.json",
        b'{"format": "visualconv/1", "name": "x", "input": [1, 2, 3],'
        b' "layers": [{"type": "conv", "weight": [1], "stride": 0}]}',
        "layers[0].stride: expected a positive integer",
    ),
    (
        "kernel.json",
        b'{"format": "visualconv/1", "name": "x", "input": [1, 2, 3],'
        b' "layers": [{"type": "conv", "weight": [1, 1, 1, 1, 1]}]}',
        "layers[0].weight: expected a kernel that fits",
    ),
    (
        "type.json",
        b'{"format": "visualconv/1", "name": "x", "input": [1, 2, 3], "layers": [{"type": "lstm"}]}',
        "layers[0].type: expected one of",
    ),
    (
        "key.json",
        b'{"format": "visualconv/1", "name": "x", "input": [1, 2, 3],'
        b' "layers": [{"type": "conv", "weight": [1]}], "colour": 1}',
        "colour: unknown key 'colour'; expected",
    ),
]


@pytest.mark.parametrize("name, data, says", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_is_refused_and_the_unsaved_model_stays(
    window, qtbot, data_dir, monkeypatch, name, data, says
):
    """file: place: what was expected, in a dialog; the edited model, its step and its recovery stay."""
    assert window.open_file(SEED_1D)
    autosave = start_autosave(window, ask=never_asked, delay_ms=20)
    recovery_file = edit(window, qtbot, autosave, edited_seed())
    window.session.select(0, "backward", 1)
    before = window.session.model
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append((title, text)))
    bad = data_dir / name
    bad.write_bytes(data)
    assert not window.open_file(bad)
    assert shown == [("Cannot open the model", shown[0][1])]
    assert shown[0][1].startswith(f"{bad}: ") and says in shown[0][1]
    assert window.session.model is before and window.session.dirty
    assert (window.session.layer_index, window.session.pass_name, window.session.step) == (0, "backward", 1)
    assert window.session.path == str(SEED_1D)
    qtbot.wait(50)
    assert recovery.read_recovery().model.input[0, 2] == 7.5 and recovery_file.exists()


def test_the_file_is_written_off_the_gui_thread_and_a_save_wins_over_a_write_in_progress(
    window, qtbot, data_dir, monkeypatch
):
    """A save while the writer thread is still encoding: the late write is dropped, no stale file."""
    import threading

    started, release, threads = threading.Event(), threading.Event(), []
    encode = recovery.recovery_text

    def slow_encode(model, source):
        threads.append(threading.current_thread())
        started.set()
        assert release.wait(10)
        return encode(model, source)

    monkeypatch.setattr(recovery, "recovery_text", slow_encode)
    mine = data_dir / "mine.json"
    modelfile.save_model(load_model(SEED_1D), mine)
    assert window.open_file(mine)
    autosave = start_autosave(window, ask=never_asked, delay_ms=5)
    written = []
    autosave.sigAutosaved.connect(written.append)
    window.session.replace_model(edited_seed())
    qtbot.waitUntil(started.is_set, timeout=60_000)  # the writer is busy with the edit
    assert threads[0] is not threading.main_thread()
    with qtbot.waitSignal(autosave.sigCleared, timeout=60_000):
        assert window.save()
    release.set()
    assert autosave.flush() == ""
    qtbot.wait(20)
    assert written == []
    assert not (data_dir / recovery.RECOVERY_NAME).exists()
    np.testing.assert_array_equal(load_model(mine).input, [[1.0, 2.0, 7.5]])

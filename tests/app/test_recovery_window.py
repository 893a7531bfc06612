"""Nothing lost: autosave, restore after a crash or a kill, and the questions on close.

Every test keeps the recovery journals in its own data directory ($VISUALCONV_DATA_DIR).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
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


def test_an_edit_is_autosaved_to_the_recovery_journal(window, qtbot, data_dir):
    """When an edit's handler returns, the window's journal holds the edited model and its file."""
    assert window.open_file(SEED_1D)
    autosave = start_autosave(window, ask=never_asked, delay_ms=20)
    assert autosave.path is None
    path = edit(window, qtbot, autosave, edited_seed())
    assert path == autosave.path and path.parent == data_dir / recovery.RECOVERY_FOLDER
    assert path.name.startswith(f"{os.getpid()}-") and path.suffix == ".journal"
    found = recovery.read_recovery()
    assert found is not None and found.source == str(SEED_1D)
    np.testing.assert_array_equal(found.model.input, [[1.0, 2.0, 7.5]])
    window.session.save(data_dir / "saved.json")  # clean, so closing the window asks nothing


def test_every_edit_is_on_disk_before_the_next_event(window, qtbot, data_dir):
    """No debounce to wait for: edit after edit, each is in the journal when its handler returns."""
    assert window.open_file(SEED_1D)
    autosave = start_autosave(window, ask=never_asked, delay_ms=1000)
    written = []
    autosave.sigAutosaved.connect(written.append)
    model = window.session.model
    for i, value in enumerate(("4", "5", "6")):
        model = editing.set_cell(model, "input", (0, i), value)
        window.session.replace_model(model)  # no event loop turn in between
        assert not autosave.pending and len(written) == i + 1
        model_on_disk, _, _ = recovery.read_journal(autosave.path)
        np.testing.assert_array_equal(model_on_disk.input, model.input)
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

    reason = error.strerror[0].lower() + error.strerror[1:]
    assert warnings == [f"{mine}: could not write: {reason} (the old file is unchanged)"]
    assert window.isVisible() and window.session.dirty
    assert window.session.model is edited
    assert mine.read_bytes() == before
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(["mine.json", recovery.RECOVERY_FOLDER])
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
    assert "no space left on device" in blocker.args[0]
    assert "no space left on device" in autosave.warning  # on show in the status bar until a record succeeds
    assert window.session.dirty and window.session.model.input[0, 2] == 7.5
    assert recovery.read_recovery() is None
    monkeypatch.undo()  # the disk has room again
    monkeypatch.setenv("VISUALCONV_DATA_DIR", str(data_dir))
    window.session.replace_model(editing.set_cell(window.session.model, "input", (0, 0), "2"))
    assert autosave.warning == "" and recovery.read_recovery().model.input[0, 2] == 7.5
    window.session.save(tmp := data_dir.parent / "saved.json")
    assert tmp.exists()


EDIT_THEN_WAIT = """\
import argparse, json, os, sys

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])

from visualconv import editing
from visualconv.app.main import run_app
from visualconv.app.main_window import MainWindow

edits, gap_ms = json.loads(sys.argv[2]), int(sys.argv[3])


def edit(i):
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
    name, index, value = edits[i]
    window.session.replace_model(editing.set_cell(window.session.model, name, tuple(index), value))
    print(f"edit {i + 1}", flush=True)
    if i + 1 < len(edits):
        QTimer.singleShot(gap_ms, lambda: edit(i + 1))


QTimer.singleShot(0, lambda: edit(0))
QTimer.singleShot(120000, lambda: os._exit(3))  # never killed
args = argparse.Namespace(file=sys.argv[1], screenshot=None, size=None, layer=0, pass_name=None, step=None)
run_app(args)
os._exit(4)  # the window closed on its own
"""


def start_editing(tmp_path, data_dir, file, edits, gap_ms, cwd=ROOT):
    """A real window in another process that makes ``edits`` (name, index, value), ``gap_ms`` apart."""
    script = tmp_path / "edit_then_wait.py"
    script.write_text(EDIT_THEN_WAIT, "utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VISUALCONV_DATA_DIR=str(data_dir))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # the window's recent files
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, str(script), str(file), json.dumps(edits), str(gap_ms)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def wait_for_last_edit(process, count):
    for line in process.stdout:
        if line.strip() == f"edit {count}":
            return
    raise AssertionError(f"the window ended before its edits: {process.wait()} {process.stderr.read()}")


def kill(*processes):
    for process in processes:
        process.send_signal(signal.SIGKILL)
    for process in processes:
        assert process.wait(30) == -signal.SIGKILL, process.stderr.read()
        process.stdout.close()
        process.stderr.close()


def applied(file, edits):
    """The model after ``edits``, made here by the same editing functions (the expected result)."""
    model = load_model(file)
    for name, index, value in edits:
        model = editing.set_cell(model, name, tuple(index), value)
    return model


def start_again(monkeypatch, answer=True):
    """Start the launcher in this process; returns what was offered and what every window shows."""
    asked, seen = [], []
    monkeypatch.setattr(autosave_module, "ask_restore", lambda found, parent: asked.append(found) or answer)

    def running(app):
        for window in QApplication.topLevelWidgets():
            if isinstance(window, MainWindow) and window.isVisible():
                seen.append(window)
        return 0

    monkeypatch.setattr(QApplication, "exec", running)
    args = argparse.Namespace(file=None, screenshot=None, size=None, layer=0, pass_name=None, step=None)
    assert run_app(args) == 0
    return asked, seen


def close_all(windows, tmp_path):
    for i, window in enumerate(windows):
        if window.session.dirty:
            window.session.save(tmp_path / f"saved-{i}.json")
        window.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.parametrize(
    "count, gap_ms",
    [(1, 0), (20, 500)],
    ids=["killed 0.2 s after an edit", "killed after 20 edits 0.5 s apart"],
)
def test_kill_9_after_edits_and_the_next_start_offers_every_edit(
    qtbot, tmp_path, data_dir, monkeypatch, count, gap_ms
):
    """The issue's done-when, with a real kill from outside 0.2 s after the last edit."""
    edits = [["input", [0, i // 5, i % 5], 10.0 + i] for i in range(count)]
    process = start_editing(tmp_path, data_dir, SEED_2D, edits, gap_ms)
    wait_for_last_edit(process, count)
    time.sleep(0.2)
    kill(process)

    asked, windows = start_again(monkeypatch)
    assert len(asked) == 1 and asked[0].source == str(SEED_2D)
    (window,) = windows
    expected = applied(SEED_2D, edits)
    np.testing.assert_array_equal(window.session.model.input, expected.input)
    assert window.session.dirty and window.isWindowModified() and window.session.path == str(SEED_2D)
    assert window.findChild(Autosave) is not None
    # The dead window's journal was replaced by this window's own.
    (journal,) = (data_dir / recovery.RECOVERY_FOLDER).glob("*.journal")
    assert journal == window.findChild(Autosave).path
    close_all(windows, tmp_path)
    assert recovery.read_recovery() is None


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_two_windows_killed_together_are_both_recovered(qtbot, tmp_path, data_dir, monkeypatch):
    """Each window has its own journal; the next start offers both and opens a window for the second."""
    edits_1d = [["input", [0, 0], 5.5], ["layers[0].weight", [0, 0, 1], -0.25]]
    edits_2d = [["input", [0, 2, 2], 7.75], ["upstream", [0, 0, 0], 0.5]]
    one = start_editing(tmp_path, data_dir, SEED_1D, edits_1d, 100)
    two = start_editing(tmp_path, data_dir, SEED_2D, edits_2d, 100)
    wait_for_last_edit(one, 2)
    wait_for_last_edit(two, 2)
    time.sleep(0.2)
    kill(one, two)
    assert len(list((data_dir / recovery.RECOVERY_FOLDER).glob("*.journal"))) == 2

    asked, windows = start_again(monkeypatch)
    assert sorted(found.source for found in asked) == sorted([str(SEED_1D), str(SEED_2D)])
    assert len(windows) == 2
    by_source = {w.session.path: w.session.model for w in windows}
    for file, edits in ((SEED_1D, edits_1d), (SEED_2D, edits_2d)):
        expected = applied(file, edits)
        for name in editing.tensor_names(expected):
            np.testing.assert_array_equal(
                editing.get_tensor(by_source[str(file)], name), editing.get_tensor(expected, name)
            )
    assert all(w.session.dirty for w in windows)
    close_all(windows, tmp_path)
    assert recovery.read_recovery() is None


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_restore_started_from_another_folder_saves_to_the_file_it_came_from(
    qtbot, tmp_path, data_dir, monkeypatch
):
    """The journal keeps the absolute path: an unrelated model.json in the new folder is untouched."""
    first, elsewhere = tmp_path / "first", tmp_path / "elsewhere"
    first.mkdir()
    elsewhere.mkdir()
    modelfile.save_model(load_model(SEED_1D), first / "model.json")
    modelfile.save_model(load_model(SEED_2D), elsewhere / "model.json")
    unrelated = (elsewhere / "model.json").read_bytes()
    edits = [["input", [0, 1], 6.5]]
    process = start_editing(tmp_path, data_dir, "model.json", edits, 0, cwd=first)
    wait_for_last_edit(process, 1)
    time.sleep(0.2)
    kill(process)

    monkeypatch.chdir(elsewhere)
    asked, (window,) = start_again(monkeypatch)
    assert asked[0].source == str(first / "model.json")
    assert window.session.path == str(first / "model.json")
    assert window.save()
    assert (elsewhere / "model.json").read_bytes() == unrelated
    np.testing.assert_array_equal(load_model(first / "model.json").input, [[1.0, 6.5, 3.0]])
    close_all([window], tmp_path)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_second_window_never_offers_nor_discards_a_live_windows_recovery(
    qtbot, tmp_path, data_dir, monkeypatch
):
    """A window still running keeps its journal; once it is killed, the next start offers it."""
    edits = [["input", [0, 2], 9.5]]
    process = start_editing(tmp_path, data_dir, SEED_1D, edits, 0)
    try:
        wait_for_last_edit(process, 1)
        asked, windows = start_again(monkeypatch, answer=False)  # would discard, if it were offered
        assert asked == []
        close_all(windows, tmp_path)
        assert len(list((data_dir / recovery.RECOVERY_FOLDER).glob("*.journal"))) == 1
    finally:
        kill(process)
    asked, windows = start_again(monkeypatch, answer=None)  # keep for later
    assert len(asked) == 1 and asked[0].model.input[0, 2] == 9.5
    close_all(windows, tmp_path)
    asked, windows = start_again(monkeypatch, answer=False)  # offered again, now discarded
    assert len(asked) == 1
    close_all(windows, tmp_path)
    assert list((data_dir / recovery.RECOVERY_FOLDER).iterdir()) == []


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
    monkeypatch.setattr(recovery, "SYNC_VALUES", 5)  # the seed's 8 numbers count as a large model
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
    assert recovery.read_recovery() is None
    np.testing.assert_array_equal(load_model(mine).input, [[1.0, 2.0, 7.5]])

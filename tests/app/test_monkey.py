"""The monkey test: hundreds of random user actions, and the window never falls over.

A fixed seed drives opening samples and bad files, typing random text and numbers into
cells, changing sizes and layer settings (many of them invalid), undo and redo, stepping,
scrubbing, play and pause, switching layers and passes, training a few iterations,
exporting snapshots and saving. After every action the window must be alive and show a
valid model whose trace matches the selected layer and pass, and the exception hook must
not have seen a single unhandled exception.
"""

from __future__ import annotations

import json
import random
import threading

import numpy as np
import pytest
from helpers import ROOT
from PyQt6.QtCore import QThread
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from visualconv import editing, recovery
from visualconv.app.autosave import start_autosave
from visualconv.app.excepthook import ExceptionHook
from visualconv.engine.errors import ModelError

SEED = 20261123
ACTIONS = 300

TEXTS = [
    "1.5", "-3", "0", "  2 ", "1e3", "-0.25", "7", "abc", "", " ", "1e400", "nan", "inf", "-inf",
    "0x10", "1,5", "½", "2 3", "--1", "1e-300", "3.", ".5", "+4", "١٢", "1_000", "None",
]  # fmt: skip
SETTINGS = [
    "stride",
    "padding",
    "dilation",
    "activation",
    "mode",
    "size",
    "kernel_size",
    "out_channels",
    "bogus",
]
SETTING_VALUES = [
    0, 1, 2, 3, -1, "2, 1", "1 2", "x", "", "0", 1.5, "3", 10**6, [2, 2], None,
    "relu", "sigmoid", "tanh", "identity", "max", "avg", "softmax", "leaky",
]  # fmt: skip
BAD_FILES = {
    "empty.json": "",
    "truncated.json": '{"format": "visualconv/1", "name": "x", "input": [1, 2',
    "ragged.json": '{"format": "visualconv/1", "name": "x", "input": [[1, 2], [3]], "layers": []}',
    "nan.json": '{"format": "visualconv/1", "name": "x", "input": [NaN, 1], "layers": []}',
    "version.json": '{"format": "visualconv/9", "name": "x", "input": [1], "layers": []}',
    "stride.json": json.dumps(
        {"format": "visualconv/1", "name": "x", "input": [1, 2, 3],
         "layers": [{"type": "conv", "weight": [1], "stride": 0}]}
    ),
    "huge.json": json.dumps(
        {"format": "visualconv/1", "name": "x", "input": [[1.0]],
         "layers": [{"type": "conv", "weight": [[1]], "padding": 10**9}]}
    ),
}  # fmt: skip


class Monkey:
    """Random user actions on one window; each returns a short description of what it did."""

    def __init__(self, window, qtbot, tmp_path, rng: random.Random) -> None:
        self.window = window
        self.session = window.session
        self.qtbot = qtbot
        self.tmp = tmp_path
        self.rng = rng
        self.editors = getattr(window, "editors", None)
        self.panel = getattr(window, "training_panel", None)
        self.refused: list[str] = []
        self.trained = 0
        self.exported = 0

    # ------------------------------------------------------------ edits (the UI path)

    def apply(self, label, edit) -> bool:
        """Apply an edit the way the window does: refused edits leave the model as it was."""
        before = self.session.model
        if self.editors is not None:
            ok = self.editors.history.apply(label, edit)
        else:
            try:
                after = edit(before)
            except ModelError as exc:
                self.refused.append(str(exc))
                ok = False
            else:
                self.session.replace_model(after)
                ok = True
        if not ok:
            assert self.session.model is before, label
        return ok

    def tensor(self) -> str:
        return self.rng.choice(editing.tensor_names(self.session.model))

    def cell(self, name):
        shape = editing.get_tensor(self.session.model, name).shape
        if self.rng.random() < 0.1:
            return tuple(s + self.rng.randint(0, 2) for s in shape)  # outside
        return tuple(self.rng.randrange(s) for s in shape)

    def number_text(self) -> str:
        if self.rng.random() < 0.5:
            return self.rng.choice(TEXTS)
        return f"{self.rng.uniform(-5, 5):.{self.rng.randint(0, 4)}f}"

    def edit_cell(self):
        name = self.tensor()
        index, text = self.cell(name), self.number_text()
        grid_ok = self.editors is not None and hasattr(self.editors.editor, "select_tensor")
        if (
            grid_ok
            and self.rng.random() < 0.5
            and all(
                0 <= i < s
                for i, s in zip(index, editing.get_tensor(self.session.model, name).shape, strict=True)
            )
        ):
            # Through the editor's grid, as if typed in a cell and confirmed with Enter.
            editor = self.editors.editor
            editor.select_tensor(name)
            if editor.tensor == name:
                editor.grid.sigCellEdited.emit(index, text)
                return f"typed {text!r} in {name}{list(index)}"
        self.apply(f"{name}{index} = {text}", lambda m: editing.set_cell(m, name, index, text))
        return f"set {name}{list(index)} = {text!r}"

    def fill(self):
        name = self.tensor()
        kind = self.rng.choice(["zeros", "ones", "random", "identity", "impulse", "stripes"])
        index = self.cell(name) if kind == "impulse" else None
        seed = self.rng.randrange(100)
        self.apply(f"fill {name}", lambda m: editing.fill(m, name, kind, seed=seed, index=index))
        return f"fill {name} {kind}"

    def setting(self):
        layers = len(self.session.model.layers)
        index = self.rng.randrange(-1, layers + 1)
        key = self.rng.choice(SETTINGS)
        value = self.rng.choice(SETTING_VALUES)
        if key == "padding" and isinstance(value, int) and value > 4:
            value = 4  # huge paddings are refused by the size check (tests/app/test_large_models.py)
        if key in ("out_channels", "kernel_size") and isinstance(value, int) and value > 6:
            value = 6
        edits = getattr(self.editors.editor, "setting_edits", {}) if self.editors is not None else {}
        if 0 <= index == self.session.layer_index and key in edits and isinstance(value, (int, str)):
            field = edits[key]
            field.setText(str(value))
            field.editingFinished.emit()
            return f"typed layers[{index}].{key} = {value!r}"
        self.apply(f"{key} = {value}", lambda m: editing.set_layer_setting(m, index, key, value))
        return f"layers[{index}].{key} = {value!r}"

    def input_shape(self):
        dims = self.session.model.dims
        shape = [self.rng.randint(0, 3)] + [self.rng.randint(0, 12) for _ in range(dims)]
        if self.rng.random() < 0.2:
            shape = self.rng.choice([["a", 3], [1], "3x3", [1, 2, 3, 4], None])
        self.apply(f"input shape {shape}", lambda m: editing.set_input_shape(m, shape))
        return f"input shape {shape!r}"

    def add_or_remove_layer(self):
        if self.rng.random() < 0.5:
            kind = self.rng.choice(["conv", "pool", "flatten", "dense", "lstm"])
            self.apply(f"add {kind}", lambda m: editing.add_layer(m, kind))
            return f"add {kind}"
        index = self.rng.randrange(-1, len(self.session.model.layers) + 1)
        self.apply(f"remove {index}", lambda m: editing.remove_layer(m, index))
        return f"remove layer {index}"

    def undo_redo(self):
        if self.editors is None:
            return "no undo"
        stack = self.editors.history.stack
        (stack.undo if self.rng.random() < 0.6 else stack.redo)()
        return "undo/redo"

    # ------------------------------------------------------------ files

    def open_sample(self):
        action = self.rng.choice(self.window.sample_menu.actions())
        action.trigger()
        return f"open {action.text()}"

    def open_bad_file(self):
        name = self.rng.choice(sorted(BAD_FILES))
        path = self.tmp / name
        path.write_text(BAD_FILES[name], "utf-8")
        before = self.session.model
        assert not self.window.open_file(path)
        assert self.session.model is before
        return f"open bad {name}"

    def save_as(self, dialogs):
        suffix = self.rng.choice(["mine.json", "nope/missing-folder.json"])
        dialogs["save"] = str(self.tmp / suffix)
        self.window.save_as()
        return f"save as {suffix}"

    def export(self, dialogs):
        action = self.window.actions_by_name.get("export_snapshot")
        if action is None or self.exported >= 6:
            return "no export"
        self.exported += 1
        suffix = self.rng.choice([".png", ".svg", ".json", ".csv", ".tex"])
        dialogs["save"] = str(self.tmp / f"snapshot-{self.exported}{suffix}")
        action.trigger()
        return f"export {suffix}"

    # ------------------------------------------------------------ stepping

    def step(self):
        name = self.rng.choice(["next", "previous", "first", "last", "next", "next"])
        self.window.actions_by_name[name].trigger()
        return name

    def scrub(self):
        slider = self.window.stepper.slider
        slider.setValue(self.rng.randint(0, max(slider.maximum(), 0)))
        self.qtbot.wait(self.rng.choice([0, 5, 30]))
        return "scrub"

    def play(self):
        self.window.actions_by_name["play"].trigger()
        self.qtbot.wait(self.rng.choice([0, 10, 40]))
        if self.rng.random() < 0.5:
            self.window.stepper.pause()
        return "play/pause"

    def select(self):
        layers = len(self.session.model.layers)
        if self.rng.random() < 0.5:
            self.window.actions_by_name[self.rng.choice(["forward", "backward"])].trigger()
        else:
            self.session.select(self.rng.randrange(layers), self.rng.choice(["forward", "backward"]))
        return "select layer/pass"

    def train(self):
        if self.panel is None or self.trained >= 4:
            return "no training"
        self.trained += 1
        count = len(self.panel.records)
        self.panel.step()
        self.qtbot.waitUntil(
            lambda: len(self.panel.records) > count or self.panel.state not in ("running", "paused"),
            timeout=60_000,
        )
        what = f"train one iteration ({len(self.panel.records) - count} recorded)"
        if self.rng.random() < 0.5:
            self.panel.stop()  # the trained model opens in the stepper, unsaved
            self.qtbot.wait(10)
            what += ", stop"
        # Half the time the run is left paused, so the next model change meets it.
        return what


def check(window, hook, what):
    """The window is alive, shows a valid model, its trace is the selected layer's and pass's."""
    session = window.session
    assert window.isVisible(), what
    model = session.model
    assert model is not None, what
    shapes = model.shapes()
    assert len(shapes) == len(model.layers) + 1
    assert 0 <= session.layer_index < len(model.layers), what
    trace = session.trace
    if trace is None:
        assert session.trace_error, what
        assert session.n == 0 and session.step == 0
    else:
        assert trace.layer is model.layers[session.layer_index], what
        assert trace.pass_name == session.pass_name, what
        assert 0 <= session.step <= trace.n == session.n, what
        assert window.stepper.counter.text() == f"overlay {session.step} of {trace.n}", what
        step = session.current_step()
        assert (step.overlay is None) == (session.step == 0), what
    assert hook.records == [], f"{what}:\n{hook.records[0] if hook.records else ''}"


@pytest.mark.slow
def test_hundreds_of_random_actions_never_break_the_window(window, qtbot, tmp_path, monkeypatch):
    """Random opens, edits (many invalid), settings, steps, scrubs, play, training and exports."""
    monkeypatch.setenv("VISUALCONV_DATA_DIR", str(tmp_path / "data"))
    messages: list[str] = []
    dialogs: dict[str, str] = {"save": ""}
    for name in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, lambda parent, title, text, *a, **k: messages.append(text))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    monkeypatch.setattr(QMessageBox, "exec", lambda self: messages.append(self.text()) or 0)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (dialogs["save"], ""))
    autosave = start_autosave(window, ask=lambda found, parent: False, delay_ms=5)
    hook = ExceptionHook(lambda: window, interactive=False, log_path=tmp_path / "visualconv.log").install()
    rng = random.Random(SEED)
    monkey = Monkey(window, qtbot, tmp_path, rng)
    actions = [
        (monkey.open_sample, 6),
        (monkey.open_bad_file, 3),
        (monkey.edit_cell, 22),
        (monkey.fill, 6),
        (monkey.setting, 18),
        (monkey.input_shape, 6),
        (monkey.add_or_remove_layer, 6),
        (monkey.undo_redo, 6),
        (monkey.step, 16),
        (monkey.scrub, 6),
        (monkey.play, 4),
        (monkey.select, 8),
        (monkey.train, 2),
        (lambda: monkey.export(dialogs), 2),
        (lambda: monkey.save_as(dialogs), 2),
    ]
    functions, weights = zip(*actions, strict=True)
    done: list[str] = []
    try:
        window.sample_menu.actions()[0].trigger()
        for _ in range(ACTIONS):
            what = rng.choices(functions, weights)[0]()
            done.append(what)
            check(window, hook, f"after {len(done)} actions, the last {done[-3:]}")
        window.stepper.pause()
        qtbot.wait(20)
        check(window, hook, "at the end")
    finally:
        if monkey.panel is not None:
            monkey.panel.shutdown()
        hook.uninstall()
    assert not (tmp_path / "visualconv.log").exists()
    # Most random edits are refused with a placed message; some go through.
    assert any(d.startswith(("set ", "typed ")) for d in done)
    assert messages or monkey.refused or monkey.editors is not None
    # Autosave kept up: unsaved work is in the recovery file, or there is none to keep.
    autosave.flush()
    found = recovery.read_recovery()
    if window.session.dirty:
        assert found is not None
        np.testing.assert_array_equal(found.model.input, window.session.model.input)
    else:
        assert found is None


# ---------------------------------------------------------------- the exception hook itself


def test_the_hook_logs_to_the_data_dir_and_keeps_the_window(window, tmp_path, monkeypatch):
    """Without a log path, tracebacks go to visualconv.log in $VISUALCONV_DATA_DIR."""
    monkeypatch.setenv("VISUALCONV_DATA_DIR", str(tmp_path / "data"))
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(self.informativeText()) or 0)
    window.sample_menu.actions()[0].trigger()
    hook = ExceptionHook(lambda: window).install()
    try:
        try:
            raise ZeroDivisionError("a fault in a handler")
        except ZeroDivisionError as exc:
            hook(type(exc), exc, exc.__traceback__)
    finally:
        hook.uninstall()
    log = tmp_path / "data" / recovery.LOG_NAME
    assert "ZeroDivisionError: a fault in a handler" in log.read_text("utf-8")
    assert shown and "a fault in a handler" in shown[0] and str(log) in shown[0]
    assert window.isVisible() and window.session.model is not None


class _Faulty(QThread):
    def run(self) -> None:
        raise RuntimeError("a fault in a worker thread")


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_worker_thread_is_shown_by_the_gui_thread(window, qtbot, tmp_path, monkeypatch):
    """No widget is made off the GUI thread: the dialog comes later, from the main thread."""
    shown = []

    def exec_(box):
        shown.append((box.informativeText(), threading.current_thread() is threading.main_thread()))
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    hook = ExceptionHook(lambda: window, log_path=tmp_path / "visualconv.log").install()
    try:
        worker = _Faulty()
        worker.start()
        assert worker.wait(10000)
        qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    finally:
        hook.uninstall()
    assert len(hook.records) == 1 and "a fault in a worker thread" in hook.records[0]
    assert shown == [(shown[0][0], True)] and "a fault in a worker thread" in shown[0][0]
    assert "RuntimeError" in (tmp_path / "visualconv.log").read_text("utf-8")


@pytest.mark.qt_no_exception_capture
def test_a_paused_training_run_then_a_model_with_other_layers(window, qtbot, tmp_path):
    panel = window.training_panel
    hook = ExceptionHook(lambda: window, interactive=False, log_path=tmp_path / "visualconv.log").install()
    try:
        assert window.open_file(ROOT / "sample_models" / "21-teacher-sobel.json")
        panel.step()
        qtbot.waitUntil(lambda: len(panel.records) == 1, timeout=60_000)
        assert window.open_file(ROOT / "sample_models" / "22-shapes-classifier.json")
        qtbot.wait(20)
    finally:
        panel.shutdown()
        hook.uninstall()
    assert hook.records == [], hook.records[0]


@pytest.mark.qt_no_exception_capture
def test_removing_the_selected_last_layer(window, tmp_path):
    """The monkey found it: the editor read the removed layer before the session moved on."""
    if not hasattr(window, "editors"):
        pytest.skip("the editors are not installed in this window")
    hook = ExceptionHook(lambda: window, interactive=False, log_path=tmp_path / "visualconv.log").install()
    try:
        assert window.open_file(ROOT / "sample_models" / "12-small-cnn-cross-entropy.json")
        last = len(window.session.model.layers) - 1
        window.session.select(last, "forward")
        window.editors.history.apply("remove", lambda m: editing.remove_layer(m, last))
        assert len(window.session.model.layers) == last
        assert window.session.layer_index == last - 1
    finally:
        hook.uninstall()
        window.session.save(tmp_path / "saved.json")
    assert hook.records == [], hook.records[0]

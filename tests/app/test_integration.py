"""The Training dock and the File ▸ Export items, as a user reaches them."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ROOT
from PyQt6.QtGui import QGuiApplication, QImage
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from visualconv.modelfile import load_model

SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
KERNEL = ROOT / "sample_models" / "20-learning-a-kernel.json"


@pytest.fixture
def joined(window, monkeypatch):
    # Closing an edited model asks Save / Discard / Cancel; these tests discard.
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    yield window
    window.close()


def test_export_snapshot_writes_the_chosen_file(joined, tmp_path, monkeypatch):
    """File ▸ Export ▸ Export snapshot… writes the current step where the user chose."""
    joined.session.open(SEED_1D)
    joined.session.select(0, "backward", 2)
    target = tmp_path / "slide.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    joined.actions_by_name["export_snapshot"].trigger()
    text = target.read_text()
    for number in ("0.3", "0.4", "-0.03", "0.01", "0.1"):
        assert f">{number}<" in text


def test_export_animation_has_one_frame_per_step(joined, qtbot, tmp_path, monkeypatch):
    from PIL import Image

    joined.session.open(SEED_1D)
    joined.session.select(0, "backward", 0)
    target = tmp_path / "pass.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    with qtbot.waitSignal(joined.exports.sigExportFinished, timeout=60000) as finished:
        joined.actions_by_name["export_animation"].trigger()  # written by a worker thread
    assert finished.args[0] == "done"
    with Image.open(target) as gif:
        assert gif.n_frames == joined.session.n + 1


def test_copy_snapshot_puts_an_image_on_the_clipboard(joined):
    joined.session.open(SEED_1D)
    joined.actions_by_name["copy_snapshot"].trigger()
    image = QGuiApplication.clipboard().image()
    assert isinstance(image, QImage) and not image.isNull() and image.width() > 200


def test_a_training_run_trains_a_copy_until_apply_which_undoes(joined, qtbot):
    """A finished run leaves the model as it was (not modified); Apply makes it the trained one."""
    joined.session.open(KERNEL)
    original = joined.session.model
    before = original.layers[0].weight.copy()
    panel = joined.training_panel
    assert not panel.apply_button.isEnabled()
    with qtbot.waitSignal(panel.sigModelTrained, timeout=60_000) as blocker:
        panel.start()
    trained = blocker.args[0]
    qtbot.wait(50)
    assert joined.session.model is original and not joined.session.dirty
    assert panel.apply_button.isEnabled() and len(panel.records) == 10
    panel.apply_button.click()
    assert joined.session.model is trained and joined.session.dirty
    assert len(panel.records) == 10  # applying keeps the run's history
    assert not panel.apply_button.isEnabled()
    assert not np.array_equal(joined.session.model.layers[0].weight, before)
    # The trained kernel is near the teacher [1, -1] of the sample.
    np.testing.assert_allclose(joined.session.model.layers[0].weight.ravel(), [1, -1], atol=0.1)
    assert load_model(KERNEL).layers[0].weight.ravel().tolist() == before.ravel().tolist()
    joined.editors.actions["undo"].trigger()
    assert joined.session.model is original


def test_the_loss_plot_covers_the_whole_run(joined, qtbot):
    """Paused after one step, and at the end, the x axis spans every iteration from the first."""
    joined.session.open(KERNEL)
    assert joined.show_dock("training")
    panel = joined.training_panel
    qtbot.waitUntil(lambda: panel.loss_plot.isVisible() and panel.loss_plot.width() > 100, timeout=60_000)
    with qtbot.waitSignal(panel.sigRecordsAdded, timeout=60_000):
        panel.step()
    qtbot.wait(100)  # the throttled redraw
    (x_lo, x_hi), _ = panel.loss_plot.getPlotItem().viewRange()
    assert x_lo <= 0 and x_hi >= 1
    with qtbot.waitSignal(panel.sigModelTrained, timeout=60_000):
        panel.start()
    assert len(panel.records) == 10
    qtbot.wait(100)  # the redraw after the run ends
    (x_lo, x_hi), _ = panel.loss_plot.getPlotItem().viewRange()
    assert x_lo <= 1 and x_hi >= 10
    xs, _ = panel.iteration_curve.getData()
    assert xs[0] == 1 and xs[-1] == 10


def edited(window):
    from visualconv import editing

    window.session.open(SEED_1D)
    window.session.replace_model(editing.set_cell(window.session.model, "input", (0, 0), 9.0))
    assert window.session.dirty


@pytest.mark.parametrize("how", ["sample", "recent", "dialog"])
def test_opening_over_unsaved_changes_asks_and_cancel_keeps_them(joined, monkeypatch, tmp_path, how):
    """Cancel in the Save / Discard / Cancel question leaves the edited model as it was."""
    edited(joined)
    asked = []

    def cancel(*args, **kwargs):
        asked.append(args[1:3])
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", cancel)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(KERNEL), ""))
    joined.remember_file(str(KERNEL))
    if how == "sample":
        joined.sample_menu.actions()[-1].trigger()
    elif how == "recent":
        joined.recent_menu.actions()[0].trigger()
    else:
        joined.actions_by_name["open"].trigger()
    assert len(asked) == 1 and asked[0][0] == "Unsaved changes"
    assert joined.session.dirty and joined.session.model.input[0, 0] == 9.0


def test_opening_over_unsaved_changes_with_discard_opens_the_file(joined):
    edited(joined)  # the fixture answers Discard
    joined.recent_menu.clear()
    joined.remember_file(str(KERNEL))
    joined.recent_menu.actions()[0].trigger()
    assert not joined.session.dirty and joined.session.model.name == load_model(KERNEL).name


def test_a_cancelled_close_keeps_the_training_worker(joined, monkeypatch):
    edited(joined)
    stopped = []
    joined.sigClosed.connect(lambda: stopped.append(True))  # the training dock stops on this
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert not joined.close()
    assert stopped == []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert joined.close()
    assert stopped == [True]


def test_a_window_with_its_docks_is_destroyed_cleanly(qtbot, tmp_path):
    """Deleting a shown window hides its tabbed docks; no slot may run on a dead view."""
    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QDockWidget

    from visualconv.app.main_window import MainWindow

    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    win.show()
    qtbot.waitExposed(win, timeout=60_000)
    win.session.open(ROOT / "sample_models" / "09-stride-padding.json")
    closed = next(d for d in win.findChildren(QDockWidget) if d.windowTitle() == "Closed form")
    closed.raise_()
    win.session.select(0, "backward", 9)
    qtbot.wait(20)
    with qtbot.waitSignal(win.destroyed, timeout=60_000):
        win.deleteLater()


def test_a_chosen_iteration_shows_its_backward_pass_and_sgd_update(joined, qtbot):
    """Scrubbing the training history to an iteration opens it in the stepper with ΔW = −η·dW."""
    joined.session.open(KERNEL)
    panel = joined.training_panel
    with qtbot.waitSignal(panel.sigModelTrained, timeout=60_000):
        panel.start()
    recorded = len(panel.records)
    panel.select_iteration(3)
    assert len(panel.records) == recorded  # opening an iteration keeps the history
    record = panel.selected_record()
    assert record.iteration == 3
    shown = joined.session.model
    np.testing.assert_array_equal(shown.layers[0].weight, record.parameters_before[0]["weight"])
    joined.session.select(0, "backward", joined.session.n)
    text = "\n".join(joined.equations.lines())
    eta = record.learning_rate
    g = record.gradients[0]["weight"].ravel()
    delta = -eta * g  # by hand
    assert "SGD step of iteration 3" in text and "ΔW = −η·dW" in text
    from visualconv.engine.explain import fmt_array

    assert fmt_array(delta) in text
    np.testing.assert_allclose(
        record.parameters[0]["weight"].ravel(),
        record.parameters_before[0]["weight"].ravel() + delta,
        atol=1e-15,
    )
    joined.session.open(SEED_1D)  # another model: the note goes
    assert "SGD step" not in "\n".join(joined.equations.lines())


def test_the_input_clock_sees_stepper_keys_that_shortcuts_consume(joined, qtbot):
    """The arrow keys are window shortcuts; background work must still see them as input."""
    from PyQt6.QtCore import Qt

    from visualconv.app.inputclock import INPUT_QUIET_SECONDS, InputClock

    clock = InputClock.instance()
    joined.session.open(SEED_1D)
    joined.session.select(0, "backward", 0)
    clock.last_input = 0.0
    assert not clock.busy()
    qtbot.keyClick(joined, Qt.Key.Key_Right)
    assert joined.session.step == 1  # the shortcut took the key
    assert clock.busy()
    qtbot.wait(int(INPUT_QUIET_SECONDS * 1000) + 50)
    assert not clock.busy()

"""The Training panel, as the user sees it: Start draws loss points, Pause stops them,
Step adds one iteration, the history can be scrubbed and opened in the stepper."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from visualconv.app.training import TrainingPanel
from visualconv.modelfile import load_model, loads

LEFT = Qt.MouseButton.LeftButton
SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"


@pytest.fixture
def panel(qtbot):
    widget = TrainingPanel()
    qtbot.addWidget(widget)
    widget.resize(520, 820)
    widget.show()
    qtbot.waitExposed(widget, timeout=60_000)
    yield widget
    widget.shutdown()


def _points(panel):
    x, _ = panel.iteration_curve.getData()
    return 0 if x is None else len(x)


def test_start_produces_loss_points_and_pause_stops_them(qtbot, panel):
    model = load_model(SAMPLES / "21-teacher-sobel.json")
    panel.set_model(model)
    panel.epochs.setValue(100000)  # far longer than the test runs
    panel.speed.setCurrentIndex(1)  # 50 iterations per second: a run that lasts
    with qtbot.waitSignal(panel.sigRecordsAdded, timeout=60_000):
        qtbot.mouseClick(panel.start_button, LEFT)
    assert panel.state == "running"
    qtbot.waitUntil(lambda: _points(panel) >= 2, timeout=60_000)

    with qtbot.waitSignal(panel.sigStateChanged, timeout=60_000, check_params_cb=lambda s: s == "paused"):
        qtbot.mouseClick(panel.pause_button, LEFT)
    count = len(panel.records)
    qtbot.waitUntil(lambda: _points(panel) == count, timeout=60_000)  # the throttled redraw catches up
    with qtbot.assertNotEmitted(panel.sigRecordsAdded, wait=300):
        pass
    assert len(panel.records) == count
    assert _points(panel) == count
    assert panel.start_button.text() == "Resume"

    with qtbot.waitSignal(panel.sigRecordsAdded, timeout=60_000):
        qtbot.mouseClick(panel.step_button, LEFT)
    assert len(panel.records) == count + 1

    with qtbot.waitSignal(panel.sigModelTrained, timeout=60_000) as trained:
        qtbot.mouseClick(panel.stop_button, LEFT)
    np.testing.assert_array_equal(trained.args[0].layers[0].weight, panel.records[-1].parameters[0]["weight"])
    assert panel.state == "stopped"


def test_a_finished_run_emits_the_trained_model_and_can_be_scrubbed(qtbot, panel):
    model = load_model(SAMPLES / "20-learning-a-kernel.json")
    panel.set_model(model)
    with qtbot.waitSignal(panel.sigModelTrained, timeout=60_000) as trained:
        panel.start()
    assert panel.state == "finished"
    assert len(panel.records) == 10
    np.testing.assert_allclose(trained.args[0].layers[0].weight.ravel(), [1, -1], atol=0.03)
    qtbot.waitUntil(lambda: _points(panel) == 10, timeout=60_000)

    with qtbot.waitSignal(panel.sigIterationSelected, timeout=60_000) as selected:
        panel.history.setValue(3)
    chosen = selected.args[0]
    # iteration 3 ran with the parameters after iteration 2
    np.testing.assert_array_equal(chosen.layers[0].weight, panel.records[1].parameters[0]["weight"])
    assert panel.selected_record() is panel.records[2]
    assert chosen.training.learning_rate == pytest.approx(0.03)

    with qtbot.waitSignal(panel.sigIterationSelected, timeout=60_000) as selected:
        panel.select_iteration(0)
    np.testing.assert_array_equal(selected.args[0].layers[0].weight, model.layers[0].weight)


def test_step_runs_exactly_one_iteration_of_the_seed_example(qtbot, panel):
    panel.set_model(load_model(SAMPLES / "23-seed-sgd-step.json"))
    with qtbot.waitSignal(panel.sigRecordsAdded, timeout=60_000):
        qtbot.mouseClick(panel.step_button, LEFT)
    (record,) = panel.records
    dw = [[0.044606, 0.094061], [0.011262, 0.068288]]
    np.testing.assert_allclose(record.gradients[0]["weight"][0, 0], dw, atol=1e-12)


def test_divergence_is_reported_and_keeps_the_last_finite_parameters(qtbot, panel):
    doc = json.loads((SAMPLES / "20-learning-a-kernel.json").read_text())
    panel.set_model(loads(json.dumps(doc)))
    panel.learning_rate.setValue(10.0)
    panel.epochs.setValue(5000)
    with qtbot.waitSignal(panel.sigModelTrained, timeout=60_000) as trained:
        panel.start()
    assert panel.state == "diverged"
    assert "smaller learning rate" in panel.status.text()
    assert np.isfinite(trained.args[0].layers[0].weight).all()


def test_a_model_without_a_loss_cannot_be_trained(qtbot, panel):
    panel.set_model(load_model(SAMPLES / "02-seed-2d-conv.json"))
    assert not panel.start_button.isEnabled()
    assert "nothing to minimise" in panel.status.text()


def test_digits_entry_explains_how_to_get_scikit_learn(qtbot, panel, monkeypatch):
    from visualconv.engine import datasets

    monkeypatch.setattr(
        datasets, "available", lambda kind: datasets.DIGITS_HINT if kind == "digits" else None
    )
    panel.set_model(load_model(SAMPLES / "22-shapes-classifier.json"))
    texts = [panel.dataset.itemText(i) for i in range(panel.dataset.count())]
    (digits,) = [t for t in texts if "digits" in t]
    assert "pip install scikit-learn" in digits


def test_a_new_run_after_stop_starts_a_fresh_history(qtbot, panel):
    panel.set_model(load_model(SAMPLES / "21-teacher-sobel.json"))
    panel.epochs.setValue(100000)
    with qtbot.waitSignal(panel.sigRecordsAdded, timeout=60_000):
        panel.start()
    panel.stop()
    panel.epochs.setValue(2)
    with qtbot.waitSignal(panel.sigStateChanged, timeout=60_000, check_params_cb=lambda s: s == "finished"):
        panel.start()
    assert [r.iteration for r in panel.records] == list(range(1, 9))


def test_a_run_too_large_for_memory_is_refused_before_its_dataset_is_built(qtbot, panel, monkeypatch):
    """100,000 generated examples in one full batch: the panel says so, with the place; nothing is built."""
    from visualconv.engine import datasets

    def refuse(*args, **kwargs):
        raise AssertionError("the dataset was built before the refusal")

    monkeypatch.setattr(datasets, "materialise", refuse)
    document = json.loads((SAMPLES / "22-shapes-classifier.json").read_text("utf-8"))
    document["training"]["dataset"]["count"] = 100_000
    document["training"]["batch_size"] = "full"
    panel.set_model(loads(json.dumps(document)))
    qtbot.mouseClick(panel.start_button, LEFT)
    qtbot.waitUntil(lambda: "training.batch_size" in panel.status.text(), timeout=60_000)
    assert "more than the 2.0 GB visualconv allows" in panel.status.text()
    assert len(panel.records) == 0

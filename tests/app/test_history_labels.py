"""At a history iteration, the main view shows W before that iteration's update and says so;
the Training panel's maps show W after it and say so (the seed's SGD step, sample 23)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SEED_SGD = Path(__file__).resolve().parents[2] / "sample_models" / "23-seed-sgd-step.json"
W_BEFORE = [[-0.13, 0.15], [0.23, -0.11]]  # the seed's kernel
W_AFTER = [[-0.152303, 0.1029695], [0.224369, -0.144144]]  # w - 0.5 * dW, from the seed document


def test_a_history_iteration_labels_w_before_and_after_its_update(window, qtbot):
    assert window.open_file(SEED_SGD)
    window.session.select(0, "backward", 0)
    panel = window.training_panel
    with qtbot.waitSignal(panel.sigModelTrained, timeout=60_000):
        panel.start()
    with qtbot.waitSignal(panel.sigIterationSelected, timeout=60_000):
        panel.select_iteration(1)
    # the main view: W before the update, labelled as such
    shown = window.layer_view.panels["kernel"].values.ravel()
    np.testing.assert_allclose(shown, np.ravel(W_BEFORE), atol=1e-12)
    heading = window.equations.heading.text()
    assert "training iteration 1: W before its update (the Training panel shows W after it)" in heading
    # the panel: W after the update, labelled as such
    (w_label, g_label) = panel.maps.labels()[0]
    assert "after the update of iteration 1" in w_label
    assert "of iteration 1, used by that update" in g_label
    np.testing.assert_allclose(
        panel.selected_record().parameters[0]["weight"].ravel(), np.ravel(W_AFTER), atol=1e-6
    )
    # before training: the maps say so, and the main view drops its label when another model opens
    with qtbot.waitSignal(panel.sigIterationSelected, timeout=60_000):
        panel.select_iteration(0)
    assert "before training" in panel.maps.labels()[0][0]
    assert window.open_file(SEED_SGD.parent / "01-seed-1d-conv.json")
    assert "training iteration" not in window.equations.heading.text()

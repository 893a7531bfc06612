"""Sizes in the window: too large is refused with the size it needs; large but feasible steps.

Expected values come from the engine's own trace (computed independently of the window)
and from the model file's limits, never from the window.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import ROOT
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QMessageBox

from visualconv import editing
from visualconv.engine.errors import ModelError
from visualconv.engine.layers import ConvLayer
from visualconv.engine.model import make_model
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import MEMORY_BUDGET_BYTES, check_memory, estimated_bytes

SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"


def panel_array(window, role):
    """A panel's values without the padding border the window draws around some of them."""
    spec = next(s for s in window.layer_view.specs if s.role == role)
    values = window.layer_view.panels[role].values
    ph, pw = spec.padding
    h, w = values.shape[1:]
    return values[:, ph : h - ph, pw : w - pw]


def large_model():
    """A 16-channel 256x256 input through a 3x3 conv with 16 outputs (padding 1), with upstream."""
    rng = np.random.default_rng(8)
    return make_model(
        "Large: 16 x 256 x 256",
        np.round(rng.uniform(-1, 1, (16, 256, 256)), 2),
        [
            ConvLayer(
                weight=np.round(rng.uniform(-1, 1, (16, 16, 3, 3)), 2),
                bias=np.zeros(16),
                padding=(1, 1),
                activation="relu",
            )
        ],
        upstream=np.round(rng.uniform(-1, 1, (16, 256, 256)), 2),
    )


@pytest.fixture
def warnings(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    return shown


@pytest.mark.parametrize(
    "layer, place",
    [
        ({"type": "conv", "weight": [[1]], "padding": 1000000000}, "layers[0].padding"),
        ({"type": "conv", "weight": [[[[1]]]] * 5000}, "layers[0]"),
    ],
    ids=["huge padding", "many channels"],
)
def test_a_model_too_large_is_refused_with_its_size_and_the_model_stays(
    window, tmp_path, warnings, layer, place
):
    """The message names the file and the place and says how much memory it would need."""
    assert window.open_file(SEED_2D)
    before = window.session.model
    big = tmp_path / "big.json"
    document = {"format": "visualconv/1", "name": "big", "input": [[1.0] * 300] * 300, "layers": [layer]}
    big.write_text(json.dumps(document), "utf-8")
    assert not window.open_file(big)
    assert len(warnings) == 1
    message = warnings[0]
    assert message.startswith(f"{big}: {place}")
    assert "would need about" in message and "GB" in message
    assert f"more than the {MEMORY_BUDGET_BYTES / 2**30:.1f} GB" in message
    assert window.session.model is before and window.session.path == str(SEED_2D)


def test_an_edit_that_would_not_fit_raises_the_size_error_and_the_model_stays(window):
    assert window.open_file(SEED_2D)
    model = window.session.model
    with pytest.raises(ModelError, match=r"would need about .* GB"):
        editing.set_layer_setting(model, 0, "padding", "100000")
    assert window.session.model is model


def test_a_large_but_feasible_model_opens_and_steps_on_demand(window, qtbot):
    """16 x 256 x 256 through a 3x3 conv: open, step, scrub and switch passes; each shows its step."""
    model = large_model()
    check_memory(model)
    assert estimated_bytes(model) > 100 * 2**20
    window.show_model(model, layer=0, pass_name="forward")
    session = window.session
    forward = trace_layer(model, 0, "forward")
    n = forward.n
    assert n == 16 * 256 * 256
    assert session.n == n and window.stepper.counter.text() == f"overlay 0 of {n}"
    assert window.stepper.slider.maximum() == n

    def shows(k, trace):
        assert session.step == k
        assert window.stepper.counter.text() == f"overlay {k} of {trace.n}"
        step = trace.step(k)
        assert session.current_step().overlay == step.overlay
        return step

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=60_000)
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_Right)
    step = shows(3, forward)
    z = panel_array(window, "z")
    done = step.state.done
    assert done.sum() == 3
    np.testing.assert_array_equal(z[done], forward.z[done])
    assert np.isnan(z[~done]).all()

    for k in (n // 2, n // 2 + 1, 70_000, n):  # scrub far, one on, back, to the end
        window.stepper.slider.setValue(k)
        qtbot.waitUntil(lambda k=k: session.step == k, timeout=60_000)
        step = shows(k, forward)
        z = panel_array(window, "z")
        np.testing.assert_array_equal(z[step.state.done], forward.z[step.state.done])
    np.testing.assert_array_equal(panel_array(window, "z"), forward.z)

    session.set_pass("backward")
    backward = trace_layer(model, 0, "backward")
    assert session.n == backward.n
    for k in (1, 2, backward.n // 3, backward.n):
        session.set_step(k)
        step = shows(k, backward)
        np.testing.assert_array_equal(panel_array(window, "dw").reshape(step.state.dw.shape), step.state.dw)
    np.testing.assert_allclose(panel_array(window, "dx"), backward.step(backward.n).state.dx)


def test_an_edit_of_the_large_model_is_autosaved_by_a_background_thread(window, qtbot, tmp_path, monkeypatch):
    """Encoding 11 MB of JSON happens off the GUI thread; the recovery file then holds the edit."""
    import threading

    from visualconv import recovery
    from visualconv.app.autosave import start_autosave

    monkeypatch.setenv("VISUALCONV_DATA_DIR", str(tmp_path / "data"))
    threads = []
    encode = recovery.recovery_text
    monkeypatch.setattr(
        recovery, "recovery_text", lambda *a: threads.append(threading.current_thread()) or encode(*a)
    )
    window.show_model(large_model(), layer=0, pass_name="forward")
    autosave = start_autosave(window, ask=lambda found, parent: False, delay_ms=5)
    with qtbot.waitSignal(autosave.sigAutosaved, timeout=60000):
        window.session.replace_model(editing.set_cell(window.session.model, "input", (15, 255, 255), "9.25"))
    assert threads and all(t is not threading.main_thread() for t in threads)
    found = recovery.read_recovery()
    assert found is not None and found.model.input[15, 255, 255] == 9.25
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Discard)

"""The View menu: every option can be switched off and on, on every layer and pass, without a fault.

What the user sees is checked against the engine: with "Show numbers in cells" off the
cells carry no numbers but every panel of the layer is still there (bias, Z and A
included) with the engine's values; switched back on, the seed's numbers return.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ROOT

from visualconv.app.excepthook import ExceptionHook
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import load_model

SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
SMALL_CNN = ROOT / "sample_models" / "12-small-cnn-cross-entropy.json"


def view_actions(window):
    """Every checkable entry of the View menu (options and dock toggles)."""
    return [a for a in window.menus["view"].actions() if a.isCheckable()]


@pytest.fixture
def hook(window, tmp_path):
    hook = ExceptionHook(lambda: window, interactive=False, log_path=tmp_path / "visualconv.log").install()
    yield hook
    hook.uninstall()


@pytest.mark.qt_no_exception_capture
def test_numbers_off_keeps_every_panel_of_the_layer(window, hook):
    """Numbers off, then a new layer: all panels (bias, Z, A) appear with the engine's values."""
    numbers = window.actions_by_name["numbers"]
    assert window.open_file(SMALL_CNN)
    numbers.setChecked(False)
    model = load_model(SMALL_CNN)
    for layer in range(len(model.layers)):
        for pass_name in ("forward", "backward"):
            window.session.select(layer, pass_name)
            trace = trace_layer(model, layer, pass_name)
            window.session.last()
            roles = {spec.role for spec in window.layer_view.specs}
            shown = window.layer_view.visible_panels()
            assert set(shown) == roles
            assert all(panel.isVisible() for panel in shown.values())
            assert all(panel.tile_texts(0) is None for panel in shown.values())
            if pass_name == "forward" and "z" in shown:
                z = shown["z"].values
                np.testing.assert_allclose(z.reshape(-1), np.asarray(trace.z).reshape(-1))
    assert hook.records == [], hook.records[0]


@pytest.mark.qt_no_exception_capture
def test_numbers_off_and_on_again_shows_the_seed_numbers(window, hook):
    """The seed's Z = [1.3, 2.1] (forward, step 2) disappears with the option and comes back."""
    numbers = window.actions_by_name["numbers"]
    assert window.open_file(SEED_1D)
    window.session.select(0, "forward", 1)
    numbers.setChecked(False)
    window.session.next()
    assert window.layer_view.panels["z"].tile_texts(0) is None
    numbers.setChecked(True)
    assert window.layer_view.panels["z"].tile_texts(0) == ["1.3", "2.1"]
    window.session.select(0, "backward", 2)
    numbers.setChecked(False)
    numbers.setChecked(True)
    assert window.layer_view.panels["dw"].tile_texts(0) == ["0.3", "0.4"]
    assert hook.records == [], hook.records[0]


@pytest.mark.qt_no_exception_capture
def test_toggling_every_view_option_on_every_layer_and_pass(window, qtbot, hook):
    """Each View entry off and on again, at each layer, pass and a middle step: no fault."""
    actions = view_actions(window)
    names = [a.text() for a in actions]
    assert "Show &numbers in cells" in names
    assert any(name.startswith("&Fixed colour scale across steps") for name in names)
    assert {"Layers", "Editor", "Gradient check", "Closed form", "Training"} <= set(names)
    for path in (SEED_1D, SMALL_CNN):
        assert window.open_file(path)
        model = load_model(path)
        for layer in range(len(model.layers)):
            for pass_name in ("forward", "backward"):
                window.session.select(layer, pass_name)
                window.session.set_step(window.session.n // 2)
                for action in actions:
                    was = action.isChecked()
                    action.trigger()
                    qtbot.wait(1)
                    window.session.next()
                    action.trigger()
                    assert action.isChecked() == was, action.text()
                    window.session.previous()
                assert set(window.layer_view.visible_panels()) == {s.role for s in window.layer_view.specs}
    assert hook.records == [], hook.records[0]

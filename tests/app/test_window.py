"""The debugger window: what a user sees when they open, step, scrub and play.

Expected values come from the engine (trace steps, explain text, gradients) or the
seed documents, never from the window itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QMessageBox

from visualconv.app.theme import colour_index
from visualconv.engine.explain import explain
from visualconv.engine.model import gradients
from visualconv.engine.scene import border_sides
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import load_model

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "sample_models").glob("*.json"))

SEED_1D = next(p for p in SAMPLES if p.name.startswith("01-"))
SEED_2D = next(p for p in SAMPLES if p.name.startswith("02-"))
MAX_POOL_OVERLAP = next(p for p in SAMPLES if p.name.startswith("06-"))
SMALL_CNN = next(p for p in SAMPLES if p.name.startswith("12-"))


def open_at(window, path, layer=0, pass_name="forward", step=0):
    assert window.open_file(path)
    window.session.select(layer, pass_name, step)


def panel_array(window, role):
    """A panel's values, cropped to the array the engine reports (no padding border)."""
    spec = next(s for s in window.layer_view.specs if s.role == role)
    values = window.layer_view.panels[role].values
    top, bottom, left, right = border_sides(spec.padding)
    h, w = values.shape[1:]
    return values[:, top : h - bottom, left : w - right]


def texts(window, role, tile=0):
    return window.layer_view.panels[role].tile_texts(tile)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_each_sample_shows_its_number_of_steps(window, path):
    """Opening a sample shows 'overlay 0 of n' for every layer and pass, n from the engine."""
    model = load_model(path)
    assert window.open_file(path)
    assert window.windowTitle().startswith(model.name)
    for layer in range(len(model.layers)):
        for pass_name in ("forward", "backward"):
            window.session.select(layer, pass_name)
            n = trace_layer(model, layer, pass_name).n
            assert window.stepper.counter.text() == f"overlay 0 of {n}"
            assert window.stepper.slider.maximum() == n


def test_next_previous_and_scrub_show_the_engine_step(window, qtbot):
    """Right, Left and the slider change the heat maps and the equation to that step."""
    open_at(window, SEED_2D, 0, "backward")
    trace = trace_layer(load_model(SEED_2D), 0, "backward")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=60_000)

    def shows(k):
        step = trace.step(k)
        assert window.session.step == k
        assert window.stepper.counter.text() == f"overlay {k} of {trace.n}"
        np.testing.assert_array_equal(panel_array(window, "dw").reshape(step.state.dw.shape), step.state.dw)
        np.testing.assert_array_equal(panel_array(window, "dx"), step.state.dx)
        np.testing.assert_array_equal(panel_array(window, "db").ravel(), step.state.db)
        assert window.equations.lines() == explain(trace, step)
        for role in ("dx", "dw", "dz", "input"):  # the colours drawn match the values shown
            panel = window.layer_view.panels[role]
            for t in range(panel.geometry.count):
                np.testing.assert_array_equal(
                    panel.tile_colours(t), colour_index(panel.values[t], panel.level)
                )

    shows(0)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    shows(1)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    shows(2)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    shows(1)
    qtbot.keyClick(window, Qt.Key.Key_End)
    shows(trace.n)
    qtbot.keyClick(window, Qt.Key.Key_Home)
    shows(0)
    window.stepper.slider.setValue(11)
    qtbot.waitUntil(lambda: window.session.step == 11, timeout=60_000)
    shows(11)
    window.stepper.next_button.click()
    shows(12)
    window.stepper.previous_button.click()
    shows(11)


def test_forward_steps_fill_the_output_one_cell_at_a_time(window):
    """Forward: computed outputs show their value, the others stay blank (NaN)."""
    open_at(window, SEED_2D, 0, "forward", 5)
    trace = trace_layer(load_model(SEED_2D), 0, "forward")
    z = panel_array(window, "z")
    done = trace.step(5).state.done
    np.testing.assert_array_equal(z[done], trace.z[done])
    assert np.isnan(z[~done]).all()
    for k in (3, 16, 0, 9):  # back, to the end, to the start, forward again
        window.session.set_step(k)
        done = trace.step(k).state.done
        z = panel_array(window, "z")
        np.testing.assert_array_equal(z[done], trace.z[done])
        assert np.isnan(z[~done]).all()
    window.session.set_step(5)
    # the current window is outlined in the input, the new output cell in Z
    ov = trace.step(5).overlay
    input_outline = set(window.layer_view.panels["input"].outline("window"))
    assert input_outline == {
        (0, r, c) for r in range(ov.rows.start, ov.rows.stop) for c in range(ov.cols.start, ov.cols.stop)
    }
    assert window.layer_view.panels["z"].outline("changed") == ((ov.channel, *ov.position),)


def test_seed_1d_numbers_are_readable_step_by_step(window):
    """The seed document's numbers appear in the cells at the steps where it derives them."""
    open_at(window, SEED_1D, 0, "forward", 2)
    assert texts(window, "z") == ["1.3", "2.1"]
    window.session.select(0, "backward", 1)
    assert texts(window, "dw") == ["-0.1", "-0.2"]
    assert texts(window, "dx") == ["-0.03", "-0.05", "0"]
    window.session.next()
    assert texts(window, "dw") == ["0.3", "0.4"]
    assert texts(window, "db") == ["0.1"]
    assert texts(window, "dx") == ["-0.03", "0.01", "0.1"]
    lines = window.equations.lines()
    assert any("dW = A_prev ⋆ dZ" in line and "[0.3, 0.4] ✓" in line for line in lines)
    assert any("[-0.03, 0.01, 0.1] ✓" in line for line in lines)


def _backward_layers():
    for path in SAMPLES:
        model = load_model(path)
        if model.has_backward:
            for index in range(len(model.layers)):
                yield pytest.param(path, index, id=f"{path.stem}-{index}")


@pytest.mark.parametrize(("path", "index"), list(_backward_layers()))
def test_last_backward_step_shows_the_gradients(window, path, index):
    """After the last overlay, dW, db and dA_prev equal the engine's gradients."""
    model = load_model(path)
    expected = gradients(model)["layers"][index]
    open_at(window, path, index, "backward")
    window.session.last()
    # with reflect/replicate/circular padding, dA_prev is the border folded back, in a panel of its own
    dx = panel_array(window, "dx_folded" if "dx_folded" in window.layer_view.panels else "dx")
    np.testing.assert_allclose(dx.reshape(expected["grad_input"].shape), expected["grad_input"], atol=1e-12)
    if expected.get("grad_weight") is not None:
        dw = panel_array(window, "dw")
        np.testing.assert_allclose(
            dw.reshape(expected["grad_weight"].shape), expected["grad_weight"], atol=1e-12
        )
    if expected.get("grad_bias") is not None:
        np.testing.assert_allclose(panel_array(window, "db").ravel(), expected["grad_bias"], atol=1e-12)


def test_max_pool_backward_routes_to_the_maximum_and_overlaps_add_up(window):
    """Each delta lands on its window's maximum; a cell that wins twice holds the sum."""
    open_at(window, MAX_POOL_OVERLAP, 0, "backward", 1)
    trace = trace_layer(load_model(MAX_POOL_OVERLAP), 0, "backward")
    ov = trace.step(1).overlay
    arg = int(trace.argmax[0, 0, 0])
    cell = (0, ov.rows.start + arg // 2, ov.cols.start + arg % 2)
    panels = window.layer_view.panels
    assert panels["input"].outline("argmax") == (cell,)
    assert panels["dx"].outline("changed") == (cell,)
    window.session.last()
    # Independently: each 2x2 window (stride 1) sends its delta to its first maximum.
    x, dy = trace.x[0], trace.grad_output[0]
    expected = np.zeros_like(x)
    for i in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            r, c = divmod(int(np.argmax(x[i : i + 2, j : j + 2])), 2)
            expected[i + r, j + c] += dy[i, j]
    np.testing.assert_allclose(panel_array(window, "dx")[0], expected, atol=1e-12)
    assert np.count_nonzero(expected) < dy.size, "some cell should win more than one window"


def test_play_advances_and_pause_stops(window, qtbot):
    """Play moves through the overlays on its own; Pause stops it where it is."""
    open_at(window, SMALL_CNN, 0, "backward")
    stepper = window.stepper
    stepper.set_speed(60)
    with qtbot.waitSignal(stepper.sigPlayingChanged, timeout=60_000):
        stepper.play()
    # Generous: a busy machine may run the play timer late, but it must advance.
    qtbot.waitUntil(lambda: window.session.step >= 3, timeout=60_000)
    stepper.pause()
    assert not stepper.playing
    stopped = window.session.step
    with qtbot.assertNotEmitted(window.session.sigStepChanged, wait=120):
        pass
    assert window.session.step == stopped


def test_play_stops_at_the_last_step(window, qtbot):
    open_at(window, SEED_1D, 0, "backward")
    window.stepper.set_speed(60)
    with qtbot.waitSignal(
        window.stepper.sigPlayingChanged, check_params_cb=lambda playing: not playing, timeout=60_000
    ):
        window.stepper.play()
    assert window.session.step == window.session.n == 2


def test_space_toggles_play(window, qtbot):
    open_at(window, SMALL_CNN, 0, "forward")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=60_000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.stepper.playing
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.stepper.playing


def test_malformed_file_keeps_the_model_and_shows_the_message(window, tmp_path, monkeypatch):
    """A bad file is refused with its message; the model on screen stays."""
    assert window.open_file(SEED_2D)
    window.session.select(0, "backward", 4)
    before = window.session.model
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    bad = tmp_path / "broken.json"
    bad.write_text(
        '{"format": "visualconv/1", "name": "x", "input": [1, 2], "layers": [{"type": "conv"', "utf-8"
    )
    assert not window.open_file(bad)
    assert len(shown) == 1 and "broken.json" in shown[0]
    assert window.session.model is before
    assert window.session.step == 4
    assert window.session.path == str(SEED_2D)


def test_tooltip_text_gives_the_value_as_the_equations_write_it(window):
    open_at(window, SEED_2D, 0, "backward", 16)
    panel = window.layer_view.panels["dw"]
    trace = trace_layer(load_model(SEED_2D), 0, "backward")
    value = trace.step(16).state.dw[0, 0, 0, 1]
    assert float(value) == pytest.approx(0.094061, abs=1e-12)  # the seed document's number
    assert panel.describe((0, 0, 1)) == "dW[0, 0, 0, 1] = 0.094061"  # no round-off noise


def test_fixed_colour_scale_keeps_the_levels_across_steps(window):
    open_at(window, SEED_2D, 0, "backward", 1)
    window.actions_by_name["fixed_scale"].setChecked(True)
    levels = []
    for k in range(1, 17):
        window.session.set_step(k)
        levels.append(window.layer_view.panels["dx"].level)
    assert len(set(levels)) == 1
    window.actions_by_name["fixed_scale"].setChecked(False)
    window.session.set_step(3)  # the first overlay with a non-zero delta
    assert 0 < window.layer_view.panels["dx"].level < levels[0]


def test_open_sample_menu_lists_every_sample_by_name(window):
    names = [a.text() for a in window.sample_menu.actions()]
    assert names == [load_model(p).name for p in SAMPLES]
    window.sample_menu.actions()[1].trigger()
    assert window.session.model.name == load_model(SEED_2D).name


def test_recent_files_and_dirty_title(window, tmp_path):
    assert window.open_file(SEED_2D)
    assert window.recent_files()[0] == str(SEED_2D.resolve())
    import dataclasses

    edited = dataclasses.replace(window.session.model, name="Edited")
    window.session.replace_model(edited)
    assert window.isWindowModified()
    out = tmp_path / "saved.json"
    assert window._save_to(str(out))
    assert not window.isWindowModified()
    assert load_model(out).name == "Edited"
    assert window.recent_files()[0] == str(out.resolve())


def test_step_keys_stay_with_a_text_field_that_has_focus(window, qtbot):
    """Left/Right move the cursor in a text field instead of stepping; elsewhere they step."""
    from PyQt6.QtWidgets import QLineEdit

    open_at(window, SEED_2D, 0, "backward", 3)
    field = QLineEdit("abc")
    window.add_dock(field, "Scratch")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=60_000)
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=60_000)
    field.setCursorPosition(3)
    qtbot.keyClick(field, Qt.Key.Key_Left)
    assert field.cursorPosition() == 2 and window.session.step == 3
    window.navigator.layers.setFocus()
    qtbot.keyClick(window.navigator.layers, Qt.Key.Key_Right)
    assert window.session.step == 4


def test_hovering_a_cell_reports_it_and_its_exact_value(window, qtbot, monkeypatch):
    """Moving the mouse over a cell of dA_prev names that cell and shows its exact value."""
    from PyQt6.QtCore import QPointF
    from PyQt6.QtWidgets import QToolTip

    tips = []
    monkeypatch.setattr(QToolTip, "showText", lambda pos, text, *a: tips.append(text))

    open_at(window, SEED_1D, 0, "backward", 2)
    panel = window.layer_view.panels["dx"]
    x0, y0 = panel.geometry.origin(0)
    scene_point = panel.viewbox.mapViewToScene(QPointF(x0 + 1.5, y0 + 0.5))
    target = panel.view.mapFromScene(scene_point)
    with qtbot.waitSignal(
        panel.sigCellHovered, check_params_cb=lambda cell: cell == (0, 0, 1), timeout=60_000
    ):
        qtbot.mouseMove(panel.view.viewport(), target)
    assert tips and tips[-1] == panel.describe((0, 0, 1))
    name, value = tips[-1].split(" = ")
    assert name == "dA_prev[0, 1]" and float(value) == pytest.approx(0.01, abs=1e-15)


def test_the_palette_gives_the_colour_the_window_paints():
    """engine.palette.screen (Qt-free, for slides) equals the window's pyqtgraph lookup table."""
    from visualconv.app import theme
    from visualconv.engine import palette

    lut = theme.index_lut()
    values = np.linspace(-1.2, 1.2, 2001)
    for value, index in zip(values, theme.colour_index(values, 1.0), strict=True):
        assert palette.screen(float(value), 1.0) == tuple(int(c) for c in lut[index][:3])


def test_the_colour_scale_is_fixed_over_the_pass_by_default(window):
    """Z = 1.3 at step 1 is drawn with the same scale as at step 2 (the seed's 2.1), as the exports."""
    open_at(window, SEED_1D, 0, "forward", 1)
    assert window.actions_by_name["fixed_scale"].isChecked()
    z = window.layer_view.panels["z"]
    first = z.level
    window.session.set_step(2)
    assert z.level == first and first >= 2.1
    window.actions_by_name["fixed_scale"].setChecked(False)  # per step, from the View menu
    window.session.set_step(1)
    assert 1.3 <= z.level < first

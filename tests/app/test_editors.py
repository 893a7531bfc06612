"""The editors: what a user sees when they type values, change settings, undo, hover and check.

Expected values come from the engine run on a model built independently of the
editors (``gradients``, ``trace_layer``), from hand loops with NumPy, or from the seed
documents — never from the editors themselves. Widgets are driven as a user would:
typing into cells and fields, clicking buttons, pressing keys.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtWidgets import QApplication, QLineEdit, QMessageBox

from visualconv.editing import to_csv
from visualconv.engine.gradcheck import check_gradients
from visualconv.engine.layers import ConvLayer, frozen_array
from visualconv.engine.model import gradients, make_model
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import load_model

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "sample_models").glob("*.json"))
SEED_1D = next(p for p in SAMPLES if p.name.startswith("01-"))
SEED_2D = next(p for p in SAMPLES if p.name.startswith("02-"))
STRIDE_PADDING = next(p for p in SAMPLES if p.name.startswith("09-"))
MAX_POOL_OVERLAP = next(p for p in SAMPLES if p.name.startswith("06-"))


@pytest.fixture
def win(monkeypatch, qtbot, tmp_path):
    """A shown window whose close never asks (edits leave the model unsaved)."""
    monkeypatch.setenv("VISUALCONV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    from visualconv.app.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window, timeout=60_000)
    return window


def editor(win):
    return win.editors.editor


def type_into_cell(qtbot, win, index, text):
    """Double-click-free editing: select the cell, start editing, type, press Enter."""
    grid = editor(win).grid
    table, r, c = grid.table_for(index)
    qtbot.waitUntil(table.isVisible, timeout=60_000)  # a new tensor's tables are shown by the event loop
    table.setCurrentCell(r, c)
    table.editItem(table.item(r, c))
    line = table.indexWidget(table.indexFromItem(table.item(r, c)))  # the open editor of that cell
    assert isinstance(line, QLineEdit)
    line.selectAll()
    qtbot.keyClicks(line, text)
    with qtbot.waitSignal(grid.sigCellEdited, timeout=60_000):  # Enter commits on the next event-loop turn
        qtbot.keyClick(line, Qt.Key.Key_Return)


def type_into_field(qtbot, field, text):
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def with_weight(model, index, value):
    """The expected model, built without the editors."""
    layer = model.layers[0]
    weight = np.array(layer.weight)
    weight[index] = value
    return model.with_layer(0, dataclasses.replace(layer, weight=frozen_array(weight)))


def shown(win, role):
    return win.layer_view.panels[role].values


def test_typing_a_number_recomputes_outputs_and_gradients_and_keeps_the_step(qtbot, win):
    """Typing 0.7 into W[0, 0, 1, 1] and Enter: every gradient is the engine's for the new model."""
    assert win.open_file(SEED_2D)
    win.session.select(0, "backward", 3)
    editor(win).select_tensor("layers[0].weight")
    type_into_cell(qtbot, win, (0, 0, 1, 1), "0.7")
    expected = gradients(with_weight(load_model(SEED_2D), (0, 0, 1, 1), 0.7))["layers"][0]
    got = gradients(win.session.model)["layers"][0]
    for key in ("output", "grad_weight", "grad_bias", "grad_input"):
        np.testing.assert_array_equal(got[key], expected[key])
    assert win.session.step == 3 and win.session.pass_name == "backward" and win.session.dirty
    win.session.last()
    np.testing.assert_allclose(
        shown(win, "dw").reshape(expected["grad_weight"].shape), expected["grad_weight"], rtol=0, atol=1e-15
    )
    assert editor(win).grid.tables[0].item(1, 1).text() == "0.7"
    assert "✓" in editor(win).message.text()


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "1..2"])
def test_text_nan_and_infinity_are_refused_with_a_message_and_change_nothing(qtbot, win, text):
    assert win.open_file(SEED_1D)
    before = win.session.model
    editor(win).select_tensor("input")
    type_into_cell(qtbot, win, (0, 1), text)
    assert win.session.model is before
    message = editor(win).message.text()
    assert "expected" in message and text in message
    assert editor(win).grid.tables[0].item(0, 1).text() == "2"
    assert not win.editors.history.stack.canUndo()


def test_the_message_appears_while_typing(qtbot, win):
    assert win.open_file(SEED_1D)
    grid = editor(win).grid
    table, r, c = grid.table_for((0, 0))
    table.setCurrentCell(r, c)
    table.editItem(table.item(r, c))
    line = table.indexWidget(table.indexFromItem(table.item(r, c)))
    line.selectAll()
    qtbot.keyClicks(line, "1x")
    assert "expected a number" in editor(win).message.text()
    qtbot.keyClick(line, Qt.Key.Key_Backspace)
    assert editor(win).message.text() == ""


def test_impossible_settings_are_refused_and_the_model_stays(qtbot, win):
    assert win.open_file(SEED_1D)
    before = win.session.model
    form = editor(win)
    for key, text in (("kernel_size", "7"), ("stride", "0"), ("padding", "-1"), ("dilation", "two")):
        type_into_field(qtbot, form.setting_edits[key], text)
        assert win.session.model is before, key
        assert "nothing was changed" in form.message.text()
        assert form.setting_edits[key].text() != text  # back to the model's value
    type_into_field(qtbot, form.input_shape, "1, 0")
    assert win.session.model is before
    assert form.input_shape.text() == "1, 3"
    assert win.isVisible()


def test_undo_restores_the_previous_model_exactly_and_redo_repeats(qtbot, win):
    assert win.open_file(SEED_2D)
    original = win.session.model
    editor(win).select_tensor("input")
    type_into_cell(qtbot, win, (0, 0, 0), "5")
    edited = win.session.model
    type_into_field(qtbot, editor(win).setting_edits["stride"], "2")
    assert win.session.model.layers[0].stride == (2, 2)
    win.activateWindow()
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert win.session.model is edited
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert win.session.model is original
    assert editor(win).grid.tables[0].item(0, 0).text() == str(original.input[0, 0, 0]).removesuffix(".0")
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.session.model is edited
    win.open_file(SEED_1D)  # a new file starts a new history
    assert not win.editors.history.stack.canUndo()


def test_an_impulse_dz_gives_the_kernel_placed_at_that_window(qtbot, win):
    """One-hot dZ at output (1, 2) of a stride-2, padding-1 conv: dA_pad is W at rows 2.., cols 4.."""
    assert win.open_file(STRIDE_PADDING)
    model = load_model(STRIDE_PADDING)
    layer = model.layers[0]
    assert layer.stride == (2, 2) and layer.padding == (1, 1)
    win.session.select(0, "backward", 0)
    editor(win).select_tensor("upstream")
    table, r, c = editor(win).grid.table_for((0, 1, 2))
    table.setCurrentCell(r, c)
    qtbot.mouseClick(editor(win).tool_buttons["impulse"], Qt.MouseButton.LeftButton)
    win.session.last()
    w = layer.weight[0, 0]
    expected = np.zeros(trace_layer(model, 0, "backward").x_padded.shape)
    for a in range(3):  # by hand: the window of output (i, j) starts at (2i, 2j) in the padded input
        for b in range(3):
            expected[0, 2 * 1 + a, 2 * 2 + b] += w[a, b] * 1.0
    np.testing.assert_allclose(shown(win, "dx"), expected, atol=1e-15)
    dz = np.zeros(model.upstream.shape)
    dz[0, 1, 2] = 1.0
    np.testing.assert_array_equal(win.session.model.upstream, dz)


def test_clicking_a_dz_cell_in_the_heat_map_picks_the_impulse_cell(qtbot, win):
    assert win.open_file(SEED_2D)
    win.session.select(0, "backward", 0)
    editor(win).select_tensor("input")
    win.editors.links.click("dz", (0, 1, 0))
    assert editor(win).tensor == "upstream"
    assert editor(win).grid.current == (0, 1, 0)


def hand_dw_pairs(trace, f, c, a, b):
    """(input cell, dZ cell) pairs of dW[f, c, a, b], by a loop over the overlays."""
    (sh, sw), (dh, dw) = trace.layer.stride, trace.layer.dilation
    _, oh, ow = trace.z.shape
    pairs = []
    for i in range(oh):
        for j in range(ow):
            pairs.append(((c, i * sh + a * dh, j * sw + b * dw), (f, i, j)))
    return pairs


@pytest.mark.parametrize("path", [SEED_2D, STRIDE_PADDING], ids=lambda p: p.stem)
def test_hovering_a_dw_cell_highlights_exactly_the_pairs_of_its_sum(win, path):
    assert win.open_file(path)
    win.session.select(0, "backward", 0)
    trace = trace_layer(load_model(path), 0, "backward")
    specs = {s.role: s for s in win.layer_view.specs}
    cell = specs["dw"].tiles.cell((0, 0, 1, 1))
    links = win.editors.links.hover("dw", cell)
    pairs = hand_dw_pairs(trace, 0, 0, 1, 1)
    panels = win.layer_view.panels
    assert set(panels["input"].links()) == {specs["input"].tiles.cell(x) for x, _ in pairs}
    assert set(panels["dz"].links()) == {specs["dz"].tiles.cell(d) for _, d in pairs}
    assert panels["dw"].links() == (cell,)
    assert panels["kernel"].links() == ()
    total = sum(trace.x_padded[x] * trace.grad_pre_activation[d] for x, d in pairs)
    assert links.value == pytest.approx(total, abs=1e-12)
    status = win.statusBar().currentMessage()
    assert status.startswith(links.text) and links.text.startswith("dW[1, 1] = ")
    # At step 0 nothing is added yet; at the last step the whole sum is.
    assert status.endswith(f"at overlay 0 of {trace.n}: 0 (0 of {len(pairs)} terms added)")
    win.session.last()
    assert win.statusBar().currentMessage() == links.text
    assert editor(win).links_text.text() == links.text  # the dock shows it in full, wrapped
    # Hovering between the cells keeps nothing pinned; a click pins, a second click unpins.
    win.editors.links.click("dw", cell)
    win.editors.links.hover("dx", None)
    assert set(panels["dz"].links()) == {specs["dz"].tiles.cell(d) for _, d in pairs}
    win.editors.links.click("dw", cell)
    assert panels["dz"].links() == ()


def test_the_seed_1d_sum_reads_term_by_term(win):
    assert win.open_file(SEED_1D)
    win.session.select(0, "backward", 2)
    specs = {s.role: s for s in win.layer_view.specs}
    assert (
        win.editors.links.hover("dw", specs["dw"].tiles.cell((0, 0, 0, 1))).text
        == "dW[1] = 2*-0.1 + 3*0.2 = 0.4"
    )
    dx = win.editors.links.hover("dx", specs["dx"].tiles.cell((0, 0, 1)))
    assert dx.text == "dA_prev[1] = 0.5*-0.1 + 0.3*0.2 = 0.01"
    assert set(win.layer_view.panels["kernel"].links()) == {
        specs["kernel"].tiles.cell((0, 0, 0, 0)),
        specs["kernel"].tiles.cell((0, 0, 0, 1)),
    }
    win.session.set_pass("forward")
    z = win.editors.links.hover("z", win.layer_view.specs[-1].tiles.cell((0, 0, 1)))
    assert z.text == "z[1] = 2*0.3 + 3*0.5 + 0 = 2.1"


def test_hovering_a_max_pool_delta_shows_where_it_went(win):
    assert win.open_file(MAX_POOL_OVERLAP)
    win.session.select(0, "backward", 0)
    trace = trace_layer(load_model(MAX_POOL_OVERLAP), 0, "backward")
    specs = {s.role: s for s in win.layer_view.specs}
    links = win.editors.links.hover("dz", specs["dz"].tiles.cell((0, 0, 0)))
    window = trace.x[0, 0:2, 0:2]
    a, b = divmod(int(np.argmax(window)), 2)
    assert win.layer_view.panels["dx"].links() == (specs["dx"].tiles.cell((0, a, b)),)
    assert "its window's maximum" in links.text


def test_the_seed_1d_example_from_an_empty_model_by_editing_values_alone(qtbot, win):
    """Start from an empty 1×1 model, type the seed's values, and read the seed's numbers."""
    assert win.open_file(SEED_2D)
    dock = editor(win)
    qtbot.mouseClick(dock.new_buttons[1], Qt.MouseButton.LeftButton)
    assert win.session.model.input.shape == (1, 1) and win.session.path == ""
    type_into_field(qtbot, dock.input_shape, "1, 3")
    type_into_field(qtbot, dock.setting_edits["kernel_size"], "2")
    dock.select_tensor("input")
    for j, text in enumerate(["1", "2", "3"]):
        type_into_cell(qtbot, win, (0, j), text)
    dock.select_tensor("layers[0].weight")
    for j, text in enumerate(["0.3", "0.5"]):
        type_into_cell(qtbot, win, (0, 0, j), text)
    dock.select_tensor("upstream")
    for j, text in enumerate(["-0.1", "0.2"]):
        type_into_cell(qtbot, win, (0, j), text)
    win.session.select(0, "forward", 2)
    assert win.layer_view.panels["z"].tile_texts(0) == ["1.3", "2.1"]
    win.session.select(0, "backward", 2)
    np.testing.assert_allclose(shown(win, "dw").ravel(), [0.3, 0.4], atol=1e-15)
    np.testing.assert_allclose(shown(win, "db").ravel(), [0.1], atol=1e-15)
    np.testing.assert_allclose(shown(win, "dx").ravel(), [-0.03, 0.01, 0.1], atol=1e-15)
    assert win.layer_view.panels["dx"].tile_texts(0) == ["-0.03", "0.01", "0.1"]
    # The same numbers as the seed document's own model.
    seed = gradients(load_model(SEED_1D))["layers"][0]
    got = gradients(win.session.model)["layers"][0]
    for key in ("output", "grad_weight", "grad_bias", "grad_input"):
        np.testing.assert_allclose(got[key], seed[key], atol=1e-15)


def test_fills_paste_and_copy(qtbot, win):
    assert win.open_file(SEED_2D)
    dock = editor(win)
    dock.select_tensor("layers[0].weight")
    shape = win.session.model.layers[0].weight.shape
    qtbot.mouseClick(dock.tool_buttons["ones"], Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(win.session.model.layers[0].weight, np.ones(shape))
    dock.seed.setValue(7)
    qtbot.mouseClick(dock.tool_buttons["random"], Qt.MouseButton.LeftButton)
    first = np.array(win.session.model.layers[0].weight)
    qtbot.mouseClick(dock.tool_buttons["zeros"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dock.tool_buttons["random"], Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(win.session.model.layers[0].weight, first)  # seeded
    assert np.all(np.abs(first) <= 1) and np.all(np.round(first, 2) == first)
    rows = "\n".join(
        ", ".join(str(v) for v in range(r * shape[3], (r + 1) * shape[3])) for r in range(shape[2])
    )
    QApplication.clipboard().setText(rows)
    qtbot.mouseClick(dock.paste_button, Qt.MouseButton.LeftButton)
    expected = np.arange(shape[2] * shape[3], dtype=float).reshape(shape[2:])
    np.testing.assert_array_equal(win.session.model.layers[0].weight[0, 0], expected)
    QApplication.clipboard().setText("[[1, 2], [3]]")
    before = win.session.model
    qtbot.mouseClick(dock.paste_button, Qt.MouseButton.LeftButton)
    assert win.session.model is before and "nothing was changed" in dock.message.text()
    qtbot.mouseClick(dock.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == to_csv(expected)


def test_switching_to_a_target_and_loss_and_back(qtbot, win):
    assert win.open_file(SEED_1D)
    dock = editor(win)
    dock.tabs.setCurrentIndex(1)
    combo = dock.backward_start
    combo.setCurrentIndex(combo.findData("mse"))
    combo.activated.emit(combo.currentIndex())
    model = win.session.model
    assert model.upstream is None and model.loss.type == "mse" and model.target.shape == (1, 2)
    assert "target" in [dock.chooser.itemData(i) for i in range(dock.chooser.count())]
    combo.setCurrentIndex(combo.findData("upstream"))
    combo.activated.emit(combo.currentIndex())
    assert win.session.model.upstream is not None and win.session.model.loss is None


def test_the_gradient_check_agrees_and_matches_the_engine(qtbot, win):
    assert win.open_file(SEED_2D)
    panel = win.editors.gradcheck
    result = panel.run_now()
    engine = check_gradients(load_model(SEED_2D), max_cells=10**6)  # every cell, as the panel
    assert [t.name for t in result.tensors] == [t.name for t in engine.tensors]
    for mine, theirs in zip(result.tensors, engine.tensors, strict=True):
        # The same perturbations; BLAS may round a forward pass differently (1e-16 / 2e-6 steps).
        np.testing.assert_allclose(mine.numeric, theirs.numeric, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(mine.analytic, theirs.analytic)
        assert mine.ok == theirs.ok
    assert panel.verdict.text().startswith("✓ All 3 gradients agree")
    assert panel.table.topLevelItemCount() == 3
    assert panel.error_panel.values is not None


def test_the_gradient_check_names_a_relu_kink(qtbot, win):
    """A relu whose pre-activation is exactly 0 is named, not silently failed."""
    layer = ConvLayer(np.array([[[1.0, -1.0]]]), np.zeros(1), (1, 1), (0, 0), (1, 1), "relu", 1)
    model = make_model("kink", [[2.0, 2.0, 3.0]], [layer], dims=1, upstream=[[1.0, 1.0]])
    win.show_model(model)
    panel = win.editors.gradcheck
    with qtbot.waitSignal(panel.sigCheckFinished, timeout=60_000) as blocker:
        panel.start()
    result = blocker.args[0]
    assert result.kinks and "relu kink" in result.kinks[0]
    assert panel.kinks.isVisible() or not panel.isVisible()
    assert "relu kink" in panel.kinks.text()


def test_the_closed_form_view_matches_the_stepped_sums_at_the_last_overlay(win):
    assert win.open_file(STRIDE_PADDING)
    win.editors.docks["closed_form"].raise_()
    win.session.select(0, "backward", 0)
    view = win.editors.closed_form
    trace = trace_layer(load_model(STRIDE_PADDING), 0, "backward")
    dz = trace.grad_pre_activation
    dilated = np.zeros((1, 2 * (dz.shape[1] - 1) + 1, 2 * (dz.shape[2] - 1) + 1))
    dilated[:, ::2, ::2] = dz  # by hand: zeros between the deltas for stride 2
    np.testing.assert_array_equal(view.panels["dz_dilated"].values, dilated)
    np.testing.assert_array_equal(view.panels["rotated"].values[0], trace.weight[0, 0, ::-1, ::-1])
    assert "partial" in view.verdict.text()
    win.session.last()
    final = gradients(load_model(STRIDE_PADDING))["layers"][0]
    np.testing.assert_allclose(view.panels["dw_stepped"].values[0], final["grad_weight"][0, 0], atol=1e-12)
    np.testing.assert_allclose(view.panels["dx_closed"].values, final["grad_input"], atol=1e-12)
    assert "✓" in view.verdict.text() and "✗" not in view.verdict.text()
    win.session.select(0, "forward", 0)
    assert "conv layer's backward pass" in view.heading.text()


def test_a_larger_check_shows_progress_and_a_new_model_cancels_it(qtbot, win):
    """A check of many cells runs in slices with a progress bar; an edit restarts it on the new model."""
    rng = np.random.default_rng(0)
    layer = ConvLayer(rng.normal(size=(2, 1, 3, 3)), np.zeros(2), (1, 1), (1, 1), (1, 1), "tanh", 2)
    model = make_model("big", rng.normal(size=(1, 16, 16)), [layer], upstream=rng.normal(size=(2, 16, 16)))
    win.show_model(model)
    panel = win.editors.gradcheck
    panel.auto.setChecked(False)
    win.editors.docks["gradcheck"].raise_()
    qtbot.waitUntil(panel.isVisible, timeout=60_000)
    panel.start()
    assert panel.running and panel.progress.isVisible()
    assert panel.progress.maximum() == 256 + 18 + 2
    win.editors.docks["editor"].raise_()  # an edit while the check runs voids it
    editor(win).select_tensor("layers[0].bias")
    type_into_cell(qtbot, win, (1,), "0.5")
    assert not panel.running
    win.editors.docks["gradcheck"].raise_()
    qtbot.waitUntil(panel.isVisible, timeout=60_000)
    with qtbot.waitSignal(panel.sigCheckFinished, timeout=60_000) as blocker:
        panel.start()
    result = blocker.args[0]
    assert result.ok and panel.verdict.text().startswith("✓ All 3")
    assert not panel.progress.isVisible()


def test_a_tensor_too_large_for_cells_still_takes_fills(qtbot, win):
    layer = ConvLayer(np.ones((1, 1, 1, 1)), np.zeros(1), (1, 1), (0, 0), (1, 1), "identity", 2)
    model = make_model("large", np.zeros((1, 70, 70)), [layer], upstream=np.zeros((1, 70, 70)))
    win.show_model(model)
    dock = editor(win)
    dock.select_tensor("input")
    assert not dock.grid.tables and "too many to edit" in dock.grid.too_large.text()
    qtbot.mouseClick(dock.tool_buttons["ones"], Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(win.session.model.input, np.ones((1, 70, 70)))


def test_the_seed_2d_example_from_an_empty_model_by_pasting_and_typing(qtbot, win):
    """The 2-D seed: paste the 5x5 activations and 4x4 deltas, type the kernel, read dW."""
    seed = load_model(SEED_2D)
    assert win.open_file(SEED_1D)
    dock = editor(win)
    qtbot.mouseClick(dock.new_buttons[2], Qt.MouseButton.LeftButton)
    type_into_field(qtbot, dock.input_shape, "1, 5, 5")
    type_into_field(qtbot, dock.setting_edits["kernel_size"], "2")
    dock.select_tensor("input")
    QApplication.clipboard().setText("\n".join(",".join(str(v) for v in row) for row in seed.input[0]))
    qtbot.mouseClick(dock.paste_button, Qt.MouseButton.LeftButton)
    dock.select_tensor("upstream")
    QApplication.clipboard().setText(str(seed.upstream[0].tolist()))  # a NumPy-style list
    qtbot.mouseClick(dock.paste_button, Qt.MouseButton.LeftButton)
    dock.select_tensor("layers[0].weight")
    for index, text in (
        ((0, 0, 0, 0), "-0.13"),
        ((0, 0, 0, 1), "0.15"),
        ((0, 0, 1, 0), "0.23"),
        ((0, 0, 1, 1), "-0.11"),
    ):
        type_into_cell(qtbot, win, index, text)
    win.session.select(0, "backward", 16)
    # The seed document's numbers: dW = [[0.044606, 0.094061], [0.011262, 0.068288]].
    np.testing.assert_allclose(
        shown(win, "dw").reshape(2, 2), [[0.044606, 0.094061], [0.011262, 0.068288]], atol=1e-12
    )
    expected = gradients(seed)["layers"][0]
    got = gradients(win.session.model)["layers"][0]
    for key in ("output", "grad_weight", "grad_bias", "grad_input"):
        np.testing.assert_allclose(got[key], expected[key], atol=1e-15)


def test_a_max_pool_example_from_an_empty_model(qtbot, win):
    """Swap the empty model's conv for a pool layer, set its size and stride, paste the values."""
    seed = load_model(next(p for p in SAMPLES if p.name.startswith("05-")))
    assert win.open_file(SEED_1D)
    dock = editor(win)
    qtbot.mouseClick(dock.new_buttons[2], Qt.MouseButton.LeftButton)
    type_into_field(qtbot, dock.input_shape, "1, 4, 4")
    dock.add_kind.setCurrentIndex(dock.add_kind.findData("pool"))
    qtbot.mouseClick(dock.add_button, Qt.MouseButton.LeftButton)
    win.session.set_layer(0)
    qtbot.mouseClick(dock.remove_button, Qt.MouseButton.LeftButton)
    assert [layer.type for layer in win.session.model.layers] == ["pool"]
    type_into_field(qtbot, dock.setting_edits["size"], "2")
    type_into_field(qtbot, dock.setting_edits["stride"], "2")
    assert dock.setting_combos["mode"].currentText() == "max"
    dock.select_tensor("input")
    QApplication.clipboard().setText(str(seed.input[0].tolist()))
    qtbot.mouseClick(dock.paste_button, Qt.MouseButton.LeftButton)
    dock.select_tensor("upstream")
    QApplication.clipboard().setText("1, -2\n0.5, 3")
    qtbot.mouseClick(dock.paste_button, Qt.MouseButton.LeftButton)
    win.session.select(0, "backward", 4)
    # By hand: each delta lands on its window's maximum (0.8, 0.9, 0.95, 0.45).
    expected = np.zeros((1, 4, 4))
    expected[0, 0, 1], expected[0, 1, 2], expected[0, 3, 1], expected[0, 3, 2] = 1.0, -2.0, 0.5, 3.0
    np.testing.assert_array_equal(shown(win, "dx"), expected)


def test_a_sampled_check_draws_the_engines_cells():
    """Large tensors are checked on the engine's seeded sample of cells; the rest stay NaN (blank)."""
    from visualconv.app.editors.gradcheck_panel import iter_check

    model = load_model(SEED_2D)
    *progress, result = iter_check(model, max_cells=7)
    assert progress[-1] == (7 + 4 + 1, 7 + 4 + 1)
    engine = check_gradients(model, max_cells=7)
    for mine, theirs in zip(result.tensors, engine.tensors, strict=True):
        assert mine.checked == theirs.checked
        np.testing.assert_array_equal(np.isnan(mine.numeric), np.isnan(theirs.numeric))
        np.testing.assert_allclose(mine.numeric, theirs.numeric, rtol=0, atol=1e-9)
    assert result.tensors[0].sampled and np.isnan(result.tensors[0].relative_error).sum() == 25 - 7


def test_settings_are_checked_as_typed(qtbot, win):
    assert win.open_file(SEED_1D)
    field = editor(win).setting_edits["kernel_size"]
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, "9")
    assert "nothing was changed" not in editor(win).message.text()
    assert "Enter keeps the last valid value" in editor(win).message.text()
    qtbot.keyClick(field, Qt.Key.Key_Backspace)
    qtbot.keyClicks(field, "3")
    assert editor(win).message.text() == ""
    assert win.session.model.layers[0].kernel_size == (1, 2)  # nothing applied before Enter


def test_selecting_a_value_in_the_editor_shows_it_in_the_heat_maps(qtbot, win):
    """Selecting W[0, 0, 1, 0] in the grid outlines it and every output it feeds."""
    assert win.open_file(SEED_2D)
    win.session.select(0, "forward", 0)
    editor(win).select_tensor("layers[0].weight")
    editor(win).grid.select((0, 0, 1, 0))
    specs = {s.role: s for s in win.layer_view.specs}
    panels = win.layer_view.panels
    assert specs["kernel"].tiles.cell((0, 0, 1, 0)) in panels["kernel"].links()
    assert len(panels["z"].links()) == 16  # all 4x4 outputs use every weight
    editor(win).select_tensor("input")
    editor(win).grid.select((0, 4, 4))  # the corner feeds only the last output
    assert panels["z"].links() == (specs["z"].tiles.cell((0, 3, 3)),)

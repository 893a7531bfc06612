"""Typing ends by giving the stepping keys back; highlights go when the pointer or the model does."""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt6.QtCore import QEvent, QSettings, Qt
from PyQt6.QtWidgets import QApplication, QLineEdit, QMessageBox

ROOT = Path(__file__).resolve().parents[2]
SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"


@pytest.fixture
def win(monkeypatch, qtbot, tmp_path):
    monkeypatch.setenv("VISUALCONV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    from visualconv.app.main_window import MainWindow

    window = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window, timeout=60_000)
    window.activateWindow()
    return window


def open_cell_editor(qtbot, win, index):
    grid = win.editors.editor.grid
    table, r, c = grid.table_for(index)
    qtbot.waitUntil(table.isVisible, timeout=60_000)
    table.setFocus()
    table.setCurrentCell(r, c)
    table.editItem(table.item(r, c))
    line = table.indexWidget(table.indexFromItem(table.item(r, c)))
    assert isinstance(line, QLineEdit)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is line, timeout=60_000)
    return grid, line


def press(qtbot, key):
    """A key as a user presses it: to whatever has the focus."""
    target = QApplication.focusWidget()
    assert target is not None
    qtbot.keyClick(target, key)


@pytest.mark.parametrize("end", [Qt.Key.Key_Return, Qt.Key.Key_Escape])
def test_after_enter_or_escape_in_a_cell_right_steps(qtbot, win, end):
    assert win.open_file(SEED_2D)
    win.session.select(0, "forward", 1)
    win.editors.editor.select_tensor("layers[0].weight")
    before = win.session.model
    grid, line = open_cell_editor(qtbot, win, (0, 0, 1, 1))
    line.selectAll()
    qtbot.keyClicks(line, "0.7")
    if end == Qt.Key.Key_Return:
        with qtbot.waitSignal(grid.sigCellEdited, timeout=60_000):
            qtbot.keyClick(line, end)
    else:
        qtbot.keyClick(line, end)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.layer_view, timeout=60_000)
    assert win.session.step == 1
    press(qtbot, Qt.Key.Key_Right)
    assert win.session.step == 2
    press(qtbot, Qt.Key.Key_End)
    assert win.session.step == win.session.n
    if end == Qt.Key.Key_Return:
        assert float(win.session.model.layers[0].weight[0, 0, 1, 1]) == 0.7
    else:
        assert win.session.model is before  # Escape dropped the typing


def test_while_typing_in_a_cell_the_arrows_stay_in_the_text(qtbot, win):
    assert win.open_file(SEED_2D)
    win.session.select(0, "forward", 1)
    win.editors.editor.select_tensor("layers[0].weight")
    _, line = open_cell_editor(qtbot, win, (0, 0, 1, 1))
    qtbot.keyClick(line, Qt.Key.Key_Right)
    qtbot.keyClick(line, Qt.Key.Key_Escape)  # Escape here leaves the cell, it clears nothing
    assert win.session.step == 1


def _some_cell(win, role):
    spec = next(s for s in win.layer_view.specs if s.role == role)
    return spec, spec.tiles.cell((0, 0, 1, 1))


def _lit(win):
    return {role: panel.links() for role, panel in win.layer_view.panels.items() if panel.links()}


def test_hover_highlights_clear_when_the_pointer_leaves_the_panel(qtbot, win):
    assert win.open_file(SEED_2D)
    win.session.select(0, "backward", 0)
    _, cell = _some_cell(win, "dw")
    win.editors.links.hover("dw", cell)
    assert _lit(win)
    panel = win.layer_view.panels["dw"]
    QApplication.sendEvent(panel.view, QEvent(QEvent.Type.Leave))
    assert _lit(win) == {}


def test_a_pin_stays_when_the_pointer_leaves_and_escape_clears_it(qtbot, win):
    assert win.open_file(SEED_2D)
    win.session.select(0, "backward", 0)
    _, cell = _some_cell(win, "dw")
    win.editors.links.click("dw", cell)
    QApplication.sendEvent(win.layer_view.panels["dw"].view, QEvent(QEvent.Type.Leave))
    assert _lit(win)
    win.layer_view.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.layer_view, timeout=60_000)
    press(qtbot, Qt.Key.Key_Escape)
    assert _lit(win) == {} and win.editors.links.pinned is None
    assert win.statusBar().currentMessage().startswith("Hover a cell")


@pytest.mark.parametrize("how", ["open", "edit"])
def test_a_model_change_clears_pins_and_hover(qtbot, win, how):
    assert win.open_file(SEED_2D)
    win.session.select(0, "backward", 0)
    _, cell = _some_cell(win, "dw")
    win.editors.links.click("dw", cell)
    assert _lit(win)
    if how == "open":
        assert win.open_file(SEED_2D)  # the same layers and panels, a model opened anew
    else:
        from visualconv.editing import set_cell

        win.session.replace_model(set_cell(win.session.model, "layers[0].weight", (0, 0, 0, 0), 0.5))
    assert _lit(win) == {} and win.editors.links.pinned is None


def test_after_enter_in_a_field_of_the_editor_right_steps(qtbot, win):
    assert win.open_file(SEED_2D)
    win.session.select(0, "forward", 1)
    field = win.editors.editor.seed
    qtbot.waitUntil(field.isVisible, timeout=60_000)
    field.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is field, timeout=60_000)
    qtbot.keyClick(field, Qt.Key.Key_Right)  # in the field the arrow moves the text cursor
    assert win.session.step == 1
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.layer_view, timeout=60_000)
    press(qtbot, Qt.Key.Key_Right)
    assert win.session.step == 2

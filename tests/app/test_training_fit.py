"""The Training dock at 1024 x 768: map headings, bias lists and axis names fit where they are drawn.

The panel is no wider than the dock (its rows of buttons break into more rows). A heading
wider than its map column would run past the maps' right edge (cut off); an axis name longer
than its small plot is high would run past the plot's top. Either fits whole, or (an axis
name) is cut with an ellipsis and whole in its tooltip.
"""

from __future__ import annotations

import pytest
from helpers import ROOT
from PyQt6.QtCore import QRectF
from PyQt6.QtWidgets import QMessageBox

from visualconv import i18n
from visualconv.app.widgets.elided import ELLIPSIS

SHAPES = ROOT / "sample_models" / "22-shapes-classifier.json"


@pytest.fixture
def trained_one_step(window, qtbot, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window.resize(1024, 768)
    assert window.open_file(SHAPES)
    assert window.show_dock("training")
    panel = window.training_panel
    qtbot.waitUntil(lambda: panel.maps.isVisible() and panel.maps.width() > 100, timeout=60_000)
    with qtbot.waitSignal(panel.sigRecordsAdded, timeout=60_000):
        panel.step()
    yield window
    i18n.set_language("en")


def glyphs(item) -> QRectF:
    """Where a text item's lines are drawn, in scene coordinates (its document's margin left out)."""
    m = item.document().documentMargin()
    return item.mapRectToScene(item.boundingRect().adjusted(m, m, -m, -m))


def inside(outer: QRectF, inner: QRectF) -> bool:
    return (
        inner.left() >= outer.left() - 0.5
        and inner.right() <= outer.right() + 0.5
        and inner.top() >= outer.top() - 0.5
        and inner.bottom() <= outer.bottom() + 0.5
    )


@pytest.mark.parametrize("code", ["en", "de", "pt-BR"])
def test_map_headings_and_axis_names_fit_in_a_1024_window(trained_one_step, qtbot, code):
    window = trained_one_step
    window.set_language(code)
    panel = window.training_panel
    qtbot.waitUntil(lambda: "<br>b = " in panel.maps.labels()[0][1], timeout=60_000)  # the throttled redraw
    qtbot.wait(50)  # the maps' relayout after the resize
    labels = panel.maps.labels()
    assert len(labels) == 2 and all("<br>b = " in w and "<br>b = " in g for w, g in labels)
    assert i18n._("of iteration {iteration}, used by that update").format(iteration=1) in labels[0][1]
    scroll = window.training_dock.widget()
    assert panel.width() <= scroll.viewport().width()  # no column runs past the dock's right edge
    buttons = (panel.start_button, panel.pause_button, panel.step_button, panel.stop_button)
    for button in (*buttons, panel.reset_button, panel.apply_button):
        assert button.width() >= button.fontMetrics().horizontalAdvance(button.text()), button.text()
    maps = panel.maps
    room = QRectF(maps.viewport().rect())
    for pair in maps._maps:
        for target in pair:
            text = target.label.item
            drawn = maps.mapFromScene(glyphs(text)).boundingRect()
            assert inside(room, QRectF(drawn)), (target.label.text, drawn, room)
            assert "W" in target.label.toolTip()
    for plot in (panel.loss_plot, panel.accuracy_plot):
        axis = plot.getPlotItem().getAxis("left")
        drawn = plot.mapFromScene(glyphs(axis.label)).boundingRect()
        assert inside(QRectF(plot.viewport().rect()), QRectF(drawn)), (axis.labelText, drawn)
        whole = i18n._("accuracy") if plot is panel.accuracy_plot else i18n._("loss")
        assert axis.labelText == whole or (axis.labelText.endswith(ELLIPSIS) and axis.toolTip() == whole)

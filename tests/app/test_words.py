"""The window's words: headings stay one line, pool steps name their channel and no weights."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PyQt6.QtCore import QPointF
from PyQt6.QtGui import QPolygonF

from visualconv.modelfile import load_model

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"


def test_a_name_with_a_tab_or_newline_never_splits_the_window_headings(window):
    model = load_model(SAMPLES / "05-max-pool-backward.json")
    window.session.set_model(dataclasses.replace(model, name="Tab\there\nnew line"))
    for text in (window.windowTitle(), window.navigator.model_label.text()):
        assert "\t" not in text and "\n" not in text
        assert "Tab\\x09here\\x0anew line" in text


def test_pool_step_0_and_a_channel_1_overlay_in_the_step_text(window):
    assert window.open_file(SAMPLES / "12-small-cnn-cross-entropy.json")
    window.session.select(1, "backward", 0)
    first = window.equations.lines()[0]
    assert "dW" not in first and first.startswith(
        "18 overlays; dA_prev starts at zero; each routes a delta of dY"
    )
    window.session.set_step(12)
    assert "(the recorded maximum of window [1, 0:2, 4:6])" in window.equations.lines()[0]


def test_the_step_text_shows_the_seeds_closed_forms_whole_at_the_default_size(window, qtbot):
    """At 1400x900 (the default window) the seeds' last steps need no scrolling."""
    window.resize(1400, 900)
    for sample, step in (("01-seed-1d-conv.json", 2), ("02-seed-2d-conv.json", 16)):
        assert window.open_file(SAMPLES / sample)
        window.session.select(0, "backward", step)
        assert any(line.startswith("closed form: dA_prev") for line in window.equations.lines())
        bar = window.equations.text.verticalScrollBar()
        qtbot.waitUntil(lambda bar=bar: bar.maximum() == 0, timeout=5_000)


def test_the_max_pool_mark_sits_in_its_cells_corner_clear_of_the_digits(window):
    from PyQt6.QtGui import QFont, QFontMetricsF

    from visualconv.app.widgets.tensor_panel import MARK_SIZE

    assert window.open_file(SAMPLES / "06-max-pool-overlapping.json")
    window.session.select(0, "backward", 3)
    panel = window.layer_view.panels["input"]
    (cell,) = panel.outline("argmax")
    t, r, c = cell
    x0, y0 = panel.geometry.origin(t)
    bounds = panel._outlines["argmax"].path().boundingRect()
    # the mark is the cell's top-right corner triangle
    assert bounds.left() >= x0 + c + 1 - MARK_SIZE - 1e-9 and bounds.right() <= x0 + c + 1 + 1e-9
    assert bounds.top() >= y0 + r - 1e-9 and bounds.bottom() <= y0 + r + MARK_SIZE + 1e-9
    # the digits are centred: their top is below the mark at every size the cells allow
    top_left = panel.viewbox.mapViewToDevice(QPointF(0, 0))
    one = panel.viewbox.mapViewToDevice(QPointF(1, 1))
    cell_w, cell_h = abs(one.x() - top_left.x()), abs(one.y() - top_left.y())
    size = panel._numbers._font_size(cell_w, cell_h, 0)
    font = QFont()
    font.setPixelSize(max(1, int(size)))
    digits = QFontMetricsF(font).tightBoundingRect("0123456789.-").height()
    assert MARK_SIZE * cell_h < cell_h / 2 - digits / 2


@pytest.mark.parametrize(("layer", "size"), [(0, (1280, 720)), (1, (1280, 720)), (0, (1400, 900))])
def test_channel_labels_never_overlap_a_tile_or_each_other(window, qtbot, layer, size):
    """Sample 22's 4-channel panels in tight layouts: each caption shown stays in its room."""
    window.resize(*size)
    assert window.open_file(SAMPLES / "22-shapes-classifier.json")
    window.session.select(layer, "backward", 5)
    qtbot.wait(10)  # the layout settles and the views refit
    checked = 0
    for panel in window.layer_view.visible_panels().values():
        geometry = panel.geometry
        shown = [item for item in panel._captions if item.isVisible() and item.toPlainText()]
        boxes = [item.sceneBoundingRect() for item in shown]
        tiles = [
            panel.viewbox.mapViewToScene(QPolygonF(geometry.rect(t))).boundingRect()
            for t in range(geometry.count)
        ]
        view = panel.view.sceneRect()
        for i, box in enumerate(boxes):
            assert view.contains(box), panel.name
            assert not any(box.intersects(tile) for tile in tiles), (panel.name, shown[i].toPlainText())
            assert not any(box.intersects(other) for other in boxes[i + 1 :]), panel.name
            checked += 1
    assert checked >= 4  # the labels are there, not just hidden

"""Presentation mode: full screen, panels and step text at projector size, clicker keys, Escape leaves."""

from __future__ import annotations

import pytest
from helpers import ROOT
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QFontMetricsF

SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"


def painted(panel):
    """The pixel size of the panel's numbers, painted now (0: none fit)."""
    panel.view.viewport().grab()
    return panel.number_pixels()


def press(qtbot, window, key):
    qtbot.keyClick(window, key)


def test_f5_presents_and_escape_gives_the_window_back(window, qtbot):
    assert window.open_file(SEED_2D)
    window.session.select(0, "forward", 0)
    window.layer_view.setFocus()
    before = {name: dock.isHidden() for name, dock in window.dock_names().items()}
    press(qtbot, window, Qt.Key.Key_F5)
    assert window.presenting and window.actions_by_name["presentation"].isChecked()
    qtbot.waitUntil(window.isFullScreen, timeout=60_000)
    assert all(dock.isHidden() for dock in window.dock_names().values())
    assert window.menuBar().isHidden() and window.statusBar().isHidden() and window.stepper.isHidden()
    assert window.layer_view.isVisible() and window.equations.isVisible()
    press(qtbot, window, Qt.Key.Key_PageDown)  # what a presenter's clicker sends
    press(qtbot, window, Qt.Key.Key_PageDown)
    assert window.session.step == 2
    press(qtbot, window, Qt.Key.Key_PageUp)
    assert window.session.step == 1
    press(qtbot, window, Qt.Key.Key_Right)
    press(qtbot, window, Qt.Key.Key_Right)
    press(qtbot, window, Qt.Key.Key_Left)
    assert window.session.step == 2
    press(qtbot, window, Qt.Key.Key_B)
    assert window.session.pass_name == "backward"
    press(qtbot, window, Qt.Key.Key_F)
    assert window.session.pass_name == "forward"
    press(qtbot, window, Qt.Key.Key_Escape)
    assert not window.presenting and not window.actions_by_name["presentation"].isChecked()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=60_000)
    assert {name: dock.isHidden() for name, dock in window.dock_names().items()} == before
    assert not window.menuBar().isHidden() and not window.stepper.isHidden()


def test_the_view_menu_has_presentation(window):
    action = window.actions_by_name["presentation"]
    assert action in window.menus["view"].actions()
    assert action.shortcut().toString() == "F5"


@pytest.mark.parametrize("path", [SEED_1D, SEED_2D], ids=["seed-1d", "seed-2d"])
@pytest.mark.parametrize("pass_name", ["forward", "backward"])
def test_numbers_are_at_least_24_pixels_tall_at_1280x720(window, qtbot, path, pass_name):
    """Read from the back of a room: every cell number of the seeds is painted at 24 px or more."""
    assert window.open_file(path)
    window.set_presentation(True, full_screen=False)  # the offscreen screen is smaller than a projector
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (1280, 720), timeout=60_000)
    window.session.select(0, pass_name, 0)
    n = window.session.n
    for k in sorted({1, n // 2, n}):
        window.session.set_step(k)
        for role, panel in window.layer_view.visible_panels().items():
            texts = [t for tile in range(panel.geometry.count) for t in (panel.tile_texts(tile) or [])]
            if not any(texts):
                assert k < n, role  # at the last step every panel shows its numbers
                continue
            # painted once the layout has settled
            qtbot.waitUntil(lambda p=panel: painted(p) >= 24, timeout=60_000)
            font = panel.number_font()
            assert font.pixelSize() >= 24, (role, k, font.pixelSize())
            assert QFontMetricsF(font).height() >= 24, (role, k)
    window.set_presentation(False)
    assert all(not p.colorbar.isHidden() for p in window.layer_view.visible_panels().values())


def test_the_last_backward_step_shows_every_line_without_scrolling_at_1280x720(window, qtbot):
    """The seed's last step adds four closed-form lines: the step text makes room for them (smaller
    type, up to a quarter of the window), the numbers stay 24 px, and nothing scrolls."""
    assert window.open_file(SEED_2D)
    window.set_presentation(True, full_screen=False)
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (1280, 720), timeout=60_000)
    window.session.select(0, "backward", 5)
    text = window.equations.text
    qtbot.waitUntil(lambda: text.verticalScrollBar().maximum() == 0, timeout=60_000)
    assert text.font().pointSizeF() == 15.0  # three lines: projector size
    window.session.set_step(window.session.n)
    lines = window.equations.lines()
    assert sum(line.startswith("closed form:") for line in lines) == 3 and len(lines) == 7
    qtbot.waitUntil(lambda: text.verticalScrollBar().maximum() == 0, timeout=60_000)
    assert text.font().pointSizeF() >= 11.5
    assert window.layer_view.legend.isHidden()  # the key to the marks is left out for the numbers' room
    for panel in window.layer_view.visible_panels().values():
        qtbot.waitUntil(lambda p=panel: painted(p) >= 24, timeout=60_000)
    window.session.set_step(5)
    qtbot.waitUntil(lambda: text.font().pointSizeF() == 15.0, timeout=60_000)
    window.set_presentation(False)
    assert text.font().pointSizeF() == 11.5 and not window.layer_view.legend.isHidden()

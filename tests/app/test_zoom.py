"""Zoom (Ctrl+plus/minus/0, Ctrl+wheel), numbers one size per pass, a panel enlarged by double-click."""

from __future__ import annotations

import pytest
from helpers import ROOT
from PyQt6.QtCore import QPoint, QPointF, QRect, QSettings, Qt
from PyQt6.QtGui import QWheelEvent
from PyQt6.QtWidgets import QApplication, QMessageBox

from visualconv.app.main_window import MainWindow

SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"


def end(window):
    """Close the window and delete it now, in order (never by a garbage collection later)."""
    from PyQt6 import sip

    from visualconv.app.main import dispose

    window.close()
    if not sip.isdeleted(window):
        dispose(window)


def painted_pixels(panel):
    """The pixel size of the panel's numbers, painted now."""
    panel.view.viewport().grab()
    return panel.number_pixels()


def test_ctrl_plus_minus_and_zero_scale_cells_and_numbers(window, qtbot):
    assert window.open_file(SEED_1D)
    window.session.select(0, "forward", 2)
    area, view = window.zoom_area, window.layer_view
    panel = view.panels["input"]
    width, pixels = area.maximumViewportSize().width(), painted_pixels(panel)
    assert pixels > 0
    qtbot.keyClick(window, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert area.percent == 110
    for _ in range(4):
        window.actions_by_name["zoom_in"].trigger()
    assert area.percent == 200
    qtbot.waitUntil(lambda: view.width() >= 2 * width - 2, timeout=60_000)
    qtbot.waitUntil(lambda: painted_pixels(panel) >= 2 * pixels - 1, timeout=60_000)
    qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert area.percent == 175
    qtbot.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert area.percent == 100
    qtbot.waitUntil(lambda: view.width() <= width, timeout=60_000)
    qtbot.waitUntil(lambda: painted_pixels(panel) == pixels, timeout=60_000)


def test_zoom_stays_within_50_and_400_percent(window):
    area = window.zoom_area
    for _ in range(20):
        window.actions_by_name["zoom_in"].trigger()
    assert area.percent == 400
    for _ in range(20):
        window.actions_by_name["zoom_out"].trigger()
    assert area.percent == 50
    area.set_zoom(1000)
    assert area.percent == 400


def test_ctrl_wheel_over_a_panel_zooms(window, qtbot):
    assert window.open_file(SEED_2D)
    viewport = window.layer_view.panels["input"].view.viewport()
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)

    def wheel(delta, modifiers):
        event = QWheelEvent(
            centre,
            QPointF(viewport.mapToGlobal(centre.toPoint())),
            QPoint(0, 0),
            QPoint(0, delta),
            Qt.MouseButton.NoButton,
            modifiers,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(viewport, event)

    wheel(120, Qt.KeyboardModifier.ControlModifier)
    assert window.zoom_area.percent == 110
    wheel(-120, Qt.KeyboardModifier.ControlModifier)
    wheel(-120, Qt.KeyboardModifier.ControlModifier)
    assert window.zoom_area.percent == 90
    wheel(-120, Qt.KeyboardModifier.NoModifier)  # the wheel alone does not zoom
    assert window.zoom_area.percent == 90


def test_the_zoom_is_remembered(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    path = str(tmp_path / "settings.ini")
    screen = QRect(0, 0, 1600, 1000)
    first = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    first.restore_layout(screen)
    first.zoom_area.set_zoom(250)
    end(first)
    second = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    assert second.zoom_area.percent == 100  # a window nobody restored (a screenshot) has the default
    second.restore_layout(screen)
    assert second.zoom_area.percent == 250
    assert second.layer_view.text_scale == 2.5
    end(second)


@pytest.mark.parametrize("pass_name", ["forward", "backward"])
def test_numbers_keep_one_size_over_the_pass(window, qtbot, pass_name):
    """The 2-D seed's dA_prev grows from 0 to -0.008918 and db from 0 to 0.0836: the font never jumps."""
    assert window.open_file(SEED_2D)
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=60_000)
    window.session.select(0, pass_name, 0)
    sizes = {role: set() for role in window.layer_view.visible_panels()}
    for k in range(window.session.n + 1):
        window.session.set_step(k)
        for role, panel in window.layer_view.visible_panels().items():
            sizes[role].add(painted_pixels(panel))
    for role, seen in sizes.items():
        assert len(seen) == 1, (role, seen)
    if pass_name == "backward":
        assert sizes["db"] != {0} and sizes["dx"] != {0}


def test_double_click_enlarges_a_panel_and_escape_brings_the_grid_back(window, qtbot):
    assert window.open_file(SEED_2D)
    window.session.select(0, "backward", 3)
    view = window.layer_view
    panel = view.panels["dw"]
    small = panel.width()
    viewport = panel.view.viewport()
    with qtbot.waitSignal(view.sigEnlargedChanged, timeout=60_000):
        qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=viewport.rect().center())
    assert view.enlarged == "dw"
    assert [role for role, p in view.visible_panels().items() if p.isVisible()] == ["dw"]
    qtbot.waitUntil(lambda: panel.width() > 2 * small, timeout=60_000)
    window.layer_view.setFocus()
    with qtbot.waitSignal(view.sigEnlargedChanged, timeout=60_000):
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert view.enlarged == ""
    assert all(p.isVisible() for p in view.visible_panels().values())


def test_screenshot_at_200_percent_zoom_is_the_requested_size_and_a_bad_zoom_is_one_line(tmp_path):
    from PyQt6.QtGui import QImage
    from test_launch import run_cli

    out = tmp_path / "zoom.png"
    result = run_cli(str(SEED_2D), "--screenshot", str(out), "--window-size", "1280x720", "--zoom", "200")
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 720)
    result = run_cli(str(SEED_2D), "--screenshot", str(out), "--zoom", "1000")
    assert result.returncode == 2
    assert result.stderr == "visualconv: --zoom 1000: expected a percentage from 50 to 400, for example 200\n"

"""The window remembers its size and dock layout, only uses them when they fit, and resets them."""

from __future__ import annotations

import pytest
from PyQt6 import sip
from PyQt6.QtCore import QRect, QSettings
from PyQt6.QtWidgets import QMessageBox

from visualconv.app.main import DEFAULT_SIZE, dispose, fit_to_screen
from visualconv.app.main_window import MainWindow


@pytest.fixture
def settings_file(tmp_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    return str(tmp_path / "settings.ini")


SCREEN = QRect(0, 0, 1600, 1000)  # the offscreen screen is 800x800, below the window's minimum width


def start(qtbot, settings_file, screen=SCREEN):
    """A window as the launcher makes it: the last layout restored, then shown."""
    window = MainWindow(settings=QSettings(settings_file, QSettings.Format.IniFormat))
    restored = window.restore_layout(screen)
    window.show()
    qtbot.waitExposed(window, timeout=60_000)
    return window, restored


def close(window):
    """Close the window and delete it now, in order (never by a garbage collection later)."""
    window.close()
    if not sip.isdeleted(window):
        dispose(window)


def test_size_place_and_docks_come_back_at_the_next_start(qtbot, settings_file):
    first, restored = start(qtbot, settings_file)
    assert not restored  # nothing saved yet: the default size
    assert (first.width(), first.height()) == (1400, 900)
    first.setGeometry(QRect(40, 30, 1300, 760))
    qtbot.waitUntil(lambda: (first.width(), first.height()) == (1300, 760), timeout=60_000)
    assert first.show_dock("training")
    first.navigator_dock.hide()
    close(first)

    second, restored = start(qtbot, settings_file)
    assert restored
    assert (second.width(), second.height()) == (1300, 760)
    assert (second.geometry().x(), second.geometry().y()) == (40, 30)
    assert not second.training_dock.isHidden()
    assert second.navigator_dock.isHidden()
    close(second)


def test_a_saved_size_larger_than_the_screen_is_not_used(qtbot, settings_file):
    first, _ = start(qtbot, settings_file)
    first.setGeometry(QRect(0, 0, 1500, 950))
    close(first)
    smaller = QRect(0, 0, 1280, 720)  # the next start is on a projector
    second, restored = start(qtbot, settings_file, smaller)
    assert not restored
    assert (second.width(), second.height()) == (1280, 720)
    close(second)


def test_reset_layout_brings_back_the_first_start(qtbot, settings_file):
    window, _ = start(qtbot, settings_file)
    window.navigator_dock.hide()
    assert window.show_dock("training")
    window.resize(500, 400)
    window.actions_by_name["reset_layout"].trigger()
    assert not window.navigator_dock.isHidden()
    assert window.training_dock.isHidden()
    screen = window.available_geometry()  # the default size fitted to the screen, no smaller than allowed
    width, height = fit_to_screen(DEFAULT_SIZE, (screen.width(), screen.height()))
    minimum = window.minimumSizeHint()
    assert (window.width(), window.height()) == (max(width, minimum.width()), max(height, minimum.height()))
    close(window)
    window, _ = start(qtbot, settings_file)  # reset, then closed: the reset layout is saved
    assert not window.navigator_dock.isHidden() and window.training_dock.isHidden()
    close(window)


def test_docks_can_be_tabbed_and_no_minimum_exceeds_a_720p_screen(qtbot, settings_file):
    window, _ = start(qtbot, settings_file)
    for name in window.dock_names():
        assert window.show_dock(name)
    window.tabifyDockWidget(window.navigator_dock, window.training_dock)
    assert window.training_dock in window.tabifiedDockWidgets(window.navigator_dock)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 720, hint
    for dock in window.dock_names().values():
        assert dock.minimumSizeHint().height() <= 720 and dock.minimumSizeHint().width() <= 1280
    close(window)


def test_a_dock_opened_before_the_window_shows_is_the_tab_in_front(qtbot, settings_file):
    """``--show training``: the Training tab, not the Editor's, is in front in the first picture."""
    window = MainWindow(settings=QSettings(settings_file, QSettings.Format.IniFormat))
    assert window.show_dock("training")
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window, timeout=60_000)
    qtbot.waitUntil(lambda: not window.training_dock.visibleRegion().isEmpty(), timeout=60_000)
    assert window.editors.docks["editor"].visibleRegion().isEmpty()
    close(window)

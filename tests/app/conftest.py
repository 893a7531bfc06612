"""Fixtures of the window tests: a shown main window with its own settings file."""

from __future__ import annotations

import pytest
from PyQt6 import sip
from PyQt6.QtCore import QSettings

from visualconv.app.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win, timeout=60_000)
    yield win
    if not sip.isdeleted(win):
        win.shutdown()  # workers joined, the autosave journal's files closed (pytest-qt then closes it)

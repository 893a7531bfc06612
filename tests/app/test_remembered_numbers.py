"""A window whose settings remember View ▸ Numbers choices starts with them (no error at start-up)."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSettings

from visualconv.app.main_window import DECIMAL_COMMA, MainWindow

SEED_1D = Path(__file__).resolve().parents[2] / "sample_models" / "01-seed-1d-conv.json"


def test_a_remembered_decimal_comma_starts_the_window_with_commas(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(DECIMAL_COMMA, True)
    settings.sync()
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    assert window.numbers.decimal == ","
    assert window.actions_by_name["decimal_comma"].isChecked()
    assert window.open_file(SEED_1D)
    # the seed's kernel w = [0.3, 0.5] is written with the comma
    assert window.numbers.value(0.3) == "0,3"

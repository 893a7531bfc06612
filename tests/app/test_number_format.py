"""View ▸ Numbers: one format for cells, tooltips, status bar, step text and exports; Copy value is exact."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT
from PyQt6.QtCore import QRect, QSettings
from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from visualconv.app.main_window import MainWindow

SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"
# The seed's dW = [[0.044606, 0.094061], [0.011262, 0.068288]] (02-seed-2d-conv.json's description).


def end(window):
    """Close the window and delete it now, in order (never by a garbage collection later)."""
    from PyQt6 import sip

    from visualconv.app.main import dispose

    window.close()
    if not sip.isdeleted(window):
        dispose(window)


def choose(window, key):
    window.actions_by_name[f"numbers_{key}"].trigger()
    assert window.actions_by_name[f"numbers_{key}"].isChecked()


def test_three_fixed_decimals_everywhere_a_person_reads(window, qtbot, tmp_path, monkeypatch):
    assert window.open_file(SEED_2D)
    window.session.select(0, "backward", 16)
    choose(window, "fix3")
    dw = window.layer_view.panels["dw"]
    assert dw.tile_texts(0) == ["0.045", "0.094", "0.011", "0.068"]  # cells
    assert dw.describe((0, 1, 1)).endswith("= 0.068")  # tooltip
    assert any("[[0.045, 0.094], [0.011, 0.068]]" in line for line in window.equations.lines())  # step text
    window.editors.links.hover("dw", (0, 0, 0))  # status bar: what the hovered dW cell sums
    status = window.statusBar().currentMessage()
    assert "0.045" in status and "0.044606" not in status, status
    out = tmp_path / "step.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    window.exports.export_snapshot()  # exports
    svg = out.read_text(encoding="utf-8")
    assert ">0.045<" in svg and ">0.04461<" not in svg


def test_three_significant_digits_and_back_to_automatic(window):
    assert window.open_file(SEED_2D)
    window.session.select(0, "backward", 16)
    choose(window, "sig3")
    assert any("[[0.0446, 0.0941], [0.0113, 0.0683]]" in line for line in window.equations.lines())
    assert window.layer_view.panels["dw"].describe((0, 0, 0)).endswith("= 0.0446")
    choose(window, "auto")
    assert any("[[0.044606, 0.094061], [0.011262, 0.068288]]" in line for line in window.equations.lines())
    assert window.layer_view.panels["dw"].describe((0, 0, 0)).endswith("= 0.044606")


def test_no_round_off_noise_and_copy_value_is_exact(window, tmp_path):
    path = tmp_path / "noise.json"
    noisy = 0.1 + 0.2  # 0.30000000000000004
    document = {
        "format": "visualconv/1",
        "name": "noise",
        "input": [noisy, 1.0],
        "layers": [{"type": "conv", "weight": [1.0], "bias": 0.0}],
        "upstream": [1.0, 1.0],
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    assert window.open_file(path)
    window.session.select(0, "forward", 2)
    panel = window.layer_view.panels["input"]
    assert panel.describe((0, 0, 0)).endswith("= 0.3")
    assert panel.tile_texts(0)[0] == "0.3"
    assert all("0.30000000000000004" not in line for line in window.equations.lines())
    menu = panel.context_menu((0, 0, 0))
    assert [a.text() for a in menu.actions()] == ["&Copy value"]
    menu.actions()[0].trigger()
    assert QGuiApplication.clipboard().text() == "0.30000000000000004"
    assert float(QGuiApplication.clipboard().text()) == noisy


@pytest.mark.parametrize("key", ["sig2", "fix4"])
def test_the_choice_is_remembered(qtbot, tmp_path, monkeypatch, key):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    settings = str(tmp_path / "settings.ini")
    first = MainWindow(settings=QSettings(settings, QSettings.Format.IniFormat))
    first.restore_layout(QRect(0, 0, 1600, 1000))
    choose(first, key)
    end(first)
    second = MainWindow(settings=QSettings(settings, QSettings.Format.IniFormat))
    second.restore_layout(QRect(0, 0, 1600, 1000))
    assert second.number_format_key() == key
    assert second.actions_by_name[f"numbers_{key}"].isChecked()
    end(second)

"""File > Import: an ONNX network becomes the window's model, unsaved; a bad file keeps the model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtWidgets import QMessageBox

pytest.importorskip("onnx")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bridge"))

from onnx_nets import make_onnx, node, small_cnn


def test_import_shows_the_network_unsaved_and_steps(window, tmp_path, monkeypatch):
    # closing the window at the end asks about the unsaved import: discard it
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    small_cnn(tmp_path / "net.onnx", np.random.default_rng(2))
    assert "import" in window.actions_by_name
    assert window.import_file(tmp_path / "net.onnx")
    session = window.session
    assert [layer.type for layer in session.model.layers] == ["conv", "pool", "conv", "flatten", "dense"]
    assert session.dirty and session.path == ""
    session.set_pass("backward")
    assert session.n > 0 and session.next()


def test_an_unsupported_network_shows_the_message_and_keeps_the_model(window, tmp_path, monkeypatch):
    before = window.session.model
    path = make_onnx(
        tmp_path / "bn.onnx",
        [node("BatchNormalization", ["x", "s", "b", "m", "v"], "bn")],
        {"s": np.ones(1), "b": np.zeros(1), "m": np.zeros(1), "v": np.ones(1)},
        [1, 1, 3, 3],
    )
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    assert not window.import_file(path)
    assert window.session.model is before
    assert len(shown) == 1 and "BatchNormalization" in shown[0] and "\n" not in shown[0]

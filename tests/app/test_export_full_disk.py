"""File > Export in the window on a full disk (an injected ENOSPC): the message names the file."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from visualconv import atomic

ROOT = Path(__file__).resolve().parents[2]
SEED_1D = str(ROOT / "sample_models" / "01-seed-1d-conv.json")
FULL = "could not write: no space left on device (the old file is unchanged)"


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf", ".gif"])
def test_file_export_in_the_window_on_a_full_disk_names_the_file_and_keeps_the_old_one(
    window, tmp_path, monkeypatch, suffix
):
    """File > Export: one message naming the file; the old export is byte-identical."""
    from PyQt6.QtWidgets import QFileDialog, QMessageBox

    from visualconv.app.integration import install

    install(window)
    assert window.open_file(SEED_1D)
    target = tmp_path / f"slide{suffix}"
    target.write_bytes(b"the old export")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append((title, text)))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    window.actions_by_name["export_animation" if suffix == ".gif" else "export_snapshot"].trigger()
    assert shown == [("Export failed", f"{target}: {FULL}")]
    assert target.read_bytes() == b"the old export"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".slide")) == []

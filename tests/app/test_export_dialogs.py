"""File ▸ Export as a user reaches it: every lecture format, the pack dialog, remembered folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT
from PIL import Image
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDialog, QFileDialog, QMessageBox

from visualconv.app import export_dialogs
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import load_model

SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"
CNN = ROOT / "sample_models" / "12-small-cnn-cross-entropy.json"


@pytest.fixture
def win(window, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: pytest.fail(f"warning shown: {a[2]}"))
    window.session.open(SEED_2D)
    window.session.select(0, "backward", 6)
    yield window
    window.close()


def finish(win, qtbot):
    """An animation or a pack is written by a worker thread: wait until it is done."""
    if win.exports.running:
        with qtbot.waitSignal(win.exports.sigExportFinished, timeout=120000):
            pass


class SaveDialog:
    """Stands in for QFileDialog.getSaveFileName: answers with a path and records the start."""

    def __init__(self, monkeypatch):
        self.starts = []
        self.answer = ("", "")
        monkeypatch.setattr(QFileDialog, "getSaveFileName", self)

    def __call__(self, parent, title, start, filters, selected=""):
        self.starts.append(start)
        self.filters = filters
        return self.answer


def test_animation_as_mp4_and_apng_from_the_menu(win, qtbot, tmp_path, monkeypatch):
    pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg is not installed")
    from visualconv.export.video import mp4_frame_count

    save = SaveDialog(monkeypatch)
    save.answer = (str(tmp_path / "pass.mp4"), "MP4 video, H.264 (*.mp4)")
    win.actions_by_name["export_animation"].trigger()
    finish(win, qtbot)
    assert "Animated GIF (*.gif)" in save.filters and "(*.mp4)" in save.filters and "(*.apng)" in save.filters
    import subprocess

    import imageio_ffmpeg

    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(tmp_path / "pass.mp4"), "-map", "0:v", "-f", "null", "-"],
        capture_output=True,
        text=True,
    ).stderr
    frames = int(out.rsplit("frame=", 1)[1].split()[0])
    assert frames == mp4_frame_count(17, 900)
    # no extension typed: the chosen filter's
    save.answer = (str(tmp_path / "pass"), "Animated PNG (*.apng)")
    win.actions_by_name["export_animation"].trigger()
    finish(win, qtbot)
    with Image.open(tmp_path / "pass.apng") as im:
        assert im.n_frames == 17


def test_tikz_beamer_and_pptx_from_the_menu(win, tmp_path, monkeypatch):
    pptx = pytest.importorskip("pptx", reason="python-pptx is not installed")
    save = SaveDialog(monkeypatch)
    save.answer = (str(tmp_path / "step.tex"), "")
    win.actions_by_name["export_tikz"].trigger()
    assert "\\begin{tikzpicture}" in (tmp_path / "step.tex").read_text()
    assert "overlay 6 of 16" in (tmp_path / "step.tex").read_text()
    save.answer = (str(tmp_path / "deck.tex"), "")
    win.actions_by_name["export_beamer"].trigger()
    deck = (tmp_path / "deck.tex").read_text()
    assert "\\documentclass[aspectratio=169]{beamer}" in deck and "\\only<17>" in deck
    save.answer = (str(tmp_path / "deck"), "")
    win.actions_by_name["export_pptx"].trigger()
    slides = pptx.Presentation(str(tmp_path / "deck.pptx")).slides
    assert len(slides) == 17
    caption = next(s for s in slides[6].shapes if s.name == "caption")
    assert caption.text_frame.text.endswith("overlay 6 of 16")
    assert "Exported deck.pptx" in win.statusBar().currentMessage()


def test_each_format_remembers_its_last_folder(win, qtbot, tmp_path, monkeypatch):
    save = SaveDialog(monkeypatch)
    images, videos = tmp_path / "images", tmp_path / "videos"
    images.mkdir()
    videos.mkdir()
    save.answer = (str(images / "a.png"), "")
    win.actions_by_name["export_snapshot"].trigger()
    save.answer = (str(videos / "b.apng"), "")
    win.actions_by_name["export_animation"].trigger()
    finish(win, qtbot)
    save.answer = ("", "")
    win.actions_by_name["export_snapshot"].trigger()
    win.actions_by_name["export_animation"].trigger()
    finish(win, qtbot)
    assert Path(save.starts[2]).parent == images.resolve() and save.starts[2].endswith(".png")
    assert Path(save.starts[3]).parent == videos.resolve() and save.starts[3].endswith(".apng")
    # a format not used yet starts with a bare name (the working folder)
    win.actions_by_name["export_beamer"].trigger()
    assert "/" not in save.starts[4]


def test_options_set_the_scale_and_frame_time(win, qtbot, tmp_path, monkeypatch):
    def set_options(dialog):
        dialog.scale.setValue(0.5)
        dialog.frame_ms.setValue(300)
        dialog.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(export_dialogs.OptionsDialog, "exec", set_options)
    win.actions_by_name["export_options"].trigger()
    save = SaveDialog(monkeypatch)
    save.answer = (str(tmp_path / "slow.apng"), "")
    win.actions_by_name["export_animation"].trigger()
    finish(win, qtbot)
    save.answer = (str(tmp_path / "small.png"), "")
    win.actions_by_name["export_snapshot"].trigger()
    from visualconv.export import render_snapshot_image

    full = render_snapshot_image(load_model(SEED_2D), 0, "backward", 6, scale=1.0)
    with Image.open(tmp_path / "slow.apng") as im:
        assert im.info["duration"] == 300
        assert im.size == (round(full.width() * 0.5), round(full.height() * 0.5))
    with Image.open(tmp_path / "small.png") as im:
        assert im.size == (round(full.width() * 0.5), round(full.height() * 0.5))


def choose(layers=None, passes=None, steps="", formats=None, folder=None):
    def run(dialog):
        if folder is not None:
            dialog.folder.setText(str(folder))
        if layers is not None:
            for i, box in enumerate(dialog.layer_boxes):
                box.setChecked(i in layers)
        if passes is not None:
            dialog.forward.setChecked("forward" in passes)
            dialog.backward.setChecked("backward" in passes)
        dialog.steps.setText(steps)
        if formats is not None:
            for fmt, box in dialog.format_boxes.items():
                box.setChecked(fmt in formats)
        dialog.accept()
        return QDialog.DialogCode.Accepted

    return run


def test_pack_dialog_writes_the_chosen_part_and_says_so(win, qtbot, tmp_path, monkeypatch):
    win.session.open(CNN)
    target = tmp_path / "lecture"
    monkeypatch.setattr(
        export_dialogs.PackDialog,
        "exec",
        choose(layers=[2], passes=["backward"], steps="0-3", formats=["png", "gif", "beamer"], folder=target),
    )
    win.actions_by_name["export_pack"].trigger()
    finish(win, qtbot)
    names = sorted(p.name for p in target.iterdir())
    assert names == [
        "index.html",
        "index.md",
        "layer-2-conv-backward",
        "layer-2-conv-backward-beamer.tex",
        "layer-2-conv-backward.gif",
    ]
    assert len(list((target / "layer-2-conv-backward").glob("*.png"))) == 4
    message = win.statusBar().currentMessage()
    assert message.startswith("Lecture pack: 8 files,") and str(target) in message
    # the dialog starts next time beside the last pack, with the formats chosen last
    seen = {}

    def look(dialog):
        seen["folder"] = dialog.folder.text()
        seen["formats"] = [f for f, b in dialog.format_boxes.items() if b.isChecked()]
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(export_dialogs.PackDialog, "exec", look)
    win.actions_by_name["export_pack"].trigger()
    finish(win, qtbot)
    assert Path(seen["folder"]).parent == tmp_path.resolve()
    assert seen["formats"] == ["png", "gif", "beamer"]


def test_cancelling_the_pack_in_the_window_removes_it(win, qtbot, tmp_path, monkeypatch):
    """Cancel in the progress dialog, after 10 steps were written: the pack is gone again."""
    win.session.open(CNN)
    target = tmp_path / "lecture"
    monkeypatch.setattr(export_dialogs.PackDialog, "exec", choose(folder=target))

    def cancel_at_10(done, total):
        if done >= 10:
            win.exports.cancel()  # what the progress dialog's Cancel does

    with qtbot.waitSignal(win.exports.sigExportFinished, timeout=120000) as finished:
        win.actions_by_name["export_pack"].trigger()
        # Called on the worker's thread, at the 10th step (the dialog would see it a little later).
        win.exports.worker.sigProgress.connect(cancel_at_10, Qt.ConnectionType.DirectConnection)
    assert finished.args[0] == "cancelled"
    assert not target.exists()
    assert win.statusBar().currentMessage() == "Export cancelled"


def test_pack_dialog_lists_the_layers_and_has_no_backward_without_one(qtbot, tmp_path):
    from PyQt6.QtCore import QSettings

    from visualconv.modelfile import loads

    model = loads(
        '{"format": "visualconv/1", "name": "f", "input": [1, 2, 3], "dims": 1,'
        ' "layers": [{"type": "conv", "weight": [0.3, 0.5]}]}'
    )
    options = export_dialogs.ExportSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    dialog = export_dialogs.PackDialog(model, options, str(tmp_path / "p"))
    qtbot.addWidget(dialog)
    assert [b.text() for b in dialog.layer_boxes] == ["0: conv"]
    assert not dialog.backward.isEnabled() and not dialog.backward.isChecked()
    choice = dialog.choice()
    assert choice.passes == ("forward",) and choice.layers == (0,)
    assert trace_layer(model, 0, "forward").n == 2
    assert np.isclose(choice.scale, 0.75)


def test_the_window_refuses_the_pack_with_a_message_and_writes_nothing(window, qtbot, tmp_path, monkeypatch):
    """A pack over the memory budget: the window says why, and no folder is made."""
    from visualconv.export import pack, render

    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: said.append((title, text)))
    monkeypatch.setattr(render, "figure_image", lambda *a, **k: pytest.fail("an image was rendered"))
    monkeypatch.setattr(pack, "MEMORY_BUDGET_BYTES", 1)
    window.session.open(SEED_2D)
    target = tmp_path / "lecture"
    monkeypatch.setattr(export_dialogs.PackDialog, "exec", choose(formats=["png", "gif"], folder=target))
    window.actions_by_name["export_pack"].trigger()
    finish(window, qtbot)
    ((title, text),) = said
    assert title == "Export failed" and text.startswith("--scale: the lecture pack would need about ")
    assert not target.exists()
    window.close()

"""``visualconv export``: one command per artefact, headless, errors as one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from visualconv.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"
SEED_1D = str(SAMPLES / "01-seed-1d-conv.json")


def svg_texts(path) -> set[str]:
    root = ET.parse(path).getroot()
    return {(t.text or "").strip() for t in root.iter("{http://www.w3.org/2000/svg}text")}


def test_done_when_slides_and_gif_of_the_seed_backward_pass(tmp_path, capsys):
    """A lecturer gets one slide per backward overlay and a GIF of the pass, one command each."""
    slides = tmp_path / "slides"
    assert main(["export", SEED_1D, "--pass", "backward", "--frames", str(slides)]) == 0
    assert sorted(p.name for p in slides.iterdir()) == ["frame-000.png", "frame-001.png", "frame-002.png"]
    gif = tmp_path / "backward.gif"
    assert main(["export", SEED_1D, "--pass", "backward", "--animation", str(gif)]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 3
    capsys.readouterr()
    # the numbers on the slides are the seed document's numbers
    expected = {
        1: {"-0.1", "-0.2", "-0.03", "-0.05", "0"},  # dW, dA_prev after overlay 1
        2: {"0.3", "0.4", "-0.03", "0.01", "0.1"},  # dW = [0.3, 0.4], db = 0.1, dA_prev
    }
    for k, numbers in expected.items():
        out = tmp_path / f"slide-{k}.svg"
        assert main(["export", SEED_1D, "--pass", "backward", "--step", str(k), "--out", str(out)]) == 0
        assert numbers <= svg_texts(out)
    assert {"1.3", "2.1"} <= svg_texts(_forward_svg(tmp_path))


def _forward_svg(tmp_path):
    out = tmp_path / "forward.svg"
    assert main(["export", SEED_1D, "--pass", "forward", "--out", str(out)]) == 0
    return out


def test_default_step_is_the_last_and_formats_follow_the_extension(tmp_path, capsys):
    for suffix in ("png", "svg", "pdf", "json", "npz", "tex", "zip"):
        assert main(["export", SEED_1D, "--out", str(tmp_path / f"s.{suffix}")]) == 0
    record = json.loads((tmp_path / "s.json").read_text())
    assert (record["step"], record["n"]) == (2, 2)
    assert (tmp_path / "s-fragment.tex").is_file()
    assert main(["export", SEED_1D, "--out", str(tmp_path / "m.csv")]) == 0
    assert (tmp_path / "m" / "state_dx.csv").is_file()
    out = capsys.readouterr().out
    assert str(tmp_path / "s.png") in out


def test_pack_by_one_command(tmp_path, capsys):
    assert main(["export", str(SAMPLES / "05-max-pool-backward.json"), "--pack", str(tmp_path / "pack")]) == 0
    index = (tmp_path / "pack" / "index.md").read_text()
    assert "## layer 0 (pool 2-D), forward pass" in index
    assert "## layer 0 (pool 2-D), backward pass" in index
    assert "lecture pack in" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([SEED_1D], "nothing to do"),
        ([SEED_1D, "--out", "x.bmp"], "cannot tell the format"),
        ([SEED_1D, "--step", "5", "--out", "x.png"], "step 5: this pass has steps 0..2"),
        ([SEED_1D, "--layer", "3", "--out", "x.png"], "layer 3: the model has layers 0..0"),
        ([SEED_1D, "--animation", "x.avi"], "expected a .gif, .mp4 or .apng"),
        ([SEED_1D, "--beamer", "x.pdf"], "expected a .tex file"),
        ([SEED_1D, "--steps", "1-9", "--beamer", "x.tex"], "step 9 is past the last step 2"),
        ([SEED_1D, "--scale", "0", "--out", "x.png"], "--scale 0"),
        (["missing.json", "--out", "x.png"], "missing.json"),
    ],
)
def test_errors_exit_2_with_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["export", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_unwritable_output_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["export", SEED_1D, "--out", str(blocker / "x.png")]) == 2
    err = capsys.readouterr().err
    assert f"{blocker / 'x.png'}: could not write: {blocker} is not a folder (nothing was written)" in err
    assert err.count("\n") == 1


def test_works_without_a_display(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = tmp_path / "s.png"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "visualconv",
            "export",
            SEED_1D,
            "--step",
            "1",
            "--out",
            str(out),
            "--scale",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    with Image.open(out) as im:
        assert im.size[0] > 1000


SEED_2D = str(SAMPLES / "02-seed-2d-conv.json")


def test_done_when_the_seed_beamer_deck_compiles_to_17_pages(tmp_path, capsys):
    from .latex_tools import compile_tex, pdf_pages, pdf_text

    deck = tmp_path / "deck.tex"
    assert main(["export", SEED_2D, "--layer", "0", "--pass", "backward", "--beamer", str(deck)]) == 0
    assert capsys.readouterr().out.strip() == str(deck)
    pdf = compile_tex(deck)
    assert pdf_pages(pdf) == 17
    words = pdf_text(pdf, 7).split()
    assert {"-0.00892", "0.01029", "-0.00473", "0.02124", "-0.00755", "0.00837", "-0.004"} <= set(words)


def test_tikz_pptx_mp4_and_apng_from_the_command_line(tmp_path, capsys):
    tikz = tmp_path / "step.tex"
    assert main(["export", SEED_2D, "--step", "6", "--tikz", str(tikz)]) == 0
    assert "\\begin{tikzpicture}" in tikz.read_text() and (tmp_path / "step-fragment.tex").is_file()
    apng = tmp_path / "pass.apng"
    assert main(["export", SEED_2D, "--steps", "0-4", "--frame-ms", "250", "--animation", str(apng)]) == 0
    with Image.open(apng) as im:
        assert im.n_frames == 5 and im.info["duration"] == 250
    pptx = pytest.importorskip("pptx", reason="python-pptx is not installed")
    deck = tmp_path / "deck.pptx"
    assert main(["export", SEED_2D, "--steps", "6,16", "--pptx", str(deck)]) == 0
    slides = pptx.Presentation(str(deck)).slides
    assert len(slides) == 2
    cells = {s.name: s.text_frame.text for s in slides[0].shapes if s.has_text_frame}
    assert cells["dx:0:1,2"] == "0.02124" and cells["db:0:0,0"] == "0.105"
    pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg is not installed")
    from visualconv.export.video import mp4_frame_count

    mp4 = tmp_path / "pass.mp4"
    assert main(["export", SEED_2D, "--steps", "0-3", "--frame-ms", "500", "--animation", str(mp4)]) == 0
    import imageio_ffmpeg

    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(mp4), "-map", "0:v", "-f", "null", "-"],
        capture_output=True,
        text=True,
    ).stderr
    assert int(out.rsplit("frame=", 1)[1].split()[0]) == mp4_frame_count(4, 500)
    capsys.readouterr()


def test_pack_flags_choose_and_the_summary_is_printed(tmp_path, capsys):
    target = tmp_path / "a" / "pack"
    argv = ["export", SEED_2D, "--pack", str(target), "--passes", "forward", "--steps", "0,last"]
    assert main([*argv, "--pack-formats", "png,tex"]) == 0
    out = capsys.readouterr().out
    assert f"lecture pack in {target}: 7 files," in out
    assert sorted(p.name for p in (target / "layer-0-conv-forward").iterdir()) == [
        "fragments.tex",
        "step-000.png",
        "step-000.tex",
        "step-016.png",
        "step-016.tex",
    ]
    assert main(["export", SEED_2D, "--pack", str(target), "--layers", "x"]) == 2
    assert main(["export", SEED_2D, "--pack", str(target), "--pack-formats", "doc"]) == 2
    assert "pack formats ['doc']" in capsys.readouterr().err

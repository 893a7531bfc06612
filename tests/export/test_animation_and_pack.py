"""Animations: n + 1 frames of one size with one colour scale; lecture packs in order."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from visualconv.engine.trace import trace_layer
from visualconv.export import ExportCancelled, export_animation, export_pack, snapshot_bytes, snapshot_figure
from visualconv.export.figure import build_figure, pass_style
from visualconv.export.paint import FigurePainter


def gif_frames(path) -> list[np.ndarray]:
    frames = []
    with Image.open(path) as im:
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
    return frames


def test_gif_has_one_frame_per_step_and_the_frames_match_the_slides(seed1d, tmp_path):
    gif, *pngs = export_animation(seed1d, 0, "backward", tmp_path / "b.gif", frames_dir=tmp_path / "frames")
    frames = gif_frames(gif)
    assert len(frames) == 3  # steps 0, 1, 2
    assert [p.name for p in pngs] == ["frame-000.png", "frame-001.png", "frame-002.png"]
    for k, png in enumerate(pngs):
        # frame k of the folder is the slide of step k, byte for byte
        assert png.read_bytes() == snapshot_bytes(seed1d, 0, "backward", k, ".png")
        with Image.open(png) as im:
            assert im.size == frames[k].shape[1::-1]
            # the GIF's palette keeps flat colours exact: the background stays white
            assert tuple(frames[k][3, 3]) == (255, 255, 255)


def test_every_frame_uses_the_colour_scale_of_the_whole_pass(sample, tmp_path):
    model = sample("02-seed-2d-conv.json")
    trace = trace_layer(model, 0, "backward")
    style = pass_style(trace)
    finals = trace.step(trace.n).state
    assert style.limits["dw"] >= np.abs(finals.dw).max()
    assert style.limits["dx"] == pytest.approx(
        max(np.abs(trace.step(k).state.dx_padded).max() for k in range(trace.n + 1))
    )
    figures = [build_figure(model, 0, trace, k, style) for k in (3, 16)]
    assert figures[0].style.limits == figures[1].style.limits
    sizes = {(FigurePainter(f).width, FigurePainter(f).height) for f in figures}
    assert len(sizes) == 1


def test_the_same_value_has_the_same_colour_in_every_gif_frame(seed1d, tmp_path):
    (gif,) = export_animation(seed1d, 0, "backward", tmp_path / "b.gif")
    frames = gif_frames(gif)
    fp = FigurePainter(snapshot_figure(seed1d, 0, "backward", 1))
    box = next(b for b in fp.boxes if b.panel.key == "dx")
    # dA_prev[0] is -0.03 after overlay 1 and after overlay 2; sample inside the cell, off the text
    x, y = round(box.x + 5), round(box.y + 26 + 5)
    assert tuple(frames[1][y, x]) == tuple(frames[2][y, x])
    assert tuple(frames[1][y, x]) != tuple(frames[0][y, x])  # 0 before the first overlay


def test_progress_is_reported_and_can_cancel(seed1d, tmp_path):
    calls = []
    export_animation(
        seed1d, 0, "forward", tmp_path / "f.gif", lambda done, total: calls.append((done, total))
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(ExportCancelled):
        export_animation(seed1d, 0, "forward", tmp_path / "g.gif", lambda done, total: done < 2)
    assert not (tmp_path / "g.gif").exists()


def test_scaled_frames(sample, tmp_path):
    model = sample("06-max-pool-overlapping.json")
    (gif,) = export_animation(model, 0, "forward", tmp_path / "p.gif", scale=0.5)
    frames = gif_frames(gif)
    assert len(frames) == 10
    with Image.open(io.BytesIO(snapshot_bytes(model, 0, "forward", 0, ".png", 0.5))) as im:
        assert frames[0].shape[1::-1] == im.size


def test_lecture_pack_lists_every_layer_and_pass_in_order(seed1d, tmp_path):
    progress = []
    index, *files = export_pack(seed1d, tmp_path / "pack", lambda d, t: progress.append((d, t)))
    assert index == tmp_path / "pack" / "index.md"
    assert progress[-1] == (6, 6)
    text = index.read_text()
    forward = text.index("## layer 0 (conv 1-D), forward pass")
    backward = text.index("## layer 0 (conv 1-D), backward pass")
    assert forward < backward
    for name in ("forward", "backward"):
        folder = tmp_path / "pack" / f"layer-0-conv-{name}"
        for k in range(3):
            assert (folder / f"step-{k:03d}.png").is_file()
            assert (folder / f"step-{k:03d}.tex").read_text().startswith("\\documentclass")
            assert f"](layer-0-conv-{name}/step-{k:03d}.png)" in text
        assert (folder / "fragments.tex").read_text().count("\\begin{bmatrix}") > 3
        assert len(gif_frames(tmp_path / "pack" / f"layer-0-conv-{name}.gif")) == 3
    # the equations, in order
    assert text.index("overlay 1: z[0] = 1*0.3 + 2*0.5 + 0 = 1.3") < text.index(
        "overlay 2: z[1] = 2*0.3 + 3*0.5 + 0 = 2.1"
    )
    assert "overlay 2: dW += [2*0.2, 3*0.2] -> [0.3, 0.4]" in text
    assert all(p.exists() for p in files)


def test_pack_of_a_cnn_goes_forward_then_backward_from_the_last_layer(sample, tmp_path):
    from visualconv.export.api import pack_passes

    model = sample("12-small-cnn-cross-entropy.json")
    order = pack_passes(model)
    assert order[:5] == [(i, "forward") for i in range(5)]
    assert order[5:] == [(i, "backward") for i in (4, 3, 2, 1, 0)]


def test_pack_of_chosen_layers_passes_and_steps_creates_its_folder(sample, tmp_path):
    model = sample("12-small-cnn-cross-entropy.json")
    target = tmp_path / "new" / "pack"
    index, page, *files = export_pack(
        model,
        target,
        layers=[0, 2],
        passes=["backward"],
        steps="0-2,last",
        formats=["png", "tex", "gif", "beamer"],
    )
    assert index == target / "index.md" and page == target / "index.html"
    folders = sorted(p.name for p in target.iterdir() if p.is_dir())
    assert folders == ["layer-0-conv-backward", "layer-2-conv-backward"]
    n0 = trace_layer(model, 0, "backward").n
    pngs = sorted(p.name for p in (target / "layer-0-conv-backward").glob("*.png"))
    assert pngs == ["step-000.png", "step-001.png", "step-002.png", f"step-{n0:03d}.png"]
    assert len(gif_frames(target / "layer-0-conv-backward.gif")) == 4
    deck = (target / "layer-2-conv-backward-beamer.tex").read_text()
    assert "\\only<4>" in deck and "\\only<5" not in deck
    text = page.read_text()
    assert text.index('id="layer-2-conv-backward"') < text.index('id="layer-0-conv-backward"')
    assert '<img src="layer-0-conv-backward/step-001.png"' in text
    assert all(p.exists() for p in files)


def test_pack_index_escapes_the_model_text(tmp_path):
    from visualconv.modelfile import loads

    model = loads(
        '{"format": "visualconv/1", "name": "<script>alert(1)</script> *x* [a](b)", "input": [1, 2, 3],'
        ' "layers": [{"type": "conv", "weight": [0.3, 0.5]}], "upstream": [-0.1, 0.2]}'
    )
    index, page, *_ = export_pack(model, tmp_path / "p", formats=["png"])
    assert "<script>" not in page.read_text() and "&lt;script&gt;" in page.read_text()
    md = index.read_text()
    assert "<script>" not in md and "\\*x\\*" in md and "\\[a\\]\\(b\\)" in md


@pytest.mark.parametrize("existing", [False, True])
def test_a_cancelled_pack_leaves_nothing_behind(sample, tmp_path, existing):
    model = sample("12-small-cnn-cross-entropy.json")
    target = tmp_path / "pack"
    if existing:
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    calls = []

    def cancel_after_40(done, total):
        calls.append(done)
        return done < 40

    with pytest.raises(ExportCancelled):
        export_pack(model, target, cancel_after_40, formats=["png", "tex", "gif", "beamer", "apng"])
    assert calls[-1] == 40
    if existing:
        assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    else:
        assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["pack"] if existing else [])


def test_a_cancelled_animation_leaves_nothing_behind(sample, tmp_path):
    model = sample("02-seed-2d-conv.json")
    with pytest.raises(ExportCancelled):
        export_animation(
            model, 0, "backward", tmp_path / "a.apng", lambda d, t: d < 5, frames_dir=tmp_path / "frames"
        )
    assert list(tmp_path.iterdir()) == []


def test_a_pack_step_compiles_to_that_step_only_and_fragments_show_every_step(seed1d, tmp_path):
    from .latex_tools import compile_tex, pdf_pages, pdf_text

    export_pack(seed1d, tmp_path / "p", formats=["tex"])
    folder = tmp_path / "p" / "layer-0-conv-backward"
    text = pdf_text(compile_tex(folder / "step-001.tex"), 1)
    assert "overlay 1 of 2" in text and "overlay 2 of 2" not in text
    assert "-0.1" in text.split() and "-0.05" in text.split()  # dW[0] and dA_prev[1] after overlay 1
    host = folder / "all.tex"
    host.write_text(
        "\\documentclass{article}\n\\usepackage{amsmath,amssymb,xcolor,colortbl}\n"
        "\\setcounter{MaxMatrixCols}{20}\n\\begin{document}\n\\input{fragments.tex}\n\\end{document}\n"
    )
    pdf = compile_tex(host)
    every = " ".join(pdf_text(pdf, p) for p in range(1, pdf_pages(pdf) + 1))
    assert all(f"overlay {k} of 2" in every for k in (1, 2))


@pytest.mark.parametrize(
    ("language", "diverging_words", "sequential_words"),
    [
        ("en", "blue is negative, red positive", "dark is negative, light positive"),
        ("de", "Blau ist negativ, Rot positiv", "Dunkel ist negativ, Hell positiv"),
        ("zh-CN", "蓝色为负，红色为正", "深色为负，浅色为正"),
    ],
)
def test_the_pack_index_names_the_colours_of_the_palette_its_images_use(
    seed1d, tmp_path, language, diverging_words, sequential_words
):
    from visualconv import i18n
    from visualconv.engine import palette

    i18n.set_language(language)
    try:
        (plain, *_) = export_pack(seed1d, tmp_path / "plain", formats=("png",), steps="0")
        with palette.exporting_with("cividis"):
            (cividis, *_) = export_pack(seed1d, tmp_path / "cividis", formats=("png",), steps="0")
    finally:
        i18n.set_language("en")
    assert diverging_words in plain.read_text("utf-8")
    assert sequential_words not in plain.read_text("utf-8")
    assert sequential_words in cividis.read_text("utf-8")
    assert diverging_words not in cividis.read_text("utf-8")

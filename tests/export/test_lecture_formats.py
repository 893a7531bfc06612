"""Beamer, TikZ and LaTeX compile with pdflatex and show the window's numbers; PPTX, MP4 and APNG
are read back and hold the steps of the engine's trace."""

from __future__ import annotations

import dataclasses
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from visualconv.app import theme
from visualconv.engine.errors import ModelError
from visualconv.engine.numbers import DEFAULT
from visualconv.engine.trace import trace_layer
from visualconv.export import (
    export_animation,
    export_beamer,
    export_pptx,
    export_snapshot,
    export_tikz,
)
from visualconv.export.slides import parse_steps
from visualconv.modelfile import loads

from .latex_tools import compile_tex, pdf_pages, pdf_text

HOSTILE = r"Evil \input{/etc/hostname} $x$ % & # _ {} ~ ^ <b> 漢字 é" + "\x07"


def window_text(value: float, level: float) -> str:
    """A cell's number as the window writes it (its panel's level and the shared formatter)."""
    return DEFAULT.window_cell(float(value), DEFAULT.decimals_for(theme.nice_level(level)))


def pass_max(trace, key: str) -> float:
    return max(float(np.abs(getattr(trace.step(k).state, key)).max()) for k in range(trace.n + 1))


def test_step_lists():
    assert parse_steps("1-4,16", 16) == [1, 2, 3, 4, 16]
    assert parse_steps("0,last", 16) == [0, 16]
    assert parse_steps("3,1-3", 5) == [3, 1, 2]
    with pytest.raises(ValueError, match="past the last step 16"):
        parse_steps("1-20", 16)
    with pytest.raises(ValueError, match="runs backwards"):
        parse_steps("4-2", 16)
    with pytest.raises(ValueError, match="expected numbers and ranges"):
        parse_steps("1,x", 16)
    assert parse_steps("1-20", 5, lenient=True) == [1, 2, 3, 4, 5]


def test_beamer_deck_of_the_seed_has_one_page_per_step_and_page_7_is_overlay_6(sample, tmp_path):
    model = sample("02-seed-2d-conv.json")
    (deck,) = export_beamer(model, 0, "backward", tmp_path / "deck.tex")
    pdf = compile_tex(deck)
    assert pdf_pages(pdf) == 17  # steps 0..16
    text = pdf_text(pdf, 7)
    assert "overlay 6 of 16" in text
    trace = trace_layer(model, 0, "backward")
    step = trace.step(6)
    words = set(text.split())
    # dA_prev, dW and db of step 6, written as the window writes them
    for key in ("dx_padded", "dw", "db"):
        level = pass_max(trace, key)
        for value in np.ravel(getattr(step.state, key)):
            assert window_text(value, level) in words, (key, value)
    assert {"-0.00892", "0.02124", "0.0829", "0.105"} <= words  # the window's screen at overlay 6
    # the arithmetic of overlay 6, a negative factor in parentheses
    assert "overlay 6:" in text and "(-0.13)" not in text  # -0.13 is a first factor: no parentheses
    assert "dW +=" in text.replace("+ =", "+=")


def test_beamer_subset_of_steps_and_fixed_decimals(sample, tmp_path):
    model = sample("02-seed-2d-conv.json")
    (deck,) = export_beamer(model, 0, "backward", tmp_path / "some.tex", steps="1-4,16", decimals=2)
    source = deck.read_text()
    assert "\\only<5>" in source and "\\only<6" not in source
    pdf = compile_tex(deck)
    assert pdf_pages(pdf) == 5
    assert "overlay 16 of 16" in pdf_text(pdf, 5)
    assert "overlay 4 of 16" in pdf_text(pdf, 4)
    words = pdf_text(pdf, 5).split()
    # A_prev 0.51; the final dW = [[0.044606, 0.094061], [0.011262, 0.068288]] with 2 decimals
    assert {"0.51", "0.04", "0.09", "0.01", "0.07"} <= set(words)


def test_beamer_of_a_padded_pool_and_a_dense_layer_compile(sample, tmp_path):
    for name, layer, pass_name in (
        ("09-stride-padding.json", 0, "backward"),
        ("06-max-pool-overlapping.json", 0, "backward"),
        ("12-small-cnn-cross-entropy.json", 4, "forward"),
    ):
        (deck,) = export_beamer(sample(name), layer, pass_name, tmp_path / f"{name}.tex")
        trace = trace_layer(sample(name), layer, pass_name)
        assert pdf_pages(compile_tex(deck)) == trace.n + 1


def test_tikz_standalone_and_fragment_compile(sample, tmp_path):
    model = sample("04-multichannel-activation.json")
    doc, fragment = export_tikz(model, 0, "backward", 3, tmp_path / "step.tex")
    assert fragment.name == "step-fragment.tex"
    assert "\\begin{tikzpicture}" in fragment.read_text() and "\\documentclass" not in fragment.read_text()
    compile_tex(doc)
    host = tmp_path / "host.tex"
    host.write_text(
        "\\documentclass{article}\n\\usepackage{amsmath,amssymb,tikz}\n\\usepackage[margin=1cm]{geometry}\n"
        "\\begin{document}\n\\resizebox{\\linewidth}{!}{\\input{step-fragment.tex}}\n\\end{document}\n"
    )
    compile_tex(host)


def test_tikz_cells_have_the_heat_map_colour_and_the_window_numbers(sample, tmp_path):
    model = sample("02-seed-2d-conv.json")
    doc, _ = export_tikz(model, 0, "backward", 6, tmp_path / "s.tex")
    source = doc.read_text()
    trace = trace_layer(model, 0, "backward")
    level = theme.nice_level(pass_max(trace, "dx_padded"))
    lut = theme.index_lut()
    value = trace.step(6).state.dx_padded[0, 1, 2]  # 0.02124, the strongest red of dA_prev
    r, g, b = (int(c) for c in lut[int(theme.colour_index(np.array([value]), level)[0])][:3])
    name = f"vc{r:02X}{g:02X}{b:02X}"
    assert f"\\definecolor{{{name}}}{{HTML}}{{{r:02X}{g:02X}{b:02X}}}" in source
    assert re.search(rf"\\fill\[{name}\][^\n]*\{{\$0\.02124\$\}}", source)


def test_latex_snapshot_compiles_with_cell_colours_and_hostile_text(tmp_path):
    model = loads(
        json.dumps(
            {
                "format": "visualconv/1",
                "name": HOSTILE.replace("\x07", ""),
                "description": HOSTILE.replace("\x07", ""),
                "input": [1, 2, 3],
                "layers": [{"type": "conv", "weight": [0.3, 0.5], "bias": 0.0}],
                "upstream": [-0.1, 0.2],
            }
        )
    )
    # A file's name may not hold control characters (refused at load); a model built in
    # code still can, and the LaTeX sinks must cope with it.
    model = dataclasses.replace(model, name=HOSTILE, description=HOSTILE)
    tex, _ = export_snapshot(model, 0, "backward", 1, tmp_path / "evil.tex")
    assert "\\cellcolor{vc" in tex.read_text()
    text = pdf_text(compile_tex(tex), 1)
    assert "input{/etc/hostname}" in text.replace(" ", "")  # printed, not run
    (deck,) = export_beamer(model, 0, "backward", tmp_path / "evil-deck.tex")
    assert pdf_pages(compile_tex(deck)) == 3
    doc, _ = export_tikz(model, 0, "backward", 1, tmp_path / "evil-tikz.tex")
    compile_tex(doc)


def test_latex_snapshot_of_every_layer_kind_compiles(sample, tmp_path):
    for name, layer in (("12-small-cnn-cross-entropy.json", 1), ("12-small-cnn-cross-entropy.json", 3)):
        tex, _ = export_snapshot(sample(name), layer, "backward", 2, tmp_path / f"l{layer}.tex")
        compile_tex(tex)


# ---------------------------------------------------------------------------- PowerPoint


def test_pptx_has_a_slide_per_step_whose_cells_hold_the_trace_numbers(sample, tmp_path):
    pptx = pytest.importorskip("pptx", reason="python-pptx is not installed (pip install 'visualconv[pptx]')")
    model = sample("02-seed-2d-conv.json")
    (path,) = export_pptx(model, 0, "backward", tmp_path / "deck.pptx", steps="0,6,16")
    deck = pptx.Presentation(str(path))
    assert len(deck.slides) == 3
    trace = trace_layer(model, 0, "backward")
    for slide, k in zip(deck.slides, (0, 6, 16), strict=True):
        state = trace.step(k).state
        cells = {}
        for shape in slide.shapes:
            match = re.fullmatch(r"(\w+):(\d+):(\d+),(\d+)", shape.name)
            if match:
                cells[(match[1], int(match[2]), int(match[3]), int(match[4]))] = shape.text_frame.text
        texts = {s.name: s.text_frame.text for s in slide.shapes if s.has_text_frame}
        assert f"overlay {k} of 16" in texts["caption"]
        for key, array in (
            ("dx", state.dx_padded[0]),
            ("dz", state.dz[0]),
            ("db", state.db[None, :]),
        ):
            for (i, j), value in np.ndenumerate(array):
                text = cells[(key, 0, i, j)].replace("≈", "")
                decimals = len(text.split(".")[1]) if "." in text else 0
                assert abs(float(text) - value) <= 0.5 * 10.0**-decimals + 1e-12, (k, key, i, j, text, value)
        for (f, c), tile in ((fc, state.dw[fc]) for fc in np.ndindex(state.dw.shape[:2])):
            for (i, j), value in np.ndenumerate(tile):
                text = cells[("dw", f * state.dw.shape[1] + c, i, j)]
                decimals = len(text.split(".")[1]) if "." in text else 0
                assert abs(float(text) - value) <= 0.5 * 10.0**-decimals + 1e-12
        equations = texts["equations"]
        assert equations.splitlines() == list(_explain(trace, k))


def _explain(trace, k):
    from visualconv.engine.explain import explain

    return explain(trace, trace.step(k)) or [""]


def test_pptx_with_hostile_text_opens(tmp_path):
    pptx = pytest.importorskip("pptx", reason="python-pptx is not installed (pip install 'visualconv[pptx]')")
    model = loads(
        json.dumps(
            {
                "format": "visualconv/1",
                "name": HOSTILE.replace("\x07", ""),
                "input": [1, 2, 3],
                "layers": [{"type": "conv", "weight": [0.3, 0.5]}],
                "upstream": [-0.1, 0.2],
            }
        )
    )
    (path,) = export_pptx(model, 0, "backward", tmp_path / "evil.pptx")
    deck = pptx.Presentation(str(path))
    title = next(s for s in deck.slides[0].shapes if s.name == "title")
    assert title.text_frame.text == HOSTILE.replace("\x07", "")


# ---------------------------------------------------------------------------- video


def _frame_size(model, layer, pass_name):
    from visualconv.export import render_snapshot_image

    image = render_snapshot_image(model, layer, pass_name, 0)
    return image.width(), image.height()


def test_mp4_decodes_to_the_steps_with_even_dimensions_and_a_held_last_frame(sample, tmp_path):
    pytest.importorskip("imageio", reason="imageio is not installed (pip install 'visualconv[video]')")
    pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg is not installed")
    from visualconv.export.video import hold_frames

    model = sample("01-seed-1d-conv.json")
    (path,) = export_animation(model, 0, "backward", tmp_path / "b.mp4", frame_ms=500)
    frames = _mp4_frames(path)
    assert len(frames) == 2 + hold_frames(500)  # steps 0, 1, then step 2 held 2.5 s
    assert hold_frames(500) == 5
    width, height = _frame_size(model, 0, "backward")
    h, w = frames[0].shape[:2]
    assert w % 2 == 0 and h % 2 == 0 and (w - width, h - height) in {(0, 0), (1, 0), (0, 1), (1, 1)}
    # the frames are the steps: the last ones equal, the first two differ
    assert np.abs(frames[-1].astype(int) - frames[-2].astype(int)).mean() < 1
    assert np.abs(frames[0].astype(int) - frames[1].astype(int)).max() > 50
    meta = _ffmpeg_meta(path)
    assert meta["codec"] == "h264" and meta["fps"] == pytest.approx(2.0)


def _mp4_frames(path):
    """Decode every frame with imageio-ffmpeg's ffmpeg, as RGB arrays."""
    import subprocess

    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    probe = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    w, h = (int(v) for v in re.search(r", (\d+)x(\d+)", probe.split("Video:")[1]).groups())
    raw = subprocess.run(
        [exe, "-loglevel", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return list(np.frombuffer(raw, dtype=np.uint8).reshape(-1, h, w, 3))


def _ffmpeg_meta(path):
    import subprocess

    import imageio_ffmpeg

    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr
    codec = re.search(r"Video: (\w+)", out)
    fps = re.search(r"([\d.]+) fps", out)
    return {"codec": codec.group(1) if codec else None, "fps": float(fps.group(1)) if fps else None}


def test_apng_has_one_frame_per_step_the_slide_size_and_exact_pixels(sample, tmp_path):
    model = sample("02-seed-2d-conv.json")
    (path,) = export_animation(model, 0, "backward", tmp_path / "b.apng", steps="0-3,16", frame_ms=400)
    from visualconv.export import snapshot_bytes

    with Image.open(path) as im:
        assert im.format == "PNG" and getattr(im, "is_animated", False)
        assert im.n_frames == 5
        durations = []
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info.get("duration"))
            frames.append(np.asarray(im.convert("RGB")))
    assert durations[:4] == [400] * 4 and durations[4] >= 2500
    for frame, k in zip(frames, (0, 1, 2, 3, 16), strict=True):
        with Image.open(io.BytesIO(snapshot_bytes(model, 0, "backward", k, ".png"))) as png:
            assert np.array_equal(frame, np.asarray(png.convert("RGB"))), k  # lossless, step k


def _nearest(rgb: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Each pixel's nearest palette colour (first on ties)."""
    codes = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    unique, inverse = np.unique(codes.ravel(), return_inverse=True)
    colours = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], axis=1)
    distance = ((colours[:, None, :] - palette[None, :, :].astype(np.int64)) ** 2).sum(axis=2)
    return palette[np.argmin(distance, axis=1)][inverse].reshape(rgb.shape)


def test_gif_frames_after_the_first_store_only_changes_but_decode_to_whole_steps(sample, tmp_path):
    model = sample("02-seed-2d-conv.json")
    (gif,) = export_animation(model, 0, "backward", tmp_path / "b.gif")
    (apng,) = export_animation(model, 0, "backward", tmp_path / "b.apng")
    with Image.open(gif) as g, Image.open(apng) as a:
        assert g.n_frames == a.n_frames == 17
        palette = np.asarray(g.getpalette()[: 3 * 255], dtype=np.int64).reshape(-1, 3)
        for i in range(17):
            g.seek(i)
            a.seek(i)
            exact = np.asarray(a.convert("RGB"))
            shown = np.asarray(g.convert("RGB"))
            # every pixel of step i in its nearest palette colour, however little the frame stored
            assert np.array_equal(shown, _nearest(exact, palette)), i
    assert gif.stat().st_size < apng.stat().st_size


def test_unknown_animation_format_and_missing_writer_are_clear(seed1d, tmp_path, monkeypatch):
    with pytest.raises(ModelError, match=r"\.gif, \.mp4, \.apng"):
        export_animation(seed1d, 0, "backward", tmp_path / "x.avi")
    import builtins

    real = builtins.__import__

    def no_ffmpeg(name, *args, **kwargs):
        if name == "imageio_ffmpeg":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ffmpeg)
    with pytest.raises(ModelError, match=r"visualconv\[video\]"):
        export_animation(seed1d, 0, "backward", tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()

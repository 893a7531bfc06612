"""Every snapshot format is produced, is valid, and holds the engine's numbers."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from PIL import Image

from visualconv.engine.model import gradients
from visualconv.engine.trace import trace_layer
from visualconv.export import export_snapshot, render_snapshot_image, snapshot_bytes, snapshot_figure
from visualconv.export.paint import FigurePainter

SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(data: bytes) -> list[str]:
    root = ET.fromstring(data)
    return [(t.text or "").strip() for t in root.iter(f"{SVG}text")]


def test_png_decodes_with_the_figure_size_times_the_scale(seed1d):
    fp = FigurePainter(snapshot_figure(seed1d, 0, "backward", 2))
    for scale in (1.0, 2.0):
        with Image.open(io.BytesIO(snapshot_bytes(seed1d, 0, "backward", 2, ".png", scale))) as im:
            assert im.format == "PNG"
            assert im.size == (round(fp.width * scale), round(fp.height * scale))
            im.load()


def test_clipboard_image_has_the_png_size(seed1d):
    image = render_snapshot_image(seed1d, 0, "backward", 1, scale=2.0)
    fp = FigurePainter(snapshot_figure(seed1d, 0, "backward", 1))
    assert (image.width(), image.height()) == (round(fp.width * 2), round(fp.height * 2))


def test_svg_is_vector_and_holds_the_seed_numbers_as_text(seed1d):
    data = snapshot_bytes(seed1d, 0, "backward", None, ".svg")
    root = ET.fromstring(data)
    assert root.tag == f"{SVG}svg"
    assert not list(root.iter(f"{SVG}image")), "cells must be rectangles, not a raster image"
    assert len(list(root.iter(f"{SVG}rect"))) >= 3 + 2 + 2 + 2 + 1 + 3
    texts = svg_texts(data)
    # the seed document: dW = [0.3, 0.4], db = 0.1, dA_prev = [-0.03, 0.01, 0.1]
    for number in ("0.3", "0.4", "-0.03", "0.01", "0.1"):
        assert number in texts
    assert "layer 0 (conv 1-D), backward pass, overlay 2 of 2" in texts
    assert any(t.startswith("overlay 2: dW += [2*0.2, 3*0.2] -> [0.3, 0.4]") for t in texts)


def test_pdf_is_one_page_fitted_to_the_figure(seed1d):
    data = snapshot_bytes(seed1d, 0, "backward", 2, ".pdf")
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) == 1
    box = re.search(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", data)
    assert box is not None
    fp = FigurePainter(snapshot_figure(seed1d, 0, "backward", 2))
    assert float(box.group(1)) == pytest.approx(fp.width, abs=1)
    assert float(box.group(2)) == pytest.approx(fp.height, abs=1)


def test_json_matches_the_engine(sample):
    model = sample("02-seed-2d-conv.json")
    record = json.loads(snapshot_bytes(model, 0, "backward", 7, ".json"))
    engine = gradients(model)["layers"][0]
    for key in (
        "pre_activation",
        "output",
        "grad_output",
        "grad_pre_activation",
        "grad_weight",
        "grad_bias",
        "grad_input",
    ):
        np.testing.assert_array_equal(np.array(record[key]), engine[key], err_msg=key)
    assert (record["index"], record["type"], record["pass"], record["step"], record["n"]) == (
        0,
        "conv",
        "backward",
        7,
        16,
    )
    step = trace_layer(model, 0, "backward").step(7)
    keys = ["dz", "done", "dw", "db", "dx_padded", "dx"]
    assert list(record["state"]) == keys
    for key in keys:
        np.testing.assert_array_equal(np.array(record["state"][key]), getattr(step.state, key), err_msg=key)
    assert record["overlay"]["position"] == [1, 2]
    assert record["values"]["delta"] == step.values.delta


def test_json_of_a_1d_layer_uses_canonical_shapes_and_the_seed_values(seed1d):
    record = json.loads(snapshot_bytes(seed1d, 0, "backward", None, ".json"))
    assert np.shape(record["state"]["dw"]) == np.shape(record["grad_weight"]) == (1, 1, 2)
    np.testing.assert_allclose(record["state"]["dw"], [[[0.3, 0.4]]], atol=1e-15)
    np.testing.assert_allclose(record["state"]["db"], [0.1], atol=1e-15)
    np.testing.assert_allclose(record["state"]["dx"], [[-0.03, 0.01, 0.1]], atol=1e-15)
    assert record["equation"][0] == "overlay 2: dW += [2*0.2, 3*0.2] -> [0.3, 0.4]"


def test_forward_only_model_exports_its_forward_values(tmp_path):
    from visualconv.modelfile import loads

    model = loads(
        '{"format": "visualconv/1", "name": "no backward", "input": [1, 2, 3], "dims": 1,'
        ' "layers": [{"type": "conv", "weight": [0.3, 0.5]}]}'
    )
    record = json.loads(snapshot_bytes(model, 0, "forward", 1, ".json"))
    assert record["output"] == [[1.3, 2.1]] or np.allclose(record["output"], [[1.3, 2.1]])
    assert "grad_weight" not in record
    from visualconv.engine.errors import ModelError

    with pytest.raises(ModelError, match=r"no backward pass|no 'upstream'"):
        export_snapshot(model, 0, "backward", None, tmp_path / "x.png")


def test_npz_holds_the_same_arrays_as_json(seed1d, tmp_path):
    (path,) = export_snapshot(seed1d, 0, "backward", 1, tmp_path / "s.npz")
    record = json.loads(snapshot_bytes(seed1d, 0, "backward", 1, ".json"))
    with np.load(path) as npz:
        np.testing.assert_array_equal(npz["state.dw"], record["state"]["dw"])
        np.testing.assert_array_equal(npz["grad_input"], record["grad_input"])
        assert int(npz["step"]) == 1
        assert str(npz["pass"]) == "backward"


def test_csv_folder_and_zip_have_one_file_per_matrix(seed1d, tmp_path):
    (folder,) = export_snapshot(seed1d, 0, "backward", 1, tmp_path / "snap.csv")
    assert folder == tmp_path / "snap" and folder.is_dir()
    dw = np.loadtxt(folder / "state_dw_0.csv", delimiter=",", ndmin=2)
    np.testing.assert_allclose(dw, [[-0.1, -0.2]])
    dx = np.loadtxt(folder / "state_dx.csv", delimiter=",", ndmin=2)
    np.testing.assert_allclose(dx, [[-0.03, -0.05, 0.0]])
    (archive,) = export_snapshot(seed1d, 0, "backward", 1, tmp_path / "snap.zip")
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == sorted(p.name for p in folder.iterdir())
        assert z.read("state_dx.csv").decode() == (folder / "state_dx.csv").read_text()


def test_latex_standalone_and_fragment_hold_the_matrices(seed1d, tmp_path):
    tex, fragment = export_snapshot(seed1d, 0, "backward", 2, tmp_path / "s.tex")
    assert fragment.name == "s-fragment.tex"
    text, body = tex.read_text(), fragment.read_text()
    assert re.search(r"\\documentclass(\[[^\]]*\])?\{standalone\}", text)
    assert "\\documentclass" not in body and body in text
    assert text.count("\\begin{bmatrix}") == 6  # A_prev, W, dZ, dW, db, dA_prev
    for number in ("0.3", "0.4", "-0.03", "0.01", "0.1", "0.5"):
        assert re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", body), number
    plain = re.sub(r"\\(cellcolor|color)\{vc[0-9A-F]{6}\}", "", body)
    assert "\\begin{bmatrix}\n\\mathbf{-0.03} & \\mathbf{0.01} & \\mathbf{0.1}\n\\end{bmatrix}" not in plain
    assert "\\begin{bmatrix}\n-0.03 & \\mathbf{0.01} & \\mathbf{0.1}\n\\end{bmatrix}" in plain
    # every cell carries its heat-map colour: dA_prev = [-0.03, 0.01, 0.1] on the level 0.1
    # of the window's colour bar, looked up in the window's own colour table
    from visualconv.app import theme

    lut = theme.index_lut()
    for value in (-0.03, 0.01, 0.1):
        r, g, b = (int(c) for c in lut[int(theme.colour_index(np.array([value]), 0.1)[0])][:3])
        code = f"{r:02X}{g:02X}{b:02X}"
        assert f"\\definecolor{{vc{code}}}{{HTML}}{{{code}}}" in body, value
        assert f"\\cellcolor{{vc{code}}}" in body, value


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles_on_its_own(sample, tmp_path):
    model = sample("09-stride-padding.json")
    (tex, _) = export_snapshot(model, 0, "backward", 4, tmp_path / "pad.tex")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "pad.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("suffix", [".png", ".svg", ".json", ".tex", ".zip"])
def test_the_same_state_gives_the_same_bytes(sample, suffix):
    model = sample("06-max-pool-overlapping.json")
    first = snapshot_bytes(model, 0, "backward", 4, suffix, 1.5)
    second = snapshot_bytes(model, 0, "backward", 4, suffix, 1.5)
    assert first == second


def test_unknown_extension_is_a_clear_error(seed1d, tmp_path):
    from visualconv.engine.errors import ModelError

    with pytest.raises(ModelError, match=r"\.png, \.svg, \.pdf"):
        export_snapshot(seed1d, 0, "backward", 1, tmp_path / "x.bmp")
    with pytest.raises(ModelError, match=r"step 3: this pass has steps 0\.\.2"):
        export_snapshot(seed1d, 0, "backward", 3, tmp_path / "x.png")
    with pytest.raises(ModelError, match=r"layer 1: the model has layers 0\.\.0"):
        export_snapshot(seed1d, 1, "backward", 1, tmp_path / "x.png")

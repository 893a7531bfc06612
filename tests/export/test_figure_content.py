"""What a snapshot shows, checked on the figure data and on the rendered pixels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visualconv.engine.trace import trace_layer
from visualconv.export import snapshot_bytes, snapshot_figure
from visualconv.export.figure import MAX_NUMBERED, build_figure
from visualconv.export.latex import math_line


def panel(figure, key):
    return next(p for row in figure.panels for p in row if p.key == key)


def test_conv_forward_hides_outputs_not_computed_yet(seed1d):
    figure = snapshot_figure(seed1d, 0, "forward", 1)
    z = panel(figure, "z").grids[0]
    assert z.shown.tolist() == [[True, False]]
    assert z.outline.tolist() == [[True, False]]
    x = panel(figure, "x").grids[0]
    assert x.outline.tolist() == [[True, True, False]]
    assert "layer 0 (conv 1-D), forward pass, overlay 1 of 2" == figure.caption


def test_padding_is_muted_and_the_window_sits_in_the_padded_input(sample):
    model = sample("09-stride-padding.json")
    figure = snapshot_figure(model, 0, "backward", 1)
    x = panel(figure, "x").grids[0]
    assert x.shape == (7, 7)
    assert x.muted[0].all() and x.muted[:, 0].all() and not x.muted[1:6, 1:6].any()
    assert x.outline[0:3, 0:3].all() and x.outline.sum() == 9
    assert panel(figure, "dx").title == "dA_pad"


def test_dilated_window_outlines_only_the_cells_it_reads(sample):
    model = sample("10-dilation.json")
    figure = snapshot_figure(model, 0, "backward", 1)
    outline = panel(figure, "x").grids[0].outline
    assert np.argwhere(outline).tolist() == [[0, 0], [0, 2], [2, 0], [2, 2]]


def test_max_pool_marks_the_recorded_maximum_and_routes_there(sample):
    model = sample("06-max-pool-overlapping.json")
    trace = trace_layer(model, 0, "backward")
    figure = build_figure(model, 0, trace, 4)
    step = trace.step(4)
    arg = int(step.values.argmax)
    ov = step.overlay
    r, c = ov.rows.start + arg // 2, ov.cols.start + arg % 2
    for key in ("x", "dx"):
        marks = panel(figure, key).grids[0].marks
        assert np.argwhere(marks).tolist() == [[r, c]]
    assert panel(figure, "dx").grids[0].values[r, c] == pytest.approx(step.state.dx[0, r, c])


def test_large_grids_drop_the_numbers(sample):
    model = sample("12-small-cnn-cross-entropy.json")
    figure = snapshot_figure(model, 0, "backward", 3)
    assert all(max(g.shape) <= MAX_NUMBERED for g in panel(figure, "x").grids)
    assert panel(figure, "x").numbered


@pytest.mark.parametrize(
    ("name", "layer", "pass_name", "step"),
    [
        ("01-seed-1d-conv.json", 0, "forward", 2),
        ("02-seed-2d-conv.json", 0, "backward", 8),
        ("04-multichannel-activation.json", 0, "backward", 10),
        ("09-stride-padding.json", 0, "backward", 4),
        ("12-small-cnn-cross-entropy.json", 4, "backward", 2),
        ("12-small-cnn-cross-entropy.json", 3, "forward", 5),
    ],
)
def test_nothing_is_clipped(sample, name, layer, pass_name, step):
    """The figure keeps a white margin on every side: no text or cell runs off the image."""
    data = snapshot_bytes(sample(name), layer, pass_name, step, ".png")
    with Image.open(io.BytesIO(data)) as im:
        pixels = np.asarray(im.convert("L"))
    border = 12
    for edge in (pixels[:border], pixels[-border:], pixels[:, :border], pixels[:, -border:]):
        assert edge.min() == 255


def test_pdf_has_no_raster_images(seed1d):
    data = snapshot_bytes(seed1d, 0, "backward", 2, ".pdf")
    assert b"/Subtype /Image" not in data and b"/Subtype/Image" not in data


def test_equation_lines_become_latex_math():
    assert math_line("overlay 1: dW += [1*-0.1, 2*-0.1] -> [-0.1, -0.2]") == (
        r"\text{overlay 1}{:}\quad dW \mathrel{+}= [1 \cdot (-0.1) ,\allowbreak 2 \cdot (-0.1) ]"
        r"\rightarrow [-0.1 ,\allowbreak -0.2 ]"
    )
    # a negative term after a plus gets parentheses too; a value after += or = does not
    assert math_line("z[0] = 0.5*-0.37 + -0.4*0.33 = -0.317") == (
        r"z [0 ]=0.5 \cdot (-0.37) +(-0.4) \cdot 0.33 =-0.317"
    )
    line = math_line("closed form: dA_prev = dZ * rot180(W) (full convolution) = [-0.03, 0.01, 0.1] ✓")
    assert r"dA_{\mathrm{prev}}" in line and r"\ast" in line and r"\checkmark" in line
    assert r"\text{full convolution}" in line


def _every_layer_and_pass():
    from visualconv.modelfile import load_model

    samples = Path(__file__).resolve().parents[2] / "sample_models"
    for path in sorted(samples.glob("*.json")):
        model = load_model(path)
        passes = ("forward", "backward") if model.has_backward else ("forward",)
        for index in range(len(model.layers)):
            for pass_name in passes:
                yield pytest.param(path.name, index, pass_name, id=f"{path.stem}-{index}-{pass_name}")


@pytest.mark.parametrize(("name", "layer", "pass_name"), list(_every_layer_and_pass()))
def test_every_sample_layer_and_pass_exports(sample, name, layer, pass_name):
    model = sample(name)
    with Image.open(io.BytesIO(snapshot_bytes(model, layer, pass_name, None, ".png"))) as im:
        assert im.width > 400 and im.height > 200
    assert b"\\begin{bmatrix}" in snapshot_bytes(model, layer, pass_name, 0, ".tex")
    assert b'"step": 0' in snapshot_bytes(model, layer, pass_name, 0, ".json")

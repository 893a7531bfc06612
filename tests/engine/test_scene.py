"""The scene of a step: one Qt-free description that the window and the printed figures draw."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from visualconv.engine.scene import TileMap, pass_scene
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import load_model

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"


@pytest.fixture
def sample():
    return lambda name: load_model(SAMPLES / name)


@pytest.fixture
def seed1d():
    return load_model(SAMPLES / "01-seed-1d-conv.json")


def every_pass():
    for path in sorted(SAMPLES.glob("*.json")):
        model = load_model(path)
        passes = ("forward", "backward") if model.has_backward else ("forward",)
        for index, pass_name in itertools.product(range(len(model.layers)), passes):
            yield pytest.param(path.name, index, pass_name, id=f"{path.stem}-{index}-{pass_name}")


def test_the_scene_needs_no_qt():
    code = (
        "import sys, visualconv.engine.scene\n"
        "print(any(m.startswith(('PyQt6', 'pyqtgraph')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("name", "index", "pass_name"), list(every_pass()))
def test_every_panel_is_read_only_and_fills_in_row_major_order(name, index, pass_name):
    trace = trace_layer(load_model(SAMPLES / name), index, pass_name)
    scenes = pass_scene(trace)
    for k in sorted({0, 1, trace.n // 2, trace.n}):
        scene = scenes.step(k)
        assert {spec.role for spec in scene.specs} == set(scene.panels)
        for role, state in scene.panels.items():
            assert not state.values.flags.writeable, role
            if state.prefix is not None:  # forward outputs: exactly the outputs computed so far
                assert np.array_equal(
                    state.shown_mask(),
                    np.asarray(trace.step(k).state.done).reshape(-1).reshape(state.values.shape),
                )
            for cells in state.outlines.values():
                tiles = scene.spec(role).tiles
                assert all(0 <= t < tiles.count for t, _, _ in cells)


def test_the_seed_2d_gradient_is_in_the_dw_panel(sample):
    scene = pass_scene(trace_layer(sample("02-seed-2d-conv.json"), 0, "backward")).step(16)
    assert scene.panels["dw"].values[0, 0, 0, 1] == pytest.approx(0.094061, abs=1e-12)  # the seed's number
    assert scene.lines[0].startswith("overlay 16:")


def test_the_level_of_a_step_is_its_largest_magnitude_shown(seed1d):
    trace = trace_layer(seed1d, 0, "forward")
    scenes = pass_scene(trace)
    z = np.asarray(trace.z).ravel()
    assert scenes.step(0).panels["z"].level == 0.0  # nothing computed yet
    for k in range(1, trace.n + 1):
        assert scenes.step(k).panels["z"].level == max(abs(v) for v in z[:k])
    backward = trace_layer(seed1d, 0, "backward")
    for k in range(backward.n + 1):
        dx = np.asarray(backward.step(k).state.dx_padded)
        assert pass_scene(backward).step(k).panels["dx"].level == float(np.max(np.abs(dx)))


def test_fixed_limits_leave_out_the_padding_border(sample):
    trace = trace_layer(sample("09-stride-padding.json"), 0, "backward")
    cropped = max(float(np.max(np.abs(trace.step(k).state.dx))) for k in range(trace.n + 1))
    limits = pass_scene(trace).limits()
    assert limits["dx"] == pytest.approx(cropped, abs=0)
    final = np.asarray(trace.step(trace.n).state.dw)
    assert limits["dw"] >= float(np.max(np.abs(final)))


def test_the_legend_names_the_marks_the_pass_uses(sample):
    padded = pass_scene(trace_layer(sample("09-stride-padding.json"), 0, "forward")).legend
    assert "grey: zero padding" in padded and "blank: not computed yet" in padded
    pooled = pass_scene(trace_layer(sample("05-max-pool-backward.json"), 0, "backward")).legend
    assert any("recorded maximum" in item for item in pooled) and "blank: not computed yet" not in pooled


def test_the_max_pool_window_marks_the_maximum_and_print_outlines_the_window(sample):
    trace = trace_layer(sample("06-max-pool-overlapping.json"), 0, "backward")
    state = pass_scene(trace).step(4).panels["dx"]
    ov = trace.step(4).overlay
    window = {
        (ov.channel, r, c)
        for r in range(ov.rows.start, ov.rows.stop)
        for c in range(ov.cols.start, ov.cols.stop)
    }
    x = np.asarray(trace.x)[ov.channel, ov.rows, ov.cols]
    r, c = np.unravel_index(int(np.argmax(x)), x.shape)
    assert state.outlines["changed"] == ((ov.channel, ov.rows.start + int(r), ov.cols.start + int(c)),)
    assert set(state.printed_outline) == window
    assert state.printed_marks == state.outlines["changed"]


@pytest.mark.parametrize("shape", [(5,), (40,), (3, 4), (2, 3, 4), (2, 3, 2, 2), (1, 1, 7)])
def test_tile_cells_and_array_indices_are_inverse(shape):
    tiles = TileMap(shape)
    for index in np.ndindex(*shape):
        cell = tiles.cell(index)
        assert tiles.index(cell) == index
        assert tiles.mask([cell]).sum() == 1 and tiles.mask([cell])[index]


def test_the_window_fixed_scale_counts_the_padding_border_and_print_does_not(sample):
    trace = trace_layer(sample("11-1d-stride-padding.json"), 0, "backward")
    steps = [trace.step(k).state for k in range(trace.n + 1)]
    with_border = max(float(np.max(np.abs(s.dx_padded))) for s in steps)
    cropped = max(float(np.max(np.abs(s.dx))) for s in steps)
    assert with_border > cropped  # this sample's border collects more than what is kept
    scenes = pass_scene(trace)
    assert scenes.peak_levels()["dx"] == with_border
    assert scenes.limits()["dx"] == cropped


def test_widest_cells_are_chosen_per_variant_of_fewer_decimals():
    """Seed 2-D forward Z: -0.1011 is the widest at 4 decimals, but with 2 fewer another value wins."""
    from visualconv.engine.numbers import DEFAULT
    from visualconv.engine.scene import pass_scene
    from visualconv.engine.trace import trace_layer
    from visualconv.modelfile import load_model

    model = load_model(Path(__file__).resolve().parents[2] / "sample_models" / "02-seed-2d-conv.json")
    scenes = pass_scene(trace_layer(model, 0, "forward"))
    z = np.asarray(scenes.step(16).panels["z"].values).ravel()
    (values,) = scenes.widest_cells({"z": 4}, variants=3).values()
    for v, value in enumerate(values):
        longest = max(len(DEFAULT.window_cell(float(x), 4 - v)) for x in z)  # by brute force over the cells
        assert len(DEFAULT.window_cell(value, 4 - v)) == longest

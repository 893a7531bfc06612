"""Linked cells: the terms of each sum are exactly the pairs a plain loop over the pass uses.

The oracle is the seeds' procedure written as loops: for every overlay (f, i, j) the
window of the padded input times dZ[f, i, j] goes into dW[f], W[f] times dZ[f, i, j]
into the window of dA_prev; a pool delta goes to its window's maximum or is spread.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SAMPLES

from visualconv.engine.layers import ConvLayer, DenseLayer, FlattenLayer, PoolLayer
from visualconv.engine.links import cell_links, name_of
from visualconv.engine.model import gradients, make_model
from visualconv.engine.trace import trace_layer
from visualconv.modelfile import load_model

SEED_1D = next(p for p in SAMPLES if p.name.startswith("01-"))


def conv_model(rng, dims, c_in, c_out, size, k, s, p, d, activation="identity"):
    pair = (lambda v: (1, v)) if dims == 1 else (lambda v: (v, v))
    shape = (c_in, size) if dims == 1 else (c_in, size, size + 1)
    wshape = (c_out, c_in, k) if dims == 1 else (c_out, c_in, k, k)
    layer = ConvLayer(
        np.round(rng.normal(size=wshape), 2),
        np.round(rng.normal(size=c_out), 2),
        pair(s),
        (0, p) if dims == 1 else (p, p),
        pair(d),
        activation,
        dims,
    )
    out = layer.output_shape(shape)
    return make_model(
        "t",
        np.round(rng.normal(size=shape), 2),
        [layer],
        dims=dims,
        upstream=np.round(rng.normal(size=out), 2),
    )


def hand_overlays(trace):
    """Every overlay's (f, i, j) and its window cells (c, y, x) -> kernel cell (f, c, a, b), by loops."""
    layer = trace.layer
    c_out, c_in, kh, kw = trace.weight.shape
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    _, oh, ow = trace.z.shape
    for f in range(c_out):
        for i in range(oh):
            for j in range(ow):
                pairs = []
                for c in range(c_in):
                    for a in range(kh):
                        for b in range(kw):
                            pairs.append(((c, i * sh + a * dh, j * sw + b * dw), (f, c, a, b)))
                yield (f, i, j), pairs


CASES = [
    (1, 1, 1, 3, 2, 1, 0, 1),
    (1, 2, 2, 7, 3, 2, 1, 1),
    (1, 1, 2, 9, 2, 3, 2, 2),
    (2, 1, 1, 4, 2, 1, 0, 1),
    (2, 2, 3, 6, 3, 2, 1, 1),
    (2, 2, 2, 7, 2, 1, 1, 2),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv_dw_cells_are_the_pairs_its_sum_uses(case):
    """dW[f, c, a, b]: every (input, dZ) pair of the loop, no other, and the loop's sum."""
    model = conv_model(np.random.default_rng(sum(case)), *case)
    trace = trace_layer(model, 0, "backward")
    dz = trace.grad_pre_activation
    expected_cells: dict = {}
    expected_sum: dict = {}
    for out, pairs in hand_overlays(trace):
        for x_cell, w_cell in pairs:
            expected_cells.setdefault(w_cell, set()).add((x_cell, out))
            expected_sum[w_cell] = expected_sum.get(w_cell, 0.0) + trace.x_padded[x_cell] * dz[out]
    for w_cell, pairs in expected_cells.items():
        links = cell_links(trace, "dw", w_cell)
        used = {(t.cells[0][1], t.cells[1][1]) for t in links.terms}
        assert used == pairs
        assert set(links.cells["input"]) == {p[0] for p in pairs}
        assert set(links.cells["dz"]) == {p[1] for p in pairs}
        assert links.value == pytest.approx(expected_sum[w_cell], abs=1e-12)
    np.testing.assert_allclose(
        [[cell_links(trace, "dw", w).value for w in sorted(expected_sum)]],
        [
            [
                gradients(model)["layers"][0]["grad_weight"].reshape(trace.weight.shape)[w]
                for w in sorted(expected_sum)
            ]
        ],
        atol=1e-12,
    )


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv_dx_cells_are_the_weights_and_deltas_that_reached_it(case):
    """dA_pad[c, y, x]: the (W, dZ) pairs of every window that covers the cell."""
    model = conv_model(np.random.default_rng(7 + sum(case)), *case)
    trace = trace_layer(model, 0, "backward")
    dz = trace.grad_pre_activation
    expected: dict = {}
    total: dict = {}
    for out, pairs in hand_overlays(trace):
        for x_cell, w_cell in pairs:
            expected.setdefault(x_cell, set()).add((w_cell, out))
            total[x_cell] = total.get(x_cell, 0.0) + trace.weight[w_cell] * dz[out]
    for x_cell in np.ndindex(trace.x_padded.shape):
        links = cell_links(trace, "dx", x_cell)
        used = {(t.cells[0][1], t.cells[1][1]) for t in links.terms}
        assert used == expected.get(x_cell, set())
        assert links.value == pytest.approx(total.get(x_cell, 0.0), abs=1e-12)
    # The overlays that add the terms are the ones that touch the cell, in order.
    cell = max(expected, key=lambda c: len(expected[c]))
    overlays = [t.overlay for t in cell_links(trace, "dx", cell).terms]
    assert overlays == sorted(overlays)
    assert set(overlays) == set(trace.affected_by_input(*cell))


@pytest.mark.parametrize("case", CASES[:3], ids=str)
def test_conv_output_cell_links_its_window_and_kernel(case):
    """Forward: z[f, i, j] links the window cells and W[f]; its sum is the overlay's z."""
    model = conv_model(np.random.default_rng(3), *case)
    trace = trace_layer(model, 0, "forward")
    for out, pairs in hand_overlays(trace):
        links = cell_links(trace, "z", out)
        assert set(links.cells["input"]) == {p[0] for p in pairs}
        assert set(links.cells["kernel"]) == {p[1] for p in pairs}
        assert links.cells["bias"] == ((out[0],),)
        assert links.value == pytest.approx(trace.z[out], abs=1e-12)


def test_seed_1d_sums_read_like_the_seed_document():
    """The seed's numbers, term by term."""
    model = load_model(SEED_1D)
    back = trace_layer(model, 0, "backward")
    assert cell_links(back, "dw", (0, 0, 0, 0)).text == "dW[0] = 1*-0.1 + 2*0.2 = 0.3"
    assert cell_links(back, "dw", (0, 0, 0, 1)).text == "dW[1] = 2*-0.1 + 3*0.2 = 0.4"
    assert cell_links(back, "db", (0,)).text == "db[0] = -0.1 + 0.2 = 0.1"
    assert cell_links(back, "dx", (0, 0, 0)).text == "dA_prev[0] = 0.3*-0.1 = -0.03"
    assert cell_links(back, "dx", (0, 0, 2)).text == "dA_prev[2] = 0.5*0.2 = 0.1"
    forward = trace_layer(model, 0, "forward")
    assert cell_links(forward, "z", (0, 0, 0)).text == "z[0] = 1*0.3 + 2*0.5 + 0 = 1.3"


def test_long_sums_are_shortened_but_link_every_cell():
    rng = np.random.default_rng(0)
    model = conv_model(rng, 2, 1, 1, 8, 2, 1, 0, 1)
    trace = trace_layer(model, 0, "backward")
    links = cell_links(trace, "dw", (0, 0, 0, 0))
    assert len(links.terms) == 7 * 8
    assert "(40 more terms)" in links.text
    assert len(links.cells["dz"]) == 56


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("size_stride", [(2, 2), (3, 2), (2, 1)])
def test_pool_dx_names_the_windows_its_delta_came_from(mode, size_stride):
    """dA_prev[c, y, x] of a pool: the dY of each window that routed to it (max) or covers it (avg)."""
    size, stride = size_stride
    rng = np.random.default_rng(size * 10 + stride)
    x = np.round(rng.normal(size=(2, 5, 6)), 1)  # rounding makes ties: the first maximum wins
    layer = PoolLayer(mode, (size, size), (stride, stride), 2)
    out = layer.output_shape(x.shape)
    model = make_model("p", x, [layer], upstream=np.round(rng.normal(size=out), 2))
    trace = trace_layer(model, 0, "backward")
    expected: dict = {}
    total = np.zeros(x.shape)
    for c in range(out[0]):
        for i in range(out[1]):
            for j in range(out[2]):
                window = x[c, i * stride : i * stride + size, j * stride : j * stride + size]
                delta = model.upstream[c, i, j]
                if mode == "max":
                    a, b = divmod(int(np.argmax(window)), size)  # first maximum, row-major
                    targets = [(c, i * stride + a, j * stride + b)]
                    share = delta
                else:
                    targets = [(c, i * stride + a, j * stride + b) for a in range(size) for b in range(size)]
                    share = delta / size**2
                for t in targets:
                    expected.setdefault(t, set()).add((c, i, j))
                    total[t] += share
    for cell in np.ndindex(x.shape):
        links = cell_links(trace, "dx", cell)
        assert set(links.cells.get("dz", ())) == expected.get(cell, set())
        assert links.value == pytest.approx(total[cell], abs=1e-12)
        for source in expected.get(cell, ()):
            forward = cell_links(trace, "dz", source)
            assert cell in forward.cells["dx"]


def test_dense_and_flatten_links():
    rng = np.random.default_rng(5)
    x = np.round(rng.normal(size=(2, 2, 2)), 2)
    dense = DenseLayer(np.round(rng.normal(size=(3, 8)), 2), np.round(rng.normal(size=3), 2))
    model = make_model("d", x, [FlattenLayer(), dense], upstream=np.round(rng.normal(size=3), 2))
    back = trace_layer(model, 1, "backward")
    w, dz = dense.weight, back.grad_pre_activation
    for q in range(8):
        links = cell_links(back, "dx", (q,))
        assert set(links.cells["kernel"]) == {(o, q) for o in range(3)}
        assert links.value == pytest.approx(sum(w[o, q] * dz[o] for o in range(3)))
    links = cell_links(back, "dw", (2, 5))
    assert links.cells == {"input": ((5,),), "dz": ((2,),)}
    assert links.value == pytest.approx(back.x[5] * dz[2])
    forward = trace_layer(model, 1, "forward")
    assert cell_links(forward, "z", (1,)).value == pytest.approx(forward.z[1])
    flat = trace_layer(model, 0, "backward")
    assert cell_links(flat, "dz", (5,)).cells == {"dx": ((1, 0, 1),)}
    assert cell_links(flat, "dx", (1, 0, 1)).cells == {"dz": ((5,),)}


def test_names_and_out_of_range():
    model = conv_model(np.random.default_rng(1), 2, 2, 2, 4, 2, 1, 1, 1)
    trace = trace_layer(model, 0, "backward")
    assert name_of(trace, "input", (1, 0, 2)) == "A_pad[1, 0, 2]"
    assert name_of(trace, "dw", (1, 0, 1, 1)) == "dW[1, 0, 1, 1]"
    with pytest.raises(IndexError):
        cell_links(trace, "dw", (2, 0, 0, 0))
    assert cell_links(trace, "z", (0, 0, 0)) is None  # no forward sums in a backward trace


def test_a_weight_and_a_bias_link_every_output_they_feed():
    model = conv_model(np.random.default_rng(2), 2, 2, 2, 5, 2, 2, 1, 1)
    forward = trace_layer(model, 0, "forward")
    backward = trace_layer(model, 0, "backward")
    for out, pairs in hand_overlays(forward):
        for x_cell, w_cell in pairs:
            links = cell_links(forward, "kernel", w_cell)
            assert out in links.cells["z"] and x_cell in links.cells["input"]
            assert "dx" not in links.cells
            back = cell_links(backward, "kernel", w_cell)
            assert out in back.cells["dz"] and x_cell in back.cells["dx"] and back.cells["dw"] == (w_cell,)
            x_links = cell_links(forward, "input", x_cell)
            assert out in x_links.cells["z"] and w_cell in x_links.cells["kernel"]
    _, oh, ow = forward.z.shape
    assert set(cell_links(forward, "bias", (1,)).cells["z"]) == {
        (1, i, j) for i in range(oh) for j in range(ow)
    }

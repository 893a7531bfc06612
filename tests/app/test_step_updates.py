"""A step repaints only what it changed: counts of updated cells and items, never times.

One backward overlay of a conv layer changes one output delta's window: a kh x kw block of
dA_prev in every input channel, the kernel gradient of one filter and one bias entry. The
panels count what they update (``TensorPanel.counts``); these tests hold a step on a
many-channel layer to those counts. The colours shown are checked against the engine's own
step (its values are tested against loop twins and PyTorch elsewhere), and the picture
built up by partial repaints against a full repaint of the same step.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PyQt6.QtCore import QCoreApplication, QEvent, QObject, QRectF
from PyQt6.QtGui import QPainterPath, QPen
from PyQt6.QtWidgets import QApplication, QGraphicsPathItem

from visualconv.app import theme
from visualconv.app.session import Session
from visualconv.app.widgets.layer_view import LayerView
from visualconv.app.widgets.tensor_panel import OutlineItem, cells_differ, tiles_that_differ
from visualconv.engine.layers import ConvLayer
from visualconv.engine.model import make_model

C_IN, C_OUT, SIZE, K = 8, 6, 20, 3


def conv_model(c_in=C_IN, c_out=C_OUT, size=SIZE):
    rng = np.random.default_rng(21)
    out = size - K + 1
    return make_model(
        "many planes",
        np.round(rng.uniform(-1, 1, (c_in, size, size)), 2),
        [ConvLayer(weight=np.round(rng.uniform(-1, 1, (c_out, c_in, K, K)), 2), bias=np.zeros(c_out))],
        upstream=np.round(rng.uniform(-1, 1, (c_out, out, out)), 2),
    )


@pytest.fixture
def shown(qtbot):
    session = Session()
    view = LayerView(session)
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view, timeout=60_000)
    return session, view


class PaintCounter(QObject):
    """Counts the paint events of a widget that cover only part of it."""

    def __init__(self):
        super().__init__()
        self.partial = 0

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and event.region().boundingRect() != watched.rect():
            self.partial += 1
        return False


def settle(rounds=6):
    """Deliver the queued scene updates and the repaints they post (a few event-loop rounds)."""
    for _ in range(rounds):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


def reset_counts(view):
    for panel in view.panels.values():
        panel.counts.clear()


def expected_colours(panel, values):
    """Colour indices of a (T, H, W) array at the panel's level (0 for NaN)."""
    return np.stack([theme.colour_index(tile, panel.level) for tile in values])


def shown_colours(panel):
    return np.stack([panel.tile_colours(t) for t in range(panel.geometry.count)])


def test_a_next_step_on_a_many_channel_layer_updates_only_the_changed_cells(shown):
    session, view = shown
    session.set_model(conv_model(), pass_name="backward")
    session.set_step(session.n // 3 + 5)  # inside a filter, away from its first overlay
    QApplication.processEvents()
    reset_counts(view)

    session.next()

    assert session.last_changes.step and not session.last_changes.trace
    step = session.current_step()
    f = step.overlay.channel
    counts = {role: dict(panel.counts) for role, panel in view.panels.items()}
    window = C_IN * K * K
    # dA_prev: one window in every input channel, not C_IN planes of SIZE x SIZE
    assert counts["dx"].get("recoloured cells") == window
    # dW: the kernel gradient of filter f only (C_IN tiles of K x K out of C_OUT * C_IN)
    assert counts["dw"].get("recoloured cells") == window
    assert counts["dw"].get("renumbered tiles") == C_IN
    assert counts["db"].get("recoloured cells") == 1
    # operands do not change: nothing recoloured; the window outline moves in each input channel
    assert "recoloured cells" not in counts["input"]
    assert counts["input"].get("outline items") == C_IN
    assert counts["kernel"] == {}
    assert "recoloured cells" not in counts["dz"]
    assert counts["dz"].get("outline items") == 1  # the current delta
    # and the cells drawn are the engine's values of this step
    dx_panel, dw_panel = view.panels["dx"], view.panels["dw"]
    assert np.array_equal(shown_colours(dx_panel), expected_colours(dx_panel, step.state.dx))
    dw = step.state.dw.reshape(C_OUT * C_IN, K, K)
    assert np.array_equal(shown_colours(dw_panel), expected_colours(dw_panel, dw))
    assert f == (session.step - 1) // ((SIZE - K + 1) ** 2)


def test_a_jump_redraws_the_cells_that_differ_and_shows_the_engines_values(shown):
    session, view = shown
    session.set_model(conv_model(), pass_name="backward")
    QApplication.processEvents()
    for k in (7, session.n - 3, 40, 41, 40, session.n // 2):
        session.set_step(k)
        step = session.current_step()
        dw = step.state.dw.reshape(C_OUT * C_IN, K, K)  # many small tiles: redrawn in one pass
        for role, values in (("dx", step.state.dx), ("db", step.state.db[None, None, :]), ("dw", dw)):
            panel = view.panels[role]
            assert np.array_equal(shown_colours(panel), expected_colours(panel, values)), (role, k)


def test_a_jump_within_a_filter_recolours_the_boxes_of_the_cells_that_differ(shown):
    """A jump of many overlays inside one filter: dW changes in that filter's tiles only, dA_prev in
    every input channel; each tile recolours the box around its differing cells, counted."""
    session, view = shown
    session.set_model(conv_model(), pass_name="backward")
    per_filter = (SIZE - K + 1) ** 2
    start = 2 * per_filter + 10
    session.set_step(start)
    QApplication.processEvents()
    before = session.current_step()
    reset_counts(view)
    session.set_step(start + 3 * (SIZE - K + 1) + 4)  # three rows and four overlays on, not a neighbour
    after = session.current_step()
    for role, old, new in (
        ("dx", before.state.dx, after.state.dx),
        ("dw", before.state.dw.reshape(-1, K, K), after.state.dw.reshape(-1, K, K)),
    ):
        boxes, tiles = 0, 0
        for t in range(len(new)):
            differ = ~((new[t] == old[t]) | (np.isnan(new[t]) & np.isnan(old[t])))
            if differ.any():
                rows, cols = np.flatnonzero(differ.any(axis=1)), np.flatnonzero(differ.any(axis=0))
                boxes += (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
                tiles += 1
        assert tiles == C_IN  # one filter's tiles of dW, every input channel of dA_prev
        panel = view.panels[role]
        assert panel.counts.get("recoloured cells") == boxes, role
        assert np.array_equal(shown_colours(panel), expected_colours(panel, new)), role
    assert view.panels["dw"].counts.get("renumbered tiles") == C_IN


@settings(max_examples=40)
@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 14), st.integers(1, 14)),
    seed=st.integers(0, 2**32 - 1),
    changes=st.integers(0, 6),
)
def test_tiles_that_differ_are_those_with_a_cell_that_differs(shape, seed, changes):
    """The sampled comparison finds the same tiles as comparing every cell (NaN, -0.0 included)."""
    rng = np.random.default_rng(seed)
    old = rng.normal(size=shape)
    old.reshape(-1)[rng.integers(0, old.size, 3)] = np.nan
    new = old.copy()
    for _ in range(changes):  # one cell each: often none of the sampled ones
        cell = tuple(int(rng.integers(0, n)) for n in shape)
        new[cell] = rng.choice([np.nan, -0.0, 0.0, rng.normal()])
    expected = [t for t in range(shape[0]) if cells_differ(new[t], old[t]).any()]
    assert tiles_that_differ(new, old).tolist() == expected


def test_the_image_asks_each_pixel_for_the_colour_of_the_cell_under_it(shown):
    """The picture's pixel colours, from the cached cell indices, are each pixel's own cell's (a loop)."""
    session, view = shown
    session.set_model(conv_model(3, 4, 12), pass_name="backward")
    for k in (30, 200, 201, 202, 201):  # a jump recolours with the cells' indices found before; then steps
        session.set_step(k)
        settle()
        for role in ("dx", "dw", "input"):
            panel = view.panels[role]
            image, geometry = panel._image, panel.geometry
            rows, cols = image.rows, image.cols
            assert len(rows) and len(cols)
            kept = panel._index_cache  # the whole picture's indices (a step's blocks do not replace them)
            assert kept is not None and np.array_equal(kept[1], rows) and np.array_equal(kept[2], cols)
            colours = panel._cell_colours(rows, cols)  # the whole picture's, as the image asks
            some_rows, some_cols = range(0, len(rows), 7), range(0, len(cols), 5)
            expected = np.zeros((len(some_rows), len(some_cols)), dtype=np.uint8)
            for a, i in enumerate(some_rows):
                for b, j in enumerate(some_cols):
                    cell = geometry.locate(cols[j] + 0.5, rows[i] + 0.5)
                    if cell is not None:
                        expected[a, b] = theme.colour_index(panel.values[cell][None], panel.level)[0]
            assert np.array_equal(colours[::7, ::5], expected), (role, k)
            # and the picture drawn, its changed blocks redone from the kept indices, is those colours
            assert np.array_equal(image._device, image._table[colours]), (role, k)


def test_a_forward_step_recolours_one_output_cell(shown):
    """The output panel fills up cell by cell (row-major); one step draws one cell."""
    session, view = shown
    session.set_model(conv_model(), pass_name="forward")
    session.set_step(25)
    QApplication.processEvents()
    reset_counts(view)
    session.next()
    recoloured = {role: panel.counts.get("recoloured cells", 0) for role, panel in view.panels.items()}
    assert {role: n for role, n in recoloured.items() if n} == {"z": 1}  # the output fills up cell by cell
    z = view.panels["z"]
    k = session.step
    expected = np.full(C_OUT * (SIZE - K + 1) ** 2, np.nan)
    expected[:k] = session.current_step().state.z.reshape(-1)[:k]
    assert np.array_equal(shown_colours(z), expected_colours(z, expected.reshape(C_OUT, SIZE - K + 1, -1)))


def test_partial_repaints_build_the_same_picture_as_a_full_repaint(shown, qtbot):
    session, view = shown
    model = conv_model(3, 4, 12)
    session.set_model(model, pass_name="backward")
    session.set_step(30)
    settle()
    view.panels["dx"].view.viewport().installEventFilter(painted := PaintCounter())
    for move in (session.next,) * 5 + (session.previous,) * 2:
        move()
        settle()  # each step painted on its own, as a person sees it
    assert painted.partial >= 5  # the steps were painted, and only in part
    built = view.screen().grabWindow(view.winId()).toImage()  # what the partial repaints left on the screen

    fresh_session = Session()
    fresh = LayerView(fresh_session)  # the same step drawn once, from scratch
    qtbot.addWidget(fresh)
    fresh.resize(view.size())
    fresh.show()
    qtbot.waitExposed(fresh, timeout=60_000)
    fresh_session.set_model(model, pass_name="backward", step=session.step)
    settle()
    full = fresh.screen().grabWindow(fresh.winId()).toImage()
    assert built.size() == full.size()
    assert built.convertToFormat(full.format()) == full


def test_a_large_plane_is_coloured_only_where_device_pixels_show_it(shown):
    """Level of detail: the image asks for the colours of the cells some screen pixel shows."""
    session, view = shown
    size = 400
    session.set_model(conv_model(1, 1, size), pass_name="backward")
    settle()
    panel = view.panels["input"]
    viewport = panel.view.viewport()
    shown_pixels = viewport.width() * viewport.height()
    assert panel.sampled_cells <= shown_pixels < size * size  # a tile smaller than its cells
    for t, values in enumerate(conv_model(1, 1, size).input):  # and the colours are the cells' own
        assert np.array_equal(panel.tile_colours(t), theme.colour_index(values, panel.level))


def test_the_step_counter_never_grows_while_stepping(window):
    """From step 0 to the pass's last, the counter's width stays: no relayout of the window per digit."""
    window.show_model(conv_model(size=40), pass_name="backward")  # 38*38*6 = 8664 overlays
    session, counter = window.session, window.stepper.counter
    width = counter.minimumWidth()
    for k in (0, 9, 10, 999, 1000, session.n - 1, session.n):
        session.set_step(k)
        assert counter.sizeHint().width() <= width, (k, counter.text())
    assert counter.minimumWidth() == width


class StepCounter(QObject):
    """Counts the session's step changes."""

    def __init__(self, session):
        super().__init__()
        self.steps: list[int] = []
        session.sigStepChanged.connect(self.steps.append)


class UpdateRequestCounter(QObject):
    """Counts the repaints of a window (its update requests) and whether the step had changed by each."""

    def __init__(self, session):
        super().__init__()
        self.session = session
        self.steps_seen: list[int] = []

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.UpdateRequest:
            self.steps_seen.append(self.session.step)
        return False


def test_slider_moves_before_the_event_loop_turns_make_one_step_painted_with_the_slider(window):
    """Scrubbing is coalesced into one step, which is set ahead of the repaint the slider's move asks for."""
    window.show_model(conv_model(), pass_name="backward")
    session, slider = window.session, window.stepper.slider
    settle()
    steps = StepCounter(session)
    window.installEventFilter(repaints := UpdateRequestCounter(session))
    for k in (40, 90, 75):  # faster than steps are drawn: only the last counts
        slider.setValue(k)
    assert session.step != 75  # nothing is applied before the event loop turns
    QCoreApplication.sendPostedEvents()  # the posted call, and the repaints posted after it
    assert steps.steps == [75] and session.step == 75
    settle()
    assert repaints.steps_seen and repaints.steps_seen[0] == 75  # the first repaint shows the new step
    assert steps.steps == [75]


class LayoutCounter(QObject):
    """Counts the layout requests that reach a widget (the main window: a new layout of every dock)."""

    def __init__(self):
        super().__init__()
        self.requests = 0

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.LayoutRequest:
            self.requests += 1
        return False


def test_a_step_changes_the_counter_and_the_heading_without_laying_the_window_out_again(window):
    """The step's texts change in place: no layout request climbs to the main window (its docks)."""
    window.show_model(conv_model(), pass_name="backward")
    session = window.session
    session.set_step(3)
    settle()
    window.installEventFilter(counter := LayoutCounter())
    for move in (session.next, session.next, session.previous, session.last, session.first):
        move()
        settle()
        heading = window.equations.heading.text()
        assert f"overlay {session.step} of {session.n}" in heading
        assert window.stepper.counter.text() == f"overlay {session.step} of {session.n}"
    assert counter.requests == 0
    holder = window.equations.heading.parentWidget()
    assert (
        holder.height() == window.equations.heading.height() >= window.equations.heading.sizeHint().height()
    )


def test_outlines_a_step_no_longer_shows_are_hidden_items(shown):
    """A tile whose outline a step cleared keeps its item hidden: later paints skip it."""
    session, view = shown
    session.set_model(conv_model(), pass_name="backward")
    per_filter = (SIZE - K + 1) ** 2
    session.set_step(per_filter + 1)  # filter 1: its kernel tiles outlined
    session.set_step(3 * per_filter + 1)  # filter 3: filter 1's outlines go
    kernel = view.panels["kernel"]
    items = kernel._outlines["window"]
    shown_tiles = {t for t, item in items.items() if item.isVisible()}
    assert shown_tiles == {t for t, _, _ in kernel.outline("window")} and len(shown_tiles) == C_IN
    assert all(item.path().isEmpty() for t, item in items.items() if t not in shown_tiles)
    assert len(items) > len(shown_tiles)  # filter 1's items are kept, hidden


def test_a_window_outlined_in_every_tile_is_drawn_around_its_cells_in_each(shown):
    """One path for the window's cells, moved to each tile: every tile's outline surrounds its own cells."""
    session, view = shown
    session.set_model(conv_model(), pass_name="backward")
    per_filter = (SIZE - K + 1) ** 2
    for k in (per_filter + 1, 3 * per_filter + 2 * (SIZE - K + 1) + 5, 5):  # jumps across filters
        session.set_step(k)
        for role in ("input", "kernel", "dx", "dw"):
            panel = view.panels[role]
            for kind, items in panel._outlines.items():
                cells = panel.outline(kind)
                tiles = {t for t, _, _ in cells}
                for t, item in items.items():
                    if t not in tiles:
                        assert not item.isVisible() and item.path().isEmpty()
                        continue
                    rows = [r for u, r, _ in cells if u == t]
                    cols = [c for u, _, c in cells if u == t]
                    x0, y0 = panel.geometry.origin(t)
                    box = QRectF(
                        x0 + min(cols), y0 + min(rows), max(cols) - min(cols) + 1, max(rows) - min(rows) + 1
                    )
                    assert item.isVisible() and item.path().boundingRect() == box, (role, kind, t, k)


def test_an_outline_item_measures_its_rectangle_again_after_every_change(qtbot):
    """The kept bounding rectangle follows the path, the pen and the margin (a plain path item's, widened)."""
    item, plain = OutlineItem(), QGraphicsPathItem()

    def expected(margin):
        rect = plain.boundingRect()
        return rect.adjusted(-margin, -margin, margin, margin)

    assert item.boundingRect().isEmpty()
    path = QPainterPath()
    path.addRect(QRectF(1, 2, 3, 4))
    for twin in (item, plain):
        twin.setPath(path)
    assert item.boundingRect() == expected(0.0)
    item.set_margin(0.5)
    assert item.boundingRect() == expected(0.5) != expected(0.0)
    pen = QPen()
    pen.setWidthF(3.0)
    for twin in (item, plain):
        twin.setPen(pen)  # a pen in item units widens the path's own rectangle
    assert item.boundingRect() == expected(0.5)
    moved = QPainterPath()
    moved.addRect(QRectF(10, 10, 1, 1))
    for twin in (item, plain):
        twin.setPath(moved)
    assert item.boundingRect() == expected(0.5) and expected(0.5).contains(QRectF(10, 10, 1, 1))

"""The colour bar's tick labels never print over each other, however narrow the panel."""

from __future__ import annotations

import itertools

import pytest

from visualconv.app.widgets.tensor_panel import ColorBar


def _label_spans(bar: ColorBar) -> list[tuple[float, float]]:
    """Left and right edge of each label's text as drawn (left-aligned in its rectangle)."""
    metrics = bar.fontMetrics()
    return [(rect.left(), rect.left() + metrics.horizontalAdvance(text)) for _, rect, text in bar.labels()]


@pytest.mark.parametrize("width", [90, 120, 160, 220, 320, 480])
@pytest.mark.parametrize("levels", [(-0.5, 0.5), (-0.8, 0.8), (-0.00892, 0.00892), (-1234.5, 1234.5)])
def test_tick_labels_do_not_overlap(qtbot, width, levels):
    bar = ColorBar()
    qtbot.addWidget(bar)
    bar.resize(width, 30)
    bar.setLevels(levels)
    spans = _label_spans(bar)
    assert spans
    for (_, right), (left, _) in itertools.pairwise(spans):
        assert right <= left, (width, levels, [text for _, _, text in bar.labels()])
    assert spans[0][0] >= 0 and spans[-1][1] <= width  # nothing clipped at the panel's edges


def test_a_wide_bar_keeps_all_five_ticks(qtbot):
    bar = ColorBar()
    qtbot.addWidget(bar)
    bar.resize(400, 30)
    bar.setLevels((-0.5, 0.5))
    assert [text for _, _, text in bar.labels()] == ["-0.5", "-0.25", "0", "0.25", "0.5"]

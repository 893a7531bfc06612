"""One number formatter: the texts a person reads, written by hand here."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from visualconv.engine.explain import fmt, fmt_array
from visualconv.engine.numbers import DEFAULT, NumberFormat


def test_a_value_has_six_significant_digits_and_no_round_off_noise():
    assert DEFAULT.value(0.30000000000000004) == "0.3"
    assert DEFAULT.value(0.1 + 0.2) == "0.3"
    assert DEFAULT.value(0.094061) == "0.094061"
    assert DEFAULT.value(-0.1) == "-0.1"
    assert DEFAULT.value(-0.0) == "0"
    assert DEFAULT.value(1234567.0) == "1.23457e+06"
    assert DEFAULT.array([[1.0, 2.0], [3.0, 0.30000000000000004]]) == "[[1, 2], [3, 0.3]]"
    assert fmt(2.5) == "2.5" and fmt_array([1.3, -0.1]) == "[1.3, -0.1]"


def test_a_figure_cell_is_short_and_never_minus_zero():
    cell = DEFAULT.figure_cell
    assert [cell(v) for v in (0.3, -0.03, 0.010000000000000002, 2.1, -0.0)] == [
        "0.3",
        "-0.03",
        "0.01",
        "2.1",
        "0",
    ]
    assert cell(1e-18, 0.4) == "0"
    assert cell(0.044606) == "0.04461"
    assert cell(1.5e-7, 1e-6) == "1.5e-7"


def test_window_cells_share_the_decimals_of_their_panel():
    assert DEFAULT.decimals_for(0.4) == 4  # 0.4000: four significant digits
    assert DEFAULT.decimals_for(12.0) == 2
    assert DEFAULT.decimals_for(5000.0) == 0
    assert DEFAULT.decimals_for(1e-12) == 7  # at most seven
    assert DEFAULT.decimals_for(0.0) == 3 and DEFAULT.decimals_for(math.nan) == 3
    assert DEFAULT.window_cell(0.30000000000000004, 4) == "0.3"
    assert DEFAULT.window_cell(-0.12345, 4) == "-0.1235"
    assert DEFAULT.window_cell(1e-9, 4) == "≈0"
    assert DEFAULT.window_cell(0.0, 4) == "0"
    assert DEFAULT.window_cell(3.0, 2) == "3"


def test_training_map_cells_and_colour_bar_limits():
    assert DEFAULT.map_cell(0.1234) == "0.123"
    assert DEFAULT.map_cell(0.5, level=20.0) == "0.5"
    assert DEFAULT.map_cell(12345.0) == "1.2e+04"
    assert DEFAULT.scale(0.044606) == "0.0446"
    assert DEFAULT.scale(-1.0) == "-1"


def test_another_format_is_one_object_passed_around():
    three = NumberFormat(significant=3, cell_significant=2, window_significant=2)
    assert three.value(0.044606) == "0.0446"
    assert three.figure_cell(0.044606) == "0.045"
    assert three.decimals_for(0.4) == 2
    assert DEFAULT.value(0.044606) == "0.044606"  # the default is unchanged
    with pytest.raises(AttributeError):
        three.significant = 4  # type: ignore[misc]


def test_a_decimal_comma_writes_every_kind_of_number_and_keeps_the_point_by_default():
    from visualconv.engine.numbers import DEFAULT, NumberFormat

    comma = NumberFormat(decimal=",")
    assert (comma.value(0.3), comma.figure_cell(0.044606), comma.window_cell(-0.05, 3)) == (
        "0,3",
        "0,04461",
        "-0,05",
    )
    assert comma.array([[0.3, -0.05], [1.0, 2.0]]) == "[[0,3; -0,05]; [1; 2]]"
    assert comma.scale(0.0446) == "0,0446"
    # The seed's line (de seed: "Overlay 1 wird hinzugefügt[0.3∗−0.1,0.5∗−0.1]") with a comma.
    line = "  dA_prev[0:2] += [0.3*-0.1, 0.5*-0.1] = [-0.03, -0.05] -> dA_prev = [-0.03, -0.05, 0]"
    assert (
        comma.text(line)
        == "  dA_prev[0:2] += [0,3*-0,1; 0,5*-0,1] = [-0,03; -0,05] -> dA_prev = [-0,03; -0,05; 0]"
    )
    assert comma.text("3 overlays: one per output element, channel by channel, row by row") == (
        "3 overlays: one per output element, channel by channel, row by row"
    )
    assert DEFAULT.text(line) == line
    assert DEFAULT.array([0.3, 0.5]) == "[0.3, 0.5]"


def _longest_text_loop(values, decimals):
    """Loop twin of NumberFormat.widest_window_cell: write every cell, keep the longest."""
    texts = [DEFAULT.window_cell(float(v), decimals) for v in values if not math.isnan(v)]
    return max((len(t) for t in texts), default=None)


@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True, width=64),
            st.floats(-1e4, 1e4).map(lambda v: round(v, 3)),
            st.sampled_from([0.0, -0.0, 0.05, -0.05, 0.25, 2.5, 0.3000000000000000444]),
        ),
        max_size=12,
    ),
    st.integers(0, 7),
)
@example([1776009111564621.0, 10000000000000.875], 3)  # past 2**52 scaled: digits written out, not counted
@settings(max_examples=150, deadline=None)
def test_the_widest_window_cell_is_the_longest_text_written(values, decimals):
    widest = DEFAULT.widest_window_cell(np.array(values, dtype=np.float64), decimals)
    longest = _longest_text_loop(values, decimals)
    if longest is None:
        assert widest is None
    else:
        assert len(DEFAULT.window_cell(widest, decimals)) == longest


def test_the_widest_of_the_seed_dA_prev():
    # the 2-D seed's input gradient at five decimals: -0.00892 is the longest text
    values = [0, -0.008918, 0.01029, -0.004732, 0.021238, -0.007546, 0.002301, 0.003001, 0.010741]
    widest = DEFAULT.widest_window_cell(values, 5)
    assert DEFAULT.window_cell(widest, 5) in ("-0.00892", "-0.00473", "-0.00755")


def test_fixed_decimals_keep_their_zeros_and_never_write_minus_zero():
    fixed = DEFAULT.fixed_decimals(3)
    assert fixed.value(0.30000000000000004) == "0.300"
    assert fixed.value(-0.0001) == "0.000"
    assert fixed.value(0) == "0"
    assert fixed.window_cell(0.3, fixed.decimals_for(7.0)) == "0.300"
    assert fixed.figure_cell(0.044606) == "0.045"
    assert fixed.array([[1, 0.5]]) == "[[1.000, 0.500]]"


def test_significant_digits_apply_to_values_and_cells():
    three = DEFAULT.significant_digits(3)
    assert three.value(0.044606) == "0.0446"
    assert three.figure_cell(0.044606) == "0.0446"
    assert three.decimals_for(0.5) == 3
    assert three.significant_digits(6).value(0.044606) == DEFAULT.value(0.044606)


def test_the_step_text_uses_the_format_it_is_given_and_the_default_otherwise():
    from helpers import ROOT

    from visualconv.engine.explain import explain
    from visualconv.engine.numbers import current, using
    from visualconv.engine.trace import trace_layer
    from visualconv.modelfile import load_model

    trace = trace_layer(load_model(ROOT / "sample_models" / "01-seed-1d-conv.json"), 0, "backward")
    step = trace.step(1)
    assert explain(trace, step)[0] == "overlay 1: dW += [1*-0.1, 2*-0.1] -> [-0.1, -0.2]"  # the seed's line
    assert explain(trace, step, DEFAULT.fixed_decimals(2))[0] == (
        "overlay 1: dW += [1.00*-0.10, 2.00*-0.10] -> [-0.10, -0.20]"
    )
    with using(DEFAULT.fixed_decimals(1)):
        assert current() == DEFAULT.fixed_decimals(1)
        assert explain(trace, step)[0].endswith("-> [-0.1, -0.2]")
    assert current() is DEFAULT

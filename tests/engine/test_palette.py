"""One palette: the classes of ColorBrewer's RdBu, as the window and the figures use them."""

from visualconv.engine import palette


def test_the_nine_classes_run_blue_white_red():
    assert palette.diverging(-1.0, 1.0) == (0x21, 0x66, 0xAC)
    assert palette.diverging(0.0, 1.0) == (0xF7, 0xF7, 0xF7)
    assert palette.diverging(1.0, 1.0) == (0xB2, 0x18, 0x2B)
    assert palette.diverging(5.0, 1.0) == (0xB2, 0x18, 0x2B)  # clipped
    assert palette.diverging(0.3, 0.0) == (0xF7, 0xF7, 0xF7)  # no scale: the middle


def test_between_two_classes_the_colour_is_linear():
    # -0.875 sits halfway between the first two classes, #2166ac and #4393c3
    assert palette.diverging(-0.875, 1.0) == (
        round((33 + 67) / 2),
        round((102 + 147) / 2),
        round((172 + 195) / 2),
    )


def test_the_window_uses_every_other_class():
    assert palette.SCREEN_COLOURS == (
        (33, 102, 172),
        (146, 197, 222),
        (247, 247, 247),
        (244, 165, 130),
        (178, 24, 43),
    )
    assert len(palette.SCREEN_STOPS) == len(palette.SCREEN_COLOURS)

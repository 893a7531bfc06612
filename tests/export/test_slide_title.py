"""A model's name is data: a tab or newline in it never splits a slide's title line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from visualconv.engine.trace import trace_layer
from visualconv.export.slides import pass_slides
from visualconv.modelfile import load_model

SAMPLE = Path(__file__).resolve().parents[2] / "sample_models" / "05-max-pool-backward.json"


def test_slide_titles_escape_tabs_and_newlines():
    model = dataclasses.replace(load_model(SAMPLE), name="Tab\there\nnew line")
    trace = trace_layer(model, 0, "backward")
    (slide,) = pass_slides(model, 0, trace, [1])
    assert slide.title == "Tab\\x09here\\x0anew line"
    assert "\n" not in slide.caption and "\t" not in slide.caption


def test_a_long_step_is_shrunk_to_the_decks_equation_area():
    """The loss's first backward step (8 lines) fits the Beamer frame; 3-line overlays stay as they are."""
    from visualconv.export.tikz import LONG_STEP, beamer_deck

    model = load_model(SAMPLE.parent / "12-small-cnn-cross-entropy.json")
    trace = trace_layer(model, 4, "backward")
    slides = pass_slides(model, 4, trace, [0, 1, 2, 3])
    assert len(slides[0].lines) > LONG_STEP >= max(len(s.lines) for s in slides[1:])
    deck = beamer_deck(slides)
    assert deck.count(r"\adjustbox{max width=\linewidth,max totalheight=0.24\textheight}") == 1

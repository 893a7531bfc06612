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

"""The window under a real X server (Xvfb), driven by real X input (xdotool).

Quitting three ways (File ▸ Quit with the mouse, Ctrl+Q during a training run, the
close button) must end the process with status 0, never a signal; a training run's
weights are asked about and saved. The long runs by hand are ``quit_loop.py`` (50 of
each) and ``monkey.py`` (thousands of events); these are their short versions.
Skipped where there is no Xvfb or xdotool (``.ci/run`` installs them when it can).
"""

from __future__ import annotations

import pytest
from xdriver import Display, missing, user_config
from xquit import quit_once

pytestmark = pytest.mark.skipif(missing() is not None, reason=f"no real X here: {missing()}")


@pytest.fixture(scope="module")
def display():
    with Display() as screen:
        yield screen


@pytest.mark.parametrize(
    ("way", "runs"),
    [("menu", 3), ("ctrl-q-training", 2), ("close", 2)],
)
def test_quitting_ends_the_process_cleanly(display, tmp_path, way, runs):
    """No segfault at exit, no exception in the hook; Ctrl+Q during training saves the weights."""
    config = user_config(tmp_path / "config")
    outcomes = [quit_once(display, way, tmp_path / f"run{k}", config) for k in range(runs)]
    assert [o.kind for o in outcomes] == ["clean"] * runs, [o.detail for o in outcomes if o.kind != "clean"]


def test_a_short_real_input_monkey_breaks_nothing(display, tmp_path):
    """Seeded real clicks, drags, keys, menus, every View entry and quits by mouse: no fault, no death."""
    from xmonkey import Monkey

    tally = Monkey(display, seed=7, workdir=tmp_path).run(events=200, quit_every=90)
    assert tally.events >= 200 and tally.quits >= 2 and tally.view_toggles >= 14
    assert (tally.exceptions, tally.deaths) == (0, 0), "\n---\n".join(tally.problems)
    assert tally.problems == []

"""Test set-up: Qt runs offscreen, so the suite needs no display."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "XDG_RUNTIME_DIR" not in os.environ:
    runtime = tempfile.mkdtemp(prefix="visualconv-xdg-")
    os.chmod(runtime, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = runtime
# Every window autosaves and logs into the data folder: never the user's own in tests.
if "VISUALCONV_DATA_DIR" not in os.environ:
    os.environ["VISUALCONV_DATA_DIR"] = tempfile.mkdtemp(prefix="visualconv-data-")

# The suite reads English unless a test chooses a language (the machine's locale may be another).
os.environ.setdefault("VISUALCONV_LANG", "en")
# The first start's guided tour is never offered in tests (a test that wants it asks for it).
os.environ.setdefault("VISUALCONV_NO_TOUR", "1")

import pytest
from helpers import SAMPLES
from hypothesis import HealthCheck, settings

# No test depends on the machine's speed: on a busy machine an example may take long, which is
# no failure (hypothesis's per-example deadline and its too-slow check are off for every test).
settings.register_profile("visualconv", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("visualconv")


@pytest.fixture
def sample_paths() -> list:
    return SAMPLES

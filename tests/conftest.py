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

import pytest
from helpers import SAMPLES


@pytest.fixture
def sample_paths() -> list:
    return SAMPLES

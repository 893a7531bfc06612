"""Test set-up: Qt runs offscreen, so the suite needs no display."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "XDG_RUNTIME_DIR" not in os.environ:
    runtime = tempfile.mkdtemp(prefix="visualconv-xdg-")
    os.chmod(runtime, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = runtime

import pytest
from helpers import SAMPLES


@pytest.fixture
def sample_paths() -> list:
    return SAMPLES

"""Export tests: a Qt application exists before anything is painted (pytest-qt's qapp)."""

from __future__ import annotations

from pathlib import Path

import pytest

from visualconv.modelfile import load_model

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_models"


@pytest.fixture(autouse=True)
def _qt(qapp):
    return qapp


@pytest.fixture
def seed1d():
    return load_model(SAMPLES / "01-seed-1d-conv.json")


@pytest.fixture
def sample():
    def load(name: str):
        return load_model(SAMPLES / name)

    return load

"""Paths and comparisons shared by the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "sample_models").glob("*.json"))


KERNEL_RTOL = 1e-12


def assert_close(actual: object, expected: object) -> None:
    """Relative 1e-12, with an absolute floor scaled to the data (sums may cancel to ~0)."""
    expected = np.asarray(expected)
    assert np.shape(actual) == expected.shape
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=KERNEL_RTOL, atol=KERNEL_RTOL * scale)

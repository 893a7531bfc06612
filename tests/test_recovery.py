"""The recovery file: what an edit leaves behind survives a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
from helpers import ROOT

import visualconv as vc
from visualconv import editing, recovery

SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"


def test_write_then_read_gives_the_same_model(tmp_path):
    model = editing.set_cell(vc.load_model(SEED_1D), "input", (0, 2), 7.5)
    recovery.write_recovery(model, str(SEED_1D), tmp_path)
    found = recovery.read_recovery(tmp_path)
    assert found is not None
    assert found.source == str(SEED_1D)
    np.testing.assert_array_equal(found.model.input, model.input)
    np.testing.assert_array_equal(found.model.layers[0].weight, model.layers[0].weight)
    recovery.clear_recovery(tmp_path)
    assert recovery.read_recovery(tmp_path) is None


def test_a_damaged_recovery_file_is_ignored(tmp_path):
    (tmp_path / recovery.RECOVERY_NAME).write_text('{"model": {"format": "visualconv/1", "na')
    assert recovery.read_recovery(tmp_path) is None


def test_data_dir_honours_the_override(tmp_path, monkeypatch):
    monkeypatch.setenv("VISUALCONV_DATA_DIR", str(tmp_path / "d"))
    assert recovery.data_dir() == tmp_path / "d"
    assert recovery.log_path().parent == tmp_path / "d"


def test_a_killed_process_leaves_its_last_edit_behind(tmp_path):
    script = (
        "import os, signal, visualconv as vc\n"
        "from visualconv import editing, recovery\n"
        f"m = vc.load_model({str(SEED_1D)!r})\n"
        "m = editing.set_cell(m, 'layers[0].weight', (0, 0, 0), 0.9)\n"
        "recovery.write_recovery(m, None)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "VISUALCONV_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=60)
    assert done.returncode == -signal.SIGKILL
    found = recovery.read_recovery(tmp_path)
    assert found is not None
    assert found.model.layers[0].weight[0, 0, 0] == 0.9


def test_the_recovery_file_gives_back_every_float_exactly(tmp_path):
    values = [0.1 + 0.2, 1e-300, -2.5e300, 1 / 3]
    model = vc.load_model(SEED_1D)
    for i, v in enumerate(values[:3]):
        model = editing.set_cell(model, "input", (0, i), v)
    model = editing.set_cell(model, "layers[0].weight", (0, 0, 1), values[3])
    recovery.write_recovery(model, None, tmp_path)
    found = recovery.read_recovery(tmp_path)
    assert found.model.input[0].tolist() == values[:3]
    assert found.model.layers[0].weight[0, 0, 1] == values[3]
    assert "\n" not in (tmp_path / recovery.RECOVERY_NAME).read_text("utf-8")

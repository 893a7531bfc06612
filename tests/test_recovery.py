"""The recovery journal: what an edit leaves behind survives a kill, per window, live ones untouched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
from helpers import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

import visualconv as vc
from visualconv import editing, recovery
from visualconv.recovery import Journal

SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"


def journal_lines(path):
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


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
    assert list((tmp_path / recovery.RECOVERY_FOLDER).iterdir()) == []


def test_a_damaged_recovery_file_is_ignored(tmp_path):
    (tmp_path / recovery.LEGACY_NAME).write_text('{"model": {"format": "visualconv/1", "na')
    assert recovery.read_recovery(tmp_path) is None


def test_the_single_file_of_earlier_versions_is_still_offered(tmp_path):
    model = editing.set_cell(vc.load_model(SEED_1D), "input", (0, 0), 4.0)
    text = json.dumps({"saved_at": 1.0, "source": None, "model": vc.modelfile.model_document(model)})
    (tmp_path / recovery.LEGACY_NAME).write_text(text)
    (found,) = recovery.find_recoveries(tmp_path)
    assert found.model.input[0, 0] == 4.0 and found.key == ""
    assert recovery.discard(found)
    assert not (tmp_path / recovery.LEGACY_NAME).exists()


def test_data_dir_honours_the_override(tmp_path, monkeypatch):
    monkeypatch.setenv("VISUALCONV_DATA_DIR", str(tmp_path / "d"))
    assert recovery.data_dir() == tmp_path / "d"
    assert recovery.log_path().parent == tmp_path / "d"


def test_a_killed_process_leaves_its_last_edit_behind(tmp_path):
    script = (
        "import os, signal, visualconv as vc\n"
        "from visualconv import editing, recovery\n"
        f"m = vc.load_model({str(SEED_1D)!r})\n"
        "j = recovery.Journal()\n"
        "j.record(m, None)\n"
        "m = editing.set_cell(m, 'layers[0].weight', (0, 0, 0), 0.9)\n"
        "j.record(m, None)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "VISUALCONV_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=60)
    assert done.returncode == -signal.SIGKILL
    (found,) = recovery.find_recoveries(tmp_path)
    assert found.model.layers[0].weight[0, 0, 0] == 0.9
    assert not found.live
    found.release()


def test_the_recovery_file_gives_back_every_float_exactly(tmp_path):
    values = [0.1 + 0.2, 1e-300, -2.5e300, 1 / 3]
    model = vc.load_model(SEED_1D)
    for i, v in enumerate(values[:3]):
        model = editing.set_cell(model, "input", (0, i), v)
    model = editing.set_cell(model, "layers[0].weight", (0, 0, 1), values[3])
    path = recovery.write_recovery(model, None, tmp_path)
    found = recovery.read_recovery(tmp_path)
    assert found.model.input[0].tolist() == values[:3]
    assert found.model.layers[0].weight[0, 0, 1] == values[3]
    assert path.read_bytes().count(b"\n") == 1  # one record, one line


def test_a_cell_edit_is_appended_as_a_patch_and_read_back_in_order(tmp_path):
    """The first record is the whole model; cell edits are small patches after it."""
    journal = Journal(tmp_path)
    model = vc.load_model(SEED_2D)
    journal.record(model, str(SEED_2D))
    expected = model
    for i, (cell, value) in enumerate([((0, 0, 0), 9.0), ((0, 4, 4), -1.5), ((0, 0, 0), 2.25)]):
        expected = editing.set_cell(expected, "input", cell, value)
        assert journal.record(expected, str(SEED_2D)) == str(journal.path)
        lines = journal_lines(journal.path)
        assert len(lines) == i + 2 and "model" in lines[0] and "patch" in lines[-1]
        assert lines[-1]["patch"] == [{"tensor": "input", "index": [cell[1] * 5 + cell[2]], "value": [value]}]
    model, source, _ = recovery.read_journal(journal.path)
    np.testing.assert_array_equal(model.input, expected.input)
    assert source == str(SEED_2D)
    journal.clear()
    assert list((tmp_path / recovery.RECOVERY_FOLDER).iterdir()) == []


def test_a_structural_edit_replaces_the_journal_with_the_whole_model(tmp_path):
    journal = Journal(tmp_path)
    model = vc.load_model(SEED_2D)
    journal.record(model, None)
    journal.record(editing.set_cell(model, "input", (0, 1, 1), 5.0), None)
    grown = editing.set_layer_setting(editing.set_cell(model, "input", (0, 1, 1), 5.0), 0, "kernel_size", "3")
    journal.record(grown, None)
    (only,) = journal_lines(journal.path)
    assert "model" in only and only["seq"] == 3
    model, _, _ = recovery.read_journal(journal.path)
    assert model.layers[0].weight.shape == grown.layers[0].weight.shape
    journal.clear()


def test_a_torn_last_line_is_ignored(tmp_path):
    journal = Journal(tmp_path)
    model = vc.load_model(SEED_1D)
    journal.record(model, None)
    edited = editing.set_cell(model, "input", (0, 1), 8.0)
    journal.record(edited, None)
    with open(journal.path, "ab") as handle:
        handle.write(b'{"seq":3,"saved_at":1,"source":null,"patch":[{"tensor":"input","ind')
    model, _, _ = recovery.read_journal(journal.path)
    assert model.input[0].tolist() == [1.0, 8.0, 3.0]
    journal.clear()


def test_a_relative_file_name_is_stored_as_an_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    journal = Journal(tmp_path / "data")
    journal.record(vc.load_model(SEED_1D), "model.json")
    (line,) = journal_lines(journal.path)
    assert line["source"] == str(tmp_path / "model.json")
    journal.clear()


def test_a_large_model_is_written_by_the_background_thread_and_an_edit_waits_for_it(tmp_path, monkeypatch):
    """Until the whole large model is on disk, recovery gives the edit before it (never a mix)."""
    started, release, threads = threading.Event(), threading.Event(), []
    encode = recovery.recovery_text

    def slow(model, source):
        threads.append(threading.current_thread())
        if threading.current_thread() is not threading.main_thread():
            started.set()
            assert release.wait(10)
        return encode(model, source)

    monkeypatch.setattr(recovery, "recovery_text", slow)
    written = []
    journal = Journal(tmp_path, sync_values=10, on_written=written.append)
    small = vc.load_model(SEED_1D)  # 3 + 2 + 1 + 2 values: written now
    assert journal.record(small, None) == str(journal.path)
    large = editing.set_input_shape(small, [1, 12])  # 12 + 2 + 1 + 11 values: in the background
    assert journal.record(large, None) == ""
    assert started.wait(10)
    after = editing.set_cell(large, "input", (0, 11), 6.0)
    assert journal.record(after, None) == str(journal.path)  # a patch on the large model, appended now
    model, _, _ = recovery.read_journal(journal.path)
    assert model.input.shape == (1, 3)  # the large model is not on disk yet: the edit before it
    release.set()
    assert journal.wait() == str(journal.path)
    model, _, _ = recovery.read_journal(journal.path)
    np.testing.assert_array_equal(model.input, after.input)
    assert written == [str(journal.path)]
    assert threads[0] is threading.main_thread() and threads[1] is not threading.main_thread()
    journal.clear()


def test_records_of_two_windows_are_kept_apart(tmp_path):
    one, two = Journal(tmp_path), Journal(tmp_path)
    base = vc.load_model(SEED_1D)
    one.record(editing.set_cell(base, "input", (0, 0), 11.0), None)
    two.record(editing.set_cell(base, "input", (0, 0), 22.0), None)
    found = recovery.find_recoveries(tmp_path, include_live=True)
    assert sorted(f.model.input[0, 0] for f in found) == [11.0, 22.0]
    assert all(f.live for f in found)
    assert recovery.find_recoveries(tmp_path) == []  # both windows are running
    one.clear()
    two.clear()


LIVE_WINDOW = """\
import sys, time, visualconv as vc
from visualconv import editing, recovery
j = recovery.Journal()
m = vc.load_model(sys.argv[1])
j.record(editing.set_cell(m, "input", (0, 0), 42.0), sys.argv[1])
print("ready", flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_live_windows_recovery_is_never_offered_nor_deleted_and_is_offered_once_it_dies(tmp_path):
    env = {**os.environ, "VISUALCONV_DATA_DIR": str(tmp_path)}
    live = subprocess.Popen(
        [sys.executable, "-c", LIVE_WINDOW, str(SEED_1D)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert live.stdout.readline().strip() == "ready"
        assert recovery.find_recoveries(tmp_path) == []
        (seen,) = recovery.find_recoveries(tmp_path, include_live=True)
        assert seen.live and seen.model.input[0, 0] == 42.0
        assert not recovery.discard(seen)
        recovery.clear_recovery(tmp_path)
        assert len(list((tmp_path / recovery.RECOVERY_FOLDER).glob("*.journal"))) == 1
    finally:
        live.kill()
        live.wait(30)
        live.stdout.close()
    (found,) = recovery.find_recoveries(tmp_path)
    assert not found.live and found.model.input[0, 0] == 42.0 and found.source == str(SEED_1D)
    # Claimed while this process offers it: another start does not offer it twice.
    assert recovery.find_recoveries(tmp_path) == []
    assert recovery.discard(found)
    assert list((tmp_path / recovery.RECOVERY_FOLDER).iterdir()) == []


edits = st.lists(
    st.tuples(
        st.sampled_from(["input", "layers[0].weight", "upstream"]),
        st.integers(0, 24),
        st.floats(-1e6, 1e6, allow_nan=False),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(edits)
def test_a_patch_carries_exactly_the_changed_cells(changes):
    """apply_patch(before, model_patch(before, after)) == after."""
    before = vc.load_model(SEED_2D)
    after = before
    for name, flat, value in changes:
        shape = editing.get_tensor(after, name).shape
        cell = np.unravel_index(flat % int(np.prod(shape)), shape)
        after = editing.set_cell(after, name, tuple(int(i) for i in cell), value)
    patch = recovery.model_patch(before, after)
    assert patch is not None
    rebuilt = recovery.apply_patch(before, patch)
    for name in editing.tensor_names(after):
        np.testing.assert_array_equal(editing.get_tensor(rebuilt, name), editing.get_tensor(after, name))
    changed = sum(
        int((editing.get_tensor(before, n) != editing.get_tensor(after, n)).sum())
        for n in editing.tensor_names(after)
    )
    assert sum(len(p["index"]) for p in patch) == changed


def test_a_change_beyond_the_numbers_is_not_a_patch():
    before = vc.load_model(SEED_2D)
    assert recovery.model_patch(before, editing.set_layer_setting(before, 0, "activation", "relu")) is None
    assert recovery.model_patch(before, editing.set_layer_setting(before, 0, "kernel_size", "3")) is None
    assert recovery.model_patch(before, before) == []

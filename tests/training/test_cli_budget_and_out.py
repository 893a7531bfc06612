"""``visualconv train``: memory refused before anything is built, and ``--out`` that cannot lose a run."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest

from visualconv import atomic
from visualconv.cli import main
from visualconv.engine import datasets
from visualconv.modelfile import loads

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"
SHAPES = SAMPLES / "22-shapes-classifier.json"
KERNEL = SAMPLES / "20-learning-a-kernel.json"


def variant(tmp_path, **training):
    """The shapes classifier with its training section changed (dataset keys under ``dataset``)."""
    document = json.loads(SHAPES.read_text("utf-8"))
    document["training"]["dataset"].update(training.pop("dataset", {}))
    document["training"].update(training)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document), "utf-8")
    return str(path)


@pytest.fixture
def never_built(monkeypatch):
    """Fails the test if a dataset is materialised (the refusal must come before)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the dataset was built before the refusal")

    monkeypatch.setattr(datasets, "materialise", refuse)


def test_a_full_batch_of_a_large_generated_dataset_is_refused_at_the_batch_size(
    tmp_path, capsys, never_built
):
    # 100,000 examples of 1 x 8 x 8: 100 MB of data, but one batch of all of them is
    # 100,000 x the one-example pass (the walk of engine.budget: about 24 KB).
    path = variant(tmp_path, batch_size="full", dataset={"count": 100_000})
    assert main(["train", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"visualconv: {path}: training.batch_size: training would need about 2.")
    assert "for the 100,000 examples of (1, 8, 8)" in err and "one batch of the full dataset" in err


def test_a_dataset_too_large_to_hold_is_refused_at_its_count(tmp_path, capsys, never_built):
    document = json.loads((SAMPLES / "21-teacher-sobel.json").read_text("utf-8"))
    document["training"]["dataset"].update(count=100_000, size=32)  # 102 million values
    document["training"]["batch_size"] = 1
    path = str(tmp_path / "teacher.json")
    Path(path).write_text(json.dumps(document), "utf-8")
    assert main(["train", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"visualconv: {path}: training.dataset.count: ") and err.count("\n") == 1


def test_the_same_model_with_a_small_batch_trains(tmp_path, capsys):
    path = variant(tmp_path, batch_size=10, epochs=1)
    assert main(["train", path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "visualconv.train/1"


def test_out_in_a_missing_folder_is_refused_before_training(tmp_path, capsys, never_built):
    out = tmp_path / "no" / "trained.json"
    assert main(["train", str(KERNEL), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"visualconv: {out}: could not write: the folder {tmp_path / 'no'} does not exist (create it first) "
        "(nothing was written)\n"
    )


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody may write in: a read-only tmpfs as root, else a mode-0555 folder."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], check=False
        )
        if done.returncode != 0:
            pytest.skip("cannot mount a read-only tmpfs here")
        yield folder
        subprocess.run(["umount", "-l", str(folder)], check=False)
    else:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)


def test_out_in_a_read_only_folder_is_refused_before_training(read_only_folder, capsys, never_built):
    out = read_only_folder / "trained.json"
    assert main(["train", str(KERNEL), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"visualconv: {out}: could not write: ") and err.count("\n") == 1
    assert "read-only file system" in err or "permission denied" in err


def test_when_the_final_write_fails_the_trained_model_is_printed_not_lost(tmp_path, capsys, monkeypatch):
    out = tmp_path / "trained.json"
    out.write_text("the old result", "utf-8")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)  # the check passes; the disk fills during the run
    assert main(["train", str(KERNEL), "--epochs", "3", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"visualconv: {out}: could not write: no space left on device; the trained model is on stdout "
        "(visualconv.train/1 JSON) (the old file is unchanged)\n"
    )
    result = json.loads(captured.out)
    assert result["format"] == "visualconv.train/1" and len(result["history"]) == 3
    monkeypatch.undo()
    assert main(["train", str(KERNEL), "--epochs", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == result["model"]  # the same trained weights
    assert out.read_text("utf-8") == "the old result"
    loads(json.dumps(result["model"]))  # a valid model file


def test_out_through_a_symbolic_link_needs_follow_symlinks(tmp_path, capsys):
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert main(["train", str(KERNEL), "--epochs", "1", "--out", str(link)]) == 2
    assert "is a symbolic link to" in capsys.readouterr().err and not real.exists()
    assert main(["train", str(KERNEL), "--epochs", "1", "--out", str(link), "--follow-symlinks"]) == 0
    assert real.exists() and link.is_symlink()

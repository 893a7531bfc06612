"""A full disk during every export and during Save: the old file stays byte-identical, one line names it.

Two ways: a real small disk (a 1 MB tmpfs, mounted when running as root) filled to the
last byte, and an injected ``OSError(ENOSPC)`` that runs everywhere.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

import visualconv as vc
from visualconv import atomic
from visualconv.cli import main

ROOT = Path(__file__).resolve().parents[2]
SEED_1D = str(ROOT / "sample_models" / "01-seed-1d-conv.json")
SEED_2D = str(ROOT / "sample_models" / "02-seed-2d-conv.json")
SNAPSHOTS = (".png", ".svg", ".pdf", ".tex", ".json", ".npz", ".csv", ".zip")
FULL = "could not write: no space left on device (the old file is unchanged)"


def written_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def export_everything(folder: Path, capsys) -> dict[str, list[str]]:
    """Run every export of the command line into ``folder``; the stderr lines of each."""
    said = {}
    runs = {f"out{suffix}": ["--out", str(folder / f"out{suffix}")] for suffix in SNAPSHOTS}
    runs["anim.gif"] = ["--animation", str(folder / "anim.gif")]
    runs["frames"] = ["--frames", str(folder / "frames")]
    runs["pack"] = ["--pack", str(folder / "pack")]
    for name, options in runs.items():
        status = main(["export", SEED_1D, "--layer", "0", "--pass", "backward", *options])
        err = capsys.readouterr().err
        said[name] = [status, err]
    return said


def check_refused(folder: Path, before: dict[str, bytes], said: dict[str, list[str]]) -> None:
    assert written_files(folder) == before  # every old file byte-identical, no temporary file left
    for name, (status, err) in said.items():
        assert status == 2, (name, err)
        assert err.count("\n") == 1 and err.startswith("visualconv: "), (name, err)
        assert FULL in err, (name, err)
        written = err[len("visualconv: ") : err.index(": could not write")]
        assert Path(written).is_relative_to(folder / name.split(".")[0]) or written == str(folder / name), (
            name,
            err,
        )


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs (root only): yields its folder and a function that fills it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    folder = tmp_path / "disk"
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")

    def fill() -> None:
        with open(folder / "filler", "wb", buffering=0) as handle:
            for chunk in (b"\0" * 4096, b"\0"):  # pages, then the last bytes
                try:
                    while True:
                        handle.write(chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC

    try:
        yield folder, fill
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_real_full_disk_refuses_every_export_and_save_and_keeps_the_old_files(small_disk, capsys):
    folder, fill = small_disk
    said = export_everything(folder, capsys)
    assert all(status == 0 for status, _ in said.values()), said
    fill()
    before = written_files(folder)
    check_refused(folder, before, export_everything(folder, capsys))


def test_save_on_a_real_full_disk_keeps_the_old_file_and_names_it(small_disk):
    """The window's Save (Session.save): the message names the file; the old one is byte-identical."""
    from visualconv.app.session import Session

    folder, fill = small_disk
    target = folder / "model.json"
    vc.save_model(vc.load_model(SEED_1D), target)
    fill()
    before = target.read_bytes()
    session = Session()
    session.set_model(vc.load_model(SEED_2D), str(target))
    with pytest.raises(vc.ModelError) as caught:
        session.save()
    assert str(caught.value) == f"{target}: {FULL}"
    assert target.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["filler", "model.json"]


def test_an_injected_full_disk_refuses_every_export_and_keeps_the_old_files(tmp_path, capsys, monkeypatch):
    said = export_everything(tmp_path, capsys)
    assert all(status == 0 for status, _ in said.values()), said
    before = written_files(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    check_refused(tmp_path, before, export_everything(tmp_path, capsys))

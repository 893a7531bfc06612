"""The one atomic writer: whole or not at all, no symbolic links unless chosen, no stray folders."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from visualconv import atomic
from visualconv.atomic import WriteError, make_folder, write_atomic


def _fail(error):
    def fail(*args, **kwargs):
        raise error

    return fail


def test_a_file_is_written_and_replaced_whole_keeping_its_permissions(tmp_path):
    target = tmp_path / "out.txt"
    assert write_atomic(target, "one") == target
    assert target.read_text() == "one"
    os.chmod(target, 0o640)
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_a_full_disk_leaves_the_old_file_byte_identical_and_says_so(tmp_path, monkeypatch, where):
    target = tmp_path / "out.svg"
    target.write_bytes(b"<svg>old</svg>")
    full = OSError(errno.ENOSPC, "No space left on device")
    if where == "write":
        monkeypatch.setattr(atomic.os, "fdopen", _fail(full))
    else:
        monkeypatch.setattr(atomic.os, where, _fail(full))
    with pytest.raises(WriteError) as caught:
        write_atomic(target, b"<svg>new and longer</svg>")
    monkeypatch.undo()
    assert (
        str(caught.value) == f"{target}: could not write: no space left on device (the old file is unchanged)"
    )
    assert caught.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"<svg>old</svg>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.svg"]  # no temporary file left


def test_a_failed_new_file_says_nothing_was_written(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.tempfile, "mkstemp", _fail(PermissionError(errno.EACCES, "Permission denied")))
    with pytest.raises(
        WriteError, match=r"new\.png: could not write: permission denied \(nothing was written\)$"
    ):
        write_atomic(tmp_path / "new.png", b"x")


def test_a_symbolic_link_is_refused_unless_chosen(tmp_path):
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(real)
    with pytest.raises(WriteError) as caught:
        write_atomic(link, b"new")
    assert str(caught.value) == (
        f"{link}: could not write: it is a symbolic link to {real}; pass --follow-symlinks to write there "
        "(the old file is unchanged)"
    )
    assert real.read_bytes() == b"old" and link.is_symlink()
    write_atomic(link, b"new", follow_symlinks=True)
    assert real.read_bytes() == b"new" and link.is_symlink()


def test_a_missing_parent_folder_is_refused_not_created(tmp_path):
    target = tmp_path / "no" / "such" / "out.pdf"
    with pytest.raises(WriteError) as caught:
        write_atomic(target, b"x")
    assert str(caught.value) == (
        f"{target}: could not write: the folder {tmp_path / 'no'} does not exist (create it first) "
        "(nothing was written)"
    )
    assert not (tmp_path / "no").exists()


def test_a_folder_is_not_replaced_by_a_file(tmp_path):
    (tmp_path / "out.png").mkdir()
    with pytest.raises(WriteError, match="it is a folder; expected a file name"):
        write_atomic(tmp_path / "out.png", b"x")


def test_make_folder_makes_missing_parents_and_says_which(tmp_path):
    assert atomic.missing_folders(tmp_path / "a" / "b") == [tmp_path / "a", tmp_path / "a" / "b"]
    assert make_folder(tmp_path / "a" / "b") == [tmp_path / "a", tmp_path / "a" / "b"]
    assert make_folder(tmp_path / "a" / "b") == []
    (tmp_path / "file").write_text("")
    with pytest.raises(WriteError, match="exists and is not a folder"):
        make_folder(tmp_path / "file")
    with pytest.raises(WriteError, match=r"file is not a folder \(nothing was written\)"):
        make_folder(tmp_path / "file" / "sub")


def test_a_write_error_keeps_naming_the_written_file():
    error = WriteError("out.svg", "no space left on device", existed=True)
    assert error.in_file("model.json") is error
    assert str(error) == "out.svg: could not write: no space left on device (the old file is unchanged)"

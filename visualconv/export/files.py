"""Writing export files: atomically, and so that a cancelled export leaves nothing behind.

:func:`write_atomic` is the one way an export writes a file (a temporary file in the same
folder, flushed to disk, then renamed over the target: :mod:`visualconv.atomic`), so a
reader never sees half a file and a failed write leaves the old file as it was. A
:class:`Written` records what an export created — files and the folders it had to make —
so that a cancel or an error can take all of it away again.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from .. import atomic


def write_atomic(path: str | Path, content: bytes | str, *, follow_symlinks: bool = False) -> Path:
    """Write ``content`` to ``path`` atomically: :func:`visualconv.atomic.write_atomic`.

    Raises :class:`~visualconv.atomic.WriteError` (the old file unchanged, the message
    naming the file) when it cannot; a symbolic link only with ``follow_symlinks``; the
    parent folder must exist.
    """
    return atomic.write_atomic(path, content, follow_symlinks=follow_symlinks)


class Written:
    """The files and folders one export created, in order, to report or to take back.

    Files that existed before the export are overwritten in place and are not removed by
    :meth:`remove` (they were the user's); folders it made are removed with their content.
    """

    def __init__(self) -> None:
        self.files: list[Path] = []
        self.folders: list[Path] = []

    def folder(self, path: str | Path) -> Path:
        """Make a folder (and missing parents), remembering the ones this export created."""
        path = Path(path)
        self.folders += atomic.make_folder(path)
        return path

    def write(self, path: str | Path, content: bytes | str, *, follow_symlinks: bool = False) -> Path:
        """Write one file atomically (making its folder inside the export) and record it."""
        path = Path(path)
        self.folder(path.parent)
        existed = path.exists()
        write_atomic(path, content, follow_symlinks=follow_symlinks)
        if not existed:
            self.files.append(path)
        return path

    def adopt(self, path: str | Path, existed: bool) -> Path:
        """Record a file a library wrote itself (``existed``: it was there before)."""
        path = Path(path)
        if not existed:
            self.files.append(path)
        return path

    def remove(self) -> None:
        """Delete what this export created: its new files, then its new folders (deepest first)."""
        for path in reversed(self.files):
            with contextlib.suppress(OSError):
                path.unlink()
        for folder in reversed(self.folders):
            shutil.rmtree(folder, ignore_errors=True)
        self.files.clear()
        self.folders.clear()

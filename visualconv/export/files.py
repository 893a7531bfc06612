"""Writing export files: atomically, and so that a cancelled export leaves nothing behind.

:func:`write_atomic` is the one way an export writes a file (a temporary file in the
same folder, flushed to disk, then renamed over the target), so a reader never sees half
a file. A :class:`Written` records what an export created — files and the folders it had
to make — so that a cancel or an error can take all of it away again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, content: bytes | str) -> Path:
    """Write ``content`` to ``path`` through a temporary file in the same folder and a rename.

    Parameters
    ----------
    path : str or Path
    content : bytes or str
        Text is written as UTF-8.

    Returns
    -------
    Path
    """
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


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
        missing = []
        probe = path
        while not probe.exists():
            missing.append(probe)
            if probe.parent == probe:
                break
            probe = probe.parent
        path.mkdir(parents=True, exist_ok=True)
        self.folders += reversed(missing)
        return path

    def write(self, path: str | Path, content: bytes | str) -> Path:
        """Write one file atomically (making its folder) and record it."""
        path = Path(path)
        self.folder(path.parent)
        existed = path.exists()
        write_atomic(path, content)
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

"""Writing export files: atomically, and so that a cancelled export leaves nothing behind.

:func:`write_atomic` is the one way an export writes a file (a temporary file in the same
folder, flushed to disk, then renamed over the target: :mod:`visualconv.atomic`), so a
reader never sees half a file and a failed write leaves the old file as it was. A
:class:`Written` records what an export created — files and the folders it had to make —
so that a cancel or an error can take all of it away again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import atomic


def write_atomic(path: str | Path, content: bytes | str, *, follow_symlinks: bool = False) -> Path:
    """Write ``content`` to ``path`` atomically: :func:`visualconv.atomic.write_atomic`.

    Raises :class:`~visualconv.atomic.WriteError` (the old file unchanged, the message
    naming the file) when it cannot; a symbolic link only with ``follow_symlinks``; the
    parent folder must exist.
    """
    return atomic.write_atomic(path, content, follow_symlinks=follow_symlinks)


@contextlib.contextmanager
def atomic_target(path: Path, follow_symlinks: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) for a library to write; renamed on success.

    The same rules and messages as :func:`visualconv.atomic.write_atomic`: a symbolic link
    only with ``follow_symlinks``, the folder must exist, a failure leaves the old file and
    raises :class:`~visualconv.atomic.WriteError` naming ``path``.
    """
    target = atomic.resolve_target(path, follow_symlinks=follow_symlinks)
    existed = target.exists()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    except OSError as exc:
        raise atomic.WriteError(str(path), atomic.reason(exc), existed, exc.errno) from None
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise atomic.WriteError(str(path), atomic.reason(exc), existed, exc.errno) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


class Stream:
    """A file written a frame at a time into a temporary file beside it, renamed when finished.

    ``add(frame)`` writes a frame (the one before it, really: the last frame is held longer,
    so one frame waits), ``finish()`` writes the last and puts the file in place,
    ``abort()`` removes what was written (the old file stays as it was). A ``with`` block
    finishes on success and aborts on an exception. The rules and messages are those of
    :func:`atomic_target`.
    """

    def __init__(self, path: str | Path, follow_symlinks: bool = False) -> None:
        self.path = Path(path)
        self._stack = contextlib.ExitStack()
        self.tmp: Path = self._stack.enter_context(atomic_target(self.path, follow_symlinks))
        self.count = 0
        self._open = True

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, kind: object, value: BaseException | None, traceback: object) -> None:
        if value is None:
            self.finish()
        else:
            self.abort(value)

    def add(self, frame: Any) -> None:
        """Add a frame (an array of the format's kind); a failure to write aborts the file.

        Raises
        ------
        WriteError
            The frame could not be written (the message names the file; an old file is unchanged).
        """
        try:
            self._add(frame)
        except OSError as exc:
            self.abort(exc)
            raise
        except BaseException:
            self.abort()
            raise

    def _add(self, frame: Any) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        """Write what the format keeps for the end (called once, before the rename)."""

    def _drop(self) -> None:
        """Let go of what is open without finishing the file."""

    def finish(self) -> Path:
        """Write the last frame and the end of the file, then rename it over ``path``."""
        if self._open:
            self._open = False
            try:
                self._close()
            except BaseException as exc:
                self._drop()
                self._stack.__exit__(type(exc), exc, exc.__traceback__)
                raise
            self._stack.close()
        return self.path

    def abort(self, reason: BaseException | None = None) -> None:
        """Stop without a file: the temporary file is removed, an old file is left as it was.

        ``reason`` is the exception that stopped the writing: a failure to write (an
        ``OSError``) is raised again as a :class:`~visualconv.atomic.WriteError` naming the file.
        """
        if not self._open:
            return
        self._open = False
        self._drop()
        if reason is None:
            cause = ExportAborted()
            with contextlib.suppress(ExportAborted):
                self._stack.__exit__(ExportAborted, cause, None)
        else:
            self._stack.__exit__(type(reason), reason, reason.__traceback__)


class ExportAborted(Exception):
    """What a stream is told when it is aborted without a reason."""


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

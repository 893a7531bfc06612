"""Every file visualconv writes goes through :func:`write_atomic`: whole or not at all.

The bytes go to a temporary file in the target's own folder, are flushed to the disk
(``fsync``), and the temporary file is renamed over the target; then the folder itself
is flushed so the rename survives a power cut. A failure at any point (a full disk, a
read-only folder, a kill) leaves the old file exactly as it was, and the temporary file
is removed.

Two rules protect files the user did not mean to touch:

- A symbolic link is not written through unless the caller says the user chose it
  (``follow_symlinks=True``: the command line's ``--follow-symlinks``, or the window's
  own file dialog, which confirms replacing an existing file). Otherwise the write is
  refused and the message names the file the link points to.
- :func:`write_atomic` never creates a folder: a missing parent is refused with a message
  saying which folder is missing (Save, ``train --out``, the recovery journal). Exports
  make the folders they are given, missing parents included, with :func:`make_folder`,
  and say so: ``visualconv: created the folder out/slides``.

Errors are :class:`WriteError`, a :class:`~visualconv.engine.errors.ModelError` whose
file is the file being written, so the command line prints one line such as::

    visualconv: out.svg: could not write: no space left on device (the old file is unchanged)

Qt-free.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from .engine.errors import Message, ModelError

__all__ = ["WriteError", "make_folder", "write_atomic"]


class WriteError(ModelError, OSError):
    """A file could not be written; the old file (if any) is unchanged.

    The error names the file that was being written, so :meth:`in_file` keeps it (a
    command that attributes errors to its model file must not rename this one). It is
    both a :class:`ModelError` (one line for the user) and an :class:`OSError` (``errno``,
    ``strerror``, ``filename``), so code that catches either sees it.

    Parameters
    ----------
    path : str
        The file that was being written.
    reason : str
        Why, in lower-case words (``no space left on device``).
    existed : bool
        Whether an old file was there (and is unchanged).
    errno_value : int, optional
        The operating system's error number, when there was one.
    """

    def __init__(self, path: str, reason: str, existed: bool = False, errno_value: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.existed = existed
        tail = Message("the old file is unchanged") if existed else Message("nothing was written")
        super().__init__(Message("could not write: {reason} ({tail})", reason=reason, tail=tail), "", path)
        self.errno = errno_value
        self.strerror = reason
        self.filename = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return WriteError, (self.path, self.reason, self.existed, self.errno)

    def in_file(self, file: str) -> ModelError:
        """The same error: it names the file written, not the model it came from."""
        return self


def reason(exc: OSError) -> str:
    """An operating-system error's reason in lower-case words (``no space left on device``)."""
    text = exc.strerror or str(exc) or exc.__class__.__name__
    return text[:1].lower() + text[1:]


def _umask() -> int:
    """The process's umask, read without changing it (Linux); 0o022 elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (the rename) to the disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def resolve_target(
    path: str | os.PathLike[str], *, follow_symlinks: bool = False, missing_folders_ok: bool = False
) -> Path:
    """The file a write to ``path`` replaces, after the symlink and parent-folder checks.

    Raises
    ------
    WriteError
        ``path`` is a symbolic link and ``follow_symlinks`` is False, it is a folder, a
        parent is a file, or (unless ``missing_folders_ok``) its parent folder does not exist.
    """
    given = Path(path)
    name = str(given)
    if given.is_symlink():
        pointed = os.path.realpath(given)
        if not follow_symlinks:
            raise WriteError(
                name,
                f"it is a symbolic link to {pointed}; pass --follow-symlinks to write there",
                existed=True,
            )
        target = Path(pointed)
    else:
        target = Path(os.path.abspath(given))
    if target.is_dir():
        raise WriteError(name, "it is a folder; expected a file name", existed=True)
    parent = target.parent
    if not parent.is_dir():
        missing = parent
        while not missing.parent.is_dir() and missing.parent != missing:
            missing = missing.parent
        if missing.exists():
            raise WriteError(name, f"{missing} is not a folder")
        if not missing_folders_ok:
            raise WriteError(name, f"the folder {missing} does not exist (create it first)")
    return target


def check_writable(path: str | os.PathLike[str], *, follow_symlinks: bool = False) -> Path:
    """Check now that ``path`` could be written later (before long work): folder, link, permission.

    Creates and removes a temporary file in the target's folder.

    Raises
    ------
    WriteError
        As :func:`write_atomic` would.
    """
    target = resolve_target(path, follow_symlinks=follow_symlinks)
    existed = target.exists()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:100]}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise WriteError(str(path), reason(exc), existed, exc.errno) from None
    os.close(fd)
    os.unlink(tmp)
    return target


def write_atomic(
    path: str | os.PathLike[str], content: bytes | str, *, follow_symlinks: bool = False
) -> Path:
    """Write ``content`` to ``path`` atomically (str is written as UTF-8).

    A file that is replaced keeps its permissions; a new file gets 0o666 minus the umask.

    Parameters
    ----------
    path : str or path-like
    content : bytes or str
    follow_symlinks : bool
        Write to the file a symbolic link points to (the user chose it); default: refuse.

    Returns
    -------
    Path
        ``path`` as given.

    Raises
    ------
    WriteError
        Nothing was changed on the disk; the message names ``path`` and the reason.
    """
    name = str(path)
    target = resolve_target(path, follow_symlinks=follow_symlinks)
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None
    existed = mode is not None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:100]}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise WriteError(name, reason(exc), existed, exc.errno) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            view = memoryview(data)
            while view:
                written = handle.write(view)
                if not written:  # pragma: no cover - a raw stream that takes nothing
                    raise OSError(errno.EIO, "the disk took no bytes")
                view = view[written:]
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WriteError(name, reason(exc), existed, exc.errno) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)
    return Path(path)


def missing_folders(path: str | os.PathLike[str]) -> list[Path]:
    """The folders that making ``path`` (a folder) would create, outermost first."""
    folder = Path(os.path.abspath(path))
    missing: list[Path] = []
    while not folder.exists() and not folder.is_symlink() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def make_folder(path: str | os.PathLike[str]) -> list[Path]:
    """Make sure the output folder ``path`` exists, with any missing parents; the folders made now.

    Exports create the folders they are given and say so (the command line prints
    ``visualconv: created the folder ...``); Save, ``train --out`` and the recovery
    journal do not (their folder must exist).

    Raises
    ------
    WriteError
        ``path`` or a parent is a file, or a folder cannot be made.
    """
    folder = Path(path)
    if folder.is_dir():
        return []
    name = str(folder)
    missing = missing_folders(folder)
    if not missing:  # it exists, or it is a dangling symbolic link
        raise WriteError(name, "it exists and is not a folder; expected a folder", existed=True)
    blocker = missing[0].parent
    if not blocker.is_dir():
        raise WriteError(name, f"{blocker} is not a folder")
    made: list[Path] = []
    try:
        for item in missing:
            item.mkdir(exist_ok=True)
            made.append(item)
    except OSError as exc:
        raise WriteError(name, reason(exc), False, exc.errno) from None
    _fsync_folder(missing[0].parent)
    return made

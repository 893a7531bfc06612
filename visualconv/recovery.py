"""Unsaved work that survives a crash: one recovery journal per window, and the log location.

Each window with unsaved changes owns a :class:`Journal`: two files in
``<data dir>/recovery/`` named by a key unique to the window (process id, start time
in nanoseconds and a counter):

``<key>.lock``
    Held with an exclusive ``flock`` for as long as the window lives. The operating
    system drops the lock when the process dies however it dies (``kill -9``, a
    segfault, a power cut), so "can another process take the lock?" is the liveness
    test: a second window never offers, claims or deletes a live window's journal.
``<key>.journal``
    One JSON record per line, each appended and ``fsync``-ed before the edit's event
    handler returns (a few milliseconds per edit). A record is either the whole model
    (``"model"``) or, when only numbers in existing tensors changed, a patch of the
    changed cells (``"patch"``); every record carries a sequence number, the time and
    the model's file as an absolute path (``"source"``).

A whole-model record replaces the journal (an atomic rewrite holding that record and
any later patches), so the file stays about the size of one model plus the patches
since. A model too large to encode in the event handler (more than
:data:`SYNC_VALUES` numbers, for example a structural edit of a 16 x 256 x 256 model:
11 MB of JSON, over a second) is encoded by a background thread; until it is on disk,
recovery gives the model of the edit before it, so the time an edit can be lost is
bounded by one encoding of the model.

Reading a journal takes the last whole-model record and applies the patches that
follow it in sequence; a torn last line (the process died mid-write) is ignored.

The data directory is ``$VISUALCONV_DATA_DIR`` when set, else the platform's user
data directory (``$XDG_DATA_HOME/visualconv`` or ``~/.local/share/visualconv`` on
Linux). Qt-free, so it is tested without a display.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_atomic
from .engine.errors import ModelError
from .engine.model import Model
from .modelfile import model_document, model_from_document, parse_document

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

RECOVERY_FOLDER = "recovery"
LEGACY_NAME = "recovery.json"
"""The single recovery file of earlier versions; still offered when found."""
RECOVERY_NAME = LEGACY_NAME
LOG_NAME = "visualconv.log"
SYNC_VALUES = 200_000
"""Records of up to this many numbers are written in the edit's event handler."""
PATCHES_BEFORE_SNAPSHOT = 2000
"""After this many patches, the next record is the whole model (the journal shrinks)."""

_counter = itertools.count()


def data_dir() -> Path:
    """The user's visualconv data directory (created if missing)."""
    override = os.environ.get("VISUALCONV_DATA_DIR")
    if override:
        base = Path(override)
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "visualconv"
    elif sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home())) / "visualconv"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "visualconv"
    base.mkdir(parents=True, exist_ok=True)
    return base


def log_path() -> Path:
    """Where the window logs unexpected errors with their tracebacks."""
    return data_dir() / LOG_NAME


def recovery_dir(directory: Path | None = None) -> Path:
    """The folder of the recovery journals (created if missing)."""
    folder = (directory or data_dir()) / RECOVERY_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ---------------------------------------------------------------- liveness


class _Lock:
    """An exclusive lock on a file, held until :meth:`release` (or the process dies).

    ``fd`` is None for a lock file that is not there (nobody holds it).
    """

    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = None


def _lock_fd(fd: int) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
    import msvcrt  # pragma: no cover - Windows

    try:  # pragma: no cover
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # pragma: no cover
        return False
    return True  # pragma: no cover


def _try_lock(path: Path, create: bool = False) -> _Lock | None:
    """Take the exclusive lock of ``path`` without waiting; None when a live process holds it.

    A lock file that is missing counts as free (``_Lock(None)``) unless ``create``. The
    lock is checked to be on the file still at ``path`` (not one its owner removed and
    made again meanwhile).
    """
    flags = os.O_RDWR | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:
        return None if create else _Lock(None)
    except OSError:
        return None
    if not _lock_fd(fd):
        os.close(fd)
        return None
    try:
        same = os.fstat(fd).st_ino == os.stat(path).st_ino
    except OSError:
        same = False
    if not same:
        os.close(fd)
        return None if create else _Lock(None)
    return _Lock(fd)


# ---------------------------------------------------------------- records


def _absolute(source: str | None) -> str | None:
    return os.path.abspath(source) if source else None


def recovery_text(model: Model, source: str | None) -> str:
    """A whole-model record (compact JSON on one line; floats round-trip exactly).

    Uses the standard library's C encoder: for a 16 x 256 x 256 model it is several
    times faster than the indented model-file layout, and nobody reads this file.
    """
    payload: dict[str, Any] = {
        "saved_at": time.time(),
        "source": _absolute(source),
        "model": model_document(model),
    }
    return json.dumps(payload, allow_nan=False, separators=(",", ":"))


def _values(model: Model) -> int:
    """How many numbers the model holds in its tensors (the size of its record)."""
    from .editing import get_tensor, tensor_names

    total = 0
    for name in tensor_names(model):
        total += get_tensor(model, name).size
    return total


def _same(a: Any, b: Any, skip_a: set[int], skip_b: set[int]) -> bool:
    """Whether two model parts are equal, not looking into the arrays whose ids are skipped."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if id(a) in skip_a and id(b) in skip_b:
            return True
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and bool(np.array_equal(a, b))
        )
    if type(a) is not type(b):
        return False
    if is_dataclass(a) and not isinstance(a, type):
        return all(_same(getattr(a, f.name), getattr(b, f.name), skip_a, skip_b) for f in fields(a))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, skip_a, skip_b) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], skip_a, skip_b) for k in a)
    try:
        return bool(a == b)
    except Exception:
        return False


def model_patch(before: Model, after: Model) -> list[dict[str, Any]] | None:
    """The cells of ``after`` that differ from ``before``, or None when more than numbers changed.

    Returns
    -------
    list of dict or None
        One ``{"tensor": name, "index": [flat indices], "value": [numbers]}`` per changed
        tensor (``[]`` when nothing changed); None when the layers, shapes, settings,
        name or anything else but the numbers of existing tensors differ.
    """
    from .editing import get_tensor, tensor_names

    names = tensor_names(before)
    if tensor_names(after) != names:
        return None
    pairs = [(name, get_tensor(before, name), get_tensor(after, name)) for name in names]
    if any(a.shape != b.shape for _, a, b in pairs):
        return None
    if not _same(before, after, {id(a) for _, a, _ in pairs}, {id(b) for _, _, b in pairs}):
        return None
    patch = []
    for name, a, b in pairs:
        if a is b:
            continue
        changed = np.flatnonzero(a.ravel() != b.ravel())
        if changed.size:
            patch.append({"tensor": name, "index": changed.tolist(), "value": b.ravel()[changed].tolist()})
    return patch


def apply_patch(model: Model, patch: list[dict[str, Any]]) -> Model:
    """``model`` with the cells of a :func:`model_patch` set."""
    from .editing import get_tensor, with_tensor

    for entry in patch:
        array = get_tensor(model, entry["tensor"]).copy()
        array.ravel()[np.asarray(entry["index"], dtype=np.int64)] = np.asarray(
            entry["value"], dtype=np.float64
        )
        model = with_tensor(model, entry["tensor"], array)
    return model


@dataclass(frozen=True, slots=True)
class Recovered:
    """A model found in a recovery journal.

    Attributes
    ----------
    model : Model
    source : str or None
        The file the model was opened from (an absolute path), if any.
    saved_at : float
        Seconds since the epoch when its last record was written.
    key : str
        The window it came from ("" for the single file of earlier versions).
    live : bool
        Whether that window is still running (then it is never offered nor deleted).
    """

    model: Model
    source: str | None
    saved_at: float
    key: str = ""
    live: bool = False
    directory: Path | None = field(default=None, repr=False, compare=False)
    _claim: _Lock | None = field(default=None, repr=False, compare=False)

    def release(self) -> None:
        """Let other windows see this recovery again (it stays on disk)."""
        if self._claim is not None:
            self._claim.release()


def _decode_model(document: Any) -> Model:
    return model_from_document(parse_document(json.dumps(document)))


def read_journal(path: Path) -> tuple[Model, str | None, float] | None:
    """The model a journal ends with, its source and time; None when nothing in it is usable."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    fulls: list[tuple[int, dict[str, Any]]] = []
    patches: dict[int, dict[str, Any]] = {}
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            seq = int(record["seq"])
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line
        if "model" in record:
            fulls.append((seq, record))
        elif "patch" in record:
            patches[seq] = record
    for seq, record in sorted(fulls, key=lambda item: -item[0]):
        try:
            model = _decode_model(record["model"])
        except (ValueError, KeyError, TypeError, ModelError):
            continue
        last = record
        while seq + 1 in patches:
            try:
                model = apply_patch(model, patches[seq + 1]["patch"])
            except (ValueError, KeyError, TypeError, IndexError, ModelError):
                break
            seq += 1
            last = patches[seq]
        source = last.get("source")
        return model, source if isinstance(source, str) else None, float(last.get("saved_at", 0.0))
    return None


def _read_legacy(path: Path) -> tuple[Model, str | None, float] | None:
    try:
        payload = json.loads(path.read_text("utf-8"))
        model = _decode_model(payload["model"])
    except (OSError, ValueError, KeyError, TypeError, ModelError):
        return None
    source = payload.get("source")
    return model, source if isinstance(source, str) else None, float(payload.get("saved_at", 0.0))


def find_recoveries(directory: Path | None = None, *, include_live: bool = False) -> list[Recovered]:
    """Every recovery left by a window that is no longer running, newest first.

    Each one returned is *claimed*: its lock is held by this process until
    :meth:`Recovered.release` or :func:`discard`, so two windows starting at once do not
    both offer it. With ``include_live``, live windows' recoveries are listed too
    (``live=True``, not claimed; read-only).
    """
    base = directory or data_dir()
    found: list[Recovered] = []
    legacy = base / LEGACY_NAME
    if legacy.exists():
        result = _read_legacy(legacy)
        if result is not None:
            found.append(Recovered(*result, key="", directory=base))
    folder = base / RECOVERY_FOLDER
    journals = sorted(folder.glob("*.journal")) if folder.is_dir() else []
    for journal in journals:
        key = journal.stem
        claim = _try_lock(folder / f"{key}.lock")
        if claim is None and not include_live:
            continue
        result = read_journal(journal)
        if result is None:
            if claim is not None:  # a dead window's empty or unreadable journal
                _remove(folder, key)
                claim.release()
            continue
        found.append(Recovered(*result, key=key, live=claim is None, directory=base, _claim=claim))
    found.sort(key=lambda r: -r.saved_at)
    return found


def _remove(folder: Path, key: str) -> None:
    (folder / f"{key}.journal").unlink(missing_ok=True)
    (folder / f"{key}.lock").unlink(missing_ok=True)


def discard(found: Recovered) -> bool:
    """Delete a dead window's recovery; False (and nothing deleted) if its window is live."""
    base = found.directory or data_dir()
    if not found.key:
        (base / LEGACY_NAME).unlink(missing_ok=True)
        return True
    claim = found._claim
    if claim is None or claim.fd is None:
        claim = _try_lock(base / RECOVERY_FOLDER / f"{found.key}.lock")
        if claim is None:  # its window is running
            return False
    try:
        _remove(base / RECOVERY_FOLDER, found.key)
    finally:
        claim.release()
    return True


# ---------------------------------------------------------------- the journal


@dataclass
class _Snapshot:
    """A whole-model record to be encoded off the event handler."""

    seq: int
    generation: int
    model: Model
    source: str | None
    path: str = ""
    error: str = ""
    done: threading.Event = field(default_factory=threading.Event)


class Journal:
    """One window's recovery journal (see the module docstring).

    Parameters
    ----------
    directory : Path, optional
        The data directory (default :func:`data_dir`, looked up when the first record
        is written, so ``$VISUALCONV_DATA_DIR`` is honoured).
    sync_values : int
        Records of up to this many numbers are written by :meth:`record` itself.
    on_written : callable, optional
        ``on_written(path)`` after a background record reached the disk (any thread).
    on_failed : callable, optional
        ``on_failed(message)`` when a background record could not be written (any thread).
    """

    def __init__(
        self,
        directory: Path | None = None,
        *,
        sync_values: int = SYNC_VALUES,
        on_written: Callable[[str], object] | None = None,
        on_failed: Callable[[str], object] | None = None,
    ) -> None:
        self.directory = directory
        self.sync_values = sync_values
        self.key = f"{os.getpid()}-{time.time_ns()}-{next(_counter)}"
        self.on_written = on_written
        self.on_failed = on_failed
        self._lock = threading.Lock()  # the files and the fields below
        self._folder: Path | None = None
        self._owner: _Lock | None = None
        self._handle: Any = None
        self._seq = 0
        self._full_seq = 0  # sequence number of the whole-model record on disk
        self._tail: list[tuple[int, bytes]] = []  # patch lines after it
        self._last: Model | None = None
        self._generation = 0
        self._queue_lock = threading.Lock()
        self._next: _Snapshot | None = None
        self._latest: _Snapshot | None = None
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> Path | None:
        """The journal file (None before the first record)."""
        return None if self._folder is None else self._folder / f"{self.key}.journal"

    # ------------------------------------------------------------ recording

    def record(
        self, model: Model, source: str | None, *, sync: bool = False, defer: bool = False
    ) -> str | None:
        """Record ``model`` as the window's unsaved state.

        Parameters
        ----------
        model : Model
        source : str or None
            The model's file (stored as an absolute path).
        sync : bool
            Write a whole-model record now, whatever its size (a restored model).
        defer : bool
            When the record is too large for the caller's thread, write nothing and
            return None (the caller records again later, debounced).

        Returns
        -------
        str or None
            The journal's path once the record is on disk; "" when a large record was
            handed to the background writer (``on_written`` follows); None when deferred.

        Raises
        ------
        WriteError
            The journal could not be written (a full or read-only disk).
        """
        source = _absolute(source)
        with self._lock:
            self._seq += 1
            seq = self._seq
            previous, self._last = self._last, model
            patch = None
            if (
                previous is not None
                and self._handle is not None
                and len(self._tail) < PATCHES_BEFORE_SNAPSHOT
            ):
                patch = model_patch(previous, model)
            if patch is not None and sum(len(p["index"]) for p in patch) <= self.sync_values:
                line = {"seq": seq, "saved_at": time.time(), "source": source, "patch": patch}
                data = (json.dumps(line, allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")
                self._append(seq, data)
                return str(self.path)
            if sync or _values(model) <= self.sync_values:
                self._replace(seq, self._full_line(seq, model, source))
                return str(self.path)
            if defer:
                return None
            generation = self._generation
        self._submit(_Snapshot(seq, generation, model, source))
        return ""

    def _full_line(self, seq: int, model: Model, source: str | None) -> bytes:
        text = recovery_text(model, source)
        return (f'{{"seq":{seq},' + text[1:] + "\n").encode("utf-8")

    def _open(self) -> None:
        """Create and lock this window's files (lock held from here on)."""
        if self._folder is None:
            self._folder = recovery_dir(self.directory)
        if self._owner is None:
            owner = _try_lock(self._folder / f"{self.key}.lock", create=True)
            if owner is None:  # pragma: no cover - the key is unique to this window
                raise OSError(f"cannot lock {self._folder / f'{self.key}.lock'}")
            os.write(owner.fd or 0, json.dumps({"pid": os.getpid(), "started": self.key}).encode())
            self._owner = owner

    def _append(self, seq: int, data: bytes) -> None:
        from .atomic import WriteError

        assert self._handle is not None and self.path is not None
        try:
            self._handle.write(data)
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            self._drop_handle()
            raise WriteError(str(self.path), (exc.strerror or str(exc)).lower(), True, exc.errno) from None
        self._tail.append((seq, data))

    def _replace(self, seq: int, data: bytes) -> None:
        """Make the journal hold only the whole-model record ``seq`` and the patches after it."""
        self._open()
        assert self.path is not None
        later = [line for s, line in self._tail if s > seq]
        write_atomic(self.path, data + b"".join(later))
        self._drop_handle()
        self._handle = open(self.path, "ab")
        self._full_seq = seq
        self._tail = [(s, line) for s, line in self._tail if s > seq]

    def _drop_handle(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None

    # ------------------------------------------------------------ background records

    def _submit(self, snapshot: _Snapshot) -> None:
        with self._queue_lock:
            if self._next is not None:
                self._next.done.set()  # never started: the newer model replaces it
            self._next = self._latest = snapshot
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name="visualconv-recovery", daemon=True)
                self._thread.start()

    def _drain(self) -> None:
        while True:
            with self._queue_lock:
                snapshot, self._next = self._next, None
                if snapshot is None:
                    self._thread = None
                    return
            try:
                self._write_snapshot(snapshot)
            finally:
                snapshot.done.set()
            callback = self.on_failed if snapshot.error else self.on_written
            if callback is not None and (snapshot.error or snapshot.path):
                with contextlib.suppress(RuntimeError):  # the window is gone
                    callback(snapshot.error or snapshot.path)

    def _write_snapshot(self, snapshot: _Snapshot) -> None:
        try:
            data = self._full_line(snapshot.seq, snapshot.model, snapshot.source)
            with self._lock:
                if snapshot.generation == self._generation and snapshot.seq > self._full_seq:
                    self._replace(snapshot.seq, data)
                    snapshot.path = str(self.path)
        except (OSError, ValueError) as exc:
            snapshot.error = str(exc)
        except Exception as exc:
            snapshot.error = f"an unexpected error ({exc.__class__.__name__}: {exc})"

    def wait(self, timeout: float = 60.0) -> str:
        """Wait for a background record; the journal's path ("" if nothing was written)."""
        latest = self._latest
        if latest is not None and not latest.done.wait(timeout):
            return ""
        return str(self.path) if self.path is not None and self.path.exists() else ""

    # ------------------------------------------------------------ the end

    def clear(self) -> None:
        """The model was saved or the window closed cleanly: remove this window's files."""
        with self._queue_lock:
            if self._next is not None:
                self._next.done.set()
                self._next = None
        with self._lock:
            self._generation += 1
            self._last = None
            self._tail = []
            self._full_seq = self._seq
            self._drop_handle()
            if self._folder is not None:
                (self._folder / f"{self.key}.journal").unlink(missing_ok=True)
                (self._folder / f"{self.key}.lock").unlink(missing_ok=True)
            if self._owner is not None:
                self._owner.release()
                self._owner = None


# ---------------------------------------------------------------- the simple API


def write_recovery(model: Model, source: str | None, directory: Path | None = None) -> Path:
    """Write ``model`` as the recovery of a window that is not running (tests, tools).

    The journal is written whole and left unlocked, as a crashed window leaves it.
    """
    journal = Journal(directory)
    journal.record(model, source, sync=True)
    path = journal.path
    assert path is not None
    with journal._lock:
        journal._drop_handle()
        if journal._owner is not None:
            journal._owner.release()
            journal._owner = None
    return path


def read_recovery(directory: Path | None = None) -> Recovered | None:
    """The newest recovery, live or not (read-only), or None when there is none."""
    found = find_recoveries(directory, include_live=True)
    for other in found[1:]:
        other.release()
    if not found:
        return None
    found[0].release()
    return found[0]


def clear_recovery(directory: Path | None = None) -> None:
    """Remove every recovery whose window is not running (never a live window's)."""
    for found in find_recoveries(directory):
        discard(found)


@contextlib.contextmanager
def claimed(directory: Path | None = None) -> Iterator[list[Recovered]]:
    """:func:`find_recoveries`, releasing whatever is left claimed at the end."""
    found = find_recoveries(directory)
    try:
        yield found
    finally:
        for item in found:
            item.release()

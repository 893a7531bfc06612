"""Nothing lost: unsaved edits go to the recovery file, and the next start offers them back.

:class:`Autosave` watches a :class:`~visualconv.app.session.Session`. Every model change
while the model is unsaved restarts a short timer; when it fires, the model and its
file name are written atomically with :func:`visualconv.recovery.write_recovery`. A
save (the session turns clean) or a clean close of the window removes the file, so
a recovery file found at start-up means the last session ended without saving (a
crash, a kill, a power cut). :func:`start_autosave` is what the window launcher
calls: it offers to restore such a file, then attaches the controller.

The file is written by a background thread (a 16 x 256 x 256 model is 11 MB of JSON,
more than a second to encode), so editing a large model never freezes the window.
Models are immutable, so the thread reads a snapshot safely; a clear (save, clean
close) wins over any write still in progress.

The question is asked through an injectable ``ask`` function, so tests answer it
without a modal dialog.
"""

from __future__ import annotations

import datetime
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtWidgets import QMainWindow, QMessageBox, QWidget

from .. import recovery
from ..engine.model import Model
from ..recovery import Recovered
from .session import Session

DELAY_MS = 1000
"""Quiet time after the last edit before the recovery file is written."""

AskRestore = Callable[[Recovered, "QWidget | None"], bool]


@dataclass
class _Write:
    """One recovery write: the model snapshot and what became of it."""

    generation: int
    model: Model
    source: str | None
    directory: Path | None
    path: str = ""
    error: str = ""
    done: threading.Event = field(default_factory=threading.Event)


class Autosave(QObject):
    """Writes a session's unsaved model to the recovery file, debounced.

    Parameters
    ----------
    session : Session
        The state to watch.
    parent : QObject, optional
        Owner (the main window); its status bar, if any, reports failures.
    delay_ms : int
        Quiet time after the last edit before writing (tests use a few ms).
    directory : Path, optional
        Where the recovery file goes (default: :func:`visualconv.recovery.data_dir`,
        looked up at every write so ``$VISUALCONV_DATA_DIR`` is honoured).

    Signals
    -------
    sigAutosaved(str)
        The recovery file was written; the argument is its path.
    sigAutosaveFailed(str)
        It could not be written (read-only or full disk); the argument says why.
    sigCleared()
        The recovery file was removed (the model was saved, or the window closed cleanly).
    """

    sigAutosaved = pyqtSignal(str)
    sigAutosaveFailed = pyqtSignal(str)
    sigCleared = pyqtSignal()

    def __init__(
        self,
        session: Session,
        parent: QObject | None = None,
        *,
        delay_ms: int = DELAY_MS,
        directory: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.directory = directory
        self._window: QWidget | None = None
        # Writer thread state: the next write (a newer one replaces it), the thread, and
        # a generation that a clear bumps so an older write in progress is dropped.
        self._queue_lock = threading.Lock()
        self._file_lock = threading.Lock()
        self._next: _Write | None = None
        self._last: _Write | None = None
        self._thread: threading.Thread | None = None
        self._generation = 0
        self.sigAutosaveFailed.connect(self._show_status)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(delay_ms))
        self._timer.timeout.connect(self._on_timer_timeout)
        session.sigModelChanged.connect(self._on_session_model_changed)
        session.sigPathChanged.connect(self._on_session_path_changed)
        session.sigDirtyChanged.connect(self._on_session_dirty_changed)
        if session.dirty:
            self._timer.start()

    def configure(self, *, delay_ms: int | None = None, directory: Path | None = None) -> None:
        """Change the quiet time before a write and where the recovery file goes."""
        if delay_ms is not None:
            self._timer.setInterval(int(delay_ms))
        self.directory = directory

    @property
    def pending(self) -> bool:
        """Whether an edit is waiting for the timer to be written."""
        return self._timer.isActive()

    def flush(self, timeout: float = 60.0) -> str:
        """Write a pending edit now and wait for the writer; returns the file's path ("" if none)."""
        if self._timer.isActive():
            self._timer.stop()
            self._submit()
        last = self._last
        if last is None or not last.done.wait(timeout):
            return ""
        return last.path

    def watch_close(self, window: QWidget) -> None:
        """Clear the recovery file when ``window`` closes cleanly (saved or discarded).

        ``window`` needs a ``sigClosed`` signal, emitted when it accepted its close
        (:class:`~visualconv.app.main_window.MainWindow` asks about unsaved changes first).
        """
        self._window = window
        window.sigClosed.connect(self.finish)  # type: ignore[attr-defined]

    def finish(self) -> None:
        """The session ended cleanly: stop watching and remove the recovery file."""
        self._timer.stop()
        for signal, slot in (
            (self.session.sigModelChanged, self._on_session_model_changed),
            (self.session.sigPathChanged, self._on_session_path_changed),
            (self.session.sigDirtyChanged, self._on_session_dirty_changed),
        ):
            try:
                signal.disconnect(slot)
            except TypeError:
                pass
        if self._window is not None:
            try:
                self._window.sigClosed.disconnect(self.finish)  # type: ignore[attr-defined]
            except TypeError:
                pass
            self._window = None
        self._clear()

    # ------------------------------------------------------------ internals

    def _submit(self) -> None:
        """Hand the current model to the writer thread (GUI thread only)."""
        model = self.session.model
        if model is None or not self.session.dirty:
            return
        write = _Write(self._generation, model, self.session.path or None, self.directory)
        with self._queue_lock:
            if self._next is not None:
                self._next.done.set()  # never started: the newer model replaces it
            self._next = self._last = write
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name="visualconv-autosave")
                self._thread.start()

    def _drain(self) -> None:
        """The writer thread: write the newest model until there is none left."""
        while True:
            with self._queue_lock:
                write, self._next = self._next, None
                if write is None:
                    self._thread = None
                    return
            try:
                self._write(write)
            finally:
                write.done.set()
            try:
                if write.error:
                    self.sigAutosaveFailed.emit(write.error)
                elif write.path:
                    self.sigAutosaved.emit(write.path)
            except RuntimeError:  # the window (and this object) is gone
                pass

    def _write(self, write: _Write) -> None:
        try:
            text = recovery.recovery_text(write.model, write.source)
            with self._file_lock:
                if write.generation == self._generation:  # no save or close since the edit
                    write.path = str(recovery.write_recovery_text(text, write.directory))
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            write.error = f"Autosave failed: {reason}; save your model to keep the changes."
        except Exception:
            write.error = "Autosave failed: an unexpected error; save your model to keep the changes."
            sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]

    def _clear(self) -> None:
        with self._queue_lock:
            if self._next is not None:
                self._next.done.set()
                self._next = None
        try:
            with self._file_lock:
                self._generation += 1
                recovery.clear_recovery(self.directory)
        except OSError as exc:
            self._show_status(f"Cannot remove the recovery file: {exc.strerror or exc}")
            return
        self.sigCleared.emit()

    def _show_status(self, message: str) -> None:
        parent = self.parent()
        if isinstance(parent, QMainWindow):
            bar = parent.statusBar()
            if bar is not None:
                bar.showMessage(message, 8000)

    # ------------------------------------------------------------ handlers

    def _on_session_model_changed(self, model: Model) -> None:
        if self.session.dirty:
            self._timer.start()

    def _on_session_path_changed(self, path: str) -> None:
        if self.session.dirty:
            self._timer.start()

    def _on_session_dirty_changed(self, dirty: bool) -> None:
        if dirty:
            self._timer.start()
        else:
            self._timer.stop()
            self._clear()

    def _on_timer_timeout(self) -> None:
        self._submit()


# ---------------------------------------------------------------- start-up


def restore_box(found: Recovered, parent: QWidget | None = None) -> QMessageBox:
    """The question asked at start-up about a recovered model (Restore / Discard)."""
    when = datetime.datetime.fromtimestamp(found.saved_at).strftime("%d %b %Y, %H:%M")
    origin = f"from {Path(found.source).name}" if found.source else "that was never saved to a file"
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Restore unsaved changes?")
    box.setText(f"visualconv did not close normally. Unsaved changes to “{found.model.name}” were kept.")
    box.setInformativeText(
        f"The model {origin} was last autosaved on {when}.\n\n"
        "Restore opens it with its unsaved changes; Discard deletes them."
    )
    if found.source:
        box.setDetailedText(f"Original file: {found.source}")
    box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Discard)
    return box


def ask_restore(found: Recovered, parent: QWidget | None = None) -> bool:
    """Ask (modal) whether to restore ``found``; True for Restore."""
    box = restore_box(found, parent)
    box.exec()
    clicked = box.clickedButton()
    return clicked is not None and box.buttonRole(clicked) == QMessageBox.ButtonRole.AcceptRole


def offer_restore(window: QWidget, ask: AskRestore | None = None, directory: Path | None = None) -> bool:
    """Offer the recovery file's model, if there is one; returns True when it was restored.

    A restored model is shown unsaved (dirty) with the file it came from, so Save
    writes there (or asks for a name); a declined one is deleted. ``ask`` defaults to
    :func:`ask_restore` (looked up at call time, so tests can replace it).
    """
    found = recovery.read_recovery(directory)
    if found is None:
        return False
    session: Session = window.session  # type: ignore[attr-defined]
    if (ask or ask_restore)(found, window):
        session.set_model(found.model, found.source or "", dirty=True)
        if isinstance(window, QMainWindow) and window.statusBar() is not None:
            window.statusBar().showMessage("Restored the unsaved changes; save to keep them.", 10000)  # type: ignore[union-attr]
        return True
    recovery.clear_recovery(directory)
    return False


def start_autosave(
    window: QWidget,
    *,
    ask: AskRestore | None = None,
    delay_ms: int = DELAY_MS,
    directory: Path | None = None,
) -> Autosave:
    """What the launcher does before the user edits: offer a recovered model, then autosave.

    Returns the controller: the window's own (``window.autosave``, set to ``delay_ms``
    and ``directory``), or a new child of ``window`` for a window without one.
    """
    offer_restore(window, ask, directory)
    autosave = getattr(window, "autosave", None)
    if isinstance(autosave, Autosave):  # the main window makes its own
        autosave.configure(delay_ms=delay_ms, directory=directory)
        return autosave
    session: Session = window.session  # type: ignore[attr-defined]
    autosave = Autosave(session, window, delay_ms=delay_ms, directory=directory)
    autosave.watch_close(window)
    return autosave

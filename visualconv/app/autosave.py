"""Nothing lost: every unsaved edit goes to the window's recovery journal, and the next start offers it.

:class:`Autosave` watches a :class:`~visualconv.app.session.Session`. Every model change
while the model is unsaved is recorded in this window's
:class:`~visualconv.recovery.Journal` before the handler returns: a small append and an
``fsync`` (the changed cells, or the whole model when it is small), so a kill right
after an edit keeps it. A model too large to encode in the handler is written by the
journal's background thread, debounced (``delay_ms`` of quiet, at most ``4 * delay_ms``
while edits keep coming), so editing a large model never freezes the window.

A save (the session turns clean) or a clean close of the window removes the journal, so
a journal found at start-up whose window is no longer running means that window ended
without saving (a crash, a kill, a power cut). Journals of windows still running are
never offered nor deleted. :func:`start_autosave` is what the window launcher calls: it
offers every dead window's recovery, then attaches the controller.

The question is asked through an injectable ``ask`` function, so tests answer it
without a modal dialog: it returns True (restore), False (discard) or None (keep it
for the next start).
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QObject, QTimer, pyqtSignal, pyqtSlot
from PyQt6.QtWidgets import QLabel, QMainWindow, QMessageBox, QWidget

from .. import recovery
from ..engine.model import Model
from ..i18n import _
from ..recovery import Journal, Recovered
from .session import Session

DELAY_MS = 250
"""Quiet time after an edit before a large model's background record starts."""

AskRestore = Callable[[Recovered, "QWidget | None"], "bool | None"]


class Autosave(QObject):
    """Records a session's unsaved model in the window's recovery journal, edit by edit.

    Parameters
    ----------
    session : Session
        The state to watch.
    parent : QObject, optional
        Owner (the main window); its status bar, if any, reports failures.
    delay_ms : int
        Debounce of the background record of a large model (see the module docstring).
    directory : Path, optional
        The data directory (default: :func:`visualconv.recovery.data_dir`, looked up at
        the first record so ``$VISUALCONV_DATA_DIR`` is honoured).
    sync_values : int, optional
        Records of up to this many numbers are written in the edit's handler
        (default :data:`visualconv.recovery.SYNC_VALUES`).

    Signals
    -------
    sigAutosaved(str)
        A record reached the disk; the argument is the journal's path.
    sigAutosaveFailed(str)
        It could not be written (read-only or full disk); the argument says why.
    sigCleared()
        The journal was removed (the model was saved, or the window closed cleanly).
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
        sync_values: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.directory = directory
        self._window: QWidget | None = None
        self.journal = self._new_journal(directory, sync_values)
        self._recorded: Model | None = None
        self._warning: QLabel | None = None
        self.sigAutosaveFailed.connect(self._on_failed)
        self.sigAutosaved.connect(self._on_written)
        self.sigCleared.connect(self._on_written)
        # A large model's record waits for a pause of delay_ms, but never more than 4 * delay_ms.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(0, int(delay_ms)))
        self._timer.timeout.connect(self._on_timer_timeout)
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.setInterval(max(0, 4 * int(delay_ms)))
        self._deadline.timeout.connect(self._on_timer_timeout)
        session.sigModelChanged.connect(self._on_session_model_changed)
        session.sigPathChanged.connect(self._on_session_path_changed)
        session.sigDirtyChanged.connect(self._on_session_dirty_changed)
        if session.dirty:
            self._record()

    def _new_journal(self, directory: Path | None, sync_values: int | None) -> Journal:
        return Journal(
            directory,
            sync_values=recovery.SYNC_VALUES if sync_values is None else sync_values,
            on_written=self.sigAutosaved.emit,
            on_failed=self._background_failed,
        )

    def configure(self, *, delay_ms: int | None = None, directory: Path | None = None) -> None:
        """Change the quiet time before a large model's record, and the data directory.

        The directory changes only while nothing was recorded yet (the journal keeps its file).
        """
        if delay_ms is not None:
            self._timer.setInterval(max(0, int(delay_ms)))
            self._deadline.setInterval(max(0, 4 * int(delay_ms)))
        if self.journal.path is None:  # nothing recorded yet: a journal made now, as a new Autosave makes
            self.directory = directory
            self.journal = self._new_journal(directory, None)

    @property
    def pending(self) -> bool:
        """Whether a large model's record is waiting for its timer."""
        return self._timer.isActive() or self._deadline.isActive()

    @property
    def path(self) -> Path | None:
        """The window's journal (None before the first record)."""
        return self.journal.path

    def flush(self, timeout: float = 60.0) -> str:
        """Write a pending record now and wait for the writer; returns the journal's path ("" if none)."""
        if self.pending:
            self._stop_timers()
            self._write(self.session.model)
        return self.journal.wait(timeout)

    def watch_close(self, window: QWidget) -> None:
        """Clear the journal when ``window`` closes cleanly (saved or discarded).

        ``window`` needs a ``sigClosed`` signal, emitted when it accepted its close
        (:class:`~visualconv.app.main_window.MainWindow` asks about unsaved changes first).
        """
        self._window = window
        window.sigClosed.connect(self.finish)  # type: ignore[attr-defined]

    @pyqtSlot()
    def release(self) -> None:
        """The window is going (shut down or disposed of): stop the timers and close the journal's files.

        What was recorded stays on disk; a clean close still clears it (:meth:`finish`).
        """
        self._stop_timers()
        self.journal.close()

    def finish(self) -> None:
        """The session ended cleanly: stop watching and remove the journal."""
        self._stop_timers()
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

    def record_now(self) -> str:
        """Write the whole current model now, whatever its size (a restored model); the path."""
        model = self.session.model
        if model is None or not self.session.dirty:
            return ""
        self._stop_timers()
        try:
            path = self.journal.record(model, self.session.path or None, sync=True)
        except (OSError, ValueError) as exc:
            self._failed(exc)
            return ""
        self._recorded = model
        self.sigAutosaved.emit(path)
        return path

    # ------------------------------------------------------------ internals

    def _record(self) -> None:
        """An edit: into the journal now, or (a large model) after the debounce."""
        model = self.session.model
        if model is None or not self.session.dirty or model is self._recorded:
            return
        if self._write(model, defer=True) is None:
            self._timer.start()
            if not self._deadline.isActive():
                self._deadline.start()
        else:
            self._stop_timers()

    def _write(self, model: Model | None, defer: bool = False) -> str | None:
        if model is None or not self.session.dirty:
            return ""
        try:
            path = self.journal.record(model, self.session.path or None, defer=defer)
        except (OSError, ValueError) as exc:
            self._failed(exc)
            return ""
        except Exception:
            self._failed(None)
            sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
            return ""
        if path is None:
            return None
        self._recorded = model
        if path:
            self.sigAutosaved.emit(path)
        return path

    def _failed(self, exc: BaseException | None) -> None:
        reason = _("an unexpected error") if exc is None else (getattr(exc, "reason", None) or str(exc))
        self.sigAutosaveFailed.emit(
            _("Autosave failed: {reason}; save your model to keep the changes.").format(reason=reason)
        )

    def _background_failed(self, message: str) -> None:
        self.sigAutosaveFailed.emit(
            _("Autosave failed: {reason}; save your model to keep the changes.").format(reason=message)
        )

    def _stop_timers(self) -> None:
        self._timer.stop()
        self._deadline.stop()

    def _clear(self) -> None:
        self._recorded = None
        try:
            self.journal.clear()
        except OSError as exc:
            self._show_status(
                _("Cannot remove the recovery journal: {reason}").format(reason=exc.strerror or exc)
            )
            return
        self.sigCleared.emit()

    @property
    def warning(self) -> str:
        """The failure shown in the window's status bar until a record succeeds ("" when none)."""
        return self._warning.text() if self._warning is not None and not self._warning.isHidden() else ""

    @pyqtSlot(str)
    def _on_failed(self, message: str) -> None:
        """A failed record stays on show (a permanent status-bar label), not a passing message."""
        parent = self.parent()
        if not isinstance(parent, QMainWindow) or parent.statusBar() is None:
            return
        if self._warning is None:
            self._warning = QLabel(parent)
            self._warning.setStyleSheet("color: #b00020;")
            parent.statusBar().addPermanentWidget(self._warning)  # type: ignore[union-attr]
        self._warning.setText(message)
        self._warning.show()

    @pyqtSlot()
    @pyqtSlot(str)
    def _on_written(self, path: str = "") -> None:
        if self._warning is not None:
            self._warning.hide()

    def _show_status(self, message: str) -> None:
        parent = self.parent()
        if isinstance(parent, QMainWindow):
            bar = parent.statusBar()
            if bar is not None:
                bar.showMessage(message, 8000)

    # ------------------------------------------------------------ handlers

    @pyqtSlot(object)
    def _on_session_model_changed(self, model: Model) -> None:
        if self.session.dirty:
            self._record()

    @pyqtSlot(str)
    def _on_session_path_changed(self, path: str) -> None:
        if self.session.dirty:
            self._recorded = None  # the record carries the file name
            self._record()

    @pyqtSlot(bool)
    def _on_session_dirty_changed(self, dirty: bool) -> None:
        if dirty:
            self._record()
        else:
            self._stop_timers()
            self._clear()

    @pyqtSlot()
    def _on_timer_timeout(self) -> None:
        self._stop_timers()
        self._write(self.session.model)


# ---------------------------------------------------------------- start-up


def restore_box(found: Recovered, parent: QWidget | None = None) -> QMessageBox:
    """The question asked at start-up about a recovered model (Restore / Discard / Keep for later)."""
    when = datetime.datetime.fromtimestamp(found.saved_at).strftime("%d %b %Y, %H:%M")
    origin = (
        _("from {file}").format(file=Path(found.source).name)
        if found.source
        else _("that was never saved to a file")
    )
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(_("Restore unsaved changes?"))
    box.setText(
        _("A visualconv window did not close normally. Unsaved changes to “{name}” were kept.").format(
            name=found.model.name
        )
    )
    box.setInformativeText(
        _("The model {origin} was last autosaved on {when}.").format(origin=origin, when=when)
        + "\n\n"
        + _(
            "Restore opens it with its unsaved changes; Discard deletes them; "
            "Keep for later asks again at the next start."
        )
    )
    if found.source:
        box.setDetailedText(_("Original file: {file}").format(file=found.source))
    box.addButton(_("Restore"), QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Discard)
    box.addButton(_("Keep for later"), QMessageBox.ButtonRole.RejectRole)
    return box


def ask_restore(found: Recovered, parent: QWidget | None = None) -> bool | None:
    """Ask (modal) about ``found``: True for Restore, False for Discard, None for Keep for later."""
    box = restore_box(found, parent)
    box.exec()
    clicked = box.clickedButton()
    if clicked is None:
        return None
    role = box.buttonRole(clicked)
    if role == QMessageBox.ButtonRole.AcceptRole:
        return True
    if role == QMessageBox.ButtonRole.DestructiveRole:
        return False
    return None


def _status(window: QWidget, message: str) -> None:
    if isinstance(window, QMainWindow) and window.statusBar() is not None:
        window.statusBar().showMessage(message, 10000)  # type: ignore[union-attr]


def offer_restore(
    window: QWidget,
    ask: AskRestore | None = None,
    directory: Path | None = None,
    open_window: Callable[[], QWidget] | None = None,
) -> list[tuple[QWidget, Recovered]]:
    """Offer every recovery left by a window that is no longer running, newest first.

    The first one restored goes into ``window``; each further one into a new window
    from ``open_window()`` (without it, further ones are kept for the next start). A
    restored model is shown unsaved (dirty) with the file it came from (an absolute
    path), so Save writes there. Discard deletes a recovery; Keep for later (``ask``
    returns None) leaves it. Recoveries of windows still running are never offered.
    ``ask`` defaults to :func:`ask_restore` (looked up at call time, so tests can replace it).

    Returns
    -------
    list of (window, Recovered)
        Where each restored model went; the caller deletes each recovery once the new
        window's own journal holds the model (:func:`start_autosave` does).
    """
    restored: list[tuple[QWidget, Recovered]] = []
    kept = 0
    for found in recovery.find_recoveries(directory):
        try:
            answer = (ask or ask_restore)(found, window)
        except BaseException:
            found.release()
            raise
        if answer is None:
            found.release()
            continue
        if not answer:
            recovery.discard(found)
            continue
        target = window if not restored else (open_window() if open_window is not None else None)
        if target is None:
            found.release()
            kept += 1
            continue
        session: Session = target.session  # type: ignore[attr-defined]
        session.set_model(found.model, found.source or "", dirty=True)
        _status(target, _("Restored the unsaved changes; save to keep them."))
        restored.append((target, found))
    if kept:
        _status(
            window,
            _("Restored the unsaved changes; {n} more unsaved model(s) kept for the next start.").format(
                n=kept
            ),
        )
    return restored


def start_autosave(
    window: QWidget,
    *,
    ask: AskRestore | None = None,
    delay_ms: int = DELAY_MS,
    directory: Path | None = None,
    open_window: Callable[[], QWidget] | None = None,
    offer: bool = True,
) -> Autosave:
    """What the launcher does before the user edits: offer recovered models, then autosave.

    Each window that received a restored model gets its own :class:`Autosave`, which
    writes the model to that window's journal at once; only then is the dead window's
    recovery deleted (if that write fails, the recovery stays for the next start).

    Returns the controller of ``window`` (a child of it, so ``window.findChild(Autosave)``
    finds it too).
    """
    restored = offer_restore(window, ask, directory, open_window) if offer else []
    autosave = attach_autosave(window, delay_ms=delay_ms, directory=directory)
    for target, found in restored:
        controller = (
            autosave if target is window else attach_autosave(target, delay_ms=delay_ms, directory=directory)
        )
        if controller.record_now():
            recovery.discard(found)
        else:
            found.release()
    return autosave


def attach_autosave(window: QWidget, *, delay_ms: int = DELAY_MS, directory: Path | None = None) -> Autosave:
    """An :class:`Autosave` for ``window``'s session, cleared when the window closes cleanly."""
    existing = window.findChild(Autosave)
    if isinstance(existing, Autosave):  # the main window makes its own
        existing.configure(delay_ms=delay_ms, directory=directory)
        return existing
    session: Session = window.session  # type: ignore[attr-defined]
    autosave = Autosave(session, window, delay_ms=delay_ms, directory=directory)
    autosave.watch_close(window)
    return autosave

"""One error path for the window: log the traceback, show a readable dialog, keep running.

PyQt6 aborts the process when a slot raises; :meth:`ExceptionHook.install` replaces
``sys.excepthook`` (and ``threading.excepthook``) so the exception is logged to
``visualconv.log`` in the user's data folder (:func:`visualconv.recovery.log_path`) and
shown, and the window and its model stay alive. An exception in a worker thread is
logged there and its dialog is shown by the GUI thread.
"""

from __future__ import annotations

import datetime
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import QApplication, QMessageBox, QWidget

from .. import recovery
from ..engine.errors import ModelError
from ..i18n import _

LOG_NAME = recovery.LOG_NAME


def log_dir() -> Path:
    """The user's data folder (``$VISUALCONV_DATA_DIR`` when set; created when missing)."""
    return recovery.data_dir()


class _Relay(QObject):
    """Carries a report from a worker thread to the GUI thread (a queued signal)."""

    sigReport = pyqtSignal(str, str, str)


class ExceptionHook:
    """A ``sys.excepthook`` that logs and reports instead of aborting.

    Parameters
    ----------
    parent : callable returning a widget or None
        The dialog's parent (the main window).
    interactive : bool
        Show a dialog (False: one line on stderr, e.g. for ``--screenshot``).
    log_path : Path or None
        Where tracebacks go (default: :func:`visualconv.recovery.log_path`).

    Attributes
    ----------
    records : list of str
        Every traceback handled in this process (the monkey test reads it).
    """

    def __init__(
        self,
        parent: Callable[[], QWidget | None] = lambda: None,
        *,
        interactive: bool = True,
        log_path: Path | None = None,
    ) -> None:
        self.parent = parent
        self.interactive = interactive
        self.log_path = log_path
        self.records: list[str] = []
        self._showing = False
        self._previous = sys.excepthook
        self._previous_threading = threading.excepthook
        self._relay: _Relay | None = None

    def install(self) -> ExceptionHook:
        """Make this the process's exception hook (call it from the GUI thread)."""
        self._previous = sys.excepthook
        self._previous_threading = threading.excepthook
        if QApplication.instance() is not None:
            self._relay = _Relay()
            self._relay.sigReport.connect(self._show)
        sys.excepthook = self
        threading.excepthook = self._on_thread_exception
        return self

    def uninstall(self) -> None:
        """Give the previous hooks back."""
        if sys.excepthook is self:
            sys.excepthook = self._previous
        if threading.excepthook == self._on_thread_exception:
            threading.excepthook = self._previous_threading
        if self._relay is not None:
            self._relay.deleteLater()
            self._relay = None

    def _on_thread_exception(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self(args.exc_type, args.exc_value, args.exc_traceback)

    def __call__(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        """Log the exception and report it; the event loop goes on."""
        if issubclass(kind, KeyboardInterrupt):
            app = QApplication.instance()
            if app is not None:
                app.quit()
            return
        text = "".join(traceback.format_exception(kind, value, tb))
        self.records.append(text)
        where = self._log(text)
        summary = str(value) if isinstance(value, ModelError) else f"{kind.__name__}: {value}"
        app = QApplication.instance()
        if not self.interactive or self._showing or app is None:
            print(f"visualconv: unexpected error: {summary}", file=sys.stderr)
            return
        if threading.current_thread() is not threading.main_thread():
            # Widgets live in the GUI thread only: hand the dialog over (queued).
            print(f"visualconv: unexpected error in a worker thread: {summary}", file=sys.stderr)
            if self._relay is not None:
                self._relay.sigReport.emit(summary, text, where)
            return
        self._show(summary, text, where)

    def _show(self, summary: str, text: str, where: str) -> None:
        if self._showing:
            return
        self._showing = True
        try:
            box = QMessageBox(self.parent())
            box.setIcon(QMessageBox.Icon.Warning)
            box.setWindowTitle(_("visualconv: unexpected error"))
            box.setText(_("Something went wrong, but your model is still open."))
            written = _("The details were written to {file}.").format(file=where)
            box.setInformativeText(f"{summary}\n\n{written}" if where else summary)
            box.setDetailedText(text)
            box.exec()
        finally:
            self._showing = False

    def _log(self, text: str) -> str:
        try:
            path = self.log_path or recovery.log_path()
            stamp = datetime.datetime.now().isoformat(timespec="seconds")
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"--- {stamp}\n{text}\n")
            return str(path)
        except OSError:
            return ""

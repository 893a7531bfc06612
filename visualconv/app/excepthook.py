"""One error path for the window: log the traceback, show a readable dialog, keep running.

PyQt6 aborts the process when a slot raises; :func:`install` replaces ``sys.excepthook``
so the exception is logged to ``visualconv.log`` in the user's data folder and shown,
and the window and its model stay alive.
"""

from __future__ import annotations

import datetime
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PyQt6.QtCore import QStandardPaths
from PyQt6.QtWidgets import QApplication, QMessageBox, QWidget

from ..engine.errors import ModelError

LOG_NAME = "visualconv.log"


def log_dir() -> Path:
    """The user's data folder of the application (created when missing)."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    path = Path(location) if location else Path.home() / ".visualconv"
    path.mkdir(parents=True, exist_ok=True)
    return path


class ExceptionHook:
    """A ``sys.excepthook`` that logs and reports instead of aborting.

    Parameters
    ----------
    parent : callable returning a widget or None
        The dialog's parent (the main window).
    interactive : bool
        Show a dialog (False: one line on stderr, e.g. for ``--screenshot``).
    log_path : Path or None
        Where tracebacks go (default: ``visualconv.log`` in :func:`log_dir`).

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

    def install(self) -> ExceptionHook:
        """Make this the process's exception hook."""
        self._previous = sys.excepthook
        sys.excepthook = self
        return self

    def uninstall(self) -> None:
        """Give the previous hook back."""
        if sys.excepthook is self:
            sys.excepthook = self._previous

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
        if not self.interactive or self._showing or QApplication.instance() is None:
            print(f"visualconv: unexpected error: {summary}", file=sys.stderr)
            return
        self._showing = True
        try:
            box = QMessageBox(self.parent())
            box.setIcon(QMessageBox.Icon.Warning)
            box.setWindowTitle("visualconv: unexpected error")
            box.setText("Something went wrong, but your model is still open.")
            box.setInformativeText(f"{summary}\n\nThe details were written to {where}." if where else summary)
            box.setDetailedText(text)
            box.exec()
        finally:
            self._showing = False

    def _log(self, text: str) -> str:
        try:
            path = self.log_path or log_dir() / LOG_NAME
            stamp = datetime.datetime.now().isoformat(timespec="seconds")
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"--- {stamp}\n{text}\n")
            return str(path)
        except OSError:
            return ""

"""File ▸ Export: a snapshot, an animation, a lecture pack, a copy to the clipboard.

:class:`Exports` is the window's export service: its slots ask where to write, then
write. A snapshot is one picture and is written at once; an animation and a lecture
pack render many frames and run on a :class:`~visualconv.app.worker.Worker` under a
progress dialog whose Cancel cancels the worker, the same way every background job
of the window is cancelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, Qt, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QProgressDialog

from ..engine.errors import ModelError
from .session import Session
from .worker import Worker

SNAPSHOT_FILTER = (
    "PNG image (*.png);;SVG vector image (*.svg);;PDF document (*.pdf);;LaTeX (*.tex);;"
    "JSON data (*.json);;NumPy arrays (*.npz);;CSV files (*.csv);;CSV files in a zip (*.zip)"
)
ERRORS = (ModelError, OSError, ValueError)


class Exports(QObject):
    """The window's exports, over its session; messages go to the window's status bar.

    Signals
    -------
    sigExportFinished(str, str)
        A background export ended: ``"done"``, ``"cancelled"`` or ``"failed"``, and
        what the status bar or the message said.
    """

    sigExportFinished = pyqtSignal(str, str)

    def __init__(self, session: Session, window: QMainWindow) -> None:
        super().__init__(window)
        self.session = session
        self.window = window
        self.worker: Worker | None = None
        self._dialog: QProgressDialog | None = None
        self._done_text = ""

    # ------------------------------------------------------------ what to export

    def _state(self) -> tuple[Any, int, str, int] | None:
        session = self.session
        if session.model is None or session.trace is None:
            QMessageBox.information(
                self.window, "Export", session.trace_error or "There is nothing to export yet."
            )
            return None
        return session.model, session.layer_index, session.pass_name, session.step

    def _stem(self) -> str:
        session = self.session
        base = Path(session.path).stem if session.path else "visualconv"
        return f"{base}-layer{session.layer_index}-{session.pass_name}"

    def _status(self, text: str) -> None:
        bar = self.window.statusBar()
        if bar is not None:
            bar.showMessage(text, 5000)

    # ------------------------------------------------------------ slots (menu items)

    @pyqtSlot()
    def export_snapshot(self) -> None:
        """File ▸ Export ▸ Export snapshot…: the current step in the chosen format."""
        current = self._state()
        if current is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export snapshot", f"{self._stem()}-step{self.session.step}.png", SNAPSHOT_FILTER
        )
        if not path:
            return
        from .. import export

        try:
            written = export.export_snapshot(*current, path, scale=2.0 if path.endswith(".png") else 1.0)
        except ERRORS as exc:
            QMessageBox.warning(self.window, "Export failed", str(exc))
            return
        self._status(f"Exported {', '.join(p.name for p in written)}")

    @pyqtSlot()
    def export_animation(self) -> None:
        """File ▸ Export ▸ Export animation…: every step of the pass as a GIF."""
        current = self._state()
        if current is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export animation", f"{self._stem()}.gif", "Animated GIF (*.gif)"
        )
        if not path:
            return
        from .. import export

        model, layer, pass_name, _ = current

        def work(progress: Any) -> object:
            return export.export_animation(model, layer, pass_name, path, progress)

        self._run(work, "Rendering the frames…", f"Exported {Path(path).name}")

    @pyqtSlot()
    def export_pack(self) -> None:
        """File ▸ Export ▸ Export lecture pack…: every layer and pass into a folder."""
        model = self.session.model
        if model is None:
            return
        directory = QFileDialog.getExistingDirectory(self.window, "Export lecture pack into a folder")
        if not directory:
            return
        from .. import export

        def work(progress: Any) -> object:
            return export.export_pack(model, directory, progress)

        self._run(work, "Writing the lecture pack…", f"Lecture pack written to {directory}")

    @pyqtSlot()
    def copy_snapshot(self) -> None:
        """File ▸ Export ▸ Copy snapshot to clipboard."""
        current = self._state()
        if current is None:
            return
        from .. import export

        image = export.render_snapshot_image(*current, scale=2.0)
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setImage(image)
        self._status("Snapshot copied to the clipboard")

    # ------------------------------------------------------------ background exports

    @property
    def running(self) -> bool:
        """Whether an export is being written."""
        return self.worker is not None

    def _run(self, work: Any, label: str, done_text: str) -> None:
        """Write on a worker under a window-modal progress dialog (one export at a time)."""
        if self.worker is not None:
            return
        dialog = QProgressDialog(label, "Cancel", 0, 100, self.window)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setValue(0)
        self._dialog, self._done_text = dialog, done_text
        worker = Worker.call(work, self, name="visualconv-export")
        self.worker = worker
        dialog.canceled.connect(worker.cancel)
        worker.sigProgress.connect(self._on_worker_progress)
        worker.sigReturned.connect(self._on_worker_returned)
        worker.sigErrored.connect(self._on_worker_errored)
        worker.sigCancelled.connect(self._on_worker_cancelled)
        worker.sigFinished.connect(self._on_worker_finished)
        worker.start()

    def shutdown(self) -> None:
        """Cancel an export in progress and wait for its thread."""
        if self.worker is not None:
            self.worker.stop()

    @pyqtSlot(int, int)
    def _on_worker_progress(self, done: int, total: int) -> None:
        if self._dialog is not None:
            self._dialog.setMaximum(max(total, 1))
            self._dialog.setValue(done)

    @pyqtSlot(object)
    def _on_worker_returned(self, written: object) -> None:
        self._status(self._done_text)
        self.sigExportFinished.emit("done", self._done_text)

    @pyqtSlot(object)
    def _on_worker_errored(self, exc: object) -> None:
        if not isinstance(exc, ERRORS):
            raise exc if isinstance(exc, BaseException) else RuntimeError(str(exc))  # the exception hook
        self._close_dialog()
        QMessageBox.warning(self.window, "Export failed", str(exc))
        self.sigExportFinished.emit("failed", str(exc))

    @pyqtSlot()
    def _on_worker_cancelled(self) -> None:
        self._status("Export cancelled")
        self.sigExportFinished.emit("cancelled", "Export cancelled")

    @pyqtSlot()
    def _on_worker_finished(self) -> None:
        worker, self.worker = self.worker, None
        self._close_dialog()
        if worker is not None:
            worker.wait()
            worker.deleteLater()

    def _close_dialog(self) -> None:
        dialog, self._dialog = self._dialog, None
        if dialog is not None:
            dialog.canceled.disconnect()
            dialog.close()
            dialog.deleteLater()

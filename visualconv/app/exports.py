"""File ▸ Export: snapshot; animation (GIF, MP4, APNG); TikZ, Beamer, PowerPoint; lecture pack.

:class:`Exports` is the window's export service: its slots ask where to write (each
format's dialog starts in the folder of its last export), then write. One picture or
one document is written at once; an animation and a lecture pack render many frames
and run on a :class:`~visualconv.app.worker.Worker` under a window-modal progress
dialog whose Cancel cancels the worker, the same way every background job of the
window is cancelled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, Qt, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import QDialog, QFileDialog, QMainWindow, QMessageBox, QProgressDialog

from ..engine.errors import ModelError, said
from ..engine.numbers import DEFAULT, NumberFormat, using
from ..engine.palette import exporting_with
from ..i18n import N_, _
from .export_dialogs import ExportSettings, OptionsDialog, PackDialog
from .session import Session
from .worker import Worker

SNAPSHOT_FILTER = N_(
    "PNG image (*.png);;SVG vector image (*.svg);;PDF document (*.pdf);;LaTeX (*.tex);;"
    "JSON data (*.json);;NumPy arrays (*.npz);;CSV files (*.csv);;CSV files in a zip (*.zip)"
)
ANIMATION_FILTERS = {
    ".gif": N_("Animated GIF (*.gif)"),
    ".mp4": N_("MP4 video, H.264 (*.mp4)"),
    ".apng": N_("Animated PNG (*.apng)"),
}
ERRORS = (ModelError, OSError, ValueError)

# (name, menu text, slot name, shortcut), in menu order.
MENU = (
    ("export_snapshot", N_("Export &snapshot…  (PNG, SVG, PDF, LaTeX, data)"), "export_snapshot", "Ctrl+E"),
    ("export_animation", N_("Export &animation…  (GIF, MP4, APNG)"), "export_animation", "Ctrl+Shift+E"),
    ("export_tikz", N_("Export &TikZ picture of this step…"), "export_tikz", None),
    ("export_beamer", N_("Export &Beamer deck of this pass…"), "export_beamer", None),
    ("export_pptx", N_("Export &PowerPoint of this pass…"), "export_pptx", None),
    ("export_pack", N_("Export &lecture pack…"), "export_pack", None),
    ("export_options", N_("Export &options (scale, frame time, decimals)…"), "export_options", None),
    ("copy_snapshot", N_("&Copy snapshot to clipboard"), "copy_snapshot", "Ctrl+Shift+C"),
)


def with_suffix(path: str, selected: str, filters: dict[str, str], default: str) -> str:
    """The path with the extension of the chosen filter when the user typed none we know."""
    if Path(path).suffix.lower() in filters:
        return path
    suffix = next((s for s, f in filters.items() if f == selected), default)
    return path + suffix


def summary(paths: list[Path], seconds: float) -> str:
    """``N files, S MB in T s`` for the status bar."""
    size = sum(p.stat().st_size for p in paths if p.is_file())
    return _("{n} files, {size} MB in {seconds} s").format(
        n=len(paths), size=f"{size / 1e6:.1f}", seconds=f"{seconds:.1f}"
    )


class Exports(QObject):
    """The window's exports, over its session and settings; messages go to its status bar.

    Parameters
    ----------
    session : Session
    window : QMainWindow
        Parent of the dialogs; its ``settings`` keep the options and the last folders.
    options : ExportSettings
        Scale, frame time, decimals and the last folder of each format.

    Signals
    -------
    sigExportFinished(str, str)
        A background export (animation, pack) ended: ``"done"``, ``"cancelled"`` or
        ``"failed"``, and what the status bar or the message said.
    """

    sigExportFinished = pyqtSignal(str, str)

    def __init__(self, session: Session, window: QMainWindow, options: ExportSettings) -> None:
        super().__init__(window)
        self.session = session
        self.window = window
        self.options = options
        self.worker: Worker | None = None
        self.progress: QProgressDialog | None = None
        self._on_done: Callable[[Any], str] | None = None
        self._outcome = ("failed", "")
        self._error: object = None
        self.numbers: NumberFormat = DEFAULT  # the window's View ▸ Numbers
        self.palette_key: str | None = None  # View ▸ Palette, once the user chose one

    def set_numbers(self, numbers: NumberFormat) -> None:
        """Write the exported numbers as the window shows them (View ▸ Numbers)."""
        self.numbers = numbers

    def set_palette(self, key: str | None) -> None:
        """Colour the exported cells with the palette the user chose (View ▸ Palette).

        None (nothing chosen) and the red–blue default keep the exports' own colours.
        """
        self.palette_key = key

    @contextmanager
    def _as_shown(self, numbers: NumberFormat, key: str | None) -> Iterator[None]:
        """Exports inside the block write numbers and colours as the window shows them."""
        with using(numbers), exporting_with(key):
            yield

    # ------------------------------------------------------------ what to export

    def _state(self) -> tuple[Any, int, str, int] | None:
        session = self.session
        if session.model is None or session.trace is None:
            QMessageBox.information(
                self.window, _("Export"), session.trace_error or _("There is nothing to export yet.")
            )
            return None
        return session.model, session.layer_index, session.pass_name, session.step

    def _stem(self) -> str:
        session = self.session
        base = Path(session.path).stem if session.path else "visualconv"
        return f"{base}-layer{session.layer_index}-{session.pass_name}"

    def _status(self, text: str, ms: int = 8000) -> None:
        bar = self.window.statusBar()
        if bar is not None:
            bar.showMessage(text, ms)

    def _done(self, written: list[Path], fmt: str, target: str) -> str:
        self.options.remember(fmt, target)
        text = _("Exported {files}").format(files=", ".join(p.name for p in written))
        self._status(text)
        return text

    # ------------------------------------------------------------ slots (menu items)

    @pyqtSlot()
    def export_snapshot(self) -> None:
        """The current step as PNG, SVG, PDF, LaTeX or data."""
        current = self._state()
        if current is None:
            return
        settings = self.options.settings
        last = str(settings.value("export/snapshot_format", "png"))
        path, _filter = QFileDialog.getSaveFileName(
            self.window,
            _("Export snapshot"),
            self.options.start(last, f"{self._stem()}-step{self.session.step}.{last}"),
            _(SNAPSHOT_FILTER),
        )
        if not path:
            return
        from .. import export

        fmt = Path(path).suffix.lower().lstrip(".") or "png"
        try:
            scale = self.options.scale if fmt == "png" else 1.0
            # The dialog confirmed the name (and replacing it): a symbolic link there is the user's choice.
            with self._as_shown(self.numbers, self.palette_key):
                written = export.export_snapshot(*current, path, scale=scale, follow_symlinks=True)
        except ERRORS as exc:
            QMessageBox.warning(self.window, _("Export failed"), said(exc))
            return
        settings.setValue("export/snapshot_format", fmt)
        self._done(written, fmt, path)

    @pyqtSlot()
    def export_animation(self) -> None:
        """Every step of the pass as a GIF, MP4 or APNG (on the worker)."""
        current = self._state()
        if current is None:
            return
        settings = self.options.settings
        last = str(settings.value("export/animation_format", ".gif"))
        last = last if last in ANIMATION_FILTERS else ".gif"
        filters = {suffix: _(text) for suffix, text in ANIMATION_FILTERS.items()}
        path, selected = QFileDialog.getSaveFileName(
            self.window,
            _("Export animation"),
            self.options.start(last.lstrip("."), f"{self._stem()}{last}"),
            ";;".join(filters.values()),
            filters[last],
        )
        if not path:
            return
        path = with_suffix(path, selected, filters, last)
        from .. import export

        model, layer, pass_name, _step = current
        scale, frame_ms = self.options.scale, self.options.frame_ms

        def work(progress: Callable[[int, int], bool]) -> Any:
            return export.export_animation(
                model, layer, pass_name, path, progress, scale=scale, frame_ms=frame_ms, follow_symlinks=True
            )

        def done(written: Any) -> str:
            suffix = Path(path).suffix.lower()
            settings.setValue("export/animation_format", suffix)
            return self._done([Path(path)], suffix.lstrip("."), path)

        self._run(work, _("Rendering the frames…"), done)

    def _export_document(self, fmt: str, title: str, suffix: str, description: str, write: Any) -> None:
        current = self._state()
        if current is None:
            return
        name = (
            f"{self._stem()}-step{self.session.step}{suffix}" if fmt == "tikz" else f"{self._stem()}{suffix}"
        )
        path, _filter = QFileDialog.getSaveFileName(
            self.window, title, self.options.start(fmt, name), description
        )
        if not path:
            return
        if Path(path).suffix.lower() != suffix:
            path += suffix
        try:
            with self._as_shown(self.numbers, self.palette_key):
                written = write(current, path)
        except ERRORS as exc:
            QMessageBox.warning(self.window, _("Export failed"), said(exc))
            return
        self._done(written, fmt, path)

    @pyqtSlot()
    def export_tikz(self) -> None:
        """The current step as a standalone TikZ picture."""
        from .. import export

        decimals = self.options.decimals
        self._export_document(
            "tikz",
            _("Export TikZ picture of this step"),
            ".tex",
            _("TikZ picture, standalone LaTeX (*.tex)"),
            lambda c, path: export.export_tikz(*c, path, decimals=decimals, follow_symlinks=True),
        )

    @pyqtSlot()
    def export_beamer(self) -> None:
        """The pass as a Beamer deck, one overlay per step."""
        from .. import export

        decimals = self.options.decimals
        self._export_document(
            "beamer",
            _("Export Beamer deck of this pass"),
            ".tex",
            _("Beamer LaTeX, one overlay per step (*.tex)"),
            lambda c, path: export.export_beamer(*c[:3], path, decimals=decimals, follow_symlinks=True),
        )

    @pyqtSlot()
    def export_pptx(self) -> None:
        """The pass as PowerPoint slides, one per step."""
        from .. import export

        decimals = self.options.decimals
        self._export_document(
            "pptx",
            _("Export PowerPoint of this pass"),
            ".pptx",
            _("PowerPoint, one slide per step (*.pptx)"),
            lambda c, path: export.export_pptx(*c[:3], path, decimals=decimals, follow_symlinks=True),
        )

    @pyqtSlot()
    def export_pack(self) -> None:
        """The lecture pack of the chosen layers, passes, steps and formats (on the worker)."""
        session = self.session
        if session.model is None:
            return
        base = Path(session.path).stem if session.path else "visualconv"
        folder = self.options.folder("pack")
        start = str(Path(folder) / f"{base}-pack") if folder else str(Path.cwd() / f"{base}-pack")
        dialog = PackDialog(session.model, self.options, start, self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        choice = dialog.choice()
        if not choice.directory:
            return
        from ..export.pack import export_pack as write_pack

        model = session.model
        started = time.perf_counter()

        def work(progress: Callable[[int, int], bool]) -> Any:
            return write_pack(
                model,
                choice.directory,
                progress,
                scale=choice.scale,
                layers=choice.layers,
                passes=choice.passes,
                steps=choice.steps,
                formats=choice.formats,
                frame_ms=choice.frame_ms,
            )

        def done(written: Any) -> str:
            self.options.remember("pack", choice.directory)
            text = _("Lecture pack: {summary} → {folder}").format(
                summary=summary(list(written), time.perf_counter() - started), folder=choice.directory
            )
            self._status(text, 15000)
            return text

        self._run(work, _("Writing the lecture pack…"), done)

    @pyqtSlot()
    def export_options(self) -> None:
        """Scale, frame time and decimals of the exports."""
        OptionsDialog(self.options, self.window).exec()

    @pyqtSlot()
    def copy_snapshot(self) -> None:
        """The current step as an image on the clipboard."""
        current = self._state()
        if current is None:
            return
        from .. import export

        with exporting_with(self.palette_key):
            image = export.render_snapshot_image(*current, scale=self.options.scale)
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setImage(image)
        self._status(_("Snapshot copied to the clipboard"), 5000)

    # ------------------------------------------------------------ background exports

    @property
    def running(self) -> bool:
        """Whether an export is being written."""
        return self.worker is not None

    def cancel(self) -> None:
        """Cancel the export in progress (what the progress dialog's Cancel does)."""
        if self.worker is not None:
            self.worker.cancel()

    def shutdown(self) -> None:
        """Cancel an export in progress and wait for its thread."""
        if self.worker is not None:
            self.worker.stop()

    def _run(self, work: Callable[[Callable[[int, int], bool]], Any], label: str, done: Any) -> None:
        """Write on a worker under a window-modal progress dialog (one export at a time)."""
        if self.worker is not None:
            return
        dialog = QProgressDialog(label, _("Cancel"), 0, 100, self.window)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setValue(0)
        self.progress, self._on_done = dialog, done
        numbers, key = self.numbers, self.palette_key

        def in_format(progress: Callable[[int, int], bool]) -> Any:
            with self._as_shown(numbers, key):  # the worker's thread has a context of its own
                return work(progress)

        worker = Worker.call(in_format, self, name="visualconv-export")
        self.worker = worker
        dialog.canceled.connect(worker.cancel)
        worker.sigProgress.connect(self._on_worker_progress)
        worker.sigReturned.connect(self._on_worker_returned)
        worker.sigErrored.connect(self._on_worker_errored)
        worker.sigCancelled.connect(self._on_worker_cancelled)
        worker.sigFinished.connect(self._on_worker_finished)
        worker.start()

    @pyqtSlot(int, int)
    def _on_worker_progress(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress.setMaximum(max(total, 1))
            self.progress.setValue(done)

    @pyqtSlot(object)
    def _on_worker_returned(self, written: object) -> None:
        self._outcome = ("done", self._on_done(written) if self._on_done is not None else "")

    @pyqtSlot(object)
    def _on_worker_errored(self, exc: object) -> None:
        self._outcome = ("failed", said(exc) if isinstance(exc, BaseException) else str(exc))
        self._error = exc

    @pyqtSlot()
    def _on_worker_cancelled(self) -> None:
        self._status(_("Export cancelled"), 5000)
        self._outcome = ("cancelled", _("Export cancelled"))

    @pyqtSlot()
    def _on_worker_finished(self) -> None:
        """The worker's last signal: clean up, say how it ended (the next export may start)."""
        worker, self.worker = self.worker, None
        self._close_dialog()
        if worker is not None:
            worker.wait()
            worker.deleteLater()
        (outcome, text), self._outcome = self._outcome, ("failed", "")
        error, self._error = self._error, None
        if error is not None and isinstance(error, ERRORS):
            QMessageBox.warning(self.window, _("Export failed"), str(error))
        self.sigExportFinished.emit(outcome, text)
        if error is not None and not isinstance(error, ERRORS):
            raise (
                error if isinstance(error, BaseException) else RuntimeError(str(error))
            )  # the exception hook

    def _close_dialog(self) -> None:
        dialog, self.progress = self.progress, None
        if dialog is not None:
            dialog.canceled.disconnect()
            dialog.close()
            dialog.deleteLater()

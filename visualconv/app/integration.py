"""Docks and menus that join the window to the training panel and the exports.

Kept apart from the main window so each part stays small: :func:`install` adds a
Training dock (its runs feed the stepper) and the File ▸ Export items (snapshot,
animation, lecture pack, copy to clipboard) with progress dialogs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QObject, Qt, pyqtSlot
from PyQt6.QtGui import QGuiApplication, QKeySequence
from PyQt6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from ..engine.errors import ModelError
from ..engine.explain import sgd_update_lines

if TYPE_CHECKING:
    from .main_window import MainWindow

SNAPSHOT_FILTER = (
    "PNG image (*.png);;SVG vector image (*.svg);;PDF document (*.pdf);;LaTeX (*.tex);;"
    "JSON data (*.json);;NumPy arrays (*.npz);;CSV files (*.csv);;CSV files in a zip (*.zip)"
)


def install(window: MainWindow) -> None:
    """Add the Training dock and the export menu items to ``window``."""
    install_training(window)
    install_exports(window)


class _TrainingLink(QObject):
    """Joins the Training panel to the session: models both ways, and the SGD update note.

    A QObject with bound slots (not loose functions), so nothing runs on a half-destroyed
    window: PyQt disconnects the slots when this object goes.
    """

    def __init__(self, window: MainWindow, panel: Any) -> None:
        super().__init__(window)
        self.window, self.panel, self.session = window, panel, window.session
        self.record: Any = None  # the training iteration shown in the stepper, if any
        self.opening = False
        self.session.sigModelChanged.connect(self.on_session_model_changed)
        self.session.sigTraceChanged.connect(self.on_session_trace_changed)
        panel.sigIterationSelected.connect(self.on_panel_iteration_selected)
        panel.sigModelTrained.connect(self.on_panel_model_trained)
        # Stop a running worker thread once a close is accepted (not when it is cancelled).
        window.sigClosed.connect(panel.shutdown)

    def open_in_stepper(self, model: Any, record: Any) -> None:
        """Show a model from the panel as an edit of the shown one, with its SGD update."""
        self.opening = True
        try:
            self.record = record
            self.session.replace_model(model)
        finally:
            self.opening = False
        self.update_note()

    def update_note(self) -> None:
        """The equation panel's SGD-update lines for the shown iteration and layer."""
        record, session = self.record, self.session
        backward = session.pass_name == "backward"
        lines = sgd_update_lines(record, session.layer_index) if record is not None and backward else []
        self.window.equations.set_note(lines)

    @pyqtSlot(object)
    def on_session_model_changed(self, model: Any) -> None:
        if self.opening:
            return  # the model came from the panel: its history stays
        self.record = None  # another model: no training iteration is shown any more
        self.panel.set_model(model)

    @pyqtSlot(object)
    def on_session_trace_changed(self, trace: Any) -> None:
        self.update_note()

    @pyqtSlot(object)
    def on_panel_iteration_selected(self, model: Any) -> None:
        self.open_in_stepper(model, self.panel.selected_record())

    @pyqtSlot(object)
    def on_panel_model_trained(self, model: Any) -> None:
        self.open_in_stepper(model, None)


def install_training(window: MainWindow) -> Any:
    """Dock the Training panel; a chosen iteration or a finished run opens in the stepper."""
    from .training import TrainingPanel

    panel = TrainingPanel()
    dock = window.add_dock(panel, "Training", Qt.DockWidgetArea.RightDockWidgetArea)
    dock.hide()  # opened from View ▸ Training, so the heat maps keep the room
    link = _TrainingLink(window, panel)
    if window.session.model is not None:
        panel.set_model(window.session.model)
    window.training_panel = panel  # type: ignore[attr-defined]
    window.training_dock = dock  # type: ignore[attr-defined]
    window.training_link = link  # type: ignore[attr-defined]
    return panel


def _show_error(parent: QWidget, title: str, exc: BaseException) -> None:
    QMessageBox.warning(parent, title, str(exc))


def _progress(parent: QWidget, label: str) -> tuple[QProgressDialog, Any]:
    dialog = QProgressDialog(label, "Cancel", 0, 100, parent)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)

    def tick(done: int, total: int) -> bool:
        dialog.setMaximum(max(total, 1))
        dialog.setValue(done)
        QGuiApplication.processEvents()
        return not dialog.wasCanceled()

    return dialog, tick


def _with_progress(window: MainWindow, label: str, work: Any) -> bool:
    """Run ``work(tick)`` under a progress dialog; False when it failed or was cancelled."""
    from .. import export

    dialog, tick = _progress(window, label)
    try:
        work(tick)
    except export.ExportCancelled:
        window.statusBar().showMessage("Export cancelled", 5000)
        return False
    except (ModelError, OSError, ValueError) as exc:
        _show_error(window, "Export failed", exc)
        return False
    finally:
        dialog.close()
    return True


def install_exports(window: MainWindow) -> None:
    """File ▸ Export snapshot…, Export animation…, Export lecture pack…, Copy snapshot."""
    menu = window.menus["file"]
    quit_action = window.actions_by_name.get("quit")
    export_menu = menu.addMenu("&Export")
    assert export_menu is not None
    if quit_action is not None:
        menu.insertMenu(quit_action, export_menu)
        menu.insertSeparator(quit_action)
    session = window.session

    def state() -> tuple[Any, int, str, int] | None:
        if session.model is None or session.trace is None:
            QMessageBox.information(
                window, "Export", session.trace_error or "There is nothing to export yet."
            )
            return None
        return session.model, session.layer_index, session.pass_name, session.step

    def stem() -> str:
        base = Path(session.path).stem if session.path else "visualconv"
        return f"{base}-layer{session.layer_index}-{session.pass_name}"

    def export_snapshot() -> None:
        current = state()
        if current is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            window, "Export snapshot", f"{stem()}-step{session.step}.png", SNAPSHOT_FILTER
        )
        if not path:
            return
        from .. import export

        try:
            # The dialog confirmed the name (and replacing it), so a symbolic link there is the user's choice.
            written = export.export_snapshot(
                *current, path, scale=2.0 if path.endswith(".png") else 1.0, follow_symlinks=True
            )
        except (ModelError, OSError, ValueError) as exc:
            _show_error(window, "Export failed", exc)
            return
        window.statusBar().showMessage(f"Exported {', '.join(p.name for p in written)}", 5000)

    def export_animation() -> None:
        current = state()
        if current is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            window, "Export animation", f"{stem()}.gif", "Animated GIF (*.gif)"
        )
        if not path:
            return
        from .. import export

        def work(tick: Any) -> object:
            return export.export_animation(*current[:3], path, tick, follow_symlinks=True)

        if not _with_progress(window, "Rendering the frames…", work):
            return
        window.statusBar().showMessage(f"Exported {Path(path).name}", 5000)

    def export_pack() -> None:
        if session.model is None:
            return
        directory = QFileDialog.getExistingDirectory(window, "Export lecture pack into a folder")
        if not directory:
            return
        from .. import export

        model = session.model
        if not _with_progress(
            window, "Writing the lecture pack…", lambda tick: export.export_pack(model, directory, tick)
        ):
            return
        window.statusBar().showMessage(f"Lecture pack written to {directory}", 5000)

    def copy_snapshot() -> None:
        current = state()
        if current is None:
            return
        from .. import export

        image = export.render_snapshot_image(*current, scale=2.0)
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setImage(image)
        window.statusBar().showMessage("Snapshot copied to the clipboard", 5000)

    for name, text, slot, shortcut in (
        ("export_snapshot", "Export &snapshot…", export_snapshot, "Ctrl+E"),
        ("export_animation", "Export &animation…", export_animation, "Ctrl+Shift+E"),
        ("export_pack", "Export &lecture pack…", export_pack, None),
        ("copy_snapshot", "&Copy snapshot to clipboard", copy_snapshot, "Ctrl+Shift+C"),
    ):
        action = export_menu.addAction(text)
        assert action is not None
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        window.actions_by_name[name] = action

"""Docks and menus that join the window to the training panel and the exports.

Kept apart from the main window so each part stays small: :func:`install` adds a
Training dock (its runs feed the stepper) and the File ▸ Export items (snapshot;
animation as GIF, MP4 or APNG; TikZ, Beamer and PowerPoint; the lecture pack with its
choice of layers, passes, steps and formats; options; copy to clipboard) with progress
dialogs. Each format's dialog starts in the folder of its last export.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QObject, Qt, pyqtSlot
from PyQt6.QtGui import QGuiApplication, QKeySequence
from PyQt6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QMessageBox,
    QProgressDialog,
    QScrollArea,
    QWidget,
)

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
        panel.sigApplyRequested.connect(self.on_panel_apply_requested)
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
        # The run trained a copy: the model stays as it was (not modified) until Apply.
        self.window.statusBar().showMessage(
            "Training finished on a copy; the model is unchanged until Apply trained weights", 8000
        )

    @pyqtSlot(object)
    def on_panel_apply_requested(self, model: Any) -> None:
        """The trained parameters become the model: one edit, undone by Edit ▸ Undo."""
        editors = getattr(self.window, "editors", None)
        self.opening = True  # the panel keeps its history: the model is the one it trained
        try:
            if editors is not None:
                editors.history.apply("Apply trained weights", lambda _old: model)
            else:
                self.session.replace_model(model)
        finally:
            self.opening = False
        self.record = None
        self.update_note()


def install_training(window: MainWindow) -> Any:
    """Dock the Training panel; a chosen iteration or a finished run opens in the stepper."""
    from .training import TrainingPanel

    panel = TrainingPanel()
    # In a scroll area, so the dock never forces the window taller than a 720-pixel screen.
    scroll = QScrollArea()
    scroll.setObjectName("trainingScroll")
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(panel)
    dock = window.add_dock(scroll, "Training", Qt.DockWidgetArea.RightDockWidgetArea)
    # A tab beside the editors (not stacked under them): the right column stays one dock tall.
    editors = getattr(window, "editors", None)
    if editors is not None and "closed_form" in editors.docks:
        window.tabifyDockWidget(editors.docks["closed_form"], dock)
        editors.docks["editor"].raise_()
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


ANIMATION_FILTERS = {
    ".gif": "Animated GIF (*.gif)",
    ".mp4": "MP4 video, H.264 (*.mp4)",
    ".apng": "Animated PNG (*.apng)",
}


def _with_suffix(path: str, selected: str, filters: dict[str, str], default: str) -> str:
    """The path with the extension of the chosen filter when the user typed none we know."""
    if Path(path).suffix.lower() in filters:
        return path
    suffix = next((s for s, f in filters.items() if f == selected), default)
    return path + suffix


def _summary(paths: list[Path], seconds: float) -> str:
    size = sum(p.stat().st_size for p in paths if p.is_file())
    return f"{len(paths)} files, {size / 1e6:.1f} MB in {seconds:.1f} s"


def install_exports(window: MainWindow) -> None:
    """File ▸ Export: snapshot, animation (GIF/MP4/APNG), TikZ, Beamer, PowerPoint, pack, options."""
    from .export_dialogs import ExportSettings, OptionsDialog, PackDialog

    menu = window.menus["file"]
    quit_action = window.actions_by_name.get("quit")
    export_menu = menu.addMenu("&Export")
    assert export_menu is not None
    if quit_action is not None:
        menu.insertMenu(quit_action, export_menu)
        menu.insertSeparator(quit_action)
    session = window.session
    options = ExportSettings(window.settings)
    window.export_settings = options  # type: ignore[attr-defined]

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

    def done(written: list[Path], fmt: str, target: str) -> None:
        options.remember(fmt, target)
        window.statusBar().showMessage(f"Exported {', '.join(p.name for p in written)}", 8000)

    def export_snapshot() -> None:
        current = state()
        if current is None:
            return
        last = str(options.settings.value("export/snapshot_format", "png"))
        path, _ = QFileDialog.getSaveFileName(
            window,
            "Export snapshot",
            options.start(last, f"{stem()}-step{session.step}.{last}"),
            SNAPSHOT_FILTER,
        )
        if not path:
            return
        from .. import export

        fmt = Path(path).suffix.lower().lstrip(".") or "png"
        try:
            # The dialog confirmed the name (and replacing it), so a symbolic link there is the user's choice.
            written = export.export_snapshot(
                *current, path, scale=options.scale if fmt == "png" else 1.0, follow_symlinks=True
            )
        except (ModelError, OSError, ValueError) as exc:
            _show_error(window, "Export failed", exc)
            return
        options.settings.setValue("export/snapshot_format", fmt)
        done(written, fmt, path)

    def export_animation() -> None:
        current = state()
        if current is None:
            return
        last = str(options.settings.value("export/animation_format", ".gif"))
        last = last if last in ANIMATION_FILTERS else ".gif"
        path, selected = QFileDialog.getSaveFileName(
            window,
            "Export animation",
            options.start(last.lstrip("."), f"{stem()}{last}"),
            ";;".join(ANIMATION_FILTERS.values()),
            ANIMATION_FILTERS[last],
        )
        if not path:
            return
        path = _with_suffix(path, selected, ANIMATION_FILTERS, last)
        from .. import export

        def work(tick: Any) -> None:
            export.export_animation(
                *current[:3], path, tick, scale=options.scale, frame_ms=options.frame_ms, follow_symlinks=True
            )

        if not _with_progress(window, "Rendering the frames…", work):
            return
        suffix = Path(path).suffix.lower()
        options.settings.setValue("export/animation_format", suffix)
        done([Path(path)], suffix.lstrip("."), path)

    def export_document(fmt: str, title: str, suffix: str, description: str, write: Any) -> None:
        current = state()
        if current is None:
            return
        name = f"{stem()}-step{session.step}{suffix}" if fmt == "tikz" else f"{stem()}{suffix}"
        path, _ = QFileDialog.getSaveFileName(window, title, options.start(fmt, name), description)
        if not path:
            return
        if Path(path).suffix.lower() != suffix:
            path += suffix
        try:
            written = write(current, path)
        except (ModelError, OSError, ValueError) as exc:
            _show_error(window, "Export failed", exc)
            return
        done(written, fmt, path)

    def export_tikz() -> None:
        from .. import export

        export_document(
            "tikz",
            "Export TikZ picture of this step",
            ".tex",
            "TikZ picture, standalone LaTeX (*.tex)",
            lambda c, path: export.export_tikz(*c, path, decimals=options.decimals, follow_symlinks=True),
        )

    def export_beamer() -> None:
        from .. import export

        export_document(
            "beamer",
            "Export Beamer deck of this pass",
            ".tex",
            "Beamer LaTeX, one overlay per step (*.tex)",
            lambda c, path: export.export_beamer(
                *c[:3], path, decimals=options.decimals, follow_symlinks=True
            ),
        )

    def export_pptx() -> None:
        from .. import export

        export_document(
            "pptx",
            "Export PowerPoint of this pass",
            ".pptx",
            "PowerPoint, one slide per step (*.pptx)",
            lambda c, path: export.export_pptx(*c[:3], path, decimals=options.decimals, follow_symlinks=True),
        )

    def export_pack() -> None:
        if session.model is None:
            return
        base = Path(session.path).stem if session.path else "visualconv"
        folder = options.folder("pack")
        start = str(Path(folder) / f"{base}-pack") if folder else str(Path.cwd() / f"{base}-pack")
        dialog = PackDialog(session.model, options, start, window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        choice = dialog.choice()
        if not choice.directory:
            return
        from ..export.pack import export_pack as write_pack

        model = session.model
        written: list[Path] = []
        started = time.perf_counter()

        def work(tick: Any) -> None:
            written.extend(
                write_pack(
                    model,
                    choice.directory,
                    tick,
                    scale=choice.scale,
                    layers=choice.layers,
                    passes=choice.passes,
                    steps=choice.steps,
                    formats=choice.formats,
                    frame_ms=choice.frame_ms,
                )
            )

        if not _with_progress(window, "Writing the lecture pack…", work):
            return
        options.remember("pack", choice.directory)
        window.statusBar().showMessage(
            f"Lecture pack: {_summary(written, time.perf_counter() - started)} → {choice.directory}", 15000
        )

    def export_options() -> None:
        OptionsDialog(options, window).exec()

    def copy_snapshot() -> None:
        current = state()
        if current is None:
            return
        from .. import export

        image = export.render_snapshot_image(*current, scale=options.scale)
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setImage(image)
        window.statusBar().showMessage("Snapshot copied to the clipboard", 5000)

    for name, text, slot, shortcut in (
        ("export_snapshot", "Export &snapshot…  (PNG, SVG, PDF, LaTeX, data)", export_snapshot, "Ctrl+E"),
        ("export_animation", "Export &animation…  (GIF, MP4, APNG)", export_animation, "Ctrl+Shift+E"),
        ("export_tikz", "Export &TikZ picture of this step…", export_tikz, None),
        ("export_beamer", "Export &Beamer deck of this pass…", export_beamer, None),
        ("export_pptx", "Export &PowerPoint of this pass…", export_pptx, None),
        ("export_pack", "Export &lecture pack…", export_pack, None),
        ("export_options", "Export &options (scale, frame time, decimals)…", export_options, None),
        ("copy_snapshot", "&Copy snapshot to clipboard", copy_snapshot, "Ctrl+Shift+C"),
    ):
        action = export_menu.addAction(text)
        assert action is not None
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        window.actions_by_name[name] = action

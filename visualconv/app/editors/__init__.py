"""Editors of the window: values and settings, undo/redo, linked highlighting, checks.

:class:`Editors` makes them for a session and a layer view: the Editor, Gradient
check and Closed form panels, the undo history and its actions, the Edit menu's other
actions, and hover/click linking between the heat maps. It patches nothing onto the
window: :class:`~visualconv.app.main_window.MainWindow` puts the panels in docks and
the actions in its Edit menu.
"""

from __future__ import annotations

from PyQt6.QtCore import QObject, Qt, pyqtSlot
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QDockWidget, QStatusBar

from ...i18n import N_, _
from ..session import Session
from ..widgets.layer_view import LayerView
from .closed_form import ClosedFormView
from .editor_dock import EditorDock
from .gradcheck_panel import GradcheckPanel
from .history import EditHistory
from .links_view import LinkController

LINK_HINT = N_(
    "Hover a cell for its exact value; hover dW, dA_prev or an output to see what fed it, click to pin."
)


def tensor_of_panel(
    session: Session, role: str, index: tuple[int, ...]
) -> tuple[str, tuple[int, ...]] | None:
    """The model tensor (file place and index) a heat-map cell shows, if it can be edited."""
    model, trace = session.model, session.trace
    if model is None or trace is None:
        return None
    layer_index = session.layer_index
    layer = model.layers[layer_index]
    one_d = model.dims == 1
    if role == "kernel":
        return f"layers[{layer_index}].weight", (
            index[:2] + index[3:] if one_d and len(index) == 4 else index
        )
    if role == "bias":
        return f"layers[{layer_index}].bias", index
    if role == "input" and layer_index == 0:
        ph, pw = layer.kind.padding(layer)
        if ph or pw:
            c, y, x = index
            y, x = y - ph, x - pw
            if not (0 <= y < trace.x.shape[1] and 0 <= x < trace.x.shape[2]):
                return None
            index = (c, y, x)
        return "input", ((index[0], index[2]) if one_d and len(index) == 3 else index)
    if role == "dz" and layer_index == len(model.layers) - 1 and model.upstream is not None:
        return "upstream", ((index[0], index[2]) if one_d and len(index) == 3 else index)
    return None


def panel_of_tensor(
    session: Session, name: str, index: tuple[int, ...]
) -> tuple[str, tuple[int, ...]] | None:
    """The heat-map panel (role and trace index) that shows a model tensor's cell, if one does."""
    model, trace = session.model, session.trace
    if model is None or trace is None:
        return None
    layer_index = session.layer_index
    layer = model.layers[layer_index]
    one_d = model.dims == 1
    if name == f"layers[{layer_index}].weight":
        return "kernel", ((*index[:2], 0, index[2]) if one_d and layer.kind.windowed else index)
    if name == f"layers[{layer_index}].bias":
        return "bias" if trace.pass_name == "forward" else "db", index
    if name == "input" and layer_index == 0:
        if one_d and len(index) == 2 and trace.x.ndim == 3:
            index = (index[0], 0, index[1])
        ph, pw = layer.kind.padding(layer)
        if ph or pw:
            index = (index[0], index[1] + ph, index[2] + pw)
        return "input", index
    if name == "upstream" and layer_index == len(model.layers) - 1 and trace.pass_name == "backward":
        return "dz", ((index[0], 0, index[1]) if one_d and len(index) == 2 and trace.z.ndim == 3 else index)
    return None


class Editors(QObject):
    """The editing and checking part of a window, made for its session and layer view.

    Parameters
    ----------
    session : Session
        The window's state.
    layer_view : LayerView
        The heat maps (linked highlighting hovers and clicks them).
    status : QStatusBar
        Where the links' description goes.
    parent : QObject
        The owner (the window); the undo and redo actions are its children too.

    Attributes
    ----------
    history : EditHistory
    editor : EditorDock
    gradcheck : GradcheckPanel
    closed_form : ClosedFormView
    links : LinkController
    actions : dict of str to QAction
        ``undo``, ``redo``, ``copy_csv``, ``paste``, ``new_1d``, ``new_2d``, ``check``,
        in Edit menu order.
    docks : dict of str to QDockWidget
        ``editor``, ``gradcheck``, ``closed_form`` once the window docked them
        (:meth:`set_docks`).
    """

    def __init__(self, session: Session, layer_view: LayerView, status: QStatusBar, parent: QObject) -> None:
        super().__init__(parent)
        self.session = session
        self.status = status
        self.history = EditHistory(session, self)
        self.editor = EditorDock(session, self.history)
        self.gradcheck = GradcheckPanel(session)
        self.closed_form = ClosedFormView(session)
        self.links = LinkController(layer_view, session, self.show_link_text, self)
        self.docks: dict[str, QDockWidget] = {}

        undo = self.history.stack.createUndoAction(self, _("&Undo"))
        redo = self.history.stack.createRedoAction(self, _("&Redo"))
        assert undo is not None and redo is not None
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.actions: dict[str, QAction] = {"undo": undo, "redo": redo}
        for key, text, slot in (
            ("copy_csv", _("&Copy tensor as CSV"), self.editor.copy_csv),
            ("paste", _("&Paste into tensor"), self.editor.paste_clipboard),
            ("new_1d", _("New empty &1-D model"), self.new_empty_1d_model),
            ("new_2d", _("New empty &2-D model"), self.new_empty_2d_model),
            ("check", _("Check &gradients"), self.gradcheck.start),
        ):
            action = QAction(text, self)
            action.triggered.connect(slot)
            self.actions[key] = action
        clear = QAction(_("&Clear highlights"), self)
        clear.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        clear.triggered.connect(self.links.clear)
        self.actions["clear_highlights"] = clear  # the window puts it in its View menu
        for action in self.actions.values():
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

        self.links.sigCellClicked.connect(self._on_links_cell_clicked)
        self.editor.grid.sigCurrentChanged.connect(self._on_grid_current_changed)
        status.showMessage(_(LINK_HINT))

    def set_palette(self, key: str) -> None:
        """The editor's table, the gradient check's and the closed form's maps in palette ``key``."""
        self.editor.grid.set_palette(key)
        self.gradcheck.set_palette(key)
        self.closed_form.set_palette(key)

    def set_docks(self, docks: dict[str, QDockWidget]) -> None:
        """The docks the window put the panels in (the closed form skips work while hidden)."""
        self.docks = docks
        docks["closed_form"].visibilityChanged.connect(self.closed_form.on_dock_visibility_changed)

    def shutdown(self) -> None:
        """Stop a gradient check that is still running and join its worker."""
        self.gradcheck.shutdown()

    # ------------------------------------------------------------ slots

    @pyqtSlot()
    def new_empty_1d_model(self) -> None:
        """Edit ▸ New empty 1-D model."""
        self.editor.new_empty_model(1)

    @pyqtSlot()
    def new_empty_2d_model(self) -> None:
        """Edit ▸ New empty 2-D model."""
        self.editor.new_empty_model(2)

    @pyqtSlot(str)
    def show_link_text(self, text: str) -> None:
        """What the hovered or pinned cell links to, in the status bar and the editor."""
        self.status.showMessage(text or _(LINK_HINT))
        self.editor.show_links(text)

    @pyqtSlot(str, object)
    def _on_links_cell_clicked(self, role: str, index: tuple[int, ...]) -> None:
        found = tensor_of_panel(self.session, role, index)
        if found is not None:
            self.editor.select_cell(*found)

    @pyqtSlot(object)
    def _on_grid_current_changed(self, index: tuple[int, ...] | None) -> None:
        found = None if index is None else panel_of_tensor(self.session, self.editor.tensor, index)
        if found is not None and self.links.pinned is None:
            self.links.show(*found)  # the selected value's place in the heat maps and what it feeds

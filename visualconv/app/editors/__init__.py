"""Editors of the window: values and settings, undo/redo, linked highlighting, checks.

:func:`install_editors` adds them to a :class:`MainWindow`: the Editor, Gradient check
and Closed form docks (tabbed together on the right), an Edit menu with undo and redo,
and hover/click linking between the heat maps.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QDockWidget, QMainWindow

from .closed_form import ClosedFormView
from .editor_dock import EditorDock
from .gradcheck_panel import GradcheckPanel
from .history import EditHistory
from .links_view import LinkController

LINK_HINT = (
    "Hover a cell for its exact value; hover dW, dA_prev or an output to see what fed it, click to pin."
)


@dataclass
class Editors:
    """What :func:`install_editors` added to a window."""

    history: EditHistory
    editor: EditorDock
    gradcheck: GradcheckPanel
    closed_form: ClosedFormView
    links: LinkController
    docks: dict[str, QDockWidget]
    actions: dict[str, QAction]


def tensor_of_panel(
    window: QMainWindow, role: str, index: tuple[int, ...]
) -> tuple[str, tuple[int, ...]] | None:
    """The model tensor (file place and index) a heat-map cell shows, if it can be edited."""
    session = window.session  # type: ignore[attr-defined]
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
    window: QMainWindow, name: str, index: tuple[int, ...]
) -> tuple[str, tuple[int, ...]] | None:
    """The heat-map panel (role and trace index) that shows a model tensor's cell, if one does."""
    session = window.session  # type: ignore[attr-defined]
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


def install_editors(window: QMainWindow) -> Editors:
    """Add the editors, the checks, the Edit menu and linked highlighting to ``window``."""
    session = window.session  # type: ignore[attr-defined]
    history = EditHistory(session, window)
    editor = EditorDock(session, history)
    gradcheck = GradcheckPanel(session)
    closed = ClosedFormView(session)
    right = Qt.DockWidgetArea.RightDockWidgetArea
    docks = {
        "editor": window.add_dock(editor, "Editor", right),  # type: ignore[attr-defined]
        "gradcheck": window.add_dock(gradcheck, "Gradient check", right),  # type: ignore[attr-defined]
        "closed_form": window.add_dock(closed, "Closed form", right),  # type: ignore[attr-defined]
    }
    docks["editor"].setMinimumWidth(330)
    window.tabifyDockWidget(docks["editor"], docks["gradcheck"])
    window.tabifyDockWidget(docks["gradcheck"], docks["closed_form"])
    docks["editor"].raise_()
    # The closed-form view skips steps while its tab is hidden; it catches up when shown.
    docks["closed_form"].visibilityChanged.connect(closed.on_dock_visibility_changed)
    window.resizeDocks([docks["editor"]], [370], Qt.Orientation.Horizontal)

    bar = window.menuBar()
    assert bar is not None
    menus = window.menus  # type: ignore[attr-defined]
    edit_menu = bar.addMenu("&Edit")
    assert edit_menu is not None
    bar.insertMenu(menus["step"].menuAction(), edit_menu)
    menus["edit"] = edit_menu
    undo = history.stack.createUndoAction(window, "&Undo")
    redo = history.stack.createRedoAction(window, "&Redo")
    assert undo is not None and redo is not None
    undo.setShortcut(QKeySequence.StandardKey.Undo)
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    actions = {"undo": undo, "redo": redo}
    for action in (undo, redo):
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        window.addAction(action)
        edit_menu.addAction(action)
    edit_menu.addSeparator()
    for key, text, slot in (
        ("copy_csv", "&Copy tensor as CSV", editor.copy_csv),
        ("paste", "&Paste into tensor", editor.paste_clipboard),
        ("new_1d", "New empty &1-D model", lambda: editor.new_empty_model(1)),
        ("new_2d", "New empty &2-D model", lambda: editor.new_empty_model(2)),
        ("check", "Check &gradients", gradcheck.start),
    ):
        action = QAction(text, window)
        action.triggered.connect(slot)
        edit_menu.addAction(action)
        actions[key] = action
        if key == "paste":
            edit_menu.addSeparator()

    status = window.statusBar()
    assert status is not None

    def show_text(text: str) -> None:
        status.showMessage(text or LINK_HINT)
        editor.show_links(text)

    links = LinkController(window.layer_view, session, show_text, window)  # type: ignore[attr-defined]

    def on_clicked(role: str, index: tuple[int, ...]) -> None:
        found = tensor_of_panel(window, role, index)
        if found is not None:
            editor.select_cell(*found)

    links.sigCellClicked.connect(on_clicked)
    clear = QAction("&Clear highlights", window)
    clear.setShortcut(QKeySequence(Qt.Key.Key_Escape))
    clear.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    clear.triggered.connect(links.clear)
    window.addAction(clear)
    window.menus["view"].addAction(clear)  # type: ignore[attr-defined]
    window.actions_by_name["clear_highlights"] = clear  # type: ignore[attr-defined]
    actions["clear_highlights"] = clear

    def on_grid_current_changed(index: tuple[int, ...] | None) -> None:
        found = None if index is None else panel_of_tensor(window, editor.tensor, index)
        if found is not None and links.pinned is None:
            links.show(*found)  # the selected value's place in the heat maps and what it feeds

    editor.grid.sigCurrentChanged.connect(on_grid_current_changed)
    editor.grid.sigEditingDone.connect(window.hand_back_keys)  # type: ignore[attr-defined]
    status.showMessage(LINK_HINT)
    return Editors(history, editor, gradcheck, closed, links, docks, actions)

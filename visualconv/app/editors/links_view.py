"""Linked highlighting in the heat maps: hover or click a cell to see what fed it.

The engine says which cells take part in a cell's sum (:func:`visualconv.engine.links.cell_links`);
this controller maps the panels' tile cells to array indices and back, draws the
links in every panel of the layer view and shows the sum term by term.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QObject, pyqtSignal

from ...engine.links import CellLinks, cell_links
from ...engine.numbers import using
from ...engine.scene import Cell, PanelSpec, TileMap
from ...i18n import _
from ..session import Session
from ..widgets.layer_view import LayerView
from ..widgets.tensor_panel import TensorPanel

Index = tuple[int, ...]


def cell_to_index(tiles: TileMap, cell: Cell) -> Index | None:
    """The array index of a tile cell (None for a blank cell of a wrapped vector)."""
    index = tiles.index(cell)
    if tiles.kind == "vector" and index[0] >= tiles.shape[0]:
        return None
    return index


class LinkController(QObject):
    """Hover/click linking between the panels of a :class:`LayerView`.

    Hovering a cell shows its links until the pointer moves to another cell or leaves the
    panel; clicking pins them (they stay while the mouse moves on), and clicking the same
    cell again, Escape or any change of the model unpins.

    Signals
    -------
    sigLinksChanged(object)
        The :class:`CellLinks` shown, or None when cleared.
    sigCellClicked(str, object)
        A heat-map cell was clicked: the panel's role and the array index.
    """

    sigLinksChanged = pyqtSignal(object)
    sigCellClicked = pyqtSignal(str, object)

    def __init__(
        self,
        view: LayerView,
        session: Session,
        show_text: Callable[[str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.view = view
        self.session = session
        self.show_text = show_text
        self.links: CellLinks | None = None
        self.pinned: tuple[str, Index] | None = None
        self._connected: set[int] = set()
        session.sigTraceChanged.connect(self._on_session_trace_changed)
        session.sigStepChanged.connect(self._on_session_step_changed)
        session.sigPathChanged.connect(self._on_session_path_changed)
        session.sigModelChanged.connect(self._on_session_model_changed)
        self._connect_panels()

    # ------------------------------------------------------------ panels

    def _connect_panels(self) -> None:
        for role, panel in self.view.panels.items():
            if id(panel) in self._connected:
                continue
            self._connected.add(id(panel))
            panel.sigCellHovered.connect(lambda cell, role=role: self._on_panel_cell_hovered(role, cell))
            panel.sigCellClicked.connect(lambda cell, role=role: self._on_panel_cell_clicked(role, cell))

    def _spec(self, role: str) -> PanelSpec | None:
        return next((s for s in self.view.specs if s.role == role), None)

    def _index(self, role: str, cell: Cell) -> Index | None:
        spec = self.spec_or_none(role)
        if spec is None:
            return None
        index = cell_to_index(spec.tiles, cell)
        trace = self.session.trace
        if index is not None and trace is not None and role in ("input", "dx") and trace.x.ndim == 2:
            index = (index[0], index[2])  # a (C, L) input (flatten in a 1-D model) shown as (C, 1, L)
        return index

    def spec_or_none(self, role: str) -> PanelSpec | None:
        """The spec of a shown panel."""
        return self._spec(role)

    def _cell(self, role: str, index: Index) -> Cell | None:
        spec = self._spec(role)
        if spec is None:
            return None
        if len(index) < len(spec.tiles.shape):
            index = (index[0], 0, *index[1:])
        return spec.tiles.cell(index)

    # ------------------------------------------------------------ linking

    def show(self, role: str, index: Index | None) -> CellLinks | None:
        """Show the links of cell ``index`` of panel ``role`` (None clears them)."""
        trace = self.session.trace
        links = None
        if index is not None and trace is not None:
            try:
                with using(self.view.numbers):
                    links = cell_links(trace, role, index)
            except IndexError:
                links = None
        self.links = links
        for panel_role, panel in self.view.panels.items():
            cells: list[Cell] = []
            if links is not None:
                for i in links.cells.get(panel_role, ()):
                    cell = self._cell(panel_role, i)
                    if cell is not None:
                        cells.append(cell)
                if panel_role == role and index is not None:
                    own = self._cell(role, index)
                    if own is not None:
                        cells.append(own)
            panel.set_links(cells)
        if self.show_text is not None:
            self.show_text(self.text())
        self.sigLinksChanged.emit(links)
        return links

    def text(self) -> str:
        """The sum of the cell shown, and how much of it the current step has added."""
        links, trace = self.links, self.session.trace
        if links is None:
            return ""
        text = links.text
        k = self.session.step
        stepped = [t for t in links.terms if t.overlay]
        if trace is not None and stepped and k < trace.n:
            done = [t for t in stepped if t.overlay <= k]
            partial = sum((t.value for t in done), 0.0)
            count = _("{done} of {n} terms added").format(done=len(done), n=len(stepped))
            text += "   ·   " + _("at overlay {k} of {n}: {partial} ({count})").format(
                k=k, n=trace.n, partial=self.view.numbers.value(partial), count=count
            )
        return text

    def clear(self) -> None:
        """Unpin and clear every highlight (Escape, and any change of the model)."""
        self.pinned = None
        self.show("", None)

    def hover(self, role: str, cell: Cell | None) -> CellLinks | None:
        """What hovering a panel cell does (tests and the panels' signals)."""
        self._on_panel_cell_hovered(role, cell)
        return self.links

    def click(self, role: str, cell: Cell | None) -> CellLinks | None:
        """What clicking a panel cell does."""
        self._on_panel_cell_clicked(role, cell)
        return self.links

    def panel(self, role: str) -> TensorPanel:
        """The layer view's panel of ``role``."""
        return self.view.panels[role]

    def _on_panel_cell_hovered(self, role: str, cell: Cell | None) -> None:
        index = None if cell is None else self._index(role, cell)
        if index is None:
            if self.pinned is not None:
                self.show(*self.pinned)
            else:
                self.show(role, None)
            return
        if self.links is not None and self.links.role == role and self.links.index == index:
            return
        self.show(role, index)

    def _on_panel_cell_clicked(self, role: str, cell: Cell | None) -> None:
        index = None if cell is None else self._index(role, cell)
        if index is None or self.pinned == (role, index):
            self.pinned = None
            self.show(role, None)
            return
        self.pinned = (role, index)
        self.show(role, index)
        self.sigCellClicked.emit(role, index)

    def _on_session_trace_changed(self, trace: object) -> None:
        self._connect_panels()
        self.links = None
        pinned = self.pinned
        if pinned is not None and self._spec(pinned[0]) is not None:
            # An edit keeps the layer and pass: show the pinned sum with the new numbers.
            if self.show(*pinned) is None:
                self.pinned = None
        else:
            self.pinned = None
            self.show("", None)

    def _on_session_step_changed(self, k: int) -> None:
        if self.links is not None and self.show_text is not None:
            self.show_text(self.text())

    def _on_session_path_changed(self, path: str) -> None:
        self.pinned = None  # another model: a pinned cell of the last one means nothing here

    def _on_session_model_changed(self, model: object) -> None:
        self.clear()  # opened, edited or trained: the highlighted sum was the last model's

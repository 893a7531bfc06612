"""The heat maps of the selected layer and pass, kept in step with the session."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator

from PyQt6.QtCore import QEvent, QObject, QSize, QTimer, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QResizeEvent
from PyQt6.QtWidgets import QGridLayout, QLabel, QWidget

from ...engine.memory import reserve
from ...engine.numbers import DEFAULT, NumberFormat
from ...engine.palette import nice_level
from ...engine.scene import Cell, PanelSpec, PassScene, Scene, panel_help, pass_scene
from ...engine.trace import LayerTrace
from ...i18n import N_, _
from .. import theme
from ..session import Session
from .tensor_panel import OUTLINE_STYLES, CellNumbers, TensorPanel

PREPARE_QUIET_MS = 30
"""A new trace's idle work (memory, checkpoints) waits for its first frame and then for the heat
maps not to have painted for this long (a step or a scrub goes first)."""

LEGEND = (
    ("window", N_("the current window / element")),
    ("argmax", N_("the window's maximum")),
    ("changed", N_("cells this step changed")),
)


def legend_html(chosen: theme.Theme = theme.LIGHT) -> str:
    """What the outline colours mean, as rich text (in the colours of the theme ``chosen``)."""
    colours = {
        "window": chosen.window_outline,
        "argmax": chosen.argmax_outline,
        "changed": chosen.changed_outline,
        "link": chosen.link,
    }
    # a square for the outlines, the corner triangle for the maximum's mark
    symbols = {"argmax": "&#9701;"}
    parts = [
        f'<span style="color:{colours[kind]}; font-size:15px">{symbols.get(kind, "&#9634;")}</span>'
        f"&nbsp;{_(text)}"
        for kind, text in (*LEGEND, ("link", N_("linked cells (hover or click a cell)")))
    ]
    return (
        "&nbsp;&nbsp;&nbsp;&nbsp;".join(parts)
        + "&nbsp;&nbsp;&nbsp;&nbsp;"
        + _("blank cells: not computed yet")
    )


class _Note(QLabel):
    """A wrapped line under the panels that never asks for a height for its width.

    A layout with a height-for-width item makes the zoom area scroll at 100 % (it asks
    for the layout's preferred height), so the panels would not fit the area.
    """

    def hasHeightForWidth(self) -> bool:
        return False

    def sizeHint(self) -> QSize:
        """As tall as the text is at the label's width now."""
        hint = super().sizeHint()
        width = self.width() if self.width() > 50 else hint.width()
        return QSize(hint.width(), self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.sizeHint().height())

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        if event is not None and event.oldSize().width() != event.size().width():
            self.updateGeometry()  # another width, maybe another number of lines


def _boxes(cells: Iterable[Cell]) -> dict[int, tuple[int, int, int, int]]:
    """Per tile, the box (row0, row1, col0, col1) around the given cells."""
    boxes: dict[int, tuple[int, int, int, int]] = {}
    for t, r, c in cells:
        box = boxes.get(t)
        if box is None:
            boxes[t] = (r, r + 1, c, c + 1)
        else:
            boxes[t] = (min(box[0], r), max(box[1], r + 1), min(box[2], c), max(box[3], c + 1))
    return boxes


class LayerView(QWidget):
    """A grid of :class:`TensorPanel` drawing the scene of the session's current step.

    Panels are created once per role and reused: a new trace reconfigures them from the
    pass's :class:`~visualconv.engine.scene.PassScene`, a new step only pushes the values,
    levels and outlines of its :class:`~visualconv.engine.scene.Scene` that changed.
    The numbers of a panel keep their decimals and their size over the pass. A
    double-click on a panel shows it alone (:meth:`enlarge`; :meth:`show_all` goes back).

    Signals
    -------
    sigEnlargedChanged(str)
        The role of the panel shown alone, or ``""`` when the grid is back.
    sigZoomRequested(int)
        Ctrl+wheel over a panel: +1 to zoom in, -1 to zoom out.
    """

    sigEnlargedChanged = pyqtSignal(str)
    sigZoomRequested = pyqtSignal(int)

    def __init__(
        self, session: Session, parent: QWidget | None = None, numbers: NumberFormat = DEFAULT
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.numbers = numbers
        self.panels: dict[str, TensorPanel] = {}
        self.specs: list[PanelSpec] = []
        self.scenes: PassScene | None = None
        self.fixed_scale = True  # one colour scale per pass, as the exports (View menu: per step)
        self.show_numbers = True
        self.text_scale = 1.0  # the zoom
        self.palette_key = "rdbu"
        self.theme = theme.LIGHT
        self.presentation = False
        self.enlarged = ""  # the role of the panel shown alone
        self._levels: dict[str, float] | None = None
        self._shown: tuple[LayerTrace, int, Scene] | None = None
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(4, 4, 4, 4)
        self._grid.setSpacing(8)
        self._message = _Note("")
        self._message.setObjectName("muted")
        self._message.setWordWrap(True)
        self._grid.addWidget(self._message, 0, 0)
        self._message.hide()
        self.legend = _Note(legend_html(), self)
        self.legend.setObjectName("muted")
        self.legend.setWordWrap(True)
        # The idle work of a new trace (see _on_session_trace_changed): it starts a moment after
        # the trace is shown, so the first frame is painted before it.
        self._preparing: tuple[LayerTrace, Iterator[None]] | None = None
        self._prepare_timer = QTimer(self)
        self._prepare_timer.setSingleShot(True)
        self._prepare_timer.timeout.connect(self._on_prepare_timer_timeout)
        self._painted = False  # a heat map painted since the trace was shown
        self._last_paint = 0.0  # time.monotonic() of the heat maps' last paint
        session.sigTraceChanged.connect(self._on_session_trace_changed)
        session.sigStepChanged.connect(self._on_session_step_changed)

    # ------------------------------------------------------------ options

    def set_fixed_scale(self, fixed: bool) -> None:
        """Fix each panel's colour scale across all steps of the pass (frames compare)."""
        if fixed != self.fixed_scale:
            self.fixed_scale = fixed
            self._levels = None
            self.refresh()

    def set_show_numbers(self, show: bool) -> None:
        """Show or hide the numbers in small cells."""
        self.show_numbers = show
        for panel in self.panels.values():
            panel.set_show_numbers(show)

    def set_numbers(self, numbers: NumberFormat) -> None:
        """Write every cell and tooltip with ``numbers`` (View ▸ Numbers): the pass is shown anew."""
        if numbers == self.numbers:
            return
        self.numbers = numbers
        for panel in self.panels.values():
            panel.set_numbers(numbers)
        self._show_anew()

    def set_palette(self, key: str) -> None:
        """Colour every panel with the palette ``key`` (View ▸ Palette): the pass is shown anew."""
        if key == self.palette_key:
            return
        self.palette_key = key
        for panel in self.panels.values():
            panel.set_palette(key)
        self._show_anew()

    def set_theme(self, chosen: theme.Theme) -> None:
        """The panels and the legend in the colours of ``chosen`` (View ▸ Theme)."""
        self.theme = chosen
        for panel in self.panels.values():
            panel.set_theme(chosen)
        self.legend.setText(legend_html(chosen))

    def _show_anew(self) -> None:
        enlarged = self.enlarged
        self._on_session_trace_changed(self.session.trace)
        if enlarged:
            self.enlarge(enlarged)
        self.refresh()

    def set_text_scale(self, scale: float, presentation: bool = False) -> None:
        """Scale the numbers with the zoom (``scale`` 0.5 .. 4); a presentation draws them large.

        A presentation leaves out the key to the marks: its line is room for the numbers (the
        presenter says what the outlines mean).
        """
        changed = presentation != self.presentation
        self.text_scale, self.presentation = scale, presentation
        self.legend.setVisible(not presentation)
        for panel in self.panels.values():
            panel.set_text_scale(scale, presentation)
        if changed:
            self._place_panels()

    @pyqtSlot(str)
    def toggle_enlarged(self, role: str) -> None:
        """Show the panel ``role`` alone, or the grid again when it already is."""
        if self.enlarged == role:
            self.show_all()
        else:
            self.enlarge(role)

    def enlarge(self, role: str) -> None:
        """Show only the panel ``role``, filling the heat maps' area."""
        if role not in {spec.role for spec in self.specs} or role == self.enlarged:
            return
        self.enlarged = role
        self._place_panels()
        self.sigEnlargedChanged.emit(role)

    def show_all(self) -> None:
        """Every panel of the pass again, in its grid."""
        if self.enlarged:
            self.enlarged = ""
            self._place_panels()
            self.sigEnlargedChanged.emit("")

    # ------------------------------------------------------------ session

    def _panel(self, role: str) -> TensorPanel:
        panel = self.panels.get(role)
        if panel is None:
            panel = TensorPanel(role, self, self.numbers)
            self.panels[role] = panel
            panel.set_show_numbers(self.show_numbers)
            panel.set_text_scale(self.text_scale, self.presentation)
            panel.set_palette(self.palette_key)
            panel.set_theme(self.theme)
            panel.view.viewport().installEventFilter(self)  # its paints: when the view is idle
            panel.sigEnlargeRequested.connect(self.toggle_enlarged)
            panel.sigZoomRequested.connect(self.sigZoomRequested)
        return panel

    def _place_panels(self) -> None:
        """Put the pass's panels in the grid (or the enlarged one alone)."""
        for panel in self.panels.values():
            self._grid.removeWidget(panel)
            panel.hide()
        self._grid.removeWidget(self.legend)
        if not self.specs:
            return
        alone = [spec for spec in self.specs if spec.role == self.enlarged]
        rows = 1 + max(spec.row for spec in self.specs)
        cols = 1 + max(spec.col for spec in self.specs)
        for r in range(4):
            self._grid.setRowStretch(r, 1 if r < rows else 0)
        self._grid.addWidget(self.legend, rows, 0, 1, cols)
        for c in range(4):
            self._grid.setColumnStretch(c, 0)
        if alone:
            self._grid.addWidget(self.panels[alone[0].role], 0, 0, rows, cols)
            self.panels[alone[0].role].show()
            for c in range(cols):
                self._grid.setColumnStretch(c, 1)
            return
        for spec in self.specs:
            panel = self.panels[spec.role]
            self._grid.addWidget(panel, spec.row, spec.col)
            panel.show()
        if self.presentation:
            # Cells fill their panels: rows and columns share the room as their cells do.
            for r in range(rows):
                self._grid.setRowStretch(r, max(self._cells(s)[0] for s in self.specs if s.row == r) or 1)
            for c in range(cols):
                self._grid.setColumnStretch(c, max(self._cells(s)[1] for s in self.specs if s.col == c) or 1)
            return
        # Wide panels (inputs, outputs) get more room than bias vectors.
        for c in range(cols):
            small = all(s.tiles.kind == "vector" and s.tiles.shape[0] <= 4 for s in self.specs if s.col == c)
            self._grid.setColumnStretch(c, 2 if small else 3)

    def _cells(self, spec: PanelSpec) -> tuple[int, int]:
        """Rows and columns of cells a panel shows (its tiles and the gaps between them)."""
        geometry = self.panels[spec.role].geometry
        return geometry.mosaic_shape() if geometry is not None else (1, 1)

    def _pass_numbers(self, scenes: PassScene) -> None:
        """Each numbered panel's decimals and widest number over the pass (numbers keep their size)."""
        peaks = scenes.peak_levels()
        decimals: dict[str, int] = {}
        for spec in self.specs:
            h, w = spec.tiles.tile_shape
            if h <= theme.MAX_NUMBERED_CELLS and w <= theme.MAX_NUMBERED_CELLS:
                decimals[spec.role] = self.numbers.decimals_for(nice_level(peaks.get(spec.role, 0.0)))
        widest = scenes.widest_cells(decimals, CellNumbers.VARIANTS)
        for spec in self.specs:
            self.panels[spec.role].set_pass_numbers(decimals.get(spec.role), widest.get(spec.role))

    def _on_session_trace_changed(self, trace: LayerTrace | None) -> None:
        self.legend.setText(legend_html())  # in the language in use (a switch redraws the trace)
        self._levels = None
        self._shown = None
        was_enlarged = self.enlarged
        for panel in self.panels.values():
            self._grid.removeWidget(panel)
            panel.hide()
        if trace is None:
            self.enlarged = ""
            self.specs = []
            self.scenes = None
            self._message.setText(self.session.trace_error or _("No model."))
            self._message.show()
            return
        self._message.hide()
        self.scenes = pass_scene(trace, self.numbers)
        specs = list(self.scenes.specs)
        if all(spec.tiles.tile_shape[0] == 1 and spec.tiles.count <= 4 for spec in specs):
            # 1-D strips: operands on the left, their gradients beside them on the right.
            specs = [dataclasses.replace(spec, row=spec.col, col=spec.row) for spec in specs]
        self.specs = specs
        for spec in self.specs:
            panel = self._panel(spec.role)
            tiles = spec.tiles
            panel.configure(
                spec.title,
                tiles.count,
                tiles.tile_shape,
                grid=tiles.grid,
                captions=tiles.captions(spec.title.split(" ")[0]),
                padding=spec.padding,
                subtitle=spec.subtitle,
                index_text=tiles.index_text,
            )
            text = panel_help(spec)  # what this panel shows, from the kind's panel spec
            panel.setWhatsThis(text)
            panel.title.setToolTip(text)
            panel.subtitle.setToolTip(text)
        self._pass_numbers(self.scenes)
        # When idle, after the first frame: memory for the steps and checkpoints the trace will
        # keep (its first steps and jumps are then as quick as the rest, not each paying for a
        # fresh full-size array), then the trace's own preparation (a conv layer's checkpoints
        # for jumps), a piece per turn of the event loop.
        self._preparing = None
        self._painted = False
        self._prepare_timer.start(PREPARE_QUIET_MS)
        if self.enlarged not in {spec.role for spec in specs}:
            self.enlarged = ""  # a pass without the enlarged panel shows them all
        self._place_panels()
        if self.enlarged != was_enlarged:
            self.sigEnlargedChanged.emit(self.enlarged)

    @pyqtSlot()
    def _on_prepare_timer_timeout(self) -> None:
        """One piece of the idle work of the trace shown (the first turn reserves its memory)."""
        trace = self.session.trace
        if trace is None:
            return
        quiet = time.monotonic() - self._last_paint
        if not self._painted or quiet < PREPARE_QUIET_MS / 1e3:
            # not yet: the first frame, or the frames of a step, are being painted
            self._prepare_timer.start(max(1, round(PREPARE_QUIET_MS - 1e3 * max(quiet, 0.0))))
            return
        if self._preparing is None or self._preparing[0] is not trace:
            reserve(trace.step_bytes(), trace.kept_blocks())
            self._preparing = (trace, trace.prepare())
        elif next(self._preparing[1], StopIteration) is StopIteration:
            self._preparing = (trace, iter(()))
            return  # done: the timer waits for the next trace
        self._prepare_timer.start(0)

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:  # noqa: D102 - Qt API
        if event is not None and event.type() == QEvent.Type.Paint:
            self._painted = True
            self._last_paint = time.monotonic()
        return super().eventFilter(watched, event)

    def _on_session_step_changed(self, k: int) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Show the scene of the session's current step in every panel."""
        trace = self.session.trace
        scenes = self.scenes
        if trace is None or not self.specs or scenes is None:
            return
        k = self.session.step
        scene = scenes.step(k)
        if self.fixed_scale and self._levels is None:
            self._levels = scenes.peak_levels()
        # One overlay on or back: only the cells that overlay changes can differ.
        previous = self._shown
        hints: dict[str, dict[int, tuple[int, int, int, int]]] = {}
        if previous is not None and previous[0] is trace and abs(previous[1] - k) == 1:
            undone = scene if k > previous[1] else previous[2]
            hints = {role: _boxes(state.outlines.get("changed", ())) for role, state in undone.panels.items()}
        self._shown = (trace, k, scene)
        levels = self._levels
        for spec in self.specs:
            state = scene.panels.get(spec.role)
            if state is None:
                continue
            panel = self.panels[spec.role]
            level = levels[spec.role] if levels is not None else state.level
            values = state.values
            if state.prefix is not None:
                panel.set_prefix(spec.tiles.tiles(values), state.prefix, level, values)
            else:
                hint = hints.get(spec.role) if spec.role in ("dx", "dw", "db") else None
                panel.set_values(spec.tiles.tiles(values), level, values, hint)
            for kind in OUTLINE_STYLES:
                panel.set_outline(kind, state.outlines.get(kind, ()))

    def visible_panels(self) -> dict[str, TensorPanel]:
        """The panels of the current trace, by role."""
        return {spec.role: self.panels[spec.role] for spec in self.specs}

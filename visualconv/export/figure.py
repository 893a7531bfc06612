"""A scene laid out for print: the tiles of a snapshot as plain data (no Qt).

The scene (:mod:`visualconv.engine.scene`) says what a step shows; this module tiles it
for a printed figure, and :mod:`.paint` decides *where* and *how* it is drawn. The LaTeX
export reads the same tiles.

A figure is rows of :class:`Panel`; a panel is a titled block of :class:`Grid` tiles (one
per channel, or per filter and channel) sharing one diverging colour scale centred on zero.
The colour limits, the widest number and the equation lines of *every* step of the pass
are gathered once in a :class:`PassStyle`, so all steps of a pass lay out to the same size
and use the same colours: frames of an animation compare, and slide k equals frame k.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import palette
from ..engine.model import Model
from ..engine.numbers import DEFAULT, NumberFormat, current
from ..engine.scene import PanelSpec, PanelState, Scene, padding_mask, pass_scene, scanned_steps
from ..engine.trace import LayerTrace
from ..engine.windows import FloatArray
from ..i18n import _
from ..samples import shown

__all__ = [
    "MAX_NUMBERED",
    "TILES_PER_ROW",
    "Figure",
    "Grid",
    "Panel",
    "PassStyle",
    "build_figure",
    "layer_caption",
    "pass_style",
    "printed_panels",
    "scanned_steps",
]

# Grids larger than this (rows or columns) are drawn without numbers in the cells.
MAX_NUMBERED = 14
# Tiles of a 2-D layer per row of a panel.
TILES_PER_ROW = 4

BoolArray = np.ndarray
_UNSET: Any = None  # a mask not given: filled in by Grid.__post_init__


@dataclass(frozen=True, slots=True)
class Grid:
    """One 2-D matrix drawn as cells.

    Attributes
    ----------
    values : ndarray of shape (h, w)
    label : str
        Small label above the tile ("c=0"); empty when the panel has one tile.
    shown : ndarray of bool, shape (h, w)
        False for cells not computed yet at this step (drawn blank).
    muted : ndarray of bool, shape (h, w)
        True for padding cells (drawn grey, outside the colour scale).
    outline : ndarray of bool, shape (h, w)
        Cells of the current window or element; their boundary is drawn thick.
    marks : ndarray of bool, shape (h, w)
        Cells ringed: the recorded maximum of a pooling window.
    """

    values: FloatArray = field(repr=False)
    label: str = ""
    shown: BoolArray = field(default=_UNSET, repr=False)
    muted: BoolArray = field(default=_UNSET, repr=False)
    outline: BoolArray = field(default=_UNSET, repr=False)
    marks: BoolArray = field(default=_UNSET, repr=False)

    def __post_init__(self) -> None:
        values = np.atleast_2d(np.asarray(self.values, dtype=np.float64))
        object.__setattr__(self, "values", values)
        for name, default in (("shown", True), ("muted", False), ("outline", False), ("marks", False)):
            mask = getattr(self, name)
            mask = (
                np.full(values.shape, default)
                if mask is None
                else np.asarray(mask, dtype=bool).reshape(values.shape)
            )
            object.__setattr__(self, name, mask)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (int(self.values.shape[0]), int(self.values.shape[1]))


@dataclass(frozen=True, slots=True)
class Panel:
    """A titled block of tiles sharing one colour scale.

    Attributes
    ----------
    key : str
        The quantity ("x", "w", "dz", "dw", "dx" ...: :attr:`Printed.key`); the colour
        limit is looked up by it.
    title : str
        "dA_prev", "W[0]" ...
    note : str
        Shape and remarks, drawn small after the title.
    rows : tuple of tuple of Grid
        Tiles, row by row.
    """

    key: str
    title: str
    note: str
    rows: tuple[tuple[Grid, ...], ...]

    @property
    def grids(self) -> list[Grid]:
        """Every tile, row by row."""
        return [g for row in self.rows for g in row]

    @property
    def numbered(self) -> bool:
        """Whether cells carry numbers (no tile is larger than MAX_NUMBERED)."""
        return all(max(g.shape) <= MAX_NUMBERED for g in self.grids)


@dataclass(frozen=True, slots=True)
class PassStyle:
    """What every step of a pass shares: colour limits, widest numbers, equation lines.

    Attributes
    ----------
    limits : dict of str to float
        Per printed panel key, the scene's colour limit fixed over the pass (> 0).
    widest : tuple of str
        The longest cell texts over the steps scanned (the painter measures them).
    explanations : tuple of tuple of str
        The equation lines of the steps scanned (the painter reserves room for the longest).
    """

    limits: dict[str, float]
    widest: tuple[str, ...]
    explanations: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Figure:
    """Everything one snapshot shows.

    Attributes
    ----------
    title : str
        The model's name.
    caption : str
        "layer i (type), pass, overlay k of n".
    panels : tuple of tuple of Panel
        Printed rows: operands first, results second.
    lines : tuple of str
        The step's arithmetic (the scene's equation lines).
    style : PassStyle
    reserve_caption : str
        The longest caption of the pass (step 0's), so every step lays out alike.
    legend : tuple of str
        What the marks mean (the scene's legend).
    numbers : NumberFormat
        How the cells are written.
    """

    title: str
    caption: str
    panels: tuple[tuple[Panel, ...], ...]
    lines: tuple[str, ...]
    style: PassStyle
    reserve_caption: str = ""
    legend: tuple[str, ...] = ()
    numbers: NumberFormat = DEFAULT


# ----------------------------------------------------------------------------- tiling


def _note(shape_text: str, note: str) -> str:
    return (shape_text + ("  " + note if note else "")).strip()


def _channel_panel(
    key: str,
    title: str,
    values: FloatArray,
    dims: int,
    *,
    note: str = "",
    prefix: str = "c",
    **masks: Any,
) -> Panel:
    """Tiles of a (C, H, W) array: a column of rows for 1-D layers, rows of tiles for 2-D.

    ``masks`` are (C, H, W) bool arrays named as :class:`Grid`'s fields.
    """
    values = np.asarray(values)
    channels = values.shape[0]
    grids = []
    for c in range(channels):
        kwargs: dict[str, Any] = {name: (None if m is None else m[c]) for name, m in masks.items()}
        grids.append(Grid(values[c], f"{prefix}={c}" if channels > 1 else "", **kwargs))
    per_row = 1 if dims == 1 else TILES_PER_ROW
    rows = tuple(tuple(grids[i : i + per_row]) for i in range(0, len(grids), per_row))
    shape = "×".join(str(s) for s in (values.shape if dims == 2 else (values.shape[0], values.shape[2])))
    return Panel(key, title, _note(shape, note), rows)


def _vector_panel(key: str, title: str, values: FloatArray, *, note: str = "", **masks: Any) -> Panel:
    """One 1×N tile of a vector."""
    values = np.asarray(values).reshape(1, -1)
    kwargs: dict[str, Any] = {
        n: (None if m is None else np.asarray(m).reshape(1, -1)) for n, m in masks.items()
    }
    return Panel(key, title, _note(f"{values.shape[1]}", note), ((Grid(values, "", **kwargs),),))


def _filters_panel(key: str, title: str, values: FloatArray, dims: int, outline: BoolArray) -> Panel:
    """Tiles of a (C_out, C_in, kH, kW) array: one row per filter, one tile per input channel.

    With one input channel the filters of a 2-D layer sit side by side instead.
    """
    c_out, c_in = values.shape[:2]
    tiles = []
    for f in range(c_out):
        row = []
        for c in range(c_in):
            label = ", ".join(p for p in (f"f={f}" if c_out > 1 else "", f"c={c}" if c_in > 1 else "") if p)
            row.append(Grid(values[f, c], label, outline=outline[f, c]))
        tiles.append(tuple(row))
    if c_in == 1 and dims == 2:
        flat = [row[0] for row in tiles]
        tiles = [tuple(flat[i : i + TILES_PER_ROW]) for i in range(0, len(flat), TILES_PER_ROW)]
    dims_shape = values.shape if dims == 2 else (*values.shape[:2], values.shape[3])
    return Panel(key, title, "×".join(str(s) for s in dims_shape), tuple(tiles))


def printed_panel(spec: PanelSpec, state: PanelState) -> Panel:
    """One scene panel tiled for print.

    The printed outline is the cells of the window's "window" and "changed" outlines and
    the marks those of "argmax", unless the state says otherwise; a kernel printed one
    filter at a time shows the current overlay's filter, without an outline.
    """
    printed, tiles = spec.printed, spec.tiles
    key = printed.key or spec.role
    values = np.asarray(state.values)
    dims = 1 if tiles.one_d else 2
    kind = tiles.kind
    if kind == "kernels" and printed.one_filter:
        f = state.focus or 0
        note = _("filter {f}").format(f=f) if values.shape[0] > 1 else ""
        return _channel_panel(key, f"{printed.title}[{f}]", values[f], dims, note=note)
    outlines = state.outlines
    outline_cells = (
        (*outlines.get("window", ()), *outlines.get("changed", ()))
        if state.printed_outline is None
        else state.printed_outline
    )
    mark_cells = outlines.get("argmax", ()) if state.printed_marks is None else state.printed_marks
    outline = tiles.mask(outline_cells)
    if kind == "kernels":
        return _filters_panel(key, printed.title, values, dims, outline)
    marks: Any = tiles.mask(mark_cells) if mark_cells else None
    shown: Any = state.shown_mask() if state.prefix is not None else None
    if kind == "matrix":
        grid = Grid(values, "", shown=shown, outline=outline, marks=marks)
        return Panel(key, printed.title, "×".join(str(s) for s in values.shape), ((grid,),))
    if kind == "vector":
        return _vector_panel(
            key, printed.title, values, note=printed.note, shown=shown, outline=outline, marks=marks
        )
    muted = padding_mask(tiles.shape, spec.padding) if any(spec.padding) else None
    return _channel_panel(
        key,
        printed.title,
        values,
        dims,
        note=printed.note,
        prefix=printed.labels,
        shown=shown,
        muted=muted,
        outline=outline,
        marks=marks,
    )


def printed_panels(scene: Scene) -> tuple[tuple[Panel, ...], ...]:
    """The panels of a scene in printed rows (operands, then results)."""
    placed = sorted(
        (spec for spec in scene.specs if spec.role in scene.panels),
        key=lambda spec: (spec.printed.row, spec.printed.col),
    )
    rows: dict[int, list[Panel]] = {}
    for spec in placed:
        rows.setdefault(spec.printed.row, []).append(printed_panel(spec, scene.panels[spec.role]))
    return tuple(tuple(rows[r]) for r in sorted(rows))


# ----------------------------------------------------------------------------- pass style


def pass_style(
    trace: LayerTrace, ks: list[int] | None = None, numbers: NumberFormat | None = None
) -> PassStyle:
    """Gather colour limits, widest numbers and equation lines over the steps of a pass.

    Parameters
    ----------
    trace : LayerTrace
    ks : list of int, optional
        Steps to scan (default :func:`scanned_steps`).
    numbers : NumberFormat, optional
        How cells are written (the widest texts are measured); default: the current format
        (:func:`visualconv.engine.numbers.using`).

    Returns
    -------
    PassStyle
    """
    numbers = numbers or current()
    scenes = pass_scene(trace, numbers)
    ks = scanned_steps(trace.n) if ks is None else ks
    by_role = scenes.limits(ks)
    limits = {(s.printed.key or s.role): by_role[s.role] for s in scenes.specs if s.role in by_role}
    texts: set[str] = set()
    explanations = []
    for k in ks:
        scene = scenes.step(k)
        explanations.append(scene.lines)
        for row in printed_panels(scene):
            for panel in row:
                if panel.numbered:
                    limit = limits[panel.key]
                    for grid in panel.grids:
                        texts.update(numbers.figure_cell(v, limit) for v in grid.values.ravel())
    longest = max((len(t) for t in texts), default=1)
    widest = tuple(sorted(t for t in texts if len(t) >= longest - 1))
    return PassStyle(limits, widest, tuple(explanations))


def layer_caption(model: Model, index: int, trace: LayerTrace, k: int) -> str:
    """The caption: layer i (conv 1-D), backward pass, overlay k of n (k = 0: before the first)."""
    where = (
        _("overlay {k} of {n}").format(k=k, n=trace.n)
        if k
        else _("overlay 0 of {n} (before the first overlay)").format(n=trace.n)
    )
    layer = model.layers[index]
    text = _("layer {index} ({kind}), forward pass, {where}")
    if trace.pass_name == "backward":
        text = _("layer {index} ({kind}), backward pass, {where}")
    return text.format(index=index, kind=layer.kind.caption(layer), where=where)


def build_figure(
    model: Model,
    index: int,
    trace: LayerTrace,
    k: int,
    style: PassStyle | None = None,
    numbers: NumberFormat | None = None,
) -> Figure:
    """The figure of step ``k`` of ``trace`` (layer ``index`` of ``model``).

    Parameters
    ----------
    model : Model
    index : int
        Layer index.
    trace : LayerTrace
        ``trace_layer(model, index, pass)``.
    k : int
        Step, 0..n.
    style : PassStyle, optional
        Shared by the steps of an animation; computed from the pass when omitted.
    numbers : NumberFormat, optional
        Default: the current format (:func:`visualconv.engine.numbers.using`).

    Returns
    -------
    Figure
    """
    numbers = numbers or current()
    if style is None:
        style = pass_style(trace, scanned_steps(trace.n, k), numbers)
    scene = pass_scene(trace, numbers).step(k)
    return Figure(
        shown(model.name),
        layer_caption(model, index, trace, k),
        printed_panels(scene),
        scene.lines,
        style,
        layer_caption(model, index, trace, 0),
        palette_legend(scene.legend),
        numbers,
    )


def palette_legend(legend: tuple[str, ...]) -> tuple[str, ...]:
    """The scene's legend, its colour key saying dark < 0 < light when exporting with a sequential palette.

    (:func:`visualconv.engine.palette.exporting_with`: the window's View ▸ Palette choice.)
    """
    chosen = palette.export_palette()
    if chosen is None or chosen.diverging or not legend:
        return legend
    return (_("colours: dark < 0 < light, one scale per panel for the whole pass"), *legend[1:])

"""What a snapshot shows, as plain data: panels of matrices, masks, colour limits and text.

This module decides *what* is drawn for a step of a layer's pass; :mod:`.paint` decides
*where* and *how*. Nothing here imports Qt, so the content of a figure can be tested and
reused (the LaTeX and data exports read the same panels).

A figure is rows of :class:`Panel`; a panel is a titled block of :class:`Grid` tiles (one
per channel, or per filter and channel) sharing one diverging colour scale centred on zero.
The colour limits, the widest number and the equation lines of *every* step of the pass
are gathered once in a :class:`PassStyle`, so all steps of a pass lay out to the same size
and use the same colours: frames of an animation compare, and slide k equals frame k.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..engine.explain import explain
from ..engine.layers import ConvLayer, DenseLayer, PoolLayer
from ..engine.model import Model
from ..engine.numbers import DEFAULT, NumberFormat
from ..engine.trace import LayerTrace, Step
from ..engine.windows import FloatArray

# Passes with more steps are scanned on an even sample of steps (plus the one shown).
SCAN_LIMIT = 600
# Grids larger than this (rows or columns) are drawn without numbers in the cells.
MAX_NUMBERED = 14
# Tiles of a 2-D layer per row of a panel.
TILES_PER_ROW = 4

BoolArray = np.ndarray


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
        Cells ringed: the recorded maximum of a pooling window, routed gradients.
    """

    values: FloatArray = field(repr=False)
    label: str = ""
    shown: BoolArray = field(default=None, repr=False)  # type: ignore[assignment]
    muted: BoolArray = field(default=None, repr=False)  # type: ignore[assignment]
    outline: BoolArray = field(default=None, repr=False)  # type: ignore[assignment]
    marks: BoolArray = field(default=None, repr=False)  # type: ignore[assignment]

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
        The quantity ("x", "w", "dz", "dw", "dx" ...); the colour limit is looked up by it.
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
        Per panel key, the largest absolute value over the steps scanned (> 0).
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
        Semantic rows: operands first, results second.
    lines : tuple of str
        The step's arithmetic, from :func:`visualconv.engine.explain.explain`.
    style : PassStyle
    reserve_caption : str
        The longest caption of the pass (step 0's), so every step lays out alike.
    """

    title: str
    caption: str
    panels: tuple[tuple[Panel, ...], ...]
    lines: tuple[str, ...]
    style: PassStyle
    reserve_caption: str = ""


# ----------------------------------------------------------------------------- panels


def _mask(shape: tuple[int, ...], index: tuple[object, ...] | None = None) -> BoolArray:
    mask = np.zeros(shape, dtype=bool)
    if index is not None:
        mask[index] = True
    return mask


def _window(shape: tuple[int, ...], channels: slice | int, rows: slice, cols: slice) -> BoolArray:
    """Bool mask of shape (C, H, W) with the window's cells set."""
    mask = np.zeros(shape, dtype=bool)
    mask[channels, rows, cols] = True
    return mask


def _channel_panel(
    key: str,
    title: str,
    values: FloatArray,
    dims: int,
    *,
    note: str = "",
    prefix: str = "c",
    **masks: BoolArray | None,
) -> Panel:
    """Tiles of a (C, H, W) array: a column of rows for 1-D layers, rows of tiles for 2-D.

    ``masks`` are (C, H, W) bool arrays named as :class:`Grid`'s fields.
    """
    values = np.asarray(values)
    channels = values.shape[0]
    grids = []
    for c in range(channels):
        kwargs = {name: (None if m is None else m[c]) for name, m in masks.items()}
        grids.append(Grid(values[c], f"{prefix}={c}" if channels > 1 else "", **kwargs))
    per_row = 1 if dims == 1 else TILES_PER_ROW
    rows = tuple(tuple(grids[i : i + per_row]) for i in range(0, len(grids), per_row))
    shape = "×".join(str(s) for s in (values.shape if dims == 2 else (values.shape[0], values.shape[2])))
    return Panel(key, title, (shape + ("  " + note if note else "")).strip(), rows)


def _vector_panel(
    key: str, title: str, values: FloatArray, *, note: str = "", **masks: BoolArray | None
) -> Panel:
    """One 1×N tile of a vector."""
    values = np.asarray(values).reshape(1, -1)
    kwargs = {name: (None if m is None else np.asarray(m).reshape(1, -1)) for name, m in masks.items()}
    shape = f"{values.shape[1]}"
    return Panel(
        key, title, (shape + ("  " + note if note else "")).strip(), ((Grid(values, "", **kwargs),),)
    )


def _filters_panel(key: str, title: str, values: FloatArray, dims: int, outline_filter: int | None) -> Panel:
    """Tiles of a (C_out, C_in, kH, kW) array: one row per filter, one tile per input channel.

    With one input channel the filters of a 2-D layer sit side by side instead.
    """
    c_out, c_in = values.shape[:2]
    tiles = []
    for f in range(c_out):
        row = []
        for c in range(c_in):
            label = ", ".join(p for p in (f"f={f}" if c_out > 1 else "", f"c={c}" if c_in > 1 else "") if p)
            outline = np.full(values.shape[2:], f == outline_filter) if outline_filter is not None else None
            row.append(Grid(values[f, c], label, outline=outline))
        tiles.append(tuple(row))
    if c_in == 1 and dims == 2:
        flat = [row[0] for row in tiles]
        tiles = [tuple(flat[i : i + TILES_PER_ROW]) for i in range(0, len(flat), TILES_PER_ROW)]
    rows = tiles
    dims_shape = values.shape if dims == 2 else (*values.shape[:2], values.shape[3])
    return Panel(key, title, "×".join(str(s) for s in dims_shape), tuple(rows))


def _conv_note(layer: ConvLayer) -> str:
    dims = layer.dims
    parts = []
    for name, pair in (("stride", layer.stride), ("padding", layer.padding), ("dilation", layer.dilation)):
        value = pair[1] if dims == 1 else pair
        default = 0 if name == "padding" else 1
        if (dims == 1 and value != default) or (dims == 2 and value != (default, default)):
            parts.append(f"{name} {value if dims == 1 else '×'.join(str(v) for v in value)}")
    return ", ".join(parts)


def _conv_panels(trace: LayerTrace, step: Step) -> tuple[tuple[Panel, ...], ...]:
    layer = trace.layer
    assert isinstance(layer, ConvLayer)
    dims = layer.dims
    ov = step.overlay
    f = ov.channel if ov is not None else 0
    (ph, pw) = layer.padding
    xp = trace.x_padded
    muted = np.ones(xp.shape, dtype=bool)
    muted[:, ph : xp.shape[1] - ph, pw : xp.shape[2] - pw] = False
    window = _window(xp.shape, slice(None), ov.rows, ov.cols) if ov is not None else None
    padded = bool(ph or pw)
    x_title = "A_pad" if padded else "A_prev"
    x_note = "grey border = zero padding" if padded else ""
    x_panel = _channel_panel("x", x_title, xp, dims, note=x_note, muted=muted, outline=window)
    w_panel = _channel_panel(
        "w", f"W[{f}]", trace.weight[f], dims, note=f"filter {f}" if trace.weight.shape[0] > 1 else ""
    )
    out_shape = trace.out_shape
    current = _mask(out_shape, (f, *ov.position)) if ov is not None else None
    bias = trace.bias
    b_panel = (
        _vector_panel("b", "b", bias, outline=_mask(bias.shape, (f,)) if ov is not None else None)
        if bias is not None
        else None
    )
    if step.pass_name == "forward":
        done = step.state.done
        first = [x_panel, w_panel] + ([b_panel] if b_panel is not None else [])
        second = [_channel_panel("z", "Z", step.state.z, dims, prefix="f", shown=done, outline=current)]
        if layer.activation != "identity":
            second.append(
                _channel_panel(
                    "a",
                    f"A = {layer.activation}(Z)",
                    step.state.a,
                    dims,
                    prefix="f",
                    shown=done,
                    outline=current,
                )
            )
        return (tuple(first), tuple(second))
    first = [x_panel, w_panel]
    dz_title = f"dZ = dA ⊙ {layer.activation}'(Z)" if layer.activation != "identity" else "dZ"
    first.append(_channel_panel("dz", dz_title, step.state.dz, dims, prefix="f", outline=current))
    second = [_filters_panel("dw", "dW", step.state.dw, dims, f if ov is not None else None)]
    if bias is not None:
        second.append(
            _vector_panel(
                "db", "db", step.state.db, outline=_mask(bias.shape, (f,)) if ov is not None else None
            )
        )
    dx_title = "dA_pad" if padded else "dA_prev"
    dx_note = "grey border is cropped away" if padded else ""
    second.append(
        _channel_panel("dx", dx_title, step.state.dx_padded, dims, note=dx_note, muted=muted, outline=window)
    )
    return (tuple(first), tuple(second))


def _pool_panels(trace: LayerTrace, step: Step) -> tuple[tuple[Panel, ...], ...]:
    layer = trace.layer
    assert isinstance(layer, PoolLayer)
    dims = layer.dims
    ov = step.overlay
    x = trace.x
    window = marks = current = None
    if ov is not None:
        c, (i, j) = ov.channel, ov.position
        window = _window(x.shape, c, ov.rows, ov.cols)
        current = _mask(trace.out_shape, (c, i, j))
        if trace.argmax is not None:
            kw = layer.size[1]
            arg = int(trace.argmax[c, i, j])
            marks = _mask(x.shape, (c, ov.rows.start + arg // kw, ov.cols.start + arg % kw))
    size = layer.size[1] if dims == 1 else "×".join(str(s) for s in layer.size)
    stride = layer.stride[1] if dims == 1 else "×".join(str(s) for s in layer.stride)
    note = f"{layer.mode} pool {size}, stride {stride}"
    x_panel = _channel_panel("x", "A_prev", x, dims, note=note, outline=window, marks=marks)
    if step.pass_name == "forward":
        y_panel = _channel_panel("y", "Y", step.state.z, dims, shown=step.state.done, outline=current)
        return ((x_panel,), (y_panel,))
    dy_panel = _channel_panel("dy", "dY", step.state.dy, dims, outline=current)
    route = "routed to the recorded maximum" if layer.mode == "max" else "shared equally by the window"
    dx_panel = _channel_panel("dx", "dA_prev", step.state.dx, dims, note=route, outline=window, marks=marks)
    return ((x_panel, dy_panel), (dx_panel,))


def _as_channels(array: FloatArray) -> FloatArray:
    """A flatten layer's input as (C, H, W): (C, L) becomes (C, 1, L)."""
    array = np.asarray(array)
    return array[:, None, :] if array.ndim == 2 else array


def _flatten_panels(trace: LayerTrace, step: Step) -> tuple[tuple[Panel, ...], ...]:
    x = _as_channels(trace.x)
    dims = 1 if np.asarray(trace.x).ndim == 2 else 2
    ov = step.overlay
    source = current = None
    if ov is not None:
        source = _mask(x.shape, np.unravel_index(ov.channel, x.shape))
        current = _mask((trace.n,), (ov.channel,))
    if step.pass_name == "forward":
        x_panel = _channel_panel("x", "A_prev", x, dims, outline=source)
        y_panel = _vector_panel(
            "y", "Y = flatten(A_prev)", trace.z, note="row-major", shown=step.state.done, outline=current
        )
        return ((x_panel,), (y_panel,))
    dy_panel = _vector_panel("dy", "dY", step.state.dy, outline=current)
    dx_panel = _channel_panel("dx", "dA_prev", _as_channels(step.state.dx), dims, outline=source)
    return ((dy_panel,), (dx_panel,))


def _dense_panels(trace: LayerTrace, step: Step) -> tuple[tuple[Panel, ...], ...]:
    layer = trace.layer
    assert isinstance(layer, DenseLayer)
    ov = step.overlay
    o = ov.channel if ov is not None else None
    x_panel = _vector_panel("x", "x = A_prev", trace.x)
    row = _mask(layer.weight.shape, (o, slice(None))) if o is not None else None
    w_panel = Panel(
        "w", "W", "×".join(str(s) for s in layer.weight.shape), ((Grid(layer.weight, "", outline=row),),)
    )
    unit = _mask(trace.out_shape, (o,)) if o is not None else None
    b_panel = _vector_panel("b", "b", layer.bias, outline=unit) if layer.bias is not None else None
    if step.pass_name == "forward":
        done = step.state.done
        first = [x_panel, w_panel] + ([b_panel] if b_panel is not None else [])
        second = [
            _vector_panel(
                "z",
                "z = W x" + (" + b" if layer.bias is not None else ""),
                step.state.z,
                shown=done,
                outline=unit,
            )
        ]
        if layer.activation != "identity":
            second.append(
                _vector_panel("a", f"a = {layer.activation}(z)", step.state.a, shown=done, outline=unit)
            )
        return (tuple(first), tuple(second))
    first = [x_panel, w_panel]
    dz_title = f"dZ = dA ⊙ {layer.activation}'(z)" if layer.activation != "identity" else "dZ"
    first.append(_vector_panel("dz", dz_title, step.state.dz, outline=unit))
    dw = step.state.dw
    second = [Panel("dw", "dW", "×".join(str(s) for s in dw.shape), ((Grid(dw, "", outline=row),),))]
    if layer.bias is not None:
        second.append(_vector_panel("db", "db", step.state.db, outline=unit))
    second.append(_vector_panel("dx", "dA_prev", step.state.dx))
    return (tuple(first), tuple(second))


def step_panels(trace: LayerTrace, step: Step) -> tuple[tuple[Panel, ...], ...]:
    """The panels of one step, in semantic rows (operands, then results).

    Parameters
    ----------
    trace : LayerTrace
    step : Step
        A step of ``trace``.

    Returns
    -------
    tuple of tuple of Panel
    """
    layer = trace.layer
    if isinstance(layer, ConvLayer):
        return _conv_panels(trace, step)
    if isinstance(layer, PoolLayer):
        return _pool_panels(trace, step)
    if isinstance(layer, DenseLayer):
        return _dense_panels(trace, step)
    return _flatten_panels(trace, step)


# ----------------------------------------------------------------------------- pass style


def scanned_steps(n: int, k: int | None = None) -> list[int]:
    """The steps a :class:`PassStyle` is gathered from: all, or an even sample plus ``k``."""
    if n <= SCAN_LIMIT:
        return list(range(n + 1))
    ks = {int(v) for v in np.linspace(0, n, SCAN_LIMIT + 1)}
    if k is not None:
        ks.add(k)
    return sorted(ks)


def pass_style(trace: LayerTrace, ks: list[int] | None = None, numbers: NumberFormat = DEFAULT) -> PassStyle:
    """Gather colour limits, widest numbers and equation lines over the steps of a pass.

    Parameters
    ----------
    trace : LayerTrace
    ks : list of int, optional
        Steps to scan (default :func:`scanned_steps`).
    numbers : NumberFormat
        How cells are written (the widest texts are measured).

    Returns
    -------
    PassStyle
    """
    limits: dict[str, float] = {}
    texts: set[str] = set()
    explanations = []
    for k in scanned_steps(trace.n) if ks is None else ks:
        step = trace.step(k)
        for row in step_panels(trace, step):
            for panel in row:
                for grid in panel.grids:
                    live = grid.values[grid.shown & ~grid.muted]
                    peak = float(np.max(np.abs(live))) if live.size else 0.0
                    limits[panel.key] = max(limits.get(panel.key, 0.0), peak)
        explanations.append(tuple(explain(trace, step)))
    limits = {key: (value if value > 0 else 1.0) for key, value in limits.items()}
    # Second sweep for texts, now that the limits (which decide what is noise) are known.
    for k in scanned_steps(trace.n) if ks is None else ks:
        for row in step_panels(trace, trace.step(k)):
            for panel in row:
                if not panel.numbered:
                    continue
                for grid in panel.grids:
                    texts.update(numbers.figure_cell(v, limits[panel.key]) for v in grid.values.ravel())
    longest = max((len(t) for t in texts), default=1)
    widest = tuple(sorted(t for t in texts if len(t) >= longest - 1))
    return PassStyle(limits, widest, tuple(explanations))


def layer_caption(model: Model, index: int, trace: LayerTrace, k: int) -> str:
    """The caption: layer i (conv 1-D), backward pass, overlay k of n (k = 0: before the first)."""
    layer = model.layers[index]
    kind = layer.type
    if isinstance(layer, (ConvLayer, PoolLayer)):
        kind += f" {layer.dims}-D"
        if isinstance(layer, ConvLayer):
            extra = _conv_note(layer)
            if layer.activation != "identity":
                extra = ", ".join(p for p in (extra, layer.activation) if p)
            if extra:
                kind += f", {extra}"
    where = f"overlay {k} of {trace.n}" if k else f"overlay 0 of {trace.n} (before the first overlay)"
    return f"layer {index} ({kind}), {trace.pass_name} pass, {where}"


def build_figure(
    model: Model, index: int, trace: LayerTrace, k: int, style: PassStyle | None = None
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

    Returns
    -------
    Figure
    """
    if style is None:
        style = pass_style(trace, scanned_steps(trace.n, k))
    step = trace.step(k)
    return Figure(
        model.name,
        layer_caption(model, index, trace, k),
        step_panels(trace, step),
        tuple(explain(trace, step)),
        style,
        layer_caption(model, index, trace, 0),
    )

"""What each heat-map panel shows for a layer's pass and step (Qt-free).

:func:`panel_specs` says which panels a trace needs and where they go;
:func:`frame` gives, for one step, each panel's values (in the array's own shape; NaN
for outputs not computed yet) and the cells to outline. The window draws frames; tests
and exports can compute them without a window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..engine.layers import ConvLayer, DenseLayer, FlattenLayer, PoolLayer
from ..engine.trace import LayerTrace, Step
from .tiles import Cell, TileMap, window_cells

OUTLINE_KINDS = ("window", "changed", "argmax")


@dataclass(frozen=True, slots=True)
class PanelSpec:
    """One panel of a trace's view.

    Attributes
    ----------
    role : str
        Stable key (``input``, ``kernel``, ``bias``, ``z``, ``a``, ``dz``, ``dw``, ``db``, ``dx``...).
    title : str
        Shown above the panel; its first word names the array in tooltips.
    tiles : TileMap
    row, col : int
        Position in the panel grid.
    padding : (int, int)
        Padding border of a padded input, shaded.
    subtitle : str
    """

    role: str
    title: str
    tiles: TileMap
    row: int
    col: int
    padding: tuple[int, int] = (0, 0)
    subtitle: str = ""


@dataclass(frozen=True, slots=True)
class PanelFrame:
    """One panel at one step: values in the array's own shape and outlined cells.

    Attributes
    ----------
    values : ndarray
        The array shown; for an output that fills up (``prefix`` given), the final array.
    outlines : dict of str to list of (tile, row, col)
    prefix : int or None
        For forward outputs: how many elements, in row-major order, are computed so far
        (the others are shown blank). None: every value is shown.
    """

    values: np.ndarray = field(repr=False)
    outlines: dict[str, list[Cell]] = field(default_factory=dict)
    prefix: int | None = None

    def shown(self) -> np.ndarray:
        """The values as displayed: NaN for elements not computed yet."""
        if self.prefix is None:
            return self.values
        out = np.array(self.values, dtype=np.float64, copy=True)
        out.reshape(-1)[self.prefix :] = np.nan
        return out


def _one_d(trace: LayerTrace) -> bool:
    return getattr(trace.layer, "dims", 2) == 1


def _shape(a: np.ndarray) -> tuple[int, ...]:
    return tuple(int(s) for s in a.shape)


def _channels_map(array: np.ndarray, one_d: bool) -> TileMap:
    shape = _shape(array)
    if len(shape) == 2:  # (C, L) input of a flatten layer in a 1-D model
        return TileMap((shape[0], 1, shape[1]), True)
    return TileMap(shape, one_d)


def _as_channels(array: np.ndarray) -> np.ndarray:
    return array[:, None, :] if array.ndim == 2 else array


def _activation_title(name: str) -> str:
    return "A = Z (identity)" if name == "identity" else f"A = {name}(Z)"


def panel_specs(trace: LayerTrace) -> list[PanelSpec]:
    """The panels of a trace, in grid positions (row 0: operands, row 1: results)."""
    layer = trace.layer
    one_d = _one_d(trace)
    forward = trace.pass_name == "forward"
    specs: list[PanelSpec] = []
    if isinstance(layer, ConvLayer):
        ph, pw = layer.padding
        padded = bool(ph or pw)
        pad_note = f"padding {pw if one_d else (ph, pw)} shaded" if padded else ""
        x_map = TileMap(_shape(trace.x_padded), one_d)
        w_map = TileMap(_shape(trace.weight), one_d)
        z_map = TileMap(_shape(trace.z), one_d)
        x_title = "A_pad  (input, padded)" if padded else "A_prev  (input)"
        specs.append(PanelSpec("input", x_title, x_map, 0, 0, (ph, pw), _join(x_map.shape_text(), pad_note)))
        specs.append(PanelSpec("kernel", "W  (kernel)", w_map, 0, 1, subtitle=w_map.shape_text()))
        if forward:
            if layer.bias is not None:
                specs.append(PanelSpec("bias", "b  (bias)", TileMap(_shape(layer.bias)), 0, 2))
            specs.append(
                PanelSpec(
                    "z",
                    "Z = A_prev ⋆ W + b" if layer.bias is not None else "Z = A_prev ⋆ W",
                    z_map,
                    1,
                    0,
                    subtitle=z_map.shape_text(),
                )
            )
            if layer.activation != "identity":
                specs.append(PanelSpec("a", _activation_title(layer.activation), z_map, 1, 1))
        else:
            dz_title = (
                "dZ  (upstream delta)"
                if layer.activation == "identity"
                else f"dZ = dA ⊙ {layer.activation}'(Z)"
            )
            specs.append(PanelSpec("dz", dz_title, z_map, 0, 2, subtitle=z_map.shape_text()))
            dx_title = "dA_pad  (dA_prev + border)" if padded else "dA_prev"
            dx_note = "border cropped" if padded else ""
            specs.append(PanelSpec("dx", dx_title, x_map, 1, 0, (ph, pw), _join(x_map.shape_text(), dx_note)))
            specs.append(PanelSpec("dw", "dW", w_map, 1, 1, subtitle=w_map.shape_text()))
            if layer.bias is not None:
                specs.append(PanelSpec("db", "db", TileMap(_shape(layer.bias)), 1, 2))
    elif isinstance(layer, PoolLayer):
        x_map = TileMap(_shape(trace.x), one_d)
        y_map = TileMap(_shape(trace.z), one_d)
        how = "max" if layer.mode == "max" else "average"
        sizes = layer.size[1] if one_d else layer.size
        strides = layer.stride[1] if one_d else layer.stride
        note = f"{how} pool, size {sizes}, stride {strides}"
        specs.append(
            PanelSpec("input", "A_prev  (input)", x_map, 0, 0, subtitle=_join(x_map.shape_text(), note))
        )
        if forward:
            specs.append(
                PanelSpec("z", f"Y = {layer.mode}pool(A_prev)", y_map, 0, 1, subtitle=y_map.shape_text())
            )
        else:
            specs.append(PanelSpec("dz", "dY  (upstream delta)", y_map, 0, 1, subtitle=y_map.shape_text()))
            route = (
                "each delta goes to its window's maximum"
                if layer.mode == "max"
                else "each delta is spread evenly"
            )
            specs.append(PanelSpec("dx", "dA_prev", x_map, 1, 0, subtitle=_join(route, "overlaps add up")))
    elif isinstance(layer, DenseLayer):
        x_map = TileMap(_shape(trace.x))
        w_map = TileMap(_shape(layer.weight))
        z_map = TileMap(_shape(trace.z))
        specs.append(PanelSpec("input", "x  (input)", x_map, 0, 0, subtitle=x_map.shape_text()))
        specs.append(PanelSpec("kernel", "W  (weights)", w_map, 0, 1, subtitle=w_map.shape_text()))
        if forward:
            if layer.bias is not None:
                specs.append(PanelSpec("bias", "b  (bias)", TileMap(_shape(layer.bias)), 0, 2))
            specs.append(PanelSpec("z", "Z = W x + b" if layer.bias is not None else "Z = W x", z_map, 1, 0))
            if layer.activation != "identity":
                specs.append(PanelSpec("a", _activation_title(layer.activation), z_map, 1, 1))
        else:
            specs.append(PanelSpec("dz", "dZ  (upstream delta)", z_map, 0, 2))
            specs.append(PanelSpec("dx", "dA_prev", x_map, 1, 0))
            specs.append(PanelSpec("dw", "dW", w_map, 1, 1, subtitle=w_map.shape_text()))
            if layer.bias is not None:
                specs.append(PanelSpec("db", "db", TileMap(_shape(layer.bias)), 1, 2))
    else:
        assert isinstance(layer, FlattenLayer)
        x_map = _channels_map(trace.x, one_d)
        y_map = TileMap(_shape(trace.z))
        if forward:
            specs.append(PanelSpec("input", "A_prev  (input)", x_map, 0, 0, subtitle=x_map.shape_text()))
            specs.append(PanelSpec("z", "Y = flatten(A_prev)", y_map, 0, 1, subtitle=y_map.shape_text()))
        else:
            specs.append(PanelSpec("dz", "dY  (upstream delta)", y_map, 0, 0, subtitle=y_map.shape_text()))
            specs.append(PanelSpec("dx", "dA_prev", x_map, 0, 1, subtitle=x_map.shape_text()))
    return specs


def _join(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def frame(trace: LayerTrace, step: Step, specs: list[PanelSpec] | None = None) -> dict[str, PanelFrame]:
    """Every panel's values and outlines at one step of a trace."""
    specs = specs if specs is not None else panel_specs(trace)
    maps = {spec.role: spec.tiles for spec in specs}
    layer = trace.layer
    forward = trace.pass_name == "forward"
    ov = step.overlay
    out: dict[str, PanelFrame] = {}

    def put(role: str, values: np.ndarray, prefix: int | None = None, **outlines: list[Cell]) -> None:
        if role in maps:
            out[role] = PanelFrame(values, {k: v for k, v in outlines.items() if v}, prefix)

    if isinstance(layer, ConvLayer):
        c_in = trace.x.shape[0]
        f = ov.channel if ov is not None else -1
        window = [] if ov is None else [c for ci in range(c_in) for c in window_cells(ci, ov.rows, ov.cols)]
        kernel_row = (
            []
            if ov is None
            else [
                maps["kernel"].cell((f, ci, r, q))
                for ci in range(c_in)
                for r in range(trace.weight.shape[2])
                for q in range(trace.weight.shape[3])
            ]
        )
        put("input", trace.x_padded, window=window)
        put("kernel", trace.weight, window=kernel_row)
        element = [] if ov is None else [(f, *ov.position)]
        if forward:
            if layer.bias is not None:
                put("bias", layer.bias, window=[] if ov is None else [maps["bias"].cell((f,))])
            put("z", trace.z, step.k, changed=element)
            put("a", trace.a, step.k, changed=element)
        else:
            put("dz", step.state.dz, window=element)
            put("dx", step.state.dx_padded, changed=window)
            put("dw", step.state.dw, changed=kernel_row)
            if layer.bias is not None:
                put("db", step.state.db, changed=[] if ov is None else [maps["db"].cell((f,))])
    elif isinstance(layer, PoolLayer):
        window, argmax, element = [], [], []
        if ov is not None:
            c = ov.channel
            window = window_cells(c, ov.rows, ov.cols)
            element = [(c, *ov.position)]
            if trace.argmax is not None:
                kw = layer.size[1]
                arg = int(trace.argmax[c, ov.position[0], ov.position[1]])
                argmax = [(c, ov.rows.start + arg // kw, ov.cols.start + arg % kw)]
        put("input", trace.x, window=window, argmax=argmax)
        if forward:
            put("z", trace.z, step.k, changed=element)
        else:
            put("dz", step.state.dy, window=element)
            put("dx", step.state.dx, changed=argmax if trace.argmax is not None else window)
    elif isinstance(layer, DenseLayer):
        o = ov.channel if ov is not None else -1
        n_in = trace.x.shape[0]
        row = [] if ov is None else [(0, o, q) for q in range(n_in)]
        element = [] if ov is None else [maps["z" if forward else "dz"].cell((o,))]
        put("input", trace.x)
        put("kernel", layer.weight, window=row)
        if forward:
            if layer.bias is not None:
                put("bias", layer.bias, window=[] if ov is None else [maps["bias"].cell((o,))])
            put("z", trace.z, step.k, changed=element)
            put("a", trace.a, step.k, changed=element)
        else:
            put("dz", step.state.dz, window=element)
            every = [] if ov is None else [maps["dx"].cell((q,)) for q in range(n_in)]
            put("dx", step.state.dx, changed=every)
            put("dw", step.state.dw, changed=row)
            if layer.bias is not None:
                put("db", step.state.db, changed=[] if ov is None else [maps["db"].cell((o,))])
    else:
        source: list[Cell] = []
        element = []
        if ov is not None:
            src = np.unravel_index(ov.channel, trace.x.shape)
            idx = (int(src[0]), 0, int(src[1])) if len(src) == 2 else tuple(int(s) for s in src)
            source = [idx]  # type: ignore[list-item]
            element = [TileMap(_shape(trace.z)).cell((ov.channel,))]
        if forward:
            put("input", _as_channels(trace.x), window=source)
            put("z", trace.z, step.k, changed=element)
        else:
            put("dz", step.state.dy, window=element)
            put("dx", _as_channels(step.state.dx), changed=source)
    return out


def max_abs(values: np.ndarray) -> float:
    """The largest magnitude in an array, ignoring NaN (0 for none)."""
    if values.size == 0:
        return 0.0
    m = max(float(values.max()), -float(values.min()))  # no temporary array
    if m != m:  # NaN present: the slower way
        magnitudes = np.abs(values)
        finite = magnitudes[~np.isnan(magnitudes)]
        return float(finite.max()) if finite.size else 0.0
    return m


# Traces up to this many overlays get an exact fixed colour scale (every step visited).
EXACT_SCALE_STEPS = 600


def pass_levels(trace: LayerTrace, specs: list[PanelSpec]) -> dict[str, float]:
    """Each panel's largest magnitude over the whole pass (for a colour scale fixed across steps).

    Small traces visit every step; larger ones use the final step, where partial sums that
    overshoot their final value may saturate.
    """
    ks = range(trace.n + 1) if trace.n <= EXACT_SCALE_STEPS else [0, trace.n]
    levels: dict[str, float] = {}
    for k in ks:
        for role, panel in frame(trace, trace.step(k), specs).items():
            levels[role] = max(levels.get(role, 0.0), max_abs(panel.values))
    return levels

"""The scene of a step: what the window and the printed figures show, as plain data.

One description of a step, built once and drawn twice: by the window's heat-map panels
(``app/widgets``) and by the export painter (``export/paint.py`` for PNG, SVG and PDF);
the LaTeX and data exports read it too. Nothing here imports Qt.

A layer kind says which panels its pass shows (:class:`PanelSpec`, once per pass) and
fills them at each step (:class:`PanelState` through :class:`StepPanels`); the generic
part here adds what every kind shares: colour levels per step (the window's default),
colour limits fixed over the pass (printed figures, the window's fixed scale), the
equation lines, the legend and the number format.

::

    scenes = pass_scene(trace)          # once per pass (cached per trace)
    scene = scenes.step(k)              # Scene: specs, panels by role, lines, legend
    scene.panels["dw"].values           # the array, in its own shape (read-only)
    scene.panels["dw"].outlines         # {"changed": ((tile, row, col), ...)}
    scenes.limits()                     # {"dw": 0.43, ...} over the whole pass (print)
    scenes.peak_levels()                # the per-step levels at their largest (window, fixed scale)

Cells are (tile, row, col) of the panel's :class:`TileMap`: a vector is one tile
(wrapped into rows when long), a matrix one tile, a (C, H, W) tensor a tile per
channel, a (F, C, kH, kW) kernel a tile per filter and channel.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..i18n import N_, _, language
from .numbers import DEFAULT, NumberFormat

if TYPE_CHECKING:
    from .trace import AnyStep, LayerTrace

Cell = tuple[int, int, int]
"""A tile cell: (tile, row, col)."""

OUTLINE_KINDS = ("window", "changed", "argmax")
"""The window's outline kinds: the cells this overlay reads, the cells it changed, the
recorded maximum of a pooling window."""

# Vectors up to this length stay on one row; longer ones wrap into a block.
MAX_ROW = 32
# Passes with more steps are scanned on an even sample of steps (plus the one shown).
SCAN_LIMIT = 600


# ----------------------------------------------------------------------------- tiles


@dataclass(frozen=True, slots=True)
class TileMap:
    """The tiling of an array of one fixed shape.

    Attributes
    ----------
    shape : tuple of int
        The array's shape.
    one_d : bool
        Whether the array is in a 1-D model's 2-D view (height-1 axis to hide in texts).
    """

    shape: tuple[int, ...]
    one_d: bool = False

    @property
    def kind(self) -> str:
        """``vector``, ``matrix``, ``channels`` or ``kernels``."""
        return ("vector", "matrix", "channels", "kernels")[len(self.shape) - 1]

    @property
    def count(self) -> int:
        """Number of tiles."""
        if self.kind == "channels":
            return self.shape[0]
        if self.kind == "kernels":
            return self.shape[0] * self.shape[1]
        return 1

    @property
    def tile_shape(self) -> tuple[int, int]:
        """Cells per tile (H, W)."""
        if self.kind == "vector":
            n = self.shape[0]
            if n <= MAX_ROW:
                return 1, n
            width = math.ceil(math.sqrt(n))
            return math.ceil(n / width), width
        return self.shape[-2], self.shape[-1]

    @property
    def grid(self) -> tuple[int, int] | None:
        """The tile grid (rows, columns), or None to choose one automatically."""
        if self.kind == "kernels" and self.shape[1] > 1:
            return self.shape[0], self.shape[1]
        return None  # one input channel: lay the kernels out like channels

    def captions(self, name: str) -> list[str]:
        """A caption per tile (none for a single tile)."""
        if self.kind == "channels" and self.count > 1:
            return [_("channel {c}").format(c=c) for c in range(self.count)]
        if self.kind == "kernels" and self.count > 1:
            f_count, c_count = self.shape[:2]
            return [f"{name}[{f}, {c}]" for f in range(f_count) for c in range(c_count)]
        return []

    def tiles(self, array: np.ndarray) -> np.ndarray:
        """The array as (T, H, W) (a view where possible; wrapped vectors pad with NaN)."""
        array = np.asarray(array, dtype=np.float64)
        kind = self.kind
        if kind == "channels":
            return array
        if kind == "kernels":
            return array.reshape(-1, *array.shape[2:])
        if kind == "matrix":
            return array[None]
        h, w = self.tile_shape
        if h == 1:
            return array.reshape(1, 1, -1)
        out = np.full(h * w, np.nan)
        out[: array.size] = array
        return out.reshape(1, h, w)

    def cell(self, index: tuple[int, ...]) -> Cell:
        """The tile cell of an index of the array."""
        kind = self.kind
        if kind == "vector":
            w = self.tile_shape[1]
            r, c = divmod(index[0], w)
            return 0, r, c
        if kind == "matrix":
            return 0, index[0], index[1]
        if kind == "channels":
            return index[0], index[1], index[2]
        return index[0] * self.shape[1] + index[1], index[2], index[3]

    def index(self, cell: Cell) -> tuple[int, ...]:
        """The index of the array at a tile cell (the inverse of :meth:`cell`)."""
        t, r, c = cell
        kind = self.kind
        if kind == "vector":
            return (r * self.tile_shape[1] + c,)
        if kind == "matrix":
            return r, c
        if kind == "channels":
            return t, r, c
        f, ci = divmod(t, self.shape[1])
        return f, ci, r, c

    def mask(self, cells: Iterable[Cell]) -> np.ndarray:
        """A bool array of the array's shape, True at the given cells."""
        mask = np.zeros(self.shape, dtype=bool)
        for cell in cells:
            mask[self.index(cell)] = True
        return mask

    def index_text(self, t: int, r: int, c: int) -> str:
        """The array index of a tile cell, as ``[c, i, j]`` (1-D models: ``[c, j]``)."""
        kind = self.kind
        if kind == "vector":
            parts = [r * self.tile_shape[1] + c]
        elif kind == "matrix":
            parts = [r, c]
        elif kind == "channels":
            parts = [t, c] if self.one_d else [t, r, c]
        else:
            f, ci = divmod(t, self.shape[1])
            parts = [f, ci, c] if self.one_d else [f, ci, r, c]
        return "[" + ", ".join(str(p) for p in parts) + "]"

    def shape_text(self) -> str:
        """The array's shape as the model file writes it (no height axis in 1-D)."""
        shape = self.shape
        if self.one_d and self.kind in ("channels", "kernels"):
            shape = (*shape[:-2], shape[-1])
        return "(" + ", ".join(str(s) for s in shape) + ")"


def window_cells(tile: int, rows: slice, cols: slice) -> list[Cell]:
    """The cells of a (possibly strided or dilated) window in one tile."""
    return [
        (tile, r, c)
        for r in range(rows.start, rows.stop, rows.step or 1)
        for c in range(cols.start, cols.stop, cols.step or 1)
    ]


# ----------------------------------------------------------------------------- panels


@dataclass(frozen=True, slots=True)
class Printed:
    """How a printed figure (PNG, SVG, PDF, LaTeX) heads and places a panel.

    Printed figures have their own, shorter headings and their own rows: operands in
    row 0, results in row 1.

    Attributes
    ----------
    title : str
        The heading, e.g. ``dA_prev``; with ``one_filter``, ``W`` becomes ``W[f]``.
    row, col : int
        Row of the figure and place in the row.
    note : str
        A remark after the shape, e.g. ``grey border = zero padding``.
    labels : str
        The letter of the tile labels (``c=0``, or ``f=0`` for output channels).
    one_filter : bool
        A kernel printed as the current overlay's filter only (:attr:`PanelState.focus`).
    key : str
        The printed panel's key (``x``, ``w``, ``b``, ``y``, ``dy`` ...; default: the role),
        by which printed figures look up its colour limit and name its shapes.
    """

    title: str
    row: int
    col: int
    note: str = ""
    labels: str = "c"
    one_filter: bool = False
    key: str = ""


@dataclass(frozen=True, slots=True)
class PanelSpec:
    """One panel of a pass: the same for every step.

    Attributes
    ----------
    role : str
        Stable key (``input``, ``kernel``, ``bias``, ``z``, ``a``, ``dz``, ``dw``, ``db``, ``dx``).
    title : str
        The window's heading; its first word names the array in tooltips.
    tiles : TileMap
    row, col : int
        Position in the window's panel grid.
    printed : Printed
        The printed figure's heading and place.
    padding : (int, int) or (int, int, int, int)
        Padding border of a padded input, shaded (window) or grey (printed): (ph, pw) on
        both sides, or (top, bottom, left, right) (padding "same" with an even kernel).
    subtitle : str
        The window's second line (shape and remarks).
    marked : bool
        Whether the panel can carry the recorded maximum of a pooling window.
    help : str
        What the panel shows, in sentences (the window's tooltip and What's This); empty:
        the words of :func:`panel_help` for its role.
    """

    role: str
    title: str
    tiles: TileMap
    row: int
    col: int
    printed: Printed
    padding: tuple[int, ...] = (0, 0)
    subtitle: str = ""
    marked: bool = False
    help: str = ""


# What each panel role shows, in whole sentences ({name}: the array's name in the panel title).
PANEL_HELP = {
    "input": N_(
        "{name} is the layer's input for this example. The black outline is the window the current "
        "overlay reads; a grey border is padding."
    ),
    "kernel": N_(
        "{name} holds the layer's weights. The black outline marks the weights the current overlay "
        "multiplies."
    ),
    "bias": N_("{name} is the bias, added to every output of its channel."),
    "z": N_(
        "{name} is the layer's output before its activation. It fills in one overlay at a time; "
        "blank cells are not computed yet."
    ),
    "a": N_("{name} is the layer's output after its activation, filled in one overlay at a time."),
    "dz": N_(
        "{name} is the upstream delta: the gradient of the loss with respect to this layer's output "
        "(times the activation's derivative, for a layer with one). The black outline is the delta the "
        "current overlay uses."
    ),
    "dw": N_(
        "{name} is the gradient of the loss with respect to the weights. Each overlay adds its products; "
        "the orange outline marks the cells it changed, and after the last overlay it equals the closed form."
    ),
    "db": N_("{name} is the gradient with respect to the bias: the sum of the deltas of its channel."),
    "dx": N_(
        "{name} is the gradient with respect to the layer's input, handed on to the layer before. "
        "Overlapping windows add up; the orange outline marks the cells the current overlay changed."
    ),
    "loss_p": N_(
        "{name}: the softmax probabilities of the last layer's output. They add up to 1, and the "
        "cross-entropy loss is minus the log of the true class's probability."
    ),
    "loss_t": N_("{name} is the target the squared-error loss compares the last layer's output with."),
    "loss_da": N_(
        "{name} is the gradient of the loss with respect to the last layer's output: where the "
        "backward pass starts."
    ),
}
GENERIC_HELP = "{name}: {subtitle}."
HOVER_HELP = N_("Hover a cell for its exact value; hover a gradient or an output cell to see what fed it.")


def panel_help(spec: PanelSpec) -> str:
    """What a panel shows, for its tooltip and What's This: its own words, or those of its role."""
    name = spec.title.split("  ")[0]
    text = _(spec.help) if spec.help else _(PANEL_HELP.get(spec.role, ""))
    if not text:
        text = GENERIC_HELP if spec.subtitle else "{name}."
    return text.format(name=name, subtitle=spec.subtitle) + " " + _(HOVER_HELP)


_NO_OUTLINES: Mapping[str, tuple[Cell, ...]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PanelState:
    """One panel at one step.

    Attributes
    ----------
    values : ndarray
        The array shown, in its own shape (read-only); for an output that fills up
        (``prefix`` given), the final array.
    outlines : mapping of str to tuple of Cell
        Cells outlined per kind of :data:`OUTLINE_KINDS`.
    prefix : int or None
        For forward outputs: how many elements, in row-major order, are computed so far
        (the others are shown blank). None: every value is shown.
    level : float
        The largest magnitude shown at this step (the window's colour scale by default).
        Measured when first asked for (``level_of`` may be the function that measures
        it): with the scale fixed over the pass the window never asks, and a large
        panel's level is a pass over all its values at every step.
    focus : int or None
        The filter of the current overlay, for a kernel printed one filter at a time.
    printed_outline : tuple of Cell or None
        The cells a printed figure outlines, when not those of "window" and "changed".
    printed_marks : tuple of Cell or None
        The cells a printed figure marks, when not those of "argmax".
    """

    values: np.ndarray = field(repr=False)
    outlines: Mapping[str, tuple[Cell, ...]] = field(default_factory=lambda: _NO_OUTLINES)
    prefix: int | None = None
    level_of: float | Callable[[], float] = field(default=0.0, repr=False, compare=False)
    focus: int | None = None
    printed_outline: tuple[Cell, ...] | None = None
    printed_marks: tuple[Cell, ...] | None = None

    @property
    def level(self) -> float:
        """The largest magnitude shown at this step (measured once, when first asked for)."""
        level = self.level_of
        if callable(level):
            level = float(level())
            object.__setattr__(self, "level_of", level)  # a frozen cache of a derived value
        return level

    def shown(self) -> np.ndarray:
        """The values as displayed: NaN for elements not computed yet."""
        if self.prefix is None:
            return self.values
        out = np.array(self.values, dtype=np.float64, copy=True)
        out.reshape(-1)[self.prefix :] = np.nan
        return out

    def shown_mask(self) -> np.ndarray:
        """Bool array of the values' shape: False for elements not computed yet."""
        mask = np.ones(self.values.shape, dtype=bool)
        if self.prefix is not None:
            mask.reshape(-1)[self.prefix :] = False
        return mask


def border_sides(padding: tuple[int, ...]) -> tuple[int, int, int, int]:
    """A panel's padding border as (top, bottom, left, right), from (ph, pw) or the four sides."""
    if len(padding) == 4:
        top, bottom, left, right = padding
        return top, bottom, left, right
    ph, pw = padding
    return ph, ph, pw, pw


def padding_mask(shape: tuple[int, ...], padding: tuple[int, ...]) -> np.ndarray:
    """Bool array of ``shape`` (..., H, W): True on the padding border (see :func:`border_sides`)."""
    top, bottom, left, right = border_sides(padding)
    mask = np.zeros(shape, dtype=bool)
    if top or bottom or left or right:
        mask[...] = True
        mask[..., top : shape[-2] - bottom, left : shape[-1] - right] = False
    return mask


def shape_of(array: np.ndarray) -> tuple[int, ...]:
    """An array's shape as plain ints."""
    return tuple(int(s) for s in array.shape)


def joined(*parts: str) -> str:
    """Remarks joined by `` · `` (empty ones left out): a window subtitle."""
    return " · ".join(p for p in parts if p)


def pair_text(pair: tuple[int, int], dims: int) -> str:
    """A (height, width) setting as a caption writes it: ``2`` in 1-D, ``2×2`` in 2-D."""
    return str(pair[1]) if dims == 1 else "×".join(str(v) for v in pair)


def gradient_specs(w_map: TileMap, b_map: TileMap | None) -> list[PanelSpec]:
    """The dW and db panels of a weighted layer's backward pass (db only with a bias)."""
    specs = [PanelSpec("dw", "dW", w_map, 1, 1, Printed("dW", 1, 0), subtitle=w_map.shape_text())]
    if b_map is not None:
        specs.append(PanelSpec("db", "db", b_map, 1, 2, Printed("db", 1, 1)))
    return specs


def put_outputs(
    out: StepPanels, trace: Any, k: int, bias: np.ndarray | None, unit: int | None, element: list[Cell]
) -> None:
    """A weighted layer's forward outputs at step ``k``: the bias of output ``unit``, then Z and A.

    ``unit`` is the current overlay's output channel (None at step 0) and ``element`` the
    cells of Z (and A) it computes, outlined as changed.
    """
    if bias is not None:
        out.put("bias", bias, window=[] if unit is None else [out.maps["bias"].cell((unit,))])
    out.put("z", trace.z, k, changed=element)
    out.put("a", trace.a, k, changed=element)


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


# ----------------------------------------------------------------------------- scene


@dataclass(frozen=True, slots=True)
class Scene:
    """Everything one step shows.

    Attributes
    ----------
    trace : LayerTrace
    step : Step
    specs : tuple of PanelSpec
        The panels of the pass, in the window's order.
    panels : mapping of str to PanelState
        Each panel at this step, by role.
    legend : tuple of str
        What the printed marks mean (the same for every step of a pass).
    numbers : NumberFormat
        How the numbers of this scene are written.
    """

    trace: LayerTrace = field(repr=False)
    step: AnyStep = field(repr=False)
    specs: tuple[PanelSpec, ...]
    panels: Mapping[str, PanelState] = field(repr=False)
    legend: tuple[str, ...]
    numbers: NumberFormat = DEFAULT

    @property
    def k(self) -> int:
        """The step, 0..n."""
        return self.step.k

    @property
    def n(self) -> int:
        """The number of overlays of the pass."""
        return self.step.n

    @property
    def lines(self) -> tuple[str, ...]:
        """The step's arithmetic, in the seeds' style (computed on each call)."""
        from .explain import explain

        return tuple(self.numbers.text(line) for line in explain(self.trace, self.step, self.numbers))

    def spec(self, role: str) -> PanelSpec:
        """The spec of the panel ``role``."""
        return next(s for s in self.specs if s.role == role)


class StepPanels:
    """What a layer kind fills at one step: :meth:`put` a panel's values and outlines.

    Parameters
    ----------
    specs : sequence of PanelSpec
        The pass's panels; values put for other roles are ignored.
    levels : callable (role, values, prefix) -> float
        The colour level of a panel at this step.
    """

    __slots__ = ("_levels", "maps", "out")

    def __init__(self, specs: Iterable[PanelSpec], levels: _Levels) -> None:
        self.maps = {spec.role: spec.tiles for spec in specs}
        self.out: dict[str, PanelState] = {}
        self._levels = levels

    def put(
        self,
        role: str,
        values: np.ndarray,
        prefix: int | None = None,
        *,
        focus: int | None = None,
        printed_outline: Iterable[Cell] | None = None,
        printed_marks: Iterable[Cell] | None = None,
        **outlines: Iterable[Cell],
    ) -> None:
        """Show ``values`` in panel ``role`` with the given outlines (kinds of :data:`OUTLINE_KINDS`)."""
        if role not in self.maps:
            return
        kept = {kind: tuple(cells) for kind, cells in outlines.items() if cells}
        self.out[role] = PanelState(
            values,
            MappingProxyType(kept) if kept else _NO_OUTLINES,
            prefix,
            functools.partial(self._levels.level, role, values, prefix),
            focus,
            None if printed_outline is None else tuple(printed_outline),
            None if printed_marks is None else tuple(printed_marks),
        )


class _Levels:
    """Per-step colour levels, with what stays the same over a pass computed once."""

    __slots__ = ("_constant", "_running")

    def __init__(self) -> None:
        self._constant: dict[str, tuple[np.ndarray, float]] = {}
        self._running: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def level(self, role: str, values: np.ndarray, prefix: int | None) -> float:
        """The largest magnitude of ``values`` (of the first ``prefix`` elements, when given)."""
        if prefix is not None:
            running = self._running.get(role)
            if running is None or running[0] is not values:
                magnitudes = np.abs(np.asarray(values, dtype=np.float64)).ravel()
                running = (values, np.maximum.accumulate(magnitudes))
                self._running[role] = running
            return float(running[1][prefix - 1]) if prefix else 0.0
        cached = self._constant.get(role)
        if cached is not None and cached[0] is values:
            return cached[1]
        level = max_abs(values)
        self._constant[role] = (values, level)
        return level


def scanned_steps(n: int, k: int | None = None) -> list[int]:
    """The steps the colour limits of a pass are gathered from: all, or an even sample plus ``k``."""
    if n <= SCAN_LIMIT:
        return list(range(n + 1))
    ks = {int(v) for v in np.linspace(0, n, SCAN_LIMIT + 1)}
    if k is not None:
        ks.add(k)
    return sorted(ks)


class PassScene:
    """The scenes of one pass: the panels once, a :class:`Scene` per step on demand.

    Parameters
    ----------
    trace : LayerTrace
    numbers : NumberFormat
    """

    CACHE = 4

    def __init__(self, trace: LayerTrace, numbers: NumberFormat = DEFAULT) -> None:
        self.trace = trace
        self.numbers = numbers
        self._kind = trace.layer.kind
        specs = list(self._kind.panels(trace))
        self._loss = trace.loss_start
        if self._loss is not None and specs:
            # The loss that starts the backward pass: a column after the layer's own panels.
            specs += self._loss.panels(1 + max(s.col for s in specs))
        self.specs: tuple[PanelSpec, ...] = tuple(specs)
        self._levels = _Levels()
        self._cache: OrderedDict[int, Scene] = OrderedDict()
        self._limits: dict[tuple[int, ...], dict[str, float]] = {}
        self._peaks: dict[str, float] | None = None
        self.legend = self._legend()

    def panels(self, k: int) -> dict[str, PanelState]:
        """Each panel at step ``k``, by role."""
        trace = self.trace
        out = StepPanels(self.specs, self._levels)
        self._kind.fill_panels(trace, trace.step(k), out)
        if self._loss is not None:
            self._loss.fill_panels(out)
        return out.out

    def step(self, k: int) -> Scene:
        """The scene of step ``k`` (the last few are kept)."""
        scene = self._cache.get(k)
        if scene is not None:
            self._cache.move_to_end(k)
            return scene
        panels = MappingProxyType(self.panels(k))
        scene = Scene(self.trace, self.trace.step(k), self.specs, panels, self.legend, self.numbers)
        self._cache[k] = scene
        while len(self._cache) > self.CACHE:
            self._cache.popitem(last=False)
        return scene

    def limits(self, ks: Iterable[int] | None = None) -> dict[str, float]:
        """Each panel's colour limit fixed over the pass: its largest magnitude shown.

        Padding cells and outputs not computed yet do not count; a panel with nothing
        but zeros gets 1.

        Parameters
        ----------
        ks : iterable of int, optional
            The steps to scan (default :func:`scanned_steps`).
        """
        key = tuple(scanned_steps(self.trace.n) if ks is None else ks)
        cached = self._limits.get(key)
        if cached is not None:
            return cached
        padding = {s.role: padding_mask(s.tiles.shape, s.padding) for s in self.specs if any(s.padding)}
        peaks: dict[str, float] = {}
        seen: dict[str, tuple[np.ndarray, int | None]] = {}
        for k in key:
            for role, state in self.panels(k).items():
                previous = seen.get(role)
                if previous is not None and previous[0] is state.values and previous[1] == state.prefix:
                    continue  # the same cells as a step already scanned
                seen[role] = (state.values, state.prefix)
                live = state.shown_mask()
                if role in padding:
                    live &= ~padding[role]
                values = state.values[live]
                peak = float(np.max(np.abs(values))) if values.size else 0.0
                peaks[role] = max(peaks.get(role, 0.0), peak)
        limits = {role: (value if value > 0 else 1.0) for role, value in peaks.items()}
        self._limits[key] = limits
        return limits

    def peak_levels(self) -> dict[str, float]:
        """Each panel's per-step level held at its largest over the pass (the window's fixed scale).

        Unlike :meth:`limits` this counts every cell the window draws, the padding border
        too. Passes of up to :data:`SCAN_LIMIT` steps visit every step; longer ones the
        first and the last, where partial sums that overshoot their final value may
        saturate.
        """
        if self._peaks is None:
            n = self.trace.n
            peaks: dict[str, float] = {}
            for k in range(n + 1) if n <= SCAN_LIMIT else (0, n):
                for role, state in self.panels(k).items():
                    peaks[role] = max(peaks.get(role, 0.0), state.level)
            self._peaks = peaks
        return self._peaks

    def widest_cells(self, decimals: Mapping[str, int], variants: int = 1) -> dict[str, tuple[float, ...]]:
        """Per panel role, the values whose window cell texts are the widest over the pass.

        The window sizes a panel's numbers once per pass from them, so they do not jump
        while stepping. Steps are visited as :meth:`peak_levels` does; an output that
        fills up counts with its final values.

        Parameters
        ----------
        decimals : mapping of str to int
            The roles to measure and the decimals their cells are written with
            (:meth:`NumberFormat.window_cell`).
        variants : int
            Also with 1, 2 ... fewer decimals (the shorter forms a small panel draws): one
            value per variant, since the widest text may come from another value with fewer
            decimals (``-0.1011`` is wider than ``0.0686``, but ``-0.1`` narrower than ``0.07``).
        """
        if not decimals:
            return {}
        n = self.trace.n
        widest: dict[str, list[tuple[int, float] | None]] = {}
        seen: dict[str, np.ndarray] = {}
        for k in range(n + 1) if n <= SCAN_LIMIT else (0, n):
            for role, state in self.panels(k).items():
                places = decimals.get(role)
                if places is None or seen.get(role) is state.values:
                    continue
                seen[role] = state.values
                best = widest.setdefault(role, [None] * variants)
                for v in range(variants):
                    fewer = max(places - v, 0)
                    value = self.numbers.widest_window_cell(state.values, fewer)
                    if value is None:
                        continue
                    length = len(self.numbers.window_cell(value, fewer))
                    current = best[v]
                    if current is None or length > current[0]:
                        best[v] = (length, value)
        return {
            role: tuple(b[1] for b in best if b is not None)
            for role, best in widest.items()
            if all(b is not None for b in best)
        }

    def _legend(self) -> tuple[str, ...]:
        parts = [
            _("colours: blue < 0 < red, one scale per panel for the whole pass"),
            _("thick outline: this overlay's window / element"),
        ]
        if any(any(s.padding) for s in self.specs):
            parts.append(_("grey: zero padding"))
        if any(state.prefix is not None for state in self.panels(0).values()):
            parts.append(_("blank: not computed yet"))
        if any(s.marked for s in self.specs):
            parts.append(_("◥ corner: the recorded maximum of the window"))
        return tuple(parts)


_PASSES: weakref.WeakKeyDictionary[LayerTrace, dict[tuple[NumberFormat, str], PassScene]] = (
    weakref.WeakKeyDictionary()
)


def pass_scene(trace: LayerTrace, numbers: NumberFormat = DEFAULT) -> PassScene:
    """The :class:`PassScene` of a trace (one per trace, number format and language, shared by its views)."""
    per_format = _PASSES.setdefault(trace, {})
    key = (numbers, language())
    scenes = per_format.get(key)
    if scenes is None:
        scenes = per_format[key] = PassScene(trace, numbers)
    return scenes

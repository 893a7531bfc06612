"""What one step shows, for the lecture writers (Beamer, TikZ, LaTeX, PowerPoint).

A :class:`Slide` is the step as text and colours only: panels of tiles whose cells carry
the number the window shows (fixed decimals per panel, from the panel's colour level),
the heat-map fill as ``RRGGBB`` hex and the colour of the text on it, plus outlines,
marks, the caption and the step's equation lines. Nothing here imports Qt.

The writers read slides only; :func:`slide_from_figure` is the one place that knows the
figure model they are built from, so a change of that model touches one function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..engine import palette
from ..engine.errors import Message
from ..engine.model import Model
from ..engine.numbers import DEFAULT, NumberFormat
from ..engine.trace import LayerTrace
from ..i18n import _
from ..textsafe import printable
from .figure import Figure, build_figure, pass_style

PADDING_FILL = "D1D5DB"
PADDING_INK = "4B5563"
PENDING_FILL = "FFFFFF"
INK = "1F2328"
WHITE = "FFFFFF"
WINDOW_OUTLINE = "111827"  # the current window / element
CHANGED_OUTLINE = "F59E0B"  # cells the step changed (results)
MARK = "059669"  # the recorded maximum of a pooling window
# Panels whose outlined cells are the ones this step changed (the window draws them amber).
RESULT_KEYS = frozenset({"z", "a", "y", "dw", "db", "dx"})

BoolArray = np.ndarray


nice_level = palette.nice_level


def number_text(value: float, decimals: int, numbers: NumberFormat = DEFAULT) -> str:
    """A cell's number as the window writes it (fixed decimals, ``≈0``); NaN is empty."""
    value = float(value)
    if math.isnan(value):
        return ""
    if not math.isfinite(value):
        return "∞" if value > 0 else "-∞"
    return numbers.window_cell(value, decimals)


fill_rgb = palette.slide


def hex_rgb(rgb: tuple[int, int, int]) -> str:
    """``RRGGBB`` (upper case) of an RGB triple."""
    return "{:02X}{:02X}{:02X}".format(*rgb)


def ink_on(fill: str) -> str:
    """Text colour on a fill: white on dark fills, near-black otherwise."""
    r, g, b = (int(fill[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    return WHITE if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45 else INK


@dataclass(frozen=True, slots=True)
class Tile:
    """One matrix of a panel, cell by cell (row-major tuples of length ``h * w``).

    Attributes
    ----------
    label : str
        "c=0", "f=1, c=0" ... ; empty when the panel has one tile.
    shape : (int, int)
        (h, w).
    values : ndarray of shape (h, w)
        The numbers (for readers that need them exact).
    texts : tuple of str
        What each cell shows; empty for cells not computed yet or panels without numbers.
    fills, inks : tuple of str
        ``RRGGBB`` fill and text colour of each cell.
    outline : ndarray of bool, shape (h, w)
        The current window or element (operands) / the cells the step changed (results).
    marks : ndarray of bool, shape (h, w)
        The recorded maximum of a pooling window.
    """

    label: str
    shape: tuple[int, int]
    values: np.ndarray = field(repr=False)
    texts: tuple[str, ...] = field(repr=False)
    fills: tuple[str, ...] = field(repr=False)
    inks: tuple[str, ...] = field(repr=False)
    outline: BoolArray = field(repr=False)
    marks: BoolArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class SlidePanel:
    """A titled block of tiles with one colour level.

    Attributes
    ----------
    key : str
        The quantity ("x", "w", "dz", "dw", "db", "dx" ...).
    title, note : str
    level : float
        Half-width of the colour range (nice-rounded, as the window's colour bar).
    level_text : str
        ``level`` as the colour bar writes it.
    numbered : bool
        Whether the cells carry numbers.
    outline_colour : str
        ``RRGGBB``: dark for the current window, amber for cells the step changed.
    rows : tuple of tuple of Tile
    """

    key: str
    title: str
    note: str
    level: float
    level_text: str
    numbered: bool
    outline_colour: str
    rows: tuple[tuple[Tile, ...], ...]

    @property
    def tiles(self) -> list[Tile]:
        """Every tile, row by row."""
        return [t for row in self.rows for t in row]


@dataclass(frozen=True, slots=True)
class Slide:
    """One step of a layer's pass, ready to write.

    Attributes
    ----------
    title : str
        The model's name.
    caption : str
        "layer i (type), pass, overlay k of n".
    k, n : int
        The step and the number of overlays of the pass.
    panels : tuple of tuple of SlidePanel
        Rows: operands first, results second.
    lines : tuple of str
        The step's equations (:func:`visualconv.engine.explain.explain`).
    legend : tuple of str
        The key to the marks.
    """

    title: str
    caption: str
    k: int
    n: int
    panels: tuple[tuple[SlidePanel, ...], ...]
    lines: tuple[str, ...]
    legend: tuple[str, ...]

    def panel(self, key: str) -> SlidePanel:
        """The panel of a quantity (KeyError when the step has none)."""
        for row in self.panels:
            for panel in row:
                if panel.key == key:
                    return panel
        raise KeyError(key)


def legend_items(keys: set[str], titles: str, notes: str) -> tuple[str, ...]:
    """The key to the marks a slide of these panels uses."""
    chosen = palette.export_palette()
    if chosen is None or chosen.diverging:
        items = [_("blue < 0 < red, one colour level per panel for the whole pass")]
    else:  # the window's View ▸ Palette choice (visualconv.engine.palette.exporting_with)
        items = [_("dark < 0 < light, one colour level per panel for the whole pass")]
    items.append(_("dark outline: the current window / element"))
    if keys & RESULT_KEYS:
        items.append(_("amber outline: cells this step changed"))
    if "A_pad" in titles:
        items.append(_("grey: zero padding"))
    if keys & {"z", "a", "y"}:
        items.append(_("blank: not computed yet"))
    # the max pooling panel's note (see the pool kind's panels), in the language in use
    if "max pool" in notes or _("max pool {size}, stride {stride}").split("{")[0].strip() in notes:
        items.append(_("green corner: the recorded maximum"))
    return tuple(items)


def slide_from_figure(
    figure: Figure, k: int, n: int, decimals: int | None = None, numbers: NumberFormat = DEFAULT
) -> Slide:
    """The adapter from the figure model: a figure of step ``k`` (of ``n``) as a slide.

    Parameters
    ----------
    figure : Figure
    k, n : int
    decimals : int, optional
        Decimals of every number in cells; default: per panel, from its colour level, as
        the window writes them.
    numbers : NumberFormat
        The window's number format.

    Returns
    -------
    Slide
    """
    rows = []
    keys: set[str] = set()
    titles, notes = [], []
    for figure_row in figure.panels:
        panels = []
        for p in figure_row:
            keys.add(p.key)
            titles.append(p.title)
            notes.append(p.note)
            level = nice_level(figure.style.limits.get(p.key, 1.0))
            places = numbers.decimals_for(level) if decimals is None else decimals
            tile_rows = []
            for grid_row in p.rows:
                tiles = []
                for g in grid_row:
                    values = g.values
                    texts, fills, inks = [], [], []
                    for v, shown, muted in zip(
                        values.ravel().tolist(),
                        g.shown.ravel().tolist(),
                        g.muted.ravel().tolist(),
                        strict=True,
                    ):
                        if not shown:
                            texts.append("")
                            fills.append(PENDING_FILL)
                            inks.append(INK)
                            continue
                        texts.append(number_text(v, places, numbers) if p.numbered else "")
                        if muted:
                            fills.append(PADDING_FILL)
                            inks.append(PADDING_INK)
                        else:
                            fill = hex_rgb(fill_rgb(v, level))
                            fills.append(fill)
                            inks.append(ink_on(fill))
                    tiles.append(
                        Tile(
                            g.label,
                            g.shape,
                            values,
                            tuple(texts),
                            tuple(fills),
                            tuple(inks),
                            g.outline,
                            g.marks,
                        )
                    )
                tile_rows.append(tuple(tiles))
            panels.append(
                SlidePanel(
                    p.key,
                    p.title,
                    p.note,
                    level,
                    numbers.scale(level),
                    p.numbered,
                    CHANGED_OUTLINE if p.key in RESULT_KEYS else WINDOW_OUTLINE,
                    tuple(tile_rows),
                )
            )
        rows.append(tuple(panels))
    legend = legend_items(keys, " ".join(titles), " ".join(notes))
    # A model's name is data: a tab or newline in it never splits the slide's title line.
    return Slide(printable(figure.title), printable(figure.caption), k, n, tuple(rows), figure.lines, legend)


def pass_slides(
    model: Model,
    index: int,
    trace: LayerTrace,
    steps: Sequence[int],
    decimals: int | None = None,
    numbers: NumberFormat = DEFAULT,
) -> list[Slide]:
    """The slides of some steps of one pass, with the colour levels of the whole pass.

    Parameters
    ----------
    model : Model
    index : int
        Layer index.
    trace : LayerTrace
    steps : sequence of int
        Steps 0..n, in the order wanted.
    decimals : int, optional
    numbers : NumberFormat
        See :func:`slide_from_figure`.

    Returns
    -------
    list of Slide
    """
    style = pass_style(trace, numbers=numbers)
    return [
        slide_from_figure(build_figure(model, index, trace, k, style), k, trace.n, decimals, numbers)
        for k in steps
    ]


def parse_steps(text: str, n: int, *, lenient: bool = False) -> list[int]:
    """Steps from ``"1-4,16"`` (ranges inclusive, in the order given, repeats dropped).

    Parameters
    ----------
    text : str
        Comma-separated steps and ranges ``a-b``; ``last`` or ``n`` stands for the last step.
    n : int
        The pass's number of overlays (steps are 0..n).
    lenient : bool
        Drop steps past ``n`` instead of refusing them.

    Returns
    -------
    list of int

    Raises
    ------
    ValueError
        With a message that says what was expected.
    """
    steps: list[int] = []

    def number(part: str) -> int:
        part = part.strip()
        if part in ("last", "n"):
            return n
        if not part.isdigit():
            raise ValueError(
                Message(
                    "steps {text!r}: expected numbers and ranges like 1-4,16, got {part!r}",
                    text=text,
                    part=part,
                )
            )
        value = int(part)
        if value > n and not lenient:
            raise ValueError(
                Message(
                    "steps {text!r}: step {value} is past the last step {n} (steps are 0..{n})",
                    text=text,
                    value=value,
                    n=n,
                )
            )
        return value

    for part in text.split(","):
        if not part.strip():
            raise ValueError(Message("steps {text!r}: expected numbers and ranges like 1-4,16", text=text))
        if "-" in part:
            a, b = part.split("-", 1)
            lo, hi = number(a), number(b)
            if lo > hi:
                raise ValueError(
                    Message("steps {text!r}: the range {range} runs backwards", text=text, range=part.strip())
                )
            chosen = range(lo, min(hi, n) + 1)
        else:
            chosen = range(number(part), min(number(part), n) + 1)
        steps += [k for k in chosen if k not in steps]
    return steps

r"""Steps as TikZ: a standalone picture of one step, and a Beamer frame of a whole pass.

Both are drawn by one layout: every cell a filled rectangle in the heat-map colour with
its number as a node, the current window or element outlined dark, the cells the step
changed outlined amber, a colour bar under each panel, the step's equations in maths.

In a Beamer deck the frame's overlays are the steps: what does not change between steps
is drawn once, and each cell, outline, caption and equation that does is wrapped in
``\only<a-b>{...}`` for the run of overlays it holds, so overlay ``i`` shows exactly the
``i``-th chosen step and the file stays small (and editable).

Needs ``tikz`` (and ``adjustbox`` for the deck, from texlive's latex-extra); compiles
with pdflatex. Text from the model file is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..engine import palette
from .latex import CJK_NOTE, document, math_line, needs_cjk, tex_number, tex_text
from .slides import Slide, SlidePanel, Tile, hex_rgb

CELL_H = 0.6  # cm
MIN_CELL_W = 0.75
CHAR_W = 0.15  # a character of \scriptsize numbers, cm
SMALL_CELL = 0.22  # cells of grids without numbers
TILE_GAP = 0.35
PANEL_GAP = 0.9
ROW_GAP = 0.55
TITLE_H = 0.55
LABEL_H = 0.38
BAR_H = 0.16
BAR_W = 3.2
BAR_TEXT_H = 0.42
MAX_ROW_W = 26.0
GRID = "BDBDBD"
FRAME = "8A8A8A"


def _f(value: float) -> str:
    """A coordinate: 3 decimals, no trailing zeros, never ``-0``."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def colour_name(hex_code: str) -> str:
    """The xcolor name this module defines for an ``RRGGBB`` colour."""
    return "vc" + hex_code


def colour_definitions(codes: set[str]) -> str:
    r"""``\definecolor`` lines for every colour a picture uses."""
    return "".join(f"\\definecolor{{{colour_name(c)}}}{{HTML}}{{{c}}}\n" for c in sorted(codes))


def cell_tex(text: str) -> str:
    """A cell's number in math."""
    if text == "≈0":
        return r"$\approx 0$"
    if text in ("∞", "-∞"):
        return "$" + text.replace("∞", r"\infty") + "$"
    return f"${tex_number(text)}$"


@dataclass(frozen=True, slots=True)
class _Box:
    panel: int  # index in reading order
    x: float
    y: float  # top, negative downwards
    width: float
    height: float
    cell_w: float
    cell_h: float


class Layout:
    """Where every panel, tile and cell of a pass's slides sits (the same for every step).

    Parameters
    ----------
    slides : sequence of Slide
        Steps of one pass (same panels and shapes); the widest number of all sets the
        cell width.
    max_row_w : float
        Panels wrap to a new line past this width (cm).
    """

    def __init__(self, slides: Sequence[Slide], max_row_w: float = MAX_ROW_W) -> None:
        first = slides[0]
        self.panels: list[SlidePanel] = [p for row in first.panels for p in row]
        widest = max(
            (
                len(t)
                for s in slides
                for row in s.panels
                for p in row
                if p.numbered
                for tile in p.tiles
                for t in tile.texts
            ),
            default=1,
        )
        self.cell_w = max(MIN_CELL_W, round(CHAR_W * widest + 0.3, 2))
        self.boxes: list[_Box] = []
        y = 0.0
        width = 0.0
        index = 0
        for row in first.panels:
            x, line_h = 0.0, 0.0
            for panel in row:
                cw, ch = self.cell_size(panel)
                w, h = self.panel_size(panel, cw, ch)
                if x > 0 and x + w > max_row_w:
                    y -= line_h + ROW_GAP
                    x, line_h = 0.0, 0.0
                self.boxes.append(_Box(index, x, y, w, h, cw, ch))
                width = max(width, x + w)
                x += w + PANEL_GAP
                line_h = max(line_h, h)
                index += 1
            y -= line_h + ROW_GAP
        self.width = max(width, 8.0)
        self.height = -y - ROW_GAP

    def cell_size(self, panel: SlidePanel) -> tuple[float, float]:
        """(width, height) of a panel's cells, cm."""
        return (self.cell_w, CELL_H) if panel.numbered else (SMALL_CELL, SMALL_CELL)

    @staticmethod
    def label_h(panel: SlidePanel) -> float:
        """Height of the tile labels of a panel (0 without labels)."""
        return LABEL_H if any(t.label for t in panel.tiles) else 0.0

    def panel_size(self, panel: SlidePanel, cw: float, ch: float) -> tuple[float, float]:
        """(width, height) of a panel with its title and colour bar, cm."""
        tiles_w = max(sum(t.shape[1] * cw for t in row) + TILE_GAP * (len(row) - 1) for row in panel.rows)
        tiles_h = sum(self.label_h(panel) + max(t.shape[0] for t in row) * ch for row in panel.rows)
        tiles_h += TILE_GAP * (len(panel.rows) - 1)
        title_w = 0.17 * (len(panel.title) + len(panel.note) * 0.8)
        return max(tiles_w, title_w, BAR_W), TITLE_H + tiles_h + 0.15 + BAR_H + BAR_TEXT_H

    def tiles(self, box: _Box, panel: SlidePanel) -> list[tuple[Tile, float, float]]:
        """Each tile of a panel (of any step) with the top-left corner of its cells."""
        out = []
        y = box.y - TITLE_H
        label_h = self.label_h(panel)
        for row in panel.rows:
            x = box.x
            for tile in row:
                out.append((tile, x, y - label_h))
                x += tile.shape[1] * box.cell_w + TILE_GAP
            y -= label_h + max(t.shape[0] for t in row) * box.cell_h + TILE_GAP
        return out


def fitted_layout(slides: Sequence[Slide], aspect: float) -> Layout:
    """The layout whose panels, wrapped at one of a few widths, fill a box of this aspect best.

    Parameters
    ----------
    slides : sequence of Slide
    aspect : float
        Width / height of the box the picture is scaled into.

    Returns
    -------
    Layout
    """
    best: tuple[float, Layout] | None = None
    for width in (18.0, MAX_ROW_W, 34.0, 44.0, 60.0):
        layout = Layout(slides, width)
        fit = min(aspect / layout.width, 1.0 / layout.height)
        if best is None or fit > best[0] * 1.0001:
            best = (fit, layout)
    assert best is not None
    return best[1]


def _outline(mask: np.ndarray, x0: float, y0: float, cw: float, ch: float) -> list[str]:
    """Segments of the boundary of the cells in ``mask``, as ``(a)--(b)`` path pieces."""
    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), dtype=bool)
    padded[1:-1, 1:-1] = mask
    pieces = []
    for i, j in zip(*np.nonzero(mask), strict=True):
        left, top = x0 + j * cw, y0 - i * ch
        right, bottom = left + cw, top - ch
        if not padded[i, j + 1]:
            pieces.append(f"({_f(left)},{_f(top)})--({_f(right)},{_f(top)})")
        if not padded[i + 2, j + 1]:
            pieces.append(f"({_f(left)},{_f(bottom)})--({_f(right)},{_f(bottom)})")
        if not padded[i + 1, j]:
            pieces.append(f"({_f(left)},{_f(top)})--({_f(left)},{_f(bottom)})")
        if not padded[i + 1, j + 2]:
            pieces.append(f"({_f(right)},{_f(top)})--({_f(right)},{_f(bottom)})")
    return pieces


class _Items:
    """The picture's drawing commands of one slide, keyed by what they draw.

    Keys are in drawing order; the same key on two slides draws the same thing, so a deck
    can compare them and wrap only the commands that change.
    """

    def __init__(self) -> None:
        self.items: dict[str, str] = {}
        self.colours: set[str] = set()

    def add(self, key: str, tex: str) -> None:
        self.items[key] = tex

    def colour(self, code: str) -> str:
        self.colours.add(code)
        return colour_name(code)


def _slide_items(slide: Slide, layout: Layout) -> _Items:
    items = _Items()
    panels = [p for row in slide.panels for p in row]
    for box, panel in zip(layout.boxes, panels, strict=True):
        key = f"p{box.panel}"
        title = math_line(panel.title)
        note = tex_text(panel.note)
        items.add(
            f"{key}.title",
            f"\\node[vctitle] at ({_f(box.x)},{_f(box.y)}) {{${title}$"
            + (f"\\enspace{{\\tiny\\color{{{items.colour(FRAME)}}}{note}}}" if note else "")
            + "};",
        )
        cw, ch = box.cell_w, box.cell_h
        for t, (tile, x0, y0) in enumerate(layout.tiles(box, panel)):
            tkey = f"{key}.t{t}"
            h, w = tile.shape
            if tile.label:
                items.add(
                    f"{tkey}.label",
                    f"\\node[vclabel] at ({_f(x0)},{_f(y0)}) {{{tex_text(tile.label)}}};",
                )
            for c in range(h * w):
                i, j = divmod(c, w)
                left, top = x0 + j * cw, y0 - i * ch
                fill = items.colour(tile.fills[c])
                tex = f"\\fill[{fill}] ({_f(left)},{_f(top)}) rectangle ({_f(left + cw)},{_f(top - ch)});"
                if tile.texts[c]:
                    ink = items.colour(tile.inks[c])
                    tex += (
                        f" \\node[vccell,text={ink}] at ({_f(left + cw / 2)},{_f(top - ch / 2)}) "
                        f"{{{cell_tex(tile.texts[c])}}};"
                    )
                items.add(f"{tkey}.c{c}", tex)
            grid = items.colour(GRID)
            frame = items.colour(FRAME)
            lines = [f"\\begin{{scope}}[shift={{({_f(x0)},{_f(y0)})}}]"]
            if h > 1 or w > 1:
                lines.append(
                    f"\\draw[{grid},line width=0.3pt,xstep={_f(cw)},ystep={_f(ch)}] "
                    f"(0,0) grid ({_f(w * cw)},{_f(-h * ch)});"
                )
            lines.append(f"\\draw[{frame},line width=0.4pt] (0,0) rectangle ({_f(w * cw)},{_f(-h * ch)});")
            lines.append("\\end{scope}")
            items.add(f"{tkey}.grid", " ".join(lines))
            if tile.marks.any():
                mark = items.colour("059669")
                side = min(cw, ch) * 0.35
                tris = []
                for i, j in zip(*np.nonzero(tile.marks), strict=True):
                    right, top = x0 + (j + 1) * cw, y0 - i * ch
                    tris.append(
                        f"\\fill[{mark}] ({_f(right - side)},{_f(top)}) -- ({_f(right)},{_f(top)}) "
                        f"-- ({_f(right)},{_f(top - side)}) -- cycle;"
                    )
                items.add(f"{tkey}.marks", " ".join(tris))
            if tile.outline.any():
                pieces = _outline(tile.outline, x0, y0, cw, ch)
                width = "1.6pt" if panel.numbered else "1pt"
                items.add(
                    f"{tkey}.outline",
                    f"\\draw[{items.colour(panel.outline_colour)},line width={width},line cap=rect] "
                    + " ".join(pieces)
                    + ";",
                )
        bar_y = box.y - box.height + BAR_TEXT_H + BAR_H
        stops = [hex_rgb(c) for c in palette.slide_bar()]
        seg = BAR_W / (len(stops) - 1)
        shades = []
        for s in range(len(stops) - 1):
            a, b = items.colour(stops[s]), items.colour(stops[s + 1])
            shades.append(
                f"\\shade[left color={a},right color={b}] ({_f(box.x + s * seg)},{_f(bar_y)}) "
                f"rectangle ({_f(box.x + (s + 1) * seg)},{_f(bar_y - BAR_H)});"
            )
        level = tex_number(panel.level_text)
        bar = " ".join(shades) + (
            f" \\draw[{items.colour(FRAME)},line width=0.3pt] ({_f(box.x)},{_f(bar_y)}) "
            f"rectangle ({_f(box.x + BAR_W)},{_f(bar_y - BAR_H)});"
            f" \\node[vcbar,anchor=north west] at ({_f(box.x)},{_f(bar_y - BAR_H)}) {{$-{level}$}};"
            f" \\node[vcbar,anchor=north] at ({_f(box.x + BAR_W / 2)},{_f(bar_y - BAR_H)}) {{$0$}};"
            f" \\node[vcbar,anchor=north east] at ({_f(box.x + BAR_W)},{_f(bar_y - BAR_H)}) {{$+{level}$}};"
        )
        items.add(f"{key}.bar", bar)
    return items


# The deck's picture box: the line width by 0.6 of the text height of a 16:9 frame.
DECK_ASPECT = 3.0

TIKZ_STYLES = (
    r"\tikzset{vccell/.style={font=\scriptsize,inner sep=0pt},"
    r"vctitle/.style={anchor=north west,font=\footnotesize\bfseries,inner sep=0pt,yshift=-1pt},"
    r"vclabel/.style={anchor=south west,font=\tiny,inner sep=1pt},"
    r"vcbar/.style={font=\tiny,inner sep=1pt}}"
)


def equation_lines(lines: Sequence[str]) -> str:
    """The step's equations as a LaTeX paragraph of maths lines."""
    return "\\\\\n".join(f"${math_line(line)}$" for line in lines) if lines else r"\mbox{}"


def tikz_picture(slide: Slide, *, equations: bool = True) -> tuple[str, set[str]]:
    r"""One step as a ``tikzpicture`` (and the colours it uses, for ``\definecolor``).

    Parameters
    ----------
    slide : Slide
    equations : bool
        Put the caption above and the equations below the panels.

    Returns
    -------
    (str, set of str)
    """
    layout = Layout([slide])
    items = _slide_items(slide, layout)
    body = ["\\begin{tikzpicture}[x=1cm,y=1cm]"]
    if equations:
        body.append(
            f"\\node[anchor=south west,inner sep=0pt,align=left] at (0,0.25) "
            f"{{\\textbf{{{tex_text(slide.title)}}}\\\\[1pt]\\footnotesize {tex_text(slide.caption)}}};"
        )
    body += list(items.items.values())
    if equations:
        body.append(
            f"\\node[anchor=north west,inner sep=0pt,text width={_f(layout.width)}cm,align=left,"
            f"font=\\scriptsize] at (0,{_f(-layout.height - 0.3)}) {{{equation_lines(slide.lines)}}};"
        )
    body.append("\\end{tikzpicture}")
    return "\n".join(body) + "\n", items.colours


def tikz_fragment(slide: Slide) -> str:
    """The picture with its colour definitions and styles, to paste into a document with TikZ."""
    picture, colours = tikz_picture(slide)
    return (
        "% visualconv: one step as TikZ; needs \\usepackage{tikz} (and amsmath, amssymb)\n"
        + (CJK_NOTE if needs_cjk(picture) else "")
        + colour_definitions(colours)
        + TIKZ_STYLES
        + "\n"
        + picture
    )


PREAMBLE = "\\usepackage{amsmath,amssymb}\n\\usepackage{tikz}\n"


def tikz_standalone(slide: Slide) -> str:
    """A ``standalone`` document of one step's picture (compiles with pdflatex)."""
    return document("\\documentclass[border=8pt]{standalone}\n" + PREAMBLE, tikz_fragment(slide))


def _runs(values: Sequence[str | None]) -> list[tuple[int, int, str]]:
    """Runs of equal consecutive values as (first, last, value), 1-based; None values are dropped."""
    runs: list[tuple[int, int, str]] = []
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            value = values[start]
            if value:
                runs.append((start + 1, i, value))
            start = i
    return runs


def _overlays(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _wrapped(values: Sequence[str | None]) -> list[str]:
    r"""Commands for one key across the slides: plain when it never changes, else ``\only``."""
    runs = _runs(values)
    if len(runs) == 1 and runs[0][:2] == (1, len(values)):
        return [runs[0][2]]
    return [f"\\only<{_overlays(a, b)}>{{{tex}}}" for a, b, tex in runs]


LONG_STEP = 6
"""A step of more lines than this (the loss's first backward step) is shrunk to the equations' area."""


def _fitted_equations(lines: Sequence[str]) -> str:
    """A step's equations for the deck: as they are, or shrunk to fit when there are many lines."""
    text = equation_lines(lines)
    if len(lines) <= LONG_STEP:
        return text
    return (
        r"\adjustbox{max width=\linewidth,max totalheight=0.24\textheight}"
        rf"{{\parbox{{\linewidth}}{{\raggedright\scriptsize {text}}}}}"
    )


def beamer_deck(slides: Sequence[Slide], *, aspect: str = "169") -> str:
    r"""A Beamer document of one frame whose overlays are the given steps of one pass.

    Parameters
    ----------
    slides : sequence of Slide
        Steps of one pass, in the order of the overlays (overlay i is ``slides[i - 1]``).
    aspect : str
        Beamer's ``aspectratio`` ("169", "43").

    Returns
    -------
    str
    """
    if not slides:
        raise ValueError("a deck needs at least one step")
    layout = fitted_layout(slides, DECK_ASPECT)
    per_slide = [_slide_items(s, layout) for s in slides]
    keys: list[str] = []
    seen: set[str] = set()
    for items in per_slide:
        for key in items.items:
            if key not in seen:
                seen.add(key)
                keys.append(key)
    colours: set[str] = set().union(*(items.colours for items in per_slide))
    picture = ["\\begin{tikzpicture}[x=1cm,y=1cm]"]
    picture.append(
        f"\\useasboundingbox (-0.1,0.1) rectangle ({_f(layout.width + 0.1)},{_f(-layout.height - 0.1)});"
    )
    for key in keys:
        picture += _wrapped([items.items.get(key) for items in per_slide])
    picture.append("\\end{tikzpicture}")
    captions = _wrapped([tex_text(s.caption) for s in slides])
    equations = _wrapped([_fitted_equations(s.lines) for s in slides])
    title = tex_text(slides[0].title)
    n = len(slides)
    preamble = (
        f"\\documentclass[aspectratio={aspect}]{{beamer}}\n"
        + PREAMBLE
        + "\\usepackage{adjustbox}\n"
        + "\\setbeamertemplate{navigation symbols}{}\n"
        + colour_definitions(colours)
        + TIKZ_STYLES
        + "\n"
        + f"% visualconv: {n} overlays, one per step: "
        + ", ".join(f"{i + 1} = step {s.k}" for i, s in enumerate(slides[:40]))
        + (" ..." if n > 40 else "")
        + "\n"
        + f"\\title{{{title}}}\n"
    )
    body = (
        f"\\begin{{frame}}[t]{{{title}}}\n"
        + "\\framesubtitle{"
        + "".join(captions)
        + "}\n"
        + "\\centering\n"
        + "\\adjustbox{max width=\\linewidth,max totalheight=0.6\\textheight}{%\n"
        + "\n".join(picture)
        + "\n}\n\n"
        + "\\begin{overlayarea}{\\linewidth}{0.24\\textheight}\n"
        + "\\raggedright\\scriptsize\n"
        + "\n".join(equations)
        + "\n\\end{overlayarea}\n"
        + "\\end{frame}\n"
    )
    return document(preamble, body)

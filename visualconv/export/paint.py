"""Paint a :class:`~visualconv.export.figure.Figure` with a QPainter (light theme).

Layout is computed from the data in figure units (pixels at scale 1): a uniform cell
size wide enough for the widest number of the whole pass, so every grid of the figure
lines up and every step of a pass has the same size. Cells are rectangles and numbers
are text, so SVG and PDF output stays vector. Only QtGui is used (no widgets).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PyQt6.QtCore import QLineF, QPointF, QRectF, Qt
from PyQt6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QLinearGradient, QPainter, QPen, QPolygonF

from ..engine import palette
from .figure import Figure, Grid, Panel

INK = QColor("#1a1a1a")
SUBTLE = QColor("#555555")
FAINT = QColor("#8a8a8a")
GRID_LINE = QColor("#bdbdbd")
PADDING_FILL = QColor("#e3e3e3")
PENDING_FILL = QColor("#f5f5f5")
OUTLINE = QColor("#111111")
BACKGROUND = QColor("#ffffff")

MARGIN = 28.0
CELL_H = 30.0
MIN_CELL_W = 42.0
SMALL_CELL_BUDGET = 220.0  # a grid without numbers is at most about this wide
TILE_GAP = 16.0
TILE_ROW_GAP = 10.0
PANEL_GAP_X = 40.0
PANEL_GAP_Y = 30.0
BAR_H = 9.0
MIN_PANEL_W = 150.0
WRAP_WIDTH = 1600.0
MAX_EQUATION_W = 1500.0
EQUATION_PX = 14


def _font(size: float, *, bold: bool = False, mono: bool = False) -> QFont:
    font = QFont("DejaVu Sans Mono" if mono else "DejaVu Sans")
    font.setPixelSize(round(size))
    font.setBold(bold)
    font.setStyleHint(QFont.StyleHint.Monospace if mono else QFont.StyleHint.SansSerif)
    font.setKerning(True)
    # Unhinted glyphs: the advances measured for layout are the advances painted, at any scale.
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return font


def colour(value: float, limit: float) -> QColor:
    """The diverging colour of ``value`` on the scale [-limit, limit] (clipped), zero near white.

    The window's palette instead when it exports with one (:func:`visualconv.engine.palette.printed`).
    """
    return QColor(*palette.printed(value, limit))


def _text_colour(fill: QColor) -> QColor:
    luminance = 0.2126 * fill.redF() + 0.7152 * fill.greenF() + 0.0722 * fill.blueF()
    return QColor("#ffffff") if luminance < 0.45 else INK


@dataclass(frozen=True, slots=True)
class _Fonts:
    title: QFont
    caption: QFont
    panel: QFont
    note: QFont
    label: QFont
    cell: QFont
    bar: QFont
    equation: QFont
    legend: QFont


@dataclass(frozen=True, slots=True)
class _PanelBox:
    panel: Panel
    x: float
    y: float
    width: float
    height: float
    cell_w: float
    cell_h: float


def _wrap(text: str, width: float, metrics: QFontMetricsF) -> list[str]:
    """Break a line at spaces to fit ``width``; continuation lines are indented 4 more."""
    if metrics.horizontalAdvance(text) <= width:
        return [text]
    lead = text[: len(text) - len(text.lstrip(" "))]
    indent = lead + "    "
    lines: list[str] = []
    current = lead
    for word in text.lstrip(" ").split(" "):
        candidate = current + word if not current.strip() else f"{current} {word}"
        if current.strip() and metrics.horizontalAdvance(candidate) > width:
            lines.append(current)
            current = indent + word
        else:
            current = candidate
    lines.append(current)
    return lines


@functools.lru_cache(maxsize=32)
def _longest_line(explanations: tuple[tuple[str, ...], ...]) -> float:
    """Width of the longest equation line of a pass (cached: every frame asks)."""
    metrics = QFontMetricsF(_font(EQUATION_PX, mono=True))
    return max((metrics.horizontalAdvance(line) for lines in explanations for line in lines), default=0.0)


@functools.lru_cache(maxsize=32)
def _reserved_lines(explanations: tuple[tuple[str, ...], ...], width: float) -> int:
    """The most wrapped lines any step of a pass needs at ``width`` (cached)."""
    metrics = QFontMetricsF(_font(EQUATION_PX, mono=True))
    return max(sum(len(_wrap(line, width, metrics)) for line in lines) for lines in explanations)


def _legend_lines(items: list[str], width: float, metrics: QFontMetricsF) -> list[str]:
    """Items joined by a separator, broken between items (an item wider than a line wraps)."""
    lines: list[str] = []
    current = ""
    for item in items:
        candidate = f"{current}   ·   {item}" if current else item
        if current and metrics.horizontalAdvance(candidate) > width:
            lines.append(current)
            current = item
        else:
            current = candidate
    lines.append(current)
    return [part for line in lines for part in _wrap(line, width, metrics)]


class FigurePainter:
    """Lays out a figure once and paints it onto any QPaintDevice.

    Parameters
    ----------
    figure : Figure

    Attributes
    ----------
    width, height : float
        Size in figure units (pixels at scale 1, points in a PDF).
    """

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.fonts = _Fonts(
            title=_font(22, bold=True),
            caption=_font(15),
            panel=_font(16, bold=True),
            note=_font(12),
            label=_font(12),
            cell=_font(14),
            bar=_font(11),
            equation=_font(EQUATION_PX, mono=True),
            legend=_font(12),
        )
        cell_metrics = QFontMetricsF(self.fonts.cell)
        widest = max((cell_metrics.horizontalAdvance(t) for t in figure.style.widest), default=10.0)
        self.cell_w = max(MIN_CELL_W, math.ceil(widest + 14.0))
        self._layout()

    # ----------------------------------------------------------------- layout

    def _cell_size(self, panel: Panel) -> tuple[float, float]:
        if panel.numbered:
            return self.cell_w, CELL_H
        biggest = max(max(g.shape) for g in panel.grids)
        side = float(max(4, min(16, math.floor(SMALL_CELL_BUDGET / biggest))))
        return side, side

    def _label_h(self, panel: Panel) -> float:
        return 17.0 if any(g.label for g in panel.grids) else 0.0

    def _panel_size(self, panel: Panel) -> tuple[float, float]:
        cw, ch = self._cell_size(panel)
        label_h = self._label_h(panel)
        tiles_w = max(sum(g.shape[1] * cw for g in row) + TILE_GAP * (len(row) - 1) for row in panel.rows)
        tiles_h = sum(label_h + max(g.shape[0] for g in row) * ch for row in panel.rows)
        tiles_h += TILE_ROW_GAP * (len(panel.rows) - 1)
        title_w = QFontMetricsF(self.fonts.panel).horizontalAdvance(panel.title)
        note_w = QFontMetricsF(self.fonts.note).horizontalAdvance(panel.note) + 10.0 if panel.note else 0.0
        width = max(tiles_w, title_w + note_w, MIN_PANEL_W)
        height = 26.0 + tiles_h + 10.0 + BAR_H + 16.0
        return width, height

    def _layout(self) -> None:
        fig = self.figure
        sizes = {id(p): self._panel_size(p) for row in fig.panels for p in row}
        wrap = max([WRAP_WIDTH, *(w for w, _ in sizes.values())])
        boxes: list[_PanelBox] = []
        y = MARGIN + 34.0 + 24.0 + 18.0  # title, caption, rule
        content_w = 0.0
        for row in fig.panels:
            x, line_h = MARGIN, 0.0
            for panel in row:
                w, h = sizes[id(panel)]
                if x > MARGIN and x - MARGIN + w > wrap:
                    y += line_h + PANEL_GAP_Y
                    x, line_h = MARGIN, 0.0
                boxes.append(_PanelBox(panel, x, y, w, h, *self._cell_size(panel)))
                content_w = max(content_w, x - MARGIN + w)
                x += w + PANEL_GAP_X
                line_h = max(line_h, h)
            y += line_h + PANEL_GAP_Y
        eq_metrics = QFontMetricsF(self.fonts.equation)
        explanations = fig.style.explanations
        if fig.lines not in explanations:  # a step the pass's scan skipped
            explanations = (*explanations, fig.lines)
        title_w = max(
            QFontMetricsF(self.fonts.title).horizontalAdvance(fig.title),
            *(
                QFontMetricsF(self.fonts.caption).horizontalAdvance(c)
                for c in (fig.caption, fig.reserve_caption)
            ),
        )
        content_w = max(content_w, min(_longest_line(explanations), MAX_EQUATION_W), title_w, 520.0)
        self.legend_lines = _legend_lines(list(fig.legend), content_w, QFontMetricsF(self.fonts.legend))
        self.eq_line_h = math.ceil(eq_metrics.lineSpacing()) + 2.0
        reserved = _reserved_lines(explanations, content_w)
        self.eq_top = y - PANEL_GAP_Y + 22.0
        self.legend_top = self.eq_top + reserved * self.eq_line_h + 16.0
        self.content_w = content_w
        self.boxes = boxes
        self.width = float(math.ceil(content_w + 2 * MARGIN))
        self.height = float(math.ceil(self.legend_top + 17.0 * len(self.legend_lines) + MARGIN - 4.0))

    # ----------------------------------------------------------------- painting

    def paint(self, painter: QPainter) -> None:
        """Paint the whole figure; the painter's coordinates are figure units."""
        fig = self.figure
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        painter.fillRect(QRectF(0, 0, self.width, self.height), BACKGROUND)
        painter.setPen(INK)
        painter.setFont(self.fonts.title)
        painter.drawText(QRectF(MARGIN, MARGIN, self.content_w, 32), Qt.AlignmentFlag.AlignLeft, fig.title)
        painter.setPen(SUBTLE)
        painter.setFont(self.fonts.caption)
        painter.drawText(
            QRectF(MARGIN, MARGIN + 34, self.content_w, 22), Qt.AlignmentFlag.AlignLeft, fig.caption
        )
        painter.setPen(QPen(GRID_LINE, 1.0))
        rule_y = MARGIN + 34 + 24 + 6
        painter.drawLine(QLineF(MARGIN, rule_y, MARGIN + self.content_w, rule_y))
        for box in self.boxes:
            self._paint_panel(painter, box)
        self._paint_equations(painter)

    def _paint_panel(self, painter: QPainter, box: _PanelBox) -> None:
        panel = box.panel
        limit = self.figure.style.limits.get(panel.key, 1.0)
        painter.setFont(self.fonts.panel)
        painter.setPen(INK)
        title_rect = QRectF(box.x, box.y, box.width, 22)
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, panel.title)
        if panel.note:
            title_w = QFontMetricsF(self.fonts.panel).horizontalAdvance(panel.title)
            painter.setFont(self.fonts.note)
            painter.setPen(FAINT)
            note_rect = QRectF(box.x + title_w + 10, box.y, box.width, 20)
            painter.drawText(note_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, panel.note)
        y = box.y + 26.0
        label_h = self._label_h(panel)
        for row in panel.rows:
            x = box.x
            for grid in row:
                if grid.label:
                    painter.setFont(self.fonts.label)
                    painter.setPen(FAINT)
                    painter.drawText(
                        QRectF(x, y, grid.shape[1] * box.cell_w + 40, label_h - 2),
                        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                        grid.label,
                    )
                self._paint_grid(painter, grid, x, y + label_h, box.cell_w, box.cell_h, limit, panel.numbered)
                x += grid.shape[1] * box.cell_w + TILE_GAP
            y += label_h + max(g.shape[0] for g in row) * box.cell_h + TILE_ROW_GAP
        bar_y = box.y + box.height - 16.0 - BAR_H
        self._paint_bar(painter, box.x, bar_y, min(box.width, 220.0), limit)

    def _paint_grid(
        self,
        painter: QPainter,
        grid: Grid,
        x0: float,
        y0: float,
        cw: float,
        ch: float,
        limit: float,
        numbered: bool,
    ) -> None:
        h, w = grid.shape
        painter.setPen(Qt.PenStyle.NoPen)
        fills: list[list[QColor]] = []
        for i in range(h):
            row = []
            for j in range(w):
                if not grid.shown[i, j]:
                    fill = PENDING_FILL
                elif grid.muted[i, j]:
                    fill = PADDING_FILL
                else:
                    fill = colour(float(grid.values[i, j]), limit)
                row.append(fill)
                painter.fillRect(QRectF(x0 + j * cw, y0 + i * ch, cw, ch), fill)
            fills.append(row)
        # grid lines, then the frame
        painter.setPen(QPen(GRID_LINE, 0.8 if numbered else 0.5))
        for i in range(1, h):
            painter.drawLine(QLineF(x0, y0 + i * ch, x0 + w * cw, y0 + i * ch))
        for j in range(1, w):
            painter.drawLine(QLineF(x0 + j * cw, y0, x0 + j * cw, y0 + h * ch))
        painter.setPen(QPen(FAINT, 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(x0, y0, w * cw, h * ch))
        if numbered:
            painter.setFont(self.fonts.cell)
            for i in range(h):
                for j in range(w):
                    if not grid.shown[i, j]:
                        continue
                    painter.setPen(FAINT if grid.muted[i, j] else _text_colour(fills[i][j]))
                    painter.drawText(
                        QRectF(x0 + j * cw, y0 + i * ch, cw, ch),
                        Qt.AlignmentFlag.AlignCenter,
                        self.figure.numbers.figure_cell(float(grid.values[i, j]), limit),
                    )
        # marks: a filled corner triangle
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(OUTLINE))
        side = min(cw, ch) * (0.32 if numbered else 0.5)
        for i, j in zip(*np.nonzero(grid.marks), strict=True):
            right, top = x0 + (j + 1) * cw, y0 + i * ch
            painter.drawPolygon(
                QPolygonF([QPointF(right - side, top), QPointF(right, top), QPointF(right, top + side)])
            )
        painter.setBrush(Qt.BrushStyle.NoBrush)
        self._paint_outline(painter, grid.outline, x0, y0, cw, ch, numbered)

    @staticmethod
    def _paint_outline(
        painter: QPainter, mask: np.ndarray, x0: float, y0: float, cw: float, ch: float, numbered: bool
    ) -> None:
        """Draw the boundary of the cells in ``mask`` (a window, dilated or not)."""
        if not mask.any():
            return
        h, w = mask.shape
        padded = np.zeros((h + 2, w + 2), dtype=bool)
        padded[1:-1, 1:-1] = mask
        lines = []
        for i, j in zip(*np.nonzero(mask), strict=True):
            left, top = x0 + j * cw, y0 + i * ch
            if not padded[i, j + 1]:
                lines.append(QLineF(left, top, left + cw, top))
            if not padded[i + 2, j + 1]:
                lines.append(QLineF(left, top + ch, left + cw, top + ch))
            if not padded[i + 1, j]:
                lines.append(QLineF(left, top, left, top + ch))
            if not padded[i + 1, j + 2]:
                lines.append(QLineF(left + cw, top, left + cw, top + ch))
        pen = QPen(OUTLINE, 3.0 if numbered else 2.0)
        pen.setCapStyle(Qt.PenCapStyle.SquareCap)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        painter.drawLines(*lines)

    def _paint_bar(self, painter: QPainter, x: float, y: float, width: float, limit: float) -> None:
        gradient = QLinearGradient(QPointF(x, 0), QPointF(x + width, 0))
        for position, rgb in palette.printed_bar():
            gradient.setColorAt(position, QColor(*rgb))
        painter.setPen(QPen(FAINT, 0.6))
        painter.setBrush(QBrush(gradient))
        painter.drawRect(QRectF(x, y, width, BAR_H))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setFont(self.fonts.bar)
        painter.setPen(SUBTLE)
        text = self.figure.numbers.scale(limit)
        label_rect = QRectF(x, y + BAR_H + 1, width, 14)
        painter.drawText(label_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, f"-{text}")
        painter.drawText(label_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, "0")
        painter.drawText(label_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, f"+{text}")

    def _paint_equations(self, painter: QPainter) -> None:
        metrics = QFontMetricsF(self.fonts.equation)
        painter.setPen(QPen(GRID_LINE, 1.0))
        painter.drawLine(QLineF(MARGIN, self.eq_top - 10, MARGIN + self.content_w, self.eq_top - 10))
        painter.setFont(self.fonts.equation)
        painter.setPen(INK)
        y = self.eq_top
        for line in self.figure.lines:
            for part in _wrap(line, self.content_w, metrics):
                painter.drawText(
                    QRectF(MARGIN, y, self.content_w + 40, self.eq_line_h),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                    part,
                )
                y += self.eq_line_h
        painter.setFont(self.fonts.legend)
        painter.setPen(FAINT)
        y = self.legend_top
        for part in self.legend_lines:
            painter.drawText(
                QRectF(MARGIN, y, self.content_w + 40, 17),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                part,
            )
            y += 17.0

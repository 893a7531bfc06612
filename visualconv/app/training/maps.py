"""Small heat maps of every trainable weight and its gradient.

Conv weights (C_out, C_in, kH, kW) are tiled into one mosaic per layer: a column of
tiles per output channel, a row per input channel, one empty cell between tiles.
Dense weights (out, in) are shown as they are. Colours run blue (negative) through
white (zero) to red (positive), symmetric about zero per map; small maps also show
their numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QTimer
from PyQt6.QtGui import QFont, QShowEvent

from ...engine import palette
from ...engine.kinds import Layer
from ...engine.model import Model
from ...engine.numbers import DEFAULT
from ...engine.windows import FloatArray
from ...i18n import _
from .. import theme
from ..theme import diverging_lut

MAX_NUMBERED_CELLS = 64
MIN_HEIGHT = 140  # pixels of the whole widget, whatever it shows
MIN_MAP_HEIGHT = 40  # pixels a map gets at least under its heading
MIN_CELL_PIXELS = (40, 16)  # a cell needs this much room (width, height) to show its number


def mosaic(weight: FloatArray) -> FloatArray:
    """A weight as one 2-D image.

    Parameters
    ----------
    weight : ndarray of shape (C_out, C_in, kH, kW), (C_out, C_in, K) or (out, in)

    Returns
    -------
    ndarray of shape (rows, cols)
        Conv kernels tiled (output channels across, input channels down) with one
        NaN cell between tiles; a dense weight unchanged.
    """
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim == 2:
        return w
    if w.ndim == 3:
        w = w[:, :, None, :]
    c_out, c_in, kh, kw = w.shape
    image = np.full((c_in * (kh + 1) - 1, c_out * (kw + 1) - 1), np.nan)
    for o in range(c_out):
        for i in range(c_in):
            image[i * (kh + 1) : i * (kh + 1) + kh, o * (kw + 1) : o * (kw + 1) + kw] = w[o, i]
    return image


@dataclass
class _Map:
    view: pg.ViewBox
    image: pg.ImageItem
    label: pg.LabelItem
    title: str
    texts: list[pg.TextItem]


def trainable_layers(model: Model) -> list[int]:
    """Indices of the layers with a weight (conv and dense)."""
    return [i for i, layer in enumerate(model.layers) if layer.kind.has_weights]


def _describe(index: int, layer: Layer) -> str:
    shape = "x".join(str(s) for s in layer.parameters()["weight"].shape)
    return f"layers[{index}] {layer.type} {shape}"


class KernelMaps(pg.GraphicsLayoutWidget):
    """For each trainable layer: its weight and the gradient used in an iteration."""

    def __init__(self, parent: object | None = None) -> None:
        super().__init__(parent=parent)
        self.theme = theme.LIGHT  # View ▸ Theme
        self.setBackground(self.theme.panel_background)
        self._maps: list[tuple[_Map, _Map]] = []
        self._layers: list[int] = []
        self._lut = diverging_lut()
        self.palette_key = "rdbu"  # View ▸ Palette
        self._relayout = QTimer(self)  # after a resize, once the layout has settled
        self._relayout.setSingleShot(True)
        self._relayout.setInterval(0)
        self._relayout.timeout.connect(self._on_relayout_timeout)
        self._shown: (
            tuple[tuple[dict[str, FloatArray], ...], tuple[dict[str, FloatArray], ...] | None, int | None]
            | None
        ) = None
        self.setMinimumHeight(MIN_HEIGHT)
        self._pending: Model | None = None  # a model set while hidden, laid out when shown

    def set_theme(self, chosen: theme.Theme) -> None:
        """The maps' background and headings in the theme's colours (View ▸ Theme)."""
        self.theme = chosen
        self.setBackground(chosen.panel_background)
        if self._shown is not None:
            self.show_parameters(*self._shown)

    def set_palette(self, key: str) -> None:
        """Draw the maps in palette ``key`` (View ▸ Palette): its 256 colours from -level to +level."""
        self.palette_key = key
        chosen = palette.PALETTES[key]
        self._lut = pg.ColorMap(
            np.array(chosen.stops), np.array(chosen.colours, dtype=np.ubyte)
        ).getLookupTable(nPts=256, alpha=False)
        for pair in self._maps:
            for target in pair:
                target.image.setLookupTable(self._lut)
        if self._shown is not None:
            self.show_parameters(*self._shown)

    def resizeEvent(self, event: object) -> None:
        """Numbers appear or hide with the room their cells get."""
        super().resizeEvent(event)  # type: ignore[arg-type]
        timer = getattr(self, "_relayout", None)
        if timer is not None:
            timer.start()

    def _on_relayout_timeout(self) -> None:
        if self._shown is not None:
            self.show_parameters(*self._shown)

    def set_model(self, model: Model) -> None:
        """Lay out one weight map and one gradient map per trainable layer.

        While the maps are not visible (the Training dock starts hidden) they are laid out
        when first shown or asked for their labels: a new model costs the window nothing here.
        """
        self.remove_maps()
        self._layers = trainable_layers(model)
        self._shown = (tuple(layer.parameters() for layer in model.layers), None, None)
        self._pending = model
        if self.isVisible():
            self._lay_out()

    def _lay_out(self) -> None:
        """The maps of the model set last, if not made yet, showing what was asked for since."""
        model, self._pending = self._pending, None
        if model is None:
            return
        for row, index in enumerate(self._layers):
            layer = model.layers[index]
            title = _describe(index, layer)
            pair = (self._make(row * 2, 0, f"W {title}"), self._make(row * 2, 1, "dW"))
            self._maps.append(pair)
        assert self._shown is not None
        self.show_parameters(*self._shown)

    def showEvent(self, event: QShowEvent | None) -> None:
        """Lay out the maps of a model set while hidden."""
        super().showEvent(event)
        self._lay_out()

    def remove_maps(self) -> None:
        """Remove every map (and a model still waiting to be laid out)."""
        self._pending = None
        self._maps = []
        self.clear()

    @staticmethod
    def when(iteration: int | None) -> tuple[str, str]:
        """The labels' second lines: which W the map shows, and whose gradient.

        At a history iteration the window's main view shows W *before* that iteration's
        update (the W its backward pass used); these maps show W *after* it.
        """
        if not iteration:
            return _("before training"), _("no gradient yet")
        return (
            _("after the update of iteration {iteration}").format(iteration=iteration),
            _("of iteration {iteration}, used by that update").format(iteration=iteration),
        )

    def retranslate(self) -> None:
        """Write the labels again in the language in use (after a switch)."""
        if self._shown is not None:
            self.show_parameters(*self._shown)

    def _make(self, row: int, col: int, title: str) -> _Map:
        label = self.addLabel(title, row=row, col=col, size="8pt", color=self.theme.text)
        view = self.addViewBox(row=row + 1, col=col, lockAspect=True, invertY=True, enableMouse=False)
        view.setMenuEnabled(False)
        image = pg.ImageItem(axisOrder="row-major")
        image.setLookupTable(self._lut)
        view.addItem(image)
        return _Map(view, image, label, title, [])

    def show_parameters(
        self,
        parameters: tuple[dict[str, FloatArray], ...],
        gradients: tuple[dict[str, FloatArray], ...] | None,
        iteration: int | None = None,
    ) -> None:
        """Show weights (one dict per layer) and the gradients used (or blank maps).

        ``iteration`` (None or 0: before training) labels which W and dW the maps show.
        """
        self._shown = (parameters, gradients, iteration)
        if self._pending is not None:
            return  # shown when the maps are laid out
        w_when, g_when = self.when(iteration)
        for (w_map, g_map), index in zip(self._maps, self._layers, strict=True):
            weight = parameters[index]["weight"]
            self._show(w_map, mosaic(weight), parameters[index].get("bias"), w_when)
            if gradients is None:
                self._show(g_map, np.full(mosaic(weight).shape, np.nan), None, g_when)
            else:
                self._show(g_map, mosaic(gradients[index]["weight"]), gradients[index].get("bias"), g_when)
        self._make_room()

    def _make_room(self) -> None:
        """Ask for the height of every heading (wrapped lines) and a map of least height under each."""
        layout = self.ci.layout
        headings = sum(max(w.label.minimumHeight(), g.label.minimumHeight()) for w, g in self._maps)
        spacing = layout.verticalSpacing() * max(2 * len(self._maps) - 1, 0)
        _left, top, _right, bottom = layout.getContentsMargins()
        needed = math.ceil(headings + spacing + top + bottom + MIN_MAP_HEIGHT * len(self._maps)) + 4
        if needed != self.minimumHeight() and (needed > MIN_HEIGHT or self.minimumHeight() > MIN_HEIGHT):
            self.setMinimumHeight(max(needed, MIN_HEIGHT))

    def labels(self) -> list[tuple[str, str]]:
        """The (W, dW) label texts of each trainable layer, as shown."""
        self._lay_out()
        return [(w.label.text, g.label.text) for w, g in self._maps]

    def _show(self, target: _Map, image: FloatArray, bias: FloatArray | None, when: str = "") -> None:
        finite = image[np.isfinite(image)]
        level = float(np.max(np.abs(finite))) if finite.size else 1.0
        level = level if math.isfinite(level) and level > 0 else 1.0
        target.image.setImage(image, levels=(-level, level), autoLevels=False)
        target.view.autoRange(padding=0.02)
        bias_text = (
            ""
            if bias is None
            else "<br>b = " + ", ".join(DEFAULT.map_cell(float(b)) for b in np.ravel(bias)[:6])
        )
        if bias is not None and bias.size > 6:
            bias_text += ", ..."
        heading = f"{target.title}<br>{when}" if when else target.title
        target.label.setText(heading + bias_text, size="8pt", color=self.theme.text)
        self._wrap(target.label)
        self._numbers(target, image)

    def _column_width(self) -> float:
        """The width each of the two map columns gets in the widget as it is now."""
        layout = self.ci.layout
        left, _top, right, _bottom = layout.getContentsMargins()
        outer_left, _top, outer_right, _bottom = self.ci.getContentsMargins()
        room = self.viewport().width() - left - right - outer_left - outer_right
        return max((room - layout.horizontalSpacing()) / 2 - 2, 40.0)

    def _wrap(self, label: pg.LabelItem) -> None:
        """Break a heading wider than its column into lines (never cut, never widening the column).

        The whole heading is in the label's tooltip too.
        """
        item = label.item
        item.setTextWidth(-1)
        room = self._column_width()
        if item.document().idealWidth() > room:
            item.setTextWidth(room)
        label.resizeEvent(None)  # the label's least size follows the lines
        label.setToolTip(item.toPlainText())

    def _numbers(self, target: _Map, image: FloatArray) -> None:
        cells = int(np.isfinite(image).sum())
        rect = target.view.sceneBoundingRect()
        rows, cols = image.shape
        cell = min(rect.width() / cols, rect.height() / rows * MIN_CELL_PIXELS[0] / MIN_CELL_PIXELS[1])
        if cells > MAX_NUMBERED_CELLS or cells == 0 or cell < MIN_CELL_PIXELS[0]:
            for item in target.texts:
                target.view.removeItem(item)
            target.texts = []
            return
        positions = list(zip(*np.nonzero(np.isfinite(image)), strict=True))
        if len(target.texts) != len(positions):
            for item in target.texts:
                target.view.removeItem(item)
            target.texts = []
            font = QFont()
            font.setPointSize(7)
            for _ in positions:
                item = pg.TextItem("", color="#111827", anchor=(0.5, 0.5))
                item.setFont(font)
                target.view.addItem(item)
                target.texts.append(item)
        level = float(np.nanmax(np.abs(image))) or 1.0
        for item, (r, c) in zip(target.texts, positions, strict=True):
            value = float(image[r, c])
            if self.palette_key == "rdbu":
                light = abs(value) > 0.6 * level
            else:  # white on the palette's dark colours
                light = bool(
                    theme.light_text(self.palette_key)[theme.colour_index(np.array([value]), level)[0]]
                )
            item.setColor("#ffffff" if light else "#111827")
            item.setText(DEFAULT.map_cell(value, level))
            item.setPos(c + 0.5, r + 0.5)

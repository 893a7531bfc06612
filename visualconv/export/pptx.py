"""Steps as PowerPoint slides (python-pptx): native, editable shapes, one slide per step.

Every cell is a rectangle in its heat-map colour holding its number as text (named
``KEY:TILE:i,j``, e.g. ``dx:0:1,2``), the current window or element and the cells the
step changed are outlined with lines, each panel has its title and a colour bar, and
the step's arithmetic is a text box in a fixed-width font. Opens in PowerPoint,
LibreOffice Impress and Google Slides. Needs python-pptx (``visualconv[pptx]``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine.errors import Message, ModelError
from .slides import Slide, SlidePanel, fill_rgb, hex_rgb
from .tikz import BAR_H, BAR_W, TITLE_H, fitted_layout

SLIDE_W_IN = 13.333
SLIDE_H_IN = 7.5
EMU_PER_IN = 914400
MARGIN_IN = 0.35
HEADER_IN = 0.95
EQUATIONS_IN = 1.45


def _pptx() -> Any:
    try:
        import pptx
    except ImportError:
        raise ModelError(
            Message("PowerPoint export needs python-pptx: pip install 'visualconv[pptx]'")
        ) from None
    return pptx


def _rgb(pptx: Any, code: str) -> Any:
    return pptx.dml.color.RGBColor.from_string(code)


def _text(
    shape: Any,
    text: str,
    size_pt: float,
    colour: str,
    pptx: Any,
    *,
    bold: bool = False,
    align: Any = None,
    font: str | None = None,
) -> None:
    frame = shape.text_frame
    # a left-aligned box wraps (LibreOffice centres an unwrapped one on its box)
    frame.word_wrap = align == pptx.enum.text.PP_ALIGN.LEFT
    for side in ("margin_left", "margin_right", "margin_top", "margin_bottom"):
        setattr(frame, side, 0)
    frame.vertical_anchor = pptx.enum.text.MSO_ANCHOR.MIDDLE
    paragraph = frame.paragraphs[0]
    if align is not None:
        paragraph.alignment = align
    run = paragraph.add_run()
    run.text = text
    run.font.size = pptx.util.Pt(size_pt)
    run.font.bold = bold
    run.font.color.rgb = _rgb(pptx, colour)
    if font:
        run.font.name = font


def pptx_bytes(slides: Sequence[Slide]) -> bytes:
    """A presentation with one slide per step (16:9), as bytes of a .pptx file.

    Parameters
    ----------
    slides : sequence of Slide
        Steps of one pass (one layout for all, so slides compare).

    Returns
    -------
    bytes
    """
    if not slides:
        raise ModelError(Message("a presentation needs at least one step"))
    pptx = _pptx()
    from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Emu, Pt

    avail_w = (SLIDE_W_IN - 2 * MARGIN_IN) * EMU_PER_IN
    avail_h = (SLIDE_H_IN - HEADER_IN - EQUATIONS_IN - 2 * MARGIN_IN) * EMU_PER_IN
    layout = fitted_layout(slides, avail_w / avail_h)
    per_cm = min(avail_w / layout.width, avail_h / layout.height)  # EMU per layout cm
    x0 = MARGIN_IN * EMU_PER_IN + (avail_w - layout.width * per_cm) / 2
    y0 = (MARGIN_IN + HEADER_IN) * EMU_PER_IN
    pt_per_cm = per_cm / 12700.0

    def at(x: float, y: float) -> tuple[int, int]:
        return round(x0 + x * per_cm), round(y0 - y * per_cm)

    def length(v: float) -> int:
        return max(1, round(v * per_cm))

    deck = pptx.Presentation()
    deck.slide_width = Emu(round(SLIDE_W_IN * EMU_PER_IN))
    deck.slide_height = Emu(round(SLIDE_H_IN * EMU_PER_IN))
    blank = deck.slide_layouts[6]
    cell_pt = max(5.0, min(18.0, 0.42 * 0.6 * pt_per_cm))
    for slide in slides:
        page = deck.slides.add_slide(blank)
        shapes = page.shapes
        title = shapes.add_textbox(
            Emu(round(MARGIN_IN * EMU_PER_IN)),
            Emu(round(MARGIN_IN * EMU_PER_IN * 0.6)),
            Emu(round(avail_w)),
            Emu(round(0.45 * EMU_PER_IN)),
        )
        title.name = "title"
        _text(title, slide.title, 24, "1F2328", pptx, bold=True, align=PP_ALIGN.LEFT)
        caption = shapes.add_textbox(
            Emu(round(MARGIN_IN * EMU_PER_IN)),
            Emu(round(MARGIN_IN * EMU_PER_IN * 0.6 + 0.48 * EMU_PER_IN)),
            Emu(round(avail_w)),
            Emu(round(0.32 * EMU_PER_IN)),
        )
        caption.name = "caption"
        _text(caption, slide.caption, 14, "555555", pptx, align=PP_ALIGN.LEFT)
        panels: list[SlidePanel] = [p for row in slide.panels for p in row]
        for box, panel in zip(layout.boxes, panels, strict=True):
            left, top = at(box.x, box.y)
            head = shapes.add_textbox(Emu(left), Emu(top), Emu(length(box.width)), Emu(length(TITLE_H * 0.8)))
            head.name = f"{panel.key}:title"
            _text(
                head,
                panel.title + (f"   {panel.note}" if panel.note else ""),
                max(7.0, min(16.0, 0.5 * TITLE_H * pt_per_cm)),
                "1F2328",
                pptx,
                bold=True,
                align=PP_ALIGN.LEFT,
            )
            cw, ch = box.cell_w, box.cell_h
            for t, (tile, tx, ty) in enumerate(layout.tiles(box, panel)):
                h, w = tile.shape
                if tile.label:
                    lx, ly = at(tx, ty + 0.36)
                    label = shapes.add_textbox(Emu(lx), Emu(ly), Emu(length(w * cw)), Emu(length(0.34)))
                    label.name = f"{panel.key}:{t}:label"
                    _text(
                        label,
                        tile.label,
                        max(6.0, 0.5 * 0.34 * pt_per_cm),
                        "8A8A8A",
                        pptx,
                        align=PP_ALIGN.LEFT,
                    )
                for c in range(h * w):
                    i, j = divmod(c, w)
                    cx, cy = at(tx + j * cw, ty - i * ch)
                    cell = shapes.add_shape(
                        MSO_SHAPE.RECTANGLE, Emu(cx), Emu(cy), Emu(length(cw)), Emu(length(ch))
                    )
                    cell.name = f"{panel.key}:{t}:{i},{j}"
                    cell.shadow.inherit = False
                    cell.fill.solid()
                    cell.fill.fore_color.rgb = _rgb(pptx, tile.fills[c])
                    cell.line.color.rgb = _rgb(pptx, "BDBDBD")
                    cell.line.width = Pt(0.5)
                    if tile.texts[c]:
                        _text(cell, tile.texts[c], cell_pt, tile.inks[c], pptx, align=PP_ALIGN.CENTER)
                for i, j in zip(*np.nonzero(tile.marks), strict=True):
                    side = min(cw, ch) * 0.35
                    mx, my = at(tx + (j + 1) * cw - side, ty - i * ch)
                    mark = shapes.add_shape(
                        MSO_SHAPE.RIGHT_TRIANGLE, Emu(mx), Emu(my), Emu(length(side)), Emu(length(side))
                    )
                    mark.name = f"{panel.key}:{t}:mark"
                    mark.rotation = 180.0
                    mark.shadow.inherit = False
                    mark.fill.solid()
                    mark.fill.fore_color.rgb = _rgb(pptx, "059669")
                    mark.line.fill.background()
                mask = tile.outline
                if mask.any():
                    padded = np.zeros((h + 2, w + 2), dtype=bool)
                    padded[1:-1, 1:-1] = mask
                    for i, j in zip(*np.nonzero(mask), strict=True):
                        l_, t_ = tx + j * cw, ty - i * ch
                        r_, b_ = l_ + cw, t_ - ch
                        segments = []
                        if not padded[i, j + 1]:
                            segments.append((l_, t_, r_, t_))
                        if not padded[i + 2, j + 1]:
                            segments.append((l_, b_, r_, b_))
                        if not padded[i + 1, j]:
                            segments.append((l_, t_, l_, b_))
                        if not padded[i + 1, j + 2]:
                            segments.append((r_, t_, r_, b_))
                        for xa, ya, xb, yb in segments:
                            line = shapes.add_connector(
                                MSO_CONNECTOR.STRAIGHT, *map(Emu, (*at(xa, ya), *at(xb, yb)))
                            )
                            line.name = f"{panel.key}:{t}:outline"
                            line.line.color.rgb = _rgb(pptx, panel.outline_colour)
                            line.line.width = Pt(2.25 if panel.numbered else 1.25)
            bar_y = box.y - box.height + 0.42 + BAR_H
            steps = 16
            for s in range(steps):
                code = hex_rgb(fill_rgb(-1.0 + 2.0 * s / (steps - 1), 1.0))
                bx, by = at(box.x + s * BAR_W / steps, bar_y)
                seg = shapes.add_shape(
                    MSO_SHAPE.RECTANGLE, Emu(bx), Emu(by), Emu(length(BAR_W / steps) + 1), Emu(length(BAR_H))
                )
                seg.name = f"{panel.key}:bar"
                seg.shadow.inherit = False
                seg.fill.solid()
                seg.fill.fore_color.rgb = _rgb(pptx, code)
                seg.line.fill.background()
            for text, x, align in (
                (f"-{panel.level_text}", box.x, PP_ALIGN.LEFT),
                ("0", box.x + BAR_W / 2 - 0.5, PP_ALIGN.CENTER),
                (f"+{panel.level_text}", box.x + BAR_W - 1.0, PP_ALIGN.RIGHT),
            ):
                lx, ly = at(x, bar_y - BAR_H)
                label = shapes.add_textbox(Emu(lx), Emu(ly), Emu(length(1.0)), Emu(length(0.36)))
                label.name = f"{panel.key}:bar-label"
                _text(label, text, max(6.0, 0.45 * 0.36 * pt_per_cm), "555555", pptx, align=align)
        eq_top = SLIDE_H_IN - MARGIN_IN - EQUATIONS_IN
        box = shapes.add_textbox(
            Emu(round(MARGIN_IN * EMU_PER_IN)),
            Emu(round(eq_top * EMU_PER_IN)),
            Emu(round(avail_w)),
            Emu(round(EQUATIONS_IN * EMU_PER_IN)),
        )
        box.name = "equations"
        frame = box.text_frame
        frame.word_wrap = True
        for n, line in enumerate(slide.lines or ("",)):
            paragraph = frame.paragraphs[0] if n == 0 else frame.add_paragraph()
            run = paragraph.add_run()
            run.text = line
            run.font.size = Pt(11 if len(slide.lines) <= 4 else 9)
            run.font.name = "DejaVu Sans Mono"
            run.font.color.rgb = _rgb(pptx, "1F2328")
        notes = page.notes_slide.notes_text_frame
        notes.text = f"{slide.caption}\n" + "\n".join(slide.lines) + "\n\n" + "; ".join(slide.legend)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()

"""A figure to PNG, SVG and PDF bytes, through one painter (QtGui + QtSvg, no widgets)."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

from PyQt6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSize, QSizeF
from PyQt6.QtGui import QGuiApplication, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter
from PyQt6.QtSvg import QSvgGenerator

from ..textsafe import printable
from .figure import Figure
from .paint import FigurePainter

# Resolution of a PDF page: painter units are scaled so that one figure unit is one point.
PDF_DPI = 1200
# One figure unit is one pixel at 96 dpi (scale 1); PNGs record that density, times the scale.
SCREEN_DPI = 96.0


class _Holder:
    """Keeps the QGuiApplication this module had to create alive for the process."""

    app: QGuiApplication | None = None


def ensure_gui() -> None:
    """Make sure a Qt GUI application exists (text needs one); offscreen when there is no display.

    The window already has its QApplication; headless callers (the command line, scripts)
    get a QGuiApplication on the offscreen platform.
    """
    running = QGuiApplication.instance()
    if isinstance(running, QGuiApplication):
        return
    if running is not None:
        raise RuntimeError("exports paint text and need a QGuiApplication, but a QCoreApplication is running")
    # Exports never need a screen; offscreen works with or without one (an explicit
    # QT_QPA_PLATFORM is respected).
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _Holder.app = QGuiApplication([sys.argv[0] if sys.argv else "visualconv"])


def safe_text(figure: Figure) -> Figure:
    r"""The figure with its text printable: a control character in a model's name is drawn as ``\x1b``.

    Every painted string field (title, caption, equation lines) goes through
    :func:`visualconv.textsafe.printable` before layout, so measured and drawn text agree
    and SVG output stays valid XML (XML 1.0 allows no control characters, even escaped).
    """
    changes: dict[str, Any] = {}
    for item in dataclasses.fields(figure):
        value = getattr(figure, item.name)
        if isinstance(value, str) and not value.isprintable():
            changes[item.name] = printable(value)
        elif isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
            if not all(v.isprintable() for v in value):
                changes[item.name] = tuple(printable(v) for v in value)
    return dataclasses.replace(figure, **changes) if changes else figure


def figure_size(figure: Figure, scale: float = 1.0) -> tuple[int, int]:
    """The (width, height) in pixels of the figure's image at ``scale`` (nothing is painted)."""
    ensure_gui()
    fp = FigurePainter(safe_text(figure))
    return round(fp.width * scale), round(fp.height * scale)


def figure_image(figure: Figure, scale: float = 1.0, size: tuple[int, int] | None = None) -> QImage:
    """Render a figure to an ARGB32 image of (width * scale, height * scale) pixels.

    Parameters
    ----------
    figure : Figure
    scale : float
        2 gives a high-resolution slide image of the same layout.
    size : (int, int), optional
        Force this pixel size (frames of an animation): the figure is drawn from the
        top-left corner on white.

    Returns
    -------
    QImage
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    ensure_gui()
    figure = safe_text(figure)
    fp = FigurePainter(figure)
    width, height = size or (round(fp.width * scale), round(fp.height * scale))
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0xFFFFFFFF)
    dots_per_metre = round(SCREEN_DPI * scale / 0.0254)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    painter = QPainter(image)
    painter.scale(scale, scale)
    fp.paint(painter)
    painter.end()
    return image


def _bytes(buffer: QBuffer) -> bytes:
    return bytes(buffer.data().data())


def image_png(image: QImage) -> bytes:
    """PNG bytes of an image (identical for identical pixels)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("could not encode the PNG")
    buffer.close()
    return bytes(data.data())


def figure_png(figure: Figure, scale: float = 1.0) -> bytes:
    """PNG bytes of a figure at ``scale``."""
    return image_png(figure_image(figure, scale))


def figure_svg(figure: Figure) -> bytes:
    """SVG bytes of a figure: cells as ``<rect>``, numbers and equations as ``<text>``."""
    ensure_gui()
    figure = safe_text(figure)
    fp = FigurePainter(figure)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(round(fp.width), round(fp.height)))
    generator.setViewBox(QRectF(0, 0, round(fp.width), round(fp.height)))
    generator.setResolution(round(SCREEN_DPI))
    generator.setTitle(f"{figure.title}: {figure.caption}")
    generator.setDescription("visualconv snapshot")
    painter = QPainter(generator)
    fp.paint(painter)
    painter.end()
    buffer.close()
    return _bytes(buffer)


def figure_pdf(figure: Figure) -> bytes:
    """PDF bytes of a figure: one page of exactly the figure's size (1 unit = 1 pt), vector."""
    ensure_gui()
    figure = safe_text(figure)
    fp = FigurePainter(figure)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(PDF_DPI)
    writer.setCreator("visualconv")
    writer.setTitle(f"{figure.title}: {figure.caption}")
    page = QPageSize(
        QSizeF(fp.width, fp.height), QPageSize.Unit.Point, "visualconv", QPageSize.SizeMatchPolicy.ExactMatch
    )
    writer.setPageLayout(
        QPageLayout(page, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Point)
    )
    painter = QPainter(writer)
    painter.scale(PDF_DPI / 72.0, PDF_DPI / 72.0)
    fp.paint(painter)
    painter.end()
    buffer.close()
    return _bytes(buffer)

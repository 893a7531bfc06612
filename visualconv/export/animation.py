"""Frames of a pass as an animated GIF (Pillow), with one palette for every frame.

The frames come from one :class:`~visualconv.export.figure.PassStyle`, so they have the
same size and colour scale; the GIF's single palette keeps a value's colour the same in
every frame, so frames compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image
from PyQt6.QtGui import QImage

# Display time of a frame, and of the last frame (the finished gradients).
FRAME_MS = 900
LAST_FRAME_MS = 2500
# Frames sampled to build the shared palette.
PALETTE_SAMPLES = 6


def qimage_to_pil(image: QImage) -> Image.Image:
    """An RGB Pillow image with the pixels of ``image``."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    data = bytes(rgb.constBits().asstring(stride * height))
    return Image.frombuffer("RGB", (width, height), data, "raw", "RGB", stride, 1).copy()


def shared_palette(samples: Sequence[Image.Image]) -> Image.Image:
    """A 256-colour palette image built from a few frames stacked together."""
    width = max(im.width for im in samples)
    height = sum(im.height for im in samples)
    sheet = Image.new("RGB", (width, height), "white")
    y = 0
    for im in samples:
        sheet.paste(im, (0, y))
        y += im.height
    return sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def to_palette(frame: Image.Image, palette: Image.Image) -> Image.Image:
    """``frame`` in the colours of ``palette`` (no dithering: flat cells stay flat)."""
    return frame.quantize(palette=palette, dither=Image.Dither.NONE)


def write_gif(path: Path, frames: Sequence[Image.Image], frame_ms: int = FRAME_MS) -> None:
    """Write paletted frames as a looping GIF; the last frame is held longer."""
    durations = [frame_ms] * len(frames)
    durations[-1] = max(frame_ms, LAST_FRAME_MS)
    frames[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=list(frames[1:]),
        duration=durations,
        loop=0,
        disposal=1,
        optimize=False,
    )

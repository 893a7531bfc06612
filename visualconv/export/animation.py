"""Frames of a pass as an animated GIF (Pillow), with one palette for every frame.

The frames come from one :class:`~visualconv.export.figure.PassStyle`, so they have the
same size and colour scale; the GIF's single palette keeps a value's colour the same in
every frame, so frames compare.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from PyQt6.QtGui import QImage

from ..atomic import write_atomic

# Display time of a frame, and of the last frame (the finished gradients).
FRAME_MS = 900
LAST_FRAME_MS = 2500
# Frames sampled to build the shared palette.
PALETTE_SAMPLES = 8


def qimage_to_pil(image: QImage) -> Image.Image:
    """An RGB Pillow image with the pixels of ``image``."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    bits = rgb.constBits()
    assert bits is not None
    data = bytes(bits.asstring(stride * height))
    return Image.frombuffer("RGB", (width, height), data, "raw", "RGB", stride, 1).copy()


def shared_palette(samples: Sequence[Image.Image]) -> Image.Image:
    """A palette image of the 256 most frequent exact colours of a few frames.

    Flat areas (background, cell fills, text) keep their exact colours; anti-aliased edges
    take the nearest palette colour.
    """
    counts: dict[tuple[int, int, int], int] = {}
    for im in samples:
        for count, rgb in im.convert("RGB").getcolors(maxcolors=im.width * im.height) or []:
            counts[rgb] = counts.get(rgb, 0) + count
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:256]
    flat = [channel for rgb, _ in ranked for channel in rgb]
    flat += flat[-3:] * (256 - len(ranked))
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat)
    return palette


class PaletteMapper:
    """Maps frames to one palette: exact colours exactly, other colours to the nearest entry.

    Pillow's own palette mapping works on a reduced colour cube and would tint flat areas
    (white becomes 252, 252, 252), so the mapping is done here with a lookup table over all
    24-bit colours, filled as new colours appear.

    Parameters
    ----------
    palette : PIL.Image.Image
        A "P" image whose palette is used (see :func:`shared_palette`).
    """

    def __init__(self, palette: Image.Image) -> None:
        self.palette = list(palette.getpalette() or [])[: 3 * 256]
        self.colours = np.asarray(self.palette, dtype=np.int64).reshape(-1, 3)
        self.lut = np.zeros(1 << 24, dtype=np.uint8)
        self.known = np.zeros(1 << 24, dtype=bool)
        codes = (self.colours[:, 0] << 16) | (self.colours[:, 1] << 8) | self.colours[:, 2]
        # first entry wins for duplicated colours
        for i in reversed(range(len(codes))):
            self.lut[codes[i]] = i
        self.known[codes] = True

    def __call__(self, frame: Image.Image) -> Image.Image:
        """The frame as a "P" image in the palette's colours."""
        rgb = np.asarray(frame.convert("RGB"), dtype=np.int32)
        pixels = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        unknown = np.unique(pixels[~self.known[pixels]])
        if unknown.size:
            wanted = np.stack([(unknown >> 16) & 255, (unknown >> 8) & 255, unknown & 255], axis=1)
            distance = ((wanted[:, None, :].astype(np.int64) - self.colours[None, :, :]) ** 2).sum(axis=2)
            self.lut[unknown] = np.argmin(distance, axis=1)
            self.known[unknown] = True
        indices = self.lut[pixels]
        result = Image.frombytes("P", (pixels.shape[1], pixels.shape[0]), indices.tobytes())
        result.putpalette(self.palette)
        return result


def gif_bytes(frames: Sequence[Image.Image], frame_ms: int = FRAME_MS) -> bytes:
    """Paletted frames as the bytes of a looping GIF; the last frame is held longer."""
    buffer = io.BytesIO()
    durations = [frame_ms] * len(frames)
    durations[-1] = max(frame_ms, LAST_FRAME_MS)
    frames[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=list(frames[1:]),
        duration=durations,
        loop=0,
        disposal=1,
        optimize=False,
    )
    return buffer.getvalue()


def write_gif(path: Path, frames: Sequence[Image.Image], frame_ms: int = FRAME_MS) -> None:
    """Write paletted frames as a looping GIF, atomically (see :mod:`visualconv.atomic`)."""
    write_atomic(path, gif_bytes(frames, frame_ms))

"""Frames of a pass as an animated GIF (Pillow), with one palette for every frame.

The frames come from one :class:`~visualconv.export.figure.PassStyle`, so they have the
same size and colour scale; the GIF's single palette keeps a value's colour the same in
every frame, so frames compare. Frames are RGB arrays of shape (h, w, 3), uint8.

A frame after the first stores only the pixels that changed: the others are the
palette's transparent entry over the previous frame (disposal 1), so a step that moves a
window and changes a few cells costs a few kilobytes, not a whole picture.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image
from PyQt6.QtGui import QImage

# Display time of a frame, and of the last frame (the finished gradients).
FRAME_MS = 900
LAST_FRAME_MS = 2500
# Frames sampled to build the shared palette.
PALETTE_SAMPLES = 8
# Palette entries for colours; the last entry of the 256 is the transparent "unchanged".
COLOURS = 255
TRANSPARENT = 255


def qimage_rgb(image: QImage) -> np.ndarray:
    """The pixels of ``image`` as an RGB array of shape (h, w, 3), uint8 (a copy)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    bits = rgb.constBits()
    assert bits is not None
    bits.setsize(stride * height)
    rows = np.frombuffer(bits, dtype=np.uint8).reshape(height, stride)
    return rows[:, : 3 * width].reshape(height, width, 3).copy()


def qimage_codes(image: QImage) -> np.ndarray:
    """24-bit colour codes ``0xRRGGBB`` of an opaque image, shape (h, w), uint32 (a copy)."""
    rgb32 = image.convertToFormat(QImage.Format.Format_RGB32)
    width, height, stride = rgb32.width(), rgb32.height(), rgb32.bytesPerLine()
    bits = rgb32.constBits()
    assert bits is not None
    bits.setsize(stride * height)
    rows = np.frombuffer(bits, dtype=np.uint32).reshape(height, stride // 4)
    return rows[:, :width] & np.uint32(0xFFFFFF)


def qimage_to_pil(image: QImage) -> Image.Image:
    """An RGB Pillow image with the pixels of ``image``."""
    return Image.fromarray(qimage_rgb(image), "RGB")


def _codes(rgb: np.ndarray) -> np.ndarray:
    """24-bit colour codes of an RGB array, shape (h, w), int32."""
    a = rgb.astype(np.int32)
    return (a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]


def shared_palette(samples: Sequence[np.ndarray], colours: int = COLOURS) -> list[int]:
    """The ``colours`` most frequent exact colours of a few frames, as a flat RGB list.

    Flat areas (background, cell fills, text) keep their exact colours; anti-aliased edges
    take the nearest palette colour.

    Parameters
    ----------
    samples : sequence of ndarray
        RGB frames (h, w, 3) uint8, or their colour codes (h, w) (:func:`qimage_codes`).
    colours : int

    Returns
    -------
    list of int
        ``3 * colours`` values (padded by repeating the last colour).
    """
    flat_codes = [(_codes(s) if s.ndim == 3 else s).ravel() for s in samples]
    codes, counts = np.unique(np.concatenate(flat_codes), return_counts=True)
    order = np.lexsort((codes, -counts))[:colours]
    ranked = codes[order]
    flat = [int(v) for c in ranked for v in ((c >> 16) & 255, (c >> 8) & 255, c & 255)]
    flat += flat[-3:] * (colours - len(ranked))
    return flat


class PaletteMapper:
    """Maps frames to one palette: exact colours exactly, other colours to the nearest entry.

    Pillow's own palette mapping works on a reduced colour cube and would tint flat areas
    (white becomes 252, 252, 252), so the mapping is done here with a lookup table over all
    24-bit colours, filled as new colours appear.

    Parameters
    ----------
    palette : list of int
        A flat RGB palette (see :func:`shared_palette`).
    """

    UNKNOWN = 0xFFFF

    def __init__(self, palette: Sequence[int]) -> None:
        self.palette = list(palette)
        self.colours = np.asarray(self.palette, dtype=np.int64).reshape(-1, 3)
        self.lut = np.full(1 << 24, self.UNKNOWN, dtype=np.uint16)
        codes = (self.colours[:, 0] << 16) | (self.colours[:, 1] << 8) | self.colours[:, 2]
        # first entry wins for duplicated colours
        for i in reversed(range(len(codes))):
            self.lut[codes[i]] = i

    def indices(self, frame: np.ndarray) -> np.ndarray:
        """Palette indices of an RGB frame (h, w, 3) or of its colour codes (h, w), uint8."""
        pixels = _codes(frame) if frame.ndim == 3 else frame
        found = self.lut[pixels]
        unknown_mask = found == self.UNKNOWN
        if unknown_mask.any():
            unknown = np.unique(pixels[unknown_mask])
            wanted = np.stack([(unknown >> 16) & 255, (unknown >> 8) & 255, unknown & 255], axis=1)
            distance = ((wanted[:, None, :].astype(np.int64) - self.colours[None, :, :]) ** 2).sum(axis=2)
            self.lut[unknown] = np.argmin(distance, axis=1)
            found = self.lut[pixels]
        return found.astype(np.uint8)

    def image(self, indices: np.ndarray) -> Image.Image:
        """A "P" image of palette indices (a PNG of it is exact and small)."""
        result = Image.fromarray(indices, "P")
        result.putpalette(self.palette)
        return result


def gif_frames(mapper: PaletteMapper, frames: Sequence[np.ndarray]) -> list[Image.Image]:
    """GIF frames: the first whole, each later one only where it differs from the one before."""
    palette = [*mapper.palette[: 3 * COLOURS], 255, 255, 255]
    images = []
    previous: np.ndarray | None = None
    for indices in frames:
        stored = indices
        if previous is not None:
            stored = indices.copy()
            stored[indices == previous] = TRANSPARENT
        previous = indices
        image = Image.fromarray(stored, "P")
        image.putpalette(palette)
        image.info["transparency"] = TRANSPARENT
        images.append(image)
    return images


def gif_bytes(mapper: PaletteMapper, frames: Sequence[np.ndarray], frame_ms: int = FRAME_MS) -> bytes:
    """Frames of palette indices as a looping GIF; the last frame is held longer.

    Parameters
    ----------
    mapper : PaletteMapper
        The palette the indices refer to (at most 255 colours).
    frames : sequence of ndarray of shape (h, w), uint8
    frame_ms : int

    Returns
    -------
    bytes
    """
    images = gif_frames(mapper, frames)
    durations = [frame_ms] * len(images)
    durations[-1] = max(frame_ms, LAST_FRAME_MS)
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=durations,
        loop=0,
        disposal=1,
        transparency=TRANSPARENT,
        optimize=False,
    )
    return buffer.getvalue()

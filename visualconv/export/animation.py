"""Frames of a pass as an animated GIF (Pillow), with one palette for every frame.

The frames come from one :class:`~visualconv.export.figure.PassStyle`, so they have the
same size and colour scale; the GIF's single palette keeps a value's colour the same in
every frame, so frames compare. Frames are RGB arrays of shape (h, w, 3), uint8.

A frame after the first stores only the rectangle around the pixels that changed, the
unchanged ones in it the palette's transparent entry over the previous frame (disposal 1),
so a step that moves a window and changes a few cells costs a few kilobytes, not a whole
picture. :class:`GifStream` writes a GIF a frame at a time (Pillow's own ``save_all``
keeps every frame until the end, so each frame is encoded by Pillow as a one-frame GIF
and its image block appended to the file).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from PyQt6.QtGui import QImage

from ..engine.errors import Message, ModelError
from .files import Stream

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


def colour_counts(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct colour codes of one frame and how often each occurs (both 1-D, sorted by code).

    Parameters
    ----------
    frame : ndarray
        An RGB frame (h, w, 3) uint8, or its colour codes (h, w) (:func:`qimage_codes`).
    """
    codes, counts = np.unique((_codes(frame) if frame.ndim == 3 else frame).ravel(), return_counts=True)
    return codes.astype(np.int64), counts.astype(np.int64)


def shared_palette(
    samples: Sequence[np.ndarray] | Iterable[tuple[np.ndarray, np.ndarray]], colours: int = COLOURS
) -> list[int]:
    """The ``colours`` most frequent exact colours of a few frames, as a flat RGB list.

    Flat areas (background, cell fills, text) keep their exact colours; anti-aliased edges
    take the nearest palette colour (ties: the lower code first).

    Parameters
    ----------
    samples : sequence of ndarray, or iterable of (codes, counts)
        RGB frames (h, w, 3) uint8 or their colour codes (h, w) (:func:`qimage_codes`), or
        each frame's :func:`colour_counts` (so that a frame's pixels need not be kept).
    colours : int

    Returns
    -------
    list of int
        ``3 * colours`` values (padded by repeating the last colour).
    """
    counted = [colour_counts(s) if isinstance(s, np.ndarray) else s for s in samples]
    codes, where = np.unique(np.concatenate([c for c, _ in counted]), return_inverse=True)
    counts = np.zeros(codes.size, dtype=np.int64)
    np.add.at(counts, where, np.concatenate([n for _, n in counted]))
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


def _gif_blocks(data: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """The parts of a one-frame GIF: header and screen, colour table, image descriptor, image data.

    The colour table is the global one, or else the frame's own.
    """
    packed = data[10]
    position = 13
    table = b""
    if packed & 0x80:
        table = data[13 : 13 + (3 << ((packed & 7) + 1))]
        position += len(table)
    while data[position] == 0x21:  # an extension: its label, then sub-blocks to an empty one
        position += 2
        while data[position]:
            position += data[position] + 1
        position += 1
    if data[position] != 0x2C:
        raise ValueError("not a one-frame GIF")
    descriptor = data[position : position + 10]
    position += 10
    if descriptor[9] & 0x80:
        table = data[position : position + (3 << ((descriptor[9] & 7) + 1))]
        position += len(table)
    start = position
    position += 1  # the LZW code size, then sub-blocks to an empty one
    while data[position]:
        position += data[position] + 1
    return data[:13], table, descriptor, data[start : position + 1]


class GifStream(Stream):
    """A looping GIF of palette indices written as frames come; the last frame held longer.

    The first frame is stored whole, each later one as the rectangle where it differs from
    the one before (unchanged pixels in it transparent, disposal 1); a frame equal to the
    one before lengthens that one's time. Only the previous frame's indices and the encoded
    frame waiting for its time are held.

    Parameters
    ----------
    path : str or Path
    mapper : PaletteMapper
        The palette the indices refer to (at most 255 colours).
    frame_ms : int
    follow_symlinks : bool
    """

    def __init__(
        self,
        path: str | Path,
        mapper: PaletteMapper,
        frame_ms: int = FRAME_MS,
        *,
        follow_symlinks: bool = False,
    ) -> None:
        super().__init__(path, follow_symlinks)
        self.palette = [*mapper.palette[: 3 * COLOURS], 255, 255, 255]
        self.frame_ms = frame_ms
        self.handle = self._stack.enter_context(open(self.tmp, "wb"))
        self._table = b""
        self._previous: np.ndarray | None = None
        self._waiting: tuple[bytes, int] | None = None  # a frame's block and its time in ms

    def _encode(self, stored: np.ndarray) -> tuple[bytes, bytes, bytes, bytes]:
        image = Image.fromarray(np.ascontiguousarray(stored), "P")
        image.putpalette(self.palette)
        buffer = io.BytesIO()
        image.save(buffer, format="GIF", transparency=TRANSPARENT, optimize=False)
        return _gif_blocks(buffer.getvalue())

    def _add(self, indices: np.ndarray) -> None:
        """Add a frame of palette indices, shape (h, w), uint8 (all frames of one size)."""
        previous = self._previous
        left = top = 0
        if previous is None:
            screen, table, descriptor, body = self._encode(indices)
            self._table = table
            loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop for ever
            self.handle.write(screen + table + loop)
        else:
            if indices.shape != previous.shape:
                raise ValueError(f"frames of a GIF have one size, {previous.shape}, not {indices.shape}")
            changed = indices != previous
            rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
            if rows.size == 0:
                assert self._waiting is not None
                self._waiting = (self._waiting[0], self._waiting[1] + self.frame_ms)
                self.count += 1
                return
            top, left = int(rows[0]), int(cols[0])
            box = np.s_[top : int(rows[-1]) + 1, left : int(cols[-1]) + 1]
            stored = indices[box].copy()
            stored[~changed[box]] = TRANSPARENT
            _, table, descriptor, body = self._encode(stored)
        self._previous = indices
        flags, local = descriptor[9] & 0x40, b""  # interlaced as Pillow made it
        if table != self._table:
            flags, local = flags | 0x80 | ((len(table) // 3).bit_length() - 2), table  # its own colours
        place = left.to_bytes(2, "little") + top.to_bytes(2, "little") + descriptor[5:9]
        block = b"\x2c" + place + bytes([flags]) + local + body
        self._flush()
        self._waiting = (block, self.frame_ms)
        self.count += 1

    def _flush(self, last: bool = False) -> None:
        if self._waiting is None:
            return
        block, ms = self._waiting
        if last:
            ms += max(self.frame_ms, LAST_FRAME_MS) - self.frame_ms
        delay = int(ms / 10)  # hundredths of a second, as Pillow writes them
        control = b"\x21\xf9\x04" + bytes([0x04 | 0x01]) + delay.to_bytes(2, "little")  # disposal 1
        self.handle.write(control + bytes([TRANSPARENT, 0]) + block)
        self._waiting = None

    def _close(self) -> None:
        if self._waiting is None:
            raise ModelError(Message("a GIF needs at least one frame"))
        self._flush(last=True)
        self.handle.write(b"\x3b")
        self.handle.flush()

    def _drop(self) -> None:
        self._waiting = None
        self._previous = None

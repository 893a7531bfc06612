"""Frames of a pass as video: MP4 (H.264, through imageio-ffmpeg) and APNG (Pillow).

Both take the same RGB frames as the GIF (one size, one colour scale), one at a time as
they are rendered (a frame is written before the next is made, so an animation of many
steps needs the memory of one or two frames, not of all), and show each for
``frame_ms``, holding the last (the finished gradients) at least
:data:`~visualconv.export.animation.LAST_FRAME_MS`. MP4 needs even dimensions (H.264 in
yuv420p): frames are padded on the right and bottom with white. An MP4 has one frame
rate, so the hold is the last frame repeated; :func:`mp4_frame_count` says how many
frames the file has. imageio-ffmpeg's wheel brings its own ffmpeg (install
``visualconv[video]``); the APNG needs only Pillow.
"""

from __future__ import annotations

import contextlib
import io
import math
import subprocess
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from ..engine.errors import Message, ModelError
from .animation import FRAME_MS, LAST_FRAME_MS
from .files import Stream


def hold_frames(frame_ms: int) -> int:
    """How many frames of ``frame_ms`` the last step of an MP4 lasts (at least the hold)."""
    return max(1, math.ceil(max(frame_ms, LAST_FRAME_MS) / frame_ms - 1e-9))


def mp4_frame_count(steps: int, frame_ms: int = FRAME_MS) -> int:
    """Frames in an MP4 of ``steps`` steps: one per step, the last repeated for the hold."""
    return steps - 1 + hold_frames(frame_ms)


def even_size(width: int, height: int) -> tuple[int, int]:
    """The even (width, height) an MP4 of frames of this size has."""
    return width + width % 2, height + height % 2


def _even(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    eh, ew = h + h % 2, w + w % 2
    if (eh, ew) == (h, w):
        return np.ascontiguousarray(frame)
    out = np.full((eh, ew, 3), 255, dtype=np.uint8)
    out[:h, :w] = frame
    return out


def ffmpeg_exe() -> str:
    """The ffmpeg that imageio-ffmpeg's wheel brings (a clear error when it is not installed)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ModelError(
            Message(
                "MP4 export needs imageio-ffmpeg: pip install 'visualconv[video]' (its wheel brings ffmpeg)"
            )
        ) from None
    return str(imageio_ffmpeg.get_ffmpeg_exe())


class Mp4Stream(Stream):
    """An MP4 written as frames come: each raw RGB frame piped into ffmpeg (libx264, yuv420p).

    The frames must all have one size; the last is repeated for the hold
    (:func:`hold_frames`). Only the frame waiting for its successor is held here; ffmpeg
    holds its own (:data:`visualconv.export.api.FFMPEG_BYTES`).
    """

    def __init__(self, path: str | Path, frame_ms: int = FRAME_MS, *, follow_symlinks: bool = False) -> None:
        self.exe = ffmpeg_exe()
        super().__init__(path, follow_symlinks)
        self.frame_ms = frame_ms
        self.log = self._stack.enter_context(tempfile.TemporaryFile())
        self.process: subprocess.Popen[bytes] | None = None
        self.size: tuple[int, int] | None = None
        self._waiting: bytes | None = None
        self._broken = False

    def _start(self, frame: np.ndarray) -> subprocess.Popen[bytes]:
        h, w = frame.shape[:2]
        width, height = even_size(w, h)
        self.size = (w, h)
        command = [
            self.exe, "-y", "-hide_banner", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
            "-framerate", f"{1000.0 / self.frame_ms:.6g}", "-i", "-",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18", "-preset", "veryfast",
            "-tune", "stillimage", "-movflags", "+faststart", "-f", "mp4", str(self.tmp),
        ]  # fmt: skip
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.log)

    def _send(self, data: bytes, times: int = 1) -> None:
        assert self.process is not None and self.process.stdin is not None
        if self._broken:
            return
        try:
            for _ in range(times):
                self.process.stdin.write(data)
        except BrokenPipeError:
            self._broken = True  # ffmpeg stopped: its message is in the log

    def _add(self, frame: np.ndarray) -> None:
        """Send the frame before this one to ffmpeg and keep this one (it may be the last)."""
        if self.process is None:
            self.process = self._start(frame)
        elif (frame.shape[1], frame.shape[0]) != self.size:
            raise ValueError(f"frames of an MP4 have one size, {self.size}, not {frame.shape[1::-1]}")
        if self._waiting is not None:
            self._send(self._waiting)
        self._waiting = _even(frame).tobytes()
        self.count += 1

    def _close(self) -> None:
        if self.process is None:
            raise ModelError(Message("an MP4 needs at least one frame"))
        assert self.process.stdin is not None
        if self._waiting is not None:
            self._send(self._waiting, hold_frames(self.frame_ms))
            self._waiting = None
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        code = self.process.wait()
        if code != 0:
            self.log.seek(0)
            message = self.log.read().decode("utf-8", "replace").strip().splitlines()
            raise OSError(f"ffmpeg could not write the MP4: {message[-1] if message else f'exit {code}'}")

    def _drop(self) -> None:
        self._waiting = None
        if self.process is not None and self.process.returncode is None:
            self.process.kill()  # a cancel or a fault while rendering: nothing of this file stays
            with contextlib.suppress(OSError):
                if self.process.stdin is not None:
                    self.process.stdin.close()
            self.process.wait()


def write_mp4(
    path: str | Path, frames: Iterable[np.ndarray], frame_ms: int = FRAME_MS, *, follow_symlinks: bool = False
) -> Path:
    """Write RGB frames as an H.264 MP4 (:class:`Mp4Stream`); the last frame is held longer.

    The frames are piped raw into imageio-ffmpeg's ffmpeg (libx264, yuv420p, no resizing)
    as they come: an iterator of frames is consumed one frame ahead, never held whole.

    Parameters
    ----------
    path : str or Path
    frames : iterable of ndarray of shape (h, w, 3), uint8
        All of one size.
    frame_ms : int

    Returns
    -------
    Path
    """
    with Mp4Stream(path, frame_ms, follow_symlinks=follow_symlinks) as stream:
        for frame in frames:
            stream.add(frame)
    return stream.path


def _chunk(kind: bytes, body: bytes) -> bytes:
    """A PNG chunk: length, type, data, CRC."""
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, data) of every chunk of a PNG file's bytes."""
    position = 8
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        yield data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        position += 12 + length


def _frame_png(frame: np.ndarray) -> list[tuple[bytes, bytes]]:
    """The chunks of one frame encoded as a PNG by Pillow (RGB, compression level 6)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame), "RGB").save(buffer, format="PNG", compress_level=6)
    return list(_png_chunks(buffer.getvalue()))


class ApngStream(Stream):
    """A looping animated PNG (lossless) written as frames come, the last held longer.

    Each frame is encoded (as its own PNG, whose image data becomes the frame's) when it
    is added; its chunks wait in memory (compressed) until the next frame says whether it
    was the last. Every frame is stored whole (no disposal, no blending), one per step.
    """

    def __init__(self, path: str | Path, frame_ms: int = FRAME_MS, *, follow_symlinks: bool = False) -> None:
        super().__init__(path, follow_symlinks)
        self.frame_ms = frame_ms
        self.handle = self._stack.enter_context(open(self.tmp, "wb"))
        self._sequence = 0
        self._actl_at = 0
        self._header = b""
        self._waiting: list[tuple[bytes, bytes]] | None = None

    def _add(self, frame: np.ndarray) -> None:
        """Encode the frame; write the one before it."""
        chunks = _frame_png(frame)
        header = dict(chunks)[b"IHDR"]
        if self.count == 0:
            self._header = header
            self.handle.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header))
            self._actl_at = self.handle.tell()
            self.handle.write(_chunk(b"acTL", (0).to_bytes(4, "big") * 2))  # the count is written at the end
        elif header[:8] != self._header[:8]:
            raise ValueError("frames of an APNG have one size")
        if self._waiting is not None:
            self._write(self._waiting, self.frame_ms, self.count == 1)
        self._waiting = chunks
        self.count += 1

    def _write(self, chunks: list[tuple[bytes, bytes]], delay: int, first: bool) -> None:
        control = self._sequence.to_bytes(4, "big") + self._header[:8] + bytes(8)
        control += delay.to_bytes(2, "big") + (1000).to_bytes(2, "big") + bytes(2)
        self.handle.write(_chunk(b"fcTL", control))
        self._sequence += 1
        for kind, body in chunks:
            if kind != b"IDAT":
                continue
            if first:
                self.handle.write(_chunk(b"IDAT", body))
            else:
                self.handle.write(_chunk(b"fdAT", self._sequence.to_bytes(4, "big") + body))
                self._sequence += 1
        self.handle.flush()  # the frame is in the file before the next is made

    def _close(self) -> None:
        if self._waiting is None:
            raise ModelError(Message("an APNG needs at least one frame"))
        self._write(self._waiting, max(self.frame_ms, LAST_FRAME_MS), self.count == 1)
        self._waiting = None
        self.handle.write(_chunk(b"IEND", b""))
        self.handle.seek(self._actl_at)
        self.handle.write(_chunk(b"acTL", self.count.to_bytes(4, "big") + (0).to_bytes(4, "big")))  # loops
        self.handle.flush()

    def _drop(self) -> None:
        self._waiting = None


def write_apng(
    path: str | Path, frames: Iterable[np.ndarray], frame_ms: int = FRAME_MS, *, follow_symlinks: bool = False
) -> Path:
    """Write RGB frames as a looping animated PNG (:class:`ApngStream`), the last held longer.

    Each frame is encoded and the one before it written before the next is taken: an
    iterator of frames is never held whole.

    Parameters
    ----------
    path : str or Path
    frames : iterable of ndarray of shape (h, w, 3), uint8
        All of one size.
    frame_ms : int

    Returns
    -------
    Path
    """
    with ApngStream(path, frame_ms, follow_symlinks=follow_symlinks) as stream:
        for frame in frames:
            stream.add(frame)
    return stream.path

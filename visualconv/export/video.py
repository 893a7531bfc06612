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
import itertools
import math
import os
import subprocess
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from .. import atomic
from ..engine.errors import ModelError
from .animation import FRAME_MS, LAST_FRAME_MS


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


@contextlib.contextmanager
def atomic_target(path: Path, follow_symlinks: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) for a library to write; renamed on success.

    The same rules and messages as :func:`visualconv.atomic.write_atomic`: a symbolic link
    only with ``follow_symlinks``, the folder must exist, a failure leaves the old file and
    raises :class:`~visualconv.atomic.WriteError` naming ``path``.
    """
    target = atomic.resolve_target(path, follow_symlinks=follow_symlinks)
    existed = target.exists()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    except OSError as exc:
        raise atomic.WriteError(str(path), atomic.reason(exc), existed, exc.errno) from None
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise atomic.WriteError(str(path), atomic.reason(exc), existed, exc.errno) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def ffmpeg_exe() -> str:
    """The ffmpeg that imageio-ffmpeg's wheel brings (a clear error when it is not installed)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ModelError(
            "MP4 export needs imageio-ffmpeg: pip install 'visualconv[video]' (its wheel brings ffmpeg)"
        ) from None
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _with_last(frames: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, bool]]:
    """Each frame with whether it is the last (one frame of look-ahead)."""
    iterator = iter(frames)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        yield current, following is None
        current = following


def write_mp4(
    path: str | Path, frames: Iterable[np.ndarray], frame_ms: int = FRAME_MS, *, follow_symlinks: bool = False
) -> Path:
    """Write RGB frames (h, w, 3) uint8 as an H.264 MP4 of ``1000 / frame_ms`` frames per second.

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
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ModelError("an MP4 needs at least one frame")
    exe = ffmpeg_exe()
    path = Path(path)
    h, w = first.shape[:2]
    width, height = even_size(w, h)
    with atomic_target(path, follow_symlinks) as tmp, tempfile.TemporaryFile() as log:
        command = [
            exe, "-y", "-hide_banner", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
            "-framerate", f"{1000.0 / frame_ms:.6g}", "-i", "-",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18", "-preset", "veryfast",
            "-tune", "stillimage", "-movflags", "+faststart", "-f", "mp4", str(tmp),
        ]  # fmt: skip
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        assert process.stdin is not None
        try:
            for frame, last in _with_last(itertools.chain([first], iterator)):
                data = _even(frame).tobytes()
                for _ in range(hold_frames(frame_ms) if last else 1):
                    process.stdin.write(data)
        except BrokenPipeError:
            pass  # ffmpeg stopped: its message is in the log
        except BaseException:
            process.kill()  # a cancel or a fault while rendering: nothing of this file stays
            raise
        finally:
            process.stdin.close()
            code = process.wait()
        if code != 0:
            log.seek(0)
            message = log.read().decode("utf-8", "replace").strip().splitlines()
            raise OSError(f"ffmpeg could not write the MP4: {message[-1] if message else f'exit {code}'}")
    return path


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


def write_apng(
    path: str | Path, frames: Iterable[np.ndarray], frame_ms: int = FRAME_MS, *, follow_symlinks: bool = False
) -> Path:
    """Write RGB frames as a looping animated PNG (lossless), the last held longer.

    Each frame is encoded (as its own PNG, whose image data becomes the frame's) and written
    before the next is taken: an iterator of frames is never held whole. Every frame is
    stored whole (no disposal, no blending), one per step.

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
    iterator = _with_last(frames)
    path = Path(path)
    with atomic_target(path, follow_symlinks) as tmp, open(tmp, "wb") as handle:
        sequence = 0
        count = 0
        actl_at = 0
        for frame, last in iterator:
            chunks = _frame_png(frame)
            header = dict(chunks)[b"IHDR"]
            if count == 0:
                handle.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header))
                actl_at = handle.tell()
                handle.write(_chunk(b"acTL", (0).to_bytes(4, "big") * 2))  # the count is written at the end
            delay = max(frame_ms, LAST_FRAME_MS) if last else frame_ms
            control = sequence.to_bytes(4, "big") + header[:8] + bytes(8)
            control += delay.to_bytes(2, "big") + (1000).to_bytes(2, "big") + bytes(2)
            handle.write(_chunk(b"fcTL", control))
            sequence += 1
            for kind, body in chunks:
                if kind != b"IDAT":
                    continue
                if count == 0:
                    handle.write(_chunk(b"IDAT", body))
                else:
                    handle.write(_chunk(b"fdAT", sequence.to_bytes(4, "big") + body))
                    sequence += 1
            count += 1
            handle.flush()  # the frame is in the file before the next is made
        if count == 0:
            raise ModelError("an APNG needs at least one frame")
        handle.write(_chunk(b"IEND", b""))
        handle.seek(actl_at)
        handle.write(_chunk(b"acTL", count.to_bytes(4, "big") + (0).to_bytes(4, "big")))  # loops for ever
    return path

"""Frames of a pass as video: MP4 (H.264, through imageio-ffmpeg) and APNG (Pillow).

Both take the same RGB frames as the GIF (one size, one colour scale) and show each for
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
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
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


def write_mp4(
    path: str | Path, frames: Sequence[np.ndarray], frame_ms: int = FRAME_MS, *, follow_symlinks: bool = False
) -> Path:
    """Write RGB frames (h, w, 3) uint8 as an H.264 MP4 of ``1000 / frame_ms`` frames per second.

    The frames are piped raw into imageio-ffmpeg's ffmpeg (libx264, yuv420p, no resizing).

    Parameters
    ----------
    path : str or Path
    frames : sequence of ndarray of shape (h, w, 3), uint8
        All of one size.
    frame_ms : int

    Returns
    -------
    Path
    """
    if not frames:
        raise ModelError("an MP4 needs at least one frame")
    exe = ffmpeg_exe()
    path = Path(path)
    h, w = frames[0].shape[:2]
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
            last = len(frames) - 1
            for k, frame in enumerate(frames):
                data = _even(frame).tobytes()
                for _ in range(hold_frames(frame_ms) if k == last else 1):
                    process.stdin.write(data)
        except BrokenPipeError:
            pass  # ffmpeg stopped: its message is in the log
        finally:
            process.stdin.close()
            code = process.wait()
        if code != 0:
            log.seek(0)
            message = log.read().decode("utf-8", "replace").strip().splitlines()
            raise OSError(f"ffmpeg could not write the MP4: {message[-1] if message else f'exit {code}'}")
    return path


def write_apng(
    path: str | Path, frames: Sequence[np.ndarray], frame_ms: int = FRAME_MS, *, follow_symlinks: bool = False
) -> Path:
    """Write RGB frames as a looping animated PNG (lossless), the last held longer.

    Parameters
    ----------
    path : str or Path
    frames : sequence of ndarray of shape (h, w, 3), uint8
    frame_ms : int

    Returns
    -------
    Path
    """
    if not frames:
        raise ModelError("an APNG needs at least one frame")
    path = Path(path)
    images = [Image.fromarray(np.ascontiguousarray(f), "RGB") for f in frames]
    durations = [frame_ms] * len(images)
    durations[-1] = max(frame_ms, LAST_FRAME_MS)
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="PNG",
        save_all=True,
        append_images=images[1:],
        duration=durations,
        loop=0,
        disposal=0,
        blend=0,
        compress_level=6,
    )
    atomic.write_atomic(path, buffer.getvalue(), follow_symlinks=follow_symlinks)
    return path

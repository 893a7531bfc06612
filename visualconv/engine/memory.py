"""Keep freed array memory for reuse instead of handing it back to the operating system.

The engine returns fresh arrays of the same few sizes on every call (a layer's output,
its gradients). glibc's allocator serves any request of its current *mmap threshold* or
more with fresh pages from the system and unmaps them again on free; that threshold
rises only to the size of the largest block freed so far, so a block of exactly that size
keeps getting fresh pages. Touching a fresh page costs a page fault and zeroing by the
kernel (microseconds per 4 KiB), so a 3 MB output paid more for its memory than for its
arithmetic: a 64x1x28x28 -> 8 convolution took 3.0 ms instead of 0.56 ms.

:func:`reuse_freed_memory` raises both thresholds once, so blocks below 64 MiB come from
the heap and freed memory stays there for the next call. Importing visualconv never
calls it (a notebook that also runs PyTorch keeps the allocator it chose): the entry
points do, ``visualconv.cli.main`` (every command, the window among them) and
``visualconv.app.main.run_app``; a script that wants the engine's speed calls it itself.
Setting the environment variable ``VISUALCONV_SYSTEM_MALLOC=1`` makes it leave the
allocator as the process set it. Other C libraries (glibc is Linux's) are left alone.
:func:`tuned` tells whether it has tuned the allocator in this process.
"""

from __future__ import annotations

import ctypes
import os
import platform

# mallopt parameters of glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# Blocks below this come from the heap (glibc's default starts at 128 KiB).
MMAP_THRESHOLD_BYTES = 64 << 20
# Free memory at the top of the heap beyond this goes back to the system.
TRIM_THRESHOLD_BYTES = 256 << 20

_done = False


def tuned() -> bool:
    """Whether :func:`reuse_freed_memory` has tuned the allocator in this process."""
    return _done


def reuse_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process.

    Returns
    -------
    bool
        Whether the allocator was tuned (now or by an earlier call): False on other C
        libraries, when glibc refused, or when ``VISUALCONV_SYSTEM_MALLOC`` is set.
    """
    global _done
    if _done:
        return True
    if os.environ.get("VISUALCONV_SYSTEM_MALLOC", "").strip() not in ("", "0"):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # pragma: no cover - a glibc without mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; setting the mmap threshold also stops glibc moving it.
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
    return _done


# What :func:`reserve` touches at most: enough for the steps and dA_prev checkpoints a trace
# keeps of a mid-sized layer (17 of 8.5 MB at 256x256x16), little enough for an idle moment.
RESERVE_BYTES = 160 << 20
# Blocks larger than this are not reserved (a 512x512 layer's 33 MB steps: its show is slow
# enough without a quarter of a second more right after it).
RESERVE_BLOCK_BYTES = 24 << 20


def reserve(block_bytes: int, count: int) -> int:
    """Touch ``count`` blocks of ``block_bytes`` once and free them, for the allocations that follow.

    Touching fresh memory is the slow part of making a large array (on some virtual
    machines 1-2 ms per MB, many times the copy into it): a trace's first steps each make
    one more full-size array until its step cache is full, and were four times slower
    than the steps after them. Freed, these blocks stay in the heap (the thresholds of
    :func:`reuse_freed_memory`) and serve those arrays. Call it when idle.

    Parameters
    ----------
    block_bytes : int
        The size of one block (a step's largest array).
    count : int
        How many blocks; at most :data:`RESERVE_BYTES` in all are touched, and nothing
        when the allocator is not tuned or a block is over :data:`RESERVE_BLOCK_BYTES`.

    Returns
    -------
    int
        The bytes touched.
    """
    if not _done or block_bytes <= 0 or block_bytes > RESERVE_BLOCK_BYTES:
        return 0
    count = min(count, RESERVE_BYTES // block_bytes)
    if count < 1:
        return 0
    import numpy as np  # the module stays importable without NumPy's import cost

    blocks = [np.ones(block_bytes // 8) for _ in range(count)]  # written: the pages are touched
    touched = sum(int(b.nbytes) for b in blocks)
    del blocks
    return touched

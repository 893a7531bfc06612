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

"""The allocator setting: never on import, once by the entry points on glibc, skippable by environment.

The observable is glibc's own: a 48 MiB ``malloc`` is served by ``mmap`` under glibc's
defaults (its dynamic mmap threshold never rises above 32 MiB), and from the heap once
the threshold is raised to 64 MiB. ``mallinfo2().hblkhd`` (bytes in mmapped blocks)
tells which happened.
"""

from __future__ import annotations

import ctypes
import os
import platform
import subprocess
import sys

import pytest

import visualconv
from visualconv.engine import memory

ON_GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
HAS_MALLINFO2 = ON_GLIBC and hasattr(ctypes.CDLL(None), "mallinfo2")

# The start of a probe run in a fresh process: glibc's mallinfo2() as libc.mallinfo2.
MALLINFO = """
import ctypes, sys
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
"""

# Prints whether a 48 MiB block came from mmap, and memory.tuned().
PROBE = (
    MALLINFO
    + """
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
{setup}
import visualconv.engine.memory as memory
before = libc.mallinfo2().hblkhd
block = libc.malloc(48 << 20)
mapped = libc.mallinfo2().hblkhd - before >= 48 << 20
libc.free(block)
print("mmap" if mapped else "heap", memory.tuned())
"""
)


def _probe(setup: str, extra_env: dict[str, str] | None = None) -> str:
    env = {**os.environ, "VISUALCONV_SYSTEM_MALLOC": "", **(extra_env or {})}
    code = PROBE.format(setup=setup)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


@pytest.mark.skipif(not HAS_MALLINFO2, reason="the probe needs glibc's mallinfo2")
def test_importing_visualconv_leaves_malloc_alone():
    setup = (
        "import visualconv, visualconv.engine.trace, visualconv.modelfile, visualconv.cli, visualconv.export"
    )
    assert _probe(setup) == "mmap False"


@pytest.mark.skipif(not HAS_MALLINFO2, reason="the probe needs glibc's mallinfo2")
def test_the_entry_point_tunes_malloc_and_the_probe_sees_it():
    setup = "from visualconv.cli import main; main(['--version'])"
    assert _probe(setup) == f"visualconv {visualconv.__version__}\nheap True"


@pytest.mark.skipif(not HAS_MALLINFO2, reason="the probe needs glibc's mallinfo2")
def test_the_environment_keeps_the_entry_point_off_the_allocator():
    setup = "from visualconv.cli import main; main(['--version'])"
    assert (
        _probe(setup, {"VISUALCONV_SYSTEM_MALLOC": "1"}) == f"visualconv {visualconv.__version__}\nmmap False"
    )


@pytest.mark.skipif(not ON_GLIBC, reason="the allocator is tuned on glibc only")
def test_tuning_is_done_once_and_agrees_when_called_again():
    code = "import visualconv.engine.memory as m; "
    code += "print(m.reuse_freed_memory(), m.reuse_freed_memory(), m.tuned())"
    env = {**os.environ, "VISUALCONV_SYSTEM_MALLOC": ""}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.stdout.split() == ["True", "True", "True"]


def test_the_environment_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.setenv("VISUALCONV_SYSTEM_MALLOC", "1")
    monkeypatch.setattr(memory, "_done", False)
    assert memory.reuse_freed_memory() is False
    assert memory.tuned() is False


RESERVE_PROBE = (
    MALLINFO
    + """
import visualconv.engine.memory as memory
assert memory.reserve(8 << 20, 5) == 0  # the allocator is not tuned yet: nothing touched
memory.reuse_freed_memory()
assert memory.reserve(memory.RESERVE_BLOCK_BYTES + 8, 5) == 0  # blocks too large to reserve
free = libc.mallinfo2().fordblks
touched = memory.reserve(8 << 20, 50)
print(touched, libc.mallinfo2().fordblks - free)
"""
)


@pytest.mark.skipif(not HAS_MALLINFO2, reason="needs glibc's mallinfo2")
def test_reserved_blocks_stay_free_in_the_heap_for_the_arrays_that_follow():
    """reserve() touches at most its budget in blocks and leaves them free in the heap, not unmapped."""
    env = {k: v for k, v in os.environ.items() if k != "VISUALCONV_SYSTEM_MALLOC"}
    done = subprocess.run(
        [sys.executable, "-c", RESERVE_PROBE], env=env, capture_output=True, text=True, check=True
    )
    touched, freed = (int(v) for v in done.stdout.split())
    assert touched == (memory.RESERVE_BYTES // (8 << 20)) * (8 << 20)  # capped by the budget
    # in the heap's free lists, ready for the next arrays (less a few bytes the probe allocated since)
    assert freed >= touched - (1 << 20)

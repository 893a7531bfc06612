"""Independent blocks of engine work on a few threads.

NumPy releases the GIL inside copies, ufunc loops and BLAS calls, so blocks of a batch
(whole examples) run side by side on separate cores. The split is fixed by the number of
threads and the blocks, never by timing: results do not depend on scheduling. Calls
from inside a worker run serially, so nested kernels never wait on their own pool.

The number of threads defaults to the cores this process may use; the environment
variable ``VISUALCONV_THREADS`` or :func:`set_threads` overrides it (1 turns threading off).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Part = TypeVar("Part")
Result = TypeVar("Result")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_threads = 0
_inside_worker = threading.local()


def _default_threads() -> int:
    configured = os.environ.get("VISUALCONV_THREADS", "").strip()
    if configured.isdigit() and int(configured) >= 1:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without affinity (macOS, Windows)
        return max(1, os.cpu_count() or 1)


_threads = _default_threads()


def threads() -> int:
    """The number of threads the engine's kernels may use."""
    return _threads


def set_threads(count: int) -> None:
    """Let the engine's kernels use ``count`` threads (1: run everything on the caller's)."""
    global _threads
    if count < 1:
        raise ValueError(f"the number of threads must be >= 1, got {count}")
    _threads = int(count)


def _pool(count: int) -> ThreadPoolExecutor:
    global _executor, _executor_threads
    with _lock:
        if _executor is None or _executor_threads < count:
            if _executor is not None:
                _executor.shutdown(wait=False)
            _executor = ThreadPoolExecutor(max_workers=count, thread_name_prefix="visualconv-engine")
            _executor_threads = count
        return _executor


def _run_marked(work: Callable[[Sequence[Part]], Result], group: Sequence[Part]) -> Result:
    _inside_worker.active = True
    try:
        return work(group)
    finally:
        _inside_worker.active = False


def split(
    parts: Sequence[Part], groups: int, boundaries: Callable[[int], bool] | None = None
) -> list[Sequence[Part]]:
    """Cut ``parts`` into at most ``groups`` contiguous runs of nearly equal length.

    Parameters
    ----------
    parts : sequence
    groups : int
    boundaries : callable, optional
        ``boundaries(i)`` says whether a cut may fall before ``parts[i]``; a cut that may
        not moves forward to the next place that allows one.

    Returns
    -------
    list of sequences
        Non-empty, in order; concatenated they are ``parts``.
    """
    count = len(parts)
    cuts = [0]
    for g in range(1, groups):
        cut = max(cuts[-1] + 1, round(g * count / groups))
        while cut < count and boundaries is not None and not boundaries(cut):
            cut += 1
        if cut < count:
            cuts.append(cut)
    cuts.append(count)
    return [parts[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def map_groups(
    work: Callable[[Sequence[Part]], Result],
    parts: Sequence[Part],
    boundaries: Callable[[int], bool] | None = None,
) -> list[Result]:
    """Run ``work`` on contiguous groups of ``parts``, one group per thread.

    Parameters
    ----------
    work : callable
        Takes a group (a contiguous run of ``parts``) and returns its result. Groups must
        not write to the same memory.
    parts : sequence
        The blocks, in order.
    boundaries : callable, optional
        As for :func:`split`.

    Returns
    -------
    list
        ``work``'s results in the order of the groups (one element when run serially).
    """
    count = min(_threads, len(parts))
    if count <= 1 or getattr(_inside_worker, "active", False):
        return [work(parts)]
    groups = split(parts, count, boundaries)
    if len(groups) == 1:
        return [work(parts)]
    executor = _pool(count)
    futures = [executor.submit(_run_marked, work, group) for group in groups[1:]]
    try:
        first = _run_marked(work, groups[0])  # the caller's thread takes the first group
    finally:
        results = [future.result() for future in futures]  # never leave a group running
    return [first, *results]

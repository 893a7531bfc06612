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
from typing import Any, TypeVar

Part = TypeVar("Part")
Result = TypeVar("Result")

_pool_lock = threading.Lock()  # one caller at a time uses the workers; others run serially
_workers: list[_Worker] = []
_inside_worker = threading.local()


class _Worker:
    """A thread that runs one handed-over job at a time.

    Two locks hand the job over and back: releasing ``_start`` wakes the thread,
    releasing ``_done`` tells the caller the result is in. Cheaper than an executor's
    futures and queues, which cost tens of microseconds per call on short kernels.
    """

    def __init__(self, index: int) -> None:
        self._start = threading.Lock()
        self._start.acquire()
        self._done = threading.Lock()
        self._done.acquire()
        self._job: tuple[Callable[[Any], Any], Any] | None = None
        self._result: Any = None
        self._error: BaseException | None = None
        thread = threading.Thread(target=self._loop, name=f"visualconv-engine-{index}", daemon=True)
        thread.start()

    def _loop(self) -> None:
        _inside_worker.active = True  # nested calls from a job run serially
        while True:
            self._start.acquire()
            assert self._job is not None
            work, group = self._job
            try:
                self._result, self._error = work(group), None
            except BaseException as error:  # handed to the caller, raised there
                self._result, self._error = None, error
            self._job = None
            self._done.release()

    def submit(self, work: Callable[[Any], Any], group: Any) -> None:
        self._job = (work, group)
        self._start.release()

    def result(self) -> Any:
        """Wait for the job; its result, or raise its error."""
        self._done.acquire()
        error, self._error = self._error, None
        if error is not None:
            raise error
        return self._result


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


def _ensure_workers(count: int) -> list[_Worker]:
    """At least ``count`` workers (called with _pool_lock held)."""
    while len(_workers) < count:
        _workers.append(_Worker(len(_workers)))
    return _workers[:count]


def _run_marked(work: Callable[[Sequence[Part]], Result], group: Sequence[Part]) -> Result:
    _inside_worker.active = True
    try:
        return work(group)
    finally:
        _inside_worker.active = False


def balanced_block_size(items: int, per_block: int, threads: int) -> int:
    """A block size near ``per_block`` that cuts ``items`` into a whole number of equal blocks per thread.

    64 examples at 27 per block on 2 threads become 4 blocks of 16, not 27 + 27 + 10, so
    that no thread waits for another. Never larger than ``per_block``.
    """
    count = -(-items // max(1, per_block))
    count = min(items, -(-count // threads) * threads)
    return -(-items // max(1, count))


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
    if not _pool_lock.acquire(blocking=False):
        # Another thread (the window's, say, beside a training run) has the workers: the
        # same groups, one after the other, give the same results.
        return [work(group) for group in groups]
    try:
        workers = _ensure_workers(len(groups) - 1)
        for worker, group in zip(workers, groups[1:], strict=True):
            worker.submit(work, group)
        first: Result | None = None
        error: BaseException | None = None
        try:
            first = _run_marked(work, groups[0])  # the caller's thread takes the first group
        except BaseException as raised:
            error = raised
        results: list[Result] = []
        for worker in workers:  # never leave a group running
            try:
                results.append(worker.result())
            except BaseException as raised:
                error = error or raised
        if error is not None:
            raise error
    finally:
        _pool_lock.release()
    return [first, *results]  # type: ignore[list-item]

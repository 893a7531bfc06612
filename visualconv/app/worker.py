"""One way to run background work: a generator (or a function with a progress callback) on a QThread.

The pattern is superqt's generator worker (``superqt.utils._qthreading``), written small:
the work is a generator that yields what it has done so far; :class:`Worker` runs it on
its own thread and hands every yield to the GUI thread through queued signals. Training
(the engine's SGD iteration records), the gradient check (the engine's ``iter_check``),
the exports and the lecture pack run through it, so cancelling, pausing and progress
work the same everywhere:

* a yielded :class:`Progress` becomes ``sigProgress(done, total)``; anything else is a
  record, sent in lists by ``sigYielded`` (at most one list per ``tick`` seconds, so a
  fast generator does not flood the GUI thread);
* :meth:`Worker.cancel` stops the work at its next yield (the generator is closed, so
  its ``finally`` blocks run) and :meth:`Worker.pause` / :meth:`Worker.resume` /
  :meth:`Worker.step` hold it between yields;
* the generator's return value arrives by ``sigReturned``, an exception by
  ``sigErrored``, a cancel by ``sigCancelled``; ``sigFinished`` always comes last.

A function that reports progress through a callback (``work(progress)``, where
``progress(done, total)`` returns False once the work is cancelled) runs the same way
through :meth:`Worker.call`: the exports are written like that.

Between yields the worker sleeps for a moment, longer while the user is typing or
moving the mouse (:class:`~visualconv.app.inputclock.InputClock`), so the window
answers first: a Python loop holds the GIL, and the GUI thread needs it to repaint.

:meth:`Worker.wait` joins the thread; the window calls it before it is deleted (a
QThread destroyed while it runs aborts the process).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from .inputclock import InputClock

TICK_SECONDS = 0.025
"""Longest time records wait in the worker before they are sent to the GUI thread."""
USER_BUSY_PAUSE = 0.004
"""Seconds the worker steps aside after each yield while the user is giving input."""


@dataclass(frozen=True, slots=True)
class Progress:
    """How far the work is: ``done`` of ``total`` units (cells, frames, iterations)."""

    done: int
    total: int


class Cancelled(Exception):
    """Raised inside a :meth:`Worker.call` function whose progress callback saw a cancel."""


class _Thread(QThread):
    """The thread that drives the generator; it only calls back into its worker."""

    def __init__(self, worker: Worker) -> None:
        super().__init__(worker)
        self._worker = worker

    def run(self) -> None:
        self._worker._run()


class Worker(QObject):
    """Runs one generator on a thread of its own and reports through signals.

    Parameters
    ----------
    work : callable
        Makes the generator (called on the worker thread, so building it may be slow).
    parent : QObject, optional
        The owner (the window's services); the thread is a child of the worker.
    name : str
        The thread's name (for debuggers and logs).
    tick : float
        Records are sent in lists at most this often (seconds).
    paused : bool
        Start paused: the generator is made, nothing is pulled until
        :meth:`resume` or :meth:`step`.

    Signals
    -------
    sigStarted()
        The thread began.
    sigYielded(object)
        A list of records the generator yielded since the last one, in order.
    sigProgress(int, int)
        The latest :class:`Progress` (done, total).
    sigPaused(bool)
        The worker holds (True) or pulls again (False).
    sigReturned(object)
        The generator ended; the argument is its return value.
    sigErrored(object)
        The generator raised; the argument is the exception.
    sigCancelled()
        :meth:`cancel` stopped it.
    sigFinished()
        Always the last signal, after one of the three above.
    """

    sigStarted = pyqtSignal()
    sigYielded = pyqtSignal(object)
    sigProgress = pyqtSignal(int, int)
    sigPaused = pyqtSignal(bool)
    sigReturned = pyqtSignal(object)
    sigErrored = pyqtSignal(object)
    sigCancelled = pyqtSignal()
    sigFinished = pyqtSignal()

    def __init__(
        self,
        work: Callable[[], Iterator[Any]],
        parent: QObject | None = None,
        *,
        name: str = "visualconv-worker",
        tick: float = TICK_SECONDS,
        paused: bool = False,
    ) -> None:
        super().__init__(parent)
        self._work = work
        self._tick = tick
        self._lock = threading.Condition()
        self._cancelled = False
        self._paused = paused
        self._steps = 0  # items still to pull while paused (step())
        self._interval = 0.0
        self._finished = False
        self._clock = InputClock.instance()  # made here, on the GUI thread
        self._thread = _Thread(self)
        self._thread.setObjectName(name)

    @classmethod
    def call(
        cls,
        work: Callable[[Callable[[int, int], bool]], Any],
        parent: QObject | None = None,
        *,
        name: str = "visualconv-worker",
    ) -> Worker:
        """A worker for a function that reports progress by a callback instead of yielding.

        ``work(progress)`` runs on the thread; ``progress(done, total)`` sends the
        progress and returns False once :meth:`cancel` was called (the function then
        stops, typically by raising; :class:`Cancelled` or any exception raised after a
        cancel counts as the cancel).
        """
        holder: list[Worker] = []

        def generator() -> Generator[Progress, None, Any]:
            worker = holder[0]

            def progress(done: int, total: int) -> bool:
                worker._send_progress(Progress(done, total))
                return not worker.cancelled

            return work(progress)
            yield  # pragma: no cover - makes this a generator; the function runs on the first pull

        worker = cls(generator, parent, name=name)
        holder.append(worker)
        return worker

    # ------------------------------------------------------------ control (GUI thread)

    def start(self) -> Worker:
        """Begin the work on its thread; returns the worker."""
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop at the next yield (or the next progress callback); sigCancelled follows."""
        with self._lock:
            self._cancelled = True
            self._lock.notify_all()

    def pause(self) -> None:
        """Hold after the current item until :meth:`resume` or :meth:`step`."""
        with self._lock:
            self._paused = True
            self._steps = 0

    def resume(self) -> None:
        """Pull items continuously again."""
        with self._lock:
            self._paused = False
            self._lock.notify_all()

    def step(self) -> None:
        """While paused, pull exactly one more item."""
        with self._lock:
            self._steps += 1
            self._lock.notify_all()

    def set_interval(self, seconds: float) -> None:
        """Wait this long after each item (0: as fast as possible); records then go one per list."""
        with self._lock:
            self._interval = max(0.0, float(seconds))
            self._lock.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Join the thread (cancel first to make it quick); False when it is still running."""
        if timeout is None:
            return bool(self._thread.wait())
        return bool(self._thread.wait(int(timeout * 1000)))

    def stop(self) -> None:
        """Cancel and join: what the window does before it goes."""
        self.cancel()
        self.wait()

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread.isRunning()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancelled

    @property
    def paused(self) -> bool:
        """Whether the worker holds between items."""
        return self._paused

    # ------------------------------------------------------------ the thread

    def _send_progress(self, progress: Progress) -> None:
        self.sigProgress.emit(progress.done, progress.total)

    def _hold(self) -> bool:
        """Wait while paused; True when the next item may be pulled, False when cancelled."""
        with self._lock:
            was_paused = False
            while not self._cancelled and self._paused and self._steps == 0:
                if not was_paused:
                    was_paused = True
                    self.sigPaused.emit(True)
                self._lock.wait()
            if was_paused and not self._cancelled:
                self.sigPaused.emit(False)
            if self._cancelled:
                return False
            if self._paused:
                self._steps -= 1
            return True

    def _run(self) -> None:
        self.sigStarted.emit()
        batch: list[Any] = []
        sent = time.perf_counter()
        generator: Iterator[Any] | None = None
        try:
            generator = self._work()
            while True:
                if batch and (self._paused or self._interval > 0):
                    self.sigYielded.emit(batch)  # nothing waits in the worker while it holds
                    batch, sent = [], time.perf_counter()
                if not self._hold():
                    self._close(generator)
                    if batch:
                        self.sigYielded.emit(batch)
                    self.sigCancelled.emit()
                    return
                try:
                    item = next(generator)
                except StopIteration as stop:
                    if batch:
                        self.sigYielded.emit(batch)
                    self.sigReturned.emit(stop.value)
                    return
                if isinstance(item, Progress):
                    self._send_progress(item)
                else:
                    batch.append(item)
                now = time.perf_counter()
                if batch and now - sent >= self._tick:
                    self.sigYielded.emit(batch)
                    batch, sent = [], now
                self._breathe()
        except BaseException as exc:  # handed to the GUI thread, never lost
            if batch:
                self.sigYielded.emit(batch)
            if self._cancelled:
                self.sigCancelled.emit()
            else:
                self.sigErrored.emit(exc)
        finally:
            self.sigFinished.emit()

    def _breathe(self) -> None:
        """Hand the GIL to the window between items; longer while the user gives input."""
        busy = self._clock is not None and self._clock.busy()
        pause = USER_BUSY_PAUSE if busy else 0.0
        with self._lock:
            if self._interval > 0 and not self._cancelled:
                self._lock.wait(self._interval)
                return
        time.sleep(pause)

    @staticmethod
    def _close(generator: Iterator[Any] | None) -> None:
        close = getattr(generator, "close", None)
        if callable(close):
            close()


class _Keeper(QObject):
    """Holds workers that may outlive their owner until their threads have ended."""

    _instance: _Keeper | None = None

    def __init__(self) -> None:
        super().__init__()
        self._workers: set[Worker] = set()

    @classmethod
    def instance(cls) -> _Keeper:
        if cls._instance is None:
            cls._instance = cls()  # made on the GUI thread, by the first owner
        return cls._instance

    def hold(self, worker: Worker, owner: QObject) -> None:
        self._workers.add(worker)
        worker.sigFinished.connect(self._release)
        owner.destroyed.connect(worker.cancel)

    @pyqtSlot()
    def _release(self) -> None:
        worker = self.sender()
        if isinstance(worker, Worker) and worker in self._workers:
            self._workers.discard(worker)
            worker.wait()
            worker.deleteLater()


def owned(worker: Worker, owner: QObject) -> Worker:
    """Let a parentless ``worker`` outlive ``owner`` safely; returns the worker.

    A worker that is a child of a widget dies with it, and a QThread destroyed while it
    runs aborts the process. An owned worker is held until its thread has ended (then
    joined and deleted) and is cancelled when ``owner`` is destroyed, so a window that
    goes while a check or a run is under way takes nothing down with it.
    """
    _Keeper.instance().hold(worker, owner)
    return worker


def drain(work: Callable[[], Iterator[Any]]) -> tuple[list[Any], Any]:
    """Run a worker's generator to its end on this thread: (records, return value).

    For tests and the command line, which need no thread; progress items are dropped.
    """
    records: list[Any] = []
    generator = work()
    while True:
        try:
            item = next(generator)
        except StopIteration as stop:
            return records, stop.value
        if not isinstance(item, Progress):
            records.append(item)

"""The training worker: runs the engine's SGD generator off the GUI thread.

:class:`TrainingWorker` lives in its own QThread. It pulls iteration records from
:func:`visualconv.engine.train.iterate` and emits them in small lists, at most about
every 25 ms (or one per tick when a rate limit is set), so the GUI thread redraws at
its own pace and stays responsive. Its slots are called through queued signals from
the panel, so pausing, stepping and stopping take effect between iterations.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

from PyQt6.QtCore import QObject, QTimer, pyqtSignal, pyqtSlot

from ...engine import datasets
from ...engine.budget import check_training_memory
from ...engine.errors import ModelError
from ...engine.model import Model, TrainingSpec
from ...engine.train import Iteration, TrainingDiverged, iterate
from ..inputclock import InputClock

TICK_SECONDS = 0.025
# Seconds the worker pauses per iteration while the user is giving input.
USER_BUSY_PAUSE = 0.004


class TrainingWorker(QObject):
    """Pulls iteration records from the training generator in a worker thread.

    Every signal's first argument is the run id given to :meth:`start`, so a receiver
    can drop what a run it has already abandoned still sends.

    Signals
    -------
    sigStarted(int, object)
        A run began; the argument is its dataset ``(inputs, targets)``.
    sigRecords(int, object)
        A list of new :class:`~visualconv.engine.train.Iteration` records, in order.
    sigStateChanged(int, str)
        ``"running"``, ``"paused"``, ``"finished"`` (all epochs done) or ``"stopped"``.
    sigFailed(int, str)
        The run could not start (bad settings or dataset); the message says why.
    sigDiverged(int, object)
        The run diverged; the argument is the
        :class:`~visualconv.engine.train.TrainingDiverged` error (with the model of
        the last finite parameters).
    """

    sigStarted = pyqtSignal(int, object)
    sigRecords = pyqtSignal(int, object)
    sigStateChanged = pyqtSignal(int, str)
    sigFailed = pyqtSignal(int, str)
    sigDiverged = pyqtSignal(int, object)

    def __init__(self) -> None:
        super().__init__()
        self._records: Iterator[Iteration] | None = None
        self._remaining = 0
        self._run = 0
        self._running = False
        self._interval_ms = 0
        self._timer: QTimer | None = None
        # Made here, on the GUI thread; the worker thread only reads its time stamp.
        self._clock = InputClock.instance()

    # ------------------------------------------------------------ slots (worker thread)

    @pyqtSlot(object, object, bool, int)
    def start(self, model: Model, spec: TrainingSpec, paused: bool, run: int) -> None:
        """Begin run ``run`` (replacing any other); stay paused when ``paused``."""
        self._close()
        self._run = run
        try:
            count, shape = datasets.extent(spec.dataset, model)
            check_training_memory(model.layers, shape, count, spec.batch_size)  # before building it
            data = datasets.materialise(spec.dataset, model)
            self._records = iterate(model, training=spec, data=data)
        except ModelError as exc:
            self.sigFailed.emit(self._run, str(exc))
            return
        n = len(data[0])
        self._remaining = spec.epochs * math.ceil(n / (spec.batch_size or n))
        self.sigStarted.emit(self._run, data)
        if paused:
            self.sigStateChanged.emit(self._run, "paused")
        else:
            self.resume()

    @pyqtSlot()
    def resume(self) -> None:
        """Pull records continuously until paused, stopped or done."""
        if self._records is None:
            return
        self._running = True
        self.sigStateChanged.emit(self._run, "running")
        self._ensure_timer().start(0)

    @pyqtSlot()
    def pause(self) -> None:
        """Stop pulling records after the current iteration; the run can resume."""
        if self._records is None or not self._running:
            return
        self._running = False
        self._ensure_timer().stop()
        self.sigStateChanged.emit(self._run, "paused")

    @pyqtSlot()
    def step(self) -> None:
        """Pull exactly one record (the run must be paused)."""
        if self._records is None or self._running:
            return
        self._pull(limit=1)

    @pyqtSlot()
    def stop(self) -> None:
        """End the run; its records stay with whoever received them."""
        if self._records is None:
            return
        self._close()
        self.sigStateChanged.emit(self._run, "stopped")

    @pyqtSlot(int)
    def set_interval(self, milliseconds: int) -> None:
        """Wait this long between iterations (0: as fast as possible)."""
        self._interval_ms = max(0, milliseconds)

    # ------------------------------------------------------------ internals

    def _ensure_timer(self) -> QTimer:
        if self._timer is None:  # created in the worker thread, on first use
            self._timer = QTimer(self)
            self._timer.setSingleShot(True)
            self._timer.timeout.connect(self._on_timer_timeout)
        return self._timer

    def _close(self) -> None:
        self._running = False
        if self._timer is not None:
            self._timer.stop()
        self._records = None

    def _on_timer_timeout(self) -> None:
        if not self._running:
            return
        limit = 1 if self._interval_ms > 0 else None
        if self._pull(limit) and self._running:
            self._ensure_timer().start(self._interval_ms)

    def _pull(self, limit: int | None) -> bool:
        """Pull records for one tick and emit them; False when the run ended."""
        assert self._records is not None
        batch: list[Iteration] = []
        deadline = time.perf_counter() + TICK_SECONDS
        alive = True
        try:
            while True:
                batch.append(next(self._records))
                self._remaining -= 1
                # Hand the GIL to the window between iterations, so a repaint waits for
                # at most one iteration; while the user is giving input, step aside a
                # little longer so the window answers first.
                time.sleep(USER_BUSY_PAUSE if self._clock is not None and self._clock.busy() else 0)
                if self._remaining <= 0:  # the last iteration: finish now, not at the next pull
                    alive = False
                    break
                if (limit is not None and len(batch) >= limit) or time.perf_counter() >= deadline:
                    break
        except StopIteration:
            alive = False
        except TrainingDiverged as exc:
            if batch:
                self.sigRecords.emit(self._run, batch)
            self._close()
            self.sigDiverged.emit(self._run, exc)
            return False
        if batch:
            self.sigRecords.emit(self._run, batch)
        if not alive:
            self._close()
            self.sigStateChanged.emit(self._run, "finished")
        return alive

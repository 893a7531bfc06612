"""A training run as work for the window's one background worker (:class:`~visualconv.app.worker.Worker`).

:func:`training_run` checks the memory of the run, builds its dataset and pulls the
engine's SGD records (:func:`visualconv.engine.train.iterate`), all on the worker's
thread. Its first item is a :class:`RunStarted` holding the dataset with the first
iteration, so a single step of a paused worker always brings exactly one iteration; every
later item is one :class:`~visualconv.engine.train.Iteration`. A bad setting or dataset
raises :class:`~visualconv.engine.errors.ModelError`, a diverged run
:class:`~visualconv.engine.train.TrainingDiverged`: the worker hands either to the panel.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from ...engine import datasets
from ...engine.budget import check_training_memory
from ...engine.model import Model, TrainingSpec
from ...engine.train import Iteration, iterate


@dataclass(frozen=True)
class RunStarted:
    """The first item of a run: its dataset ``(inputs, targets)``, its length and its first iteration."""

    data: tuple[Any, Any]
    total: int
    first: Iteration | None


def iterations(spec: TrainingSpec, examples: int) -> int:
    """How many SGD iterations a run of ``spec`` over ``examples`` examples has."""
    return spec.epochs * math.ceil(examples / (spec.batch_size or examples)) if examples else 0


def training_run(model: Model, spec: TrainingSpec) -> Generator[RunStarted | Iteration, None, None]:
    """The run's items: :class:`RunStarted` (with the first iteration), then one record per iteration.

    Raises
    ------
    ModelError
        For a run that does not fit the memory budget (before its dataset is built) or a bad dataset.
    TrainingDiverged
        When the loss stops being finite.
    """
    count, shape = datasets.extent(spec.dataset, model)
    check_training_memory(model.layers, shape, count, spec.batch_size)  # before building it
    data = datasets.materialise(spec.dataset, model)
    records = iterate(model, training=spec, data=data)
    total = iterations(spec, len(data[0]))
    yield RunStarted(data, total, next(records, None))
    yield from records

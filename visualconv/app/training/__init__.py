"""The Training panel: SGD runs of the engine, live, off the GUI thread."""

from .panel import TrainingPanel

__all__ = ["TrainingPanel"]

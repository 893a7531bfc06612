"""The NumPy engine of visualconv: float64, channels first, never imports Qt."""

from .memory import reuse_freed_memory

# Fresh pages for every same-sized output cost more than the arithmetic (see .memory).
reuse_freed_memory()

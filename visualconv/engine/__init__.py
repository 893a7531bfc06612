"""The NumPy engine of visualconv: float64, channels first, never imports Qt.

Importing it changes nothing in the process: the allocator tuning of :mod:`.memory`
is called by the entry points (the ``visualconv`` command and the window), and by
whoever wants it (``visualconv.engine.memory.reuse_freed_memory()``).
"""

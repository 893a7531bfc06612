"""Start-up without the cycle collector's passes over what the imports and the window made.

Python's cyclic garbage collector runs whenever enough container objects have been made,
and a start-up makes hundreds of thousands (NumPy, PyQt6 and pyqtgraph's modules, the
window's widgets); each pass walks every object of its generations. In a window's launch
that came to some 70 ms (measured with ``gc.callbacks``: one full pass of 30 ms, nine
middle ones of 1-5 ms and a hundred young ones), and none found garbage worth speaking
of. So a start-up runs with the collector paused (:func:`paused`, :class:`StartUp`), and
at its end :meth:`StartUp.over` moves every object alive at that moment (the modules, the
window) into the collector's permanent generation (``gc.freeze``): later passes, during
a scrub for instance, walk only what was made since. Frozen objects are still freed by
reference counting; only a reference cycle among them is never collected, a bounded
one-time cost.

Nothing here runs on import (``import visualconv`` leaves the collector alone: a pause
there would only defer the same pass to its end, and freezing would touch the importer's
own objects); the window's start (:func:`visualconv.app.main.run_app`) calls :class:`StartUp`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside the block; the collector is left as it was found."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class StartUp:
    """The collector paused from now until :meth:`over` (a window's start, up to its first frame)."""

    def __init__(self) -> None:
        self._collecting = gc.isenabled()
        self._over = False
        gc.disable()

    def over(self, settle: bool = True) -> None:
        """End the pause (once; later calls do nothing); ``settle`` freezes what is alive now first."""
        if self._over:
            return
        self._over = True
        if settle:
            gc.freeze()
        if self._collecting:
            gc.enable()

"""What the kinds' step texts share: number formats and how a trace names its cells.

The texts themselves are written by each kind (``Kind.explain``); see
:mod:`visualconv.engine.explain` for the entry points.
"""

from __future__ import annotations

from typing import Any

from ..explain import MAX_TERMS, fmt, fmt_array, overlay_text, products, slice_text, squeeze_view

__all__ = [
    "MAX_TERMS",
    "channel_window_text",
    "fmt",
    "fmt_array",
    "index_text",
    "input_name",
    "overlay_text",
    "products",
    "slice_text",
    "squeeze_view",
    "trace_dims",
    "window_text",
]


def trace_dims(trace: Any) -> int:
    """1 or 2: how the trace's layer writes its indices (non-windowed kinds: 2)."""
    return int(trace.kind.dims(trace.layer))


def index_text(trace: Any, channel: int, position: tuple[int, int], channels: int) -> str:
    """An output element's index: ``[i, j]``, ``[c, i, j]`` with several channels, ``[j]`` in 1-D."""
    dims = trace_dims(trace)
    parts = [str(channel)] if channels > 1 else []
    parts += [str(position[1])] if dims == 1 else [str(position[0]), str(position[1])]
    return "[" + ", ".join(parts) + "]"


def window_text(trace: Any, rows: slice, cols: slice) -> str:
    """A window of the input: ``[0:2, 1:3]``, ``[:, 0:2]`` with several channels, ``[0:2]`` in 1-D."""
    dims = trace_dims(trace)
    channels = trace.x.shape[0]
    parts = [":"] if channels > 1 else []
    parts += [slice_text(cols)] if dims == 1 else [slice_text(rows), slice_text(cols)]
    return "[" + ", ".join(parts) + "]"


def channel_window_text(trace: Any, channel: int, rows: slice, cols: slice) -> str:
    """A window of one input channel: ``[1, 0:2, 0:2]`` with several channels, else as :func:`window_text`.

    A pooling window reads one channel only, so its text names that channel (a conv
    window reads every input channel: :func:`window_text` writes ``:``).
    """
    dims = trace_dims(trace)
    parts = [str(channel)] if trace.x.shape[0] > 1 else []
    parts += [slice_text(cols)] if dims == 1 else [slice_text(rows), slice_text(cols)]
    return "[" + ", ".join(parts) + "]"


def input_name(trace: Any) -> str:
    """``A_pad`` for a padded input, else ``A_prev``."""
    return "A_pad" if trace.kind.padded(trace.layer) else "A_prev"

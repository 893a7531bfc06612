"""How an engine array becomes heat-map tiles, and how its indices map to tile cells.

Qt-free on purpose: the window and its tests both use it.

- a vector (N,) is one tile, wrapped into rows when long;
- a matrix (R, C) (dense weights) is one tile;
- a tensor (C, H, W) is one tile per channel;
- a kernel (F, C, kH, kW) is a grid of tiles, one row per output channel.

A 1-D model's arrays arrive in the trace's 2-D view (height 1); index texts drop that axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Cell = tuple[int, int, int]

# Vectors up to this length stay on one row; longer ones wrap into a block.
MAX_ROW = 32


@dataclass(frozen=True, slots=True)
class TileMap:
    """The tiling of an array of one fixed shape.

    Attributes
    ----------
    shape : tuple of int
        The array's shape.
    one_d : bool
        Whether the array is in a 1-D model's 2-D view (height-1 axis to hide in texts).
    """

    shape: tuple[int, ...]
    one_d: bool = False

    @property
    def kind(self) -> str:
        """``vector``, ``matrix``, ``channels`` or ``kernels``."""
        return ("vector", "matrix", "channels", "kernels")[len(self.shape) - 1]

    @property
    def count(self) -> int:
        """Number of tiles."""
        if self.kind == "channels":
            return self.shape[0]
        if self.kind == "kernels":
            return self.shape[0] * self.shape[1]
        return 1

    @property
    def tile_shape(self) -> tuple[int, int]:
        """Cells per tile (H, W)."""
        if self.kind == "vector":
            n = self.shape[0]
            if n <= MAX_ROW:
                return 1, n
            width = math.ceil(math.sqrt(n))
            return math.ceil(n / width), width
        return self.shape[-2], self.shape[-1]

    @property
    def grid(self) -> tuple[int, int] | None:
        """The tile grid (rows, columns), or None to choose one automatically."""
        if self.kind == "kernels" and self.shape[1] > 1:
            return self.shape[0], self.shape[1]
        return None  # one input channel: lay the kernels out like channels

    def captions(self, name: str) -> list[str]:
        """A caption per tile (none for a single tile)."""
        if self.kind == "channels" and self.count > 1:
            return [f"channel {c}" for c in range(self.count)]
        if self.kind == "kernels" and self.count > 1:
            f_count, c_count = self.shape[:2]
            return [f"{name}[{f}, {c}]" for f in range(f_count) for c in range(c_count)]
        return []

    def tiles(self, array: np.ndarray) -> np.ndarray:
        """The array as (T, H, W) (a view where possible; wrapped vectors pad with NaN)."""
        array = np.asarray(array, dtype=np.float64)
        kind = self.kind
        if kind == "channels":
            return array
        if kind == "kernels":
            return array.reshape(-1, *array.shape[2:])
        if kind == "matrix":
            return array[None]
        h, w = self.tile_shape
        if h == 1:
            return array.reshape(1, 1, -1)
        out = np.full(h * w, np.nan)
        out[: array.size] = array
        return out.reshape(1, h, w)

    def cell(self, index: tuple[int, ...]) -> Cell:
        """The tile cell of an index of the array."""
        kind = self.kind
        if kind == "vector":
            w = self.tile_shape[1]
            r, c = divmod(index[0], w)
            return 0, r, c
        if kind == "matrix":
            return 0, index[0], index[1]
        if kind == "channels":
            return index[0], index[1], index[2]
        return index[0] * self.shape[1] + index[1], index[2], index[3]

    def index_text(self, t: int, r: int, c: int) -> str:
        """The array index of a tile cell, as ``[c, i, j]`` (1-D models: ``[c, j]``)."""
        kind = self.kind
        if kind == "vector":
            parts = [r * self.tile_shape[1] + c]
        elif kind == "matrix":
            parts = [r, c]
        elif kind == "channels":
            parts = [t, c] if self.one_d else [t, r, c]
        else:
            f, ci = divmod(t, self.shape[1])
            parts = [f, ci, c] if self.one_d else [f, ci, r, c]
        return "[" + ", ".join(str(p) for p in parts) + "]"

    def shape_text(self) -> str:
        """The array's shape as the model file writes it (no height axis in 1-D)."""
        shape = self.shape
        if self.one_d and self.kind in ("channels", "kernels"):
            shape = (*shape[:-2], shape[-1])
        return "(" + ", ".join(str(s) for s in shape) + ")"


def window_cells(tile: int, rows: slice, cols: slice) -> list[Cell]:
    """The cells of a (possibly strided or dilated) window in one tile."""
    return [
        (tile, r, c)
        for r in range(rows.start, rows.stop, rows.step or 1)
        for c in range(cols.start, cols.stop, cols.step or 1)
    ]

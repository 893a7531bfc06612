"""Layers as immutable values (a re-export: each layer kind lives in :mod:`visualconv.engine.kinds`).

A layer holds its parameters and settings and nothing else. ``forward`` returns
values, ``backward`` takes them back: no per-call cache is stored on the layer, so a
debugger can step back and forth freely. New code imports from the kinds.
"""

from __future__ import annotations

from .kinds import (
    ConvLayer,
    ConvTransposeLayer,
    DenseLayer,
    FlattenLayer,
    Layer,
    LayerGrads,
    PoolLayer,
    Shape,
)
from .kinds.base import frozen_array

__all__ = [
    "ConvLayer",
    "ConvTransposeLayer",
    "DenseLayer",
    "FlattenLayer",
    "Layer",
    "LayerGrads",
    "PoolLayer",
    "Shape",
    "frozen_array",
]

"""Layer kinds: one module per kind, and the registry that maps a file's ``type`` to it.

Ask a layer's kind instead of testing its class::

    from visualconv.engine import kinds

    kind = kinds.of(layer)          # or layer.kind
    kind.has_weights, kind.has_activation, kind.windowed
    kinds.by_type("pool")           # the kind of a file's "type" (KeyError if unknown)
    kinds.TYPES                     # ("conv", "pool", "flatten", "dense", "conv_transpose")

See docs/architecture.md ("How to add a layer kind").
"""

from __future__ import annotations

from typing import Any

from .base import Fields, ForwardState, Kind, Layer, LayerGrads, LayerTrace, Overlay, Shape, Step
from .conv import CONV, ClosedForm, ConvLayer, conv_closed_form
from .conv_transpose import CONV_TRANSPOSE, ConvTransposeLayer
from .dense import DENSE, DenseLayer
from .flatten import FLATTEN, FlattenLayer
from .pool import POOL, PoolLayer

# The registry: the file's "type" -> the kind (in the order the format documents them).
REGISTRY: dict[str, Kind] = {kind.type: kind for kind in (CONV, POOL, FLATTEN, DENSE, CONV_TRANSPOSE)}
TYPES: tuple[str, ...] = tuple(REGISTRY)


def layer_schema() -> dict[str, Any]:
    """The ``layer`` definition of the file format's JSON Schema.

    A ``type`` of a registered kind, then that kind's own object (``Kind.schema``, ``$defs/<type>``).
    """
    names = list(TYPES)
    spoken = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": names, "description": f"{spoken}."}},
        "allOf": [
            {
                "if": {"required": ["type"], "properties": {"type": {"const": name}}},
                "then": {"$ref": f"#/$defs/{name}"},
            }
            for name in names
        ],
        "description": 'A layer: {"type": ' + " | ".join(f'"{name}"' for name in names) + ", ...}.",
    }


def by_type(type_name: str) -> Kind:
    """The kind whose layers have the file's ``type`` ``type_name``.

    Raises
    ------
    KeyError
        For a type no kind registers.
    """
    return REGISTRY[type_name]


def of(layer: Layer) -> Kind:
    """The kind of ``layer`` (the same as ``layer.kind``)."""
    return layer.kind


__all__ = [
    "CONV",
    "CONV_TRANSPOSE",
    "DENSE",
    "FLATTEN",
    "POOL",
    "REGISTRY",
    "TYPES",
    "ClosedForm",
    "ConvLayer",
    "ConvTransposeLayer",
    "DenseLayer",
    "Fields",
    "FlattenLayer",
    "ForwardState",
    "Kind",
    "Layer",
    "LayerGrads",
    "LayerTrace",
    "Overlay",
    "PoolLayer",
    "Shape",
    "Step",
    "by_type",
    "conv_closed_form",
    "layer_schema",
    "of",
]

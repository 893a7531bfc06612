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

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .base import Fields, ForwardState, Kind, Layer, LayerGrads, LayerTrace, Overlay, Shape, Step
from .conv import CONV, ClosedForm, ConvLayer, conv_closed_form

if TYPE_CHECKING:
    from .conv_transpose import CONV_TRANSPOSE, ConvTransposeLayer
    from .dense import DENSE, DenseLayer
    from .flatten import FLATTEN, FlattenLayer
    from .pool import POOL, PoolLayer

# Each file "type" and the module and name of its kind, in the order the format documents them. The
# kinds but conv are imported when first asked for (a model of convolutions alone never
# pays for the others' classes: some 15 ms of a launch).
_KIND_AT = {
    "conv": (".conv", "CONV"),
    "pool": (".pool", "POOL"),
    "flatten": (".flatten", "FLATTEN"),
    "dense": (".dense", "DENSE"),
    "conv_transpose": (".conv_transpose", "CONV_TRANSPOSE"),
}
# The names this package exports from those modules, and the module of each.
_LAZY = {
    "CONV_TRANSPOSE": ".conv_transpose",
    "ConvTransposeLayer": ".conv_transpose",
    "DENSE": ".dense",
    "DenseLayer": ".dense",
    "FLATTEN": ".flatten",
    "FlattenLayer": ".flatten",
    "POOL": ".pool",
    "PoolLayer": ".pool",
}


def __getattr__(name: str) -> Any:
    """``kinds.POOL``, ``kinds.PoolLayer``, ...: the kind's module is imported on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


class _Registry(Mapping[str, Kind]):
    """The file's ``type`` -> its kind, a read-only mapping that imports a kind when first asked."""

    def __getitem__(self, type_name: str) -> Kind:
        place = _KIND_AT.get(type_name) if isinstance(type_name, str) else None
        if place is None:
            raise KeyError(type_name)
        module, constant = place
        kind: Kind = getattr(importlib.import_module(module, __name__), constant)
        return kind

    def __iter__(self) -> Iterator[str]:
        return iter(_KIND_AT)

    def __len__(self) -> int:
        return len(_KIND_AT)

    def __contains__(self, type_name: object) -> bool:
        return type_name in _KIND_AT  # known without importing the kind

    def __repr__(self) -> str:
        return f"kinds.REGISTRY({list(_KIND_AT)})"


# The registry: the file's "type" -> the kind (in the order the format documents them).
REGISTRY: Mapping[str, Kind] = _Registry()
TYPES: tuple[str, ...] = tuple(_KIND_AT)


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

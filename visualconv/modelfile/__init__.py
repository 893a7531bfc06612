"""Load, validate and save model files (format ``visualconv/1``).

Validation runs in stages, each of which names the place of the first problem:

1. reading (:mod:`.read`): the file must be a regular file of at most
   :data:`MAX_FILE_BYTES`, in UTF-8;
2. parsing (:mod:`.read`): valid JSON, no NaN/Infinity or numbers beyond float64,
   no duplicate keys, no nesting deeper than :data:`MAX_DEPTH`;
3. structure (:mod:`.schema`): the JSON Schema shipped in the package (keys, types,
   enums), loaded on first use;
4. meaning (:mod:`.build`, with :mod:`.arrays` for the array shorthand and
   :mod:`.layers` for each layer type): ragged arrays, shapes, layer-to-layer fit,
   the loss target, the training section, and the memory one forward and backward
   pass would need (the walk of :mod:`visualconv.engine.budget`) — refused before
   anything of that size is allocated.

Writing (:mod:`.write`) turns a model back into its document and writes it atomically.

Every problem is raised as one :class:`ModelError` naming the file, the place and
what was expected; :func:`load_model` and :func:`loads` raise nothing else.
"""

from __future__ import annotations

from ..engine.budget import MEMORY_BUDGET_BYTES, check_layers, check_memory, estimated_bytes
from ..engine.errors import ModelError
from .arrays import MAX_AXES, canonical, to_array
from .build import INTERNAL_ERROR, load_model, loads, model_from_document, parse_target
from .layers import MAX_SETTING, layer_document
from .messages import place_of
from .read import MAX_CONTAINERS, MAX_DEPTH, MAX_FILE_BYTES
from .schema import FORMAT, MAX_LAYERS, parse_document, schema, schema_path
from .write import atomic_write_text, dumps, model_document, save_model

__all__ = [
    "FORMAT",
    "INTERNAL_ERROR",
    "MAX_AXES",
    "MAX_CONTAINERS",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_LAYERS",
    "MAX_SETTING",
    "MEMORY_BUDGET_BYTES",
    "ModelError",
    "atomic_write_text",
    "canonical",
    "check_layers",
    "check_memory",
    "dumps",
    "estimated_bytes",
    "layer_document",
    "load_model",
    "loads",
    "model_document",
    "model_from_document",
    "parse_document",
    "parse_target",
    "place_of",
    "save_model",
    "schema",
    "schema_path",
    "to_array",
]

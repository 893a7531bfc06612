"""Stage 3 of reading: the JSON Schema shipped in the package (keys, types, enums).

The schema is read on first use. A document is first checked by :func:`.conforms.conforms`
(a quick exact yes/no that imports nothing); only when it is not plainly valid is
``jsonschema`` imported and its validator built (some 40-70 ms), and its errors are
phrased as one 'expected ..., got ...' at its place.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..engine.errors import Message, ModelError
from ..i18n import N_
from .conforms import conforms
from .messages import describe, json_type, key_text, place_of
from .read import decode, scan

FORMAT = "visualconv/1"
MAX_LAYERS = 1000


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the model format, as shipped in the package."""
    text = resources.files("visualconv").joinpath("schema/model.schema.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


def schema_path() -> Path:
    """Where the JSON Schema file lies in the installed package (for editors)."""
    return Path(str(resources.files("visualconv").joinpath("schema/model.schema.json")))


def _is_integer(checker: Any, instance: Any) -> bool:
    # JSON Schema counts 2.0 as an integer; a model file may not: sizes, strides,
    # dims and class indices are written without a decimal point, as in PyTorch.
    return isinstance(instance, int) and not isinstance(instance, bool)


@cache
def _validator() -> Any:
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine("integer", _is_integer)
    strict = jsonschema.validators.extend(base, type_checker=checker)
    return strict(schema())


_TYPE_WORDS = {
    "integer": N_("an integer"),
    "number": N_("a number"),
    "string": N_("a string"),
    "array": N_("a list"),
    "object": N_("an object"),
    "boolean": N_("true or false"),
    "null": "null",
}

# The schema's "x-expected" words (visualconv/schema/model.schema.json), marked for the
# catalogues; tests/test_messages_language.py checks that every one of the schema's is here.
EXPECTED_WORDS = (
    N_("1 or 2 (an integer)"),
    N_("a non-empty list of layer objects"),
    N_("a non-empty string (the model's title)"),
    N_("a non-negative integer (at most 2147483647)"),
    N_("a non-negative integer or a pair of non-negative integers"),
    N_('a non-negative integer, a pair of them, "same" or "valid"'),
    N_("a number (leaky_relu's slope for z < 0)"),
    N_(
        "a number or a nested list of numbers shaped like the last output (mse), "
        "or a class index (cross_entropy)"
    ),
    N_("a number or a nested list of numbers"),
    N_("a number, a list of numbers (one per output channel) or null for no bias"),
    N_("a positive integer (at most 2147483647)"),
    N_("a positive integer dividing the input and output channels"),
    N_('a positive integer or "full"'),
    N_("a positive integer or a pair of positive integers"),
    N_('a positive integer, a pair of positive integers or "global"'),
    N_("a string"),
    N_("an object with a 'kind' (inline, teacher, shapes or digits)"),
)


def _words(text: str) -> str:
    """Words of the schema or this module as a :class:`Message` (translated where shown)."""
    return Message(text)


def _or(words: list[str]) -> str:
    """``a`` / ``a or b`` / ``a or b or c``, each part translatable."""
    result = words[0]
    for word in words[1:]:
        result = Message("{first} or {second}", first=result, second=word)
    return result


def _schema_message(error: Any) -> tuple[str, list[str | int]]:
    """Turn one jsonschema error into ('expected ..., got ...', path)."""
    path: list[str | int] = list(error.absolute_path)
    validator = error.validator
    got = describe(error.instance)
    if validator == "required":
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        missing = next((k for k in error.validator_value if k not in error.instance), "?")
        sub = known.get(missing, {}) if isinstance(known, dict) else {}
        what = _expected_of(sub) or Message("a value")
        return (
            Message("missing required key '{key}'; expected {what} here", key=key_text(missing), what=what),
            [*path, missing],
        )
    if validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in known)
        key = extra[0] if extra else "?"
        owner = error.instance.get("type") if isinstance(error.instance, dict) else None
        kind = (
            Message("a {type} layer", type=owner)
            if isinstance(owner, str) and path and path[0] == "layers"
            else Message("this object")
        )
        return (
            Message(
                "unknown key '{key}'; expected only the keys of {kind}: {keys}",
                key=key_text(key),
                kind=kind,
                keys=", ".join(known),
            ),
            [*path, key],
        )
    expected = _expected_of(error.schema)
    if expected:
        return _expected_got(expected, got), path
    if validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        words = _or([_words(_TYPE_WORDS[t]) if t in _TYPE_WORDS else str(t) for t in types])
        return _expected_got(words, got), path
    if validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        signs = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
        return (
            Message(
                "expected a number {sign} {bound}, got {got}",
                sign=signs[validator],
                bound=error.validator_value,
                got=got,
            ),
            path,
        )
    if validator == "minItems":
        return Message("expected at least {n} item(s), got {got}", n=error.validator_value, got=got), path
    if validator == "maxItems":
        return (
            Message(
                "expected at most {n} item(s), got {got}",
                n=error.validator_value,
                got=_describe_count(error.instance),
            ),
            path,
        )
    if validator == "minLength":
        return Message("expected a non-empty string"), path
    # Fallback for a validator without its own wording: keep it short and on one line.
    text = " ".join(str(error.message).split())
    return (text if len(text) <= 120 else text[:117] + "..."), path


def _expected_got(expected: str, got: str) -> str:
    return Message("expected {expected}, got {got}", expected=expected, got=got)


def _describe_count(value: Any) -> str:
    return f"{len(value)}" if isinstance(value, list) else describe(value)


def _expected_of(sub: Any) -> str:
    """What a (sub)schema expects, in words, when it says so or is a simple enum."""
    if not isinstance(sub, dict):
        return ""
    ref = sub.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and "x-expected" not in sub:
        sub = schema()["$defs"].get(ref[len("#/$defs/") :], {})
    if "x-expected" in sub:
        return _words(str(sub["x-expected"]))
    if "const" in sub:
        return json.dumps(sub["const"])
    if "enum" in sub:
        options = [json.dumps(o) for o in sub["enum"]]
        if len(options) > 2:
            return Message("one of {options}", options=", ".join(options))
        return _or(options)
    return ""


def _leaves(error: Any) -> list[Any]:
    """The innermost errors under a oneOf/anyOf error (or the error itself)."""
    if not error.context:
        return [error]
    result = []
    for sub in error.context:
        result.extend(_leaves(sub))
    return result


def _best_error(errors: Sequence[Any]) -> tuple[str, str]:
    """Pick the most useful schema error and phrase it: (message, place).

    The deepest place wins (``layers[1].stride[0]`` over ``layers[1]``); the words
    come from the nearest schema on the way up that says what it expects at that
    same place (its ``x-expected``), so a oneOf of 'an int or a pair' reads as one
    expectation rather than as the first branch that failed.
    """
    leaves = [leaf for error in errors for leaf in _leaves(error)]

    def rank(leaf: Any) -> tuple[int, int, int]:
        # Deeper first; then a missing or unknown key (whose place gets one level
        # deeper); then errors that are not a bare type mismatch of a oneOf branch.
        key_error = leaf.validator in ("required", "additionalProperties")
        return (len(leaf.absolute_path) + key_error, int(key_error), int(leaf.validator != "type"))

    leaf = max(leaves, key=rank)
    path = list(leaf.absolute_path)
    if leaf.validator not in ("required", "additionalProperties"):
        node = leaf
        while node is not None:
            if list(node.absolute_path) != path:
                break
            if isinstance(node.schema, dict) and "x-expected" in node.schema:
                got = describe(node.instance)
                return _expected_got(_words(node.schema["x-expected"]), got), place_of(path)
            node = node.parent
    message, where = _schema_message(leaf)
    return message, place_of(where)


def check_structure(document: Any, scanned: bool = False) -> dict[str, Any]:
    """Steps 2 (unless ``scanned``) and 3 for a parsed document."""
    if not scanned:
        scan(document, [], {})
    if not isinstance(document, dict):
        raise ModelError(
            Message(
                "expected a JSON object {braces} at the top level, got {got}",
                braces="{...}",
                got=json_type(document),
            )
        )
    if "format" in document and document["format"] != FORMAT:
        hint = (
            {
                "visualconv.grad/1": Message("; this is the output of 'visualconv grad', not a model file"),
                "visualconv.train/1": Message(
                    "; this is the output of 'visualconv train': its 'model' key is one"
                ),
            }.get(document["format"], "")
            if isinstance(document["format"], str)
            else ""
        )
        raise ModelError(
            Message(
                "expected {format} (the only format version this visualconv reads), got {got}{hint}",
                format=json.dumps(FORMAT),
                got=describe(document["format"]),
                hint=hint,
            ),
            "format",
        )
    layers = document.get("layers")
    if isinstance(layers, list) and len(layers) > MAX_LAYERS:
        raise ModelError(
            Message("expected at most {limit} layers, got {count}", limit=MAX_LAYERS, count=len(layers)),
            "layers",
        )
    if conforms(document, schema()):
        return document  # valid, as jsonschema would say (which alone words a file's errors)
    errors = list(_validator().iter_errors(document))
    if errors:
        message, place = _best_error(errors)
        raise ModelError(message, place)
    return document


def parse_document(text: str) -> dict[str, Any]:
    """Parse JSON text into a document and check it against the schema.

    Raises
    ------
    ModelError
        For bad JSON, non-finite numbers or a structural error, with its place.
    """
    if not text.strip():
        raise ModelError(Message("the file is empty; expected a JSON model object"))
    return check_structure(decode(text), scanned=True)

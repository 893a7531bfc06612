"""A quick yes/no against the model format's JSON Schema, without importing ``jsonschema``.

Importing ``jsonschema`` and building its validator costs some 40-70 ms of every start
(the window's first frame, ``visualconv grad``), although nearly every file read is
valid. :func:`conforms` interprets the few keywords the shipped schema uses (``type``,
``const``, ``enum``, ``required``, ``properties``, ``additionalProperties``, ``items``,
``minItems``, ``maxItems``, ``minLength``, ``minimum``, ``maximum``, ``exclusiveMinimum``,
``exclusiveMaximum``, ``oneOf``, ``allOf``, ``if``/``then``/``else`` and local ``$ref``)
with Draft 2020-12's meaning and the format's integers (no ``2.0``, no booleans). It
answers True or False only when it can decide exactly, and None otherwise (another
keyword, a ``$ref`` elsewhere, a value that is not plain JSON such as a NumPy number):
then, and whenever the answer is False, :mod:`.schema` asks ``jsonschema``, whose errors
are the only ones a user sees. Exact, not merely cautious, because ``oneOf`` and ``if``
turn a wrong "no" into a wrong "yes"; tests/robustness/test_schema_conforms.py holds the
answers to ``jsonschema``'s on thousands of mutated models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Keywords that only describe (never change whether an instance is valid).
_NOTES = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "x-expected", "default", "examples"}
)
_PLAIN = (dict, list, str, int, float, bool, type(None))


class _CannotTell(Exception):
    """The schema or the instance is outside what :func:`conforms` decides exactly."""


def _is_integer(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}


def _equal(value: Any, wanted: Any) -> bool:
    """JSON equality for the scalars a schema's ``const`` and ``enum`` hold (1 == 1.0, True != 1)."""
    if type(wanted) not in (str, int, float, bool, type(None)):
        raise _CannotTell
    if type(value) not in _PLAIN:
        raise _CannotTell
    if type(value) is bool or type(wanted) is bool:
        return type(value) is type(wanted) and value == wanted
    if _is_number(value) and _is_number(wanted):
        return bool(value == wanted)
    if type(value) is str and type(wanted) is str:
        return value == wanted
    return value is None and wanted is None


class _Checker:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise _CannotTell
        node: Any = self.root
        for part in ref[2:].split("/"):
            if "~" in part or not isinstance(node, dict) or part not in node:
                raise _CannotTell
            node = node[part]
        return node

    def valid(self, value: Any, node: Any) -> bool:
        if node is True:
            return True
        if node is False:
            return False
        if not isinstance(node, dict) or ("$id" in node and node is not self.root):
            raise _CannotTell  # a nested $id would move where references point
        if type(value) not in _PLAIN:
            raise _CannotTell
        # A keyword judged exactly decides, whatever the ones not looked at would say.
        for key, rule in node.items():
            if key in _NOTES or key in ("then", "else"):
                continue
            name = "k_ref" if key == "$ref" else "" if key.startswith("$") else "k_" + key
            check = getattr(self, name, None) if name else None
            if check is None:
                raise _CannotTell
            if not check(value, rule, node):
                return False
        return True

    # -- keywords (value, the keyword's argument, the whole schema object)

    def k_ref(self, value: Any, ref: Any, node: dict[str, Any]) -> bool:
        return self.valid(value, self.resolve(ref))

    def k_type(self, value: Any, names: Any, node: dict[str, Any]) -> bool:
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or any(name not in _TYPES for name in names):
            raise _CannotTell
        return any(_TYPES[name](value) for name in names)

    def k_const(self, value: Any, wanted: Any, node: dict[str, Any]) -> bool:
        return _equal(value, wanted)

    def k_enum(self, value: Any, choices: Any, node: dict[str, Any]) -> bool:
        if not isinstance(choices, list):
            raise _CannotTell
        return any(_equal(value, choice) for choice in choices)

    def k_required(self, value: Any, keys: Any, node: dict[str, Any]) -> bool:
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise _CannotTell
        return type(value) is not dict or all(k in value for k in keys)

    def k_properties(self, value: Any, props: Any, node: dict[str, Any]) -> bool:
        if not isinstance(props, dict):
            raise _CannotTell
        if type(value) is not dict:
            return True
        return all(self.valid(value[k], sub) for k, sub in props.items() if k in value)

    def k_additionalProperties(self, value: Any, rule: Any, node: dict[str, Any]) -> bool:
        if "patternProperties" in node:
            raise _CannotTell
        if type(value) is not dict:
            return True
        known = node.get("properties", {})
        return all(self.valid(item, rule) for key, item in value.items() if key not in known)

    def k_items(self, value: Any, rule: Any, node: dict[str, Any]) -> bool:
        if "prefixItems" in node or isinstance(rule, list):
            raise _CannotTell
        if type(value) is not list:
            return True
        return all(self.valid(item, rule) for item in value)

    def _count(self, value: Any, limit: Any, kind: type[list[Any]] | type[str], below: bool) -> bool:
        if not _is_integer(limit) or limit < 0:
            raise _CannotTell
        if type(value) is not kind:
            return True
        size: int = len(value)
        return bool(size <= limit) if below else bool(size >= limit)

    def k_minItems(self, value: Any, limit: Any, node: dict[str, Any]) -> bool:
        return self._count(value, limit, list, below=False)

    def k_maxItems(self, value: Any, limit: Any, node: dict[str, Any]) -> bool:
        return self._count(value, limit, list, below=True)

    def k_minLength(self, value: Any, limit: Any, node: dict[str, Any]) -> bool:
        return self._count(value, limit, str, below=False)

    def _bound(self, value: Any, limit: Any, fails: Any) -> bool:
        # Written as jsonschema tests it (a failing comparison), so that NaN is judged alike.
        if not _is_number(limit):
            raise _CannotTell
        return not _is_number(value) or not fails(value, limit)

    def k_minimum(self, value: Any, limit: Any, node: dict[str, Any]) -> bool:
        return self._bound(value, limit, lambda v, m: v < m)

    def k_maximum(self, value: Any, limit: Any, node: dict[str, Any]) -> bool:
        return self._bound(value, limit, lambda v, m: v > m)

    def k_exclusiveMinimum(self, value: Any, limit: Any, node: dict[str, Any]) -> bool:
        return self._bound(value, limit, lambda v, m: v <= m)

    def k_exclusiveMaximum(self, value: Any, limit: Any, node: dict[str, Any]) -> bool:
        return self._bound(value, limit, lambda v, m: v >= m)

    def _each(self, value: Any, subs: Any) -> list[bool]:
        if not isinstance(subs, list) or not subs:
            raise _CannotTell
        return [self.valid(value, sub) for sub in subs]

    def k_oneOf(self, value: Any, subs: Any, node: dict[str, Any]) -> bool:
        return self._each(value, subs).count(True) == 1

    def k_allOf(self, value: Any, subs: Any, node: dict[str, Any]) -> bool:
        return all(self._each(value, subs))

    def k_if(self, value: Any, condition: Any, node: dict[str, Any]) -> bool:
        branch = node.get("then", True) if self.valid(value, condition) else node.get("else", True)
        return self.valid(value, branch)


def conforms(document: Any, schema: dict[str, Any]) -> bool | None:
    """Whether ``document`` is valid against ``schema``, as ``jsonschema`` would judge it.

    Returns
    -------
    bool or None
        None when the schema uses something this check does not decide exactly, or the
        document holds a value that is not plain JSON (ask ``jsonschema`` then).
    """
    try:
        return _Checker(schema).valid(document, schema)
    except (_CannotTell, RecursionError):
        return None

"""Stages 1 and 2 of reading: the file's bytes, UTF-8, and JSON with its limits.

The file must be a regular file of at most :data:`MAX_FILE_BYTES`, in UTF-8; its
JSON may hold no NaN/Infinity or numbers beyond float64, no duplicate keys, no
nesting deeper than :data:`MAX_DEPTH` and no more than :data:`MAX_CONTAINERS` lists
and objects.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import stat
import unicodedata
from typing import Any

from ..engine.budget import format_bytes
from ..engine.errors import Message, ModelError
from .messages import FLOAT_MAX, NonFinite, describe, key_text, place_of

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Model files larger than this are refused without being read."""
MAX_DEPTH = 32
"""Lists and objects nested deeper than this are refused (a model needs about 8)."""
MAX_CONTAINERS = 4_000_000
"""More lists and objects than this (a 16 x 4096 x 4096 image has 65536) are refused."""


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return Message("line {line}, column {column}", line=line, column=column)


def _hex(prefix: str, value: int, digits: int) -> str:
    """``prefix`` and ``value`` in hexadecimal digits (``0x1b``, ``U+00E9`` with upper())."""
    return prefix + format(value, f"0{digits}x")


def _check_text(value: str, path: list[str | int]) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        raise ModelError(
            Message(
                "expected valid Unicode text, got a lone surrogate escape {escape}",
                escape=_hex("\\u", code, 4),
            ),
            place_of(path),
        ) from None
    if value.isprintable():
        return
    # Control characters are refused (they would reach terminals, SVG and Markdown as
    # commands); a description may hold line breaks and tabs.
    allowed = "\n\t\r" if path and path[-1] == "description" else ""
    for position, ch in enumerate(value):
        if unicodedata.category(ch) == "Cc" and ch not in allowed:
            kind = (
                Message("a line break")
                if ch in "\n\r"
                else Message("a tab")
                if ch == "\t"
                else Message("a control character")
            )
            where = (
                "" if allowed else Message(" (only a description may span lines)") if ch in "\n\r\t" else ""
            )
            raise ModelError(
                Message(
                    "expected text without control characters, got {kind} {code} "
                    "at character {position}{where}",
                    kind=kind,
                    code=_hex("U+", ord(ch), 4).upper(),
                    position=position + 1,
                    where=where,
                ),
                place_of(path),
            )


NUMBER_TYPES = frozenset({int, float})


def _plain_numbers(value: list[Any], depth: int) -> bool:
    """Whether ``value`` is a (possibly ragged) nest of lists of finite float64 numbers.

    Works level by level with C-speed iteration (no Python call per element), so a
    large array is checked quickly; anything else is left to the slow, placed walk.
    """
    level = value
    while True:
        if depth >= MAX_DEPTH:
            return False
        kinds = set(map(type, level))
        if kinds <= NUMBER_TYPES:
            try:
                return all(map(math.isfinite, level))
            except OverflowError:  # an integer beyond float64
                return False
        if kinds != {list}:
            return False
        level = list(itertools.chain.from_iterable(level))
        depth += 1


def scan(value: Any, path: list[str | int], duplicates: dict[int, str]) -> None:
    """Refuse NaN/Infinity, numbers beyond float64, duplicate keys, bad text, deep nesting."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            got = "NaN" if math.isnan(value) else "a number too large for float64"
            raise ModelError(Message("expected a finite number, got {got}", got=got), place_of(path))
    elif kind is int:
        if abs(value) > FLOAT_MAX:
            raise ModelError(
                Message("expected a finite number, got a number too large for float64"), place_of(path)
            )
    elif kind is NonFinite:
        raise ModelError(Message("expected a finite number, got {got}", got=value.token), place_of(path))
    elif kind is str:
        _check_text(value, path)
    elif kind is list or kind is dict:
        if len(path) >= MAX_DEPTH:
            raise ModelError(_too_deep(), place_of(path))
        if kind is list:
            if not value or _plain_numbers(value, len(path)):
                return
            for index, item in enumerate(value):
                scan(item, [*path, index], duplicates)
        else:
            if id(value) in duplicates:
                key = duplicates[id(value)]
                raise ModelError(
                    Message("duplicate key '{key}'; expected each key at most once", key=key_text(key)),
                    place_of([*path, key]),
                )
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ModelError(
                        Message("expected text keys, got the key {key}", key=describe(key)), place_of(path)
                    )
                _check_text(key, path)
                scan(item, [*path, key], duplicates)


def _json_complaint(text: str, exc: json.JSONDecodeError) -> str:
    """Python's JSON error message in the 'expected ..., got ...' style of the others."""
    message = exc.msg
    expected: str
    if message.startswith("Expecting "):
        what = message[len("Expecting ") :]
        words = {"value": Message("a value"), "',' delimiter": Message("',' before the next item")}
        expected = Message("expected {what}", what=words.get(what, what))
    elif message == "Extra data":
        expected = Message("expected the end of the file after the model object, got more text")
    else:
        expected = Message(
            "expected well-formed JSON, got: {complaint}", complaint=message[0].lower() + message[1:]
        )
    if not text[exc.pos :].strip() and exc.pos > 0:
        return Message("the text ends too early, {expected}; is the file cut short?", expected=expected)
    return expected


def _too_deep() -> Message:
    return Message("nested too deeply: expected at most {depth} levels of lists and objects", depth=MAX_DEPTH)


def decode(text: str) -> Any:
    """Parse JSON text with the format's limits; the document is scanned (NaN, duplicates, depth)."""
    nul = text.find("\x00")
    if nul >= 0:
        # Never valid in JSON; UTF-16 text without a byte-order mark is full of them.
        hint = (
            Message(" (is the file UTF-16? save it as UTF-8)") if text.count("\x00") * 4 > len(text) else ""
        )
        raise ModelError(
            Message("expected UTF-8 JSON text, got a NUL character{hint}", hint=hint), _position(text, nul)
        )
    containers = text.count("[") + text.count("{")
    if containers > MAX_CONTAINERS:
        # Each list costs the parser far more than a number; refuse before parsing.
        raise ModelError(
            Message(
                "expected at most {limit} lists and objects in a model file, got {count}; "
                "expected a smaller model",
                limit=MAX_CONTAINERS,
                count=containers,
            )
        )
    duplicates: dict[int, str] = {}

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    duplicates[id(result)] = key
                    break
                seen.add(key)
        return result

    try:
        document = json.loads(text, parse_constant=NonFinite, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as exc:
        raise ModelError(
            Message("not valid JSON: {complaint}", complaint=_json_complaint(text, exc)),
            _position(text, exc.pos),
        ) from None
    except RecursionError:
        raise ModelError(_too_deep()) from None
    except ValueError as exc:
        # Integers longer than Python's digit limit (4300 digits).
        match = re.search(r"\d{400,}", text)
        where = _position(text, match.start()) if match else ""
        digits = re.search(r"has (\d+) digits", str(exc))
        count = Message(" with {n} digits", n=digits.group(1)) if digits else Message(" with too many digits")
        raise ModelError(
            Message("expected a number that fits float64, got an integer{count}", count=count), where
        ) from None
    scan(document, [], duplicates)
    return document


def decode_bytes(data: bytes) -> str:
    """The text of a file's bytes, which must be UTF-8 (a UTF-8 byte-order mark is dropped)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "UTF-32" if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) else "UTF-16"
        raise ModelError(
            Message(
                "expected UTF-8 text, got {encoding} (the file starts with a {encoding} byte-order mark); "
                "save it as UTF-8",
                encoding=encoding,
            )
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = (
            Message("UTF-16 without a byte-order mark?")
            if byte == 0 or b"\x00" in data[:64]
            else Message("Latin-1 or Windows-1252?")
        )
        raise ModelError(
            Message(
                "expected UTF-8 text, got the byte {byte}, which is not UTF-8 ({hint}); "
                "save the file as UTF-8",
                byte=_hex("0x", byte, 2),
                hint=hint,
            ),
            Message("line {line}, column {column}", line=line, column=column),
        ) from None


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a model file: a regular file of at most :data:`MAX_FILE_BYTES`."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ModelError(Message("expected a model file, got a directory"))
        if not stat.S_ISREG(info.st_mode):
            raise ModelError(Message("expected a model file, got a device, pipe or socket"))
        if info.st_size > MAX_FILE_BYTES:
            raise ModelError(_too_large(info.st_size))
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except ModelError:
        raise
    except OSError as exc:
        raise ModelError(Message("cannot read the file: {reason}", reason=exc.strerror or exc)) from None
    except (ValueError, TypeError) as exc:  # a NUL character in the name, a name that is no path
        raise ModelError(Message("cannot read the file: {reason}", reason=exc)) from None
    if len(data) > MAX_FILE_BYTES:
        raise ModelError(_too_large(len(data)))
    return data


def _too_large(size: int) -> str:
    return Message(
        "the file is {size}; expected a model file of at most {limit}",
        size=format_bytes(size),
        limit=format_bytes(MAX_FILE_BYTES),
    )

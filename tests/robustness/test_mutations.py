"""Property: a mutated sample model either loads or raises ModelError — nothing else.

Hypothesis mutates the sample models thousands of times (deleted keys, swapped
types, numbers turned into strings, negatives, huge values and NaN tokens,
truncated text, unknown keys, reshaped arrays, flipped bytes). Loading must give a
Model or one ModelError whose message is a single line and not the wrapper of an
unexpected error; ``visualconv grad`` must exit 0 or 2 with at most one stderr line.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visualconv import ModelError
from visualconv.cli import main
from visualconv.engine.model import Model
from visualconv.modelfile import INTERNAL_ERROR, load_model, loads

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "sample_models").glob("*.json"))
DOCUMENTS = {path.name: json.loads(path.read_text("utf-8")) for path in SAMPLES}
TEXTS = {path.name: path.read_text("utf-8") for path in SAMPLES}
NAMES = sorted(DOCUMENTS)

SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "database": None,
}

REPLACEMENTS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2,
    0.5,
    -2.5,
    2.0,
    10**9,
    10**30,
    1e308,
    -1e308,
    1e-320,
    "",
    "x",
    "1",
    "conv",
    "visualconv/1",
    [],
    [[]],
    [1],
    [1, 2],
    [[1, 2], [3]],
    [1, [2]],
    [[[[[[[[1]]]]]]]],
    {},
    {"type": "flatten"},
    {"type": "pool", "mode": "max", "size": 2},
    {"kind": "inline"},
    float("nan"),
    float("inf"),
]

UNKNOWN_KEYS = [
    "extra",
    "kernel_size",
    "Type",
    "",
    "$schema",
    "upstream",
    "target",
    "loss",
    "training",
    "dims",
]
NUMBER_TOKENS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "9" * 400,
    "1.5",
    '"2"',
    "true",
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document (the root is ())."""
    result = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            result.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            result.extend(_paths(item, (*prefix, index)))
    return result


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def _set(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(document, path[:-1])[path[-1]] = value
    return document


def _delete(document: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return document
    del _get(document, path[:-1])[path[-1]]
    return document


def _reshape(value: Any, how: int) -> Any:
    if not isinstance(value, list):
        return [value] if how % 2 else [[value]]
    if how == 0:
        return value[:-1]
    if how == 1:
        return [*value, value[0] if value else 0]
    if how == 2:
        return [value]
    if how == 3:
        flat: list[Any] = []
        for item in value:
            flat.extend(item if isinstance(item, list) else [item])
        return flat
    if how == 4:
        return value[0] if value else 0
    return [value, value]


@st.composite
def mutated_document(draw: st.DrawFn) -> Any:
    document = copy.deepcopy(DOCUMENTS[draw(st.sampled_from(NAMES))])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(document)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        target = _get(document, path)
        operation = draw(st.sampled_from(["delete", "replace", "number", "unknown", "reshape", "layer"]))
        if operation == "delete":
            document = _delete(document, path)
        elif operation == "replace":
            document = _set(document, path, copy.deepcopy(draw(st.sampled_from(REPLACEMENTS))))
        elif operation == "number" and isinstance(target, (int, float)) and not isinstance(target, bool):
            change = draw(st.sampled_from(["string", "negative", "huge", "tiny", "zero", "fraction", "bool"]))
            new = {
                "string": str(target),
                "negative": -abs(target) - 1,
                "huge": target * 10**12 if isinstance(target, int) else target * 1e300,
                "tiny": target * 1e-300,
                "zero": 0,
                "fraction": target + 0.5,
                "bool": bool(target),
            }[change]
            document = _set(document, path, new)
        elif operation == "unknown" and isinstance(target, dict):
            target[draw(st.sampled_from(UNKNOWN_KEYS))] = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
        elif operation == "reshape":
            document = _set(document, path, _reshape(copy.deepcopy(target), draw(st.integers(0, 5))))
        elif operation == "layer" and isinstance(document, dict) and isinstance(document.get("layers"), list):
            layers = document["layers"]
            if layers:
                index = draw(st.integers(0, len(layers) - 1))
                if isinstance(layers[index], dict):
                    layers[index]["type"] = draw(
                        st.sampled_from(["conv", "pool", "flatten", "dense", "relu"])
                    )
    return document


def _check_load(text: str) -> Model | None:
    try:
        return loads(text, "mutant.json")
    except ModelError as exc:
        message = str(exc)
        assert message.startswith("mutant.json"), message
        assert "\n" not in message
        assert INTERNAL_ERROR not in message, message
        return None


@settings(max_examples=1500, **SETTINGS)
@given(mutated_document())
def test_mutated_documents_load_or_raise_model_error(document) -> None:
    # json.dumps writes NaN/Infinity tokens for non-finite floats: those must be refused too.
    _check_load(json.dumps(document))


@st.composite
def mutated_text(draw: st.DrawFn) -> bytes:
    text = TEXTS[draw(st.sampled_from(NAMES))]
    data = text.encode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        operation = draw(st.sampled_from(["truncate", "flip", "token", "insert", "delete"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if operation == "truncate":
            data = data[:position]
        elif operation == "flip" and data:
            data = (
                data[:position] + bytes([data[position] ^ draw(st.integers(1, 255))]) + data[position + 1 :]
            )
        elif operation == "token":
            # Replace the number that starts at or after ``position`` by an odd token.
            decoded = data.decode("utf-8", "replace")
            start = next((i for i in range(position, len(decoded)) if decoded[i] in "-0123456789"), None)
            if start is not None:
                end = start + 1
                while end < len(decoded) and decoded[end] in "0123456789.eE+-":
                    end += 1
                decoded = decoded[:start] + draw(st.sampled_from(NUMBER_TOKENS)) + decoded[end:]
                data = decoded.encode("utf-8")
        elif operation == "insert":
            piece = draw(
                st.sampled_from([b"[", b"]", b"{", b"}", b",", b'"', b":", b"\\", b"\x00", b"\xff", b"\xc3"])
            )
            data = data[:position] + piece + data[position:]
        elif data:
            data = data[:position] + data[position + draw(st.integers(1, 8)) :]
    return data


@settings(max_examples=1200, **SETTINGS)
@given(mutated_text())
def test_mutated_bytes_load_or_raise_model_error(data) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant.json"
        path.write_bytes(data)
        try:
            load_model(path)
        except ModelError as exc:
            message = str(exc)
            assert message.startswith(str(path)) and "\n" not in message
            assert INTERNAL_ERROR not in message, message


@settings(max_examples=300, **SETTINGS)
@given(mutated_document())
def test_grad_on_mutants_exits_0_or_2_with_one_line(document) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant.json"
        path.write_text(json.dumps(document), "utf-8")
        code = _grad(path)
    assert code in (0, 2)


def _refuse(token: str) -> None:
    raise AssertionError(f"grad --json printed {token}")


def _grad(path: Path) -> int:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["grad", str(path), "--json"])
    errors = err.getvalue()
    if code == 0:
        assert errors == ""
        # Strict JSON: Python's reader would accept NaN and Infinity, the spec's readers not.
        json.loads(out.getvalue(), parse_constant=_refuse)
    else:
        assert errors.count("\n") == 1 and "Traceback" not in errors, errors
        assert "unexpected error" not in errors and INTERNAL_ERROR not in errors, errors
    return code

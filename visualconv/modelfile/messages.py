"""Wording shared by the stages of reading a model file: places and short renderings of values."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..engine.errors import Message

FLOAT_MAX = float(np.finfo(np.float64).max)


def place_of(path: Iterable[str | int]) -> str:
    """Format a JSON path as ``layers[1].stride``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "":
            text += '[""]'  # the empty key, visible
        else:
            key = key_text(part)
            text += f".{key}" if text else key
    return text


def key_text(key: str) -> str:
    """A key as it may appear in a one-line message: escaped and at most 40 characters."""
    text = json.dumps(key, ensure_ascii=False)[1:-1]
    return text if len(text) <= 40 else text[:37] + "..."


class NonFinite:
    """Placeholder for NaN/Infinity tokens so the checker can name their place."""

    def __init__(self, token: str) -> None:
        self.token = token


def describe(value: Any) -> str:
    """A short rendering of a JSON value for 'got ...' (at most 40 characters)."""
    if isinstance(value, NonFinite):
        return value.token
    if isinstance(value, float) and not math.isfinite(value):
        return Message("a number too large for float64")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        return f"{float(value):.3g}" if abs(value) <= FLOAT_MAX else Message("a number too large for float64")
    if isinstance(value, list) and len(value) > 12:
        if value and isinstance(value[0], list):
            return Message("a list of {n} lists", n=len(value))
        return Message("a list of {n} items", n=len(value))
    if isinstance(value, dict) and len(value) > 6:
        return Message("an object with {n} keys", n=len(value))
    try:
        text = json.dumps(value, ensure_ascii=False, default=lambda v: f"<{type(v).__name__}>")
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def json_type(value: Any) -> str:
    """The JSON type of ``value`` in words ('a list', 'an object')."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return Message("a boolean")
    if isinstance(value, (int, float, NonFinite)):
        return Message("a number")
    if isinstance(value, str):
        return Message("a string")
    if isinstance(value, list):
        return Message("a list")
    return Message("an object")

"""Arrays given on the command line: ``.npy`` (never unpickled) or JSON (a nested list or a number)."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ..engine.errors import Message, ModelError

MAX_ARRAY_BYTES = 256 * 1024 * 1024


def read_array(path: str | os.PathLike[str], option: str) -> Any:
    """An array (float64) or a plain number from a ``.npy`` or ``.json`` file.

    Parameters
    ----------
    path : the file
    option : the option that named it (``--input``), for messages

    Raises
    ------
    ModelError
        Unreadable, a pickled (object) ``.npy``, non-numeric or non-finite values.
    """
    name = os.fspath(path)
    try:
        size = os.path.getsize(name)
        if size > MAX_ARRAY_BYTES:
            raise ModelError(
                Message("the file is {size} bytes; expected at most 256 MiB", size=size), option, name
            )
        if name.lower().endswith(".npy"):
            try:
                array = np.load(name, allow_pickle=False)
            except ValueError as exc:
                raise ModelError(
                    Message(
                        "expected a .npy file of numbers (pickled objects are never read), got: {exc}",
                        exc=exc,
                    ),
                    option,
                    name,
                ) from None
        else:
            with open(name, encoding="utf-8") as handle:
                value = json.load(handle, parse_constant=_refuse_constant)
            if isinstance(value, bool) or not isinstance(value, (int, float, list)):
                raise ModelError(Message("expected a number or a nested list of numbers"), option, name)
            if isinstance(value, int):
                return value
            array = np.array(value)
    except ModelError:
        raise
    except OSError as exc:
        raise ModelError(
            Message("cannot read the file: {error}", error=exc.strerror or exc), option, name
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(
            Message("expected JSON text (or a .npy file), got: {exc}", exc=exc), option, name
        ) from None
    except ValueError as exc:
        raise ModelError(
            Message("expected a regular array of numbers, got: {exc}", exc=exc), option, name
        ) from None
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise ModelError(Message("expected numbers, got {dtype}", dtype=array.dtype), option, name)
    if np.issubdtype(array.dtype, np.complexfloating):
        raise ModelError(Message("expected real numbers, got complex ones"), option, name)
    if np.issubdtype(array.dtype, np.integer) and array.ndim == 0:
        return int(array)
    result = np.asarray(array, dtype=np.float64)
    if not np.isfinite(result).all():
        raise ModelError(Message("expected finite numbers, got NaN or infinity"), option, name)
    return result


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a finite number")

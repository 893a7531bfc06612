"""Training datasets: validation and materialisation of the ``dataset`` section.

Only the ``inline`` kind lives here so far; built-in kinds register in
:data:`KINDS`.
"""

from __future__ import annotations

from typing import Any

from .errors import ModelError

KINDS = ("inline",)


def validate(spec: dict[str, Any], model: Any, shapes: list[tuple[int, ...]], loss: Any, place: str) -> None:
    """Check a dataset description against the model it trains.

    Raises
    ------
    ModelError
        With the place inside the dataset section.
    """
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ModelError(f"expected one of {', '.join(KINDS)}, got {kind!r}", f"{place}.kind")

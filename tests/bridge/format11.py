"""Skip a test whose format 1.1 layer the loader does not take yet."""

from __future__ import annotations

import pytest


def require_format_11(layer: dict, input_value, dims: int = 2) -> None:
    """Skip unless the loader accepts ``layer`` (a format 1.1 setting) on ``input_value``.

    The 1.1 settings (groups, conv_transpose, pool padding, global pooling, negative_slope,
    'same' padding) come with the engine's issue 18; the skip reason quotes the loader.
    """
    from visualconv.engine.errors import ModelError
    from visualconv.modelfile import model_from_document

    document = {
        "format": "visualconv/1",
        "name": "probe",
        "dims": dims,
        "input": input_value,
        "layers": [layer],
    }
    try:
        model_from_document(document)
    except ModelError as exc:
        pytest.skip(f"the loader does not accept this format 1.1 layer yet (issue 18): {exc}")

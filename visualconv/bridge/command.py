"""What ``visualconv import``, ``visualconv export FILE --torch SCRIPT`` and File > Import share.

:func:`import_network` reads an ``.onnx`` or ``.pt2`` file into a validated model
document; :func:`export_torch` writes a model file's PyTorch script atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..engine.errors import Message, ModelError


def import_network(
    path: str,
    *,
    input: Any = None,
    upstream: Any = None,
    target: Any = None,
    loss: str | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The validated model document of an ``.onnx`` or ``.pt2`` file.

    Raises
    ------
    ModelError
        Attributed to ``path``.
    """
    from ..modelfile import model_from_document

    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".onnx":
            from .onnx_import import import_onnx

            document = import_onnx(path, input=input, upstream=upstream, target=target, loss=loss)
        elif suffix == ".pt2":
            from .pt2_import import import_pt2

            document = import_pt2(path, input=input, upstream=upstream, target=target, loss=loss)
        else:
            raise ModelError(
                Message(
                    "expected an ONNX file (.onnx) or a torch.export archive (.pt2), got {suffix}",
                    suffix=suffix or "no extension",
                )
            )
        model_from_document(document)
    except ModelError as exc:
        raise (exc if exc.file else exc.in_file(path)) from None
    return document


def export_torch(file: str, script: str) -> Path:
    """Write the PyTorch script of the model file ``file`` to ``script`` (atomically).

    Raises
    ------
    ModelError
        For a bad model file, one without a backward pass, or an unwritable script path.
    """
    from ..modelfile import atomic_write_text, load_model
    from .torch_build import torch_script

    model = load_model(file)
    try:
        text = torch_script(model)
    except ModelError as exc:
        raise exc.in_file(file) from None
    try:
        atomic_write_text(script, text)
    except OSError as exc:
        raise ModelError(
            Message("cannot write {script}: {error}", script=script, error=exc.strerror or exc),
            "--torch",
            file,
        ) from None
    return Path(script)

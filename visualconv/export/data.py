"""A snapshot's numbers as data: JSON, NPZ and CSV (one file per matrix, in a folder or a zip).

The record holds the layer's keys of ``visualconv grad --json`` (spec section 5: ``index``,
``type``, ``pre_activation``, ``output``, ``grad_output``, ``grad_pre_activation``,
``grad_weight``, ``grad_bias``, ``grad_input``; the gradient keys only when the model has
a backward pass), plus ``pass``, ``step`` (k), ``n``, the ``overlay``, the step's scalar
``values``, its ``operands`` and accumulated ``state`` arrays, and the ``equation`` lines.
Arrays are in canonical shape: for a 1-D layer the height axis of the trace's 2-D view is
dropped, so ``state["dw"]`` has the shape of ``grad_weight``.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from ..engine.model import Model, gradients, run
from ..engine.scene import pass_scene
from ..engine.trace import LayerTrace, Step, as_dict
from ..engine.windows import FloatArray

SNAPSHOT_FORMAT = "visualconv.snapshot/1"


def _canonical(array: Any, dims: int) -> np.ndarray:
    """Drop the height axis (second to last, size 1) of a 1-D layer's 2-D view."""
    out: np.ndarray = np.asarray(array)
    if dims == 1 and out.ndim >= 2 and out.shape[-2] == 1:
        out = out.reshape(*out.shape[:-2], out.shape[-1])
    return out


def _slice(s: slice) -> list[int]:
    return [s.start, s.stop, s.step or 1]


def layer_entry(model: Model, index: int) -> dict[str, Any]:
    """Layer ``index``'s spec-section-5 entry (``grad --json``), forward keys only without a backward pass."""
    if model.has_backward:
        return dict(gradients(model)["layers"][index])
    layer = model.layers[index]
    record = run(model).records[index]
    entry: dict[str, Any] = {"index": index, "type": layer.type}
    if layer.kind.has_activation:
        entry["pre_activation"] = record.pre_activation[0]
    entry["output"] = record.output[0]
    return entry


def snapshot_record(model: Model, index: int, trace: LayerTrace, step: Step[Any, Any, Any]) -> dict[str, Any]:
    """Everything a snapshot shows, as a dict of NumPy arrays and plain values.

    Parameters
    ----------
    model : Model
    index : int
        Layer index.
    trace : LayerTrace
    step : Step

    Returns
    -------
    dict
        See the module docstring for the keys.
    """
    layer = trace.layer
    dims = trace.kind.dims(layer)
    record: dict[str, Any] = {"format": SNAPSHOT_FORMAT, "name": model.name}
    if model.has_backward:
        record["loss"] = run(model).loss
    record.update(layer_entry(model, index))
    ov = step.overlay
    record["pass"] = step.pass_name
    record["step"] = step.k
    record["n"] = step.n
    record["overlay"] = (
        None
        if ov is None
        else {
            "index": ov.index,
            "channel": ov.channel,
            "position": [int(v) for v in (ov.position[1:] if dims == 1 else ov.position)],
            "rows": _slice(ov.rows),
            "cols": _slice(ov.cols),
        }
    )
    record["values"] = {key: float(value) for key, value in as_dict(step.values).items()}
    record["operands"] = {key: _canonical(value, dims) for key, value in as_dict(step.operands).items()}
    record["state"] = {key: _canonical(value, dims) for key, value in as_dict(step.state).items()}
    record["equation"] = list(pass_scene(trace).step(step.k).lines)
    return record


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def record_json(record: dict[str, Any]) -> bytes:
    """JSON bytes of a record (floats round-trip; the same record gives the same bytes)."""
    return (json.dumps(_plain(record), ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _arrays(record: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every array of a record, keyed ``grad_weight``, ``state.dw``, ``operands.kernel``..."""
    out: dict[str, np.ndarray] = {}
    for key, value in record.items():
        if isinstance(value, np.ndarray):
            out[key] = value
        elif key in ("operands", "state"):
            for sub, array in value.items():
                out[f"{key}.{sub}"] = np.asarray(array)
    return out


def record_npz(record: dict[str, Any]) -> bytes:
    """NPZ bytes: every array, plus ``step``, ``n``, ``values.*`` scalars and the text as strings."""
    arrays: dict[str, Any] = dict(_arrays(record))
    arrays["step"] = np.array(record["step"])
    arrays["n"] = np.array(record["n"])
    for key, value in record["values"].items():
        arrays[f"values.{key}"] = np.array(value)
    arrays["name"] = np.array(record["name"])
    arrays["pass"] = np.array(record["pass"])
    arrays["equation"] = np.array("\n".join(record["equation"]))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _csv_text(matrix: FloatArray) -> str:
    matrix = np.atleast_2d(np.asarray(matrix))
    if matrix.dtype == bool:
        matrix = matrix.astype(int)
    return "".join(",".join(repr(v.item()) for v in row) + "\n" for row in matrix)


def record_csv_files(record: dict[str, Any]) -> dict[str, str]:
    """One CSV text per matrix: ``name.csv`` for up to 2 axes, ``name_i_j.csv`` per leading index beyond.

    Returns
    -------
    dict of str to str
        File name to contents. ``step.csv`` holds k, n and the step's scalar values.
    """
    files: dict[str, str] = {}
    for key, array in _arrays(record).items():
        name = key.replace(".", "_")
        if array.ndim <= 2:
            files[f"{name}.csv"] = _csv_text(array)
            continue
        for lead in np.ndindex(*array.shape[:-2]):
            files[f"{name}_{'_'.join(str(i) for i in lead)}.csv"] = _csv_text(array[lead])
    rows = [("step", record["step"]), ("n", record["n"]), *record["values"].items()]
    files["step.csv"] = "key,value\n" + "".join(f"{key},{value!r}\n" for key, value in rows)
    return files


def record_zip(record: dict[str, Any]) -> bytes:
    """A zip of :func:`record_csv_files` (fixed timestamps: the same record gives the same bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(record_csv_files(record).items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return buffer.getvalue()

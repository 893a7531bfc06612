"""Read a ``.pt2`` archive written by ``torch.export.save`` into a visualconv model document.

``torch.export.load`` is never called: in the PyTorch versions of this writing it
unpickles the archive's sample inputs and any pickled weight with
``torch.load(weights_only=False)`` and ``pickle.loads``, which can run code from the
file. visualconv reads the archive itself instead: the exported program is JSON
(``models/<name>.json``), and the weights are raw little-endian bytes described by
``data/weights/model_weights_config.json``. A weight stored pickled (a tensor subclass)
is refused. PyTorch itself is not needed.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.errors import Message, ModelError
from .chain import Op, check_network_file, example_input, imported, read_nodes, short_float
from .layers import conv_layer, conv_transpose_layer, dense_layer, flatten_layer, global_pool, pool_layer

MAX_PT2_BYTES = 256 * 1024 * 1024
_DTYPES = {
    1: np.uint8,
    2: np.int8,
    3: np.int16,
    4: np.int32,
    5: np.int64,
    6: np.float16,
    7: np.float32,
    8: np.float64,
    12: np.bool_,
}
SUPPORTED = (
    "conv1d",
    "conv2d",
    "convolution",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
    "max_pool2d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "flatten",
    "view",
    "reshape",
    "linear",
    "dropout",
    "softmax",
    "log_softmax",
)
"""ATen operators (``torch.ops.aten.*``) visualconv imports from an exported program."""
_SKIP = {"dropout", "alias", "clone", "detach", "contiguous", "identity", "feature_dropout"}
_SUPPORTED_TEXT = ", ".join(SUPPORTED)


class _Archive:
    """The members of a ``.pt2`` zip, read with size limits (no member is extracted)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        check_network_file(path, "a .pt2 archive", MAX_PT2_BYTES)
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ModelError(
                Message("expected a .pt2 archive (a zip file written by torch.export.save): {exc}", exc=exc)
            ) from None
        self.names = self.zip.namelist()
        if sum(i.file_size for i in self.zip.infolist()) > 4 * MAX_PT2_BYTES:
            raise ModelError(Message("the archive unpacks to more than 1 GiB; expected a small network"))
        models = [
            n for n in self.names if n.count("/") == 2 and n.split("/")[1] == "models" and n.endswith(".json")
        ]
        if len(models) != 1:
            raise ModelError(
                Message(
                    "expected a torch.export archive with one exported program (models/NAME.json), "
                    "got {count}",
                    count=len(models),
                )
            )
        self.root, _, file = models[0].split("/")
        self.model_name = file[: -len(".json")]
        self.model_file = models[0]

    def read(self, name: str) -> bytes:
        member = f"{self.root}/{name}"
        if member not in self.names:
            raise ModelError(
                Message("the archive has no {name}; expected one written by torch.export.save", name=name)
            )
        return self.zip.read(member)

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(Message("{name} is not valid JSON ({exc})", name=name, exc=exc)) from None


def _size(entry: Any) -> int | None:
    if isinstance(entry, dict) and "as_int" in entry:
        return int(entry["as_int"])
    return None  # a symbolic size


def _weights(archive: _Archive, config_name: str, directory: str) -> dict[str, np.ndarray]:
    """Every tensor of a payload config, by its name in the state dict."""
    try:
        config = archive.json(config_name).get("config", {})
    except ModelError:
        return {}
    if not isinstance(config, dict):
        raise ModelError(Message("{config_name}: expected an object of tensors", config_name=config_name))
    result = {}
    byteorder = (
        archive.read("byteorder").decode("ascii", "replace").strip()
        if f"{archive.root}/byteorder" in archive.names
        else "little"
    )
    for name, meta in config.items():
        where = Message("weight '{name}'", name=name)
        if meta.get("use_pickle"):
            raise ModelError(
                Message(
                    "it is stored pickled (a tensor subclass), and visualconv never unpickles; "
                    "expected a plain tensor"
                ),
                where,
            )
        tensor = meta.get("tensor_meta") or {}
        dtype = _DTYPES.get(int(tensor.get("dtype", 0)))
        if dtype is None:
            raise ModelError(
                Message(
                    "its dtype {dtype} is not supported; expected float32 or float64",
                    dtype=tensor.get("dtype"),
                ),
                where,
            )
        sized = [_size(s) for s in tensor.get("sizes", [])]
        strided = [_size(s) for s in tensor.get("strides", [])]
        offset = _size(tensor.get("storage_offset", {"as_int": 0})) or 0
        sizes = [s for s in sized if s is not None]
        strides = [s for s in strided if s is not None]
        if len(sizes) != len(sized) or len(strides) != len(strided) or len(sizes) != len(strides):
            raise ModelError(Message("expected fixed sizes and strides"), where)
        raw = archive.read(f"{directory}/{meta.get('path_name', '')}")
        item = np.dtype(dtype).newbyteorder("<" if byteorder == "little" else ">")
        flat = np.frombuffer(raw, dtype=item)
        extent = offset + sum((n - 1) * s for n, s in zip(sizes, strides, strict=True)) + 1
        if offset < 0 or any(s < 0 for s in strides) or (all(sizes) and extent > flat.size):
            raise ModelError(Message("its bytes do not cover its sizes and strides"), where)
        view = np.lib.stride_tricks.as_strided(
            flat[offset:],
            shape=tuple(sizes),
            strides=tuple(s * item.itemsize for s in strides),
            writeable=False,
        )
        result[name] = np.array(view, dtype=np.float64)
    return result


def _arg(value: Any) -> Any:
    """A serialised argument as a Python value (a tensor as ('tensor', name))."""
    if not isinstance(value, dict) or len(value) != 1:
        return value
    ((kind, content),) = value.items()
    if kind == "as_tensor":
        return ("tensor", content["name"])
    if kind == "as_none":
        return None
    if kind in (
        "as_int",
        "as_float",
        "as_bool",
        "as_string",
        "as_ints",
        "as_floats",
        "as_bools",
        "as_strings",
    ):
        return content
    if kind == "as_sym_int":
        return ("symbol", content)
    if kind == "as_sym_ints":
        return [_arg({"as_sym_int": c}) if not isinstance(c, dict) else _arg(c) for c in content]
    return ("unsupported", kind)


def import_pt2(
    path: str | os.PathLike[str],
    *,
    input: np.ndarray | None = None,
    upstream: np.ndarray | None = None,
    target: Any = None,
    loss: str | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The model document of a ``torch.export.save`` archive (read as data, never unpickled).

    Parameters are as for :func:`visualconv.bridge.onnx_import.import_onnx`.

    Raises
    ------
    ModelError
        Naming the node (its name and ATen op) that cannot be imported, and what is supported.
    """
    try:
        return _import_pt2(path, input=input, upstream=upstream, target=target, loss=loss)
    except ModelError:
        raise
    except (IndexError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(
            Message(
                "an archive not laid out as torch.export.save writes it ({kind}); expected "
                "models/NAME.json with graph_module, graph and signature",
                kind=type(exc).__name__,
            )
        ) from None


def _import_pt2(
    path: str | os.PathLike[str],
    *,
    input: np.ndarray | None,
    upstream: np.ndarray | None,
    target: Any,
    loss: str | dict[str, Any] | None,
) -> dict[str, Any]:
    archive = _Archive(path)
    program = archive.json(f"models/{archive.model_name}.json")
    try:
        module = program["graph_module"]
        graph = module["graph"]
        specs = module["signature"]["input_specs"]
    except (KeyError, TypeError):
        raise ModelError(
            Message("expected an exported program (graph_module with graph and signature)")
        ) from None
    weights = _weights(archive, f"data/weights/{archive.model_name}_weights_config.json", "data/weights")
    constants = _weights(
        archive, f"data/constants/{archive.model_name}_constants_config.json", "data/constants"
    )
    tensors: dict[str, np.ndarray] = {}
    user_inputs = []
    for spec in specs:
        ((kind, content),) = spec.items()
        if kind == "parameter":
            tensors[content["arg"]["name"]] = _lookup(weights, content["parameter_name"])
        elif kind == "buffer":
            tensors[content["arg"]["name"]] = _lookup({**weights, **constants}, content["buffer_name"])
        elif kind == "tensor_constant":
            tensors[content["arg"]["name"]] = _lookup(constants, content["tensor_constant_name"])
        elif kind == "user_input":
            user_inputs.append(_arg(content["arg"]))
        else:
            raise ModelError(
                Message(
                    "an input of the kind {kind} is not supported; expected parameters and one tensor input",
                    kind=kind,
                )
            )
    if len(user_inputs) != 1 or not isinstance(user_inputs[0], tuple) or user_inputs[0][0] != "tensor":
        raise ModelError(
            Message("expected a program with one tensor input, got {count} inputs", count=len(user_inputs)),
            "signature",
        )
    start = user_inputs[0][1]
    meta = graph.get("tensor_values", {}).get(start, {})
    declared = [_size(s) for s in meta.get("sizes", [])] or None
    if declared is None:
        raise ModelError(Message("the program does not record its input's shape; expected one"), "signature")
    x, dims, vector = example_input(input, declared, "signature")
    reader = _Reader(tensors, start, dims)
    read_nodes(reader.read, graph.get("nodes", []))
    outputs = [_arg(o) for o in graph.get("outputs", [])]
    if outputs != [("tensor", reader.current)]:
        raise ModelError(
            Message("the program's output is not the end of the chain of nodes; expected one tensor output"),
            "graph.outputs",
        )
    description = (
        f"Imported from the torch.export archive {Path(path).name} "
        f"(PyTorch {program.get('torch_version', 'unknown')}; read as data, never unpickled)."
    )
    return imported(reader.ops, x, dims, vector, path, description, input, upstream, target, loss)


def _lookup(table: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name not in table:
        raise ModelError(
            Message("the archive has no values for '{name}'; expected them among its weights", name=name),
            "signature",
        )
    return table[name]


class _Reader:
    """Walks the nodes of an exported graph in order, keeping the tensor that flows."""

    def __init__(self, tensors: dict[str, np.ndarray], start: str, dims: int) -> None:
        self.tensors = tensors
        self.current = start
        self.dims = dims
        self.ops: list[Op] = []

    def read(self, node: dict[str, Any], index: int) -> None:
        target = str(node.get("target", ""))
        parts = target.split(".")
        op = parts[3] if len(parts) >= 4 and parts[:3] == ["torch", "ops", "aten"] else target
        name = str(node.get("name") or f"#{index}")
        where = Message("node '{name}' ({op})", name=name[:60], op=op[:60])
        args = {item.get("name"): _arg(item.get("arg")) for item in node.get("inputs", [])}
        positional = [_arg(item.get("arg")) for item in node.get("inputs", [])]
        tensor_args = [a for a in positional if isinstance(a, tuple) and a[0] == "tensor"]
        if op not in SUPPORTED and op.rstrip("_") not in _SKIP and op.rstrip("_") not in SUPPORTED:
            raise ModelError(
                Message(
                    "unsupported operation {target}; expected one of torch.ops.aten.{{{supported}}}",
                    target=target[:80],
                    supported=_SUPPORTED_TEXT,
                ),
                where,
            )
        if not tensor_args or tensor_args[0][1] != self.current:
            raise ModelError(
                Message(
                    "visualconv imports a chain of nodes, each taking the output of the one before; "
                    "this node takes another input"
                ),
                where,
            )
        for extra in tensor_args[1:]:
            if extra[1] not in self.tensors:
                raise ModelError(Message("its weights are computed in the graph; expected parameters"), where)
        outputs = [_arg(o) for o in node.get("outputs", [])]
        if not outputs or not isinstance(outputs[0], tuple):
            raise ModelError(Message("expected a node with a tensor output"), where)
        self.ops.append(self.op(op.rstrip("_"), args, where))
        self.current = outputs[0][1]

    def tensor(self, value: Any) -> np.ndarray | None:
        if value is None:
            return None
        return self.tensors[value[1]]

    def op(self, op: str, a: dict[str, Any], where: str) -> Op:
        dims = self.dims
        if op in _SKIP:
            return Op("skip", where)
        if op in ("conv1d", "conv2d"):
            layer = conv_layer(
                self.tensor(a.get("weight")),  # type: ignore[arg-type]
                self.tensor(a.get("bias")),
                stride=a.get("stride", 1),
                padding=a.get("padding", 0),
                dilation=a.get("dilation", 1),
                groups=int(a.get("groups", 1)),
                padding_mode="zeros",
                dims=dims,
                where=where,
            )
            return Op("layer", where, layer)
        if op == "convolution" or op.startswith("conv_transpose"):
            weight = self.tensor(a.get("weight"))
            bias = self.tensor(a.get("bias"))
            transposed = op.startswith("conv_transpose") or bool(a.get("transposed", False))
            if not transposed:
                layer = conv_layer(
                    weight,  # type: ignore[arg-type]
                    bias,
                    stride=a.get("stride", 1),
                    padding=a.get("padding", 0),
                    dilation=a.get("dilation", 1),
                    groups=int(a.get("groups", 1)),
                    padding_mode="zeros",
                    dims=dims,
                    where=where,
                )
            else:
                layer = conv_transpose_layer(
                    weight,  # type: ignore[arg-type]
                    bias,
                    stride=a.get("stride", 1),
                    padding=a.get("padding", 0),
                    output_padding=a.get("output_padding", 0),
                    dilation=a.get("dilation", 1),
                    groups=int(a.get("groups", 1)),
                    dims=dims,
                    where=where,
                )
            return Op("layer", where, layer)
        if op.startswith("max_pool"):
            layer = pool_layer(
                "max",
                a.get("kernel_size"),
                a.get("stride") or None,
                a.get("padding", 0),
                dims=dims,
                where=where,
                dilation=a.get("dilation", 1),
                ceil_mode=bool(a.get("ceil_mode", False)),
            )
            return Op("layer", where, layer)
        if op.startswith("avg_pool"):
            layer = pool_layer(
                "avg",
                a.get("kernel_size"),
                a.get("stride") or None,
                a.get("padding", 0),
                dims=dims,
                where=where,
                ceil_mode=bool(a.get("ceil_mode", False)),
                count_include_pad=bool(a.get("count_include_pad", True)),
                divisor_override=a.get("divisor_override"),
            )
            return Op("layer", where, layer)
        if op.startswith("adaptive_"):
            size = a.get("output_size")
            sizes = size if isinstance(size, list) else [size]
            if any(s != 1 for s in sizes):
                raise ModelError(
                    Message(
                        "adaptive pooling to {size} is not supported; expected 1 (global pooling)", size=size
                    ),
                    where,
                )
            mode = "max" if "max" in op else "avg"
            return Op("layer", where, global_pool(mode))
        if op in ("relu", "sigmoid", "tanh"):
            return Op("activation", where, activation=op)
        if op == "leaky_relu":
            slope = a.get("negative_slope", 0.01)
            return Op("activation", where, activation="leaky_relu", negative_slope=short_float(float(slope)))
        if op == "flatten":
            start, end = a.get("start_dim", 0), a.get("end_dim", -1)
            if start != 1 or end != -1:
                raise ModelError(
                    Message(
                        "flatten({start}, {end}) is not supported; expected flatten(x, 1)",
                        start=start,
                        end=end,
                    ),
                    where,
                )
            return Op("layer", where, flatten_layer())
        if op in ("view", "reshape"):
            shape = a.get("size", a.get("shape"))
            if isinstance(shape, list) and len(shape) == 2 and shape[0] in (1, -1) and shape != [-1, -1]:
                return Op("layer", where, flatten_layer())
            raise ModelError(
                Message(
                    "{op} to {shape} is not supported; expected a reshape to a vector (1, -1)",
                    op=op,
                    shape=shape,
                ),
                where,
            )
        if op == "linear":
            return Op(
                "layer",
                where,
                dense_layer(self.tensor(a.get("weight")), self.tensor(a.get("bias"))),  # type: ignore[arg-type]
            )
        if op in ("softmax", "log_softmax"):
            if a.get("dim") not in (1, -1):
                raise ModelError(
                    Message("a softmax over dim {dim} is not supported; expected dim 1", dim=a.get("dim")),
                    where,
                )
            return Op("softmax", where)
        raise ModelError(
            Message(
                "unsupported operation {op}; expected one of {supported}", op=op, supported=_SUPPORTED_TEXT
            ),
            where,
        )

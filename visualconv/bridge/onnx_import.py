"""Read an ONNX file into a visualconv model document.

The ``onnx`` package (``pip install visualconv[onnx]``) only parses the file: nothing in
it is run, weights kept in an external data file are read as raw bytes only from a file
beside it (as ``torch.onnx.export`` writes them by default), and every node must be one of
:data:`SUPPORTED`. The nodes must form a chain (each one takes the output of the one
before), as a ``torch.nn.Sequential`` exported by ``torch.onnx.export`` does.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.errors import Message, ModelError
from .chain import Op, check_network_file, example_input, imported, pair_value, read_nodes, short_float
from .layers import flatten_layer, global_pool, pool_object

SUPPORTED = (
    "Conv",
    "ConvTranspose",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Flatten",
    "Reshape",
    "Gemm",
    "MatMul",
    "Add",
    "Identity",
    "Dropout",
    "Softmax",
    "LogSoftmax",
    "Constant",
    "Pad",
)
"""ONNX operators visualconv imports (Add only as a MatMul's bias, Pad only before a Conv, Softmax last)."""
_PAD_MODES = {"constant": "zeros", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}
MAX_ONNX_BYTES = 256 * 1024 * 1024
_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyRelu": "leaky_relu"}
_FLOAT_TYPES = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
_SUPPORTED_TEXT = ", ".join(SUPPORTED)


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ModelError(
            Message(
                "reading ONNX files needs the onnx package; expected it installed: pip install "
                "'visualconv[onnx]'"
            )
        ) from None
    return onnx


def read_model_proto(path: str | os.PathLike[str]) -> Any:
    """Parse an ONNX file (nothing executed; external data read as raw bytes from beside it).

    Raises
    ------
    ModelError
        Without the onnx package, for an unreadable or oversized file, or one that is
        not an ONNX model.
    """
    onnx = _require_onnx()
    check_network_file(path, "an ONNX file", MAX_ONNX_BYTES)
    try:
        proto = onnx.load(os.fspath(path), load_external_data=False)
    except OSError as exc:
        raise ModelError(Message("cannot read the file: {error}", error=exc.strerror or exc)) from None
    except Exception as exc:  # protobuf's DecodeError and friends: not an ONNX file
        raise ModelError(
            Message(
                "expected an ONNX model file (a serialised ModelProto), got something else ({kind})",
                kind=type(exc).__name__,
            )
        ) from None
    if not proto.HasField("graph") or not proto.graph.node:
        raise ModelError(Message("expected an ONNX model file with a graph of nodes, got none"))
    _read_external_data(onnx, proto, Path(path).parent)
    return proto


def _read_external_data(onnx: Any, proto: Any, folder: Path) -> None:
    """Read tensors kept in a separate data file, as ``torch.onnx.export`` writes by default.

    Only raw bytes are read, from a regular file named in the same folder as the ONNX
    file (a bare file name: no folder, no ``..``, no symbolic link), within its size; the
    bytes become the tensor's ``raw_data``, so the rest of the reader sees a
    self-contained model.
    """
    tensors = [
        (tensor, Message("initializer '{name}'", name=_short(tensor.name)))
        for tensor in proto.graph.initializer
    ]
    tensors += [
        (
            attribute.t,
            Message("node '{name}' ({op})", name=_short(node.name or node.op_type), op=node.op_type),
        )
        for node in proto.graph.node
        for attribute in node.attribute
        if attribute.HasField("t")
    ]
    budget = MAX_ONNX_BYTES
    for tensor, where in tensors:
        if tensor.data_location != onnx.TensorProto.EXTERNAL and not len(tensor.external_data):
            continue
        entries = {entry.key: entry.value for entry in tensor.external_data}
        location = entries.get("location", "")
        bare = os.path.basename(location) == location and "\\" not in location
        if not location or location in (".", "..") or not bare:
            raise ModelError(
                Message(
                    "its values are in external data at {location!r}; expected a file name in the "
                    "ONNX file's own folder (or a self-contained file: torch.onnx.export(..., "
                    "external_data=False))",
                    location=location,
                ),
                where,
            )
        data_path = folder / location
        try:
            info = os.lstat(data_path)
        except OSError as exc:
            raise ModelError(
                Message(
                    "cannot read its external data file {location!r}: {error}; expected it beside "
                    "the ONNX file",
                    location=location,
                    error=exc.strerror or exc,
                ),
                where,
            ) from None
        if not stat.S_ISREG(info.st_mode):
            raise ModelError(
                Message(
                    "its external data {location!r} is not a regular file; expected one", location=location
                ),
                where,
            )
        try:
            offset = int(entries.get("offset", "0"))
            length = int(entries["length"]) if "length" in entries else info.st_size - offset
        except ValueError:
            raise ModelError(
                Message("expected whole numbers for its external data's offset and length"), where
            ) from None
        if offset < 0 or length < 0 or offset + length > info.st_size:
            raise ModelError(
                Message(
                    "its external data asks for bytes {offset}..{end} of {location!r}, which has "
                    "{size}; expected a range inside the file",
                    offset=offset,
                    end=offset + length,
                    location=location,
                    size=info.st_size,
                ),
                where,
            )
        budget -= length
        if budget < 0:
            raise ModelError(
                Message("the external data add up to more than 256 MiB; expected a smaller network"), where
            )
        with open(data_path, "rb") as f:
            f.seek(offset)
            tensor.raw_data = f.read(length)
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT


def import_onnx(
    path: str | os.PathLike[str],
    *,
    input: np.ndarray | None = None,
    upstream: np.ndarray | None = None,
    target: Any = None,
    loss: str | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The model document of an ONNX file.

    Parameters
    ----------
    path : path of the ``.onnx`` file
    input : ndarray or None
        The example, (C, ...) or (1, C, ...); default a seeded random one of the graph's
        declared shape.
    upstream, target, loss
        What starts the backward pass (see :func:`visualconv.bridge.chain.assemble`).

    Returns
    -------
    dict
        A model document; validate it with ``modelfile.model_from_document``.

    Raises
    ------
    ModelError
        Naming the node (its name and op) that cannot be imported, and what is supported.
    """
    proto = read_model_proto(path)
    onnx = _require_onnx()
    graph = proto.graph
    constants: dict[str, np.ndarray] = {}
    for tensor in graph.initializer:
        constants[tensor.name] = _tensor_array(
            onnx, tensor, Message("initializer '{name}'", name=_short(tensor.name))
        )
    if len(graph.sparse_initializer):
        raise ModelError(Message("sparse initializers are not supported; expected dense weights"), "graph")
    inputs = [value for value in graph.input if value.name not in constants]
    if len(inputs) != 1:
        raise ModelError(
            Message("expected a network with one input, got {count}", count=len(inputs)), "graph.input"
        )
    if len(graph.output) != 1:
        raise ModelError(
            Message("expected a network with one output, got {count}", count=len(graph.output)),
            "graph.output",
        )
    declared = _declared_shape(inputs[0])
    reader = _ChainReader(onnx, constants, inputs[0].name, declared)
    read_nodes(reader.read, graph.node)
    if reader.pad is not None:
        raise ModelError(
            Message(
                "a Pad is imported only as the padding of the Conv right after it; expected a Conv after it"
            ),
            reader.pad[2],
        )
    if reader.current != graph.output[0].name:
        raise ModelError(
            Message(
                "the network's output '{output_name}' is not the end of the chain of nodes; "
                "expected each node to take the output of the one before",
                output_name=_short(graph.output[0].name),
            ),
            "graph.output",
        )
    x, dims, vector = example_input(input, declared, "graph.input")
    opset = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=0)
    producer = " ".join(p for p in (proto.producer_name, proto.producer_version) if p)
    made = f" by {producer}" if producer else ""
    description = f"Imported from the ONNX file {Path(path).name} (opset {opset}{made})."
    return imported(reader.ops, x, dims, vector, path, description, input, upstream, target, loss)


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _tensor_array(onnx: Any, tensor: Any, where: str) -> np.ndarray:
    if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
        raise ModelError(
            Message(
                "its values are stored outside the file (external data), which visualconv does "
                "not read; expected a self-contained ONNX file: torch.onnx.export(..., "
                "external_data=False) or onnx.save(model, path, save_as_external_data=False)"
            ),
            where,
        )
    try:
        array = onnx.numpy_helper.to_array(tensor)
    except Exception as exc:
        raise ModelError(
            Message("cannot read its values ({kind}); expected a numeric tensor", kind=type(exc).__name__),
            where,
        ) from None
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ModelError(Message("expected numbers, got {dtype}", dtype=array.dtype), where)
    return np.asarray(array)


def _declared_shape(value: Any) -> list[int | None] | None:
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        raise ModelError(Message("expected the network's input to be a tensor"), "graph.input")
    tensor_type = value.type.tensor_type
    if tensor_type.elem_type not in _FLOAT_TYPES:
        raise ModelError(Message("expected a floating-point input tensor"), "graph.input")
    if not tensor_type.HasField("shape"):
        return None
    return [
        int(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0 else None
        for d in tensor_type.shape.dim
    ]


class _ChainReader:
    """Walks the nodes in order, keeping the tensor that flows and its shape."""

    def __init__(
        self, onnx: Any, constants: dict[str, np.ndarray], start: str, shape: list[int | None] | None
    ):
        self.onnx = onnx
        self.constants = constants
        self.current = start
        self.shape: list[int | None] = list(shape) if shape is not None else []
        if shape is None:
            raise ModelError(
                Message("the network does not declare its input's shape; expected one"), "graph.input"
            )
        if self.shape and self.shape[0] is None:
            self.shape[0] = 1
        if len(self.shape) not in (2, 3, 4):
            raise ModelError(
                Message(
                    "expected an input (N, C, L), (N, C, H, W) or (N, F), got {count} axes",
                    count=len(self.shape),
                ),
                "graph.input",
            )
        self.ops: list[Op] = []
        self.matmul_output = ""
        self.pad: tuple[str, list[int], str] | None = None
        """A Pad waiting for its Conv: (padding mode, padding per spatial axis, where)."""

    # ------------------------------------------------------------ helpers

    def where(self, node: Any, index: int) -> str:
        return Message("node '{name}' ({op})", name=_short(node.name or f"#{index}"), op=_short(node.op_type))

    def attributes(self, node: Any, where: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for attribute in node.attribute:
            if attribute.type == self.onnx.AttributeProto.TENSOR:
                result[attribute.name] = _tensor_array(self.onnx, attribute.t, where)
            elif attribute.type in (self.onnx.AttributeProto.GRAPH, self.onnx.AttributeProto.GRAPHS):
                raise ModelError(Message("subgraphs are not supported"), where)
            else:
                result[attribute.name] = self.onnx.helper.get_attribute_value(attribute)
        return result

    def constant(self, name: str, where: str, what: str) -> np.ndarray:
        if name not in self.constants:
            raise ModelError(
                Message(
                    "its {what} '{name}' is computed in the graph; expected it among the "
                    "initializers or from a Constant node",
                    what=what,
                    name=_short(name),
                ),
                where,
            )
        return self.constants[name]

    def data_input(self, node: Any, where: str) -> None:
        if not node.input or node.input[0] != self.current:
            got = f"'{_short(node.input[0])}'" if node.input else Message("nothing")
            raise ModelError(
                Message(
                    "visualconv imports a chain of nodes, each taking the output of the one before "
                    "('{current}'); this node takes {got}",
                    current=_short(self.current),
                    got=got,
                ),
                where,
            )

    def advance(self, node: Any, shape: list[int | None]) -> None:
        self.current = node.output[0]
        self.shape = shape

    def spatial(self) -> list[int]:
        sizes = self.shape[2:]
        if any(s is None for s in sizes):
            raise ModelError(Message("expected the input's spatial sizes to be fixed"), "graph.input")
        return [int(s) for s in sizes]  # type: ignore[arg-type]

    def dims(self, where: str) -> int:
        if len(self.shape) not in (3, 4):
            raise ModelError(
                Message(
                    "expected an input (N, C, L) or (N, C, H, W) here, got {count} axes",
                    count=len(self.shape),
                ),
                where,
            )
        return len(self.shape) - 2

    # ------------------------------------------------------------ the nodes

    def read(self, node: Any, index: int) -> None:
        where = self.where(node, index)
        op = node.op_type
        if node.domain not in ("", "ai.onnx") or op not in SUPPORTED:
            domain = (
                Message(" of the domain '{domain}'", domain=_short(node.domain))
                if node.domain not in ("", "ai.onnx")
                else ""
            )
            raise ModelError(
                Message(
                    "unsupported operation {op}{domain}; expected one of {supported}",
                    op=_short(op),
                    domain=domain,
                    supported=_SUPPORTED_TEXT,
                ),
                where,
            )
        attrs = self.attributes(node, where)
        if op == "Constant":
            self.read_constant(node, attrs, where)
            return
        if op == "Add":
            self.read_add(node, where)
            return
        self.data_input(node, where)
        if self.pad is not None and op != "Conv":
            raise ModelError(
                Message(
                    "a Pad is imported only as the padding of the Conv right after it "
                    "(padding_mode); expected a Conv after it, got {op}",
                    op=op,
                ),
                self.pad[2],
            )
        handler = getattr(self, f"read_{op.lower()}", None)
        if op in _ACTIVATIONS:
            slope = short_float(attrs.get("alpha", 0.01)) if op == "LeakyRelu" else 0.01
            self.ops.append(Op("activation", where, activation=_ACTIVATIONS[op], negative_slope=slope))
            self.advance(node, self.shape)
            return
        if op in ("Identity", "Dropout"):
            self.ops.append(Op("skip", where))
            self.advance(node, self.shape)
            return
        assert handler is not None, op
        handler(node, attrs, where)

    def read_constant(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        if "value" in attrs:
            value = np.asarray(attrs["value"])
        elif "value_float" in attrs:
            value = np.asarray(attrs["value_float"], dtype=np.float32)
        elif "value_floats" in attrs:
            value = np.asarray(attrs["value_floats"], dtype=np.float32)
        elif "value_int" in attrs:
            value = np.asarray(attrs["value_int"], dtype=np.int64)
        elif "value_ints" in attrs:
            value = np.asarray(attrs["value_ints"], dtype=np.int64)
        else:
            raise ModelError(Message("expected a Constant with a numeric value"), where)
        self.constants[node.output[0]] = value

    def read_conv(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        dims = self.dims(where)
        weight = self.constant(node.input[1], where, "weight")
        if weight.ndim != dims + 2:
            raise ModelError(
                Message(
                    "expected a {dims}-D kernel for a {dims}-D input, got weight {shape}",
                    dims=dims,
                    shape=weight.shape,
                ),
                where,
            )
        bias = self.constant(node.input[2], where, "bias") if len(node.input) > 2 and node.input[2] else None
        kernel = list(weight.shape[2:])
        strides = _ints(attrs.get("strides"), dims, 1)
        dilations = _ints(attrs.get("dilations"), dims, 1)
        groups = int(attrs.get("group", 1))
        begin, end = _pads(attrs, dims, kernel, strides, dilations, self.spatial(), where)
        padding_mode = "zeros"
        if self.pad is not None:
            padding_mode, before, pad_where = self.pad
            self.pad = None
            if any(begin) or any(end):
                raise ModelError(
                    Message(
                        "a Conv with pads after a Pad ({pad_where}) is not supported; expected the "
                        "padding in one of them",
                        pad_where=pad_where,
                    ),
                    where,
                )
            begin, end = list(before), list(before)
            sizes = [n - 2 * p for n, p in zip(self.spatial(), before, strict=True)]
        else:
            sizes = self.spatial()
        padding: Any
        if begin == end:
            padding = pair_value(begin, dims)
        elif all(s == 1 for s in strides) and all(
            b + e == d * (k - 1) and e - b in (0, 1)
            for b, e, d, k in zip(begin, end, dilations, kernel, strict=True)
        ):
            padding = "same"
        else:
            raise ModelError(
                Message(
                    "padding {begin} at the start and {end} at the end of the axes is not supported; "
                    "expected the same padding at both ends of each axis (or 'same' padding with "
                    "stride 1)",
                    begin=begin,
                    end=end,
                ),
                where,
            )
        layer: dict[str, Any] = {
            "type": "conv",
            "weight": _floats(weight),
            "bias": None if bias is None else _floats(bias.reshape(-1)),
            "stride": pair_value(strides, dims),
            "padding": padding,
            "dilation": pair_value(dilations, dims),
        }
        if groups != 1:
            layer["groups"] = groups
        if padding_mode != "zeros":
            layer["padding_mode"] = padding_mode
        self.ops.append(Op("layer", where, layer))
        out = [
            (n + b + e - d * (k - 1) - 1) // s + 1
            for n, b, e, d, k, s in zip(sizes, begin, end, dilations, kernel, strides, strict=True)
        ]
        self.advance(node, [self.shape[0], int(weight.shape[0]), *out])

    def read_pad(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        dims = self.dims(where)
        mode = _text(attrs.get("mode", "constant"))
        if mode not in _PAD_MODES:
            raise ModelError(
                Message(
                    "Pad mode {mode} is not supported; expected one of {modes}",
                    mode=mode,
                    modes=", ".join(_PAD_MODES),
                ),
                where,
            )
        if "pads" in attrs:  # opset < 11
            pads = [int(v) for v in attrs["pads"]]
            value = float(attrs.get("value", 0.0))
        else:
            if len(node.input) < 2 or not node.input[1]:
                raise ModelError(Message("expected the pads input"), where)
            pads = [int(v) for v in self.constant(node.input[1], where, "pads").reshape(-1)]
            value = 0.0
            if len(node.input) > 2 and node.input[2]:
                value = float(self.constant(node.input[2], where, "constant value").reshape(-1)[0])
            if len(node.input) > 3 and node.input[3]:
                raise ModelError(
                    Message("Pad with axes is not supported; expected pads for every axis"), where
                )
        rank = dims + 2
        if len(pads) != 2 * rank:
            raise ModelError(Message("expected {count} pads, got {pads}", count=2 * rank, pads=pads), where)
        begin, end = pads[:rank], pads[rank:]
        if begin[:2] != [0, 0] or end[:2] != [0, 0] or begin[2:] != end[2:] or min(pads) < 0:
            raise ModelError(
                Message(
                    "pads {pads} are not supported; expected the same padding at both ends of each "
                    "spatial axis and none on the batch and channel axes",
                    pads=pads,
                ),
                where,
            )
        if mode == "constant" and value != 0.0:
            raise ModelError(
                Message("padding with the constant {value} is not supported; expected 0", value=value), where
            )
        self.pad = (_PAD_MODES[mode], begin[2:], where)
        self.ops.append(Op("skip", where))
        sizes = [n + 2 * p for n, p in zip(self.spatial(), begin[2:], strict=True)]
        self.advance(node, [*self.shape[:2], *sizes])

    def read_convtranspose(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        dims = self.dims(where)
        weight = self.constant(node.input[1], where, "weight")
        if weight.ndim != dims + 2:
            raise ModelError(
                Message(
                    "expected a {dims}-D kernel for a {dims}-D input, got weight {shape}",
                    dims=dims,
                    shape=weight.shape,
                ),
                where,
            )
        bias = self.constant(node.input[2], where, "bias") if len(node.input) > 2 and node.input[2] else None
        if "output_shape" in attrs:
            raise ModelError(
                Message(
                    "output_shape is not supported; expected pads and output_padding (as "
                    "torch.onnx.export writes)"
                ),
                where,
            )
        auto_pad = _text(attrs.get("auto_pad", "NOTSET"))
        if auto_pad not in ("NOTSET", "VALID"):
            raise ModelError(
                Message("auto_pad {auto_pad} is not supported; expected explicit pads", auto_pad=auto_pad),
                where,
            )
        kernel = list(weight.shape[2:])
        strides = _ints(attrs.get("strides"), dims, 1)
        dilations = _ints(attrs.get("dilations"), dims, 1)
        output_padding = _ints(attrs.get("output_padding"), dims, 0)
        groups = int(attrs.get("group", 1))
        pads = [0] * (2 * dims) if auto_pad == "VALID" else _ints(attrs.get("pads"), 2 * dims, 0)
        begin, end = pads[:dims], pads[dims:]
        if begin != end:
            raise ModelError(
                Message(
                    "padding {begin} at the start and {end} at the end of the axes is not supported; "
                    "expected the same padding at both ends of each axis",
                    begin=begin,
                    end=end,
                ),
                where,
            )
        layer: dict[str, Any] = {
            "type": "conv_transpose",
            "weight": _floats(weight),
            "bias": None if bias is None else _floats(bias.reshape(-1)),
            "stride": pair_value(strides, dims),
            "padding": pair_value(begin, dims),
        }
        if any(output_padding):
            layer["output_padding"] = pair_value(output_padding, dims)
        layer["dilation"] = pair_value(dilations, dims)
        if groups != 1:
            layer["groups"] = groups
        self.ops.append(Op("layer", where, layer))
        out = [
            (n - 1) * s - 2 * p + d * (k - 1) + o + 1
            for n, s, p, d, k, o in zip(
                self.spatial(), strides, begin, dilations, kernel, output_padding, strict=True
            )
        ]
        self.advance(node, [self.shape[0], int(weight.shape[1]) * groups, *out])

    def _pool(self, node: Any, attrs: dict[str, Any], where: str, mode: str) -> None:
        dims = self.dims(where)
        if len(node.output) > 1 and node.output[1]:
            raise ModelError(
                Message("the Indices output of MaxPool is not supported; expected only its values"), where
            )
        kernel = _ints(attrs.get("kernel_shape"), dims, 0)
        if not all(kernel):
            raise ModelError(Message("expected kernel_shape"), where)
        strides = _ints(attrs.get("strides"), dims, 1)
        dilations = _ints(attrs.get("dilations"), dims, 1)
        if any(d != 1 for d in dilations):
            raise ModelError(
                Message(
                    "pooling with dilations {dilations} is not supported; expected 1", dilations=dilations
                ),
                where,
            )
        begin, end = _pads(attrs, dims, kernel, strides, dilations, self.spatial(), where)
        if begin != end:
            raise ModelError(
                Message(
                    "padding {begin} at the start and {end} at the end of the axes is not supported; "
                    "expected the same padding at both ends of each axis",
                    begin=begin,
                    end=end,
                ),
                where,
            )
        sizes = self.spatial()
        floor = [(n + 2 * p - k) // s + 1 for n, p, k, s in zip(sizes, begin, kernel, strides, strict=True)]
        if int(attrs.get("ceil_mode", 0)):
            ceil = [
                -((-(n + 2 * p - k)) // s) + 1
                for n, p, k, s in zip(sizes, begin, kernel, strides, strict=True)
            ]
            if ceil != floor:
                raise ModelError(
                    Message(
                        "ceil_mode gives the output {ceil}, which visualconv does not compute; expected "
                        "ceil_mode 0 (output {floor})",
                        ceil=ceil,
                        floor=floor,
                    ),
                    where,
                )
        if mode == "avg" and any(begin) and not int(attrs.get("count_include_pad", 0)):
            raise ModelError(
                Message(
                    "average pooling with padding that does not count the padded zeros "
                    "(count_include_pad 0) is not supported; expected count_include_pad 1, PyTorch's "
                    "default"
                ),
                where,
            )
        self.ops.append(Op("layer", where, pool_object(mode, kernel, strides, begin, dims)))
        self.advance(node, [*self.shape[:2], *floor])

    def read_maxpool(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        self._pool(node, attrs, where, "max")

    def read_averagepool(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        self._pool(node, attrs, where, "avg")

    def _global(self, node: Any, where: str, mode: str) -> None:
        dims = self.dims(where)
        self.ops.append(Op("layer", where, global_pool(mode)))
        self.advance(node, [*self.shape[:2], *([1] * dims)])

    def read_globalaveragepool(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        self._global(node, where, "avg")

    def read_globalmaxpool(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        self._global(node, where, "max")

    def _flatten(self, node: Any, where: str) -> None:
        total = math.prod(int(s) for s in self.shape[1:] if s is not None)
        if len(self.shape) == 2:
            self.ops.append(Op("skip", where))  # already a vector
        else:
            self.ops.append(Op("layer", where, flatten_layer()))
        self.advance(node, [self.shape[0], total])

    def read_flatten(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        axis = int(attrs.get("axis", 1))
        rank = len(self.shape)
        if axis < 0:
            axis += rank
        if axis not in (0, 1):
            raise ModelError(
                Message(
                    "Flatten with axis {axis} keeps more than the batch axis; expected axis 1 (to a vector)",
                    axis=axis,
                ),
                where,
            )
        self._flatten(node, where)

    def read_reshape(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        if len(node.input) < 2:
            raise ModelError(Message("expected a Reshape with a shape input"), where)
        target = [int(v) for v in self.constant(node.input[1], where, "shape").reshape(-1)]
        total = math.prod(int(s) for s in self.shape[1:] if s is not None)
        if len(target) == 2 and target[0] in (1, -1, 0) and target[1] in (-1, total) and target != [-1, -1]:
            self._flatten(node, where)
            return
        raise ModelError(
            Message(
                "Reshape to {target} is not supported; expected a reshape to a vector, (1, -1) "
                "or (1, {total})",
                target=target,
                total=total,
            ),
            where,
        )

    def _vector(self, where: str) -> int:
        if len(self.shape) != 2 or self.shape[1] is None:
            raise ModelError(
                Message(
                    "expected a vector input (N, F) here (put a Flatten before it), got {count} axes",
                    count=len(self.shape),
                ),
                where,
            )
        return int(self.shape[1])

    def read_gemm(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        features = self._vector(where)
        if int(attrs.get("transA", 0)):
            raise ModelError(Message("transA 1 is not supported; expected the input as A"), where)
        b = self.constant(node.input[1], where, "weight").astype(np.float64)
        if b.ndim != 2:
            raise ModelError(Message("expected a 2-D weight, got {shape}", shape=b.shape), where)
        weight = b if int(attrs.get("transB", 0)) else b.T
        alpha = short_float(attrs.get("alpha", 1.0))
        beta = short_float(attrs.get("beta", 1.0))
        if alpha != 1.0:
            weight = alpha * weight
        if weight.shape[1] != features:
            raise ModelError(
                Message(
                    "expected a weight for {features} inputs, got {shape}",
                    features=features,
                    shape=tuple(weight.shape),
                ),
                where,
            )
        bias = None
        if len(node.input) > 2 and node.input[2]:
            c = self.constant(node.input[2], where, "bias").astype(np.float64)
            try:
                bias = np.broadcast_to(
                    c.reshape(-1) if c.size in (1, weight.shape[0]) else c, (weight.shape[0],)
                )
            except ValueError:
                raise ModelError(
                    Message(
                        "expected a bias of {count} values, got {shape}", count=weight.shape[0], shape=c.shape
                    ),
                    where,
                ) from None
            if beta != 1.0:
                bias = beta * bias
        layer = {"type": "dense", "weight": _floats(weight), "bias": None if bias is None else _floats(bias)}
        self.ops.append(Op("layer", where, layer))
        self.advance(node, [self.shape[0], int(weight.shape[0])])

    def read_matmul(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        features = self._vector(where)
        b = self.constant(node.input[1], where, "weight").astype(np.float64)
        if b.ndim != 2 or b.shape[0] != features:
            raise ModelError(
                Message("expected a weight ({features}, out), got {shape}", features=features, shape=b.shape),
                where,
            )
        self.ops.append(Op("layer", where, {"type": "dense", "weight": _floats(b.T), "bias": None}))
        self.advance(node, [self.shape[0], int(b.shape[1])])
        self.matmul_output = self.current

    def read_add(self, node: Any, where: str) -> None:
        others = [name for name in node.input if name != self.current]
        if not self.matmul_output or self.current != self.matmul_output or len(others) != 1:
            raise ModelError(
                Message(
                    "Add is only imported as the bias of the MatMul right before it (MatMul + Add is "
                    "a dense layer); expected it there"
                ),
                where,
            )
        bias = self.constant(others[0], where, "bias").astype(np.float64)
        out = int(self.shape[1] or 0)
        if bias.size != out:
            raise ModelError(
                Message("expected a bias of {out} values, got {shape}", out=out, shape=bias.shape), where
            )
        layer = self.ops[-1].layer
        assert layer is not None
        layer["bias"] = _floats(bias.reshape(-1))
        self.ops.append(Op("skip", where))
        self.matmul_output = ""
        self.advance(node, self.shape)

    def _softmax(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        axis = int(attrs.get("axis", -1))
        if len(self.shape) != 2 or axis not in (1, -1):
            raise ModelError(
                Message(
                    "a softmax is imported only over a vector output (it becomes the cross-entropy "
                    "loss); expected it on (N, classes) along axis 1, got {count} axes, axis {axis}",
                    count=len(self.shape),
                    axis=axis,
                ),
                where,
            )
        self.ops.append(Op("softmax", where))
        self.advance(node, self.shape)

    def read_softmax(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        self._softmax(node, attrs, where)

    def read_logsoftmax(self, node: Any, attrs: dict[str, Any], where: str) -> None:
        self._softmax(node, attrs, where)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _ints(value: Any, count: int, default: int) -> list[int]:
    if value is None:
        return [default] * count
    items = [int(v) for v in value]
    if len(items) != count:
        raise ModelError(
            Message("expected {count} values per setting, got {items}", count=count, items=items)
        )
    return items


def _pads(
    attrs: dict[str, Any],
    dims: int,
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    sizes: Sequence[int],
    where: str,
) -> tuple[list[int], list[int]]:
    """Padding at the start and the end of each spatial axis, from pads or auto_pad."""
    auto_pad = _text(attrs.get("auto_pad", "NOTSET"))
    if auto_pad == "NOTSET":
        try:
            pads = _ints(attrs.get("pads"), 2 * dims, 0)
        except ModelError as exc:
            raise ModelError(exc.message, where) from None
        return pads[:dims], pads[dims:]
    if auto_pad == "VALID":
        return [0] * dims, [0] * dims
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise ModelError(
            Message(
                "auto_pad {auto_pad} is not supported; expected NOTSET, VALID, SAME_UPPER or SAME_LOWER",
                auto_pad=auto_pad,
            ),
            where,
        )
    begin, end = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
        small, large = total // 2, total - total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else large)
        end.append(large if auto_pad == "SAME_UPPER" else small)
    return begin, end


def _floats(array: np.ndarray) -> Any:
    return np.asarray(array, dtype=np.float64).tolist()

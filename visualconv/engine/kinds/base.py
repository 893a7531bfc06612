"""What every layer kind shares: the layer protocol, the kind's questions, steps and traces.

A layer kind (conv, pool, flatten, dense) is one module of this package. It defines

- its frozen layer dataclass (parameters and settings, nothing else) with its shape rule,
  ``forward`` and ``backward`` (calling the vectorised kernels of ``engine/conv.py`` and
  ``engine/pool.py``);
- its :class:`LayerTrace` subclasses (one per pass) and the typed fields of their steps
  (:class:`Fields` subclasses: operands, scalar values, accumulated state);
- one :class:`Kind` instance that the rest of the program asks: capabilities
  (``has_weights``, ``has_activation``, ``windowed``), which trace class runs a pass, the
  step text, the links between cells, the closed forms, the document conversion and the
  panels a pass shows.

The registry (``visualconv.engine.kinds``) maps the file's ``type`` to the kind. Code outside
the kind modules asks ``layer.kind`` (or ``kinds.of(layer)``) and never tests the class.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np

from ...i18n import N_, _
from ..windows import FloatArray, IntPair

if TYPE_CHECKING:
    from ..links import CellLinks
    from ..scene import PanelSpec, StepPanels
    from .torch_twin import ModuleSpec

Shape = tuple[int, ...]

PASSES = ("forward", "backward")


def frozen_array(values: Any) -> FloatArray:
    """Return ``values`` as a read-only float64 array (a copy)."""
    array = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


def frozen(array: Any) -> FloatArray:
    """``array`` itself (no copy when it is one) marked read-only."""
    result: FloatArray = np.asarray(array)
    result.flags.writeable = False
    return result


@dataclass(frozen=True, slots=True)
class LayerGrads:
    """Gradients of one layer for one backward pass.

    Attributes
    ----------
    grad_input : ndarray of the layer input's shape (N, ...)
    grad_pre_activation : ndarray of the output's shape, or None for pool/flatten
        dL/dZ = grad_output * f'(Z).
    grad_weight : ndarray of the weight's shape, or None
    grad_bias : ndarray of shape (C_out,), or None (no bias term, or no parameters)
    """

    grad_input: FloatArray = field(repr=False)
    grad_pre_activation: FloatArray | None = field(repr=False, default=None)
    grad_weight: FloatArray | None = field(repr=False, default=None)
    grad_bias: FloatArray | None = field(repr=False, default=None)


class Layer(Protocol):
    """What the model, training and the trace need of any layer (see the kind modules)."""

    @property
    def type(self) -> str:
        """The file's ``type`` of the layer."""

    @property
    def kind(self) -> Kind:
        """The layer's kind: ask it, rather than testing the class."""

    def output_shape(self, input_shape: Shape) -> Shape:
        """Output shape (no batch axis) for ``input_shape``; ValueError when the input does not fit."""

    def forward(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(Z, A) for a batch ``x`` of shape (N, ...)."""

    def backward(self, grad_output: FloatArray, x: FloatArray, z: FloatArray, a: FloatArray) -> LayerGrads:
        """Gradients given dL/dA of shape (N, ...) and the forward values."""

    def parameters(self) -> dict[str, FloatArray]:
        """Trainable arrays by name (``weight``, ``bias``); empty without parameters."""

    def with_parameters(self, **arrays: FloatArray) -> Layer:
        """A copy with some parameters replaced."""


def weight_and_bias(weight: FloatArray, bias: FloatArray | None) -> dict[str, FloatArray]:
    """The trainable arrays of a weighted layer, by name (no bias entry without a bias)."""
    return {"weight": weight} if bias is None else {"weight": weight, "bias": bias}


def replaced(
    weight: FloatArray, bias: FloatArray | None, arrays: dict[str, FloatArray]
) -> tuple[FloatArray, FloatArray | None]:
    """``weight`` and ``bias`` with the given replacements (copied and frozen)."""
    unknown = set(arrays) - {"weight", "bias"}
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)}")
    return (
        frozen_array(arrays["weight"]) if "weight" in arrays else weight,
        frozen_array(arrays["bias"]) if "bias" in arrays else bias,
    )


WeightedT = TypeVar("WeightedT", bound="WeightedLayer")


class WeightedLayer:
    """What the weighted layers (conv, conv_transpose, dense) share: their trainable arrays.

    A mixin of their frozen dataclasses, which have ``weight`` and ``bias`` fields.
    """

    __slots__ = ()
    weight: FloatArray
    bias: FloatArray | None

    def parameters(self) -> dict[str, FloatArray]:
        """Trainable arrays by name."""
        return weight_and_bias(self.weight, self.bias)

    def with_parameters(self: WeightedT, **arrays: FloatArray) -> WeightedT:
        """A copy with some parameters replaced."""
        import dataclasses

        weight, bias = replaced(self.weight, self.bias, arrays)
        return dataclasses.replace(self, weight=weight, bias=bias)  # type: ignore[type-var]


def activation_rows(layer: Any) -> list[tuple[str, str, str]]:
    """The editor's activation row of a layer with an activation, and its slope for leaky_relu."""
    rows = [("activation", N_("activation"), str(layer.activation))]
    if layer.activation == "leaky_relu":
        rows.append(("negative_slope", N_("negative slope"), f"{layer.negative_slope:g}"))
    return rows


def with_activation(layer: Any, value: Any, place: str) -> Any:
    """A copy of a layer with an activation, set to ``value`` (a name of ``ACTIVATIONS``)."""
    import dataclasses

    from ..activations import ACTIVATIONS
    from ..errors import Message, ModelError

    if value not in ACTIVATIONS:
        raise ModelError(
            Message("expected one of {options}, got {got}", options=", ".join(ACTIVATIONS), got=repr(value)),
            place,
        )
    return dataclasses.replace(layer, activation=str(value))


def with_window_setting(layer: Any, key: str, value: Any, dims: int, place: str, fit: Fit) -> Any | None:
    """The settings a windowed weighted layer (conv, conv_transpose) shares; None for another key.

    ``activation``, ``negative_slope`` (a finite number) and ``kernel_size`` (the weight's
    last axes, cropped or zero-padded by ``fit``).
    """
    import dataclasses

    from ..errors import ModelError

    if key == "activation":
        return with_activation(layer, value, place)
    if key == "negative_slope":
        try:
            slope = float(value)
        except (TypeError, ValueError):
            raise ModelError(f"expected a number, got {value!r}", place) from None
        if not np.isfinite(slope):
            raise ModelError(f"expected a finite number, got {value!r}", place)
        return dataclasses.replace(layer, negative_slope=slope)
    if key == "kernel_size":
        w = layer.weight
        kh, kw = parse_pair(value, dims, place, 1)
        shape = (*w.shape[:2], kw) if dims == 1 else (*w.shape[:2], kh, kw)
        return dataclasses.replace(layer, weight=frozen_array(fit(w, shape)))
    return None


def groups_setting(value: Any, c_in: int, c_out: int, place: str) -> int:
    """A typed ``groups`` that divides both channel counts (ModelError placed at ``place``)."""
    from ..errors import Message, ModelError

    groups = parse_pair(value, 1, place, 1)[1]
    if c_in % groups or c_out % groups:
        raise ModelError(
            Message(
                "expected groups dividing the {c_in} input and {c_out} output channels, got {got}",
                c_in=c_in,
                c_out=c_out,
                got=groups,
            ),
            place,
        )
    return groups


def to_4d(x: FloatArray, dims: int) -> FloatArray:
    """(N, C, L) as (N, C, 1, L) for 1-D layers; 2-D input unchanged."""
    return x[:, :, None, :] if dims == 1 else x


def from_4d(x: FloatArray, dims: int) -> FloatArray:
    """(N, C, 1, L) back to (N, C, L) for 1-D layers."""
    return x[:, :, 0, :] if dims == 1 else x


def parse_pair(value: Any, dims: int, name: str, minimum: int) -> IntPair:
    """A (rows, cols) setting from typed text, a number or a list: ``"2"``, ``"2, 1"``, ``[2, 1]``.

    A 1-D layer takes one integer (its rows are 1 for sizes, 0 for padding).

    Raises
    ------
    ModelError
        Placed at ``name``.
    """
    import re

    from ..errors import Message, ModelError

    if isinstance(value, str):
        parts = [p for p in re.split(r"[,x× ]+", value.strip()) if p]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = [value]
    try:
        numbers = [int(p) if not isinstance(p, float) or p == int(p) else None for p in parts]
    except (TypeError, ValueError):
        numbers = [None]
    if not numbers or None in numbers or len(numbers) > (1 if dims == 1 else 2):
        expect = Message("an integer") if dims == 1 else Message("an integer or two integers (rows, columns)")
        raise ModelError(Message("expected {expected}, got {got}", expected=expect, got=repr(value)), name)
    ints = [n for n in numbers if n is not None]
    if min(ints) < minimum:
        raise ModelError(
            Message("expected integers >= {minimum}, got {got}", minimum=minimum, got=repr(value)), name
        )
    if dims == 1:
        return (1 if name.endswith(("stride", "dilation", "size", "kernel_size")) else 0, ints[0])
    return (ints[0], ints[-1])


class LayerDoesNotFit(ValueError):
    """A layer of a stack that does not fit its input.

    Attributes
    ----------
    index : int
        The layer's index in the stack.
    shape : tuple of int
        The input shape it was given (no batch axis).
    reason : str
        The layer's own words (its shape rule's ValueError).
    """

    def __init__(self, index: int, shape: Shape, reason: str) -> None:
        super().__init__(reason)
        self.index, self.shape, self.reason = index, shape, reason


def output_shapes(input_shape: Shape, layers: Sequence[Layer]) -> list[Shape]:
    """Shapes of the input and of every layer's output (no batch axis): the one shape walk.

    Each layer's kind applies its shape rule (``layer.output_shape``).

    Raises
    ------
    LayerDoesNotFit
        For the first layer that does not fit its input.
    """
    shape: Shape = tuple(input_shape)
    result = [shape]
    for index, layer in enumerate(layers):
        try:
            shape = layer.output_shape(shape)
        except ValueError as exc:
            raise LayerDoesNotFit(index, shape, str(exc)) from None
        result.append(shape)
    return result


def setting_text(pair: IntPair, dims: int) -> str:
    """A setting pair as the user types it: ``2`` or ``2, 1`` (a 1-D layer: its columns)."""
    if dims == 1 or pair[0] == pair[1]:
        return str(pair[1])
    return f"{pair[0]}, {pair[1]}"


def spatial_input(layer: Any, shape: Shape, source: str, place: str) -> tuple[int, tuple[int, int], int]:
    """A windowed layer's input: (dims, (rows, cols) of the 2-D view, channels), or a placed ModelError."""
    from ..errors import Message, ModelError

    dims = int(layer.dims)
    if len(shape) != dims + 1:
        expected = "(C, L)" if dims == 1 else "(C, H, W)"
        raise ModelError(
            Message(
                "expected a {shape} input for this {type} layer, got a vector of {n} values from {source}; "
                "put {type} layers before any flatten or dense layer",
                shape=expected,
                type=layer.type,
                n=shape[0],
                source=source,
            ),
            place,
        )
    spatial = (1, shape[1]) if dims == 1 else (shape[1], shape[2])
    return dims, spatial, shape[0]


class DocumentReader(Protocol):
    """How the model-file reader turns a layer object's values into typed ones (placed errors)."""

    def array(self, value: Any, place: str, ndim: int, what: str) -> FloatArray:
        """A read-only float64 array of ``ndim`` axes (shorthand allowed); ``what`` names it in messages."""

    def pair(self, value: Any, dims: int, default: int, place: str) -> IntPair:
        """A size/stride/padding/dilation as a (rows, cols) pair; ``default`` when it is absent."""

    def bias(self, value: Any, c_out: int, place: str, present: bool) -> FloatArray | None:
        """The bias of ``c_out`` channels: zeros when the key is absent, None for ``null``."""


def array_out(array: FloatArray) -> Any:
    """An array as nested lists for the file."""
    return np.asarray(array).tolist()


def pair_out(pair: IntPair, dims: int) -> int | list[int]:
    """A pair as the file writes it: one integer in 1-D or when both are equal, else [rows, cols]."""
    if dims == 1:
        return pair[1]
    return pair[0] if pair[0] == pair[1] else [pair[0], pair[1]]


def weights_out(layer: Any, *pairs: str, dims: int = 2) -> dict[str, Any]:
    """A weighted layer's file object up to its settings: type, weight, bias, then each named pair.

    The kinds add the rest (activation, defaults left out) in the order the format writes.
    """
    doc: dict[str, Any] = {"type": layer.type, "weight": array_out(layer.weight)}
    doc["bias"] = None if layer.bias is None else array_out(layer.bias)
    doc.update((name, pair_out(getattr(layer, name), dims)) for name in pairs)
    return doc


def slope_out(doc: dict[str, Any], layer: Any) -> dict[str, Any]:
    """``doc`` with the layer's ``negative_slope`` added when it is not the default."""
    from ..activations import LEAKY_SLOPE

    if layer.negative_slope != LEAKY_SLOPE:
        doc["negative_slope"] = layer.negative_slope
    return doc


def size_text(pair: IntPair, dims: int) -> str:
    """A size or stride as the layer list writes it: ``2`` or ``3×2`` (a 1-D layer: its columns)."""
    return str(pair[1]) if dims == 1 or pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def walk_shapes(input_shape: Shape, layers: Sequence[Layer]) -> list[Shape]:
    """:func:`output_shapes`, refusing a layer that does not fit with a ModelError placed at ``layers[i]``."""
    from ..errors import ModelError

    try:
        return output_shapes(input_shape, layers)
    except LayerDoesNotFit as exc:
        raise ModelError(exc.reason, f"layers[{exc.index}]") from None


# ----------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class Fields:
    """Base of a step's typed operands, values and state (frozen, read by attribute).

    :meth:`as_dict` gives the fields in declaration order, leaving out those that are None
    (the data exports write it as is).
    """

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, in declaration order, without the ones that are None."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        return out


def as_dict(fields_or_none: Fields | None) -> dict[str, Any]:
    """:meth:`Fields.as_dict`, or an empty dict for None (step 0 has no operands or values)."""
    return {} if fields_or_none is None else fields_or_none.as_dict()


@dataclass(frozen=True, slots=True)
class ForwardState(Fields):
    """Accumulated state of a forward pass after k overlays (every kind's forward pass).

    Attributes
    ----------
    z : ndarray of the output's shape
        The pre-activation (the output itself for pool and flatten), all of it.
    a : ndarray of the output's shape
    done : ndarray of bool, the output's shape
        The outputs computed so far (the first k in row-major order).
    """

    z: FloatArray = field(repr=False)
    a: FloatArray = field(repr=False)
    done: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class ProductOperands(Fields):
    """What a weighted layer's forward overlay multiplies (each kind names the shapes).

    Attributes
    ----------
    input_slice : ndarray
        The input window (dense: the whole input).
    kernel : ndarray of the window's shape
        The output's filter (dense: its weight row).
    products : ndarray of the window's shape
        ``input_slice * kernel``.
    """

    input_slice: FloatArray = field(repr=False)
    kernel: FloatArray = field(repr=False)
    products: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class AffineValues(Fields):
    """Scalars of a weighted layer's forward overlay: the bias (0 without one), z and a = f(z)."""

    bias: float
    z: float
    a: float


@dataclass(frozen=True, slots=True)
class DeltaOperands(Fields):
    """What a weighted layer's backward overlay multiplies by its delta (each kind names the shapes).

    Attributes
    ----------
    input_slice, kernel : ndarray of the window's shape
    dw_contribution : ndarray of the window's shape
        ``input_slice * delta``, added to dW of the overlay's output.
    dx_contribution : ndarray of the window's shape
        ``kernel * delta``, added to the window of dA_prev.
    """

    input_slice: FloatArray = field(repr=False)
    kernel: FloatArray = field(repr=False)
    dw_contribution: FloatArray = field(repr=False)
    dx_contribution: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class DeltaValues(Fields):
    """Scalars of a weighted layer's backward overlay: its delta, which is also its share of db."""

    delta: float
    db_contribution: float


@dataclass(frozen=True, slots=True)
class WeightedBackwardState(Fields):
    """The backward pass of a weighted layer (conv, dense) after k overlays; each kind names the shapes.

    Attributes
    ----------
    dz : ndarray of the output's shape
        dZ, all of it.
    done : ndarray of bool, the output's shape
    dw : ndarray of the weight's shape
    db : ndarray of shape (C_out,)
    dx_padded : ndarray
        dA_prev in the padded view (the input's shape without padding).
    dx : ndarray of the input's shape
    """

    dz: FloatArray = field(repr=False)
    done: FloatArray = field(repr=False)
    dw: FloatArray = field(repr=False)
    db: FloatArray = field(repr=False)
    dx_padded: FloatArray = field(repr=False)
    dx: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class RoutedBackwardState(Fields):
    """The backward pass of a layer without weights (pool, flatten) after k overlays.

    Attributes
    ----------
    dy : ndarray of the output's shape
        dY, all of it.
    done : ndarray of bool, the output's shape
    dx_padded : ndarray
        dA_prev in the padded view (the input's shape without padding).
    dx : ndarray of the input's shape
    """

    dy: FloatArray = field(repr=False)
    done: FloatArray = field(repr=False)
    dx_padded: FloatArray = field(repr=False)
    dx: FloatArray = field(repr=False)


@dataclass(frozen=True, slots=True)
class Overlay:
    """Where one overlay sits.

    Attributes
    ----------
    index : int
        k, 1-based.
    channel : int
        Output channel (conv), channel (pool) or output unit (dense, flatten).
    position : (int, int)
        (i, j) of the output element in the 2-D view; (0, 0) for dense and flatten.
    rows, cols : slice
        The window in the padded input (conv, pool); ``slice(0, 0)`` otherwise.
    channels : range or None
        The input channels the window covers, when not all of them (a grouped
        convolution's filter sees only its group's channels).
    """

    index: int
    channel: int
    position: IntPair
    rows: slice
    cols: slice
    channels: range | None = None


OperandsT = TypeVar("OperandsT", bound=Fields, covariant=True)
ValuesT = TypeVar("ValuesT", bound=Fields, covariant=True)
StateT = TypeVar("StateT", bound=Fields, covariant=True)


@dataclass(frozen=True, slots=True)
class Step(Generic[OperandsT, ValuesT, StateT]):
    """One step of a pass: the overlay, its arithmetic and the accumulated state.

    The field types come from the layer's kind (e.g. ``ConvBackwardState`` with ``dz``,
    ``done``, ``dw``, ``db``, ``dx_padded``, ``dx``); read them by attribute.

    Attributes
    ----------
    layer_type : str
        The layer's ``type`` ("conv", "pool", "flatten", "dense").
    pass_name : {"forward", "backward"}
    k, n : int
        This step and the number of overlays.
    overlay : Overlay or None
        None at step 0.
    operands : Fields or None
        The arrays this overlay multiplies or routes (None at step 0).
    values : Fields or None
        Scalars of the overlay (None at step 0).
    state : Fields
        The accumulated arrays after k overlays.
    """

    layer_type: str
    pass_name: str
    k: int
    n: int
    overlay: Overlay | None
    operands: OperandsT | None = field(repr=False)
    values: ValuesT | None
    state: StateT = field(repr=False)


AnyStep = Step[Any, Any, Any]


# ----------------------------------------------------------------------------- kinds


TraceClass = type["LayerTrace"]
Fit = Callable[[FloatArray, Shape], FloatArray]


class Kind:
    """A layer kind: what the rest of the program asks instead of testing layer classes.

    One instance per kind (``kinds.CONV``, ...), registered by its ``type``. Subclasses set
    the class attributes and override the methods their layers need.

    Attributes
    ----------
    type : str
        The file's ``type`` of the kind's layers.
    has_weights : bool
        The layer has a weight (and possibly a bias): dW, db panels, training maps.
    has_activation : bool
        The layer applies an activation, so Z and A differ (``pre_activation`` is reported).
    windowed : bool
        The layer slides windows over a 2-D view of its input (1-D layers have height 1):
        it has ``dims``, overlays cover input cells.
    steps_over : {"output", "input"}
        What one overlay belongs to: an output element (every kind but one), or an input
        element (a transposed convolution stamps each input value into the output). The
        ``done`` mask of a step has the shape of that array.
    schema : dict
        The kind's layer object in the file format's JSON Schema (its ``$defs`` entry).
    has_closed_form : bool
        The backward trace has ``closed_form()`` (the seeds' closed forms of dW and dA_prev).
    output_names : (str, str)
        How the links name an output cell and its gradient: ("z", "dZ"), or ("y", "dY")
        for a kind whose output is not a pre-activation.
    """

    type: ClassVar[str] = ""
    has_weights: ClassVar[bool] = False
    has_activation: ClassVar[bool] = False
    windowed: ClassVar[bool] = False
    output_names: ClassVar[tuple[str, str]] = ("z", "dZ")
    steps_over: ClassVar[str] = "output"
    has_closed_form: ClassVar[bool] = False
    schema: ClassVar[dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"<layer kind {self.type!r}>"

    # --- the layer

    def dims(self, layer: Any) -> int:
        """1 or 2 for a windowed layer's view; 2 for the others (their arrays print as they are)."""
        return int(layer.dims) if self.windowed else 2

    def has_bias(self, layer: Any) -> bool:
        """Whether the layer has a bias term."""
        return self.has_weights and layer.bias is not None

    def activation(self, layer: Any) -> str:
        """The activation's name ("identity" for a kind without one)."""
        return str(layer.activation) if self.has_activation else "identity"

    def summary(self, layer: Any, dims: int) -> tuple[str, str]:
        """The layer in the layer list: its type with its kernel, and its settings (two short texts)."""
        return self.type, ""

    # --- the file format

    def from_document(self, spec: dict[str, Any], dims: int, place: str, read: DocumentReader) -> Any:
        """The typed layer of one layer object of the file, already checked against the schema."""
        raise NotImplementedError

    def to_document(self, layer: Any, dims: int) -> dict[str, Any]:
        """The layer as a model-file object (canonical shapes), ``type`` first."""
        raise NotImplementedError

    # --- editing

    def new_layer(self, input_shape: Shape, dims: int) -> Any:
        """The layer the editor adds after an output of ``input_shape`` (ModelError if it cannot follow)."""
        raise NotImplementedError

    def fitted_weight_shape(self, layer: Any, input_shape: Shape) -> Shape | None:
        """The weight shape that fits an input of ``input_shape`` (None: the kind has no weight to fit)."""
        return None

    def settings(self, layer: Any, dims: int) -> list[tuple[str, str, str]]:
        """The settings the editor offers: (key for :meth:`with_setting`, label, current text)."""
        return []

    def with_setting(self, layer: Any, key: str, value: Any, dims: int, place: str, fit: Fit) -> Any:
        """A copy of ``layer`` with one setting changed (typed text allowed); ModelError placed at ``place``.

        ``fit(array, shape)`` crops or zero-pads an array to a new shape.
        """
        from ..errors import ModelError

        raise ModelError(f"a {self.type} layer has no setting {key!r}", place)

    # --- checks

    def check_shape(self, layer: Any, shape: Shape, place: str, source: str) -> tuple[Shape, int, str, str]:
        """The layer's output shape for an input of ``shape`` and its memory need, or a placed ModelError.

        Computed with Python integers only (nothing is allocated, absurd settings cannot
        overflow); :func:`visualconv.engine.budget.walk` adds the needs up.

        Parameters
        ----------
        layer : the kind's layer
        shape : tuple of int
            The input shape (no batch axis).
        place : str
            ``layers[i]``, for messages.
        source : str
            Where the input comes from, in words ("the model's input").

        Returns
        -------
        out_shape : tuple of int
        elements : int
            float64 values one forward and backward pass of this layer keeps or copies:
            three of its input and output (values, gradients, a temporary), the padded
            input and its gradient, and window-sized (im2col) copies.
        setting : str
            The key that makes the layer large ("padding") or "".
        reason : str
            Words for the memory message.
        """
        raise NotImplementedError

    def kinks(self, layer: Any, x: FloatArray, z: FloatArray, near: float) -> list[str]:
        """Why a finite difference may disagree here: activation values within ``near`` of a kink.

        ``x`` and ``z`` are the layer's input and pre-activation for the model's example.
        """
        from .. import activations

        if not self.has_activation:
            return []
        close = activations.kinks(self.activation(layer), z, near)
        if not close.any():
            return []
        return [f"{int(close.sum())} pre-activation value(s) at the {self.activation(layer)} kink z = 0"]

    # --- PyTorch

    def torch_modules(self, spec: dict[str, Any], dims: int) -> tuple[ModuleSpec, ...]:
        """The ``torch.nn`` modules that compute a layer object of the file (its PyTorch twin).

        ``spec`` is the layer as the model file writes it (:meth:`to_document`); the
        transformation first, then its activation's module if any. Nothing imports PyTorch.

        Raises
        ------
        ModelError
            For a kind without a PyTorch twin.
        """
        from ..errors import ModelError

        raise ModelError(f"no PyTorch module for the layer type {self.type!r}", "type")

    # --- traces

    def trace_class(self, pass_name: str) -> TraceClass:
        """The :class:`LayerTrace` subclass that traces ``pass_name`` of this kind's layers."""
        raise NotImplementedError

    # --- text

    def explain(self, trace: Any, step: Any) -> list[str]:
        """The lines of one step after step 0 (see :func:`visualconv.engine.explain.explain`)."""
        raise NotImplementedError

    def padding(self, layer: Any) -> IntPair:
        """The (rows, cols) border of zeros around the input in the trace's view ((0, 0): none)."""
        return (0, 0)

    def padded(self, layer: Any) -> bool:
        """Whether the layer's input has a padding border (the texts name it A_pad)."""
        return any(self.padding(layer))

    def intro(self, trace: Any) -> list[str]:
        """The set-up lines of step 0 (backward, with an activation: how dZ comes from dA)."""
        from ..explain import MAX_TERMS, fmt_array, squeeze_view

        lines = self.intro_lines(trace)
        if trace.pass_name == "forward":
            return lines
        if self.has_activation and trace.grad_output is not None:
            assert trace.grad_pre_activation is not None
            name = self.activation(trace.layer)
            dims = self.dims(trace.layer)
            if name == "identity":
                lines.append("dZ = dA " + _("(identity activation, f'(z) = 1)"))
            else:
                da = squeeze_view(trace.grad_output, dims)
                dz = squeeze_view(trace.grad_pre_activation, dims)
                if da.size <= MAX_TERMS:  # f'(Z) is read (and made) only to be written out
                    deriv = squeeze_view(trace.derivative, dims)
                    lines.append(
                        f"dZ = dA ⊙ {name}'(Z) = {fmt_array(da)} ⊙ {fmt_array(deriv)} = {fmt_array(dz)}"
                    )
                else:
                    lines.append(f"dZ = dA ⊙ {name}'(Z) " + _("({n} elements)").format(n=da.size))
        return lines

    def intro_line(self, trace: Any) -> str:
        """The first line of step 0: how many overlays, and what starts at zero (see :meth:`intro_lines`)."""
        return self.intro_lines(trace)[0]

    def intro_lines(self, trace: Any) -> list[str]:
        """The first lines of step 0: how many overlays, what starts at zero, what each overlay does."""
        return [self._intro_first(trace)]

    def _intro_first(self, trace: Any) -> str:
        if trace.pass_name == "forward":
            text = _("{n} overlays: one per output element, channel by channel, row by row")
        elif not self.has_weights:
            text = _("{n} overlays; dA_prev starts at zero")
        elif self.has_bias(trace.layer):
            text = _("{n} overlays; dW, db and dA_prev start at zero")
        else:
            text = _("{n} overlays; dW and dA_prev start at zero (the layer has no bias)")
        return text.format(n=trace.n)

    def closed_form_lines(self, trace: Any, step: Any) -> list[str]:
        """After the last backward overlay: the stepped sums against the closed forms (if any)."""
        return []

    def links(self, trace: Any, role: str, index: tuple[int, ...]) -> CellLinks | None:
        """Which cells feed cell ``index`` of array ``role`` (see :mod:`visualconv.engine.links`)."""
        return None

    def role_shape(self, trace: Any, role: str) -> tuple[int, ...]:
        """The shape of the array ``role`` (see :mod:`visualconv.engine.links`) in the trace."""
        if role in ("kernel", "dw"):
            return tuple(trace.weight.shape)
        if role in ("bias", "db"):
            return (int(trace.weight.shape[0]),)
        if role in ("input", "dx"):
            return tuple(trace.x.shape)
        return tuple(trace.z.shape)

    # --- the scene (see visualconv.engine.scene)

    def panels(self, trace: Any) -> list[PanelSpec]:
        """The panels the trace's pass shows: heading, tiling, place in the window and in print."""
        return []

    def fill_panels(self, trace: Any, step: Any, out: StepPanels) -> None:
        """Put every panel's values and outlined cells at ``step`` (``out.put``)."""

    def caption(self, layer: Any) -> str:
        """The layer in a figure caption: ``conv 2-D, stride 2×2, relu``; the type by default."""
        return str(layer.type)


# ----------------------------------------------------------------------------- traces


class LayerTrace:
    """The overlays of one layer's pass for the model's example.

    ``LayerTrace(layer, pass_name, x, z, a, grad_output)`` builds the trace class of the
    layer's kind for that pass (a subclass of this one).

    Parameters
    ----------
    layer : Layer
    pass_name : {"forward", "backward"}
    x : ndarray of the layer input's shape, without batch axis
    z : ndarray, the layer's pre-activation, without batch axis
    a : ndarray, the layer's output, without batch axis
    grad_output : ndarray or None
        dL/dA of this layer (required for the backward pass).

    Attributes
    ----------
    layer, pass_name, layer_type
    kind : Kind
    x, z, a : ndarray
        Windowed kinds hold their 2-D view: a 1-D layer has height 1.
    grad_output : ndarray or None
        dA.
    derivative, grad_pre_activation : ndarray or None
        f'(Z) (made when first read) and dZ of a kind with an activation.
    out_shape : tuple of int
    n : int
        Number of overlays.
    loss_start : LossStart or None
        The last layer's backward trace of a model with a target: the loss that starts
        the pass, shown and written out at its step 0 (set by ``trace_layer``).
    """

    # Steps kept per trace: stepping k-1 -> k reuses the previous one.
    CACHED_STEPS = 8

    layer: Any
    x: FloatArray
    z: FloatArray
    a: FloatArray
    grad_output: FloatArray | None
    grad_pre_activation: FloatArray | None
    loss_start: Any = None

    def __new__(cls, layer: Layer, pass_name: str, *args: Any, **kwargs: Any) -> LayerTrace:
        """The trace class of the layer's kind for ``pass_name`` (when called on LayerTrace itself)."""
        if cls is LayerTrace:
            if pass_name not in PASSES:
                raise ValueError(f"pass must be 'forward' or 'backward', got {pass_name!r}")
            cls = layer.kind.trace_class(pass_name)
        return object.__new__(cls)

    def __init__(
        self,
        layer: Layer,
        pass_name: str,
        x: FloatArray,
        z: FloatArray,
        a: FloatArray,
        grad_output: FloatArray | None = None,
    ) -> None:
        if pass_name not in PASSES:
            raise ValueError(f"pass must be 'forward' or 'backward', got {pass_name!r}")
        if pass_name == "backward" and grad_output is None:
            raise ValueError("the backward pass needs the gradient of the layer's output")
        self.layer = layer
        self.kind: Kind = layer.kind
        self.pass_name = pass_name
        self.layer_type = layer.type
        self._cache: OrderedDict[int, AnyStep] = OrderedDict()
        view = self._view
        self.x, self.z, self.a = frozen(view(x)), frozen(view(z)), frozen(view(a))
        self.grad_output = None if grad_output is None else frozen(view(grad_output))
        self.grad_pre_activation = None
        self._derivative: FloatArray | None = None
        if self.kind.has_activation and self.grad_output is not None:
            if layer.activation == "relu":  # type: ignore[attr-defined]
                # dA * relu'(Z) without relu'(Z) as an array of its own (a full-size block of
                # fresh memory; the derivative is made when first read): the same products.
                self.grad_pre_activation = frozen(np.multiply(self.grad_output, self.z > 0))
            else:
                derivative = self.derivative
                assert derivative is not None
                self.grad_pre_activation = frozen(self.grad_output * derivative)
        self.out_shape: tuple[int, ...] = tuple(self.z.shape)
        self.n = int(np.prod(self.out_shape))
        self._ramp: FloatArray | None = None  # n True then n False: done masks are views of it
        self._setup()

    @property
    def derivative(self) -> FloatArray | None:
        """f'(Z), of the shape of Z (made when first read); None for a kind without an activation."""
        if self._derivative is None and self.kind.has_activation:
            from .. import activations

            layer = self.layer
            slope = layer.negative_slope
            self._derivative = frozen(activations.derivative(layer.activation, self.z, self.a, slope))
        return self._derivative

    def _view(self, array: FloatArray) -> FloatArray:
        """The array as the trace holds it (windowed kinds: the 2-D view, a 1-D layer of height 1)."""
        if self.kind.windowed and int(self.layer.dims) == 1:
            return array[:, None, :]
        return array

    def _setup(self) -> None:
        """Kind-specific arrays (windows, padded input, ...), after the common ones."""

    # ------------------------------------------------------------ geometry

    def overlay(self, k: int) -> Overlay:
        """The k-th overlay (1-based)."""
        if not 1 <= k <= self.n:
            raise IndexError(f"overlay {k} is outside 1..{self.n}")
        return Overlay(k, k - 1, (0, 0), slice(0, 0), slice(0, 0))

    def affected_by_input(self, c: int, row: int, col: int) -> list[int]:
        """Overlays (1-based, ascending) whose window covers padded-input cell (c, row, col).

        Kinds without windows have none.
        """
        return []

    # ------------------------------------------------------------ steps

    def step(self, k: int) -> AnyStep:
        """The state after k overlays, 0 <= k <= n."""
        if not 0 <= k <= self.n:
            raise IndexError(f"step {k} is outside 0..{self.n}")
        cached = self._cache.get(k)
        if cached is not None:
            self._cache.move_to_end(k)
            return cached
        step = self._compute(k)
        self._cache[k] = step
        while len(self._cache) > self.CACHED_STEPS:
            self._cache.popitem(last=False)
        return step

    def step_bytes(self) -> int:
        """Bytes of the arrays a step makes of its own (0: its arrays are views of the trace's)."""
        return 0

    def prepare(self) -> Iterator[None]:
        """Work that makes later steps quick, done before they are asked for: one piece per item.

        The window runs it while idle, a piece at a time (so a key press waits for one piece
        at most); a step computed before or after gives the same values. Kinds without such
        work yield nothing.
        """
        return iter(())

    def kept_blocks(self) -> int:
        """How many arrays of :meth:`step_bytes` the trace may hold at once.

        Its cached steps, the one being made and the one shown; kinds with checkpoints add theirs.
        """
        return self.CACHED_STEPS + 2

    def steps(self) -> list[AnyStep]:
        """All steps 0..n (for exports and tests of small layers)."""
        return [self.step(k) for k in range(self.n + 1)]

    def _compute(self, k: int) -> AnyStep:
        raise NotImplementedError

    def _done_mask(self, k: int) -> FloatArray:
        """The first k outputs in row-major order: a read-only view, no per-step array."""
        if self._ramp is None:
            ramp = np.zeros(2 * self.n, dtype=bool)
            ramp[: self.n] = True
            self._ramp = frozen(ramp)
        return self._ramp[self.n - k : 2 * self.n - k].reshape(self.out_shape)

    def _forward_state(self, k: int) -> ForwardState:
        return ForwardState(self.z, self.a, self._done_mask(k))

    def closed_form(self) -> Any:
        """The seeds' closed forms of this pass (conv backward only)."""
        raise ValueError("closed forms exist for the backward pass of a conv layer")

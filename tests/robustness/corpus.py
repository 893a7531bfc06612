"""A corpus of malformed model files, each with the place its error must name.

Every case is ``(name, content, place)``: ``content`` is the file's bytes, ``place``
a substring the one-line error must contain besides the file name ("" when the
problem is the file as a whole, such as bad JSON or a wrong encoding).
"""

from __future__ import annotations

import copy
import json
from typing import Any

ONE_D: dict[str, Any] = {
    "format": "visualconv/1",
    "name": "seed 1-D",
    "dims": 1,
    "input": [1, 2, 3],
    "layers": [{"type": "conv", "weight": [0.3, 0.5], "bias": 0.0}],
    "upstream": [-0.1, 0.2],
}

TWO_D: dict[str, Any] = {
    "format": "visualconv/1",
    "name": "2-D stack",
    "input": [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0.9, 1.0, 1.1, 1.2], [1.3, 1.4, 1.5, 1.6]],
    "layers": [
        {"type": "conv", "weight": [[[[1, 0], [0, 1]]], [[[0, 1], [1, 0]]]], "bias": [0.1, -0.1]},
        {"type": "pool", "mode": "max", "size": 3},
        {"type": "flatten"},
        {"type": "dense", "weight": [[1, 2], [3, 4], [5, 6]], "activation": "tanh"},
    ],
    "target": 1,
    "loss": {"type": "cross_entropy"},
}


def doc(base: dict[str, Any], drop: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
    """A copy of ``base`` without the keys ``drop`` and with ``changes``."""
    result = copy.deepcopy(base)
    for key in drop:
        del result[key]
    result.update(copy.deepcopy(changes))
    return result


def layer(base: dict[str, Any], index: int, drop: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
    """A copy of ``base`` whose layer ``index`` lost ``drop`` and got ``changes``."""
    result = copy.deepcopy(base)
    for key in drop:
        del result["layers"][index][key]
    result["layers"][index].update(copy.deepcopy(changes))
    return result


def text(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _target_doc(base: dict[str, Any], target: Any, loss: Any) -> dict[str, Any]:
    return doc(base, drop=("upstream",), target=target, loss=loss)


CE = {"type": "cross_entropy"}
MSE = {"type": "mse"}
SEED = text(ONE_D).decode()

CASES: list[tuple[str, bytes, str]] = [
    # -- reading and parsing
    ("empty", b"", ""),
    ("whitespace-only", b"  \n\t ", ""),
    ("truncated", text(ONE_D)[:57], "line 1"),
    ("truncated-at-end", text(ONE_D)[:-1], "line 1"),
    ("not-json", b"format: visualconv/1\nname: yaml\n", "line 1"),
    ("trailing-garbage", text(ONE_D) + b"}", "line 1"),
    ("single-quotes", SEED.replace('"', "'").encode(), "line 1"),
    ("trailing-comma", SEED.replace("]}", "],}", 1).encode(), "line 1"),
    ("utf16-bom", SEED.encode("utf-16"), ""),
    ("utf16-no-bom", SEED.encode("utf-16-le"), "line 1"),
    ("utf32", SEED.encode("utf-32"), ""),
    ("latin1", text(doc(ONE_D, name="Faltung über Zeit")).decode().encode("latin-1"), "line 1"),
    ("nul-bytes", text(ONE_D) + b"\x00\x00", "line 1"),
    ("lone-surrogate", SEED.replace('"seed 1-D"', '"\\ud800"').encode(), "name"),
    ("duplicate-key", SEED.replace('"dims": 1,', '"dims": 1, "dims": 2,').encode(), "dims"),
    ("top-level-list", text([ONE_D]), ""),
    ("top-level-number", b"42", ""),
    ("top-level-null", b"null", ""),
    ("top-level-string", b'"visualconv/1"', ""),
    ("deep-nesting-lists", b"[" * 100_000 + b"]" * 100_000, ""),
    ("deep-nesting-objects", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, ""),
    ("deep-input", SEED.replace("[1, 2, 3]", "[" * 3000 + "1" + "]" * 3000).encode(), ""),
    ("deep-but-parseable", SEED.replace("[1, 2, 3]", "[" * 200 + "1" + "]" * 200).encode(), "input"),
    ("huge-integer-digits", SEED.replace("0.3", "7" * 5000).encode(), "line 1"),
    # -- non-finite numbers
    ("nan-token", SEED.replace("0.3", "NaN").encode(), "layers[0].weight[0]"),
    ("infinity-token", SEED.replace("0.5", "Infinity").encode(), "layers[0].weight[1]"),
    ("minus-infinity", SEED.replace("[1, 2, 3]", "[1, -Infinity, 3]").encode(), "input[1]"),
    ("1e400", SEED.replace("-0.1", "1e400").encode(), "upstream[0]"),
    ("big-int-beyond-float", SEED.replace("[1, 2, 3]", "[1, " + "9" * 400 + ", 3]").encode(), "input[1]"),
    ("nan-in-bias", SEED.replace('"bias": 0.0', '"bias": NaN').encode(), "layers[0].bias"),
    # -- top-level keys
    ("missing-format", text(doc(ONE_D, drop=("format",))), "format"),
    ("format-version-2", text(doc(ONE_D, format="visualconv/2")), "format"),
    ("format-number", text(doc(ONE_D, format=1)), "format"),
    ("grad-output-instead", text({"format": "visualconv.grad/1", "loss": None, "layers": []}), "format"),
    ("missing-name", text(doc(ONE_D, drop=("name",))), "name"),
    ("name-not-string", text(doc(ONE_D, name=7)), "name"),
    ("name-empty", text(doc(ONE_D, name="")), "name"),
    ("description-list", text(doc(ONE_D, description=["a"])), "description"),
    ("missing-input", text(doc(ONE_D, drop=("input",))), "input"),
    ("missing-layers", text(doc(ONE_D, drop=("layers",))), "layers"),
    ("unknown-top-key", text(doc(ONE_D, weights=[1])), "weights"),
    ("misspelt-upstream", text(doc(ONE_D, drop=("upstream",), upstrem=[1, 2])), "upstrem"),
    ("dims-3", text(doc(ONE_D, dims=3)), "dims"),
    ("dims-0", text(doc(ONE_D, dims=0)), "dims"),
    ("dims-string", text(doc(ONE_D, dims="1")), "dims"),
    ("dims-bool", text(doc(ONE_D, dims=True)), "dims"),
    ("dims-float", text(doc(ONE_D, dims=1.0)), "dims"),
    ("dims-null", text(doc(ONE_D, dims=None)), "dims"),
    # -- arrays
    ("input-empty", text(doc(ONE_D, input=[])), "input"),
    ("input-empty-rows", text(doc(TWO_D, input=[[], []])), "input"),
    ("input-string", text(doc(ONE_D, input="1 2 3")), "input"),
    ("input-object", text(doc(ONE_D, input={"data": [1, 2, 3]})), "input"),
    ("input-null", text(doc(ONE_D, input=None)), "input"),
    (
        "input-ragged",
        text(doc(TWO_D, input=[[1, 2, 3, 4], [5, 6, 7], [1, 2, 3, 4], [1, 2, 3, 4]])),
        "input[1]",
    ),
    ("input-ragged-depth", text(doc(TWO_D, input=[[1, 2, 3, 4], 5, [1, 2, 3, 4], [1, 2, 3, 4]])), "input[1]"),
    ("input-string-number", text(doc(ONE_D, input=[1, "2", 3])), "input[1]"),
    ("input-bool", text(doc(ONE_D, input=[1, True, 3])), "input[1]"),
    ("input-null-element", text(doc(ONE_D, input=[1, None, 3])), "input[1]"),
    ("input-nested-object", text(doc(ONE_D, input=[1, {"v": 2}, 3])), "input[1]"),
    ("input-too-many-axes-1d", text(doc(ONE_D, input=[[[[1, 2, 3]]]])), "input"),
    ("input-too-many-axes-2d", text(doc(TWO_D, input=[[[[[0.5]]]]])), "input"),
    ("weight-too-many-axes", text(layer(ONE_D, 0, weight=[[[[0.3, 0.5]]]])), "layers[0].weight"),
    ("dense-weight-3-axes", text(layer(TWO_D, 3, weight=[[[1, 2], [3, 4], [5, 6]]])), "layers[3].weight"),
    ("weight-empty", text(layer(ONE_D, 0, weight=[])), "layers[0].weight"),
    (
        "weight-ragged",
        text(layer(TWO_D, 0, weight=[[[[1, 0], [0]]], [[[0, 1], [1, 0]]]])),
        "layers[0].weight",
    ),
    ("weight-string", text(layer(ONE_D, 0, weight="0.3 0.5")), "layers[0].weight"),
    ("weight-null", text(layer(ONE_D, 0, weight=None)), "layers[0].weight"),
    ("bias-wrong-length", text(layer(ONE_D, 0, bias=[0.1, 0.2])), "layers[0].bias"),
    ("bias-wrong-length-2d", text(layer(TWO_D, 0, bias=[0.1, 0.2, 0.3])), "layers[0].bias"),
    ("bias-2-axes", text(layer(ONE_D, 0, bias=[[0.1]])), "layers[0].bias"),
    ("bias-string", text(layer(ONE_D, 0, bias="0")), "layers[0].bias"),
    ("bias-bool", text(layer(ONE_D, 0, bias=False)), "layers[0].bias"),
    ("dense-bias-wrong-length", text(layer(TWO_D, 3, bias=[1, 2])), "layers[3].bias"),
    # -- layers
    ("layers-empty", text(doc(ONE_D, layers=[])), "layers"),
    ("layers-object", text(doc(ONE_D, layers={"type": "conv", "weight": [1]})), "layers"),
    ("layer-string", text(doc(ONE_D, layers=["conv"])), "layers[0]"),
    ("layer-null", text(doc(ONE_D, layers=[None])), "layers[0]"),
    ("layer-without-type", text(layer(ONE_D, 0, drop=("type",))), "layers[0]"),
    ("layer-type-unknown", text(layer(ONE_D, 0, type="lstm")), "layers[0].type"),
    ("layer-type-capitalised", text(layer(ONE_D, 0, type="Conv")), "layers[0].type"),
    ("layer-type-number", text(layer(ONE_D, 0, type=1)), "layers[0].type"),
    ("layer-unknown-key", text(layer(ONE_D, 0, kernel_size=2)), "layers[0]"),
    ("conv-missing-weight", text(layer(ONE_D, 0, drop=("weight",))), "layers[0]"),
    (
        "pool-missing-mode",
        text(doc(ONE_D, layers=[{"type": "pool", "size": 2}], upstream=[1, 2])),
        "layers[0]",
    ),
    ("pool-missing-size", text(doc(ONE_D, layers=[{"type": "pool", "mode": "max"}])), "layers[0]"),
    (
        "pool-mode-unknown",
        text(doc(ONE_D, layers=[{"type": "pool", "mode": "min", "size": 2}])),
        "layers[0].mode",
    ),
    # format 1.1 gives pool a padding; more than half the size is still refused
    ("pool-padding-over-half-the-size", text(layer(TWO_D, 1, padding=2)), "layers[1].padding"),
    ("flatten-with-weight", text(layer(TWO_D, 2, weight=[1])), "layers[2]"),
    ("activation-unknown", text(layer(ONE_D, 0, activation="gelu")), "layers[0].activation"),
    ("activation-null", text(layer(ONE_D, 0, activation=None)), "layers[0].activation"),
    ("too-many-layers", text(doc(ONE_D, layers=[{"type": "flatten"}] * 5000, upstream=[1, 2, 3])), "layers"),
    # -- integers and pairs
    ("stride-negative", text(layer(ONE_D, 0, stride=-1)), "layers[0].stride"),
    ("stride-zero", text(layer(ONE_D, 0, stride=0)), "layers[0].stride"),
    ("stride-fraction", text(layer(ONE_D, 0, stride=1.5)), "layers[0].stride"),
    ("stride-float-integral", text(layer(ONE_D, 0, stride=2.0)), "layers[0].stride"),
    ("stride-bool", text(layer(ONE_D, 0, stride=True)), "layers[0].stride"),
    ("stride-string", text(layer(ONE_D, 0, stride="1")), "layers[0].stride"),
    ("stride-null", text(layer(ONE_D, 0, stride=None)), "layers[0].stride"),
    ("stride-triple", text(layer(TWO_D, 0, stride=[1, 1, 1])), "layers[0].stride"),
    ("stride-empty-pair", text(layer(TWO_D, 0, stride=[])), "layers[0].stride"),
    ("stride-pair-negative", text(layer(TWO_D, 0, stride=[1, -2])), "layers[0].stride"),
    ("stride-pair-bool", text(layer(TWO_D, 0, stride=[True, 1])), "layers[0].stride"),
    ("stride-pair-float", text(layer(TWO_D, 0, stride=[1.0, 1])), "layers[0].stride"),
    ("stride-huge", text(layer(ONE_D, 0, stride=10**30)), "layers[0].stride"),
    ("padding-negative", text(layer(ONE_D, 0, padding=-1)), "layers[0].padding"),
    ("padding-fraction", text(layer(ONE_D, 0, padding=0.5)), "layers[0].padding"),
    ("padding-bool", text(layer(ONE_D, 0, padding=False)), "layers[0].padding"),
    ("dilation-zero", text(layer(ONE_D, 0, dilation=0)), "layers[0].dilation"),
    ("pool-size-zero", text(layer(TWO_D, 1, size=0)), "layers[1].size"),
    ("pool-size-negative-pair", text(layer(TWO_D, 1, size=[2, -2])), "layers[1].size"),
    ("pool-stride-fraction", text(layer(TWO_D, 1, stride=0.5)), "layers[1].stride"),
    ("one-d-given-pair-stride", text(layer(ONE_D, 0, stride=[1, 1])), "layers[0].stride"),
    ("one-d-given-pair-padding", text(layer(ONE_D, 0, padding=[0, 1])), "layers[0].padding"),
    (
        "one-d-given-pair-pool",
        text(doc(ONE_D, layers=[{"type": "pool", "mode": "max", "size": [1, 2]}])),
        "layers[0].size",
    ),
    # -- shapes between layers
    ("kernel-larger-than-input", text(layer(ONE_D, 0, weight=[1, 2, 3, 4])), "layers[0]"),
    (
        "kernel-larger-than-padded",
        text(layer(TWO_D, 0, weight=[[1] * 7] * 7, bias=0, padding=1)),
        "layers[0]",
    ),
    ("dilated-kernel-too-wide", text(layer(ONE_D, 0, dilation=3)), "layers[0]"),
    ("pool-larger-than-input", text(layer(TWO_D, 1, size=4)), "layers[1]"),
    ("pool-larger-1d", text(doc(ONE_D, layers=[{"type": "pool", "mode": "avg", "size": 4}])), "layers[0]"),
    (
        "channel-mismatch",
        text(
            doc(
                TWO_D,
                ("target", "loss"),
                layers=[TWO_D["layers"][0], {"type": "conv", "weight": [[1, 0], [0, 1]]}],
            )
        ),
        "layers[1]",
    ),
    ("input-channels-mismatch", text(layer(TWO_D, 0, weight=[[[[1]], [[1]]]], bias=0)), "layers[0]"),
    ("dense-after-conv", text(doc(TWO_D, layers=[TWO_D["layers"][0], TWO_D["layers"][3]])), "layers[1]"),
    ("dense-first-2d", text(doc(TWO_D, layers=[TWO_D["layers"][3]])), "layers[0]"),
    ("dense-wrong-inputs", text(layer(TWO_D, 3, weight=[[1, 2, 3]], bias=None)), "layers[3]"),
    ("conv-after-flatten", text(doc(TWO_D, layers=[{"type": "flatten"}, TWO_D["layers"][0]])), "layers[1]"),
    (
        "pool-after-dense",
        text(doc(TWO_D, layers=[*TWO_D["layers"], {"type": "pool", "mode": "max", "size": 1}])),
        "layers[4]",
    ),
    # -- what starts the backward pass
    ("upstream-wrong-shape", text(doc(ONE_D, upstream=[1, 2, 3])), "upstream"),
    ("upstream-wrong-axes", text(doc(ONE_D, upstream=[[1, 2], [3, 4]])), "upstream"),
    ("upstream-string", text(doc(ONE_D, upstream="1")), "upstream"),
    ("upstream-ragged", text(doc(ONE_D, upstream=[[1, 2], [3]])), "upstream"),
    ("target-wrong-shape", text(_target_doc(ONE_D, [1, 2, 3], MSE)), "target"),
    ("both-upstream-and-target", text(doc(ONE_D, target=[1, 2], loss=MSE)), "upstream"),
    ("target-without-loss", text(doc(ONE_D, drop=("upstream",), target=[1, 2])), "loss"),
    ("loss-without-target", text(doc(ONE_D, drop=("upstream",), loss=MSE)), "target"),
    ("loss-type-unknown", text(_target_doc(ONE_D, [1, 2], {"type": "l1"})), "loss.type"),
    ("loss-string", text(_target_doc(ONE_D, [1, 2], "mse")), "loss"),
    (
        "loss-reduction-unknown",
        text(_target_doc(ONE_D, [1, 2], {"type": "mse", "reduction": "avg"})),
        "loss.reduction",
    ),
    ("loss-unknown-key", text(_target_doc(ONE_D, [1, 2], {"type": "mse", "weight": 2})), "loss"),
    ("ce-reduction", text(doc(TWO_D, loss={"type": "cross_entropy", "reduction": "sum"})), "loss.reduction"),
    ("ce-index-too-large", text(doc(TWO_D, target=3)), "target"),
    ("ce-index-negative", text(doc(TWO_D, target=-1)), "target"),
    ("ce-index-fraction", text(doc(TWO_D, target=0.5)), "target"),
    ("ce-index-float", text(doc(TWO_D, target=1.0)), "target"),
    ("ce-index-bool", text(doc(TWO_D, target=True)), "target"),
    ("ce-index-list", text(doc(TWO_D, target=[0, 1, 0])), "target"),
    ("ce-index-string", text(doc(TWO_D, target="1")), "target"),
    ("ce-index-huge", text(doc(TWO_D, target=10**30)), "target"),
    # -- sizes past what fits
    ("padding-1e9", text(layer(ONE_D, 0, padding=10**9)), "layers[0]"),
    ("padding-1e9-2d", text(layer(TWO_D, 0, padding=10**9)), "layers[0]"),
    ("padding-implies-1e5-square", text(layer(TWO_D, 0, padding=50_000)), "layers[0]"),
    ("padding-beyond-int32", text(layer(ONE_D, 0, padding=2**40)), "layers[0].padding"),
    ("dilation-1e9", text(layer(ONE_D, 0, dilation=10**9)), "layers[0]"),
    (
        "many-output-channels",
        text(layer(TWO_D, 0, weight=[[[[1]]]] * 50_000, bias=None, padding=100)),
        "layers[0]",
    ),
    # -- the training section
    (
        "training-without-loss",
        text(
            doc(ONE_D, training={"dataset": {"kind": "inline", "inputs": [[1, 2, 3]], "targets": [[1, 2]]}})
        ),
        "training",
    ),
    (
        "training-unknown-key",
        text(doc(TWO_D, training={"epoch": 3, "dataset": {"kind": "inline"}})),
        "training",
    ),
    ("training-missing-dataset", text(doc(TWO_D, training={"epochs": 3})), "training"),
    (
        "training-epochs-zero",
        text(doc(TWO_D, training={"epochs": 0, "dataset": {"kind": "inline"}})),
        "training.epochs",
    ),
    (
        "training-epochs-bool",
        text(doc(TWO_D, training={"epochs": True, "dataset": {"kind": "inline"}})),
        "training.epochs",
    ),
    (
        "training-rate-negative",
        text(doc(TWO_D, training={"learning_rate": -1, "dataset": {"kind": "inline"}})),
        "training.learning_rate",
    ),
    (
        "training-rate-string",
        text(doc(TWO_D, training={"learning_rate": "0.1", "dataset": {"kind": "inline"}})),
        "training.learning_rate",
    ),
    (
        "training-momentum-one",
        text(doc(TWO_D, training={"momentum": 1, "dataset": {"kind": "inline"}})),
        "training.momentum",
    ),
    (
        "training-batch-half",
        text(doc(TWO_D, training={"batch_size": "half", "dataset": {"kind": "inline"}})),
        "training.batch_size",
    ),
    (
        "training-batch-zero",
        text(doc(TWO_D, training={"batch_size": 0, "dataset": {"kind": "inline"}})),
        "training.batch_size",
    ),
    (
        "training-optimizer-adam",
        text(doc(TWO_D, training={"optimizer": "adam", "dataset": {"kind": "inline"}})),
        "training.optimizer",
    ),
    (
        "training-kind-unknown",
        text(doc(TWO_D, training={"dataset": {"kind": "mnist"}})),
        "training.dataset.kind",
    ),
    ("training-dataset-list", text(doc(TWO_D, training={"dataset": [1, 2]})), "training.dataset"),
]
"""(name, file bytes, place the error must name)."""

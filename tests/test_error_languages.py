"""Errors of importing networks, editing, exporting, overflow and the memory budget speak the language in use.

Their English is the same line as before (``str()`` of the error, what scripts and the other tests
read); in German, Portuguese, Indonesian and Chinese the words are translated and the file, the place
and the values stay as they are. The German lines are written out here by hand (docs/glossary.md:
"erwartet X, erhalten Y"); the other languages are read from their catalogues with Python's gettext.
"""

from __future__ import annotations

import gettext
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT

from visualconv import editing, i18n
from visualconv.atomic import WriteError
from visualconv.cli.common import check_finite, require_backward
from visualconv.engine.budget import check_layers
from visualconv.engine.errors import ModelError, said
from visualconv.engine.layers import ConvLayer
from visualconv.export import api
from visualconv.modelfile import load_model, loads

SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
FORWARD_ONLY = (
    '{"format": "visualconv/1", "name": "x", "input": [1, 2, 3],'
    ' "layers": [{"type": "conv", "weight": [1, 2], "bias": 0}]}'
)


def _catalogue(code: str) -> gettext.GNUTranslations:
    return gettext.translation("visualconv", i18n.LOCALE_DIR, [code])


@pytest.fixture(autouse=True)
def _english_after():
    yield
    i18n.set_language("en")


def _refused(call, *args, **kwargs) -> ModelError:
    with pytest.raises(ModelError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_an_unsupported_onnx_node_is_refused_in_german_under_lang_de_naming_the_node(tmp_path):
    pytest.importorskip("onnx")
    sys.path.insert(0, str(ROOT / "tests" / "bridge"))
    from onnx_nets import make_onnx, node

    path = make_onnx(
        tmp_path / "net.onnx",
        [node("Conv", ["x", "w"], "c", kernel_shape=[2, 2]), node("Foo", ["c"], "y")],
        {"w": np.ones((1, 1, 2, 2))},
        [1, 1, 3, 3],
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "VISUALCONV_LANG")
    }
    proc = subprocess.run(
        [sys.executable, "-m", "visualconv", "import", str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        env={**env, "LANG": "de_DE.UTF-8"},
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(
        f"visualconv: {path}: Knoten 'foo_y' (Foo): "
        "nicht unterstützte Operation Foo; erwartet eine von Conv, "
    )


def test_a_file_that_is_no_onnx_model_is_refused_in_the_language_in_use(tmp_path):
    pytest.importorskip("onnx")
    from visualconv.bridge.command import import_network

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all \xff\xfe")
    error = _refused(import_network, str(bad))
    assert error.file == str(bad) and error.message.startswith(
        "expected an ONNX model file (a serialised ModelProto), got something else ("
    )
    english = str(error)
    i18n.set_language("de")
    assert str(error) == english
    assert error.localized().startswith(
        f"{bad}: erwartet eine ONNX-Modelldatei (ein serialisiertes ModelProto), erhalten etwas anderes ("
    )
    i18n.set_language("zh-CN")
    kind = error.message.rsplit("(", 1)[1].rstrip(")")
    chinese = _catalogue("zh_CN").gettext(
        "expected an ONNX model file (a serialised ModelProto), got something else ({kind})"
    )
    assert "ModelProto" in chinese and "expected" not in chinese
    assert error.localized() == f"{bad}: " + chinese.format(kind=kind)


def test_edit_errors_name_the_tensor_and_quote_the_text_in_every_language():
    error = _refused(editing.parse_number, "abc", "input")
    assert str(error) == "input: expected a number, got 'abc'"
    i18n.set_language("de")
    assert error.localized() == "input: erwartet eine Zahl, erhalten 'abc'"
    model = load_model(SEED_1D)
    outside = _refused(editing.set_cell, model, "input", (0, 7), 1.0)
    assert outside.localized() == "input: Zelle (0, 7) liegt außerhalb der Form (1, 3)"
    for code in ("pt_BR", "id", "zh_CN"):
        i18n.set_language(code)
        words = _catalogue(code).gettext("cell {index} is outside the shape {shape}")
        assert outside.localized() == "input: " + words.format(index=(0, 7), shape=(1, 3))
        assert "(0, 7)" in outside.localized() and words != "cell {index} is outside the shape {shape}"


def test_export_errors_say_the_layer_pass_and_steps_in_the_language_in_use():
    model = load_model(SEED_1D)
    layer = _refused(api.open_pass, model, 3, "backward")
    assert str(layer) == "layer 3: the model has layers 0..0"
    trace = api.open_pass(model, 0, "backward")
    backwards = _refused(api.choose_steps, trace, "2-1")
    assert str(backwards) == "steps '2-1': the range 2-1 runs backwards"
    no_backward = _refused(api.open_pass, loads(FORWARD_ONLY), 0, "backward")
    i18n.set_language("de")
    assert layer.localized() == "Schicht 3: das Modell hat die Schichten 0..0"
    assert backwards.localized() == "Schritte '2-1': der Bereich 2-1 läuft rückwärts"
    assert no_backward.localized().startswith(
        "upstream: das Modell hat kein 'upstream' und kein 'target' mit"
    )
    i18n.set_language("pt-BR")
    assert backwards.localized() == "passos '2-1': o intervalo 2-1 está invertido"


def test_gradients_without_a_start_and_overflowing_results_are_refused_in_the_language_in_use():
    model = loads(FORWARD_ONLY)
    missing = _refused(require_backward, model, "m.json")
    assert str(missing).startswith("m.json: upstream: missing: the model has no 'upstream' and no 'target'")
    result = {
        "loss": None,
        "layers": [{"index": 0, "grad_weight": np.array([1.0, math.inf]), "output": np.zeros(2)}],
    }
    overflow = _refused(check_finite, result, "m.json")
    assert str(overflow) == (
        "m.json: layers[0]: its grad weight overflows float64 (it holds inf or NaN); "
        "expected smaller numbers in the input, weights, upstream or target"
    )
    loss = _refused(check_finite, {"loss": math.nan, "layers": []}, "m.json")
    i18n.set_language("de")
    assert missing.localized().startswith(
        "m.json: upstream: fehlt: "
        + _catalogue("de").gettext("the model has no 'upstream' and no 'target' with 'loss'")
    )
    assert overflow.localized() == (
        "m.json: layers[0]: Gewichtsgradient übersteigt float64 (enthält inf oder NaN); "
        "erwartet kleinere Zahlen in der Eingabe, den Gewichten, upstream oder target"
    )
    assert loss.localized().startswith("m.json: target: der Verlust übersteigt float64")
    i18n.set_language("id")
    assert "gradien bobot" in overflow.localized() and "float64" in overflow.localized()


def test_the_memory_budget_gives_its_reason_in_the_language_in_use():
    layer = ConvLayer(np.ones((1, 1, 3, 3)), np.zeros(1))
    error = _refused(check_layers, (1, 20_000, 20_000), [layer])
    # 1 channel of 19998 x 19998 outputs: the layer's own cost is the largest.
    assert "layers[0] alone needs" in str(error)
    assert str(error).endswith(
        "(its 1 output channel of 19998 x 19998 and its window copies); "
        "expected smaller sizes, channels or padding"
    )
    i18n.set_language("de")
    assert "(sein 1 Ausgabekanal von 19998 x 19998 und seine Fensterkopien)" in error.localized()
    i18n.set_language("zh-CN")
    assert "（它的 1 个 19998 x 19998 输出通道及其窗口副本）" in error.localized()


def test_a_file_that_cannot_be_written_says_so_in_the_language_in_use():
    error = WriteError("out.png", "no space left on device", existed=True)
    assert str(error) == "out.png: could not write: no space left on device (the old file is unchanged)"
    i18n.set_language("de")
    assert (
        said(error)
        == "out.png: konnte nicht schreiben: no space left on device (die alte Datei ist unverändert)"
    )
    assert said(ValueError("plain")) == "plain"


def test_the_steps_of_a_missing_backward_pass_are_refused_in_the_language_in_use(tmp_path, capsys):
    from visualconv.cli import main

    path = tmp_path / "forward.json"
    path.write_text(FORWARD_ONLY, encoding="utf-8")
    assert main(["steps", str(path), "--pass", "backward"]) == 2
    assert capsys.readouterr().err == (
        f"visualconv: {path}: upstream: the model has no 'upstream' and no 'target' with 'loss', "
        "so there is no backward pass; expected one of them, or --pass forward "
        "to step through the forward pass\n"
    )
    assert main(["--lang", "de", "steps", str(path), "--pass", "backward"]) == 2
    assert capsys.readouterr().err == (
        f"visualconv: {path}: upstream: das Modell hat kein 'upstream' und kein 'target' mit 'loss', "
        "also gibt es keinen Rückwärtspass; erwartet eines davon oder --pass forward, "
        "um durch den Vorwärtspass zu gehen\n"
    )

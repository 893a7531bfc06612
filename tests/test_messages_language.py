"""Model-file messages and the command line's human text follow the language; machine output never does.

The English error line is the spec's (section 5: "visualconv: FILE: place: expected ..."),
written out here by hand; the other languages' words are their catalogues' (read with
Python's own gettext), whose terms come from docs/glossary.md.
"""

from __future__ import annotations

import gettext
import json
import pickle
import subprocess
import sys

import pytest
from helpers import ROOT

from visualconv import i18n
from visualconv.engine.errors import Message, ModelError
from visualconv.modelfile import loads

GERMAN = gettext.translation("visualconv", i18n.LOCALE_DIR, ["de"])
CHINESE = gettext.translation("visualconv", i18n.LOCALE_DIR, ["zh_CN"])
SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
UNKNOWN_KEY = (
    '{"format": "visualconv/1", "name": "x", "input": [1, 2, 3],'
    ' "layers": [{"type": "conv", "weight": [1, 2], "bias": 0, "strde": 1}]}'
)
CONV_KEYS = "activation, bias, dilation, groups, negative_slope, padding, padding_mode, stride, type, weight"


@pytest.fixture(autouse=True)
def _english_after():
    yield
    i18n.set_language("en")


def _error(text: str) -> ModelError:
    with pytest.raises(ModelError) as caught:
        loads(text, "bad.json")
    return caught.value


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visualconv", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        env={**__import__("os").environ, "COLUMNS": "100"},
    )


def test_a_message_is_its_english_text_and_says_itself_in_the_language_in_use():
    message = Message("expected a number, got {got}", got=Message("a list"))
    assert message == "expected a number, got a list" and isinstance(message, str)
    i18n.set_language("de")
    assert message.localized() == GERMAN.gettext("expected a number, got {got}").format(
        got=GERMAN.gettext("a list")
    )
    assert message.localized() == "erwartet eine Zahl, erhalten eine Liste"
    copy = pickle.loads(pickle.dumps(ModelError(message, "input", "bad.json")))
    assert copy.localized() == "bad.json: input: erwartet eine Zahl, erhalten eine Liste"


def test_the_english_error_is_the_same_line_and_other_languages_translate_only_the_words():
    error = _error(UNKNOWN_KEY)
    english = (
        f"bad.json: layers[0].strde: unknown key 'strde'; expected only the keys of a conv layer: {CONV_KEYS}"
    )
    assert str(error) == english and error.localized() == english
    i18n.set_language("de")
    assert str(error) == english  # the exception's own text stays English (logs, tests)
    assert error.localized() == (
        "bad.json: layers[0].strde: unbekannter Schlüssel 'strde'; erwartet nur die Schlüssel einer "
        f"conv-Schicht: {CONV_KEYS}"
    )
    i18n.set_language("zh-CN")
    assert error.localized().startswith("bad.json: layers[0].strde: 未知的键“strde”；conv 层")


def test_the_schema_words_are_all_marked_for_translation():
    from visualconv.modelfile.schema import EXPECTED_WORDS, schema

    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "x-expected" in node:
                found.add(node["x-expected"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema())
    assert found - {'"visualconv/1"'} <= set(EXPECTED_WORDS)
    for words in EXPECTED_WORDS:
        assert CHINESE.gettext(words) != words, words


def test_the_command_line_says_its_errors_and_help_in_the_language_and_keeps_its_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(UNKNOWN_KEY, encoding="utf-8")
    english = _run("grad", str(bad))
    assert english.returncode == 2
    assert english.stderr == (
        f"visualconv: {bad}: layers[0].strde: unknown key 'strde'; expected only the keys of a conv layer: "
        f"{CONV_KEYS}\n"
    )
    german = _run("--lang", "de", "grad", str(bad))
    assert german.returncode == 2
    assert german.stderr.startswith(f"visualconv: {bad}: layers[0].strde: unbekannter Schlüssel 'strde'")

    help_en = _run("grad", "--help").stdout
    assert help_en.startswith("usage: visualconv grad [-h] [--json] file\n")
    assert "show this help message and exit" in help_en
    help_zh = _run("--lang", "zh-CN", "grad", "--help").stdout
    assert help_zh.startswith(CHINESE.gettext("usage: ") + "visualconv grad [-h] [--json] file\n")
    assert CHINESE.gettext("show this help message and exit") in help_zh
    assert CHINESE.gettext("render the window to a PNG and exit") in _run("--lang", "zh-CN", "--help").stdout

    grad_en = _run("grad", str(SEED_1D), "--json")
    grad_zh = _run("--lang", "zh-CN", "grad", str(SEED_1D), "--json")
    assert grad_en.returncode == grad_zh.returncode == 0
    assert grad_zh.stdout == grad_en.stdout and json.loads(grad_en.stdout)["format"] == "visualconv.grad/1"


def test_the_steps_heading_names_a_seed_example_in_the_language_of_its_text():
    german = _run("--lang", "de", "steps", str(SEED_1D), "--step", "1").stdout.splitlines()[0]
    assert german.startswith(GERMAN.gettext("Seed: 1-D convolution") + ": layers[0] (conv), ")
    english = _run("steps", str(SEED_1D), "--step", "1").stdout.splitlines()[0]
    assert english == "Seed: 1-D convolution: layers[0] (conv), backward pass, 2 overlays"

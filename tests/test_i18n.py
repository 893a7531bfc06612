"""The language: from --lang, VISUALCONV_LANG or the locale; switched at run time; complete catalogues."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from visualconv import i18n

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import translations  # noqa: E402


@pytest.fixture(autouse=True)
def _english_after():
    yield
    i18n.set_language("en")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("de", "de"),
        ("de_DE.UTF-8", "de"),
        ("de-AT", "de"),
        ("pt-BR", "pt_BR"),
        ("pt_BR.utf8", "pt_BR"),
        ("pt", "pt_BR"),
        ("id_ID", "id"),
        ("zh-CN", "zh_CN"),
        ("zh_Hans_CN", "zh_CN"),
        ("zh", "zh_CN"),
        ("en_GB", "en"),
        ("C", "en"),
        ("fr_FR", None),
        ("", None),
    ],
)
def test_language_tags_and_locale_names_name_their_catalogue(text, code):
    assert i18n.normalize(text) == code


def test_lang_option_wins_over_the_environment_which_wins_over_the_locale():
    env = {"VISUALCONV_LANG": "id", "LANG": "de_DE.UTF-8"}
    assert i18n.choose("zh-CN", env) == "zh_CN"
    assert i18n.choose(None, env) == "id"
    assert i18n.choose(None, {"LANG": "de_DE.UTF-8"}) == "de"
    assert i18n.choose(None, {"LANGUAGE": "fr:pt_BR", "LANG": "fr_FR.UTF-8"}) == "pt_BR"
    assert (
        i18n.choose(None, {"LC_ALL": "fr_FR.UTF-8", "LANG": "de_DE"}) == "en"
    )  # a language we lack: English
    assert i18n.choose(None, {}) == "en"
    with pytest.raises(ValueError, match="expected one of en, de, pt-BR, id, zh-CN, got 'xx'"):
        i18n.choose("xx", {})


def test_switching_at_run_time_changes_every_later_lookup():
    i18n.set_language("de")
    assert i18n._("interrupted") == "abgebrochen"
    i18n.set_language("zh-CN")
    assert i18n._("interrupted") == "已中断"
    assert i18n.translate_back("已中断") == "interrupted"
    i18n.set_language("en")
    assert i18n._("interrupted") == "interrupted"
    assert i18n.N_("interrupted") == "interrupted"


def test_a_message_without_a_translation_stays_english():
    i18n.set_language("id")
    assert i18n._("no such message in any catalogue") == "no such message in any catalogue"


def test_the_command_line_takes_lang_anywhere_and_refuses_an_unknown_one():
    run = [sys.executable, "-m", "visualconv"]
    bad = subprocess.run(
        [*run, "--lang", "xx", "grad", "x.json"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert bad.stderr == "visualconv: --lang: expected one of en, de, pt-BR, id, zh-CN, got 'xx'\n"
    missing = subprocess.run([*run, "grad", "x.json", "--lang"], capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and "--lang: expected a language code" in missing.stderr


def test_every_catalogue_is_complete_compiled_and_keeps_the_placeholders():
    """What .ci/run's check says about the catalogues: nothing missing, empty, fuzzy or stale."""
    assert list(translations.catalogue_problems()) == []


def test_every_shown_string_of_the_window_is_marked_for_translation():
    """What .ci/run's check says about the sources: no literal reaches a person unmarked."""
    assert list(translations.source_problems()) == []
    assert list(translations.shadowing_problems()) == []


def test_the_check_finds_an_unmarked_label_and_lets_marked_and_symbolic_text_through(tmp_path):
    source = tmp_path / "panel.py"
    source.write_text(
        "def build(w, _):\n"
        '    w.setText("Learning rate")\n'
        '    w.setToolTip(f"{n} values")\n'
        '    w.setText(_("Learning rate"))\n'
        '    w.setText("dA_prev")\n'
        '    w.addItem("max", "max")  # i18n: ok\n'
        '    w.setSuffix(" ms")\n',
        encoding="utf-8",
    )
    problems = list(translations.source_problems([source]))
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in problems] == ["2", "3"]
    assert "setText() shows 'Learning rate' unmarked" in problems[0]


def test_the_english_output_stays_english_whatever_the_catalogues_hold():
    """English is no catalogue: every message is its own text."""
    i18n.set_language("en")
    assert i18n._("overlay {k}: {text}") == "overlay {k}: {text}"
    assert i18n.ngettext("{n} file", "{n} files", 1) == "{n} file"


def test_the_seed_examples_say_what_their_catalogue_entries_translate():
    """A seed example's name and description are the catalogue's keys (the file format has no field
    for translations): a change to the file must change visualconv.samples.SEED_TEXTS too."""
    import json

    from visualconv.samples import SEED_TEXTS, shown

    for name, (title, description) in SEED_TEXTS.items():
        document = json.loads((ROOT / "sample_models" / name).read_text(encoding="utf-8"))
        assert (document["name"], document["description"]) == (title, description), name
    i18n.set_language("de")
    assert shown(SEED_TEXTS["01-seed-1d-conv.json"][1]).count("Überlagerung") == 2  # the German seed's word
    i18n.set_language("zh-CN")
    assert "上采样" in shown(SEED_TEXTS["05-max-pool-backward.json"][1])  # the Chinese seed's word
    assert shown("A model of my own") == "A model of my own"


def test_a_chinese_export_says_what_to_install_when_no_font_has_chinese_glyphs(tmp_path, monkeypatch):
    """A system whose fontconfig knows no Chinese font (a stand-in fc-list that lists none)."""
    from visualconv.cli import export

    fake = tmp_path / "fc-list"
    fake.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert export.has_cjk_font() is False
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "visualconv",
            "--lang",
            "zh-CN",
            "export",
            str(ROOT / "sample_models" / "01-seed-1d-conv.json"),
            "--out",
            str(tmp_path / "step.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**__import__("os").environ, "PATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "fonts-noto-cjk" in result.stderr

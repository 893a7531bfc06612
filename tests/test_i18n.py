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

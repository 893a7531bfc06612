"""The language visualconv speaks to a person, in one place (no Qt).

Every text a person reads — the window's menus, panels, buttons and messages, the step
text of :mod:`visualconv.engine.explain`, export titles and legends, the command line's
human messages — is looked up here in a gettext catalogue
(``visualconv/locale/<code>/LC_MESSAGES/visualconv.mo``). Machine-readable output
(``--json``, the model file, the spec's section 5) is never translated.

How to mark a string (for developers)
-------------------------------------
Import the helpers and wrap the English text where it is *shown*::

    from visualconv.i18n import N_, _, ngettext, pgettext

    label.setText(_("Learning rate"))
    status.showMessage(_("Saved {path}").format(path=path))           # named braces, never f-strings
    ngettext("{n} iteration", "{n} iterations", n).format(n=n)
    menu = bar.addMenu(pgettext("menu", "&Step"))                      # same English, other meaning

- Placeholders are named ``{fields}`` filled by ``str.format`` after the look-up, so a
  translation may reorder them. An f-string inside ``_()`` cannot be looked up (the
  check in ``tools/translations.py`` flags it, as it flags a bare literal given to
  ``setText``, ``setToolTip``, ``QAction``, ``QMessageBox`` ...).
- Module-level text (tables of menu entries, column headings) is *marked* with ``N_()``,
  which returns the English unchanged, and translated where it is used, ``_(TITLE)``, so
  a language switch at run time reaches it.
- Keep whole sentences in one message; do not glue translated pieces together.
- Names of arrays and functions (``dW``, ``dA_prev``, ``rot180``, ``relu``) and numbers
  stay as they are in every language; ``docs/glossary/`` lists the terms each language uses.
- After adding or changing marked text: ``python tools/translations.py update`` (new
  entries appear empty in every ``.po``), translate them, ``python tools/translations.py
  compile``; ``python tools/translations.py check`` (run by ``.ci/run``) fails while any
  entry is empty or fuzzy, or a shown string is unmarked. ``docs/translating.md`` says more.

Choosing the language
---------------------
:func:`choose` takes ``--lang CODE`` first, then ``VISUALCONV_LANG``, then the system
locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), and English when none names
a language visualconv has. :func:`set_language` switches at run time; every later
``_()`` answers in the new language (the window re-reads its texts on a switch).
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "visualconv"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
ENGLISH = "en"

# Catalogue code -> the language's own name (what View > Language lists).
LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "pt_BR": "Português (Brasil)",
    "id": "Bahasa Indonesia",
    "zh_CN": "中文（简体）",
}
# What a person types for each (``--lang pt-BR``), in the order the menu lists them.
TAGS: dict[str, str] = {"en": "en", "de": "de", "pt_BR": "pt-BR", "id": "id", "zh_CN": "zh-CN"}
# A bare language without a region, or another spelling, and the catalogue that serves it.
_ALIASES: dict[str, str] = {
    "pt": "pt_BR",
    "zh": "zh_CN",
    "zh_hans": "zh_CN",
    "in": "id",
    "c": "en",
    "posix": "en",
}

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = ENGLISH


def normalize(code: str) -> str | None:
    """The catalogue code for a language tag or locale name, or None when visualconv has none.

    ``"pt-BR"``, ``"pt_BR.UTF-8"`` and ``"pt"`` give ``"pt_BR"``; ``"de_AT"`` gives ``"de"``;
    ``"zh-CN"``, ``"zh_Hans_CN"`` give ``"zh_CN"``; ``"en_US"`` gives ``"en"``.
    """
    text = code.strip().split(".")[0].split("@")[0].replace("-", "_")
    if not text:
        return None
    by_lower = {c.lower(): c for c in LANGUAGES}
    lower = text.lower()
    if lower in by_lower:
        return by_lower[lower]
    if lower in _ALIASES:
        return _ALIASES[lower]
    parts = lower.split("_")
    for n in range(len(parts) - 1, 0, -1):
        head = "_".join(parts[:n])
        if head in by_lower:
            return by_lower[head]
        if head in _ALIASES:
            return _ALIASES[head]
    return None


def system_language(environ: Mapping[str, str] | None = None) -> str:
    """The language the system locale asks for, as gettext reads it; English when none fits."""
    env = os.environ if environ is None else environ
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(variable, "")
        if not value:
            continue
        for part in value.split(":"):  # LANGUAGE may list several, best first
            code = normalize(part)
            if code is not None:
                return code
        if variable != "LANGUAGE":
            return ENGLISH  # the first locale variable set decides, as in gettext
    return ENGLISH


def choose(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to use: ``--lang`` (``option``), else ``VISUALCONV_LANG``, else the system's.

    Raises
    ------
    ValueError
        ``option`` or ``VISUALCONV_LANG`` names a language visualconv has no catalogue for;
        the message lists the codes it has.
    """
    env = os.environ if environ is None else environ
    for value, where in ((option, "--lang"), (env.get("VISUALCONV_LANG"), "VISUALCONV_LANG")):
        if value:
            code = normalize(value)
            if code is None:
                raise ValueError(f"{where}: expected one of {', '.join(TAGS.values())}, got {value!r}")
            return code
    return system_language(env)


def set_language(code: str) -> str:
    """Speak ``code`` (a catalogue code or tag) from now on; returns the catalogue code.

    A language without a compiled catalogue falls back to English text.

    Raises
    ------
    ValueError
        visualconv has no such language.
    """
    global _translations, _language
    normalized = normalize(code)
    if normalized is None:
        raise ValueError(f"expected one of {', '.join(TAGS.values())}, got {code!r}")
    if normalized == ENGLISH:
        _translations = gettext.NullTranslations()
    else:
        _translations = gettext.translation(DOMAIN, LOCALE_DIR, [normalized], fallback=True)
    _language = normalized
    return normalized


def language() -> str:
    """The catalogue code of the language in use (``"en"``, ``"de"``, ``"pt_BR"``, ``"id"``, ``"zh_CN"``)."""
    return _language


def tag(code: str | None = None) -> str:
    """The tag a person types (``pt-BR``) for a catalogue code; the one in use by default."""
    return TAGS[code or _language]


def _(message: str) -> str:
    """``message`` in the language in use (English when the catalogue lacks it)."""
    return _translations.gettext(message)


gettext_ = _


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it (module-level text); ``_()`` it when shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural message for ``n``, in the language in use (its own plural rule)."""
    return _translations.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` with a context word telling two meanings of the same English apart."""
    return _translations.pgettext(context, message)


def translate_back(text: str) -> str | None:
    """The message key whose translation in the language in use is ``text`` (None if none).

    The window uses it on a switch of language to re-read texts that were set once (a
    menu's title, a button): it finds their key before the switch and gives it to
    :func:`translate_key` after. A key is the English message, or context, a control character (hex 04)
    for a :func:`pgettext` one.
    """
    if _language == ENGLISH:
        return text
    catalog: dict[object, str] = getattr(_translations, "_catalog", {})
    reverse = _reverse_cache.get(_language)
    if reverse is None:
        reverse = {}
        for key, value in catalog.items():
            if isinstance(key, str) and key and value:
                reverse.setdefault(value, key)
            elif isinstance(key, tuple) and value:  # plural entries: (msgid, index)
                reverse.setdefault(value, key[0])
        _reverse_cache[_language] = reverse
    found = reverse.get(text)
    if found is not None:
        return found
    return text if text in catalog else None


def translate_key(key: str) -> str:
    """The translation of a key from :func:`translate_back` in the language in use."""
    if "\x04" in key:
        context, message = key.split("\x04", 1)
        return pgettext(context, message)
    return _(key)


_reverse_cache: dict[str, dict[str, str]] = {}

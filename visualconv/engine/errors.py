"""The project's one error type for bad models and bad model files, and its translatable words."""

from __future__ import annotations

from typing import Any

from ..i18n import _


class Message(str):
    """A message in English that can also say itself in the language in use.

    ``Message("expected {what}, got {got}", what=..., got=...)`` *is* the English text (a
    ``str``: whatever reads an error's message sees exactly that), and :meth:`localized`
    is the same message in the language in use: the template looked up in the catalogue
    (``tools/translations.py`` extracts ``Message(...)`` like ``_()``), its fields filled,
    each field that is a Message itself localized too. Numbers, keys, places and values
    quoted from the file are fields and stay as they are.
    """

    template: str
    fields: dict[str, Any]

    def __new__(cls, template: str, **fields: Any) -> Message:
        """The English text of ``template`` with ``fields`` filled."""
        self = super().__new__(cls, template.format(**fields) if fields else template)
        self.template = template
        self.fields = fields
        return self

    def localized(self) -> str:
        """The message in the language in use (English: exactly ``str(self)``)."""
        translated = _(self.template)
        if not self.fields:
            return translated
        return translated.format(
            **{k: v.localized() if isinstance(v, Message) else v for k, v in self.fields.items()}
        )


def localized(text: object) -> str:
    """``text`` in the language in use when it is a :class:`Message`, else as it is."""
    return text.localized() if isinstance(text, Message) else str(text)


def said(exc: BaseException) -> str:
    """What an exception says to a person, in the language in use where it can.

    A :class:`ModelError`, or an exception carrying one :class:`Message`, is localized;
    anything else says itself as it is.
    """
    if isinstance(exc, ModelError):
        return exc.localized()
    if len(exc.args) == 1 and isinstance(exc.args[0], Message):
        return exc.args[0].localized()
    return str(exc)


class ModelError(ValueError):
    """A model or model file that cannot be used, with where and why.

    Parameters
    ----------
    message : str
        What was expected, in words a user understands.
    place : str
        Where in the model, as a path such as ``layers[1].stride`` ("" for the whole).
    file : str
        The file it came from, if any.
    """

    def __init__(self, message: str, place: str = "", file: str = "") -> None:
        self.message = message
        self.place = place
        self.file = file
        super().__init__(str(self))

    def __reduce__(self) -> tuple[type[ModelError], tuple[str, str, str]]:
        # Keep message, place and file apart when pickled (worker processes, multiprocessing).
        return ModelError, (self.message, self.place, self.file)

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.place) if p]
        return ": ".join([*parts, self.message])

    def localized(self) -> str:
        """``FILE: place: message`` as :meth:`__str__` says it, in the language in use.

        The message (and a place in words, such as ``line 3, column 5``) is translated
        when it is a :class:`Message`; in English this is exactly ``str(self)``.
        """
        parts = [p for p in (self.file, localized(self.place)) if p]
        return ": ".join([*parts, localized(self.message)])

    def in_file(self, file: str) -> ModelError:
        """Return the same error attributed to ``file``."""
        return ModelError(self.message, self.place, file)

    def under(self, prefix: str) -> ModelError:
        """Return the same error with ``prefix`` put before its place."""
        if not self.place:
            return ModelError(self.message, prefix, self.file)
        joiner = "" if self.place.startswith("[") else "."
        return ModelError(self.message, f"{prefix}{joiner}{self.place}", self.file)

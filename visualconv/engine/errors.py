"""The project's one error type for bad models and bad model files."""

from __future__ import annotations


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

    def in_file(self, file: str) -> ModelError:
        """Return the same error attributed to ``file``."""
        return ModelError(self.message, self.place, file)

    def under(self, prefix: str) -> ModelError:
        """Return the same error with ``prefix`` put before its place."""
        if not self.place:
            return ModelError(self.message, prefix, self.file)
        joiner = "" if self.place.startswith("[") else "."
        return ModelError(self.message, f"{prefix}{joiner}{self.place}", self.file)

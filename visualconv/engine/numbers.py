"""How visualconv writes a number, in one place: equations, tooltips, cells, colour bars.

Every text that shows a value goes through a :class:`NumberFormat`. The object is passed
to whoever writes numbers (the scene builder, the views, the exports); nothing here is
global state, so a user setting (significant digits, fixed decimals) is one new object,
and :data:`DEFAULT` is today's behaviour::

    DEFAULT.value(0.30000000000000004)      # '0.3'      equations, tooltips, status bar, CLI
    DEFAULT.figure_cell(0.044606, 1.0)      # '0.04461'  a printed figure's cell (SVG, PDF, LaTeX)
    DEFAULT.window_cell(0.044606, 4)        # '0.0446'   a window cell, decimals from its panel
    DEFAULT.scale(0.0446)                   # '0.0446'   a colour bar's limit

The styles differ on purpose: a value is written with six significant digits; cells are
short (four), and the window's cells of one panel share their decimals so they line up.

The window's View ▸ Numbers makes another format (:meth:`NumberFormat.significant_digits`,
:meth:`NumberFormat.fixed_decimals`) and passes it to its views; the step text, written
by the layer kinds through :func:`visualconv.engine.explain.fmt`, uses the format that
:func:`using` makes current (``explain(trace, step, numbers)`` does that), :data:`DEFAULT`
otherwise, so the command line's output stays what it was.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """The digits of every number visualconv writes.

    Attributes
    ----------
    significant : int
        Significant digits of a value written out (equations, tooltips, status bar, CLI).
    cell_significant : int
        Significant digits of a printed figure's cell.
    window_significant : int
        Significant digits of a window panel's largest value; the panel's other cells
        share its decimals.
    max_decimals : int
        Most decimals a window cell gets.
    scale_significant : int
        Significant digits of a colour bar's limits.
    noise : float
        A figure cell smaller than ``noise * max(1, limit)`` in size is written ``0``.
    fixed : int or None
        Fixed decimals for every value and cell (trailing zeros kept, so columns line
        up); None: significant digits as above.
    """

    WIDEST_CANDIDATES: ClassVar[int] = 256

    significant: int = 6
    cell_significant: int = 4
    window_significant: int = 4
    max_decimals: int = 7
    scale_significant: int = 3
    noise: float = 1e-12
    fixed: int | None = None

    # ------------------------------------------------------------ the choices of View ▸ Numbers

    def significant_digits(self, digits: int) -> NumberFormat:
        """A copy with ``digits`` significant digits everywhere (values and cells)."""
        return replace(
            self, significant=digits, cell_significant=digits, window_significant=digits, fixed=None
        )

    def fixed_decimals(self, decimals: int) -> NumberFormat:
        """A copy with ``decimals`` fixed decimals for every value and cell."""
        return replace(self, fixed=decimals)

    def _fixed(self, value: float, decimals: int) -> str:
        text = f"{value:.{decimals}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text  # never -0.00

    # The decimal separator: "." (the seed documents' way, the default) or "," (German and
    # Portuguese classrooms); with "," the elements of a list are separated by "; ".
    decimal: str = "."

    # ------------------------------------------------------------ the decimal separator

    @property
    def separator(self) -> str:
        """What separates the elements of a written list: ``", "``, or ``"; "`` with a decimal comma."""
        return "; " if self.decimal == "," else ", "

    def _marked(self, text: str) -> str:
        """``text`` (a number Python wrote) with this format's decimal separator."""
        return text if self.decimal == "." else text.replace(".", self.decimal)

    def text(self, line: str) -> str:
        """A line composed with the default format (the step text) in this format's separators.

        A point between two digits becomes the decimal separator, and the ``", "`` between
        two numbers of a list becomes :attr:`separator`; words, slices (``[0:2]``) and
        names are left alone. With the point this is ``line`` itself.
        """
        if self.decimal == ".":
            return line
        line = _BETWEEN_NUMBERS.sub(self.separator, line)
        return _DECIMAL_POINT.sub(self.decimal, line)

    # ------------------------------------------------------------ values

    def value(self, value: float) -> str:
        """A number as a person writes it: ``1.3``, ``-0.1``, ``0.044606``; zero is ``0``."""
        value = float(value)
        if value == 0:
            return "0"
        if self.fixed is not None and math.isfinite(value):
            return self._marked(self._fixed(value, self.fixed))
        return self._marked(f"{value:.{self.significant}g}")

    def array(self, array: Any) -> str:
        """Nested-list text of an array: ``[1, 2]`` or ``[[1, 2], [3, 4]]``."""
        array = np.asarray(array)
        if array.ndim == 0:
            return self.value(float(array))
        return "[" + self.separator.join(self.array(a) for a in array) + "]"

    def values(self, values: Sequence[float]) -> str:
        """Values joined by ``, `` (``; `` with a decimal comma)."""
        return self.separator.join(self.value(v) for v in values)

    # ------------------------------------------------------------ cells

    def figure_cell(self, value: float, limit: float = 1.0) -> str:
        """A printed figure's cell: short, ``0`` for round-off noise, never ``-0``.

        Parameters
        ----------
        value : float
        limit : float
            The panel's colour limit; values below ``noise * max(1, limit)`` are noise.
        """
        value = float(value)
        if abs(value) <= self.noise * max(1.0, abs(limit)):
            return "0"
        if self.fixed is not None and math.isfinite(value):
            return self._fixed(value, self.fixed)
        text = f"{value:.{self.cell_significant}g}"
        if "e" in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}e{int(exponent)}"
        return self._marked(text)

    def decimals_for(self, level: float) -> int:
        """Decimals that give a window panel's largest value (``level``) its significant digits."""
        if self.fixed is not None:
            return self.fixed
        if not math.isfinite(level) or level <= 0:
            return self.window_significant - 1
        return min(max(self.window_significant - 1 - math.floor(math.log10(level)), 0), self.max_decimals)

    def window_cell(self, value: float, decimals: int = 3) -> str:
        """A window cell: fixed decimals, trailing zeros dropped; too small to show is ``≈0``.

        Every cell of a panel uses the same decimals (:meth:`decimals_for` its largest
        value), so the numbers line up.
        """
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        text = f"{value:.{decimals}f}"
        if "." in text and self.fixed is None:
            text = text.rstrip("0").rstrip(".")
        if float(text) == 0:
            return "≈0"
        return self._marked(text)

    def widest_window_cell(self, values: Any, decimals: int = 3) -> float | None:
        """The value of ``values`` whose :meth:`window_cell` text is the longest (NaN ignored).

        Counted without writing every text (a pass's panel over all its steps): the sign,
        the integer digits and the decimals left after trailing zeros are dropped.

        Parameters
        ----------
        values : array_like
            Any shape.
        decimals : int

        Returns
        -------
        float or None
            None when every value is NaN (or there are none).
        """
        flat = np.asarray(values, dtype=np.float64).ravel()
        flat = flat[~np.isnan(flat)]
        if flat.size == 0:
            return None
        finite = np.isfinite(flat)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # huge values: infinitely long
            magnitude = np.where(finite, np.abs(flat), 0.0)
            scaled = np.rint(magnitude * 10.0**decimals)
            kept = np.full(flat.shape, decimals)
            for drop in range(decimals):  # trailing zeros of the decimals
                kept -= (kept == decimals - drop) & (np.fmod(scaled, 10.0 ** (drop + 1)) == 0)
            whole = np.floor(scaled / 10.0**decimals)
            digits = np.where(whole >= 1, np.floor(np.log10(np.maximum(whole, 1))) + 1, 1)
            length = (flat < 0) + digits + np.where(kept > 0, kept + 1, 0)
            length = np.where(scaled == 0, np.where(flat == 0, 1, 2), length)  # "0" and "≈0"
        length = np.where(finite, length, 4)  # "-inf"
        # Past 2**52 the scaled value is no longer an exact integer and its digits cannot be
        # counted: those (rare) values are written out.
        for index in np.flatnonzero(finite & (scaled >= 2.0**52)):
            length[index] = len(self.window_cell(float(flat[index]), decimals))
        # The count can be one off where a decimal rounds half-way: the nearly longest are written out.
        # Sorted and without repeats, as np.unique gives them (which imports numpy.ma, 8 ms of a launch).
        near = np.sort(flat[length >= length.max() - 1])
        candidates = near[np.concatenate(([True], near[1:] != near[:-1]))][: self.WIDEST_CANDIDATES]
        return float(max(candidates.tolist(), key=lambda v: len(self.window_cell(v, decimals))))

    def map_cell(self, value: float, level: float | None = None) -> str:
        """A training map's cell; with ``level`` (the map's largest magnitude) cells share decimals."""
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        scale = abs(value) if level is None or not math.isfinite(level) or level <= 0 else level
        if scale >= 1000 or scale < 0.001:
            return self._marked(f"{value:.1e}")
        decimals = min(max(0, 2 - math.floor(math.log10(scale))), 4)
        text = f"{value:.{decimals}f}"
        return "≈0" if float(text) == 0 else self._marked(text)

    # ------------------------------------------------------------ scales

    def scale(self, value: float) -> str:
        """A colour bar's limit or tick: ``0.0446``, ``1.2e+03``."""
        return self._marked(f"{value:.{self.scale_significant}g}")


_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")
_BETWEEN_NUMBERS = re.compile(r"(?<=\d), (?=[-−]?\d)")

DEFAULT = NumberFormat()
"""Today's digits; pass another :class:`NumberFormat` to change them."""

_CURRENT: ContextVar[NumberFormat] = ContextVar("visualconv_number_format", default=DEFAULT)


def current() -> NumberFormat:
    """The format :func:`using` made current here (:data:`DEFAULT` outside it)."""
    return _CURRENT.get()


@contextmanager
def using(numbers: NumberFormat | None) -> Iterator[NumberFormat]:
    """Make ``numbers`` the current format inside the ``with`` block (this thread and context only).

    None keeps the current one.
    """
    if numbers is None:
        yield current()
        return
    token = _CURRENT.set(numbers)
    try:
        yield numbers
    finally:
        _CURRENT.reset(token)

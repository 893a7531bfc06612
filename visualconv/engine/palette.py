"""The heat maps' colours, in one place: a diverging map centred on zero (Qt-free).

Blue for negative, near-white for zero, red for positive: ColorBrewer's RdBu, its inner
nine classes, reversed. Printed figures interpolate between all nine; the window's
lookup tables (pyqtgraph) interpolate between every other class, :data:`SCREEN_STOPS`,
light enough that dark numbers stay readable on a projector.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from ..i18n import N_

RDBU = (
    "#2166ac",
    "#4393c3",
    "#92c5de",
    "#d1e5f0",
    "#f7f7f7",
    "#fddbc7",
    "#f4a582",
    "#d6604d",
    "#b2182b",
)
"""The nine classes, from most negative to most positive (hex RGB)."""


def rgb(hex_colour: str) -> tuple[int, int, int]:
    """``"#2166ac"`` as ``(33, 102, 172)``."""
    text = hex_colour.lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


DIVERGING_RGB = tuple(rgb(c) for c in RDBU)
"""The nine classes as (r, g, b) in 0..255."""

SCREEN_STOPS = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Positions of the window's colour stops on [0, 1] (-level .. +level)."""

SCREEN_COLOURS = DIVERGING_RGB[::2]
"""The window's colour stops: every other class of :data:`RDBU`."""


def diverging(value: float, limit: float) -> tuple[int, int, int]:
    """The printed colour of ``value`` on the scale [-limit, limit] (clipped), zero near white.

    Parameters
    ----------
    value : float
    limit : float
        Half-width of the scale; 0 or less maps everything to the middle class.

    Returns
    -------
    (int, int, int)
        r, g, b in 0..255, linear between the two nearest of the nine classes.
    """
    t = 0.0 if limit <= 0 else max(-1.0, min(1.0, value / limit))
    pos = (t + 1.0) / 2.0 * (len(DIVERGING_RGB) - 1)
    lo = min(math.floor(pos), len(DIVERGING_RGB) - 2)
    frac = pos - lo
    a, b = DIVERGING_RGB[lo], DIVERGING_RGB[lo + 1]
    return (
        round(a[0] + (b[0] - a[0]) * frac),
        round(a[1] + (b[1] - a[1]) * frac),
        round(a[2] + (b[2] - a[2]) * frac),
    )


NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_level(max_abs: float) -> float:
    """The half-width of a colour range centred on zero: ``max_abs`` rounded up to 1, 1.2, 1.5, 2...

    Rounding keeps the colour scale (and the colour bar) still while a sum grows a little,
    so frames compare and only a real change of magnitude rescales the map.
    """
    if not math.isfinite(max_abs) or max_abs <= 0:
        return 1.0
    exponent = math.floor(math.log10(max_abs))
    base = 10.0**exponent
    for step in NICE_STEPS:
        level = step * base
        if level >= max_abs * (1 - 1e-12):
            return float(f"{level:.12g}")
    return float(f"{10 * base:.12g}")


def screen(value: float, level: float) -> tuple[int, int, int]:
    """The window's colour of ``value`` on [-level, level]: one of its 255 steps between the screen stops.

    Non-finite values take the end of their sign (NaN the middle); the channels are
    truncated, as pyqtgraph fills the window's lookup table.
    """
    if not math.isfinite(value):
        value = math.copysign(level, value) if not math.isnan(value) else 0.0
    q = min(max(round((value / level + 1.0) * 127.0), 0), 254) / 254.0
    stops, colours = SCREEN_STOPS, SCREEN_COLOURS
    for s in range(len(stops) - 1):
        lo, hi = stops[s], stops[s + 1]
        if q <= hi or s == len(stops) - 2:
            t = (q - lo) / (hi - lo)
            a, b = colours[s], colours[s + 1]
            return (
                int(a[0] + (b[0] - a[0]) * t),
                int(a[1] + (b[1] - a[1]) * t),
                int(a[2] + (b[2] - a[2]) * t),
            )
    raise AssertionError("unreachable")


# ----------------------------------------------------------------------------- the window's palettes


@dataclass(frozen=True, slots=True)
class Palette:
    """A colour map of the window's heat maps over [-level, level].

    Attributes
    ----------
    key : str
        Its name in the settings.
    title : str
        What View ▸ Palette calls it.
    stops : tuple of float
        Positions on [0, 1] (0: -level, 0.5: zero, 1: +level).
    colours : tuple of (int, int, int)
        The colour at each stop.
    diverging : bool
        Zero is the pale middle (text colour by magnitude); otherwise lightness runs
        from most negative (dark) to most positive (light) and reads in greyscale.
    """

    key: str
    title: str
    stops: tuple[float, ...]
    colours: tuple[tuple[int, int, int], ...]
    diverging: bool = False

    def colour(self, q: float) -> tuple[int, int, int]:
        """The colour at position ``q`` of [0, 1], linear between the stops."""
        q = min(max(q, 0.0), 1.0)
        for s in range(len(self.stops) - 1):
            lo, hi = self.stops[s], self.stops[s + 1]
            if q <= hi or s == len(self.stops) - 2:
                t = (q - lo) / (hi - lo)
                a, b = self.colours[s], self.colours[s + 1]
                return (
                    round(a[0] + (b[0] - a[0]) * t),
                    round(a[1] + (b[1] - a[1]) * t),
                    round(a[2] + (b[2] - a[2]) * t),
                )
        raise AssertionError("unreachable")


def luminance(colour: tuple[int, int, int]) -> float:
    """Relative luminance (WCAG) of an sRGB colour, 0 (black) .. 1 (white)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


PALETTES: dict[str, Palette] = {
    p.key: p
    for p in (
        Palette(
            "rdbu", N_("Red–blue (diverging: blue < 0 < red)"), SCREEN_STOPS, SCREEN_COLOURS, diverging=True
        ),
        Palette(  # matplotlib's cividis: made for colour-blind viewers, lightness rises evenly
            "cividis",
            N_("Cividis (dark < 0 < light; colour-blind and greyscale safe)"),
            SCREEN_STOPS,
            tuple(rgb(c) for c in ("#00224e", "#414d6b", "#7c7b78", "#bcaf6f", "#fee838")),
        ),
        Palette(
            "viridis",
            N_("Viridis (dark < 0 < light; colour-blind and greyscale safe)"),
            SCREEN_STOPS,
            tuple(rgb(c) for c in ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")),
        ),
        Palette("grey", N_("Grey (black < 0 < white)"), (0.0, 1.0), ((24, 24, 24), (245, 245, 245))),
    )
}
"""The window's palettes by key (View ▸ Palette); ``rdbu`` is the default and the exports' map."""


# ----------------------------------------------------------------------------- the exports' palette

_EXPORT_PALETTE: ContextVar[str | None] = ContextVar("visualconv_export_palette", default=None)


@contextmanager
def exporting_with(key: str | None) -> Iterator[None]:
    """Exports made inside the block colour their cells with the palette ``key`` (this thread only).

    The window passes the user's View ▸ Palette choice; None or ``"rdbu"`` keeps the exports'
    own red–blue (:func:`diverging` for print, :func:`screen` for slides), byte for byte.
    """
    token = _EXPORT_PALETTE.set(key)
    try:
        yield
    finally:
        _EXPORT_PALETTE.reset(token)


def export_palette() -> Palette | None:
    """The palette :func:`exporting_with` chose here, or None for the exports' own red–blue."""
    key = _EXPORT_PALETTE.get()
    return None if key in (None, "rdbu") else PALETTES[key]


def _position(value: float, limit: float) -> float:
    """Where ``value`` lies on [-limit, limit] as a position on [0, 1] (clipped; 0.5 for no scale)."""
    if not math.isfinite(value):
        value = math.copysign(limit, value) if not math.isnan(value) else 0.0
    t = 0.0 if limit <= 0 else max(-1.0, min(1.0, value / limit))
    return (t + 1.0) / 2.0


def printed(value: float, limit: float) -> tuple[int, int, int]:
    """A printed cell's colour: :func:`diverging`, or the chosen export palette's colour there."""
    chosen = export_palette()
    return diverging(value, limit) if chosen is None else chosen.colour(_position(value, limit))


def slide(value: float, level: float) -> tuple[int, int, int]:
    """A slide cell's colour: :func:`screen`, or the chosen export palette's colour there."""
    chosen = export_palette()
    return screen(value, level) if chosen is None else chosen.colour(_position(value, level))


def printed_bar() -> tuple[tuple[float, tuple[int, int, int]], ...]:
    """The colour bar's stops (position on [0, 1], colour): the nine classes or the chosen palette's."""
    chosen = export_palette()
    if chosen is None:
        last = len(DIVERGING_RGB) - 1
        return tuple((i / last, c) for i, c in enumerate(DIVERGING_RGB))
    return tuple(zip(chosen.stops, chosen.colours, strict=True))


def slide_bar() -> tuple[tuple[int, int, int], ...]:
    """The slides' colour bar: :data:`SCREEN_COLOURS`, or the chosen palette's at five even positions."""
    chosen = export_palette()
    if chosen is None:
        return SCREEN_COLOURS
    return tuple(chosen.colour(q) for q in (0.0, 0.25, 0.5, 0.75, 1.0))

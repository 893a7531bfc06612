"""Exports for lectures: PNG, SVG, PDF, LaTeX, TikZ, Beamer, PowerPoint, GIF/MP4/APNG, data.

One renderer draws a *snapshot* — a layer's pass at step k: the input with its padding
border and the current window, the kernel, dZ with the current element, the output, dW,
db, dA_prev as it grows, or the pooling routing; numbers in cells, a colour bar per panel,
the step's arithmetic (:func:`visualconv.engine.explain.explain`), the model's name and
"layer i, pass, overlay k of n" as caption — with a QPainter onto any QPaintDevice (QtGui
and QtSvg only, no widgets), so it works headless and from the window. Light theme,
diverging colour map centred on zero, one colour scale per panel for the whole pass.

Public API (``model`` is a :class:`visualconv.engine.model.Model`; ``layer`` an index,
negative from the end; ``pass_name`` ``"forward"`` or ``"backward"``; ``step`` 0..n,
None for the last; errors a user can fix raise :class:`visualconv.ModelError`)::

    render_snapshot_image(model, layer, pass_name, step=None, scale=1.0) -> QImage
        # for "Copy snapshot to clipboard" and previews
    export_snapshot(model, layer, pass_name, step, path, scale=1.0) -> list[Path]
        # format by the suffix of path:
        #   .png (scale: 2 for slides)  .svg (cells <rect>, numbers <text>)  .pdf (one page, fitted)
        #   .json (spec section 5 keys of the layer + "step", "state", ...)  .npz
        #   .csv -> folder <stem>/ with one CSV per matrix;  .zip -> the same CSVs in a zip
        #   .tex -> standalone document + <stem>-fragment.tex to paste into slides
    export_beamer(model, layer, pass_name, path, steps=None, decimals=None) -> list[Path]
        # one Beamer frame whose overlays are the steps (all, or "1-4,16"), TikZ cells
    export_tikz(model, layer, pass_name, step, path, decimals=None) -> list[Path]
        # one step as a standalone tikzpicture + <stem>-fragment.tex to paste
    export_pptx(model, layer, pass_name, path, steps=None, decimals=None) -> list[Path]
        # one slide per step, cells as native shapes with their numbers (python-pptx)
    export_animation(model, layer, pass_name, path, progress=None, *, frames_dir=None,
                     scale=1.0, frame_ms=900, steps=None) -> list[Path]
        # .gif / .mp4 (H.264) / .apng of the steps (fixed colour scale) and/or frame-000.png ...
    export_pack(model, directory, progress=None, *, scale=1.0, layers=None, passes=None,
                steps=None, formats=DEFAULT_FORMATS, frame_ms=900) -> list[Path]
        # chosen layers, passes and steps: PNG + LaTeX per step, GIF + Beamer per pass,
        # index.md and index.html; a cancel removes what it wrote
    snapshot_bytes(model, layer, pass_name, step, suffix, scale=1.0) -> bytes
    snapshot_figure(model, layer, pass_name, step=None) -> Figure

``progress(done, total)`` is called after each frame (for a progress dialog); returning
False stops the export with :class:`ExportCancelled` and removes what it wrote. Without
a QGuiApplication (scripts, the command line) one is created on the offscreen platform.

Importing this package does not import Qt; the names above load it on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ANIMATION_SUFFIXES",
    "SNAPSHOT_SUFFIXES",
    "ExportCancelled",
    "export_animation",
    "export_beamer",
    "export_pack",
    "export_pptx",
    "export_snapshot",
    "export_tikz",
    "pass_slides",
    "render_snapshot_image",
    "snapshot_bytes",
    "snapshot_figure",
]


def __getattr__(name: str) -> Any:
    if name == "export_pack":
        from . import pack

        return pack.export_pack
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

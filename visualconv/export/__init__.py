"""Exports of snapshots for lectures: PNG, SVG, PDF, LaTeX, GIF and data.

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
    export_animation(model, layer, pass_name, path, progress=None, *, frames_dir=None,
                     scale=1.0, frame_ms=900) -> list[Path]
        # GIF of steps 0..n (n + 1 frames, fixed colour scale) and/or frame-000.png ...
    export_pack(model, directory, progress=None, *, scale=1.0) -> list[Path]
        # every layer and pass: PNG + LaTeX per step, a GIF per pass, index.md in order
    snapshot_bytes(model, layer, pass_name, step, suffix, scale=1.0) -> bytes
    snapshot_figure(model, layer, pass_name, step=None) -> Figure

``progress(done, total)`` is called after each frame (for a progress dialog); returning
False stops the export with :class:`ExportCancelled`. Without a QGuiApplication (scripts,
the command line) one is created on the offscreen platform.

Importing this package does not import Qt; the names above load it on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "SNAPSHOT_SUFFIXES",
    "ExportCancelled",
    "export_animation",
    "export_pack",
    "export_snapshot",
    "render_snapshot_image",
    "snapshot_bytes",
    "snapshot_figure",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

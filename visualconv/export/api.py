"""The export functions the window and the command line call (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PyQt6.QtGui import QImage

from ..atomic import make_folder, resolve_target, write_atomic
from ..engine.errors import ModelError
from ..engine.model import Model
from ..engine.trace import PASSES, LayerTrace, trace_layer
from ..textsafe import code_fence, markdown_text, printable
from . import animation, data, latex, render
from .figure import Figure, PassStyle, build_figure, layer_caption, pass_style

Progress = Callable[[int, int], object]
"""``progress(done, total)``, called after each frame; returning ``False`` cancels."""

IMAGE_SUFFIXES = (".png", ".svg", ".pdf")
SNAPSHOT_SUFFIXES = (".png", ".svg", ".pdf", ".json", ".npz", ".csv", ".zip", ".tex")


class ExportCancelled(Exception):
    """The progress callback asked to stop; files written so far stay."""


def open_pass(model: Model, layer: int, pass_name: str) -> LayerTrace:
    """The trace of a layer's pass, with the errors a user can act on as :class:`ModelError`.

    Parameters
    ----------
    model : Model
    layer : int
        Layer index; negative counts from the end.
    pass_name : {"forward", "backward"}

    Returns
    -------
    LayerTrace
    """
    count = len(model.layers)
    if not -count <= layer < count:
        raise ModelError(f"layer {layer}: the model has layers 0..{count - 1}")
    if pass_name not in PASSES:
        raise ModelError(f"pass {pass_name!r}: expected 'forward' or 'backward'")
    try:
        return trace_layer(model, layer % count, pass_name)
    except ValueError as exc:
        raise ModelError(str(exc)) from None


def _resolve_step(trace: LayerTrace, step: int | None) -> int:
    if step is None:
        return trace.n
    if not 0 <= step <= trace.n:
        raise ModelError(f"step {step}: this pass has steps 0..{trace.n}")
    return step


def snapshot_figure(model: Model, layer: int, pass_name: str, step: int | None = None) -> Figure:
    """The figure of one step (default: the last), with the colour scale of its whole pass."""
    trace = open_pass(model, layer, pass_name)
    return build_figure(model, layer % len(model.layers), trace, _resolve_step(trace, step))


def render_snapshot_image(
    model: Model, layer: int, pass_name: str, step: int | None = None, scale: float = 1.0
) -> QImage:
    """The snapshot as a QImage (for the clipboard or a preview).

    Parameters
    ----------
    model : Model
    layer : int
    pass_name : {"forward", "backward"}
    step : int, optional
        0..n; default n (the finished pass).
    scale : float
        Pixels per figure unit; 2 for high-resolution slides.

    Returns
    -------
    QImage
    """
    return render.figure_image(snapshot_figure(model, layer, pass_name, step), scale)


def snapshot_bytes(
    model: Model, layer: int, pass_name: str, step: int | None, suffix: str, scale: float = 1.0
) -> bytes:
    """One snapshot as bytes in the format of a file suffix.

    ``.png``, ``.svg``, ``.pdf``, ``.json``, ``.npz``, ``.zip``, ``.tex``; ``-fragment.tex``
    gives the LaTeX fragment.
    """
    suffix = suffix.lower()
    trace = open_pass(model, layer, pass_name)
    index = layer % len(model.layers)
    k = _resolve_step(trace, step)
    if suffix in (".json", ".npz", ".zip"):
        record = data.snapshot_record(model, index, trace, trace.step(k))
        return {".json": data.record_json, ".npz": data.record_npz, ".zip": data.record_zip}[suffix](record)
    figure = build_figure(model, index, trace, k)
    if suffix == ".png":
        return render.figure_png(figure, scale)
    if suffix == ".svg":
        return render.figure_svg(figure)
    if suffix == ".pdf":
        return render.figure_pdf(figure)
    if suffix == ".tex":
        return latex.figure_standalone(figure).encode("utf-8")
    if suffix == "-fragment.tex":
        return latex.figure_fragment(figure).encode("utf-8")
    raise ModelError(f"unknown export format {suffix!r}: expected one of {', '.join(SNAPSHOT_SUFFIXES)}")


def _write(path: Path, content: bytes | str, follow_symlinks: bool = False) -> Path:
    """Every export file goes through the one atomic writer (see :mod:`visualconv.atomic`)."""
    return write_atomic(path, content, follow_symlinks=follow_symlinks)


def fragment_path(path: Path) -> Path:
    """Where the LaTeX fragment of ``x.tex`` goes: ``x-fragment.tex``."""
    return path.with_name(path.stem + "-fragment.tex")


def csv_folder(path: Path) -> Path:
    """The folder that ``--out x.csv`` writes: ``x/`` (one CSV per matrix)."""
    return path.with_suffix("")


def export_snapshot(
    model: Model,
    layer: int,
    pass_name: str,
    step: int | None,
    path: str | Path,
    scale: float = 1.0,
    *,
    follow_symlinks: bool = False,
) -> list[Path]:
    """Write one snapshot; the format follows the suffix of ``path``.

    ``.png`` (``scale`` applies), ``.svg``, ``.pdf``, ``.json``, ``.npz``; ``.tex`` writes the
    standalone document and ``<stem>-fragment.tex`` beside it; ``.csv`` writes a folder
    ``<stem>/`` with one CSV per matrix (created if missing; its parent must exist);
    ``.zip`` the same CSVs in one archive. Every file is written atomically; a symbolic
    link is written through only with ``follow_symlinks`` (see :mod:`visualconv.atomic`).

    Returns
    -------
    list of Path
        The files (or folder) written.

    Raises
    ------
    WriteError
        A file could not be written (the old one is unchanged); the message names it.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SNAPSHOT_SUFFIXES:
        raise ModelError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            f"use one of {', '.join(SNAPSHOT_SUFFIXES)}"
        )
    if suffix == ".csv":
        trace = open_pass(model, layer, pass_name)
        index = layer % len(model.layers)
        record = data.snapshot_record(model, index, trace, trace.step(_resolve_step(trace, step)))
        folder = csv_folder(path)
        make_folder(folder)
        for name, text in data.record_csv_files(record).items():
            _write(folder / name, text, follow_symlinks)
        return [folder]
    resolve_target(path, follow_symlinks=follow_symlinks)  # refuse before rendering
    if suffix == ".tex":
        resolve_target(fragment_path(path), follow_symlinks=follow_symlinks)
    written = [_write(path, snapshot_bytes(model, layer, pass_name, step, suffix, scale), follow_symlinks)]
    if suffix == ".tex":
        fragment = snapshot_bytes(model, layer, pass_name, step, "-fragment.tex")
        written.append(_write(fragment_path(path), fragment, follow_symlinks))
    return written


def _digits(n: int) -> int:
    return max(3, len(str(n)))


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None and progress(done, total) is False:
        raise ExportCancelled(f"cancelled after {done} of {total} frames")


class _PassFrames:
    """Renders every step of one pass with one style, into PNG files and GIF frames."""

    def __init__(self, model: Model, index: int, trace: LayerTrace, scale: float) -> None:
        self.model, self.index, self.trace, self.scale = model, index, trace, scale
        self.style: PassStyle = pass_style(trace)
        self.size: tuple[int, int] | None = None

    def figure(self, k: int) -> Figure:
        return build_figure(self.model, self.index, self.trace, k, self.style)

    def image(self, k: int) -> QImage:
        return self.render(self.figure(k))

    def render(self, figure: Figure) -> QImage:
        """An image of the pass's one frame size (the first one rendered sets it)."""
        image = render.figure_image(figure, self.scale, self.size)
        self.size = (image.width(), image.height())
        return image

    def palette(self) -> animation.PaletteMapper:
        n = self.trace.n
        count = min(n + 1, animation.PALETTE_SAMPLES)
        ks = sorted({round(i * n / max(1, count - 1)) for i in range(count)})
        samples = [animation.qimage_to_pil(self.image(k)) for k in ks]
        return animation.PaletteMapper(animation.shared_palette(samples))


def export_animation(
    model: Model,
    layer: int,
    pass_name: str,
    path: str | Path | None = None,
    progress: Progress | None = None,
    *,
    frames_dir: str | Path | None = None,
    scale: float = 1.0,
    frame_ms: int = animation.FRAME_MS,
    follow_symlinks: bool = False,
) -> list[Path]:
    """Write every step 0..n of a pass as an animated GIF and/or a folder of numbered PNGs.

    Parameters
    ----------
    model : Model
    layer : int
    pass_name : {"forward", "backward"}
    path : str or Path, optional
        The GIF (n + 1 frames, one colour scale and one palette for all).
    progress : callable, optional
        ``progress(done, total)`` after each frame; return False to cancel
        (:class:`ExportCancelled` is raised).
    frames_dir : str or Path, optional
        Folder for ``frame-000.png`` ... (the same images as the GIF's frames, unquantised).
    scale : float
    frame_ms : int
        Display time of each frame; the last frame is held at least 2.5 s.
    follow_symlinks : bool
        Write through a symbolic link at ``path`` (the user chose it).

    Returns
    -------
    list of Path
        The GIF first (if any), then the frames. Every file is written atomically;
        ``frames_dir`` is created if missing (its parent must exist).
    """
    if path is None and frames_dir is None:
        raise ModelError("nothing to write: give a GIF path or a frames folder")
    trace = open_pass(model, layer, pass_name)
    if path is not None:
        resolve_target(path, follow_symlinks=follow_symlinks)  # refuse before rendering
    if frames_dir is not None:
        make_folder(frames_dir)
    frames = _PassFrames(model, layer % len(model.layers), trace, scale)
    palette = frames.palette() if path is not None else None
    gif_frames = []
    written: list[Path] = []
    total = trace.n + 1
    for k in range(total):
        image = frames.image(k)
        if frames_dir is not None:
            written.append(
                _write(
                    Path(frames_dir) / f"frame-{k:0{_digits(trace.n)}d}.png",
                    render.image_png(image),
                    follow_symlinks,
                )
            )
        if palette is not None:
            gif_frames.append(palette(animation.qimage_to_pil(image)))
        _tick(progress, k + 1, total)
    if path is not None:
        gif = _write(Path(path), animation.gif_bytes(gif_frames, frame_ms), follow_symlinks)
        written.insert(0, gif)
    return written


def pack_passes(model: Model) -> list[tuple[int, str]]:
    """(layer, pass) in the order a lecture tells them: forward 0..L-1, then backward L-1..0."""
    count = len(model.layers)
    order = [(i, "forward") for i in range(count)]
    if model.has_backward:
        order += [(i, "backward") for i in reversed(range(count))]
    return order


def export_pack(
    model: Model, directory: str | Path, progress: Progress | None = None, *, scale: float = 1.0
) -> list[Path]:
    """Write a lecture pack of every layer and pass.

    Every step as PNG and LaTeX, a GIF per pass, and ``index.md`` listing them in order
    (forward passes first, then backward from the last layer) with their equations.

    Layout::

        DIR/index.md
        DIR/layer-0-conv-forward.gif
        DIR/layer-0-conv-forward/step-000.png, step-000.tex, ..., fragments.tex

    Returns
    -------
    list of Path
        ``index.md`` first, then every file written.
    """
    root = Path(directory)
    make_folder(root)
    passes = pack_passes(model)
    traces = [(i, p, open_pass(model, i, p)) for i, p in passes]
    total = sum(t.n + 1 for _, _, t in traces)
    done = 0
    written: list[Path] = []
    # Text from the model file is data: escaped for Markdown and HTML (see visualconv.textsafe).
    md = [f"# {markdown_text(model.name)}", ""]
    if model.description:
        md += [markdown_text(model.description, keep_newlines=True), ""]
    md += [
        "Slides exported by visualconv. Each step has an image (PNG) and its LaTeX: a standalone",
        "document (`step-NNN.tex`, compiles on its own); `fragments.tex` in each folder has every",
        "step's body to paste into slides (needs `amsmath`, `amssymb`, `xcolor`). One colour scale",
        "per panel for a whole pass; blue is negative, red positive.",
        "",
        "## Contents",
        "",
    ]
    names = {}
    for i, p, trace in traces:
        name = f"layer-{i}-{model.layers[i].type}-{p}"
        names[(i, p)] = name
        md.append(f"- [layer {i} ({model.layers[i].type}), {p} pass: {trace.n} overlays](#{name})")
    md.append("")
    for i, p, trace in traces:
        name = names[(i, p)]
        frames = _PassFrames(model, i, trace, scale)
        palette = frames.palette()
        gif_frames = []
        fragments = []
        caption = layer_caption(model, i, trace, trace.n).split(", overlay")[0]
        caption = markdown_text(caption)
        md += [f'<a id="{name}"></a>', "", f"## {caption}", "", f"Animation: [{name}.gif]({name}.gif)", ""]
        digits = _digits(trace.n)
        make_folder(root / name)
        for k in range(trace.n + 1):
            figure = frames.figure(k)
            image = frames.render(figure)
            stem = f"step-{k:0{digits}d}"
            written.append(_write(root / name / f"{stem}.png", render.image_png(image)))
            written.append(_write(root / name / f"{stem}.tex", latex.figure_standalone(figure)))
            fragments.append(f"% ---- step {k} of {trace.n}\n" + latex.figure_fragment(figure))
            gif_frames.append(palette(animation.qimage_to_pil(image)))
            title = f"step {k} of {trace.n}" + (" (before the first overlay)" if k == 0 else "")
            lines = [printable(line) for line in figure.lines]
            fence = code_fence(lines)
            md += [
                f"### {caption}: {title}",
                "",
                f"![{markdown_text(figure.caption)}]({name}/{stem}.png)",
                "",
                f"LaTeX: [{stem}.tex]({name}/{stem}.tex)",
                "",
                f"{fence}text",
                *lines,
                fence,
                "",
            ]
            done += 1
            _tick(progress, done, total)
        written.append(_write(root / name / "fragments.tex", "\n".join(fragments)))
        written.append(_write(root / f"{name}.gif", animation.gif_bytes(gif_frames)))
    index = _write(root / "index.md", "\n".join(md))
    return [index, *written]

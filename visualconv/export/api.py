"""The export functions the window and the command line call (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from PyQt6.QtGui import QImage

from ..atomic import make_folder, resolve_target
from ..engine.budget import MEMORY_BUDGET_BYTES, estimated_bytes, format_bytes
from ..engine.errors import Message, ModelError
from ..engine.model import Model
from ..engine.trace import PASSES, LayerTrace, trace_layer
from . import animation, data, files, latex, render, slides, tikz, video
from .figure import Figure, PassStyle, build_figure, pass_style

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
        raise ModelError(
            Message("layer {layer}: the model has layers 0..{count}", layer=layer, count=count - 1)
        )
    if pass_name not in PASSES:
        raise ModelError(Message("pass {pass_name!r}: expected 'forward' or 'backward'", pass_name=pass_name))
    if pass_name == "backward" and not model.has_backward:
        raise ModelError(
            Message(
                "the model has no 'upstream' and no 'target' with 'loss', so there is no "
                "backward pass; expected one of them, or --pass forward (the forward pass) to "
                "export"
            ),
            "upstream",
        )
    try:
        return trace_layer(model, layer % count, pass_name)
    except ValueError as exc:
        raise ModelError(str(exc)) from None


PROCESS_BYTES = 200 * 1024**2
"""What the program itself takes before any model (Python, Qt, NumPy, Pillow), measured ~150 MB."""
IMAGE_BYTES = 12
"""Bytes a pixel of one image an export holds at once: the ARGB image and its encoding (3 x 4)."""
FRAME_BYTES = 16
"""Bytes a pixel of the frame being written (MP4, APNG, PNG frames): ARGB, RGB and their copies."""
FFMPEG_BYTES = 128
"""Bytes a pixel of a frame that ffmpeg (libx264) holds while it encodes an MP4: its own process,
measured at 88 (one thread, no look-ahead) to 124 (the settings used) for 9208 x 6144 frames."""
GIF_FRAME_BYTES = 24
"""Bytes a pixel of the GIF frame being made: ARGB, RGB, colour codes (int64), palette indices."""


def export_memory(
    model: Model,
    width: int,
    height: int,
    held_frames: int = 0,
    held_bytes: int = 0,
    per_pixel: int = IMAGE_BYTES,
) -> int:
    """Bytes an export of images of ``width`` x ``height`` pixels needs at its peak (an estimate).

    The program (``PROCESS_BYTES``), the model's forward and backward pass
    (:func:`~visualconv.engine.budget.estimated_bytes`), ``per_pixel`` bytes of the image
    being made, and ``held_frames`` frames of ``held_bytes`` a pixel kept until the file is
    written (a GIF's). Integers only; nothing is allocated. The constants were measured
    with the peak resident memory of exports of the sample models at scales 4 and 8.
    """
    pixels = int(width) * int(height)
    kept = int(held_frames) * int(held_bytes) * pixels
    return PROCESS_BYTES + estimated_bytes(model) + int(per_pixel) * pixels + kept


def check_export_memory(
    model: Model,
    width: int,
    height: int,
    held_frames: int = 0,
    held_bytes: int = 0,
    place: str = "--scale",
    budget: int = MEMORY_BUDGET_BYTES,
    per_pixel: int = IMAGE_BYTES,
) -> None:
    """Refuse, before rendering, an export whose :func:`export_memory` is over the budget (2 GB).

    Raises
    ------
    ModelError
        Placed at ``place`` (the option that makes it smaller), with the sizes.
    """
    need = export_memory(model, width, height, held_frames, held_bytes, per_pixel)
    if need <= budget:
        return
    frames = Message(" and {n} frames kept for the file", n=held_frames) if held_frames else ""
    raise ModelError(
        Message(
            "this export would need about {need} of memory (images of {width} x {height} "
            "pixels{frames}), more than the {budget} visualconv allows; expected a smaller "
            "--scale, fewer --steps, or the .svg or .pdf format for one step",
            need=format_bytes(need),
            width=width,
            height=height,
            frames=frames,
            budget=format_bytes(budget),
        ),
        place,
    )


def _resolve_step(trace: LayerTrace, step: int | None) -> int:
    if step is None:
        return trace.n
    if not 0 <= step <= trace.n:
        raise ModelError(Message("step {step}: this pass has steps 0..{n}", step=step, n=trace.n))
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
        check_export_memory(model, *render.figure_size(figure, scale))
        return render.figure_png(figure, scale)
    if suffix == ".svg":
        return render.figure_svg(figure)
    if suffix == ".pdf":
        return render.figure_pdf(figure)
    if suffix == ".tex":
        return latex.slide_standalone(slides.slide_from_figure(figure, k, trace.n)).encode("utf-8")
    if suffix == "-fragment.tex":
        return latex.slide_fragment(slides.slide_from_figure(figure, k, trace.n)).encode("utf-8")
    raise ModelError(
        Message(
            "unknown export format {suffix!r}: expected one of {formats}",
            suffix=suffix,
            formats=", ".join(SNAPSHOT_SUFFIXES),
        )
    )


def _write(path: Path, content: bytes | str, follow_symlinks: bool = False) -> Path:
    """Every export file goes through the one atomic writer (its folder is made if missing)."""
    make_folder(path.parent)
    return files.write_atomic(path, content, follow_symlinks=follow_symlinks)


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
    ``<stem>/`` with one CSV per matrix; ``.zip``
    the same CSVs in one archive. Every file is written atomically; a symbolic link is
    written through only with ``follow_symlinks`` (see :mod:`visualconv.atomic`); missing
    folders are made (:func:`visualconv.atomic.missing_folders` tells which beforehand).

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
            Message(
                "{path}: cannot tell the format from the extension {suffix!r}; use one of {formats}",
                path=path,
                suffix=suffix or Message("(none)"),
                formats=", ".join(SNAPSHOT_SUFFIXES),
            )
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
    resolve_target(path, follow_symlinks=follow_symlinks, missing_folders_ok=True)  # before rendering
    if suffix == ".tex":
        resolve_target(fragment_path(path), follow_symlinks=follow_symlinks, missing_folders_ok=True)
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


StepsSpec = str | Sequence[int] | None
"""Steps to export: None for all (0..n), a text like ``"1-4,16"``, or a list of steps."""


def choose_steps(trace: LayerTrace, steps: StepsSpec, *, lenient: bool = False) -> list[int]:
    """The chosen steps of a pass, in order.

    Parameters
    ----------
    trace : LayerTrace
    steps : None, str or sequence of int
        None: every step 0..n. A text ``"1-4,16"`` (``last`` is n) or a list of steps.
    lenient : bool
        Drop steps past the end instead of refusing them (a pack applies one choice to
        passes of different lengths).

    Returns
    -------
    list of int
    """
    n = trace.n
    if steps is None:
        return list(range(n + 1))
    if isinstance(steps, str):
        try:
            return slides.parse_steps(steps, n, lenient=lenient)
        except ValueError as exc:  # its message says itself translated (a Message)
            raise ModelError(exc.args[0] if exc.args else str(exc)) from None
    chosen: list[int] = []
    for k in steps:
        if not 0 <= int(k) <= n:
            raise ModelError(Message("step {step}: this pass has steps 0..{n}", step=k, n=n))
        if int(k) not in chosen:
            chosen.append(int(k))
    if not chosen:
        raise ModelError(Message("no steps chosen"))
    return chosen


def pass_slides(
    model: Model, layer: int, pass_name: str, steps: StepsSpec = None, decimals: int | None = None
) -> list[slides.Slide]:
    """The slides of the chosen steps of a layer's pass (one colour level per panel for the pass)."""
    trace = open_pass(model, layer, pass_name)
    return slides.pass_slides(model, layer % len(model.layers), trace, choose_steps(trace, steps), decimals)


def _check_suffix(path: Path, wanted: tuple[str, ...], what: str) -> None:
    if path.suffix.lower() not in wanted:
        raise ModelError(
            Message(
                "{path}: a {what} file ends in {wanted}", path=path, what=what, wanted=" or ".join(wanted)
            )
        )


def export_beamer(
    model: Model,
    layer: int,
    pass_name: str,
    path: str | Path,
    steps: StepsSpec = None,
    decimals: int | None = None,
    *,
    follow_symlinks: bool = False,
) -> list[Path]:
    r"""Write a Beamer deck: one frame whose overlays are the chosen steps of a layer's pass.

    Overlay i shows the i-th chosen step (all steps: overlay k + 1 is step k), as the
    window does: heat-map cells with their numbers, the window outlined, the equations.

    Returns
    -------
    list of Path
    """
    path = Path(path)
    _check_suffix(path, (".tex",), "Beamer")
    deck = tikz.beamer_deck(pass_slides(model, layer, pass_name, steps, decimals))
    return [_write(path, deck, follow_symlinks)]


def export_tikz(
    model: Model,
    layer: int,
    pass_name: str,
    step: int | None,
    path: str | Path,
    decimals: int | None = None,
    *,
    follow_symlinks: bool = False,
) -> list[Path]:
    """Write one step as a standalone TikZ document and ``<stem>-fragment.tex`` to paste.

    Returns
    -------
    list of Path
        The document, then the fragment.
    """
    path = Path(path)
    _check_suffix(path, (".tex",), "TikZ")
    trace = open_pass(model, layer, pass_name)
    (slide,) = slides.pass_slides(
        model, layer % len(model.layers), trace, [_resolve_step(trace, step)], decimals
    )
    return [
        _write(path, tikz.tikz_standalone(slide), follow_symlinks),
        _write(fragment_path(path), tikz.tikz_fragment(slide), follow_symlinks),
    ]


def export_pptx(
    model: Model,
    layer: int,
    pass_name: str,
    path: str | Path,
    steps: StepsSpec = None,
    decimals: int | None = None,
    *,
    follow_symlinks: bool = False,
) -> list[Path]:
    """Write a PowerPoint file with one slide per chosen step (native, editable shapes).

    Returns
    -------
    list of Path
    """
    from . import pptx

    path = Path(path)
    _check_suffix(path, (".pptx",), "PowerPoint")
    deck = pptx.pptx_bytes(pass_slides(model, layer, pass_name, steps, decimals))
    return [_write(path, deck, follow_symlinks)]


ANIMATION_SUFFIXES = (".gif", ".mp4", ".apng")


class _PassFrames:
    """Renders steps of one pass with one style, each once, as RGB frames of one size."""

    def __init__(self, model: Model, index: int, trace: LayerTrace, scale: float) -> None:
        self.model, self.index, self.trace, self.scale = model, index, trace, scale
        self.style: PassStyle = pass_style(trace)
        self.size: tuple[int, int] | None = None
        self._cache: dict[int, tuple[Figure, QImage]] = {}
        self._figures: dict[int, Figure] = {}

    def figure(self, k: int) -> Figure:
        """The figure of step k (kept until its image is made)."""
        if k not in self._figures:
            self._figures[k] = build_figure(self.model, self.index, self.trace, k, self.style)
        return self._figures[k]

    def render(self, k: int) -> tuple[Figure, QImage]:
        """The figure of step k and its image (of the pass's one frame size); cached."""
        if k not in self._cache:
            figure = self._figures.pop(k, None) or self.figure(k)
            self._figures.pop(k, None)
            image = render.figure_image(figure, self.scale, self.size)
            self.size = (image.width(), image.height())
            self._cache[k] = (figure, image)
        return self._cache[k]

    def forget(self, k: int) -> None:
        self._cache.pop(k, None)

    def palette(self, ks: Sequence[int]) -> animation.PaletteMapper:
        """One palette from a few of the steps ``ks`` (those stay cached for their frames).

        Each sample's colours are counted and its codes dropped before the next is rendered.
        """
        count = min(len(ks), animation.PALETTE_SAMPLES)
        picks = sorted({ks[round(i * (len(ks) - 1) / max(1, count - 1))] for i in range(count)})
        counted = (animation.colour_counts(animation.qimage_codes(self.render(k)[1])) for k in picks)
        return animation.PaletteMapper(animation.shared_palette(counted))


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
    steps: StepsSpec = None,
    follow_symlinks: bool = False,
) -> list[Path]:
    """Write the steps of a pass as an animation and/or a folder of numbered PNGs.

    Parameters
    ----------
    model : Model
    layer : int
    pass_name : {"forward", "backward"}
    path : str or Path, optional
        The animation; its format by the suffix: ``.gif`` (one palette for all frames),
        ``.mp4`` (H.264, even dimensions; needs imageio-ffmpeg) or ``.apng`` (animated PNG).
    progress : callable, optional
        ``progress(done, total)`` after each frame; return False to cancel
        (:class:`ExportCancelled` is raised and nothing written stays).
    frames_dir : str or Path, optional
        Folder for ``frame-000.png`` ... (the same images as the frames, unquantised).
    scale : float
    frame_ms : int
        Display time of each frame; the last frame is held at least 2.5 s.
    steps : None, str or sequence of int
        The steps shown (default all, 0..n).
    follow_symlinks : bool
        Write through a symbolic link at ``path`` (the user chose it).

    Returns
    -------
    list of Path
        The animation first (if any), then the frames. Missing folders are made.
    """
    if path is None and frames_dir is None:
        raise ModelError(Message("nothing to write: give an animation path or a frames folder"))
    suffix = Path(path).suffix.lower() if path is not None else ""
    if path is not None and suffix not in ANIMATION_SUFFIXES:
        raise ModelError(
            Message("{path}: an animation is {formats}", path=path, formats=", ".join(ANIMATION_SUFFIXES))
        )
    if suffix == ".mp4":
        video.ffmpeg_exe()  # a missing writer is an error before any work
    trace = open_pass(model, layer, pass_name)
    ks = choose_steps(trace, steps)
    if path is not None:
        resolve_target(path, follow_symlinks=follow_symlinks, missing_folders_ok=True)  # before rendering
    frames = _PassFrames(model, layer % len(model.layers), trace, scale)
    first = frames.figure(ks[0])
    width, height = render.figure_size(first, scale)
    # every format is written as frames come; a GIF's palette comes from sampled frames, and
    # ffmpeg holds frames of its own
    per_pixel = FRAME_BYTES + (FFMPEG_BYTES if suffix == ".mp4" else 0)
    if suffix == ".gif":
        per_pixel = GIF_FRAME_BYTES + 4 * min(len(ks), animation.PALETTE_SAMPLES)
    check_export_memory(model, width, height, per_pixel=per_pixel)
    mapper = frames.palette(ks) if suffix == ".gif" else None
    out = files.Written()

    def rgb_frames() -> Iterator[np.ndarray]:
        """Each chosen step once, as RGB (GIF: palette indices); its PNG frame written on the way."""
        for done, k in enumerate(ks, 1):
            _, image = frames.render(k)
            if frames_dir is not None:
                out.write(Path(frames_dir) / f"frame-{k:0{_digits(trace.n)}d}.png", render.image_png(image))
            frame = None
            if mapper is not None:
                frame = mapper.indices(animation.qimage_codes(image))
            elif path is not None:
                frame = animation.qimage_rgb(image)
            frames.forget(k)
            del image
            _tick(progress, done, len(ks))
            if frame is not None:
                yield frame

    try:
        if frames_dir is not None:
            out.folder(frames_dir)
        if path is None:
            for _ in rgb_frames():
                pass
        else:
            target = Path(path)
            out.folder(target.parent)
            existed = target.exists()
            stream: files.Stream
            if mapper is not None:
                stream = animation.GifStream(target, mapper, frame_ms, follow_symlinks=follow_symlinks)
            elif suffix == ".mp4":
                stream = video.Mp4Stream(target, frame_ms, follow_symlinks=follow_symlinks)
            else:
                stream = video.ApngStream(target, frame_ms, follow_symlinks=follow_symlinks)
            with stream:
                for frame in rgb_frames():
                    stream.add(frame)
            out.adopt(target, existed)
    except BaseException:
        out.remove()
        raise
    written = [p for p in out.files if path is None or p != Path(path)]
    return ([Path(path)] if path is not None else []) + written


def pack_passes(model: Model) -> list[tuple[int, str]]:
    """(layer, pass) in the order a lecture tells them: forward 0..L-1, then backward L-1..0."""
    count = len(model.layers)
    order = [(i, "forward") for i in range(count)]
    if model.has_backward:
        order += [(i, "backward") for i in reversed(range(count))]
    return order

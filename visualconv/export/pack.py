"""The lecture pack: chosen layers, passes and steps as slides, animations and an index.

Each chosen step is rendered once; its one image becomes the step's PNG and the GIF's
frame, its one slide the step's LaTeX and the Beamer deck's overlay (and the PowerPoint
slide, the MP4 and APNG frames when those formats are chosen). The GIF, MP4 and APNG are
written as the steps are rendered (no pass's frames are held); the slides of a pass are
kept for its Beamer and PowerPoint decks. :func:`check_pack_memory` refuses, before any
work, a pack whose estimated peak is over the 2 GB budget. The pack's folder is
created if missing (with its parents); a cancel or an error removes everything the
pack wrote (and the folders it made). ``index.md`` and ``index.html`` list the passes
in lecture order with every step's picture and equations.

Layout::

    DIR/index.md, DIR/index.html
    DIR/layer-0-conv-forward.gif          (.mp4, .apng, .pptx when chosen)
    DIR/layer-0-conv-forward-beamer.tex   one frame, one overlay per step
    DIR/layer-0-conv-forward/step-000.png, step-000.tex, ..., fragments.tex

The PNGs of a pack show the title and the panels of a step (its equations are the text
under each picture in the index, and in the GIF, the LaTeX and the decks) in the pass's
palette of 255 colours, like its GIF (exact for flat colours, the nearest colour on
anti-aliased edges); images are at scale 0.75 unless asked otherwise. That keeps a pack
small; ``export --out`` and ``--frames`` write whole, full-colour PNGs.
"""

from __future__ import annotations

import functools
import html
import io
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine import palette
from ..engine.budget import MEMORY_BUDGET_BYTES, format_bytes
from ..engine.errors import Message, ModelError
from ..engine.model import Model
from ..engine.trace import LayerTrace
from ..i18n import _, tag
from ..samples import shown
from ..textsafe import code_fence, markdown_text, printable
from . import animation, files, latex, slides, tikz, video
from .api import (
    FFMPEG_BYTES,
    FRAME_BYTES,
    GIF_FRAME_BYTES,
    PROCESS_BYTES,
    Progress,
    StepsSpec,
    _digits,
    _PassFrames,
    _tick,
    choose_steps,
    open_pass,
    pack_passes,
)
from .figure import Figure, layer_caption
from .render import figure_size

PACK_FORMATS = ("png", "tex", "gif", "beamer", "pptx", "mp4", "apng")
DEFAULT_FORMATS = ("png", "tex", "gif", "beamer")
PACK_SCALE = 0.75


@dataclass(frozen=True, slots=True)
class PackPass:
    """One pass of a pack: where it goes and which steps it shows."""

    layer: int
    pass_name: str
    name: str
    trace: LayerTrace
    steps: tuple[int, ...]


def _markdown(text: str) -> str:
    """Model text for Markdown: shown as written, never markup (:func:`visualconv.textsafe.markdown_text`)."""
    return markdown_text(text)


def _html(text: str) -> str:
    """Model text for HTML: control characters as visible escapes, then HTML's escapes."""
    return html.escape(printable(text))


def plan_pack(
    model: Model,
    layers: Sequence[int] | None = None,
    passes: Sequence[str] | None = None,
    steps: StepsSpec = None,
) -> list[PackPass]:
    """The passes a pack writes, in lecture order, with their chosen steps.

    Parameters
    ----------
    model : Model
    layers : sequence of int, optional
        Layer indices (negative from the end); default every layer.
    passes : sequence of {"forward", "backward"}, optional
        Default both (backward only when the model has one).
    steps : None, str or sequence of int
        The same choice for every pass; steps past a pass's end are dropped there.

    Returns
    -------
    list of PackPass
    """
    count = len(model.layers)
    chosen_layers = None
    if layers is not None:
        chosen_layers = set()
        for i in layers:
            if not -count <= i < count:
                raise ModelError(
                    Message("layer {layer}: the model has layers 0..{count}", layer=i, count=count - 1)
                )
            chosen_layers.add(i % count)
    if passes is not None:
        for p in passes:
            if p not in ("forward", "backward"):
                raise ModelError(Message("pass {pass_name!r}: expected 'forward' or 'backward'", pass_name=p))
        if "backward" in passes and not model.has_backward and list(passes) == ["backward"]:
            raise ModelError(Message("the model has no backward pass (no 'upstream', 'target' or loss)"))
    plan = []
    for i, p in pack_passes(model):
        if chosen_layers is not None and i not in chosen_layers:
            continue
        if passes is not None and p not in passes:
            continue
        trace = open_pass(model, i, p)
        if isinstance(steps, str):
            ks = choose_steps(trace, steps, lenient=True)
        elif steps is None:
            ks = list(range(trace.n + 1))
        else:
            ks = [int(k) for k in steps if 0 <= int(k) <= trace.n]
        if ks:
            plan.append(PackPass(i, p, f"layer-{i}-{model.layers[i].type}-{p}", trace, tuple(ks)))
    if not plan:
        raise ModelError(Message("the choice of layers, passes and steps leaves nothing to export"))
    return plan


SLIDE_CELL_BYTES = 400
"""Bytes a cell of a slide kept for a pass's Beamer or PowerPoint deck takes (its number's text,
fill and ink; measured with tracemalloc on the sample models: 255 to 340)."""
FRAGMENT_CELL_BYTES = 100
"""Bytes a cell of a step's LaTeX fragment kept for ``fragments.tex`` takes (measured: 67 to 77)."""
DECK_CELL_BYTES = {"beamer": 800, "pptx": 4000}
"""Peak bytes a cell of each slide takes while a deck is made (tracemalloc: Beamer 510 to 600,
python-pptx 810 to 2970)."""
PNG_QUEUE_BYTES = 12
"""Bytes a pixel of the PNGs waiting for the writer thread (at most 12 steps' palette indices)."""


def _slide_cells(figure: Figure) -> int:
    """Cells of a step's slide: every grid of every panel."""
    return sum(
        grid.values.size for row in figure.panels for panel in row for line in panel.rows for grid in line
    )


def pass_memory(frames: _PassFrames, item: PackPass, chosen: set[str]) -> tuple[int, int, int, int]:
    """Peak bytes of one pass of a pack, split as (images, kept slides, decks), and the pixels of one.

    Integers from the first step's figure (its size and cells); nothing is rendered. The
    images: ``FRAME_BYTES`` a pixel of the step being written, the GIF's (and PNGs') palette
    from sampled frames (``GIF_FRAME_BYTES`` and the 4 bytes a pixel of each sample's image,
    kept until its step is written), the PNGs waiting for the writer, ffmpeg's frames for an
    MP4. Slides are kept for the decks (``SLIDE_CELL_BYTES``) and the LaTeX fragments
    (``FRAGMENT_CELL_BYTES``) for the whole pass; a deck adds ``DECK_CELL_BYTES`` while it is made.
    """
    figure = frames.figure(item.steps[0])
    width, height = figure_size(figure, frames.scale)
    pixels = width * height
    per_pixel = 0
    if chosen & {"png", "gif", "mp4", "apng"}:
        per_pixel = FRAME_BYTES
    if chosen & {"png", "gif"}:
        per_pixel = GIF_FRAME_BYTES + 4 * min(len(item.steps), animation.PALETTE_SAMPLES)
        if chosen & {"mp4", "apng"}:
            per_pixel += FRAME_BYTES  # the step's RGB copy beside its palette indices
    if "png" in chosen:
        per_pixel += PNG_QUEUE_BYTES
    if "mp4" in chosen:
        per_pixel += FFMPEG_BYTES
    cells = _slide_cells(figure) * len(item.steps)
    kept = 0
    if chosen & {"beamer", "pptx"}:
        kept += SLIDE_CELL_BYTES * cells
    if "tex" in chosen:
        kept += FRAGMENT_CELL_BYTES * cells
    decks = max((DECK_CELL_BYTES[f] * cells for f in ("beamer", "pptx") if f in chosen), default=0)
    return per_pixel * pixels, kept, decks, pixels


def check_pack_memory(
    model: Model,
    plan: Sequence[PackPass],
    directory: str | Path,
    chosen: set[str],
    scale: float,
    budget: int | None = None,
    frames: Sequence[_PassFrames] | None = None,
) -> int:
    """Refuse, before any work, a pack whose peak (its heaviest pass) is over the budget.

    ``budget`` defaults to :data:`~visualconv.engine.budget.MEMORY_BUDGET_BYTES` (2 GB).

    The peak is the program (``PROCESS_BYTES``), the model's passes
    (:func:`~visualconv.engine.budget.estimated_bytes`) and the heaviest pass's
    :func:`pass_memory`: its images or its decks, whichever is larger, and its kept slides.
    ``frames`` (one per pass of ``plan``) keep the first step's figure for the export.

    Returns
    -------
    int
        The estimated peak in bytes.

    Raises
    ------
    ModelError
        Placed at ``--scale`` when the images weigh most, else at ``--steps``; the message
        names the pack's heaviest file and the sizes.
    """
    from ..engine.budget import estimated_bytes

    budget = MEMORY_BUDGET_BYTES if budget is None else budget
    base = PROCESS_BYTES + estimated_bytes(model)
    if frames is None:
        frames = [_PassFrames(model, item.layer, item.trace, scale) for item in plan]
    worst: tuple[int, int, tuple[int, int, int, int]] | None = None
    for i, item in enumerate(plan):
        parts = pass_memory(frames[i], item, chosen)
        need = base + max(parts[0], parts[2]) + parts[1]
        if worst is None or need > worst[0]:
            worst = (need, i, parts)
    assert worst is not None
    need, i, (images, kept, decks, _pixels) = worst
    item = plan[i]
    if need <= budget:
        return need
    root = Path(directory)
    if images >= decks + kept:
        place = "--scale"
        fmt = next((f for f in ("mp4", "gif", "apng") if f in chosen), None)
        heaviest = root / (f"{item.name}.{fmt}" if fmt else item.name)
    else:
        place = "--steps"
        fmt = next((f for f in ("pptx", "beamer", "tex") if f in chosen), "tex")
        heaviest = root / {"pptx": f"{item.name}.pptx", "beamer": f"{item.name}-beamer.tex"}.get(
            fmt, f"{item.name}/{latex.PACK_FRAGMENTS}"
        )
    width, height = figure_size(frames[i].figure(item.steps[0]), scale)
    raise ModelError(
        Message(
            "the lecture pack would need about {need} of memory for {heaviest} ({count} "
            "steps, images of {width} x {height} pixels), more than the {budget} visualconv "
            "allows; expected a smaller --scale, fewer --steps or --layers, or fewer "
            "--pack-formats",
            need=format_bytes(need),
            heaviest=heaviest,
            count=len(item.steps),
            width=width,
            height=height,
            budget=format_bytes(budget),
        ),
        place,
    )


class _Background:
    """Encodes and writes files on one worker thread, in order, while the next step renders.

    zlib and the file system release the GIL, so PNG and GIF encoding and the fsync of
    each file overlap with painting on a machine with two cores. At most ``LIMIT`` jobs
    wait, so memory stays bounded.
    """

    LIMIT = 12

    def __init__(self, out: files.Written) -> None:
        self.out = out
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="visualconv-pack")
        self.pending: deque[Future[Path]] = deque()

    def write(self, path: Path, make: Callable[[], bytes | str]) -> None:
        """Write ``make()`` to ``path`` on the worker."""
        self.pending.append(self.pool.submit(lambda: self.out.write(path, make())))
        while len(self.pending) > self.LIMIT:
            self.pending.popleft().result()

    def run(self, job: Callable[[], None]) -> None:
        """Run a job (a library writing its own file) on the worker, in order."""
        self.pending.append(self.pool.submit(lambda: (job(), Path())[1]))

    def finish(self) -> None:
        """Wait for every job; the first failure is raised."""
        try:
            while self.pending:
                self.pending.popleft().result()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        """Drop the jobs not started and wait for the one running."""
        for future in self.pending:
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pending.clear()


def panels_rows(figure: Figure, scale: float, height: int) -> int:
    """Rows of a step's image down to its equations: a pack's PNG shows title and panels.

    The equations are the text under each picture in the index (and in the GIF, the LaTeX
    and the decks); leaving them out of the PNGs keeps the pack small.
    """
    from .paint import FigurePainter

    top = getattr(FigurePainter(figure), "eq_top", None)
    if top is None:
        return height
    return max(1, min(height, round((top - 16.0) * scale)))


def _png(mapper: animation.PaletteMapper, indices: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    mapper.image(indices).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _open_streams(
    root: Path,
    name: str,
    chosen: set[str],
    mapper: animation.PaletteMapper | None,
    frame_ms: int,
) -> dict[str, files.Stream]:
    """The pass's GIF, MP4 and APNG (those chosen), each written as its frames come."""
    streams: dict[str, files.Stream] = {}
    try:
        if "gif" in chosen and mapper is not None:
            streams["gif"] = animation.GifStream(root / f"{name}.gif", mapper, frame_ms)
        if "mp4" in chosen:
            streams["mp4"] = video.Mp4Stream(root / f"{name}.mp4", frame_ms)
        if "apng" in chosen:
            streams["apng"] = video.ApngStream(root / f"{name}.apng", frame_ms)
    except BaseException:
        for stream in streams.values():
            stream.abort()
        raise
    return streams


def export_pack(
    model: Model,
    directory: str | Path,
    progress: Progress | None = None,
    *,
    scale: float = PACK_SCALE,
    layers: Sequence[int] | None = None,
    passes: Sequence[str] | None = None,
    steps: StepsSpec = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
    frame_ms: int = animation.FRAME_MS,
) -> list[Path]:
    """Write a lecture pack of the chosen layers, passes and steps (see the module docstring).

    Parameters
    ----------
    model : Model
    directory : str or Path
        Created when missing (with its parents).
    progress : callable, optional
        ``progress(done, total)`` after each step; return False to cancel: everything the
        pack wrote is removed and :class:`~visualconv.export.api.ExportCancelled` raised.
    scale : float
        Pixel scale of the images (default :data:`PACK_SCALE`).
    layers, passes, steps
        See :func:`plan_pack`.
    formats : sequence of str
        Any of :data:`PACK_FORMATS`; default PNG and LaTeX per step, GIF and Beamer per pass.
    frame_ms : int
        Display time of an animation's frame.

    Returns
    -------
    list of Path
        ``index.md`` first, then ``index.html`` and every file written.
    """
    chosen = set(formats)
    unknown = chosen - set(PACK_FORMATS)
    if unknown:
        raise ModelError(
            Message(
                "pack formats {unknown}: expected some of {formats}",
                unknown=sorted(unknown),
                formats=", ".join(PACK_FORMATS),
            )
        )
    if "mp4" in chosen:
        video.ffmpeg_exe()
    plan = plan_pack(model, layers, passes, steps)
    frames = [_PassFrames(model, item.layer, item.trace, scale) for item in plan]
    check_pack_memory(model, plan, directory, chosen, scale, frames=frames)
    total = sum(len(p.steps) for p in plan)
    root = Path(directory)
    out = files.Written()
    background = _Background(out)
    try:
        out.folder(root)
        md, page = _index_head(model, plan)
        done = 0
        for item, pass_frames in zip(plan, frames, strict=True):
            md_part, page_part = _write_pass(
                model, item, pass_frames, root, background, chosen, frame_ms, progress, done, total
            )
            md += md_part
            page += page_part
            done += len(item.steps)
        page.append("</body>\n</html>")
        background.finish()
        index = out.write(root / "index.md", "\n".join(md) + "\n")
        page_path = out.write(root / "index.html", "\n".join(page) + "\n")
    except BaseException:
        background.abort()
        out.remove()
        raise
    rest = [p for p in out.files if p not in (index, page_path)]
    return [index, page_path, *rest]


def _index_head(model: Model, plan: list[PackPass]) -> tuple[list[str], list[str]]:
    md = [f"# {_markdown(shown(model.name))}", ""]
    if model.description:
        md += [markdown_text(shown(model.description), keep_newlines=True), ""]
    chosen = palette.export_palette()
    if chosen is not None and not chosen.diverging:  # the window's sequential View ▸ Palette choice
        colours = _("dark is negative, light positive")
    else:
        colours = _("blue is negative, red positive")
    md += (
        _(
            "Slides exported by visualconv. Each step has an image (PNG) and its LaTeX: a standalone\n"
            "document (`step-NNN.tex`, compiles in its folder: it reads its step from `fragments.tex`,\n"
            "which has every step's body to paste into slides; needs `amsmath`, `amssymb`, `xcolor`,\n"
            "`colortbl`).\n"
            "`NAME-beamer.tex` is one Beamer frame whose overlays are the steps. One colour level\n"
            "per panel for a whole pass; {colours}. The images show the panels;\n"
            "each step's equations are the text below its image. `index.html` shows the pack in a\n"
            "browser."
        )
        .format(colours=colours)
        .split("\n")
    )
    md += [
        "",
        "## " + _("Contents"),
        "",
    ]
    e = _html
    page = [
        "<!DOCTYPE html>",
        f'<html lang="{tag()}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(shown(model.name))}</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#1f2328}"
        "img{max-width:100%;border:1px solid #ddd}pre{background:#f6f8fa;padding:.6em;overflow-x:auto}"
        "h2{border-bottom:1px solid #ddd;padding-bottom:.2em}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(shown(model.name))}</h1>",
    ]
    if model.description:
        page.append(f"<p>{e(shown(model.description))}</p>")
    page.append("<h2>" + e(_("Contents")) + "</h2>\n<ul>")
    for item in plan:
        kind = model.layers[item.layer].type
        steps_shown = _("{shown} of {n} steps").format(shown=len(item.steps), n=item.trace.n + 1)
        label = (
            _("layer {index} ({kind}), forward pass: {shown}")
            if item.pass_name == "forward"
            else _("layer {index} ({kind}), backward pass: {shown}")
        ).format(index=item.layer, kind=kind, shown=steps_shown)
        md.append(f"- [{label}](#{item.name})")
        page.append(f'<li><a href="#{item.name}">{e(label)}</a></li>')
    md.append("")
    page.append("</ul>")
    return md, page


def _write_pass(
    model: Model,
    item: PackPass,
    frames: _PassFrames,
    root: Path,
    out: _Background,
    chosen: set[str],
    frame_ms: int,
    progress: Progress | None,
    done: int,
    total: int,
) -> tuple[list[str], list[str]]:
    """Render one pass's steps once each and write every chosen format from them."""
    trace, name, e = item.trace, item.name, _html
    scale = frames.scale
    raster = bool(chosen & {"png", "gif", "mp4", "apng"})
    mapper = frames.palette(list(item.steps)) if chosen & {"png", "gif"} else None
    caption = layer_caption(model, item.layer, trace, trace.n).split(", overlay")[0]
    md = [f'<a id="{name}"></a>', "", f"## {caption}", ""]
    page = [f'<h2 id="{name}">{e(caption)}</h2>']
    links = []
    if "gif" in chosen:
        links.append(f"{name}.gif")
    for fmt in ("mp4", "apng", "pptx"):
        if fmt in chosen:
            links.append(f"{name}.{fmt}")
    if "beamer" in chosen:
        links.append(f"{name}-beamer.tex")
    if links:
        md += ["Files: " + ", ".join(f"[{link}]({link})" for link in links), ""]
        page.append("<p>Files: " + ", ".join(f'<a href="{link}">{link}</a>' for link in links) + "</p>")
    if "gif" in chosen:
        page.append(f'<p><img src="{name}.gif" alt="{e(caption)}, animated"></p>')
    digits = _digits(trace.n)
    cut: int | None = None  # image rows above the equations (the same for every step of a pass)
    step_slides: list[slides.Slide] = []  # kept for the decks
    fragments: list[tuple[int, str]] = []
    streams = _open_streams(root, name, chosen, mapper, frame_ms)
    try:
        for k in item.steps:
            figure, image = frames.render(k) if raster else (frames.figure(k), None)
            slide = slides.slide_from_figure(figure, k, trace.n)
            if chosen & {"beamer", "pptx"}:
                step_slides.append(slide)
            stem = f"step-{k:0{digits}d}"
            if image is not None:
                if mapper is not None:
                    idx = mapper.indices(animation.qimage_codes(image))
                    if "png" in chosen:
                        if cut is None:
                            cut = panels_rows(figure, scale, idx.shape[0])
                        out.write(root / name / f"{stem}.png", functools.partial(_png, mapper, idx[:cut]))
                    if "gif" in streams:
                        streams["gif"].add(idx)
                    del idx
                if "mp4" in streams or "apng" in streams:
                    rgb = animation.qimage_rgb(image)
                    for fmt in ("mp4", "apng"):
                        if fmt in streams:
                            streams[fmt].add(rgb)
                    del rgb
            frames.forget(k)
            del image
            if "tex" in chosen:
                body = latex.slide_fragment(slide)
                out.write(root / name / f"{stem}.tex", functools.partial(latex.step_from_fragments, k, body))
                fragments.append((k, body))
            title = _("step {k} of {n}").format(k=k, n=trace.n) + (
                " " + _("(before the first overlay)") if k == 0 else ""
            )
            md += [f"### {caption}: {title}", ""]
            page.append(f"<h3>{e(title)}</h3>")
            if "png" in chosen:
                md += [f"![{figure.caption}]({name}/{stem}.png)", ""]
                page.append(f'<p><img src="{name}/{stem}.png" alt="{e(figure.caption)}" loading="lazy"></p>')
            if "tex" in chosen:
                md += [f"LaTeX: [{stem}.tex]({name}/{stem}.tex)", ""]
            lines = [printable(line) for line in figure.lines]
            fence = code_fence(lines)
            md += [f"{fence}text", *lines, fence, ""]
            page.append("<pre>" + "\n".join(e(line) for line in figure.lines) + "</pre>")
            done += 1
            _tick(progress, done, total)
        for stream in streams.values():
            existed = stream.path.exists()
            stream.finish()
            out.out.adopt(stream.path, existed)
    except BaseException:
        for stream in streams.values():
            stream.abort()  # nothing of an unfinished file stays; an old file is left as it was
        raise
    if fragments:
        out.write(
            root / name / latex.PACK_FRAGMENTS, functools.partial(latex.fragments_file, fragments, trace.n)
        )
    if "beamer" in chosen:
        out.write(root / f"{name}-beamer.tex", functools.partial(tikz.beamer_deck, step_slides))
    if "pptx" in chosen:
        from .pptx import pptx_bytes

        out.write(root / f"{name}.pptx", functools.partial(pptx_bytes, step_slides))
    return md, page

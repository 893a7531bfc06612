"""The lecture pack: chosen layers, passes and steps as slides, animations and an index.

Each chosen step is rendered once; its one image becomes the step's PNG and the GIF's
frame, its one slide the step's LaTeX and the Beamer deck's overlay (and the PowerPoint
slide, the MP4 and APNG frames when those formats are chosen). The pack's folder is
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
from typing import Any

import numpy as np

from ..engine.errors import ModelError
from ..engine.model import Model
from ..engine.trace import LayerTrace
from ..i18n import _, tag
from ..samples import shown
from ..textsafe import code_fence, markdown_text, printable
from . import animation, files, latex, slides, tikz, video
from .api import (
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
                raise ModelError(f"layer {i}: the model has layers 0..{count - 1}")
            chosen_layers.add(i % count)
    if passes is not None:
        for p in passes:
            if p not in ("forward", "backward"):
                raise ModelError(f"pass {p!r}: expected 'forward' or 'backward'")
        if "backward" in passes and not model.has_backward and list(passes) == ["backward"]:
            raise ModelError("the model has no backward pass (no 'upstream', 'target' or loss)")
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
        raise ModelError("the choice of layers, passes and steps leaves nothing to export")
    return plan


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
        raise ModelError(f"pack formats {sorted(unknown)}: expected some of {', '.join(PACK_FORMATS)}")
    if "mp4" in chosen:
        video.ffmpeg_exe()
    plan = plan_pack(model, layers, passes, steps)
    total = sum(len(p.steps) for p in plan)
    root = Path(directory)
    out = files.Written()
    background = _Background(out)
    try:
        out.folder(root)
        md, page = _index_head(model, plan)
        done = 0
        for item in plan:
            md_part, page_part = _write_pass(
                model, item, root, background, chosen, scale, frame_ms, progress, done, total
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
    md += _(
        "Slides exported by visualconv. Each step has an image (PNG) and its LaTeX: a standalone\n"
        "document (`step-NNN.tex`, compiles in its folder: it reads its step from `fragments.tex`,\n"
        "which has every step's body to paste into slides; needs `amsmath`, `amssymb`, `xcolor`,\n"
        "`colortbl`).\n"
        "`NAME-beamer.tex` is one Beamer frame whose overlays are the steps. One colour level\n"
        "per panel for a whole pass; blue is negative, red positive. The images show the panels;\n"
        "each step's equations are the text below its image. `index.html` shows the pack in a\n"
        "browser."
    ).split("\n")
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
    root: Path,
    out: _Background,
    chosen: set[str],
    scale: float,
    frame_ms: int,
    progress: Progress | None,
    done: int,
    total: int,
) -> tuple[list[str], list[str]]:
    """Render one pass's steps once each and write every chosen format from them."""
    trace, name, e = item.trace, item.name, _html
    frames = _PassFrames(model, item.layer, trace, scale)
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
    indices: list[np.ndarray] = []
    rgbs: list[np.ndarray] = []
    step_slides: list[slides.Slide] = []
    fragments: list[tuple[int, str]] = []
    for k in item.steps:
        figure, image = frames.render(k) if raster else (frames.figure(k), None)
        slide = slides.slide_from_figure(figure, k, trace.n)
        step_slides.append(slide)
        stem = f"step-{k:0{digits}d}"
        if image is not None:
            if mapper is not None:
                idx = mapper.indices(animation.qimage_codes(image))
                if "png" in chosen:
                    if cut is None:
                        cut = panels_rows(figure, scale, idx.shape[0])
                    out.write(root / name / f"{stem}.png", functools.partial(_png, mapper, idx[:cut]))
                if "gif" in chosen:
                    indices.append(idx)
            if chosen & {"mp4", "apng"}:
                rgbs.append(animation.qimage_rgb(image))
        frames.forget(k)
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
    if fragments:
        out.write(
            root / name / latex.PACK_FRAGMENTS, functools.partial(latex.fragments_file, fragments, trace.n)
        )
    if mapper is not None and indices:
        out.write(root / f"{name}.gif", functools.partial(animation.gif_bytes, mapper, indices, frame_ms))
    if "beamer" in chosen:
        out.write(root / f"{name}-beamer.tex", functools.partial(tikz.beamer_deck, step_slides))
    if "pptx" in chosen:
        from .pptx import pptx_bytes

        out.write(root / f"{name}.pptx", functools.partial(pptx_bytes, step_slides))
    for fmt, writer in (("mp4", video.write_mp4), ("apng", video.write_apng)):
        if fmt in chosen:
            target = root / f"{name}.{fmt}"

            def job(target: Path = target, writer: Any = writer) -> None:
                existed = target.exists()
                writer(target, rgbs, frame_ms)
                out.out.adopt(target, existed)

            out.run(job)
    return md, page

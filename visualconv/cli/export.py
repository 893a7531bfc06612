"""``visualconv export``: headless snapshot, animation and lecture-pack export.

::

    visualconv export FILE --layer L --pass P [--step K] --out PATH [--scale S]
    visualconv export FILE --layer L --pass P --animation OUT.gif|.mp4|.apng [--frames DIR] [--frame-ms MS]
    visualconv export FILE --layer L --pass P --beamer DECK.tex [--steps 1-4,16] [--decimals D]
    visualconv export FILE --layer L --pass P --pptx DECK.pptx [--steps ...]
    visualconv export FILE --layer L --pass P --step K --tikz STEP.tex
    visualconv export FILE --pack DIR [--layers 0,2] [--passes backward] [--steps 0-4,last]
                                      [--pack-formats png,tex,gif,beamer,pptx,mp4,apng]
    visualconv export FILE --torch SCRIPT.py     # a PyTorch script printing `grad --json`

The format of ``--out`` follows its extension (.png .svg .pdf .json .npz .csv .zip .tex;
see :mod:`visualconv.export`). The step defaults to the last. Works with no display (Qt
runs offscreen); every error exits 2 with one line.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..i18n import N_, _, language
from .common import EXIT_OK, UsageError, palette_help, palette_option

NAME = "export"

# Harmless messages of the offscreen platform that would only confuse a terminal user.
_QUIET = ("propagateSizeHints", "XDG_RUNTIME_DIR")


def add_parser(sub: Any) -> None:
    """Register the ``export`` sub-command."""
    p = sub.add_parser(
        NAME,
        help=_("export a snapshot, an animation or a lecture pack"),
        description=_(
            "Export a layer's pass at a step as an image, data or LaTeX; all steps as a GIF; "
            "or every layer and pass as a lecture pack. Needs no display."
        ),
    )
    p.add_argument("file")
    p.add_argument("--layer", type=int, default=0, help=_("layer index, from 0 (default 0; -1 is the last)"))
    p.add_argument("--pass", dest="pass_name", choices=("forward", "backward"), default="backward")
    p.add_argument("--step", type=int, default=None, help=_("step 0..n for --out (default: the last)"))
    p.add_argument(
        "--out",
        metavar="PATH",
        help=_(
            "snapshot file; format by extension: .png .svg .pdf .json .npz .tex "
            "(+ PATH-fragment.tex), .csv (a folder PATH-without-.csv, one CSV per matrix), .zip (the CSVs)"
        ),
    )
    p.add_argument(
        "--animation",
        metavar="OUT",
        help=_("the steps of the pass as an animation: .gif, .mp4 (H.264) or .apng (animated PNG)"),
    )
    p.add_argument("--frames", metavar="DIR", help=_("the steps of the pass as numbered PNG frames"))
    p.add_argument(
        "--beamer", metavar="DECK.tex", help=_("a Beamer frame whose overlays are the steps (TikZ cells)")
    )
    p.add_argument("--pptx", metavar="DECK.pptx", help=_("PowerPoint, one slide per step, editable shapes"))
    p.add_argument(
        "--tikz",
        metavar="STEP.tex",
        help=_("one step (--step) as a standalone TikZ picture + STEP-fragment.tex"),
    )
    p.add_argument(
        "--steps",
        metavar="LIST",
        help=_("steps for --beamer, --pptx, --animation and --pack, e.g. 1-4,16 or 0,last (default all)"),
    )
    p.add_argument(
        "--decimals",
        type=int,
        default=None,
        help=_("decimals of the numbers in cells (default: per panel, as the window shows them)"),
    )
    p.add_argument("--pack", metavar="DIR", help=_("lecture pack of the chosen layers, passes and steps"))
    p.add_argument("--layers", metavar="LIST", help=_("layers of the pack, e.g. 0,2 (default all)"))
    p.add_argument(
        "--passes",
        metavar="LIST",
        help=_("passes of the pack: forward, backward or forward,backward (default both)"),
    )
    p.add_argument(
        "--pack-formats",
        metavar="LIST",
        default="png,tex,gif,beamer",
        help=_("what the pack writes: png,tex,gif,beamer,pptx,mp4,apng (default png,tex,gif,beamer)"),
    )
    p.add_argument(
        "--torch",
        metavar="SCRIPT.py",
        help=_("a standalone PyTorch script that prints the model's `grad --json` (torch + stdlib only)"),
    )
    p.add_argument(
        "--scale",
        type=float,
        default=None,
        help=_("pixel scale of images and animations (default 1; 2 for slides; a pack's default is 0.75)"),
    )
    p.add_argument(
        "--frame-ms", type=int, default=900, help=_("display time of a GIF frame in ms (default 900)")
    )
    p.add_argument("--palette", metavar="NAME", default=None, help=palette_help())
    p.add_argument(
        "--follow-symlinks",
        action="store_true",
        help=_("write through an output path that is a symbolic link"),
    )
    p.set_defaults(func=run)


class _Progress:
    """A tqdm bar on stderr for long exports when stderr is a terminal; nothing when piped."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, label: str) -> Any:
        if not self.enabled:
            return None
        self.close()

        def tick(done: int, total: int) -> bool:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=label, unit="step", file=sys.stderr, leave=False)
            self.bar.update(done - self.bar.n)
            return True

        return tick

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _headless() -> None:
    """Qt offscreen and quiet, before any QGuiApplication exists (nothing to do after)."""
    from PyQt6.QtGui import QGuiApplication

    if QGuiApplication.instance() is not None:
        return
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if "XDG_RUNTIME_DIR" not in os.environ:
        runtime = tempfile.mkdtemp(prefix="visualconv-xdg-")
        os.chmod(runtime, 0o700)
        os.environ["XDG_RUNTIME_DIR"] = runtime
        atexit.register(shutil.rmtree, runtime, True)  # no empty folder left in the temp directory
    from PyQt6.QtCore import QtMsgType, qInstallMessageHandler

    def handler(kind: QtMsgType, context: object, message: str | None) -> None:
        text = message or ""
        if any(q in text for q in _QUIET):
            return
        if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg, QtMsgType.QtWarningMsg):
            print(f"qt: {text}", file=__import__("sys").stderr)

    qInstallMessageHandler(handler)


CJK_HINT = N_(
    "No font with Chinese characters was found: install one (Debian/Ubuntu: sudo apt install "
    "fonts-noto-cjk or fonts-wqy-microhei; Fedora: google-noto-sans-cjk-fonts)"
)


def has_cjk_font() -> bool:
    """Whether fontconfig knows a font for Chinese (True where there is no fontconfig to ask)."""
    import shutil
    import subprocess

    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return True
    try:
        found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return True
    return bool(found.stdout.strip())


def run(args: argparse.Namespace) -> int:
    """Run ``visualconv export``; returns the exit status (errors raise ModelError or UsageError)."""
    from .. import atomic
    from ..engine.errors import ModelError
    from ..modelfile import load_model

    others = args.out or args.animation or args.frames or args.pack or args.beamer or args.pptx or args.tikz
    if not (others or args.torch):
        raise UsageError(
            "visualconv export: "
            + _(
                "nothing to do: give --out PATH, --animation OUT, --frames DIR, "
                "--beamer DECK.tex, --pptx DECK.pptx, --tikz STEP.tex, --pack DIR or --torch SCRIPT.py"
            )
        )
    if others and language() == "zh_CN" and not has_cjk_font():
        print("visualconv: " + _(CJK_HINT), file=sys.stderr)
    if args.torch:
        from ..bridge.command import export_torch

        print(export_torch(args.file, args.torch))
        if not others:
            return EXIT_OK
    if args.decimals is not None and not 0 <= args.decimals <= 12:
        raise UsageError(f"visualconv export: --decimals {args.decimals}: " + _("expected 0..12"))
    for flag, value, suffixes in (
        ("--beamer", args.beamer, (".tex",)),
        ("--tikz", args.tikz, (".tex",)),
        ("--pptx", args.pptx, (".pptx",)),
    ):
        if value and Path(value).suffix.lower() not in suffixes:
            raise UsageError(
                f"visualconv export: {flag} {value}: "
                + _("expected a {suffix} file").format(suffix=suffixes[0])
            )
    layers = passes = None
    if args.layers:
        try:
            layers = [int(v) for v in args.layers.split(",")]
        except ValueError:
            raise UsageError(
                f"visualconv export: --layers {args.layers}: " + _("expected layer numbers like 0,2")
            ) from None
    if args.passes:
        passes = [v.strip() for v in args.passes.split(",")]
        if not set(passes) <= {"forward", "backward"}:
            raise UsageError(
                f"visualconv export: --passes {args.passes}: " + _("expected forward, backward or both")
            )
    formats = [v.strip() for v in args.pack_formats.split(",") if v.strip()]
    pack_scale = args.scale
    if args.scale is None:
        from ..export.pack import PACK_SCALE

        args.scale, pack_scale = 1.0, PACK_SCALE
    if not args.scale > 0 or args.scale > 16:
        raise UsageError(f"visualconv export: --scale {args.scale}: " + _("expected a number in (0, 16]"))
    if args.frame_ms < 20:
        raise UsageError(f"visualconv export: --frame-ms {args.frame_ms}: " + _("expected at least 20"))
    if args.animation and Path(args.animation).suffix.lower() not in (".gif", ".mp4", ".apng"):
        raise UsageError(
            f"visualconv export: --animation {args.animation}: " + _("expected a .gif, .mp4 or .apng file")
        )
    palette = palette_option(args.palette, "visualconv export")
    model = load_model(args.file)
    _headless()
    from ..engine.palette import exporting_with
    from ..export import api

    written: list[Path] = []
    pack_summary = ""
    outputs = [Path(p).parent for p in (args.out, args.tikz, args.beamer, args.pptx, args.animation) if p]
    outputs += [Path(p) for p in (args.frames, args.pack) if p]
    if args.out and Path(args.out).suffix.lower() == ".csv":
        outputs.append(api.csv_folder(Path(args.out)))
    missing = sorted({folder for output in outputs for folder in atomic.missing_folders(output)})
    follow = args.follow_symlinks
    progress = _Progress(sys.stderr.isatty())
    with exporting_with(palette):  # --palette: the cells' colours, as View > Palette
        try:
            if args.out:
                written += api.export_snapshot(
                    model, args.layer, args.pass_name, args.step, args.out, args.scale, follow_symlinks=follow
                )
            if args.tikz:
                written += api.export_tikz(
                    model,
                    args.layer,
                    args.pass_name,
                    args.step,
                    args.tikz,
                    args.decimals,
                    follow_symlinks=follow,
                )
            if args.beamer:
                written += api.export_beamer(
                    model,
                    args.layer,
                    args.pass_name,
                    args.beamer,
                    args.steps,
                    args.decimals,
                    follow_symlinks=follow,
                )
            if args.pptx:
                written += api.export_pptx(
                    model,
                    args.layer,
                    args.pass_name,
                    args.pptx,
                    args.steps,
                    args.decimals,
                    follow_symlinks=follow,
                )
            if args.animation or args.frames:
                written += api.export_animation(
                    model,
                    args.layer,
                    args.pass_name,
                    args.animation,
                    progress(f"frames of {Path(args.animation or args.frames).name}"),
                    frames_dir=args.frames,
                    scale=args.scale,
                    frame_ms=args.frame_ms,
                    steps=args.steps,
                    follow_symlinks=follow,
                )
                progress.close()
            if args.pack:
                from ..export.pack import export_pack

                pack = export_pack(
                    model,
                    args.pack,
                    progress(f"pack {Path(args.pack).name}"),
                    scale=pack_scale,
                    layers=layers,
                    passes=passes,
                    steps=args.steps,
                    formats=formats,
                    frame_ms=args.frame_ms,
                )
                progress.close()
                written += pack[:2]
                pack_summary = summary(pack)
        except ModelError as exc:
            progress.close()
            raise exc.in_file(args.file) from None  # a WriteError keeps naming the file written
        except OSError as exc:
            where = exc.filename or args.out or args.animation or args.pack
            raise UsageError(
                f"visualconv: {where}: " + _("could not write: {reason}").format(reason=atomic.reason(exc))
            ) from None
    for folder in missing:
        if folder.is_dir():
            print("visualconv: " + _("created the folder {folder}").format(folder=folder), file=sys.stderr)
    frames = [p for p in written if p.name.startswith("frame-")]
    for path in written:
        if path not in frames:
            print(path)
    if frames:
        print(_("{n} frames in {folder}").format(n=len(frames), folder=frames[0].parent))
    if args.pack:
        print(_("lecture pack in {folder}: {summary}").format(folder=args.pack, summary=pack_summary))
    return EXIT_OK


def summary(paths: list[Path]) -> str:
    """The number of files and megabytes an export wrote."""
    size = sum(p.stat().st_size for p in paths if p.is_file())
    return _("{n} files, {size} MB").format(n=len(paths), size=f"{size / 1e6:.1f}")
